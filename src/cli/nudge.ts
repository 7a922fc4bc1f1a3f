/**
 * After a write, tell a running daemon to ingest and publish it now (its poll would find it within 250 ms anyway).
 * Best effort and bounded: no daemon, a stale PID file or a slow answer cost at most half a second, never an error.
 */
import { Effect } from "effect"
import { callDaemon, findDaemon } from "./daemonClient.js"

/** Asks the daemon of this BLUE_HOME, if one runs, to sync `realm`. */
export const nudgeDaemon = (realm: string): Effect.Effect<void> => {
  const conn = findDaemon()
  return conn === undefined
    ? Effect.void
    : Effect.ignore(callDaemon(conn, "POST", `/realms/${encodeURIComponent(realm)}/sync`, undefined, 500))
}
