/**
 * Folding envelopes into the realm state. The one place positions are checked: each event must follow the
 * previous one exactly, so a gap or a duplicate in a log is found, not silently skipped. One working copy per
 * fold, mutated in place, keeps replay linear in the number of events.
 */
import type { RealmState } from "../domain/state.js"
import { apply, draftOf } from "../domain/state.js"
import type { Envelope } from "../events/envelope.js"

/** A log whose positions are not contiguous. */
export class PositionGap extends Error {
  constructor(readonly expected: number, readonly found: number, readonly id: string) {
    super(`event ${id} has position ${found}, expected ${expected}`)
  }
}

/** Folds envelopes (in position order) into `state`; throws PositionGap on a gap or duplicate. */
export const foldEnvelopes = (
  state: RealmState,
  envelopes: Iterable<Pick<Envelope, "id" | "position" | "event"> & Partial<Pick<Envelope, "time" | "actor">>>
): RealmState => {
  const draft = draftOf(state)
  for (const env of envelopes) {
    if (env.position !== draft.position + 1) throw new PositionGap(draft.position + 1, env.position, env.id)
    apply(draft, env.event, {
      position: env.position,
      time: env.time ?? "",
      ...(env.actor?.repo === undefined ? {} : { actor: env.actor.repo })
    })
    draft.position = env.position
  }
  return draft
}
