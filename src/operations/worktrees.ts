/**
 * Coordinated changes across repos (the draft RFC's `blue_realm_worktree`, `blue_realm_commit`, `blue_realm_push`):
 * one branch in every repo of the change, each in a linked worktree at `<repo>/.worktrees/<branch with / → ->`, its
 * commits linked and its pushes recorded in the realm's `worktrees/<slug>.yaml`.
 *
 * Each command is a saga over real repos: it first observes every repo (`git worktree list`, branch heads, status,
 * the remote's refs) and refuses, in one sentence and before touching anything, what it cannot do; then it does only
 * what is missing; then it records the result as one realm event. A run killed anywhere leaves git ahead of the
 * realm, never behind, and the same command resumes it: worktrees that exist are kept, a commit made with the same
 * message and not yet recorded is taken rather than made again, a branch the remote already has is not pushed again.
 *
 * `blue realm pr` (src/operations/pulls.ts) reads the same record and the push results, and adds its own event.
 */
import { Effect, Schema } from "effect"
import * as nodePath from "node:path"
import { planScope, validateBranch } from "../domain/worktrees.js"
import {
  changesOf,
  type CoordinatedChange,
  defaultBranch,
  lastCommitOf,
  worktreeFilePath,
  WorktreeNotFound,
  type WorktreeRepo,
  WorktreeScope,
  worktreeSlug
} from "../domain/worktrees.js"
import { Invocation } from "../engine/invocation.js"
import { CodeGit, type CodeRepoGit, type LinkedWorktree, Workspace } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { operation, optionalBoolean, optionalString } from "./operation.js"
import { hereAsMember } from "./where.js"

/** A repo of the change that is not a git repository. */
export class NotAGitRepo extends Schema.TaggedError<NotAGitRepo>()("NotAGitRepo", {
  repo: Schema.String,
  path: Schema.String
}) {
  override get message() {
    return `${this.repo} at ${this.path} is not a git repository; 'git init' it (or fix its path in the realm) first.`
  }
}

/** A branch or worktree path of the change is taken by something else. */
export class WorktreeConflict extends Schema.TaggedError<WorktreeConflict>()("WorktreeConflict", {
  repo: Schema.String,
  branch: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.repo}: ${this.detail}.`
  }
}

/** Worktrees hold uncommitted work where clean ones are needed (removing them, pushing). */
export class WorktreeDirty extends Schema.TaggedError<WorktreeDirty>()("WorktreeDirty", {
  action: Schema.String,
  repos: Schema.Array(Schema.Struct({ repo: Schema.String, path: Schema.String, files: Schema.Array(Schema.String) }))
}) {
  override get message() {
    const list = (files: ReadonlyArray<string>) =>
      files.length <= 5 ? files.join(", ") : `${files.slice(0, 5).join(", ")} and ${files.length - 5} more`
    return `Cannot ${this.action}: ${
      this.repos.map((r) => `${r.repo} has uncommitted work in ${r.path} (${list(r.files)})`).join("; ")
    }; commit it with 'blue realm commit -m MESSAGE' or discard it first.`
  }
}

/** A repo of the change has no remote to push to. */
export class MissingRemote extends Schema.TaggedError<MissingRemote>()("MissingRemote", {
  repo: Schema.String,
  branch: Schema.String,
  remotes: Schema.Array(Schema.String)
}) {
  override get message() {
    return this.remotes.length === 0
      ? `${this.repo} has no remote to push ${this.branch} to; add one with 'git remote add origin URL' in it.`
      : `${this.repo} has no remote called origin and several others (${
        this.remotes.join(", ")
      }), so Blue cannot tell where to push ${this.branch}; add origin.`
  }
}

/** A comma-separated list (or an array) of names, trimmed. */
export const list = (v: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> | undefined =>
  v === undefined
    ? undefined
    : (typeof v === "string" ? v.split(",") : v).map((s) => s.trim()).filter((s) => s !== "")

/** An argument that takes a comma-separated list or an array. */
export const listArg = (description: string) =>
  Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String)).annotations({ description }))

const samePath = (a: string, b: string) => nodePath.resolve(a) === nodePath.resolve(b)

/** The worktree path of a change's branch in a repo. */
const worktreePath = (root: string, branch: string) => nodePath.join(root, ".worktrees", worktreeSlug(branch))

/** The repo a worktree path of ours belongs to (`<root>/.worktrees/<slug>`). */
export const rootOf = (worktree: string) => nodePath.resolve(worktree, "..", "..")

/** The member repo, the realm, its state and git with the caller's environment. */
export const context = (cwd: string, what: string) =>
  Effect.gen(function*() {
    const h = yield* hereAsMember(cwd, `${what} runs inside a member repo (it has .blue/config.yaml)`)
    const realms = yield* Realms
    const realm = yield* realms.open(h.realmDir)
    const git = (yield* CodeGit).git((yield* Invocation).env)
    return { h, realms, realm, git, actor: h.member.config.repo }
  })

/**
 * The change a commit or push is about: the one named, else the one whose worktree the command runs in, else the
 * only one this repo takes part in.
 */
export const pickChange = (
  changes: Readonly<Record<string, CoordinatedChange>>,
  actor: string,
  cwd: string,
  branch: string | undefined
) =>
  Effect.gen(function*() {
    const known = Object.keys(changes).sort()
    if (branch !== undefined) {
      return changes[branch] ?? (yield* new WorktreeNotFound({ name: branch, known }))
    }
    const inside = Object.values(changes).find((c) =>
      c.repos.some((r) => r.path !== undefined && (samePath(r.path, cwd) || cwd.startsWith(r.path + nodePath.sep)))
    )
    if (inside !== undefined) return inside
    const mine = Object.values(changes).filter((c) => c.repos.some((r) => r.name === actor))
    if (mine.length === 1) return mine[0]!
    if (mine.length === 0) return yield* new WorktreeNotFound({ name: `(one that includes ${actor})`, known })
    return yield* new WorktreeScope({
      detail: `${actor} takes part in several coordinated changes (${
        mine.map((c) => c.name).sort().join(", ")
      }); name one with --branch`
    })
  })

/** The repos of a change that live on this machine (their worktree path exists), narrowed to `only`. */
export const localRepos = (change: CoordinatedChange, only: ReadonlyArray<string> | undefined) =>
  Effect.gen(function*() {
    const workspace = yield* Workspace
    for (const r of only ?? []) {
      if (!change.repos.some((x) => x.name === r)) {
        return yield* new WorktreeScope({
          detail: `${r} is not part of the coordinated change ${change.name} (it spans ${
            change.repos.map((x) => x.name).join(", ")
          })`
        })
      }
    }
    const local: Array<WorktreeRepo & { readonly path: string }> = []
    const elsewhere: Array<WorktreeRepo> = []
    for (const r of change.repos) {
      if (only !== undefined && only.length > 0 && !only.includes(r.name)) continue
      if (r.path !== undefined && (yield* workspace.kind(r.path)) === "directory") local.push({ ...r, path: r.path })
      else elsewhere.push(r)
    }
    return { local, elsewhere }
  })

/** What `blue realm worktree` did in one repo. */
type RepoAction = "created" | "attached" | "existing" | "elsewhere" | "removed" | "absent"

/** `blue_realm_worktree`: set up (or, with `remove`, tear down) a coordinated change's worktrees. */
export const worktree = operation({
  tool: "blue_realm_worktree",
  description:
    "Create unified worktrees across the repos a change spans: branch feat/{rfc} (or branch) and a linked git worktree at <repo>/.worktrees/<branch with / → -> in every repo of this repo's domains (or the ones named), recorded in the realm's worktrees/<branch>.yaml. Idempotent; remove tears them down (refused while one holds uncommitted work).",
  readOnly: false,
  args: Schema.Struct({
    rfc: optionalString("RFC title that drives the change (needed to start one)"),
    branch: optionalString("Branch name (default: feat/{rfc})"),
    domain: listArg("Domain(s) to coordinate, comma-separated (default: every domain this repo takes part in)"),
    repos: listArg("Specific repos to include, comma-separated (default: all in the domains)"),
    remove: optionalBoolean(
      "Remove the change's worktrees instead (the branches stay); refused while one has uncommitted work"
    )
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const { actor, git, h, realm, realms } = yield* context(at.cwd, "worktree")
      if (args.rfc === undefined && args.branch === undefined) {
        return yield* new WorktreeScope({ detail: "Name the change: --rfc TITLE (branch feat/TITLE) or --branch NAME" })
      }
      const branch = yield* validateBranch(args.branch ?? defaultBranch(args.rfc!))
      const existing = changesOf(realm.state)[branch]
      if (args.remove === true) {
        // Worktrees a run killed before it recorded them are found where they would be.
        const unrecorded: Array<{ readonly name: string; readonly path: string }> = []
        if (existing === undefined) {
          const scope = yield* planScope(realm.state, actor, { domains: list(args.domain), repos: list(args.repos) })
          const workspace = yield* Workspace
          for (const name of scope.repos) {
            const where = name === actor ? h.member.root : realm.state.repos[name]?.path
            if (where === undefined || (yield* workspace.kind(where)) !== "directory") continue
            const root = yield* git.toplevel(where)
            if (root === undefined) continue
            const path = worktreePath(root, branch)
            const tree = (yield* git.worktrees(root)).find((w) => samePath(w.path, path))
            if (tree?.branch === branch) unrecorded.push({ name, path })
          }
        }
        return yield* removeChange(git, h, realms, branch, existing, unrecorded, Object.keys(changesOf(realm.state)))
      }
      if (existing === undefined && args.rfc === undefined) {
        return yield* new WorktreeScope({
          detail: `No coordinated change '${branch}' is recorded yet; start one with --rfc TITLE`
        })
      }
      const rfc = args.rfc ?? existing!.source_rfc.replace(/^[^:]*:/, "")
      const scope = yield* planScope(realm.state, actor, { domains: list(args.domain), repos: list(args.repos) })
      const workspace = yield* Workspace

      // Observe every repo and refuse before changing any.
      type Step = {
        readonly name: string
        readonly root?: string
        readonly path?: string
        readonly url?: string
        readonly action: RepoAction
        readonly base?: string
      }
      const steps: Array<Step> = []
      for (const name of scope.repos) {
        const recorded = existing?.repos.find((r) => r.name === name)
        const registered = realm.state.repos[name]
        const where = name === actor ? h.member.root : registered?.path
        if (where === undefined || (yield* workspace.kind(where)) !== "directory") {
          steps.push({
            name,
            action: "elsewhere",
            ...(registered?.url === undefined ? {} : { url: registered.url })
          })
          continue
        }
        const root = yield* git.toplevel(where)
        if (root === undefined) return yield* new NotAGitRepo({ repo: name, path: where })
        const path = worktreePath(root, branch)
        // A worktree whose directory was deleted by hand is listed until pruned: it counts as gone.
        const trees: Array<LinkedWorktree> = []
        for (const w of yield* git.worktrees(root)) if ((yield* workspace.kind(w.path)) === "directory") trees.push(w)
        const tree = trees.find((w) => samePath(w.path, path))
        if (tree !== undefined) {
          if (tree.branch !== branch) {
            return yield* new WorktreeConflict({
              repo: name,
              branch,
              detail: `${path} is a worktree with ${
                tree.branch === undefined ? "a detached HEAD" : `branch ${tree.branch}`
              } checked out, not ${branch}; remove it ('git worktree remove ${path}') or pick another --branch`
            })
          }
          const base = recorded?.base ?? (yield* git.branchHead(root, branch))
          steps.push({ name, root, path, action: "existing", ...(base === undefined ? {} : { base }) })
          continue
        }
        const busy = trees.find((w) => w.branch === branch)
        if (busy !== undefined) {
          return yield* new WorktreeConflict({
            repo: name,
            branch,
            detail:
              `branch ${branch} is already checked out at ${busy.path}; switch that checkout to another branch first`
          })
        }
        if ((yield* workspace.kind(path)) !== "missing") {
          return yield* new WorktreeConflict({
            repo: name,
            branch,
            detail: `${path} exists and is not a worktree of the repo; move it away first`
          })
        }
        const head = yield* git.head(root)
        if (head === undefined) {
          return yield* new WorktreeConflict({
            repo: name,
            branch,
            detail: `the repo at ${root} has no commit yet to start ${branch} from; commit something first`
          })
        }
        const tip = yield* git.branchHead(root, branch)
        if (tip !== undefined && recorded === undefined && tip !== head) {
          return yield* new WorktreeConflict({
            repo: name,
            branch,
            detail: `a branch ${branch} already exists at ${tip.slice(0, 7)} with other content than the repo's HEAD (${
              head.slice(0, 7)
            }); pick another --branch, or delete it ('git branch -D ${branch}') if it is not needed`
          })
        }
        steps.push({
          name,
          root,
          path,
          action: tip === undefined ? "created" : "attached",
          base: recorded?.base ?? tip ?? head
        })
      }

      // Do what is missing.
      for (const s of steps) {
        if (s.action === "created") yield* git.addWorktree(s.root!, { path: s.path!, branch, from: s.base! })
        if (s.action === "attached") yield* git.addWorktree(s.root!, { path: s.path!, branch })
      }

      // Record it (nothing when the realm already records it as it is).
      const out = yield* realms.execute(h.realmDir, {
        _tag: "RecordWorktree",
        name: branch,
        rfc,
        domains: scope.domains,
        repos: steps.map((s): WorktreeRepo =>
          s.action === "elsewhere"
            ? { name: s.name, ...(s.url === undefined ? {} : { url: s.url }), status: "elsewhere", commits: 0 }
            : {
              name: s.name,
              path: s.path!,
              status: "active",
              commits: 0,
              ...(s.base === undefined ? {} : { base: s.base })
            }
        )
      }, h.actor)
      return {
        realm: out.realm,
        name: branch,
        rfc,
        domains: scope.domains,
        tracking_file: worktreeFilePath(branch),
        repos: steps.map((s) => ({
          name: s.name,
          action: s.action,
          path: s.path ?? null,
          ...(s.url === undefined ? {} : { url: s.url })
        })),
        you: steps.find((s) => s.name === actor)?.path ?? null,
        commit: out.events.length === 0 ? null : out.commit
      }
    }),
  summary: (r) => {
    if ("removed" in r) {
      return [
        `Removing unified worktree '${r.name}':`,
        ...r.repos.map((x) =>
          x.action === "removed" ? `  ✓ ${x.name}: removed ${x.path}` : `  - ${x.name}: no worktree here`
        ),
        r.recorded ? `Branch '${r.name}' kept in every repo; realm tracking file removed.` : "Nothing was recorded."
      ].join("\n")
    }
    const made = r.repos.filter((x) => x.action !== "elsewhere")
    return [
      `Creating unified worktree '${r.name}':`,
      ...r.repos.map((x) =>
        x.action === "elsewhere"
          ? `  ⧗ ${x.name}: to be set up there (not on this machine${"url" in x ? `: ${x.url}` : ""})`
          : `  ✓ ${x.name}: .worktrees/${worktreeSlug(r.name)}/${x.action === "existing" ? " (already there)" : ""}`
      ),
      `Branch '${r.name}' in ${
        made.length === 1 ? "1 repo" : `${made.length} repos`
      }; tracked in the realm's ${r.tracking_file}.`,
      ...(r.you === null ? [] : [`Your worktree: cd ${r.you}`]),
      ...made.filter((x) => x.path !== r.you).map((x) => `Related worktree: cd ${x.path}`)
    ].join("\n")
  }
})

/** Tears a change's worktrees down (refused while one holds uncommitted work) and records that. */
const removeChange = (
  git: CodeRepoGit,
  h: { readonly realmDir: string; readonly actor: { readonly repo?: string | undefined; readonly user: string } },
  realms: Realms,
  branch: string,
  existing: CoordinatedChange | undefined,
  unrecorded: ReadonlyArray<{ readonly name: string; readonly path: string }>,
  known: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const workspace = yield* Workspace
    const targets: Array<{ readonly name: string; readonly path: string; readonly present: boolean }> = []
    for (const r of [...(existing?.repos ?? []), ...unrecorded]) {
      if (r.path === undefined) continue
      targets.push({ name: r.name, path: r.path, present: (yield* workspace.kind(r.path)) === "directory" })
    }
    if (targets.length === 0 && existing === undefined) {
      return yield* new WorktreeNotFound({ name: branch, known: [...known].sort() })
    }
    const dirty: Array<{ repo: string; path: string; files: ReadonlyArray<string> }> = []
    for (const t of targets) {
      if (!t.present) continue
      const files = yield* git.status(t.path)
      if (files.length > 0) dirty.push({ repo: t.name, path: t.path, files })
    }
    if (dirty.length > 0) return yield* new WorktreeDirty({ action: `remove the worktrees of ${branch}`, repos: dirty })
    for (const t of targets) if (t.present) yield* git.removeWorktree(rootOf(t.path), t.path)
    const out = yield* realms.execute(h.realmDir, { _tag: "RemoveWorktree", name: branch }, h.actor)
    return {
      realm: out.realm,
      name: branch,
      removed: true as const,
      recorded: out.events.length > 0,
      repos: targets.map((t) => ({
        name: t.name,
        path: t.path,
        action: (t.present ? "removed" : "absent") as RepoAction
      })),
      commit: out.events.length === 0 ? null : out.commit
    }
  })

/** `blue_realm_commit`: one coordinated commit in every worktree of the change that has changes, linked. */
export const commit = operation({
  tool: "blue_realm_commit",
  description:
    "Create coordinated commits across the change's worktrees: the same message in every repo with changes; the commit ids are linked in the realm's worktree tracking.",
  readOnly: false,
  args: Schema.Struct({
    message: Schema.String.annotations({ description: "Commit message (applied to all repos)" }),
    repos: listArg("Which repos to commit, comma-separated (default: all with changes)"),
    link: optionalBoolean("Link the commits in the realm's tracking (default: true)"),
    branch: optionalString("The coordinated change (its branch); default: the one this repo or directory is part of")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const { actor, git, h, realm, realms } = yield* context(at.cwd, "commit")
      if (args.message.trim() === "") {
        return yield* new WorktreeScope({ detail: "The commit message is empty; give one with -m MESSAGE" })
      }
      const change = yield* pickChange(changesOf(realm.state), actor, at.cwd, args.branch)
      const { elsewhere, local } = yield* localRepos(change, list(args.repos))
      const recorded = new Set(
        change.coordination.commits.flatMap((c) => Object.values(c.commits).filter((x): x is string => x !== null))
      )
      // Observe: what has changes, and what a run killed after committing already made.
      const plans: Array<{ name: string; path: string; files: ReadonlyArray<string>; resumed?: string }> = []
      for (const r of local) {
        const files = yield* git.status(r.path)
        const head = yield* git.head(r.path)
        const resumed = files.length === 0 && head !== undefined && !recorded.has(head) && head !== r.base &&
            head !== lastCommitOf(change, r.name) && (yield* git.message(r.path, head)) === args.message.trimEnd()
          ? head
          : undefined
        plans.push({ name: r.name, path: r.path, files, ...(resumed === undefined ? {} : { resumed }) })
      }
      const commits: Record<string, string | null> = {}
      const report: Array<{ name: string; commit: string | null; files: ReadonlyArray<string>; resumed: boolean }> = []
      for (const p of plans) {
        const id = p.files.length > 0 ? yield* git.commitAll(p.path, args.message) : p.resumed ?? null
        commits[p.name] = id
        report.push({ name: p.name, commit: id, files: p.files, resumed: p.resumed !== undefined })
      }
      const any = Object.values(commits).some((c) => c !== null)
      const out = any
        ? yield* realms.execute(h.realmDir, {
          _tag: "RecordWorktreeCommit",
          name: change.name,
          message: args.message,
          commits,
          linked: args.link ?? true
        }, h.actor)
        : undefined
      return {
        realm: realm.name,
        name: change.name,
        message: args.message,
        linked: args.link ?? true,
        domains: change.domains ?? [change.domain],
        repos: report,
        elsewhere: elsewhere.map((r) => r.name),
        commit: out === undefined || out.events.length === 0 ? null : out.commit
      }
    }),
  summary: (r) =>
    r.repos.every((x) => x.commit === null)
      ? `Nothing to commit in the worktrees of ${r.name}.`
      : [
        `Coordinated commit across repos in ${r.domains.length === 1 ? "domain" : "domains"} ${
          r.domains.map((d) => `'${d}'`).join(", ")
        }:`,
        ...r.repos.flatMap((x) =>
          x.commit === null
            ? [`  ${x.name}: nothing to commit`]
            : [
              `  ${x.name}: ✓ Committed: ${x.commit.slice(0, 7)}${x.resumed ? " (made by an interrupted run)" : ""}`,
              ...(x.files.length === 0 ? [] : [`    Files: ${x.files.join(", ")}`])
            ]
        ),
        ...r.elsewhere.map((n) => `  ${n}: not on this machine (commit there)`),
        r.linked ? "Commits linked in realm worktree tracking." : "Commits recorded (not linked)."
      ].join("\n")
})

/** `blue_realm_push`: push every branch of the change to its repo's remote, reporting per repo. */
export const push = operation({
  tool: "blue_realm_push",
  description:
    "Push the coordinated branches to their remotes (origin, or a repo's only remote), reporting per repo; a branch the remote already has at the same commit is not pushed again.",
  readOnly: false,
  args: Schema.Struct({
    repos: listArg("Which repos to push, comma-separated (default: all in the worktree)"),
    branch: optionalString("The coordinated change (its branch); default: the one this repo or directory is part of")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const { actor, git, h, realm, realms } = yield* context(at.cwd, "push")
      const change = yield* pickChange(changesOf(realm.state), actor, at.cwd, args.branch)
      const { elsewhere, local } = yield* localRepos(change, list(args.repos))
      // Observe and refuse first: a remote for every repo, nothing uncommitted.
      const plans: Array<{ name: string; root: string; remote: string; head: string | undefined }> = []
      const dirty: Array<{ repo: string; path: string; files: ReadonlyArray<string> }> = []
      for (const r of local) {
        const root = rootOf(r.path)
        const remotes = yield* git.remotes(root)
        const remote = remotes.includes("origin") ? "origin" : remotes.length === 1 ? remotes[0] : undefined
        if (remote === undefined) return yield* new MissingRemote({ repo: r.name, branch: change.name, remotes })
        const files = yield* git.status(r.path)
        if (files.length > 0) dirty.push({ repo: r.name, path: r.path, files })
        plans.push({ name: r.name, root, remote, head: yield* git.branchHead(root, change.name) })
      }
      if (dirty.length > 0) return yield* new WorktreeDirty({ action: `push ${change.name}`, repos: dirty })
      const report: Array<{
        name: string
        remote: string
        commit: string | null
        result: "pushed" | "up-to-date" | "failed"
        error?: string
      }> = []
      const pushed: Record<string, string> = {}
      for (const p of plans) {
        if (p.head === undefined) {
          report.push({
            name: p.name,
            remote: p.remote,
            commit: null,
            result: "failed",
            error: `${p.name} has no branch ${change.name}; run 'blue realm worktree' again`
          })
          continue
        }
        const attempt = Effect.gen(function*() {
          const there = yield* git.remoteBranch(p.root, p.remote, change.name)
          if (there === p.head) return "up-to-date" as const
          yield* git.push(p.root, p.remote, change.name)
          return "pushed" as const
        })
        const result = yield* Effect.either(attempt)
        if (result._tag === "Left" && result.left._tag === "GitNotFound") return yield* result.left
        if (result._tag === "Right") {
          pushed[p.name] = p.head
          report.push({ name: p.name, remote: p.remote, commit: p.head, result: result.right })
        } else {
          report.push({ name: p.name, remote: p.remote, commit: p.head, result: "failed", error: result.left.message })
        }
      }
      const out = Object.keys(pushed).length === 0
        ? undefined
        : yield* realms.execute(h.realmDir, { _tag: "RecordWorktreePush", name: change.name, pushed }, h.actor)
      return {
        realm: realm.name,
        name: change.name,
        repos: report,
        elsewhere: elsewhere.map((r) => r.name),
        ok: report.every((x) => x.result !== "failed"),
        commit: out === undefined || out.events.length === 0 ? null : out.commit
      }
    }),
  summary: (r) =>
    [
      "Pushing coordinated branches:",
      ...r.repos.map((x) =>
        x.result === "failed"
          ? `  ✗ ${x.name}: ${x.error}`
          : `  ✓ ${x.name}: ${r.name} → ${x.remote}${x.result === "up-to-date" ? " (already there)" : ""}`
      ),
      ...r.elsewhere.map((n) => `  ⧗ ${n}: not on this machine (push it there)`),
      r.ok ? "Ready for coordinated PRs." : "Some pushes failed; fix them and run 'blue realm push' again."
    ].join("\n"),
  exitCode: (r) => (r.ok ? 0 : 1)
})
