/**
 * After a write, tell a running daemon to ingest and publish it now (its poll would find it within 250 ms anyway).
 * Best effort and bounded: no daemon, a stale PID file or a slow answer cost at most half a second, never an error.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { blueHome } from "../adapters/home.js"
import { pidFilePath, tokenPath } from "../daemon/runtime.js"

/** Asks the daemon of this BLUE_HOME, if one runs, to sync `realm`. */
export const nudgeDaemon = (realm: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    try {
      const home = blueHome()
      const record = JSON.parse(fs.readFileSync(pidFilePath(home), "utf8")) as { port?: unknown }
      if (typeof record.port !== "number") return
      const token = fs.readFileSync(tokenPath(home), "utf8").trim()
      await fetch(`http://127.0.0.1:${record.port}/realms/${encodeURIComponent(realm)}/sync`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(500)
      })
    } catch {
      // No daemon, or it did not answer: it will find the commit on its own.
    }
  })
