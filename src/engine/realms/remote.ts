/**
 * Remote realms in the engine (issue 11): the managed clone of a realm on a git server. `pullLocked` fetches and
 * fast-forwards the clone's main to the server's (the working tree follows, resumably through the intent file); the
 * time of the last fetch, and whether the server answered, live in the clone's `.git/blue-last-sync.json`, so a
 * command with no daemon fetches only when the clone is older than BLUE_REALM_SYNC_INTERVAL_MS.
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { repoTmpDir, writeFileAtomicSync } from "../../adapters/atomicFs.js"
import { RemoteWriteFailed } from "../../adapters/remoteGit.js"
import { displayUrl } from "../../domain/realmLocation.js"
import { Invocation } from "../invocation.js"
import { intentPath, type Ports } from "./shared.js"

/** How often a remote realm's clone is fetched when nothing else asks (ms). */
export const DEFAULT_SYNC_INTERVAL_MS = 30_000
/** How many times a write that lost the race to the server is re-decided and pushed again. */
export const MAX_PUSH_ATTEMPTS = 8

const SYNC_FILE = "blue-last-sync.json"

/** The last fetch of a managed clone: when, and whether the server answered. */
export interface SyncRecord {
  readonly at: string
  readonly ok: boolean
  readonly error?: string
  /** the last time the server answered */
  readonly lastOkAt?: string
}

/** BLUE_REALM_SYNC_INTERVAL_MS from the invocation's environment (else this process's), or the default. */
export const syncInterval = Effect.map(Effect.serviceOption(Invocation), (inv) => {
  const env = Option.isSome(inv) ? inv.value.env : process.env
  const raw = Number(env["BLUE_REALM_SYNC_INTERVAL_MS"])
  return Number.isFinite(raw) && raw >= 0 && env["BLUE_REALM_SYNC_INTERVAL_MS"] !== ""
    ? raw
    : DEFAULT_SYNC_INTERVAL_MS
})

const syncPath = (dir: string) => nodePath.join(dir, ".git", SYNC_FILE)

/** The clone's last sync, or undefined if it was never fetched. */
export const lastSync = (dir: string): SyncRecord | undefined => {
  try {
    const r = JSON.parse(fs.readFileSync(syncPath(dir), "utf8")) as SyncRecord
    return typeof r.at === "string" ? r : undefined
  } catch {
    return undefined
  }
}

const recordSync = (dir: string, ok: boolean, error?: string) =>
  Effect.sync(() => {
    const at = new Date().toISOString()
    const before = lastSync(dir)
    const record: SyncRecord = {
      at,
      ok,
      ...(error === undefined ? {} : { error }),
      ...(ok ? { lastOkAt: at } : before?.lastOkAt === undefined ? {} : { lastOkAt: before.lastOkAt })
    }
    try {
      writeFileAtomicSync(syncPath(dir), JSON.stringify(record), { tmpDir: repoTmpDir(dir) })
    } catch {
      // A clone we cannot write the record in is fetched again next time: nothing is lost.
    }
  })

/** Whether the clone is older than the interval (or was never fetched, or the last fetch failed). */
export const isStale = (dir: string, intervalMs: number) => {
  const r = lastSync(dir)
  if (r === undefined || !r.ok) return true
  return Date.now() - Date.parse(r.at) >= intervalMs
}

/** Backoff before attempt `n` (1-based retries): exponential from 40 ms, capped at 1.5 s, with full jitter. */
export const backoffMs = (n: number) => {
  const cap = Math.min(1500, 40 * 2 ** Math.min(n, 10))
  return Math.round(cap / 2 + Math.random() * (cap / 2))
}

/** The engine's remote side. */
export const makeRemoteSync = ({ git, remote }: Ports) => {
  const remoteOf = (realm: string, url: string) =>
    remote === undefined
      ? Effect.fail(
        new RemoteWriteFailed({
          url: displayUrl(url),
          realm,
          detail: "this process has no connection to git servers"
        })
      )
      : Effect.succeed(remote)

  /**
   * Fetches the server's main and fast-forwards the clone's main (and working tree) to it. Call with the realm's
   * lock and git's locks held. The clone's own main is only ever moved after a push landed, so it is the server's
   * or an ancestor of it.
   */
  const pullLocked = (dir: string, realm: string, url: string) =>
    Effect.gen(function*() {
      const r = yield* remoteOf(realm, url)
      const fetched = yield* r.fetch(dir).pipe(
        Effect.tapError((e) => recordSync(dir, false, e.message))
      )
      yield* recordSync(dir, true)
      const local = yield* git.head(dir)
      const server = fetched.main
      if (server === undefined || server === local) return { moved: false }
      const commits = yield* git.history(dir, local, server)
      const paths = new Set<string>()
      for (const c of commits) for (const p of yield* git.changedFiles(dir, c.oid)) paths.add(p)
      yield* Effect.uninterruptible(Effect.gen(function*() {
        yield* Effect.sync(() =>
          writeFileAtomicSync(intentPath(dir), JSON.stringify({ commit: server, paths: [...paths] }), {
            tmpDir: repoTmpDir(dir)
          })
        )
        yield* git.advance(dir, local, server)
        yield* git.materialize(dir, [...paths])
        yield* Effect.sync(() => fs.rmSync(intentPath(dir), { force: true }))
      }))
      return { moved: true }
    })

  /** Pushes `commit` to the server's main if, and only if, the server is at `expected`. */
  const pushCommit = (dir: string, realm: string, url: string, expected: string | undefined, commit: string) =>
    Effect.flatMap(remoteOf(realm, url), (r) => r.push(dir, "main", expected, commit))

  /** Pushes `commit` to the server's `branch` (a proposal branch) if, and only if, the server has it at `expected`. */
  const pushBranch = (
    dir: string,
    realm: string,
    url: string,
    branch: string,
    expected: string | undefined,
    commit: string
  ) => Effect.flatMap(remoteOf(realm, url), (r) => r.push(dir, branch, expected, commit))

  return { pullLocked, pushCommit, pushBranch, remoteOf, markSynced: (dir: string) => recordSync(dir, true) } as const
}

/** The remote side, as built by makeRemoteSync. */
export type RemoteSync = ReturnType<typeof makeRemoteSync>
