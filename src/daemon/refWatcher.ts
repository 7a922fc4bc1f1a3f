/**
 * Changes made outside the daemon — a hand `git commit` in the realm, a command that wrote while the daemon ran,
 * later another machine's push — are found by watching each realm's refs (`.git/refs/heads/**` and
 * `.git/packed-refs`): a change, debounced, ingests the realm, whose append publishes on the change stream. A slow
 * poll of every realm is only the fallback (a filesystem without notifications, a missed event, a new realm).
 */
import { Duration, Effect, Layer, Runtime, Schedule } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { EventLog, type RealmRow } from "../engine/ports.js"
import { Ingest } from "./context.js"

/** How long refs must be quiet before the realm is ingested (a commit moves several files). */
export const REF_DEBOUNCE = Duration.millis(25)
/** The fallback poll of every realm. */
export const FALLBACK_POLL = Duration.seconds(3)

/** Watches every tracked realm's refs, and polls them all every FALLBACK_POLL, until the scope closes. */
export const RefWatcherLive = Layer.scopedDiscard(Effect.gen(function*() {
  const log = yield* EventLog
  const ingest = yield* Ingest
  const runtime = yield* Effect.runtime<never>()
  const run = Runtime.runFork(runtime)
  const watched = new Map<string, { readonly path: string; readonly close: () => void }>()

  const watch = (row: RealmRow) => {
    const old = watched.get(row.name)
    if (old !== undefined && old.path === row.localPath) return
    old?.close()
    const gitDir = nodePath.join(row.localPath, ".git")
    let timer: NodeJS.Timeout | undefined
    // Any change counts, lock files included: a rename of `main.lock` over `main` may be reported under either name.
    const changed = () => {
      clearTimeout(timer)
      timer = setTimeout(() => run(Effect.ignore(ingest.realm(row))), Duration.toMillis(REF_DEBOUNCE))
    }
    const watchers: Array<fs.FSWatcher> = []
    const add = (path: string, options: fs.WatchOptions, filter: (file: string | null) => boolean) => {
      try {
        const w = fs.watch(path, options, (_event, file) => {
          if (filter(file === null ? null : String(file))) changed()
        })
        w.on("error", () => w.close())
        watchers.push(w)
      } catch {
        // No such directory yet, or no notifications here: the fallback poll covers it.
      }
    }
    add(nodePath.join(gitDir, "refs", "heads"), { recursive: true, persistent: false }, () => true)
    // packed-refs is replaced by a rename, so watch its directory.
    add(gitDir, { persistent: false }, (file) => file === "packed-refs")
    watched.set(row.name, {
      path: row.localPath,
      close: () => {
        clearTimeout(timer)
        for (const w of watchers) w.close()
      }
    })
  }

  const watchAll = Effect.flatMap(
    Effect.orElseSucceed(log.realms, () => []),
    (rows) => Effect.sync(() => rows.forEach(watch))
  )
  yield* Effect.addFinalizer(() => Effect.sync(() => watched.forEach((w) => w.close())))
  yield* watchAll
  yield* Effect.forkScoped(
    Effect.zipRight(watchAll, ingest.all).pipe(
      Effect.repeat(Schedule.spaced(FALLBACK_POLL)),
      Effect.delay(FALLBACK_POLL)
    )
  )
}))
