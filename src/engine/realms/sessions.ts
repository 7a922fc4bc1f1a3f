/**
 * The session mirror: this machine's sessions recorded on the realm branch `blue/sessions/<machine>`, and the
 * sessions other machines published there. For a realm on a git server the branch is pushed with compare-and-swap
 * (`pushSessions`), and other machines' branches arrive as remote-tracking refs with every fetch. Sessions are soft
 * state: a snapshot older than its `ttl_ms` (the publisher's BLUE_SESSIONS_TTL_MS; the reader's for a snapshot that
 * does not say) is hidden: its machine stopped publishing (killed, offline).
 */
import { Effect, Option } from "effect"
import * as YAML from "yaml"
import { plural } from "../../domain/text.js"
import { Invocation } from "../invocation.js"
import { backoffMs } from "./remote.js"
import { lockPath, lockTimeout, metaNow, type Ports } from "./shared.js"

/** The branch prefix of session snapshots (never the realm's main). */
export const SESSIONS_BRANCH_PREFIX = "blue/sessions/"
/** How long a published snapshot counts as live without being refreshed (ms). */
export const DEFAULT_SESSIONS_TTL_MS = 120_000
/**
 * Commits on a sessions branch after which the next publish starts it again from one root commit (the machine's
 * snapshot and its last week of session events): the branch gains a commit with each refresh, about every 40 s
 * while sessions are live, and every machine fetches it.
 */
export const DEFAULT_SESSIONS_COMPACT_AT = 500
/** How many days of session event files a compacted sessions branch keeps. */
const KEEP_EVENT_DAYS = 7
/** How many times a refused push of the sessions branch is rebuilt on the server's and tried again per round. */
export const MAX_SESSION_PUSH_ATTEMPTS = 3

const envNumber = (name: string, fallback: number) =>
  Effect.map(Effect.serviceOption(Invocation), (inv) => {
    const env = Option.isSome(inv) ? inv.value.env : process.env
    const raw = Number(env[name])
    return env[name] !== undefined && env[name] !== "" && Number.isFinite(raw) && raw > 0 ? raw : fallback
  })

/** BLUE_SESSIONS_TTL_MS (from the invocation's environment, else this process's), or the default. */
export const sessionsTtl = envNumber("BLUE_SESSIONS_TTL_MS", DEFAULT_SESSIONS_TTL_MS)
/** BLUE_SESSIONS_COMPACT_AT, or the default. */
const sessionsCompactAt = envNumber("BLUE_SESSIONS_COMPACT_AT", DEFAULT_SESSIONS_COMPACT_AT)

/** Another machine's published sessions, as read from its branch. */
export interface MachineSessions {
  readonly machine: string
  readonly commit: string
  readonly snapshot: unknown
  /** when the machine last published (the snapshot's `updated_at`); null when it did not say */
  readonly updated_at: string | null
  /** read from the server's copy of the branch (a realm on a git server), not from a branch of this repo */
  readonly remote: boolean
}

/** What one round of `pushSessions` did. */
export type SessionPush =
  | { readonly _tag: "UpToDate" }
  | { readonly _tag: "Pushed"; readonly commit: string; readonly attempts: number }
  | { readonly _tag: "GaveUp"; readonly attempts: number; readonly reason: string }

/** The engine's session mirror. */
export const makeSessionMirror = ({ git, locks, remote }: Ports) => {
  /**
   * Records this machine's session changes on the realm branch `blue/sessions/<machine>`: one commit with the
   * new event files and the machine's current sessions, so that other machines see who works where once they
   * have the realm. Runs under the realm's lock like every other write; the realm's own branch is untouched.
   */
  /** Commits on each sessions branch this process knows of (dir + branch → count), counted once per process. */
  const depths = new Map<string, number>()
  /** Sessions branches (dir + branch) this process compacted and has not pushed since: they replace the server's. */
  const compacted = new Set<string>()

  const publishSessions = (
    dir: string,
    machine: string,
    snapshot: unknown,
    events: ReadonlyArray<{ readonly id: string; readonly time: string; readonly payload: unknown }>
  ) =>
    Effect.scoped(Effect.gen(function*() {
      yield* locks.acquire(lockPath(dir), yield* lockTimeout)
      const branch = `${SESSIONS_BRANCH_PREFIX}${machine}`
      const head = yield* git.head(dir, branch)
      const writes = new Map<string, string | undefined>([
        [`sessions/${machine}.yaml`, YAML.stringify(snapshot)]
      ])
      for (const e of events) {
        writes.set(
          `sessions/${machine}/${e.time.slice(0, 10)}/${e.id}.json`,
          JSON.stringify(e.payload, null, 2) + "\n"
        )
      }
      const key = `${dir}\0${branch}`
      let depth = depths.get(key)
      if (depth === undefined) depth = head === undefined ? 0 : (yield* git.history(dir, undefined, head)).length
      const { ms } = yield* metaNow({ user: machine })
      // A long branch starts again from one root commit: the snapshot and the last week's event files.
      const compact = head !== undefined && depth >= (yield* sessionsCompactAt)
      if (compact) {
        const since = new Date(ms - KEEP_EVENT_DAYS * 86_400_000).toISOString().slice(0, 10)
        const kept = (yield* git.listFiles(dir, head)).filter((p) => {
          const m = /^sessions\/[^/]+\/(\d{4}-\d{2}-\d{2})\//.exec(p)
          return m !== null && m[1]! >= since && !writes.has(p)
        })
        const texts = yield* git.readFiles(dir, kept.map((path) => ({ commit: head, path })))
        kept.forEach((p, i) => {
          if (texts[i] !== undefined) writes.set(p, texts[i])
        })
      }
      const commit = yield* git.writeCommit(dir, {
        parent: compact ? undefined : head,
        writes,
        message: compact
          ? `${machine}: sessions (history of ${plural(depth, "commit")} compacted)`
          : `${machine}: ${events.length === 0 ? "sessions refreshed" : plural(events.length, "session change")}`,
        author: { name: machine, email: `${machine}@blue.sessions` },
        time: ms
      })
      yield* git.advance(dir, head, commit, branch)
      depths.set(key, compact ? 1 : depth + 1)
      if (compact) compacted.add(key)
      return commit
    }))

  /**
   * Pushes this machine's sessions branch of the clone in `dir` to the realm's git server with compare-and-swap
   * (the server's branch must be where this clone last saw it). A refused push fetches, rebuilds the branch's
   * newest state as one commit on the server's, and tries again, at most MAX_SESSION_PUSH_ATTEMPTS times; then it
   * gives up until the next round (sessions are soft state). Never touches `main`. The push itself runs without the
   * realm's lock (a slow server must not hold up the realm's writes); the rebuild takes it.
   */
  const pushSessions = (dir: string, machine: string) =>
    Effect.gen(function*() {
      if (remote === undefined) {
        return { _tag: "GaveUp", attempts: 0, reason: "this process has no connection to git servers" } as SessionPush
      }
      const branch = `${SESSIONS_BRANCH_PREFIX}${machine}`
      const tracked = Effect.map(
        git.branches(dir, branch, "origin"),
        (list) => list.find((x) => x.name === branch)?.oid
      )
      const local = yield* git.head(dir, branch)
      let server = yield* tracked
      if (local === undefined || local === server) return { _tag: "UpToDate" } as SessionPush
      let reason = ""
      for (let attempt = 1; attempt <= MAX_SESSION_PUSH_ATTEMPTS; attempt++) {
        if (attempt > 1) yield* Effect.sleep(backoffMs(attempt - 1))
        // A branch this process compacted (a new root) replaces the server's history, which must still be where
        // this clone last saw it (compare-and-swap); any other push must build on the server's.
        const key = `${dir}\0${branch}`
        const pushed = yield* Effect.either(
          remote.push(dir, branch, server, undefined, { replace: compacted.has(key) })
        )
        if (pushed._tag === "Right") {
          compacted.delete(key)
          return { _tag: "Pushed", commit: pushed.right, attempts: attempt } as SessionPush
        }
        reason = pushed.left.message
        if (pushed.left._tag !== "RemoteMoved" || attempt === MAX_SESSION_PUSH_ATTEMPTS) {
          return { _tag: "GaveUp", attempts: attempt, reason } as SessionPush
        }
        // Someone else moved this machine's branch (a copy of this BLUE_HOME, a push whose answer was lost): take
        // the server's as the parent and put this machine's newest files on top of it, as one commit.
        const next = yield* Effect.scoped(Effect.gen(function*() {
          yield* locks.acquire(lockPath(dir), yield* lockTimeout)
          yield* remote.fetch(dir)
          const theirsAt = yield* tracked
          const mine = yield* git.head(dir, branch)
          if (mine === undefined) return { mine, theirsAt, rebuilt: undefined }
          const theirs = theirsAt === undefined ? new Set<string>() : new Set(yield* git.listFiles(dir, theirsAt))
          const writes = new Map<string, string | undefined>()
          for (const p of yield* git.listFiles(dir, mine)) {
            if (p === `sessions/${machine}.yaml` || !theirs.has(p)) writes.set(p, yield* git.readFile(dir, mine, p))
          }
          const { ms } = yield* metaNow({ user: machine })
          const rebuilt = yield* git.writeCommit(dir, {
            parent: theirsAt,
            writes,
            message: `${machine}: sessions (rebuilt on the server's branch)`,
            author: { name: machine, email: `${machine}@blue.sessions` },
            time: ms
          })
          yield* git.advance(dir, mine, rebuilt, branch)
          return { mine, theirsAt, rebuilt }
        }))
        if (next.rebuilt === undefined) return { _tag: "UpToDate" } as SessionPush
        server = next.theirsAt
      }
      return { _tag: "GaveUp", attempts: MAX_SESSION_PUSH_ATTEMPTS, reason } as SessionPush
    })

  /** Per clone, the snapshot last read from the server's copy of each machine's branch, and how long it holds. */
  const lastFromServer = new Map<string, Map<string, { readonly entry: MachineSessions; readonly holds: number }>>()

  /**
   * The sessions machines published on `blue/sessions/*` branches of the realm in `dir` — this repo's branches
   * (a realm on a path, shared by the homes that use it) and, for a clone of a realm on a git server, the server's
   * (its remote-tracking refs) — newest of the two per machine; a snapshot older than BLUE_SESSIONS_TTL_MS is left
   * out. This machine's own branch is included: callers drop it by name.
   *
   * A fetch writes a remote-tracking ref before the pack with its commit (isomorphic-git), and `branches` skips a ref
   * whose commit is not here yet: meanwhile the machine's snapshot last read in this process stands in, so a fetch in
   * flight does not hide the machine's sessions for a moment. A ref gone (pruned) hides them at once.
   */
  const machineSessions = (dir: string) =>
    Effect.gen(function*() {
      const ttl = yield* sessionsTtl
      const now = Date.now()
      const byMachine = new Map<string, MachineSessions>()
      const consider = (entry: MachineSessions, holds: number) => {
        const seen = byMachine.get(entry.machine)
        if (
          seen !== undefined &&
          (entry.updated_at === null ||
            (seen.updated_at !== null && Date.parse(seen.updated_at) >= Date.parse(entry.updated_at)))
        ) return
        if (entry.updated_at !== null && now - Date.parse(entry.updated_at) > holds) {
          byMachine.delete(entry.machine)
          return
        }
        byMachine.set(entry.machine, entry)
      }
      const serverList = yield* git.branches(dir, SESSIONS_BRANCH_PREFIX, "origin")
      const sources = [
        { remote: false, list: yield* git.branches(dir, SESSIONS_BRANCH_PREFIX) },
        { remote: true, list: serverList }
      ]
      const fromServer = new Map<string, { readonly entry: MachineSessions; readonly holds: number }>()
      for (const { list, remote: isServer } of sources) {
        for (const b of list) {
          const machine = b.name.slice(SESSIONS_BRANCH_PREFIX.length)
          if (machine === "" || machine.includes("/")) continue
          const text = yield* Effect.orElseSucceed(
            git.readFile(dir, b.oid, `sessions/${machine}.yaml`),
            () => undefined
          )
          if (text === undefined) continue
          const snapshot = yield* Effect.try(() => YAML.parse(text) as unknown).pipe(Effect.orElseSucceed(() => null))
          const at = (snapshot as { updated_at?: unknown } | null)?.updated_at
          const updated_at = typeof at === "string" && !Number.isNaN(Date.parse(at)) ? at : null
          // The publisher says how long its snapshot holds (it refreshes well within that); else this reader's TTL.
          const said = (snapshot as { ttl_ms?: unknown } | null)?.ttl_ms
          const holds = typeof said === "number" && Number.isFinite(said) && said > 0 ? said : ttl
          const entry: MachineSessions = { machine, commit: b.oid, snapshot, updated_at, remote: isServer }
          if (isServer) fromServer.set(machine, { entry, holds })
          consider(entry, holds)
        }
      }
      // A server branch read before whose ref is still there but whose commit is not yet: a fetch in flight.
      const listed = new Set(serverList.map((b) => b.name))
      for (const [machine, last] of lastFromServer.get(dir) ?? []) {
        if (listed.has(`${SESSIONS_BRANCH_PREFIX}${machine}`)) continue
        const head = yield* Effect.orElseSucceed(
          git.branchHead(dir, `${SESSIONS_BRANCH_PREFIX}${machine}`),
          () => undefined
        )
        if (head === undefined) continue
        fromServer.set(machine, last)
        consider(last.entry, last.holds)
      }
      if (fromServer.size > 0 || lastFromServer.has(dir)) lastFromServer.set(dir, fromServer)
      return [...byMachine.values()]
        .sort((a, b) => a.machine.localeCompare(b.machine))
    })

  return { publishSessions, pushSessions, machineSessions } as const
}
