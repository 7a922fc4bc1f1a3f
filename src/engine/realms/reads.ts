/** The engine's reads: a realm opened and folded, its events, and what folds need of them, each after catching up. */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { PathProblem, type StoreError } from "../../adapters/errors.js"
import type { FoldItem } from "../../adapters/eventLog.js"
import { initialState } from "../../domain/state.js"
import type { Recorded } from "../../events/envelope.js"
import { foldEnvelopes } from "../../projections/fold.js"
import type { History } from "./history.js"
import type { OpenRealm, Ports } from "./shared.js"

/** The engine's reads. */
export const makeReads = ({ log }: Ports, { corrupt, readView, stateOf }: History) => {
  /** The realm in `dir`, caught up and folded. */
  const open = (dir: string) =>
    Effect.gen(function*() {
      if (!fs.existsSync(nodePath.join(dir, ".git"))) {
        return yield* new PathProblem({ path: dir, detail: "is not a realm repository (no .git directory)" })
      }
      const view = yield* readView(dir)
      const state = view.fromGit === undefined
        ? yield* stateOf(view.name)
        : yield* Effect.try({
          try: () => foldEnvelopes(initialState, view.fromGit.map((r) => r.envelope)),
          catch: (e) => corrupt(view.name, e instanceof Error ? e.message : String(e))
        })
      return { name: view.name, dir, head: view.head, state } satisfies OpenRealm
    })

  /** The realm's events for folding (not re-validated; see EventLog.readForFold), after catching up. */
  const foldItems = (dir: string) =>
    Effect.flatMap(
      readView(dir),
      (view): Effect.Effect<ReadonlyArray<FoldItem>, StoreError> =>
        view.fromGit === undefined
          ? log.readForFold(view.name, 0)
          : Effect.succeed(view.fromGit.map(({ envelope: e }) => ({
            id: e.id,
            position: e.position,
            time: e.time,
            actor: e.actor,
            event: e.event
          })))
    )

  /** The recorded events of the realm in `dir`, after catching up. */
  const events = (dir: string, afterPosition = 0) =>
    Effect.flatMap(
      readView(dir),
      (view): Effect.Effect<ReadonlyArray<Recorded>, StoreError> =>
        view.fromGit === undefined
          ? log.read(view.name, afterPosition)
          : Effect.succeed(view.fromGit.filter((r) => r.envelope.position > afterPosition))
    )

  return { open, foldItems, events } as const
}
