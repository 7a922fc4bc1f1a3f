/**
 * The `blue` command tree (@effect/cli). Each command body reads like a short script: resolve where we are, ask
 * the engine, render. All rendering and error mapping goes through `present`.
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { makeRepoCache } from "../adapters/cache.js"
import { PathProblem } from "../adapters/errors.js"
import { EventLog } from "../adapters/eventLog.js"
import { CONFIG_FILE, findGitRoot, findRealmRoot, writeMemberConfig } from "../adapters/files.js"
import { currentUser } from "../adapters/home.js"
import { validateName } from "../domain/decide.js"
import { realmGraph, renderGraph } from "../domain/graph.js"
import { suggestName } from "../domain/names.js"
import { cachedPerFile, localExports } from "../engine/detect.js"
import { Realms } from "../engine/Realms.js"
import type { Envelope } from "../events/envelope.js"
import { type LocalExport, renderStatus, statusView } from "../projections/status.js"
import { cacheCommand } from "./cache.js"
import { checkCommand } from "./check.js"
import { here, hereAsMember } from "./context.js"
import { exportCommand, importCommand } from "./contracts.js"
import { daemonCommand } from "./daemon.js"
import { nudgeDaemon } from "./nudge.js"
import { choice, usage } from "./options.js"
import { present } from "./output.js"
import { sessionsCommand } from "./sessions.js"
import { trustCommand } from "./trust.js"

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))

const created = (files: ReadonlyArray<string>, note: (f: string) => string = () => "") =>
  files.filter((f) => !f.endsWith(".gitkeep")).map((f) => `✓ Wrote ${f}${note(f)}`)

// blue realm admin init
const init = Command.make(
  "init",
  {
    name: Options.text("name").pipe(Options.withDescription("realm name (kebab-case)")),
    path: Options.text("path").pipe(
      Options.withDescription("directory to create realm-<name> in (default: current directory)"),
      Options.optional
    ),
    admission: choice("admission", ["open", "approval", "invite-only"] as const, "open").pipe(
      Options.withDescription("how repos get in: open, approval or invite-only")
    ),
    json
  },
  ({ admission, json, name, path }) =>
    present(
      json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const parent = nodePath.resolve(Option.getOrElse(path, () => process.cwd()))
        const out = yield* realms.init(parent, name, admission, { user: currentUser() })
        yield* nudgeDaemon(out.realm)
        return {
          realm: out.realm,
          path: nodePath.resolve(parent, `realm-${name}`),
          commit: out.commit,
          admission,
          events: out.events.map((e) => e.type),
          files: out.files
        }
      }),
      (r) =>
        [
          `✓ Created realm '${r.realm}' at ${r.path}`,
          "✓ Created realm.yaml, repos/, domains/",
          `✓ Admission: ${r.admission}`,
          `Next: cd into a code repo and run 'blue realm admin join ${r.path}'`
        ].join("\n")
    )
).pipe(Command.withDescription("Create a realm: a git repo recording members, domains and contracts"))

const resolveRealmArg = (arg: string) =>
  Effect.gen(function*() {
    const asPath = nodePath.resolve(arg)
    if (fs.existsSync(asPath)) return asPath
    const rows = yield* (yield* EventLog).realms
    const byName = rows.find((r) => r.name === arg)
    if (byName !== undefined) return byName.localPath
    return yield* new PathProblem({
      path: asPath,
      detail: "does not exist and is not the name of a realm this machine tracks"
    })
  })

// blue realm admin join
const join = Command.make(
  "join",
  {
    realm: Args.text({ name: "realm" }).pipe(
      Args.withDescription("path of the realm repo (or the name of a tracked realm)")
    ),
    name: Options.text("name").pipe(
      Options.withDescription("repo name in the realm (default: directory name)"),
      Options.optional
    ),
    json
  },
  ({ json, name, realm }) =>
    present(
      json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const root = findGitRoot(process.cwd())
        if (root === undefined) {
          return yield* new PathProblem({
            path: process.cwd(),
            detail: "is not inside a git repository; run join from your code repo (or 'git init' it first)"
          })
        }
        const repoName = Option.getOrElse(name, () => suggestName(nodePath.basename(root)) ?? nodePath.basename(root))
        yield* validateName("repo", repoName)
        const realmDir = yield* resolveRealmArg(realm)
        if (realmDir === root || findRealmRoot(root) === root) {
          return yield* new PathProblem({
            path: root,
            detail: "is a realm repository; run join inside the code repo that should become a member"
          })
        }
        const actor = { repo: repoName, user: currentUser() }
        const joined = yield* realms.execute(
          realmDir,
          { _tag: "JoinRealm", repo: repoName, path: root, maintainers: [actor.user] },
          actor
        ).pipe(
          Effect.map((a) => ({
            state: a.state,
            realm: a.realm,
            commit: a.commit as string | undefined,
            rejoined: false
          })),
          // A repo whose registration landed but whose local config was lost (crash, fresh clone) may join again.
          Effect.catchTag("AlreadyMember", (e) =>
            Effect.flatMap(realms.open(realmDir), (o) =>
              o.state.repos[repoName]?.path === root
                ? Effect.succeed({ state: o.state, realm: o.name, commit: undefined, rejoined: true })
                : Effect.fail(e)))
        )
        yield* nudgeDaemon(joined.realm)
        yield* writeMemberConfig(root, {
          realm: { name: joined.realm, path: nodePath.relative(root, realmDir) || "." },
          repo: repoName
        })
        const detected = Object.entries(joined.state.domains).flatMap(([domain, d]) => {
          const b = d.bindings[repoName]
          return [
            ...(b?.imports ?? []).map((i) => ({ domain, contract: i.contract, role: "import" as const })),
            ...(b?.exports ?? []).map((x) => ({ domain, contract: x.contract, role: "export" as const }))
          ]
        })
        return {
          realm: joined.realm,
          repo: repoName,
          path: root,
          commit: joined.commit ?? null,
          alreadyMember: joined.rejoined,
          config: nodePath.join(root, CONFIG_FILE),
          detected
        }
      }),
      (r) =>
        [
          r.alreadyMember
            ? `✓ ${r.repo} is already a member of realm '${r.realm}'`
            : `✓ Created repos/${r.repo}.yaml in realm '${r.realm}'`,
          ...r.detected.map((d) =>
            `✓ Detected ${d.role}: ${d.contract} in domain ${d.domain}`
          ),
          `✓ Wrote ${CONFIG_FILE}`
        ].join("\n")
    )
).pipe(Command.withDescription("Register the current repo in a realm"))

// blue realm admin domain create
const domainCreate = Command.make(
  "create",
  {
    domain: Args.text({ name: "domain" }).pipe(Args.withDescription("domain name (kebab-case)")),
    repos: Options.text("repos").pipe(
      Options.withDescription("comma-separated repos; the first provides (exports), the rest consume (import)")
    ),
    contract: Options.text("contract").pipe(
      Options.withDescription("name of the domain's contract (default: the domain name)"),
      Options.optional
    ),
    description: Options.text("description").pipe(Options.optional),
    json
  },
  ({ contract, description, domain, json, repos }) =>
    present(
      json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const h = yield* here()
        const list = repos.split(",").map((r) => r.trim())
        const out = yield* realms.execute(h.realmDir, {
          _tag: "CreateDomain",
          domain,
          repos: list,
          ...(Option.isSome(contract) ? { contract: contract.value } : {}),
          ...(Option.isSome(description) ? { description: description.value } : {})
        }, h.actor)
        yield* nudgeDaemon(out.realm)
        const d = out.state.domains[domain]!
        return {
          realm: out.realm,
          domain,
          commit: out.commit,
          provider: list[0]!,
          consumers: list.slice(1),
          contracts: Object.keys(d.contracts),
          files: out.files
        }
      }),
      (r) =>
        created(r.files, (f) => {
          const repo = /bindings\/(.+)\.yaml$/.exec(f)?.[1]
          return repo === undefined ? "" : repo === r.provider ? " (provider)" : " (consumer)"
        }).join("\n")
    )
).pipe(Command.withDescription("Create a domain with its contract and bindings (refuses cycles)"))

const domain = Command.make("domain").pipe(
  Command.withDescription("Create and manage coordination domains"),
  Command.withSubcommands([domainCreate])
)

// blue realm admin leave
const leave = Command.make(
  "leave",
  {
    force: Options.boolean("force").pipe(Options.withDescription("leave even if other repos import our contracts")),
    json
  },
  ({ force, json }) =>
    present(
      json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const h = yield* hereAsMember("leave runs inside the member repo that leaves")
        const repo = h.member.config.repo
        const out = yield* realms.execute(h.realmDir, { _tag: "LeaveRealm", repo, force }, h.actor)
        yield* nudgeDaemon(out.realm)
        fs.rmSync(nodePath.join(h.member.root, CONFIG_FILE), { force: true })
        return { realm: out.realm, repo, commit: out.commit, forced: force, files: out.files }
      }),
      (r) =>
        [
          `✓ ${r.repo} left realm '${r.realm}'`,
          ...r.files.map((f) => `✓ Removed or updated ${f}`),
          `✓ Removed ${CONFIG_FILE}`
        ]
          .join("\n")
    )
).pipe(Command.withDescription("Remove the current repo from its realm"))

const admin = Command.make("admin").pipe(
  Command.withDescription("Realm administration: init, join, domain, leave"),
  Command.withSubcommands([init, join, domain, leave, cacheCommand])
)

// blue realm status
const noCache = Options.boolean("no-cache").pipe(
  Options.withDescription("detect exports from code without .blue/cache.db")
)
const statusHandler = ({ json, noCache }: { readonly json: boolean; readonly noCache: boolean }) =>
  present(
    json,
    Effect.scoped(Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* here()
      const realm = yield* realms.open(h.realmDir)
      let local: ReadonlyMap<string, LocalExport> = new Map()
      if (h.member?.config.exports !== undefined) {
        const cache = yield* makeRepoCache(h.member.root, { bypass: noCache })
        local = yield* localExports(h.member, realm.state, cachedPerFile(cache, h.member))
      }
      return statusView(realm.state, { path: realm.dir, head: realm.head }, h.member?.config.repo, local)
    })),
    renderStatus
  )
const status = Command.make("status", { json, noCache }, statusHandler).pipe(
  Command.withDescription("Realm, this repo's domains and roles, contracts, local export changes and stale imports")
)

// blue realm ack
const ack = Command.make(
  "ack",
  {
    ids: Args.text({ name: "id" }).pipe(Args.withDescription("notification ids (as status shows them)"), Args.repeated),
    all: Options.boolean("all").pipe(Options.withDescription("acknowledge every notification for this repo")),
    json
  },
  ({ all, ids, json }) =>
    present(
      json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const h = yield* hereAsMember("ack runs inside the member repo the notifications are for")
        if (!all && ids.length === 0) {
          return yield* new PathProblem({ path: "ack", detail: "name the notifications to acknowledge, or pass --all" })
        }
        const out = yield* realms.execute(h.realmDir, { _tag: "AcknowledgeNotifications", ids, all }, h.actor)
        yield* nudgeDaemon(out.realm)
        return {
          realm: out.realm,
          repo: h.member.config.repo,
          acknowledged: out.events.flatMap((e) =>
            e.event._tag === "NotificationAcknowledged"
              ? [{ id: e.event.id, contract: e.event.contract, version: e.event.version }]
              : []
          ),
          commit: out.events.length === 0 ? null : out.commit
        }
      }),
      (r) =>
        r.acknowledged.length === 0
          ? "Nothing to acknowledge."
          : r.acknowledged.map((a) => `✓ Acknowledged #${a.id}: ${a.contract} ${a.version}`).join("\n")
    )
).pipe(Command.withDescription("Acknowledge contract-change notifications for this repo"))

// blue realm graph
const graph = Command.make(
  "graph",
  {
    format: choice("format", ["text", "mermaid", "dot"] as const, "text").pipe(
      Options.withDescription("text, mermaid or dot")
    ),
    json
  },
  ({ format, json }) =>
    present(
      json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const h = yield* here()
        const realm = yield* realms.open(h.realmDir)
        const g = realmGraph(realm.state)
        return { realm: realm.name, format, ...g, rendered: renderGraph(g, format, realm.name) }
      }),
      (r) => r.rendered
    )
).pipe(Command.withDescription("The repo dependency graph (provider → consumer, labelled by domain)"))

const describeEvent = (e: Envelope): string => {
  const ev = e.event
  switch (ev._tag) {
    case "RealmInitialized":
      return `realm ${ev.realm.name} (admission ${ev.realm.governance.admission})`
    case "RepoJoined":
      return `${ev.repo.name}${ev.repo.path === undefined ? "" : ` at ${ev.repo.path}`}`
    case "RepoLeft":
      return `${ev.repo}${ev.forced ? " (forced)" : ""}`
    case "DomainCreated":
      return `${ev.domain.name}: ${ev.domain.members.join(", ")}`
    case "ContractPublished":
      return `${ev.domain}/${ev.contract.name} ${ev.contract.version} (owner ${ev.contract.owner})`
    case "ContractBumped":
      return `${ev.domain}/${ev.contract.name} ${ev.from} → ${ev.contract.version} (${ev.bump})`
    case "NotificationAcknowledged":
      return `${ev.repo} acknowledged #${ev.id} (${ev.contract} ${ev.version})`
    case "BindingDeclared":
      return `${ev.domain}/${ev.binding.repo} as ${ev.binding.role}`
  }
}

// blue realm log
const logCommand = Command.make(
  "log",
  {
    limit: Options.integer("limit").pipe(
      Options.withDescription("show only the last N events"),
      Options.mapEffect((n) =>
        n >= 0 ? Effect.succeed(n) : Effect.fail(usage(`--limit ${n}: expected a whole number of 0 or more`))
      ),
      Options.optional
    ),
    json
  },
  ({ json, limit }) =>
    present(
      json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const h = yield* here()
        const recorded = yield* realms.events(h.realmDir)
        const shown = Option.match(limit, {
          onNone: () => recorded,
          onSome: (n) => (n === 0 ? [] : recorded.slice(-n))
        })
        return shown.map((r) => ({ ...r.envelope, commit: r.commit }))
      }),
      (events) =>
        events.length === 0 ?
          "No events." :
          events.map((e) =>
            `#${e.position} ${e.time} ${e.type.padEnd(18)} ${describeEvent(e)}  [${e.actor.repo ?? e.actor.user}, ${
              e.commit.slice(0, 8)
            }]`
          ).join("\n")
    )
).pipe(Command.withDescription("The realm's event log (audit view)"))

// blue realm replay
const replay = Command.make(
  "replay",
  {
    verify: Options.boolean("verify").pipe(
      Options.withDescription("rebuild from git alone and from daemon.db alone; exit 1 on any difference")
    ),
    json
  },
  ({ json, verify }) =>
    present(
      json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const h = yield* here()
        const started = performance.now()
        const v = yield* realms.verify(h.realmDir)
        return { ...v, verified: verify, ok: v.differences.length === 0, ms: Math.round(performance.now() - started) }
      }),
      (r) =>
        r.ok
          ? `✓ Replayed ${r.events} events from ${r.commits} commits of realm '${r.realm}': git, daemon.db and the realm files agree (${r.ms} ms)`
          : [
            `✗ Replay of realm '${r.realm}' found ${r.differences.length} differences:`,
            ...r.differences.map((d) => `  - ${d}`)
          ]
            .join("\n"),
      (r) => (r.ok || !r.verified ? 0 : 1)
    )
).pipe(Command.withDescription("Rebuild the projections from the log; --verify compares git and daemon.db"))

const realm = Command.make("realm").pipe(
  Command.withDescription("Coordinate repos through a realm"),
  Command.withSubcommands([
    admin,
    status,
    exportCommand,
    importCommand,
    checkCommand,
    ack,
    sessionsCommand,
    graph,
    logCommand,
    replay,
    trustCommand
  ])
)

const topStatus = Command.make("status", { json, noCache }, statusHandler).pipe(
  Command.withDescription("Same as 'blue realm status'")
)

/** The root `blue` command. */
export const blue = Command.make("blue").pipe(
  Command.withDescription("Blue realms: versioned contracts between repos, recorded in git"),
  Command.withSubcommands([realm, topStatus, daemonCommand])
)

export { Either }
