/**
 * The realm repo on disk, through isomorphic-git: commits are built at the object level (only the trees along
 * changed paths are rewritten), the branch moves by compare-and-swap, and the working tree and index follow.
 */
import { Context, Duration, Effect, Layer } from "effect"
import type { Scope } from "effect"
import * as git from "isomorphic-git"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { atomicFs, linkNewFileSync, repoTmpDir, writeFileAtomicSync } from "./atomicFs.js"
import { ConcurrentUpdate, GitError, GitLockHeld } from "./errors.js"
import { type IndexChange, updateIndexFile } from "./gitIndex.js"
import { encodeCommit, encodeTree, makeObject, objectId, type TreeEntry } from "./gitObjects.js"
import { defaultLockTimeout } from "./lock.js"
import { readBranch } from "./paths.js"
import { runProcess, scrubbedEnv } from "./process.js"

/** The branch realm events live on. */
export const REALM_BRANCH = "main"

/** What one realm commit writes. */
export interface CommitSpec {
  readonly parent: string | undefined
  /** path → new content; `undefined` deletes the path */
  readonly writes: ReadonlyMap<string, string | undefined>
  readonly message: string
  readonly author: { readonly name: string; readonly email: string }
  /** epoch milliseconds; git keeps whole seconds */
  readonly time: number
  /** parents after `parent` (a merge commit: a proposal's branch head); history reads first parents only */
  readonly mergeParents?: ReadonlyArray<string>
}

/** A commit on the realm branch. */
export interface RealmCommit {
  readonly oid: string
  readonly message: string
}

/** The realm repo port. */
export class RealmGit extends Context.Tag("blue/RealmGit")<RealmGit, {
  /** Creates an empty repo whose HEAD is the realm branch. */
  readonly init: (dir: string) => Effect.Effect<void, GitError>
  /** The commit the realm branch (or another local `branch`) points at, or undefined before its first commit. */
  readonly head: (dir: string, branch?: string) => Effect.Effect<string | undefined, GitError>
  /** Writes blobs, trees and the commit object; does not move any ref. */
  readonly writeCommit: (dir: string, spec: CommitSpec) => Effect.Effect<string, GitError>
  /**
   * Moves the realm branch (or another local `branch`) from `expected` to `next`, failing if it is elsewhere. Like
   * git, it writes the new value into `refs/heads/<branch>.lock` (created exclusively) and renames that over the ref.
   */
  readonly advance: (
    dir: string,
    expected: string | undefined,
    next: string,
    branch?: string
  ) => Effect.Effect<void, GitError | ConcurrentUpdate | GitLockHeld>
  /**
   * Takes git's own locks for a write, until the scope closes: `refs/heads/<branch>.lock` and `index.lock`,
   * created exclusively as git does, after `packed-refs.lock` is gone. Waits a bounded time for a git process that
   * holds one; `advance` and `materialize` then use them.
   */
  readonly lockForWrite: (dir: string, branch?: string) => Effect.Effect<void, GitLockHeld | GitError, Scope.Scope>
  /**
   * The commit `branch` points at: the local branch, else (a remote realm's clone) its remote-tracking branch from
   * the last fetch, else undefined.
   */
  readonly branchHead: (dir: string, branch: string) => Effect.Effect<string | undefined, GitError>
  /**
   * Local branches whose name starts with `prefix`, with the commit each points at; with `remote`, that remote's
   * tracking branches instead (`refs/remotes/<remote>/…`, named without the prefix), each only when its commit is
   * present (a killed fetch can write a ref before its objects).
   */
  readonly branches: (
    dir: string,
    prefix: string,
    remote?: string
  ) => Effect.Effect<ReadonlyArray<{ readonly name: string; readonly oid: string }>, GitError>
  /**
   * Makes the working tree and index show the given files: either paths to take from the branch head, or the
   * contents just committed (path → content, undefined for a deleted path).
   */
  readonly materialize: (
    dir: string,
    files: ReadonlyArray<string> | ReadonlyMap<string, string | undefined>
  ) => Effect.Effect<void, GitError | GitLockHeld>
  /** First-parent commits after `since` (exclusive) up to `head` (default: the branch head), oldest first. */
  readonly history: (
    dir: string,
    since: string | undefined,
    head?: string
  ) => Effect.Effect<ReadonlyArray<RealmCommit>, GitError>
  /** The paths a commit changes against its first parent (all of its files for a root commit). */
  readonly changedFiles: (dir: string, commit: string) => Effect.Effect<ReadonlyArray<string>, GitError>
  /** Author name and email of a commit. */
  readonly authorOf: (dir: string, commit: string) => Effect.Effect<{ name: string; email: string }, GitError>
  /** A file's content at a commit, or undefined if absent. */
  readonly readFile: (dir: string, commit: string, path: string) => Effect.Effect<string | undefined, GitError>
  /**
   * Many files at once, each at its own commit (`readFile` for each, in order): with the `git` executable, one
   * `git cat-file --batch` for all of them — ingesting a cloned realm reads one event file per commit, and
   * isomorphic-git re-reads the (delta-compressed, ever larger) event directory trees for each.
   */
  readonly readFiles: (
    dir: string,
    reads: ReadonlyArray<{ readonly commit: string; readonly path: string }>
  ) => Effect.Effect<ReadonlyArray<string | undefined>, GitError>
  /** Every file path in a commit's tree. */
  readonly listFiles: (dir: string, commit: string) => Effect.Effect<ReadonlyArray<string>, GitError>
  /**
   * Keeps the repo packed, as git's `gc --auto` would: when the loose objects are estimated above a threshold, packs
   * them (with the `git` executable when present, else isomorphic-git) and removes the packed loose copies; when the
   * packs grow too many, packs them into one. Call it holding the realm's write lock, after a write. Tells what it did.
   */
  readonly maintain: (dir: string) => Effect.Effect<Maintenance, GitError>
}>() {}

/** What `maintain` did. */
export interface Maintenance {
  /** the estimated loose objects that triggered the work (0 when nothing was due) */
  readonly looseEstimate: number
  readonly action: "none" | "packed-loose" | "repacked-all"
  readonly tool: "git" | "isomorphic-git" | undefined
}

/** How long to wait for a git process's lock file: BLUE_LOCK_TIMEOUT_MS, at most 2 s (git itself does not wait). */
const gitLockWait = () => Math.min(defaultLockTimeout(), 2_000)

/** Lock files this process created and still holds (they are removed or renamed by their owner only). */
const held = new Set<string>()

const refLockPath = (dir: string, branch: string) => nodePath.join(dir, ".git", "refs", "heads", `${branch}.lock`)
const indexLockPath = (dir: string) => nodePath.join(dir, ".git", "index.lock")
const packedRefsLockPath = (dir: string) => nodePath.join(dir, ".git", "packed-refs.lock")

/** A git lock file Blue created: its inode tells it apart from a lock git creates later at the same path. */
interface Taken {
  readonly path: string
  readonly ino: number
  readonly pid: number
}

/** Blue's record of the git lock files it holds in a repo, so that a writer killed with SIGKILL leaves none behind. */
const recordPath = (dir: string) => nodePath.join(dir, ".git", "blue-git-locks.json")

const readRecord = (dir: string): Array<Taken> => {
  try {
    const list = JSON.parse(fs.readFileSync(recordPath(dir), "utf8"))
    return Array.isArray(list) ? list : []
  } catch {
    return []
  }
}

const writeRecord = (dir: string, list: ReadonlyArray<Taken>) => {
  if (list.length === 0) fs.rmSync(recordPath(dir), { force: true })
  else writeFileAtomicSync(recordPath(dir), JSON.stringify(list), { tmpDir: repoTmpDir(dir) })
}

/**
 * Removes the git lock files a dead Blue writer left (it held the realm's write lock, which we hold now, so it
 * is gone): only those whose inode is still the one it created.
 */
const sweepStaleLocks = (dir: string) => {
  const list = readRecord(dir)
  if (list.length === 0) return
  const live = list.filter((t) => t.pid === process.pid && held.has(t.path))
  for (const t of list) {
    if (live.includes(t)) continue
    try {
      if (fs.statSync(t.path).ino === t.ino) fs.rmSync(t.path, { force: true })
    } catch {
      // already gone
    }
  }
  // Taking a second lock while holding the first finds nothing stale: no rewrite of an unchanged record.
  if (live.length !== list.length) writeRecord(dir, live)
}

/** What a git lock file Blue creates holds until Blue writes the ref's new value into it. */
const LOCK_MARKER = "blue-realms lock, pid "

/** Removes `file` if it still carries Blue's marker; true if it did. */
const removeIfOurs = (file: string): boolean => {
  try {
    if (!fs.readFileSync(file, "utf8").startsWith(LOCK_MARKER)) return false
    fs.rmSync(file, { force: true })
    return true
  } catch {
    return false
  }
}

/** Forgets a lock file that is gone (released, or renamed over its ref). */
const released = (dir: string, file: string) => {
  held.delete(file)
  const list = readRecord(dir)
  const rest = list.filter((t) => t.path !== file)
  if (rest.length !== list.length) writeRecord(dir, rest)
}

/**
 * Creates `file` exclusively (O_EXCL, as git does), waiting up to the bound while another process holds it; with
 * `absent`, first waits for that lock file to go (git holds packed-refs.lock while it rewrites packed refs). The
 * caller holds the realm's write lock (RealmLock), so no other Blue process is taking git locks in `dir`.
 */
const takeGitLock = (dir: string, file: string, absent?: string): Effect.Effect<void, GitLockHeld | GitError> =>
  Effect.gen(function*() {
    const started = Date.now()
    const bound = gitLockWait()
    const failed = (e: unknown) =>
      new GitError({ op: "lock", path: file, detail: e instanceof Error ? e.message : String(e) })
    yield* Effect.try({ try: () => sweepStaleLocks(dir), catch: failed })
    while (true) {
      const blocker = absent !== undefined && fs.existsSync(absent) ? absent : undefined
      if (blocker === undefined) {
        const taken = yield* Effect.try({
          try: () => {
            fs.mkdirSync(nodePath.dirname(file), { recursive: true })
            // Created by link(2), exclusive like git's O_EXCL open, and born carrying our marker: a writer killed
            // before it recorded the lock still leaves a file the next Blue writer recognises as its own.
            linkNewFileSync(file, `${LOCK_MARKER}${process.pid}\n`, { tmpDir: repoTmpDir(dir) })
            const ino = fs.statSync(file).ino
            held.add(file)
            writeRecord(dir, [...readRecord(dir).filter((t) => t.path !== file), { path: file, ino, pid: process.pid }])
            return true
          },
          catch: (e) => e
        }).pipe(
          Effect.catchAll((e) =>
            (e as { code?: string }).code === "EEXIST" ? Effect.succeed(false) : Effect.fail(failed(e))
          )
        )
        if (taken) return
        // A lock born with our marker that this process does not hold was left by a Blue writer killed before it
        // recorded it (we hold the realm's write lock, so no live Blue writer holds it): remove it and try again.
        if (!held.has(file) && (yield* Effect.sync(() => removeIfOurs(file)))) continue
      }
      const waited = Date.now() - started
      if (waited >= bound) return yield* new GitLockHeld({ path: blocker ?? file, waitedMs: waited })
      yield* Effect.sleep(Duration.millis(20))
    }
  })

/** Removes a lock file this process still holds. */
const dropGitLock = (dir: string, file: string) =>
  Effect.sync(() => {
    if (!held.has(file)) return
    fs.rmSync(file, { force: true })
    released(dir, file)
  })

/** Runs `effect` holding `file` (unless this process holds it already, e.g. through `lockForWrite`). */
const withGitLock = <A, E>(dir: string, file: string, effect: Effect.Effect<A, E>, absent?: string) =>
  Effect.suspend(() =>
    held.has(file)
      ? effect
      // Not acquireUseRelease: its acquire cannot be interrupted, and waiting for git must be. dropGitLock removes
      // only what this process holds, so it is safe whenever the wait ends.
      : Effect.ensuring(Effect.zipRight(takeGitLock(dir, file, absent), effect), dropGitLock(dir, file))
  )

const caches = new Map<string, object>()
const cacheFor = (dir: string) => {
  let c = caches.get(dir)
  if (c === undefined) {
    c = {}
    caches.set(dir, c)
  }
  return c
}

/** Operations that only read: safe to run again. */
const READS = new Set(["read", "log", "diff-tree", "ls-tree", "show", "branch", "resolve-ref"])

/**
 * A pack another process removed while this one read it — `git repack -d` by a daemon's maintenance, or its fetch
 * replacing packs — which isomorphic-git reports as a pack index it cannot read or a pack file it cannot open. git
 * itself re-scans its packs then; here the repo's cache is dropped and the read runs again. (isomorphic-git says so
 * only as a TypeError on the file it could not read: "Cannot read properties of undefined (reading 'error')", of null
 * (reading 'slice').)
 */
const vanishedPack = (e: unknown) =>
  /Cannot read properties of (undefined|null)|Could\s+not\s+read\s+packfile|ENOENT[^\n]*objects[\\/]pack/.test(
    e instanceof Error ? e.message : String(e)
  )

const attempt = <A>(op: string, dir: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: async () => {
      for (let tries = 1;; tries++) {
        try {
          return await f()
        } catch (e) {
          if (!READS.has(op) || tries >= 6 || !vanishedPack(e)) throw e
          caches.set(dir, {})
          await new Promise((r) => setTimeout(r, 20 * tries))
        }
      }
    },
    catch: (e) => new GitError({ op, path: dir, detail: e instanceof Error ? e.message : String(e) })
  })

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Stores a loose object synchronously (temp file + rename, skipped when present): an append writes a handful of
 * small objects, and one synchronous write each costs less than isomorphic-git's several asynchronous hops.
 */
const store = async (dir: string, type: "blob" | "tree" | "commit", content: Uint8Array): Promise<string> => {
  const { deflated, oid } = makeObject(type, content)
  const fanout = nodePath.join(dir, ".git", "objects", oid.slice(0, 2))
  const file = nodePath.join(fanout, oid.slice(2))
  if (!fs.existsSync(file)) {
    // The fan-out directories seen to exist are not made again (a recursive mkdir per object was a tenth of an
    // append); packing may remove one meanwhile, so a write that finds it gone makes it and writes again.
    if (!objectDirs.has(fanout)) fs.mkdirSync(fanout, { recursive: true })
    try {
      writeFileAtomicSync(file, deflated, { tmpDir: repoTmpDir(dir) })
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw e
      fs.mkdirSync(fanout, { recursive: true })
      writeFileAtomicSync(file, deflated, { tmpDir: repoTmpDir(dir) })
    }
    if (objectDirs.size >= 65_536) objectDirs.clear()
    objectDirs.add(fanout)
  }
  return oid
}

/** Object fan-out directories (`.git/objects/xx`) this process has made or written into. */
const objectDirs = new Set<string>()

/**
 * Trees this process has read or written, by repo and id (objects never change): an append rewrites the trees along
 * its paths, and reading them again each time (the realm's `domains/`, `repos/` and event directories hold
 * thousands of entries) made its cost grow with the realm. Bounded; cleared when full.
 */
const trees = new Map<string, Map<string, ReadonlyArray<TreeEntry>>>()
const TREES_KEPT = 2_048

const treeEntries = async (dir: string, cache: object, oid: string): Promise<ReadonlyArray<TreeEntry>> => {
  let known = trees.get(dir)
  if (known === undefined) trees.set(dir, known = new Map())
  const hit = known.get(oid)
  if (hit !== undefined) return hit
  const entries = (await git.readTree({ fs: atomicFs, dir, oid, cache })).tree.map((e) => ({
    mode: e.mode,
    path: e.path,
    oid: e.oid,
    type: e.type
  }))
  rememberTree(dir, oid, entries)
  return entries
}

const rememberTree = (dir: string, oid: string, entries: ReadonlyArray<TreeEntry>) => {
  let known = trees.get(dir)
  if (known === undefined) trees.set(dir, known = new Map())
  if (known.size >= TREES_KEPT) known.clear()
  known.set(oid, entries)
}

/** Writes the trees along the changed paths (only those) and returns the new root tree's id. */
const updateTree = async (
  dir: string,
  cache: object,
  treeOid: string | undefined,
  changes: ReadonlyMap<string, string | undefined>
): Promise<string | undefined> => {
  const byName = new Map<string, TreeEntry>(
    treeOid === undefined ? [] : (await treeEntries(dir, cache, treeOid)).map((e) => [e.path, e])
  )
  const files = new Map<string, string | undefined>()
  const subdirs = new Map<string, Map<string, string | undefined>>()
  for (const [path, content] of changes) {
    const slash = path.indexOf("/")
    if (slash === -1) files.set(path, content)
    else {
      const head = path.slice(0, slash)
      let sub = subdirs.get(head)
      if (sub === undefined) subdirs.set(head, sub = new Map())
      sub.set(path.slice(slash + 1), content)
    }
  }
  const set = (entry: TreeEntry | undefined, name: string) => {
    if (entry === undefined) byName.delete(name)
    else byName.set(name, entry)
  }
  for (const [name, content] of files) {
    if (content === undefined) set(undefined, name)
    else {
      const oid = await store(dir, "blob", encoder.encode(content))
      set({ mode: "100644", path: name, oid, type: "blob" }, name)
    }
  }
  for (const [name, sub] of subdirs) {
    const existing = byName.get(name)
    const oid = await updateTree(dir, cache, existing?.type === "tree" ? existing.oid : undefined, sub)
    set(oid === undefined ? undefined : { mode: "040000", path: name, oid, type: "tree" }, name)
  }
  if (byName.size === 0 && treeOid !== undefined) return undefined
  const entries = [...byName.values()]
  const oid = await store(dir, "tree", encodeTree(entries))
  rememberTree(dir, oid, entries)
  return oid
}

const resolveHead = async (dir: string): Promise<string | undefined> => readBranch(dir, REALM_BRANCH)

/** Walks the tree of `commit` and lists file paths. */
const listAll = async (dir: string, cache: object, treeOid: string, prefix: string, out: Array<string>) => {
  const { tree } = await git.readTree({ fs: atomicFs, dir, oid: treeOid, cache })
  for (const e of tree) {
    if (e.type === "tree") await listAll(dir, cache, e.oid, `${prefix}${e.path}/`, out)
    else out.push(`${prefix}${e.path}`)
  }
}

const treeDiff = async (
  dir: string,
  cache: object,
  a: string | undefined,
  b: string | undefined,
  prefix: string,
  out: Array<string>
): Promise<void> => {
  if (a === b) return
  const entries = async (oid: string | undefined) =>
    oid === undefined ? [] : (await git.readTree({ fs: atomicFs, dir, oid, cache })).tree
  const left = new Map((await entries(a)).map((e) => [e.path, e]))
  const right = new Map((await entries(b)).map((e) => [e.path, e]))
  for (const name of new Set([...left.keys(), ...right.keys()])) {
    const l = left.get(name)
    const r = right.get(name)
    if (l?.oid === r?.oid && l?.type === r?.type) continue
    const lt = l?.type === "tree" ? l.oid : undefined
    const rt = r?.type === "tree" ? r.oid : undefined
    if (lt !== undefined || rt !== undefined) await treeDiff(dir, cache, lt, rt, `${prefix}${name}/`, out)
    if ((l !== undefined && l.type !== "tree") || (r !== undefined && r.type !== "tree")) out.push(`${prefix}${name}`)
  }
}

const readAt = async (dir: string, cache: object, commit: string, path: string): Promise<string | undefined> => {
  try {
    const { blob } = await git.readBlob({ fs: atomicFs, dir, oid: commit, filepath: path, cache })
    return decoder.decode(blob)
  } catch (e) {
    if ((e as { code?: string }).code === "NotFoundError") return undefined
    throw e
  }
}

/** What `git cat-file --batch` answered for one request: a blob's text, or anything else (read it again). */
type CatAnswer = { readonly blob: string } | { readonly other: true }

/**
 * Asks `git cat-file --batch` for `<commit>:<path>` of each read (one process). Undefined when the executable is
 * missing or fails (the caller reads with isomorphic-git instead). Replace refs are ignored, as isomorphic-git does.
 */
const catFiles = (
  dir: string,
  reads: ReadonlyArray<{ readonly commit: string; readonly path: string }>
): Promise<ReadonlyArray<CatAnswer> | undefined> =>
  new Promise((resolve) => {
    const child = spawn("git", ["--git-dir", nodePath.join(dir, ".git"), "cat-file", "--batch"], {
      cwd: dir,
      env: scrubbedEnv({ GIT_TERMINAL_PROMPT: "0", GIT_NO_REPLACE_OBJECTS: "1" }),
      stdio: ["pipe", "pipe", "ignore"]
    })
    const chunks: Array<Buffer> = []
    let failed = false
    child.on("error", () => {
      failed = true
    })
    child.stdin.on("error", () => {
      failed = true
    })
    child.stdout.on("data", (d: Buffer) => chunks.push(d))
    child.on("close", (code) => {
      if (failed || code !== 0) return resolve(undefined)
      const out = Buffer.concat(chunks)
      const answers: Array<CatAnswer> = []
      let at = 0
      for (let i = 0; i < reads.length; i++) {
        const eol = out.indexOf(10, at)
        if (eol === -1) return resolve(undefined)
        const header = out.toString("utf8", at, eol)
        at = eol + 1
        const m = /^[0-9a-f]{40,64} (\w+) (\d+)$/.exec(header)
        if (m === null) {
          // "<request> missing" (or "ambiguous"): isomorphic-git tells a missing file (undefined) from a path through
          // a file (an error), so such a request is read again by `readAt`; in a realm's ingest it does not happen.
          answers.push({ other: true })
          continue
        }
        const size = Number(m[2])
        if (out.length < at + size + 1) return resolve(undefined)
        answers.push(m[1] === "blob" ? { blob: out.toString("utf8", at, at + size) } : { other: true })
        at += size + 1
      }
      resolve(answers)
    })
    child.stdin.end(reads.map((r) => `${r.commit}:${r.path}\n`).join(""))
  })

/**
 * The first-parent history from `tip` back to (not including) `since`, oldest first, through one `git log`: reading
 * 10,000 commits one by one with isomorphic-git costs seconds (each call wraps the fs anew). Undefined when the
 * executable is missing or fails, or when the chain does not end at `since` (the caller's own walk then says why).
 */
const logFirstParent = async (
  dir: string,
  since: string | undefined,
  tip: string
): Promise<Array<RealmCommit> | undefined> => {
  if (!/^[0-9a-f]{40}$/.test(tip) || (since !== undefined && !/^[0-9a-f]{40}$/.test(since))) return undefined
  const r = await Effect.runPromise(runProcess({
    command: "git",
    args: [
      "--git-dir",
      nodePath.join(dir, ".git"),
      "log",
      "--first-parent",
      "-z",
      "--no-color",
      "--format=%H %P%n%B",
      since === undefined ? tip : `${since}..${tip}`,
      "--"
    ],
    cwd: dir,
    env: scrubbedEnv({ GIT_TERMINAL_PROMPT: "0", GIT_NO_REPLACE_OBJECTS: "1", GIT_CONFIG_NOSYSTEM: "1" }),
    timeoutMs: MAINTAIN_TIMEOUT_MS
  }))
  if (r.code !== 0) return undefined
  const records = r.stdout === "" ? [] : r.stdout.replace(/\0$/, "").split("\0")
  const out: Array<RealmCommit> = []
  let expect: string | undefined = tip
  for (const record of records) {
    const eol = record.indexOf("\n")
    const [oid, parent] = (eol === -1 ? record : record.slice(0, eol)).split(" ")
    if (oid !== expect) return undefined
    out.push({ oid, message: eol === -1 ? "" : record.slice(eol + 1) })
    expect = parent === "" ? undefined : parent
  }
  // The walk must stop exactly at `since` (or at the root): anything else is for the caller's walk to explain.
  return expect === since ? out.reverse() : undefined
}

/** From how many commits `history` asks `git log` for the whole stretch. */
const HISTORY_LOG_FROM = 16

/** From how many reads `readFiles` starts `git cat-file`. */
const CAT_FILE_FROM = 16

/** A request `git cat-file --batch` reads exactly as isomorphic-git's readBlob does. */
const catFileSafe = (r: { readonly commit: string; readonly path: string }) =>
  /^[0-9a-f]{40}$/.test(r.commit) && r.path !== "" && !/[\n\r\0]/.test(r.path) &&
  !r.path.split("/").some((seg) => seg === "" || seg === "." || seg === "..")

const readMany = async (
  dir: string,
  cache: object,
  reads: ReadonlyArray<{ readonly commit: string; readonly path: string }>
): Promise<ReadonlyArray<string | undefined>> => {
  // A few reads (a daemon's catch-up of one commit) cost less than starting git. Without the executable (or when it
  // fails), each file is read with isomorphic-git, as `readFile` does.
  const answers = reads.length >= CAT_FILE_FROM && reads.every(catFileSafe) ? await catFiles(dir, reads) : undefined
  const out: Array<string | undefined> = []
  for (let i = 0; i < reads.length; i++) {
    const a = answers?.[i]
    if (a !== undefined && "blob" in a) out.push(a.blob)
    else out.push(await readAt(dir, cache, reads[i]!.commit, reads[i]!.path))
  }
  return out
}

/** Writes the files into the working tree and the index (the caller holds index.lock). */
const materializeNow = (dir: string, files: ReadonlyArray<string> | ReadonlyMap<string, string | undefined>) =>
  attempt("checkout", dir, async () => {
    const cache = cacheFor(dir)
    let contents: ReadonlyMap<string, string | undefined>
    if (Array.isArray(files)) {
      const head = await resolveHead(dir)
      if (head === undefined) return
      // Many paths (a catch-up of other machines' commits) are read through one `git cat-file --batch`.
      const paths = files as ReadonlyArray<string>
      const texts = await readMany(dir, cache, paths.map((path) => ({ commit: head, path })))
      contents = new Map(paths.map((path, i) => [path, texts[i]]))
    } else contents = files as ReadonlyMap<string, string | undefined>
    const present: Array<string> = []
    const changes = new Map<string, IndexChange>()
    const made = new Set<string>()
    for (const [path, content] of contents) {
      const file = nodePath.join(dir, path)
      if (content === undefined) {
        fs.rmSync(file, { force: true })
        changes.set(path, undefined)
      } else {
        const parent = nodePath.dirname(file)
        if (!made.has(parent)) {
          fs.mkdirSync(parent, { recursive: true })
          made.add(parent)
        }
        writeFileAtomicSync(file, content, { tmpDir: repoTmpDir(dir) })
        present.push(path)
        changes.set(path, { stat: fs.statSync(file, { bigint: true }), oid: objectId("blob", encoder.encode(content)) })
      }
    }
    if (changes.size === 0) return
    // The index of a large realm is megabytes: patch the changed entries in place (one copy and one hash of the
    // file, as git add does); isomorphic-git, which re-encodes every entry, only for an index that patch declines.
    const patched = updateIndexFile(
      dir,
      changes,
      (file, bytes) => writeFileAtomicSync(file, bytes, { tmpDir: repoTmpDir(dir) })
    )
    if (patched) return
    for (const [path, change] of changes) {
      if (change === undefined) {
        await git.updateIndex({ fs: atomicFs, dir, filepath: path, remove: true, force: true, cache })
      }
    }
    if (present.length > 0) await git.add({ fs: atomicFs, dir, filepath: present, cache })
  })

/**
 * Loose objects above which `maintain` packs them. git's gc.auto is 6,700; an append writes about ten objects, so
 * this packs every ~100–200 appends and keeps a realm's loose objects (4 KiB of disk each, at least) under ~10 MB.
 */
export const LOOSE_OBJECT_LIMIT = 1_536
/** Packs above which `maintain` packs everything into one (git's gc.autoPackLimit). */
export const PACK_LIMIT = 50

/**
 * The loose objects of a repo, estimated as git's `gc --auto` does but from 16 fan-out directories (`objects/10` …
 * `objects/1f`) instead of one, times 16: a few small readdirs whatever the repo's size, and a sample large enough
 * for small limits.
 */
export const estimateLooseObjects = (dir: string): number => {
  let n = 0
  for (let i = 0x10; i <= 0x1f; i++) {
    try {
      for (const f of fs.readdirSync(nodePath.join(dir, ".git", "objects", i.toString(16)))) {
        if (/^[0-9a-f]{38}$/.test(f)) n++
      }
    } catch {
      // no such fan-out directory yet
    }
  }
  return n * 16
}

/** The pack files of a repo. */
export const packFiles = (dir: string): Array<string> => {
  try {
    return fs.readdirSync(nodePath.join(dir, ".git", "objects", "pack")).filter((f) => /^pack-[0-9a-f]+\.pack$/.test(f))
  } catch {
    return []
  }
}

/** Every loose object of a repo (ids). */
const looseObjects = (dir: string): Array<string> => {
  const out: Array<string> = []
  const root = nodePath.join(dir, ".git", "objects")
  for (const fan of fs.readdirSync(root)) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue
    for (const f of fs.readdirSync(nodePath.join(root, fan))) if (/^[0-9a-f]{38}$/.test(f)) out.push(fan + f)
  }
  return out
}

/** How long one maintenance run of the `git` executable may take. */
const MAINTAIN_TIMEOUT_MS = 60_000

/** Runs the `git` executable in `dir`; undefined when there is none on the PATH. */
const runGit = (dir: string, args: ReadonlyArray<string>) =>
  Effect.flatMap(
    runProcess({
      command: "git",
      args,
      cwd: dir,
      env: scrubbedEnv({ GIT_TERMINAL_PROMPT: "0" }),
      timeoutMs: MAINTAIN_TIMEOUT_MS,
      outputLimit: 64 * 1024
    }),
    (r) => {
      if (r.spawnError !== undefined && (r.spawnError as { code?: string }).code === "ENOENT") {
        return Effect.succeed(false)
      }
      if (r.code === 0) return Effect.succeed(true)
      return Effect.fail(
        new GitError({
          op: args[0] ?? "git",
          path: dir,
          detail: r.spawnError?.message ?? (r.timedOut ? "timed out" : `exit ${r.code}: ${r.stderr.trim()}`)
        })
      )
    }
  )

/**
 * Packs the loose objects with isomorphic-git (no `git` executable): one pack with its index, then the loose copies
 * go. Objects are only removed once the pack and its index are in place, so a reader always finds each object.
 */
const packLooseWithIsomorphicGit = (dir: string) =>
  attempt("pack-objects", dir, async () => {
    const oids = looseObjects(dir)
    if (oids.length === 0) return
    const { filename } = await git.packObjects({ fs: atomicFs, dir, oids, write: true })
    if (filename === undefined) return
    await git.indexPack({ fs: atomicFs, dir, filepath: nodePath.join(".git", "objects", "pack", filename) })
    for (const oid of oids) {
      fs.rmSync(nodePath.join(dir, ".git", "objects", oid.slice(0, 2), oid.slice(2)), { force: true })
    }
  })

/** When `maintain` packs (tests lower the limits to exercise it on small repos). */
export interface MaintainOptions {
  readonly looseObjectLimit?: number
  readonly packLimit?: number
}

const maintainRepo = (dir: string, options: MaintainOptions): Effect.Effect<Maintenance, GitError> =>
  Effect.gen(function*() {
    const looseLimit = options.looseObjectLimit ?? LOOSE_OBJECT_LIMIT
    const packLimit = options.packLimit ?? PACK_LIMIT
    const looseEstimate = estimateLooseObjects(dir)
    const packs = packFiles(dir).length
    if (looseEstimate <= looseLimit && packs <= packLimit) return { looseEstimate: 0, action: "none", tool: undefined }
    const all = packs + 1 > packLimit
    // -d drops the packs the new one makes redundant and the loose objects it holds (git prune-packed); without -a
    // only the loose objects are packed (incremental, cheap). No pruning: unreachable objects stay, as with gc.
    const args = all ? ["repack", "-a", "-d", "-q"] : ["repack", "-d", "-q"]
    if (yield* runGit(dir, args)) return { looseEstimate, action: all ? "repacked-all" : "packed-loose", tool: "git" }
    if (looseEstimate <= looseLimit) return { looseEstimate: 0, action: "none", tool: undefined }
    yield* packLooseWithIsomorphicGit(dir)
    return { looseEstimate, action: "packed-loose", tool: "isomorphic-git" }
  })

/** isomorphic-git implementation of the realm repo port. */
export const makeRealmGit = (options: MaintainOptions = {}): Context.Tag.Service<RealmGit> => ({
  init: (dir) =>
    attempt("init", dir, async () => {
      await fs.promises.mkdir(dir, { recursive: true })
      await git.init({ fs: atomicFs, dir, defaultBranch: REALM_BRANCH })
    }),
  head: (dir, branch = REALM_BRANCH) => attempt("resolve-ref", dir, async () => readBranch(dir, branch)),
  branchHead: (dir, branch) =>
    attempt("resolve-ref", dir, async () => {
      const local = readBranch(dir, branch)
      let remote: string | undefined
      try {
        remote = await git.resolveRef({ fs: atomicFs, dir, ref: `refs/remotes/origin/${branch}` })
      } catch {
        remote = undefined
      }
      if (remote === undefined || remote === local) return local
      if (local === undefined) return remote
      // The server's branch moved past ours (a killed write's push landed there, or another machine amended): build
      // on it, so the next push is a fast-forward. Ours ahead of it (pushed, not fetched since) stays ours.
      const ahead = await git.isDescendent({ fs: atomicFs, dir, oid: remote, ancestor: local, depth: -1 })
        .catch(() => false)
      return ahead ? remote : local
    }),
  branches: (dir, prefix, remote) =>
    attempt("branch", dir, async () => {
      const names = (await git.listBranches({ fs: atomicFs, dir, ...(remote === undefined ? {} : { remote }) }))
        .filter((b) => b.startsWith(prefix)).sort()
      const out: Array<{ name: string; oid: string }> = []
      for (const name of names) {
        if (remote === undefined) {
          const oid = readBranch(dir, name)
          if (oid !== undefined) out.push({ name, oid })
          continue
        }
        const oid = await git.resolveRef({ fs: atomicFs, dir, ref: `refs/remotes/${remote}/${name}` }).catch(() =>
          undefined
        )
        const present = oid !== undefined &&
          await git.readObject({ fs: atomicFs, dir, oid, format: "deflated", cache: cacheFor(dir) }).then(
            () => true,
            () => false
          )
        if (present) out.push({ name, oid })
      }
      return out
    }),
  writeCommit: (dir, spec) =>
    attempt("commit", dir, async () => {
      const cache = cacheFor(dir)
      const baseTree = spec.parent === undefined
        ? undefined
        : (await git.readCommit({ fs: atomicFs, dir, oid: spec.parent, cache })).commit.tree
      const tree = (await updateTree(dir, cache, baseTree, spec.writes)) ?? (await store(dir, "tree", encodeTree([])))
      const who = { ...spec.author, timestamp: Math.floor(spec.time / 1000) }
      return store(
        dir,
        "commit",
        encodeCommit({
          tree,
          parents: [...(spec.parent === undefined ? [] : [spec.parent]), ...(spec.mergeParents ?? [])],
          author: who,
          committer: who,
          message: spec.message
        })
      )
    }),
  advance: (dir, expected, next, branch = REALM_BRANCH) => {
    const lock = refLockPath(dir, branch)
    return withGitLock(
      dir,
      lock,
      Effect.gen(function*() {
        const actual = yield* attempt("resolve-ref", dir, async () => readBranch(dir, branch))
        if (actual !== expected) {
          return yield* new ConcurrentUpdate({ path: dir, expected: expected ?? "(none)", actual: actual ?? "(none)" })
        }
        // git's protocol: the new value goes into the lock file, which is renamed over the ref (and so released).
        yield* attempt("update-ref", dir, async () => {
          const fd = fs.openSync(lock, "w")
          try {
            fs.writeSync(fd, `${next}\n`)
            fs.fsyncSync(fd)
          } finally {
            fs.closeSync(fd)
          }
          fs.renameSync(lock, nodePath.join(dir, ".git", "refs", "heads", branch))
          released(dir, lock)
        })
      }),
      packedRefsLockPath(dir)
    )
  },
  lockForWrite: (dir, branch = REALM_BRANCH) =>
    Effect.gen(function*() {
      const ref = refLockPath(dir, branch)
      const index = indexLockPath(dir)
      // Finalizers first, then the (interruptible) waits; dropGitLock removes only what this process holds.
      yield* Effect.addFinalizer(() => Effect.zipRight(dropGitLock(dir, index), dropGitLock(dir, ref)))
      yield* takeGitLock(dir, ref, packedRefsLockPath(dir))
      yield* takeGitLock(dir, index)
    }),
  materialize: (dir, files) => withGitLock(dir, indexLockPath(dir), materializeNow(dir, files)),
  history: (dir, since, head) =>
    attempt("log", dir, async () => {
      const cache = cacheFor(dir)
      const out: Array<RealmCommit> = []
      const tip = head ?? (await resolveHead(dir))
      let oid = tip
      let fast = true
      while (oid !== undefined && oid !== since) {
        // A long stretch (a fresh clone's catch-up) through one `git log`; a few commits cost less than starting git.
        if (fast && out.length === HISTORY_LOG_FROM) {
          fast = false
          const logged = await logFirstParent(dir, since, tip!)
          if (logged !== undefined) return logged
        }
        const { commit } = await git.readCommit({ fs: atomicFs, dir, oid, cache })
        out.push({ oid, message: commit.message })
        oid = commit.parent[0]
      }
      if (since !== undefined && oid === undefined) {
        throw new Error(`commit ${since} is no longer on the ${REALM_BRANCH} branch (history was rewritten)`)
      }
      return out.reverse()
    }),
  changedFiles: (dir, commit) =>
    attempt("diff-tree", dir, async () => {
      const cache = cacheFor(dir)
      const { commit: c } = await git.readCommit({ fs: atomicFs, dir, oid: commit, cache })
      const parentTree = c.parent[0] === undefined
        ? undefined
        : (await git.readCommit({ fs: atomicFs, dir, oid: c.parent[0], cache })).commit.tree
      const out: Array<string> = []
      await treeDiff(dir, cache, parentTree, c.tree, "", out)
      return out.sort()
    }),
  authorOf: (dir, commit) =>
    attempt("show", dir, async () => {
      const { commit: c } = await git.readCommit({ fs: atomicFs, dir, oid: commit, cache: cacheFor(dir) })
      return { name: c.author.name, email: c.author.email }
    }),
  readFile: (dir, commit, path) => attempt("read", dir, () => readAt(dir, cacheFor(dir), commit, path)),
  readFiles: (dir, reads) => attempt("read", dir, () => readMany(dir, cacheFor(dir), reads)),
  listFiles: (dir, commit) =>
    attempt("ls-tree", dir, async () => {
      const cache = cacheFor(dir)
      const { commit: c } = await git.readCommit({ fs: atomicFs, dir, oid: commit, cache })
      const out: Array<string> = []
      await listAll(dir, cache, c.tree, "", out)
      return out
    }),
  maintain: (dir) => maintainRepo(dir, options)
})

/** The realm repo port backed by isomorphic-git. */
export const RealmGitLive = Layer.sync(RealmGit, () => makeRealmGit())
