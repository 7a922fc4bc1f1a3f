/**
 * Ends the sessions whose process is gone (a client killed with SIGKILL never says goodbye): once at start, then
 * every REAP_EVERY. Ending one records SessionEnded, which the change stream carries to the feed and the mirror.
 */
import { Duration, Effect, Layer, Schedule } from "effect"
import { DaemonHost, Sessions } from "../engine/ports.js"

/** How often the sessions' processes are checked. */
export const REAP_EVERY = Duration.millis(500)

/** Reaps orphaned sessions until the scope closes. */
export const OrphanReaperLive = Layer.scopedDiscard(Effect.gen(function*() {
  const sessions = yield* Sessions
  const host = yield* DaemonHost
  const reap = Effect.gen(function*() {
    for (const s of yield* sessions.active()) {
      if (s.pid === null || (yield* host.isAlive(s.pid))) continue
      yield* sessions.end(s.id, "orphaned", new Date().toISOString())
    }
  }).pipe(Effect.ignore)
  yield* reap
  yield* Effect.forkScoped(reap.pipe(Effect.repeat(Schedule.spaced(REAP_EVERY)), Effect.delay(REAP_EVERY)))
}))
