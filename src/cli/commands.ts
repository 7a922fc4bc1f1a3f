/**
 * The `blue` command tree (@effect/cli). Each command body reads like a short script: resolve where we are, ask
 * the engine, render. All rendering and error mapping goes through `present`.
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Either, Option } from "effect"
import * as nodePath from "node:path"
import { plural } from "../domain/text.js"
import { Realms } from "../engine/Realms.js"
import { eventDocument } from "../events/codec.js"
import type { Envelope, Recorded } from "../events/envelope.js"
import { createDomain, initRealm, joinRealm, leaveRealm, reindexRealm } from "../operations/admin.js"
import { acknowledge, graph, realmStatus } from "../operations/status.js"
import { acknowledgeProposal } from "../operations/sync.js"
import { here } from "../operations/where.js"
import { cacheCommand } from "./cache.js"
import { checkCommand } from "./check.js"
import { exportCommand, importCommand } from "./contracts.js"
import { daemonCommand } from "./daemon.js"
import { governanceCommand, inviteCommand } from "./governance.js"
import { mcpCommand } from "./mcp.js"
import { choice, usage } from "./options.js"
import { given, present, presentOperation } from "./output.js"
import { sessionsCommand } from "./sessions.js"
import { approveCommand, proposalCommand, rejectCommand, syncCommand } from "./sync.js"
import { trustCommand } from "./trust.js"
import { commitCommand, prCommand, pushCommand, worktreeCommand } from "./worktrees.js"

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))

// blue realm admin init
const init = Command.make(
  "init",
  {
    name: Options.text("name").pipe(Options.withDescription("realm name (kebab-case)")),
    path: Options.text("path").pipe(
      Options.withDescription("directory to create realm-<name> in (default: current directory)"),
      Options.optional
    ),
    remote: Options.text("remote").pipe(
      Options.withPseudoName("URL"),
      Options.withDescription("https:// URL of an empty repo on a git server to publish the realm to"),
      Options.optional
    ),
    admission: choice("admission", ["open", "approval", "invite-only"] as const, "open").pipe(
      Options.withDescription("how repos get in: open, approval or invite-only")
    ),
    forgejo: Options.text("forgejo").pipe(
      Options.withPseudoName("URL"),
      Options.withDescription(
        "root URL of a Forgejo/Gitea: create the realm repo there through its API and publish to it"
      ),
      Options.optional
    ),
    org: Options.text("org").pipe(
      Options.withDescription("with --forgejo: the organisation to create the realm repo in (default: your user)"),
      Options.optional
    ),
    github: Options.text("github").pipe(
      Options.withPseudoName("OWNER"),
      Options.withDescription(
        "GitHub user or organisation: create the realm repo there through the API and publish to it"
      ),
      Options.optional
    ),
    json
  },
  (o) =>
    presentOperation(initRealm, o.json, {
      name: o.name,
      path: given(o.path),
      remote: given(o.remote),
      admission: o.admission,
      forgejo: given(o.forgejo),
      org: given(o.org),
      github: given(o.github)
    })
).pipe(Command.withDescription("Create a realm: a git repo recording members, domains and contracts"))

// blue realm admin join
const join = Command.make(
  "join",
  {
    realm: Args.text({ name: "realm" }).pipe(
      Args.withDescription("path of the realm repo, https:// URL of a realm on a git server, or a tracked realm's name")
    ),
    name: Options.text("name").pipe(
      Options.withDescription("repo name in the realm (default: directory name)"),
      Options.optional
    ),
    detectExports: Options.boolean("detect-exports").pipe(
      Options.withDescription("report the contracts the realm already binds to this repo (the default)")
    ),
    noDetectExports: Options.boolean("no-detect-exports").pipe(
      Options.withDescription("do not report them")
    ),
    json
  },
  (o) =>
    presentOperation(joinRealm, o.json, {
      realm_path: o.realm,
      name: given(o.name),
      detect_exports: o.detectExports || !o.noDetectExports
    })
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
    description: Options.text("description").pipe(
      Options.withDescription("what the domain is for, recorded in domain.yaml"),
      Options.optional
    ),
    json
  },
  (o) =>
    presentOperation(createDomain, o.json, {
      action: "create",
      name: o.domain,
      repos: o.repos,
      contract: given(o.contract),
      description: given(o.description)
    })
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
  (o) => presentOperation(leaveRealm, o.json, { force: o.force })
).pipe(Command.withDescription("Remove the current repo from its realm"))

// blue realm admin reindex
const reindex = Command.make("reindex", { json }, (o) => presentOperation(reindexRealm, o.json, {})).pipe(
  Command.withDescription("Re-index this machine's daemon.db for the realm from git (after a reset or force-push)")
)

const admin = Command.make("admin").pipe(
  Command.withDescription(
    "Realm administration: init, join, domain, leave, governance, invite, approve, reject, reindex, cache"
  ),
  Command.withSubcommands([
    init,
    join,
    domain,
    leave,
    governanceCommand,
    inviteCommand,
    approveCommand,
    rejectCommand,
    reindex,
    cacheCommand
  ])
)

// blue realm status
const noCache = Options.boolean("no-cache").pipe(
  Options.withDescription("detect exports from code without .blue/cache.db")
)
const statusHandler = (o: { readonly json: boolean; readonly noCache: boolean }) =>
  presentOperation(realmStatus, o.json, { no_cache: o.noCache })
const status = Command.make("status", { json, noCache }, statusHandler).pipe(
  Command.withDescription("Realm, this repo's domains and roles, contracts, local export changes and stale imports")
)

// blue realm ack
const ack = Command.make(
  "ack",
  {
    ids: Args.text({ name: "id" }).pipe(
      Args.withDescription(
        "notification ids (numbers, as status shows them), or one proposal id to acknowledge that proposal explicitly"
      ),
      Args.repeated
    ),
    all: Options.boolean("all").pipe(Options.withDescription("acknowledge every notification for this repo")),
    json
  },
  (o) =>
    // Neither ids nor --all is a command line that says nothing: a usage error (exit 64), not a refusal.
    o.ids.length === 0 && !o.all
      ? Effect.fail(
        usage("name the notifications to acknowledge (their ids, as 'blue realm status' shows them), or pass --all")
      )
      // Notification ids are numbers; a proposal's is `<repo>-<YYYYMMDD-HHMMSS>`: the explicit ack of a proposal,
      // also one the import range does not accept (sync never acknowledges that silently).
      : o.ids.length === 1 && !o.all && !/^#?\d+$/.test(o.ids[0]!)
      ? presentOperation(acknowledgeProposal, o.json, { id: o.ids[0]! })
      : presentOperation(acknowledge, o.json, { ids: o.ids, all: o.all })
).pipe(
  Command.withDescription(
    "Acknowledge contract-change notifications for this repo, or one proposal explicitly (even a change your range does not accept)"
  )
)

// blue realm graph
const graphCommand = Command.make(
  "graph",
  {
    format: choice("format", ["text", "mermaid", "dot"] as const, "text").pipe(
      Options.withDescription("text, mermaid or dot")
    ),
    json
  },
  (o) => presentOperation(graph, o.json, { format: o.format })
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
    case "ProposalOpened":
      return `${ev.id}: ${ev.domain}/${ev.contract} ${ev.from} → ${ev.to} (${ev.bump}) for ${ev.importers.join(", ")}`
    case "ProposalAmended":
      return `${ev.id}: now ${ev.from} → ${ev.to} (${ev.bump})`
    case "ProposalAcknowledged":
      return `${ev.id}: acknowledged by ${ev.repo} at ${ev.version}`
    case "ProposalApproved":
      return `${ev.id}: approved by ${ev.by}`
    case "ProposalRejected":
      return `${ev.id}: rejected by ${ev.by}${ev.reason === undefined ? "" : ` (${ev.reason})`}`
    case "ProposalWithdrawn":
      return `${ev.id}: withdrawn by ${ev.by} (${ev.reason})`
    case "ProposalMerged":
      return `${ev.id}: merged`
    case "GovernanceChanged":
      return `${ev.domain === undefined ? "realm" : ev.domain}: ${ev.changes.join("; ")}`
    case "RepoInvited":
      return `${ev.repo} invited by ${ev.by}`
    case "JoinRequested":
      return `${ev.id}: ${ev.repo.name} asks to join`
    case "JoinApproved":
      return `${ev.id}: ${ev.repo.name} admitted by ${ev.by}`
    case "JoinRejected":
      return `${ev.id}: ${ev.repo} turned down by ${ev.by}${ev.reason === undefined ? "" : ` (${ev.reason})`}`
    case "WorktreeCreated":
      return `${ev.change.name}: ${ev.change.repos.map((r) => r.name).join(", ")}`
    case "WorktreeCommitted":
      return `${ev.name}: ${
        Object.entries(ev.commit.commits).map(([r, c]) => `${r} ${c === null ? "-" : c.slice(0, 7)}`).join(", ")
      }`
    case "WorktreePushed":
      return `${ev.name}: ${Object.keys(ev.pushed).join(", ")}`
    case "WorktreePullsRecorded":
      return `${ev.name}: ${Object.entries(ev.pulls).map(([r, p]) => `${r}#${p.number} ${p.state}`).join(", ")}`
    case "WorktreeRemoved":
      return ev.name
  }
}

// blue realm log
const loadLog = (limit: Option.Option<number>) =>
  Effect.gen(function*() {
    const realms = yield* Realms
    const h = yield* here()
    const recorded = yield* realms.events(h.realmDir)
    const shown = Option.match(limit, {
      onNone: () => recorded,
      onSome: (n) => (n === 0 ? [] : recorded.slice(-n))
    })
    return { realm: recorded[0]?.envelope.realm ?? nodePath.basename(h.realmDir), shown }
  })

const renderLog = ({ shown }: { readonly shown: ReadonlyArray<Recorded> }) =>
  shown.length === 0 ?
    "No events." :
    shown.map(({ commit, envelope: e }) =>
      `#${e.position} ${e.time} ${e.type.padEnd(18)} ${describeEvent(e)}  [${e.actor.repo ?? e.actor.user}, ${
        commit.slice(0, 8)
      }]`
    ).join("\n")

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
    json
      // One object like every other document: the realm and its events, each as the daemon's /events sends it.
      ? present(true, Effect.map(loadLog(limit), (l) => ({ realm: l.realm, events: l.shown.map(eventDocument) })), () =>
        "")
      : present(false, loadLog(limit), renderLog)
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
          ? `✓ Replayed ${plural(r.events, "event")} from ${
            plural(r.commits, "commit")
          } of realm '${r.realm}': git, daemon.db and the realm files agree (${r.ms} ms)`
          : [
            `✗ Replay of realm '${r.realm}' found ${plural(r.differences.length, "difference")}:`,
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
    syncCommand,
    proposalCommand,
    checkCommand,
    ack,
    sessionsCommand,
    graphCommand,
    logCommand,
    replay,
    trustCommand,
    worktreeCommand,
    commitCommand,
    pushCommand,
    prCommand
  ])
)

const topStatus = Command.make("status", { json, noCache }, statusHandler).pipe(
  Command.withDescription("Same as 'blue realm status'")
)

/** The root `blue` command. */
export const blue = Command.make("blue").pipe(
  Command.withDescription("Blue realms: versioned contracts between repos, recorded in git"),
  Command.withSubcommands([realm, topStatus, daemonCommand, mcpCommand])
)

export { Either }
