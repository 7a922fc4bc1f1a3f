/**
 * Folding envelopes into the realm state. The one place positions are checked: each event must follow the
 * previous one exactly, so a gap or a duplicate in a log is found, not silently skipped.
 */
import type { RealmState } from "../domain/state.js"
import { evolve } from "../domain/state.js"
import type { Envelope } from "../events/envelope.js"

/** A log whose positions are not contiguous. */
export class PositionGap extends Error {
  constructor(readonly expected: number, readonly found: number, readonly id: string) {
    super(`event ${id} has position ${found}, expected ${expected}`)
  }
}

/** Folds envelopes (in position order) into `state`; throws PositionGap on a gap or duplicate. */
export const foldEnvelopes = (state: RealmState, envelopes: Iterable<Envelope>): RealmState => {
  let s = state
  for (const env of envelopes) {
    if (env.position !== s.position + 1) throw new PositionGap(s.position + 1, env.position, env.id)
    s = { ...evolve(s, env.event), position: env.position }
  }
  return s
}
