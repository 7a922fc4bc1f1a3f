/**
 * The daemon keeps the forge level with the realm log (docs/forges.md "The mirror"): every BLUE_FORGE_POLL_MS
 * (default 60 s) each tracked realm on a forge is reconciled — pull requests for open proposals, reviews read back
 * as acknowledgements and approvals, hand-closed PRs withdrawn, ready proposals merged by Blue's own append, notify
 * issues opened, updated and closed. Level-triggered and idempotent, so a daemon killed mid-way converges on its
 * next tick; a forge that fails is logged and tried again on the next tick.
 */
import { Duration, Effect, Layer, Schedule } from "effect"
import { EventLog, type RealmRow } from "../engine/ports.js"
import { forgeRepoOfUrl, reconcileProposals } from "../operations/forgeMirror.js"

/** How often the daemon reconciles forge realms (ms). */
export const DEFAULT_FORGE_POLL_MS = 60_000

const pollMs = (env: Readonly<Record<string, string | undefined>>) => {
  const raw = Number(env["BLUE_FORGE_POLL_MS"])
  return Number.isFinite(raw) && raw >= 50 && env["BLUE_FORGE_POLL_MS"] !== "" ? raw : DEFAULT_FORGE_POLL_MS
}

/** Reconciles every tracked forge realm on a timer, until the scope closes. */
export const ForgeReconcilerLive = Layer.scopedDiscard(Effect.gen(function*() {
  const log = yield* EventLog
  const one = (row: RealmRow) =>
    forgeRepoOfUrl(row.url ?? undefined) === undefined
      ? Effect.void
      : reconcileProposals(row.localPath).pipe(
        Effect.catchAll((e) => Effect.logWarning(`forge mirror of ${row.name}: ${e.message}`)),
        Effect.catchAllDefect((d) => Effect.logWarning(`forge mirror of ${row.name}: ${String(d)}`))
      )
  const all = Effect.flatMap(
    Effect.orElseSucceed(log.realms, () => [] as ReadonlyArray<RealmRow>),
    (rows) => Effect.forEach(rows, one, { discard: true })
  )
  const every = Duration.millis(pollMs(process.env))
  yield* Effect.forkScoped(all.pipe(Effect.repeat(Schedule.spaced(every)), Effect.delay(every)))
}))
