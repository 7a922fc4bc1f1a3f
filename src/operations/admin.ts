/**
 * Realm administration: create a realm, join it, create a domain, leave. Arguments follow the draft RFC's
 * `blue_realm_init`, `blue_realm_join`, `blue_realm_domain` and `blue_realm_leave`.
 */
import { Effect, Either, Schema } from "effect"
import * as nodePath from "node:path"
import { validateName } from "../domain/decide.js"
import { Admission } from "../domain/files.js"
import { approversOf, pendingRequestOf } from "../domain/governance.js"
import { suggestName } from "../domain/names.js"
import { displayUrl, parseRealmLocation, pathOptionProblem, UnsupportedRealmLocation } from "../domain/realmLocation.js"
import { PathProblem } from "../engine/errors.js"
import { Invocation } from "../engine/invocation.js"
import {
  CONFIG_FILE,
  EventLog,
  type ForgeLocation,
  Forges,
  Home,
  Identity,
  MemberConfig,
  Workspace
} from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { joinForgeExtras } from "./forgeMirror.js"
import { argLabel, type At, operation, optionalBoolean, optionalString } from "./operation.js"
import { here, hereAsMember } from "./where.js"

const created = (files: ReadonlyArray<string>, note: (f: string) => string = () => "") =>
  files.filter((f) => !f.endsWith(".gitkeep")).map((f) => `✓ Wrote ${f}${note(f)}`)

/** What `init --forgejo` / `--github` created or found on the forge. */
interface ForgeRepoMade {
  readonly kind: "forgejo" | "github"
  readonly forgeUrl: string
  readonly owner: string
  readonly repo: string
  readonly cloneUrl: string
  readonly htmlUrl: string
  readonly created: boolean
}

const forgeSummary = (f: ForgeRepoMade) => ({
  kind: f.kind,
  name: f.kind === "forgejo" ? "Forgejo" : "GitHub",
  url: f.forgeUrl,
  repo: `${f.owner}/${f.repo}`,
  web: f.htmlUrl,
  created: f.created
})

/**
 * For `init --forgejo URL [--org O]` / `--github OWNER`: the realm repo `realm-<name>` on the forge, looked up first
 * and created through its API when missing; its clone URL then goes down the `--remote` path (which refuses a
 * repo that is not empty). Undefined when neither option is given.
 */
const forgeRepoFor = (
  args: {
    readonly name: string
    readonly path?: string | undefined
    readonly remote?: string | undefined
    readonly forgejo?: string | undefined
    readonly org?: string | undefined
    readonly github?: string | undefined
  },
  at: At
) =>
  Effect.gen(function*() {
    const label = (n: string) => argLabel(at, n)
    if (args.forgejo === undefined && args.github === undefined) {
      if (args.org !== undefined) {
        return yield* new PathProblem({
          path: args.org,
          detail: `(${label("org")}) goes with ${label("forgejo")} only`
        })
      }
      return undefined
    }
    if (args.forgejo !== undefined && args.github !== undefined) {
      return yield* new PathProblem({
        path: args.forgejo,
        detail: `(${label("forgejo")}) and ${label("github")} name two forges; choose one`
      })
    }
    for (const [given, name] of [[args.remote, "remote"], [args.path, "path"]] as const) {
      if (given !== undefined) {
        return yield* new PathProblem({
          path: given,
          detail: `(${label(name)}) cannot go with ${
            label(args.forgejo === undefined ? "github" : "forgejo")
          }: the forge's repo is the remote, and the clone lives in BLUE_HOME/realms/<name>`
        })
      }
    }
    yield* validateName("realm", args.name)
    let location: ForgeLocation
    if (args.forgejo !== undefined) {
      const where = parseRealmLocation(args.forgejo)
      if (Either.isLeft(where)) return yield* Effect.fail(where.left)
      if (where.right._tag !== "Remote") {
        return yield* new PathProblem({
          path: args.forgejo,
          detail: `(${label("forgejo")}) takes the https:// root URL of a Forgejo or Gitea, e.g. https://codeberg.org`
        })
      }
      location = { kind: "forgejo", url: where.right.url }
    } else {
      if (args.org !== undefined) {
        return yield* new PathProblem({
          path: args.org,
          detail: `(${label("org")}) goes with ${label("forgejo")}; for GitHub name the organisation in ${
            label("github")
          }`
        })
      }
      if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(args.github!)) {
        return yield* new PathProblem({
          path: args.github!,
          detail: `(${label("github")}) takes a GitHub user or organisation name, e.g. acme`
        })
      }
      const env = (yield* Invocation).env
      location = { kind: "github", apiUrl: env["BLUE_GITHUB_API_URL"] || "https://api.github.com" }
    }
    const forge = yield* Effect.flatMap(Forges, (f) => f.open(location))
    const repo = yield* forge.createRepo({
      name: `realm-${args.name}`,
      description: `Blue realm '${args.name}': members, domains and contracts`,
      ...(args.github !== undefined ? { owner: args.github } : {}),
      ...(args.org !== undefined ? { org: args.org } : {})
    })
    return {
      kind: location.kind,
      forgeUrl: forge.url,
      owner: repo.owner,
      repo: repo.repo,
      cloneUrl: repo.cloneUrl,
      htmlUrl: repo.htmlUrl,
      created: repo.created
    } satisfies ForgeRepoMade
  })

/** `blue_realm_init`: create a realm repo `realm-<name>` under `path`. */
export const initRealm = operation({
  tool: "blue_realm_init",
  description: "Create a new realm: a git repo (realm-<name>) recording members, domains and contracts.",
  readOnly: false,
  args: Schema.Struct({
    name: Schema.String.annotations({ description: "Realm name (kebab-case)" }),
    path: optionalString("Where to create the realm repo (default: current directory)"),
    remote: optionalString(
      "URL of an empty repo on a git server (https://…) to publish the realm to; the managed clone goes to BLUE_HOME/realms/<name>"
    ),
    admission: Schema.optional(
      Admission.annotations({ description: "How repos get in: open (default), approval or invite-only" })
    ),
    forgejo: optionalString(
      "Root URL of a Forgejo/Gitea (https://…) to create the realm repo realm-<name> on, through its API, and publish to"
    ),
    org: optionalString("With forgejo: the organisation to create the realm repo in (default: the token's user)"),
    github: optionalString(
      "GitHub user or organisation to create the realm repo realm-<name> under, through the API, and publish to"
    )
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const workspace = yield* Workspace
      const admission = args.admission ?? "open"
      const forge = yield* forgeRepoFor(args, at)
      if (forge !== undefined) args = { ...args, remote: forge.cloneUrl }
      if (args.path !== undefined) {
        const problem = pathOptionProblem(args.path, at.flags === true ? "--path" : "path")
        if (problem !== undefined) {
          return yield* new UnsupportedRealmLocation({ input: displayUrl(args.path), reason: problem })
        }
      }
      if (args.remote !== undefined) {
        yield* validateName("realm", args.name)
        const where = parseRealmLocation(args.remote)
        if (Either.isLeft(where)) return yield* Effect.fail(where.left)
        if (where.right._tag !== "Remote") {
          return yield* new PathProblem({
            path: args.remote,
            detail: "(remote) takes the https:// URL of a repo on a git server; for a local realm use --path"
          })
        }
        if (args.path !== undefined) {
          return yield* new PathProblem({
            path: args.path,
            detail: "(path) cannot go with --remote: a remote realm's clone lives in BLUE_HOME/realms/<name>"
          })
        }
        const home = yield* Effect.flatMap(Home, (h) => h.dir)
        const dir = nodePath.join(home, "realms", args.name)
        const out = yield* realms.initRemote(dir, args.name, admission, {
          user: yield* (yield* Identity).acting(at.cwd, (yield* Invocation).env)
        }, where.right.url)
        return {
          realm: out.realm,
          path: dir,
          url: where.right.display as string | null,
          forge: forge === undefined ? null : forgeSummary(forge),
          commit: out.commit,
          admission,
          events: out.events.map((e) => e.type),
          files: out.files
        }
      }
      const parent = nodePath.resolve(at.cwd, args.path ?? ".")
      // The realm goes into an existing directory: init creates realm-<name>, never missing parents.
      yield* validateName("realm", args.name)
      if ((yield* workspace.kind(parent)) !== "directory") {
        return yield* new PathProblem({
          path: parent,
          detail: `(${argLabel(at, "path")}) is not an existing directory; create it first or name another`
        })
      }
      if (at.confine !== undefined) {
        // A new realm is the one thing written outside the repo: only as a fresh realm-<name> directory in an
        // existing directory that is neither Blue's home nor inside a git directory.
        if (
          (yield* workspace.isWithin(yield* Effect.flatMap(Home, (h) => h.dir), parent)) ||
          (yield* workspace.realPath(parent)).split(nodePath.sep).includes(".git")
        ) {
          return yield* new PathProblem({
            path: parent,
            detail: "(path) is inside Blue's home or a .git directory; create the realm beside your repos"
          })
        }
        if ((yield* workspace.kind(nodePath.join(parent, `realm-${args.name}`))) !== "missing") {
          return yield* new PathProblem({
            path: nodePath.join(parent, `realm-${args.name}`),
            detail: "(path) already exists; choose another name or path"
          })
        }
      }
      const out = yield* realms.init(parent, args.name, admission, {
        user: yield* (yield* Identity).acting(at.cwd, (yield* Invocation).env)
      })
      return {
        realm: out.realm,
        path: nodePath.resolve(parent, `realm-${args.name}`),
        url: null as string | null,
        forge: null as ReturnType<typeof forgeSummary> | null,
        commit: out.commit,
        admission,
        events: out.events.map((e) => e.type),
        files: out.files
      }
    }),
  summary: (r) =>
    [
      `✓ Created realm '${r.realm}' at ${r.path}`,
      ...(r.forge === null
        ? []
        : [
          `✓ ${
            r.forge.created ? "Created" : "Using the empty"
          } repo ${r.forge.repo} on ${r.forge.name} (${r.forge.web})`
        ]),
      ...(r.url === null ? [] : [`✓ Published to ${r.url}`]),
      "✓ Created realm.yaml, repos/, domains/",
      `✓ Admission: ${r.admission}`,
      `Next: cd into a code repo and run 'blue realm admin join ${r.url ?? r.path}'`
    ].join("\n")
})

const resolveRealmArg = (at: At, arg: string) =>
  Effect.gen(function*() {
    const asPath = nodePath.resolve(at.cwd, arg)
    if ((yield* Effect.flatMap(Workspace, (w) => w.kind(asPath))) !== "missing") return asPath
    const rows = yield* (yield* EventLog).realms
    const byName = rows.find((r) => r.name === arg)
    if (byName !== undefined) return byName.localPath
    return yield* new PathProblem({
      path: asPath,
      detail: "does not exist and is not the name of a realm this machine tracks"
    })
  })

/** What join says of the join request it filed (or found pending) in an `approval` realm. */
const joinRequestLine = (
  request: { readonly id: string; readonly pending_already: boolean; approvers: ReadonlyArray<string> }
) =>
  `${request.pending_already ? "Join request" : "✓ Join request"} ${request.id} ${
    request.pending_already ? "is still pending" : "recorded"
  }; an approver (${
    request.approvers.length === 0 ? "none is recorded yet" : request.approvers.join(", ")
  }) must run 'blue realm admin approve ${request.id}'`

/** `blue_realm_join`: register the repo at `at.cwd` in a realm and write its `.blue/config.yaml`. */
export const joinRealm = operation({
  tool: "blue_realm_join",
  description: "Register this repository in a realm (writes repos/<name>.yaml there and .blue/config.yaml here).",
  readOnly: false,
  args: Schema.Struct({
    realm_path: Schema.String.annotations({
      description:
        "Path to the realm repo, the https:// URL of a realm on a git server, or the name of a realm this machine tracks"
    }),
    name: optionalString("Repo name in the realm (default: repo directory name)"),
    detect_exports: optionalBoolean("Report the contracts the realm already binds to this repo (default: true)")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const workspace = yield* Workspace
      const root = yield* workspace.gitRoot(at.cwd)
      if (root === undefined) {
        return yield* new PathProblem({
          path: at.cwd,
          detail: "is not inside a git repository; run join from your code repo (or 'git init' it first)"
        })
      }
      const repoName = args.name ?? suggestName(nodePath.basename(root)) ?? nodePath.basename(root)
      yield* validateName("repo", repoName)
      const where = parseRealmLocation(args.realm_path)
      if (Either.isLeft(where)) return yield* Effect.fail(where.left)
      let remote: { readonly url: string; readonly display: string } | undefined
      let realmDir: string
      if (where.right._tag === "Remote") {
        // A realm on a git server: its managed clone in BLUE_HOME/realms/<name> (cloned if this machine lacks it).
        const home = yield* Effect.flatMap(Home, (h) => h.dir)
        const cloned = yield* realms.cloneRemote(where.right.url, nodePath.join(home, "realms"))
        realmDir = cloned.dir
        remote = { url: where.right.url, display: where.right.display }
      } else {
        realmDir = yield* resolveRealmArg(at, where.right.path)
      }
      if (realmDir === root || (yield* workspace.realmRoot(root)) === root) {
        return yield* new PathProblem({
          path: root,
          detail: "is a realm repository; run join inside the code repo that should become a member"
        })
      }
      const actor = { repo: repoName, user: yield* (yield* Identity).acting(root, (yield* Invocation).env) }
      // On a forge realm: the repo's origin URL (where its notify issues go) and the token's forge login.
      const extras = yield* joinForgeExtras(realmDir, remote?.url, root)
      const joined = yield* realms.execute(
        realmDir,
        {
          _tag: "JoinRealm",
          repo: repoName,
          path: root,
          ...(extras.url === undefined ? {} : { url: extras.url }),
          maintainers: [actor.user, ...extras.maintainers]
        },
        actor
      ).pipe(
        Effect.map((a) => ({
          state: a.state,
          realm: a.realm,
          commit: a.events.length === 0 ? undefined : a.commit as string | undefined,
          rejoined: false
        })),
        // A repo whose registration landed but whose local config was lost (crash, fresh clone) may join again.
        Effect.catchTag("AlreadyMember", (e) =>
          Effect.flatMap(realms.open(realmDir), (o) =>
            o.state.repos[repoName]?.path === root
              ? Effect.succeed({ state: o.state, realm: o.name, commit: undefined, rejoined: true })
              : Effect.fail(e)))
      )
      // A join into an `approval` realm files a join request (or finds the pending one). .blue/config.yaml is written
      // all the same, so that the repo is set up the moment an approver admits it; until then commands that need
      // membership say the request is pending (JoinPending).
      const request = joined.state.repos[repoName] === undefined ? pendingRequestOf(joined.state, repoName) : undefined
      const requestedNow = joined.commit !== undefined && request !== undefined
      yield* Effect.flatMap(MemberConfig, (c) =>
        c.write(root, {
          realm: remote === undefined
            ? { name: joined.realm, path: nodePath.relative(root, realmDir) || "." }
            : { name: joined.realm, url: remote.display },
          repo: repoName
        }))
      const detected = args.detect_exports === false ? [] : Object.entries(joined.state.domains).flatMap(
        ([domain, d]) => {
          const b = d.bindings[repoName]
          return [
            ...(b?.imports ?? []).map((i) => ({ domain, contract: i.contract, role: "import" as const })),
            ...(b?.exports ?? []).map((x) => ({ domain, contract: x.contract, role: "export" as const }))
          ]
        }
      )
      return {
        realm: joined.realm,
        repo: repoName,
        path: root,
        commit: joined.commit ?? null,
        alreadyMember: joined.rejoined,
        config: nodePath.join(root, CONFIG_FILE),
        detected,
        // only while a join request waits (an `approval` realm): the result of a join is unchanged otherwise
        ...(request === undefined ? {} : {
          join_request: { id: request.id, pending_already: !requestedNow, approvers: [...approversOf(joined.state)] }
        })
      }
    }),
  summary: (r) =>
    [
      r.join_request !== undefined
        ? joinRequestLine(r.join_request)
        : r.alreadyMember
        ? `✓ ${r.repo} is already a member of realm '${r.realm}'`
        : `✓ Created repos/${r.repo}.yaml in realm '${r.realm}'`,
      ...r.detected.map((d) => `✓ Detected ${d.role}: ${d.contract} in domain ${d.domain}`),
      `✓ Wrote ${CONFIG_FILE}`
    ].join("\n")
})

/** `blue_realm_domain` (create): a domain, its contract and one binding per repo; refuses cycles. */
export const createDomain = operation({
  tool: "blue_realm_domain",
  description:
    "Create a coordination domain: the first repo provides (exports) its contract, the others consume (import). Refuses a domain that would close a dependency cycle, naming the cycle.",
  readOnly: false,
  args: Schema.Struct({
    action: Schema.optional(
      Schema.Literal("create").annotations({ description: "What to do with the domain (create; the default)" })
    ),
    name: Schema.String.annotations({ description: "Domain name (kebab-case)" }),
    repos: Schema.Union(Schema.String, Schema.Array(Schema.String)).annotations({
      description: "Participating repos, comma-separated (or a list): the first provides, the rest consume"
    }),
    contract: optionalString("Initial contract name (default: the domain name)"),
    description: optionalString("What the domain coordinates")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* here(at.cwd)
      const list = (typeof args.repos === "string" ? args.repos.split(",") : args.repos).map((r) => r.trim())
      const out = yield* realms.execute(h.realmDir, {
        _tag: "CreateDomain",
        domain: args.name,
        repos: list,
        ...(args.contract === undefined ? {} : { contract: args.contract }),
        ...(args.description === undefined ? {} : { description: args.description })
      }, h.actor)
      const d = out.state.domains[args.name]!
      return {
        realm: out.realm,
        domain: args.name,
        commit: out.commit,
        provider: list[0]!,
        consumers: list.slice(1),
        contracts: Object.keys(d.contracts),
        files: out.files,
        // A remote realm: the pushes it took (more than 1 when it lost races to other machines).
        ...(out.attempts === undefined ? {} : { attempts: out.attempts })
      }
    }),
  summary: (r) =>
    created(r.files, (f) => {
      const repo = /bindings\/(.+)\.yaml$/.exec(f)?.[1]
      return repo === undefined ? "" : repo === r.provider ? " (provider)" : " (consumer)"
    }).join("\n")
})

/** `blue_realm_leave`: remove this repo from its realm. */
export const leaveRealm = operation({
  tool: "blue_realm_leave",
  description: "Remove this repository from its realm (refused while others import its contracts, unless force).",
  readOnly: false,
  args: Schema.Struct({
    force: optionalBoolean("Leave even if other repos depend on our exports")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* hereAsMember(at.cwd, "leave runs inside the member repo that leaves")
      const repo = h.member.config.repo
      const force = args.force ?? false
      const out = yield* realms.execute(h.realmDir, { _tag: "LeaveRealm", repo, force }, h.actor)
      yield* Effect.flatMap(MemberConfig, (c) => c.remove(h.member.root))
      return { realm: out.realm, repo, commit: out.commit, forced: force, files: out.files }
    }),
  summary: (r) =>
    [
      `✓ ${r.repo} left realm '${r.realm}'`,
      ...r.files.map((f) => `✓ Removed or updated ${f}`),
      `✓ Removed ${CONFIG_FILE}`
    ].join("\n")
})

/** `blue realm admin reindex`: rebuild this machine's index of the realm from git (after a rewritten history). */
export const reindexRealm = operation({
  tool: "blue_realm_reindex",
  description:
    "Re-index this machine's daemon.db for the realm from git alone: drop its recorded events and snapshots, then record every event the realm's main carries (after a reset or force-push).",
  readOnly: false,
  args: Schema.Struct({}),
  run: (_args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* here(at.cwd)
      const out = yield* realms.reindex(h.realmDir)
      return {
        realm: out.realm,
        path: h.realmDir,
        head: out.head,
        events: out.events,
        previous: out.previous ?? null
      }
    }),
  summary: (r) =>
    [
      `✓ Re-indexed realm '${r.realm}' from git: ${r.events} event${r.events === 1 ? "" : "s"} up to commit ${
        r.head.slice(0, 8)
      }`,
      ...(r.previous === null ? [] : [
        `  (this machine had indexed ${r.previous.position} events up to commit ${r.previous.commit.slice(0, 8)})`
      ])
    ].join("\n")
})
