/**
 * Coordinated changes (the draft RFC's "Unified Worktrees" and "Coordinated Commits"): one branch in several repos
 * of a realm, each in a linked worktree at `<repo>/.worktrees/<branch with / → ->`, recorded in the realm's
 * `worktrees/<branch with / → ->.yaml`. Here, pure: the tracking record, its events and commands, the plan of which
 * repos take part, how the events decide and fold, and the file they render to. The git work itself is a saga the
 * operation runs (src/operations/worktrees.ts): it observes each repo and does only what is missing, then records.
 */
import { Either, Schema } from "effect"
import type { CommandMeta } from "./commands.js"
import { InvalidName, RealmNotInitialized, RepoNotInRealm } from "./errors.js"
import { Timestamp } from "./files.js"
import { Name, nameProblem } from "./names.js"
import type { RealmState } from "./state.js"

/**
 * How one repo takes part: `active` (its worktree exists on the machine that recorded it), `pushed` (its branch is on
 * its remote at the last recorded commit), `elsewhere` (not on this machine: to be set up on the one that has it).
 */
export const WorktreeRepoStatus = Schema.Literal("active", "pushed", "elsewhere")
/** How one repo takes part. */
export type WorktreeRepoStatus = typeof WorktreeRepoStatus.Type

/** Where a coordinated PR lives: a forge, or only in the realm (a plain-git repo's "local PR"). */
export const WorktreePullForge = Schema.Literal("forgejo", "github", "local")

/** The pull request of one repo of a coordinated change. */
export const WorktreePull = Schema.Struct({
  number: Schema.Int.pipe(Schema.positive()),
  /** the PR's page; absent for a local PR (recorded in the realm only) */
  url: Schema.optional(Schema.String),
  state: Schema.Literal("open", "closed", "merged"),
  forge: WorktreePullForge,
  /** the branch it merges into */
  base: Schema.String,
  /** the repos of the change whose PRs must merge first (its providers among the change's repos) */
  blocked_by: Schema.Array(Schema.String),
  /** whether its body and native dependencies name every other PR of the change (not rendered) */
  linked: Schema.Boolean
})
/** The pull request of one repo of a coordinated change. */
export type WorktreePull = typeof WorktreePull.Type

/** One repo of a coordinated change. */
export const WorktreeRepo = Schema.Struct({
  name: Name,
  /** the worktree's path on the machine that set it up (absent for a repo set up elsewhere) */
  path: Schema.optional(Schema.String),
  /** where the repo lives when it is not on this machine (its `url` in repos/R.yaml) */
  url: Schema.optional(Schema.String),
  status: WorktreeRepoStatus,
  /** coordinated commits made in this repo */
  commits: Schema.Int.pipe(Schema.nonNegative()),
  /** the commit the branch started from (not rendered: it tells a resumed commit from the base) */
  base: Schema.optional(Schema.String),
  /** the commit last pushed to the repo's remote (not rendered; `status: pushed` says it is the latest) */
  pushed: Schema.optional(Schema.String),
  /** its pull request, once `blue realm pr` opened (or found) it */
  pr: Schema.optional(WorktreePull)
})
/** One repo of a coordinated change. */
export type WorktreeRepo = typeof WorktreeRepo.Type

/** One coordinated commit: the commit id per repo (null where the repo had nothing), its message, linked or not. */
export const LinkedCommit = Schema.Struct({
  commits: Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) }),
  message: Schema.String,
  linked: Schema.Boolean
})
/** One coordinated commit. */
export type LinkedCommit = typeof LinkedCommit.Type

/** A coordinated change, as the realm's `worktrees/<slug>.yaml` shows it. */
export const CoordinatedChange = Schema.Struct({
  /** the branch, e.g. feat/training-metrics-v2 */
  name: Schema.String,
  created_at: Timestamp,
  /** `<repo>:<rfc>`: the repo that started it and the RFC that drives it */
  source_rfc: Schema.String,
  /** the domain the change affects (the first, when it spans several) */
  domain: Schema.String,
  /** every domain, when it spans more than one */
  domains: Schema.optional(Schema.Array(Schema.String)),
  repos: Schema.Array(WorktreeRepo),
  coordination: Schema.Struct({
    commits: Schema.Array(LinkedCommit),
    /** the order the change's PRs merge in: exporters before importers */
    merge_order: Schema.optional(Schema.Array(Schema.String))
  })
})
/** A coordinated change. */
export type CoordinatedChange = typeof CoordinatedChange.Type

/** A coordinated change was set up (or more of its repos were): its branch and worktrees exist. */
export class WorktreeCreated extends Schema.TaggedClass<WorktreeCreated>()("WorktreeCreated", {
  change: CoordinatedChange
}) {}

/** A coordinated commit was made in the worktrees of a change; its commit ids are linked. */
export class WorktreeCommitted extends Schema.TaggedClass<WorktreeCommitted>()("WorktreeCommitted", {
  name: Schema.String,
  commit: LinkedCommit
}) {}

/** Branches of a change were pushed to their repos' remotes (the commit each remote now has). */
export class WorktreePushed extends Schema.TaggedClass<WorktreePushed>()("WorktreePushed", {
  name: Schema.String,
  pushed: Schema.Record({ key: Schema.String, value: Schema.String })
}) {}

/** The pull requests of a change were opened or found (or their state or links changed), in merge order. */
export class WorktreePullsRecorded extends Schema.TaggedClass<WorktreePullsRecorded>()("WorktreePullsRecorded", {
  name: Schema.String,
  order: Schema.Array(Schema.String),
  pulls: Schema.Record({ key: Schema.String, value: WorktreePull })
}) {}

/** A coordinated change was torn down: its worktrees removed (the branches stay). */
export class WorktreeRemoved extends Schema.TaggedClass<WorktreeRemoved>()("WorktreeRemoved", {
  name: Schema.String
}) {}

/** The events of coordinated changes. */
export type WorktreeEvent =
  | WorktreeCreated
  | WorktreeCommitted
  | WorktreePushed
  | WorktreePullsRecorded
  | WorktreeRemoved

/** Record a coordinated change after its worktrees exist (idempotent: nothing when it is recorded as it is). */
export const RecordWorktree = Schema.TaggedStruct("RecordWorktree", {
  name: Schema.String,
  rfc: Schema.String,
  domains: Schema.Array(Schema.String),
  repos: Schema.Array(WorktreeRepo)
})

/** Record a coordinated commit (idempotent: nothing when its commit ids are recorded already). */
export const RecordWorktreeCommit = Schema.TaggedStruct("RecordWorktreeCommit", {
  name: Schema.String,
  message: Schema.String,
  commits: Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) }),
  linked: Schema.Boolean
})

/** Record what the remotes of a change's repos now have (idempotent). */
export const RecordWorktreePush = Schema.TaggedStruct("RecordWorktreePush", {
  name: Schema.String,
  pushed: Schema.Record({ key: Schema.String, value: Schema.String })
})

/** Record a change's pull requests as the forge (or the realm) has them now (idempotent). */
export const RecordWorktreePulls = Schema.TaggedStruct("RecordWorktreePulls", {
  name: Schema.String,
  order: Schema.Array(Schema.String),
  pulls: Schema.Record({ key: Schema.String, value: WorktreePull })
})

/** Record that a change's worktrees are gone (nothing when it is not recorded). */
export const RemoveWorktree = Schema.TaggedStruct("RemoveWorktree", { name: Schema.String })

/** A branch name Blue will not use. */
export class InvalidBranch extends Schema.TaggedError<InvalidBranch>()("InvalidBranch", {
  branch: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Invalid branch name ${JSON.stringify(this.branch)}: it ${this.reason}; use e.g. feat/training-metrics-v2.`
  }
}

/** No coordinated change by that name is recorded in the realm. */
export class WorktreeNotFound extends Schema.TaggedError<WorktreeNotFound>()("WorktreeNotFound", {
  name: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message() {
    return this.known.length === 0
      ? `No coordinated change '${this.name}' in the realm (there is none yet); start one with 'blue realm worktree --rfc TITLE'.`
      : `No coordinated change '${this.name}' in the realm; the realm has ${
        this.known.map((k) => `'${k}'`).join(", ")
      } (name one with --branch).`
  }
}

/** Which repos a change would span could not be worked out. */
export class WorktreeScope extends Schema.TaggedError<WorktreeScope>()("WorktreeScope", {
  detail: Schema.String
}) {
  override get message() {
    return `${this.detail}.`
  }
}

/** The realm path of a change's tracking file and the directory name of its worktrees: `/` → `-`. */
export const worktreeSlug = (branch: string): string => branch.replace(/\//g, "-")

/** The realm path of a change's tracking file. */
export const worktreeFilePath = (branch: string): string => `worktrees/${worktreeSlug(branch)}.yaml`

/** The default branch of a change driven by RFC `rfc`. */
export const defaultBranch = (rfc: string): string => `feat/${rfc}`

/** Why git (and Blue) would not take `branch` as a branch name, or undefined (git check-ref-format's rules, kept). */
export const branchProblem = (branch: string): string | undefined => {
  if (branch === "") return "is empty"
  if (branch.length > 200) return "is longer than 200 characters"

  if (/[\x00-\x20\x7f~^:?*[\\]/.test(branch)) return "contains a space, a control character or one of ~ ^ : ? * [ \\"
  if (branch.startsWith("-") || branch.startsWith("/") || branch.endsWith("/")) {
    return "starts with - or / or ends with /"
  }
  if (branch.includes("..") || branch.includes("//") || branch.includes("@{")) return "contains .., // or @{"
  if (branch.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock"))) {
    return "has a part that starts with . or ends with .lock"
  }
  if (branch.endsWith(".") || branch === "@" || branch === "HEAD") return "is reserved or ends with ."
  return undefined
}

/** Checks a branch name. */
export const validateBranch = (branch: string): Either.Either<string, InvalidBranch> => {
  const reason = branchProblem(branch)
  return reason === undefined ? Either.right(branch) : Either.left(new InvalidBranch({ branch, reason }))
}

/** The recorded changes of a state (none before the first). */
export const changesOf = (state: RealmState): Readonly<Record<string, CoordinatedChange>> => state.worktrees ?? {}

/** What a change spans: its domains and repos (sorted by name), from the arguments or the acting repo's domains. */
export interface WorktreeScopePlan {
  readonly domains: ReadonlyArray<string>
  readonly repos: ReadonlyArray<string>
}

/**
 * The repos a change spans: every member of the named domains, or of the domains `actor` takes part in; `repos`
 * narrows it to the ones named (which must be realm members). Pure.
 */
export const planScope = (
  state: RealmState,
  actor: string,
  options: { readonly domains?: ReadonlyArray<string> | undefined; readonly repos?: ReadonlyArray<string> | undefined }
): Either.Either<WorktreeScopePlan, WorktreeScope | InvalidName> =>
  Either.gen(function*() {
    for (const d of options.domains ?? []) {
      const reason = nameProblem(d)
      if (reason !== undefined) return yield* Either.left(new InvalidName({ kind: "domain", value: d, reason }))
      if (!(d in state.domains)) {
        return yield* Either.left(
          new WorktreeScope({
            detail: `The realm has no domain '${d}' (it has ${Object.keys(state.domains).sort().join(", ") || "none"})`
          })
        )
      }
    }
    const takesPart = (d: string) =>
      state.domains[d]!.file.members.includes(actor) || actor in state.domains[d]!.bindings
    const domains = options.domains !== undefined && options.domains.length > 0
      ? [...options.domains]
      : Object.keys(state.domains).filter(takesPart).sort()
    if (domains.length === 0 && (options.repos === undefined || options.repos.length === 0)) {
      return yield* Either.left(
        new WorktreeScope({
          detail:
            `${actor} takes part in no domain of the realm, so a coordinated change has no other repos; name them with --repos or a domain with --domain`
        })
      )
    }
    const members = new Set(domains.flatMap((d) => [...state.domains[d]!.file.members]))
    let repos: Array<string>
    if (options.repos !== undefined && options.repos.length > 0) {
      repos = []
      for (const r of options.repos) {
        const reason = nameProblem(r)
        if (reason !== undefined) return yield* Either.left(new InvalidName({ kind: "repo", value: r, reason }))
        if (!(r in state.repos) && !members.has(r)) {
          return yield* Either.left(new WorktreeScope({ detail: `${r} is not a member of the realm` }))
        }
        if (!repos.includes(r)) repos.push(r)
      }
    } else {
      repos = [...members]
    }
    return { domains, repos: repos.sort() }
  })

const sameRepos = (a: ReadonlyArray<WorktreeRepo>, b: ReadonlyArray<WorktreeRepo>) =>
  a.length === b.length &&
  a.every((x) => b.some((y) => y.name === x.name && y.path === x.path && y.url === x.url && y.status === x.status))

type WorktreeCommand =
  | typeof RecordWorktree.Type
  | typeof RecordWorktreeCommit.Type
  | typeof RecordWorktreePush.Type
  | typeof RecordWorktreePulls.Type
  | typeof RemoveWorktree.Type

/** Decides a command of a coordinated change against the state. Pure. */
export const decideWorktree = (
  command: WorktreeCommand,
  state: RealmState,
  meta: CommandMeta
): Either.Either<
  ReadonlyArray<WorktreeEvent>,
  RealmNotInitialized | RepoNotInRealm | InvalidBranch | WorktreeNotFound
> =>
  Either.gen(function*() {
    if (state.realm === undefined) return yield* Either.left(new RealmNotInitialized({ path: "" }))
    const actor = meta.actor.repo
    if (actor === undefined || !(actor in state.repos)) {
      return yield* Either.left(
        new RepoNotInRealm({ realm: state.realm.name, repo: actor ?? "(no repo: run this inside a member repo)" })
      )
    }
    yield* validateBranch(command.name)
    const known = changesOf(state)
    const existing = known[command.name]
    const notFound = () => new WorktreeNotFound({ name: command.name, known: Object.keys(known).sort() })
    switch (command._tag) {
      case "RecordWorktree": {
        const twin = Object.keys(known).find((k) =>
          k !== command.name && worktreeSlug(k) === worktreeSlug(command.name)
        )
        if (twin !== undefined) {
          return yield* Either.left(
            new InvalidBranch({
              branch: command.name,
              reason: `would share the tracking file ${worktreeFilePath(twin)} with the change '${twin}'`
            })
          )
        }
        // Repos recorded before keep their commits, base and push; new ones join.
        const repos = command.repos.map((r) => {
          const before = existing?.repos.find((x) => x.name === r.name)
          if (before === undefined) return r
          // "Elsewhere" is as seen from the recording machine: a repo set up on another one stays as it is.
          if (r.status === "elsewhere" && before.status !== "elsewhere") return before
          return {
            ...r,
            commits: before.commits,
            ...(before.base === undefined ? {} : { base: r.base ?? before.base }),
            ...(before.pushed === undefined ? {} : { pushed: before.pushed }),
            ...(before.pr === undefined ? {} : { pr: before.pr }),
            status: r.status === "elsewhere" ? r.status : before.status === "pushed" ? "pushed" as const : r.status
          }
        })
        for (const before of existing?.repos ?? []) {
          if (!repos.some((r) => r.name === before.name)) repos.push(before)
        }
        repos.sort((a, b) => a.name.localeCompare(b.name))
        if (existing !== undefined && sameRepos(existing.repos, repos)) return []
        const [first = "", ...rest] = command.domains
        return [
          new WorktreeCreated({
            change: {
              name: command.name,
              created_at: existing?.created_at ?? meta.time,
              source_rfc: existing?.source_rfc ?? `${actor}:${command.rfc}`,
              domain: existing?.domain ?? first,
              ...(existing?.domains !== undefined
                ? { domains: existing.domains }
                : rest.length > 0
                ? { domains: command.domains }
                : {}),
              repos,
              coordination: existing?.coordination ?? { commits: [] }
            }
          })
        ]
      }
      case "RecordWorktreeCommit": {
        if (existing === undefined) return yield* Either.left(notFound())
        const recorded = new Set(
          existing.coordination.commits.flatMap((c) => Object.values(c.commits).filter((x) => x !== null))
        )
        const fresh = Object.values(command.commits).filter((x): x is string => x !== null && !recorded.has(x))
        if (fresh.length === 0) return []
        const commits: Record<string, string | null> = {}
        for (const r of existing.repos) {
          if (r.name in command.commits) {
            const id = command.commits[r.name] ?? null
            commits[r.name] = id !== null && recorded.has(id) ? null : id
          }
        }
        return [
          new WorktreeCommitted({
            name: command.name,
            commit: { commits, message: command.message, linked: command.linked }
          })
        ]
      }
      case "RecordWorktreePush": {
        if (existing === undefined) return yield* Either.left(notFound())
        const pushed: Record<string, string> = {}
        for (const [repo, id] of Object.entries(command.pushed)) {
          const r = existing.repos.find((x) => x.name === repo)
          if (r !== undefined && (r.pushed !== id || r.status !== "pushed")) pushed[repo] = id
        }
        return Object.keys(pushed).length === 0 ? [] : [new WorktreePushed({ name: command.name, pushed })]
      }
      case "RecordWorktreePulls": {
        if (existing === undefined) return yield* Either.left(notFound())
        const pulls: Record<string, WorktreePull> = {}
        for (const [repo, pull] of Object.entries(command.pulls)) {
          const r = existing.repos.find((x) => x.name === repo)
          if (r !== undefined && !samePull(r.pr, pull)) pulls[repo] = pull
        }
        const sameOrder = existing.coordination.merge_order !== undefined &&
          existing.coordination.merge_order.join("\0") === command.order.join("\0")
        if (Object.keys(pulls).length === 0 && sameOrder) return []
        return [new WorktreePullsRecorded({ name: command.name, order: command.order, pulls })]
      }
      case "RemoveWorktree":
        return existing === undefined ? [] : [new WorktreeRemoved({ name: command.name })]
    }
  })

/** The last recorded commit of `repo` in a change (its branch head as far as the realm knows), if any. */
export const lastCommitOf = (change: CoordinatedChange, repo: string): string | undefined => {
  for (let i = change.coordination.commits.length - 1; i >= 0; i--) {
    const id = change.coordination.commits[i]!.commits[repo]
    if (id !== undefined && id !== null) return id
  }
  return undefined
}

/** Folds an event of a coordinated change into the map of changes (a new map; records are replaced, never edited). */
export const evolveWorktrees = (
  changes: Readonly<Record<string, CoordinatedChange>>,
  event: WorktreeEvent
): Record<string, CoordinatedChange> => {
  const next = { ...changes }
  switch (event._tag) {
    case "WorktreeCreated":
      next[event.change.name] = event.change
      return next
    case "WorktreeCommitted": {
      const change = next[event.name]
      if (change === undefined) return next
      next[event.name] = {
        ...change,
        repos: change.repos.map((r) => {
          const id = event.commit.commits[r.name]
          return id === undefined || id === null ? r : {
            ...r,
            commits: r.commits + 1,
            status: r.status === "pushed" ? "active" as const : r.status
          }
        }),
        coordination: { commits: [...change.coordination.commits, event.commit] }
      }
      return next
    }
    case "WorktreePushed": {
      const change = next[event.name]
      if (change === undefined) return next
      next[event.name] = {
        ...change,
        repos: change.repos.map((r) => {
          const id = event.pushed[r.name]
          return id === undefined ? r : { ...r, pushed: id, status: "pushed" as const }
        })
      }
      return next
    }
    case "WorktreePullsRecorded": {
      const change = next[event.name]
      if (change === undefined) return next
      next[event.name] = {
        ...change,
        repos: change.repos.map((r) => {
          const pr = event.pulls[r.name]
          return pr === undefined ? r : { ...r, pr }
        }),
        coordination: { ...change.coordination, merge_order: event.order }
      }
      return next
    }
    case "WorktreeRemoved":
      delete next[event.name]
      return next
  }
}

/**
 * The tracking file's document in the draft RFC's shape: name, created_at, source_rfc, domain, repos (name, path,
 * status, commits), and coordination.commits with each commit's ids keyed by repo, then message and linked.
 */
export const worktreeDocument = (change: CoordinatedChange): Record<string, unknown> => ({
  name: change.name,
  created_at: change.created_at,
  source_rfc: change.source_rfc,
  domain: change.domain,
  ...(change.domains === undefined ? {} : { domains: [...change.domains] }),
  repos: change.repos.map((r) => ({
    name: r.name,
    ...(r.path === undefined ? {} : { path: r.path }),
    ...(r.url === undefined ? {} : { url: r.url }),
    status: r.status,
    commits: r.commits,
    ...(r.pr === undefined ? {} : {
      pr: {
        number: r.pr.number,
        ...(r.pr.url === undefined ? {} : { url: r.pr.url }),
        state: r.pr.state,
        forge: r.pr.forge,
        base: r.pr.base,
        ...(r.pr.blocked_by.length === 0 ? {} : { blocked_by: [...r.pr.blocked_by] })
      }
    })
  })),
  coordination: {
    commits: change.coordination.commits.map((c) => ({ ...c.commits, message: c.message, linked: c.linked })),
    ...(change.coordination.merge_order === undefined ? {} : { merge_order: [...change.coordination.merge_order] })
  }
})

const samePull = (a: WorktreePull | undefined, b: WorktreePull) =>
  a !== undefined && a.number === b.number && a.url === b.url && a.state === b.state && a.forge === b.forge &&
  a.base === b.base && a.linked === b.linked && a.blocked_by.join("\0") === b.blocked_by.join("\0")

// ---------------------------------------------------------------------------------------------------------------
// Coordinated pull requests: merge order, bodies, what may merge next

/** The PRs of a change cannot be put in a merge order: its repos depend on each other in a cycle. */
export class MergeOrderCycle extends Schema.TaggedError<MergeOrderCycle>()("MergeOrderCycle", {
  name: Schema.String,
  cycle: Schema.Array(Schema.String)
}) {
  override get message() {
    return `The pull requests of ${this.name} have no merge order: ${
      [...this.cycle, this.cycle[0]].join(" → ")
    } import from each other (a dependency cycle); reverse one of those bindings or split the change.`
  }
}

/** One repo's place in the merge order: the repos whose PRs merge before it, and those waiting for it. */
export interface MergeStep {
  readonly repo: string
  /** providers of this repo among the change's repos (their PRs must merge first) */
  readonly blockedBy: ReadonlyArray<string>
  /** consumers of this repo among the change's repos */
  readonly neededBy: ReadonlyArray<string>
}

/**
 * The merge order of a change's repos: a topological order of the provider → consumer edges among them, from every
 * domain's bindings (exporters before importers), ties by name. A cycle is refused, named. Pure.
 */
export const mergeOrder = (
  name: string,
  edges: ReadonlyArray<{ readonly from: string; readonly to: string }>,
  repos: ReadonlyArray<string>
): Either.Either<ReadonlyArray<MergeStep>, MergeOrderCycle> => {
  const nodes = [...new Set(repos)].sort()
  const inside = new Set(nodes)
  const into = new Map<string, Set<string>>(nodes.map((n) => [n, new Set()]))
  const out = new Map<string, Set<string>>(nodes.map((n) => [n, new Set()]))
  for (const e of edges) {
    if (e.from === e.to || !inside.has(e.from) || !inside.has(e.to)) continue
    into.get(e.to)!.add(e.from)
    out.get(e.from)!.add(e.to)
  }
  const left = new Map(nodes.map((n) => [n, into.get(n)!.size]))
  const order: Array<MergeStep> = []
  for (;;) {
    const ready = [...left].filter(([, n]) => n === 0).map(([r]) => r).sort()[0]
    if (ready === undefined) break
    left.delete(ready)
    for (const to of out.get(ready)!) left.set(to, left.get(to)! - 1)
    order.push({ repo: ready, blockedBy: [...into.get(ready)!].sort(), neededBy: [...out.get(ready)!].sort() })
  }
  if (left.size === 0) return Either.right(order)
  // Walk back along unfinished providers until a repo repeats: that loop is the cycle.
  const path: Array<string> = []
  let at = [...left.keys()].sort()[0]!
  while (!path.includes(at)) {
    path.push(at)
    at = [...into.get(at)!].filter((r) => left.has(r)).sort()[0]!
  }
  const loop = path.slice(path.indexOf(at)).reverse()
  // Told from its first repo by name, in provider → consumer direction.
  const start = loop.indexOf([...loop].sort()[0]!)
  const cycle = [...loop.slice(start), ...loop.slice(0, start)]
  return Either.left(new MergeOrderCycle({ name, cycle }))
}

/** How a PR is named in bodies and output: `repo#number`. */
export const pullLabel = (repo: string, pr: { readonly number: number }): string => `${repo}#${pr.number}`

/** "first", "second", … for the merge-order line of `blue realm pr`. */
export const ordinal = (n: number): string =>
  ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"][n - 1] ?? `${n}th`

/** The hidden marker of a coordinated PR's body. */
export const pullMarker = (branch: string, repo: string): string => `<!-- blue:coordinated:${branch}:${repo} -->`

/**
 * A coordinated PR's body: the template (with `{repo}`, `{branch}`, `{rfc}`, `{title}` filled in), then the change's
 * PRs in merge order with links, "Blocked by" / "Needed by", and one `Depends-On: <url>` line per PR that must merge
 * first (Zuul's convention; a local PR, which has no URL, is named by its label). PRs not known yet are left out,
 * so the body written at creation names the earlier PRs and the edit afterwards names them all. Pure.
 */
export const pullBody = (input: {
  readonly branch: string
  readonly rfc: string
  readonly title: string
  readonly template: string | undefined
  readonly repo: string
  readonly order: ReadonlyArray<MergeStep>
  readonly pulls: Readonly<Record<string, { readonly number: number; readonly url?: string | undefined }>>
}): string => {
  const fill = (t: string) =>
    t.replace(/\{repo\}/g, input.repo).replace(/\{branch\}/g, input.branch).replace(/\{rfc\}/g, input.rfc).replace(
      /\{title\}/g,
      input.title
    )
  const label = (repo: string) => {
    const pr = input.pulls[repo]
    return pr === undefined ? undefined : pullLabel(repo, pr)
  }
  const step = input.order.find((s) => s.repo === input.repo)
  const known = input.order.filter((s) => input.pulls[s.repo] !== undefined)
  const blockers = (step?.blockedBy ?? []).filter((r) => input.pulls[r] !== undefined)
  const needed = (step?.neededBy ?? []).filter((r) => input.pulls[r] !== undefined)
  const lines = [
    fill(input.template ?? `Part of the coordinated change \`{branch}\` (RFC {rfc}).`),
    "",
    "---",
    `**Coordinated change \`${input.branch}\`** — merge in this order:`,
    "",
    ...known.map((s, i) => {
      const pr = input.pulls[s.repo]!
      return `${i + 1}. ${label(s.repo)}${pr.url === undefined ? " (local, recorded in the realm)" : ` ${pr.url}`}${
        s.repo === input.repo ? " ← this PR" : ""
      }`
    }),
    "",
    ...(blockers.length === 0 ? [] : [`Blocked by: ${blockers.map((r) => label(r)).join(", ")} (merge first)`]),
    ...(needed.length === 0 ? [] : [`Needed by: ${needed.map((r) => label(r)).join(", ")}`]),
    ...(blockers.length === 0 ? [] : [
      "",
      ...blockers.map((r) => `Depends-On: ${input.pulls[r]!.url ?? label(r)}`)
    ]),
    "",
    pullMarker(input.branch, input.repo)
  ]
  return lines.join("\n")
}

/**
 * The PR that may merge next: the first open one in merge order whose blockers have all merged (a closed blocker
 * holds it back). Undefined when none may. Pure.
 */
export const nextToMerge = (change: CoordinatedChange): string | undefined => {
  const pr = (repo: string) => change.repos.find((r) => r.name === repo)?.pr
  for (const repo of change.coordination.merge_order ?? []) {
    const p = pr(repo)
    if (p === undefined || p.state !== "open") continue
    if (p.blocked_by.every((b) => pr(b) === undefined || pr(b)!.state === "merged")) return repo
  }
  return undefined
}

/** The number a new local PR of `repo` gets: one more than any local PR of that repo in the realm. Pure. */
export const nextLocalPullNumber = (state: RealmState, repo: string): number =>
  1 + Math.max(
    0,
    ...Object.values(changesOf(state)).flatMap((c) =>
      c.repos.flatMap((r) => (r.name === repo && r.pr?.forge === "local" ? [r.pr.number] : []))
    )
  )
