/**
 * Cross-process write lock for a realm repo. isomorphic-git has no locking and no ref compare-and-swap, so every
 * writer holds this lock around decide → commit → advance → record. It is an exclusive SQLite transaction on a
 * small file: the kernel drops the lock when its holder dies (even by SIGKILL), so a crashed writer never leaves a
 * stale lock behind, and waiters poll without blocking the event loop.
 */
import Database from "better-sqlite3"
import { Context, Duration, Effect, Layer } from "effect"
import type { Scope } from "effect"
import { LockTimeout } from "./errors.js"
import { DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutFromEnv } from "./home.js"

/** The write-lock port. */
export class RealmLock extends Context.Tag("blue/RealmLock")<RealmLock, {
  /** Holds the lock at `file` until the scope closes; fails after waiting `timeoutMs`. */
  readonly acquire: (file: string, timeoutMs?: number) => Effect.Effect<void, LockTimeout, Scope.Scope>
}>() {}

const isBusy = (e: unknown) => {
  const code = (e as { code?: string }).code ?? ""
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")
}

/** Default wait before giving up: BLUE_LOCK_TIMEOUT_MS (empty: 0) or 30 s; the CLI refuses an invalid value first. */
export const defaultLockTimeout = () => lockTimeoutFromEnv() ?? DEFAULT_LOCK_TIMEOUT_MS

/**
 * SQLite-backed lock files. The connection is the resource (closing it drops the lock); the wait happens outside
 * `acquireRelease`'s uninterruptible acquire, so Ctrl-C or SIGTERM ends a waiting command at once.
 */
export const RealmLockLive = Layer.succeed(RealmLock, {
  acquire: (file, timeoutMs = defaultLockTimeout()) =>
    Effect.gen(function*() {
      const db = yield* Effect.acquireRelease(
        Effect.sync(() => new Database(file, { timeout: 0 })),
        (db) =>
          Effect.sync(() => {
            try {
              if (db.inTransaction) db.exec("ROLLBACK")
            } finally {
              db.close()
            }
          })
      )
      const started = Date.now()
      while (true) {
        try {
          db.exec("BEGIN EXCLUSIVE")
          return
        } catch (e) {
          if (!isBusy(e)) return yield* Effect.die(e)
        }
        const waited = Date.now() - started
        if (waited >= timeoutMs) return yield* new LockTimeout({ path: file, waitedMs: waited })
        yield* Effect.sleep(Duration.millis(5 + Math.floor(Math.random() * 20)))
      }
    })
})
