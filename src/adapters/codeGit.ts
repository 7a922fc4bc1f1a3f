/**
 * The user's own `git` for code repos (isomorphic-git has no linked worktrees): worktree add/list/remove, status,
 * branch heads, commit, push and the remote's refs, for coordinated changes (src/operations/worktrees.ts). Every call
 * is a child process through `runProcess` (never a synchronous one: the daemon may run these), with the caller's
 * environment (its PATH finds git; its HOME and GIT_* give git its configuration and identity) minus Blue's tokens,
 * and with prompts off, so a push that needs credentials git cannot find fails instead of waiting for a terminal.
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { runProcess, type RunResult } from "./process.js"

/** No `git` executable on the caller's PATH. */
export class GitNotFound extends Schema.TaggedError<GitNotFound>()("GitNotFound", {
  path: Schema.String
}) {
  override get message() {
    return `Coordinated changes need the git executable and none was found on PATH (${
      this.path === "" ? "empty" : this.path
    }); install git or add it to PATH.`
  }
}

/** A git command on a code repo failed; `detail` is git's own first line of complaint. */
export class CodeGitError extends Schema.TaggedError<CodeGitError>()("CodeGitError", {
  op: Schema.String,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `git ${this.op} failed in ${this.path}: ${this.detail}`
  }
}

/** A linked (or the main) worktree of a repo, as `git worktree list --porcelain` shows it. */
export interface LinkedWorktree {
  readonly path: string
  readonly head: string | undefined
  /** the branch checked out there (without refs/heads/), undefined when detached */
  readonly branch: string | undefined
}

type GitFailure = GitNotFound | CodeGitError

/** git on code repos, run with one caller's environment. */
export interface CodeRepoGit {
  /** The top of the work tree containing `dir`, or undefined when `dir` is in no git repo. */
  readonly toplevel: (dir: string) => Effect.Effect<string | undefined, GitNotFound>
  /** The repo's worktrees (its main one first). */
  readonly worktrees: (repo: string) => Effect.Effect<ReadonlyArray<LinkedWorktree>, GitFailure>
  /** The commit `refs/heads/<branch>` points at, or undefined when there is no such branch. */
  readonly branchHead: (repo: string, branch: string) => Effect.Effect<string | undefined, GitFailure>
  /** The commit HEAD points at in `dir`, or undefined before the first commit. */
  readonly head: (dir: string) => Effect.Effect<string | undefined, GitFailure>
  /** The full message of commit `rev`. */
  readonly message: (dir: string, rev: string) => Effect.Effect<string, GitFailure>
  /**
   * Adds a linked worktree at `path` with `branch` checked out; `from` creates the branch there first. Keeps
   * `.worktrees/` out of the repo's own status (its .git/info/exclude).
   */
  readonly addWorktree: (
    repo: string,
    options: { readonly path: string; readonly branch: string; readonly from?: string }
  ) => Effect.Effect<void, GitFailure>
  /** Removes a linked worktree (git refuses one with changes; the branch stays). */
  readonly removeWorktree: (repo: string, path: string) => Effect.Effect<void, GitFailure>
  /** The files with changes (staged, unstaged or untracked) in the work tree at `dir`, sorted. */
  readonly status: (dir: string) => Effect.Effect<ReadonlyArray<string>, GitFailure>
  /** Stages everything in `dir` and commits it with `message`; the new commit. */
  readonly commitAll: (dir: string, message: string) => Effect.Effect<string, GitFailure>
  /** The repo's remotes. */
  readonly remotes: (repo: string) => Effect.Effect<ReadonlyArray<string>, GitFailure>
  /** The URL of `remote` (as configured, credentials and all: never print it as is). */
  readonly remoteUrl: (repo: string, remote: string) => Effect.Effect<string, GitFailure>
  /** The commit `branch` points at on `remote` (asking it), or undefined when the remote lacks the branch. */
  readonly remoteBranch: (repo: string, remote: string, branch: string) => Effect.Effect<string | undefined, GitFailure>
  /** Pushes `branch` to `remote` (setting it as upstream); fails with git's reason when refused. */
  readonly push: (repo: string, remote: string, branch: string) => Effect.Effect<void, GitFailure>
}

/** The code-repo git port: `git(env)` runs the caller's git with the caller's environment (the `Invocation`'s). */
export class CodeGit extends Context.Tag("blue/CodeGit")<CodeGit, {
  readonly git: (env: Readonly<Record<string, string | undefined>>) => CodeRepoGit
}>() {}

/** Variables of Blue's own that carry secrets: never handed to git. */
const SECRET = /^BLUE_.*(TOKEN|SECRET|PASSWORD)/

/** git's first meaningful line of complaint. */
const complaint = (r: RunResult): string => {
  if (r.timedOut) return "it did not finish in time"
  const lines = `${r.stderr}\n${r.stdout}`.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  const line = lines.find((l) => /^(fatal|error|! \[|remote: error)/.test(l)) ?? lines[0] ?? `exit code ${r.code}`
  // A remote URL with credentials in it never reaches a message.
  return line.replace(/^(fatal|error): /, "").replace(/\/\/[^/@\s']+@/g, "//***@")
}

/** The live port over the `git` on the caller's PATH. */
export const CodeGitLive = Layer.succeed(CodeGit, { git: (callerEnv) => codeRepoGit(callerEnv) })

const codeRepoGit = (callerEnv: Readonly<Record<string, string | undefined>>): CodeRepoGit => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(callerEnv)) if (v !== undefined && !SECRET.test(k)) env[k] = v
  env["GIT_TERMINAL_PROMPT"] = "0"
  const run = (cwd: string, args: ReadonlyArray<string>, timeoutMs = 60_000) =>
    Effect.gen(function*() {
      const r = yield* runProcess({ command: "git", args, cwd, env, timeoutMs, outputLimit: 4 * 1024 * 1024 })
      if (r.spawnError !== undefined && (r.spawnError as NodeJS.ErrnoException).code === "ENOENT") {
        // git missing, or the directory it should run in
        if (!fs.existsSync(cwd)) {
          return yield* new CodeGitError({ op: args[0] ?? "", path: cwd, detail: "the directory does not exist" })
        }
        return yield* new GitNotFound({ path: env["PATH"] ?? "" })
      }
      return r
    })
  const ok = (cwd: string, args: ReadonlyArray<string>, op = args[0] ?? "", timeoutMs?: number) =>
    Effect.flatMap(
      run(cwd, args, timeoutMs),
      (r) =>
        r.code === 0 ? Effect.succeed(r.stdout) : Effect.fail(new CodeGitError({ op, path: cwd, detail: complaint(r) }))
    )
  const revParse = (dir: string, rev: string) =>
    Effect.map(
      run(dir, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]),
      (r) => r.code === 0 ? r.stdout.trim() : undefined
    )
  return {
    toplevel: (dir) =>
      Effect.gen(function*() {
        if (!fs.existsSync(dir)) return undefined
        const r = yield* Effect.catchTag(run(dir, ["rev-parse", "--show-toplevel"]), "CodeGitError", () =>
          Effect.succeed(undefined))
        return r === undefined || r.code !== 0 ? undefined : r.stdout.trim()
      }),
    worktrees: (repo) =>
      Effect.map(
        ok(repo, ["worktree", "list", "--porcelain"], "worktree list"),
        (out) =>
          out.split(/\n\n+/).flatMap((block): Array<LinkedWorktree> => {
            const fields = new Map<string, string>()
            for (const line of block.split("\n")) {
              const at = line.indexOf(" ")
              if (line !== "") fields.set(at < 0 ? line : line.slice(0, at), at < 0 ? "" : line.slice(at + 1))
            }
            const path = fields.get("worktree")
            if (path === undefined) return []
            const branch = fields.get("branch")
            return [{
              path,
              head: fields.get("HEAD"),
              branch: branch === undefined ? undefined : branch.replace(/^refs\/heads\//, "")
            }]
          })
      ),
    branchHead: (repo, branch) => revParse(repo, `refs/heads/${branch}`),
    head: (dir) => revParse(dir, "HEAD"),
    message: (dir, rev) => Effect.map(ok(dir, ["log", "-1", "--format=%B", rev], "log"), (s) => s.trimEnd()),
    addWorktree: (repo, options) =>
      Effect.gen(function*() {
        const common = (yield* ok(repo, ["rev-parse", "--git-common-dir"], "rev-parse")).trim()
        const exclude = nodePath.join(nodePath.resolve(repo, common), "info", "exclude")
        const text = fs.existsSync(exclude) ? fs.readFileSync(exclude, "utf8") : ""
        if (!text.split("\n").includes("/.worktrees/")) {
          fs.mkdirSync(nodePath.dirname(exclude), { recursive: true })
          fs.appendFileSync(exclude, `${text === "" || text.endsWith("\n") ? "" : "\n"}/.worktrees/\n`)
        }
        // A worktree add killed half-way leaves an entry whose directory is gone: prune it first.
        yield* ok(repo, ["worktree", "prune"], "worktree prune")
        yield* ok(
          repo,
          options.from === undefined
            ? ["worktree", "add", "--quiet", options.path, options.branch]
            : ["worktree", "add", "--quiet", "-b", options.branch, options.path, options.from],
          "worktree add"
        )
      }),
    removeWorktree: (repo, path) => Effect.asVoid(ok(repo, ["worktree", "remove", path], "worktree remove")),
    status: (dir) =>
      Effect.map(ok(dir, ["status", "--porcelain=v1", "-z", "--untracked-files=all"], "status"), (out) => {
        const entries = out.split("\0")
        const files: Array<string> = []
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!
          if (e.length < 4) continue
          files.push(e.slice(3))
          // a rename or copy names its source in the next entry
          if (/[RC]/.test(e.slice(0, 2))) i++
        }
        return files.sort()
      }),
    commitAll: (dir, message) =>
      Effect.gen(function*() {
        yield* ok(dir, ["add", "-A"], "add")
        yield* ok(dir, ["commit", "--quiet", "-m", message], "commit")
        return (yield* revParse(dir, "HEAD"))!
      }),
    remotes: (repo) =>
      Effect.map(ok(repo, ["remote"], "remote"), (out) => out.split("\n").map((l) => l.trim()).filter((l) => l !== "")),
    remoteUrl: (repo, remote) => Effect.map(ok(repo, ["remote", "get-url", remote], "remote get-url"), (s) => s.trim()),
    remoteBranch: (repo, remote, branch) =>
      Effect.map(
        ok(repo, ["ls-remote", "--heads", remote, `refs/heads/${branch}`], "ls-remote", 120_000),
        (out) => out.split("\n").find((l) => l.endsWith(`\trefs/heads/${branch}`))?.split("\t")[0]
      ),
    push: (repo, remote, branch) =>
      Effect.asVoid(
        ok(
          repo,
          ["push", "--quiet", "--set-upstream", remote, `refs/heads/${branch}:refs/heads/${branch}`],
          "push",
          300_000
        )
      )
  }
}
