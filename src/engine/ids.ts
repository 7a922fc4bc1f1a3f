/**
 * Event and command ids: ULIDs (sortable by time, unique across machines), monotonic within a process.
 */
import { Context, Effect, Layer } from "effect"
import { monotonicFactory } from "ulid"

/** The id port. */
export class Ids extends Context.Tag("blue/Ids")<Ids, {
  /** A fresh ULID for time `ms`. */
  readonly next: (ms: number) => Effect.Effect<string>
}>() {}

/** ULIDs from a monotonic factory. */
export const IdsLive = Layer.sync(Ids, () => {
  const factory = monotonicFactory()
  return { next: (ms) => Effect.sync(() => factory(ms)) }
})

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/** Deterministic ids for tests: the time part from `ms`, the random part a counter. */
export const IdsCounter = Layer.sync(Ids, () => {
  let n = 0
  return {
    next: (ms) =>
      Effect.sync(() => {
        let t = ms
        let time = ""
        for (let i = 0; i < 10; i++) {
          time = CROCKFORD[t % 32] + time
          t = Math.floor(t / 32)
        }
        let c = ++n
        let rand = ""
        for (let i = 0; i < 16; i++) {
          rand = CROCKFORD[c % 32] + rand
          c = Math.floor(c / 32)
        }
        return time + rand
      })
  }
})
