/**
 * The fold's copy-on-write: a draft shares the state's maps until an event writes to them, so folding must never
 * write into an earlier state. Every intermediate state is deep-frozen before the next event is folded (a write to
 * a frozen object throws in a module), and the step-by-step result must equal one fold from the start.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import type { Command } from "../src/domain/commands.js"
import { decide } from "../src/domain/decide.js"
import type { RealmEvent } from "../src/domain/events.js"
import { initialState, type RealmState } from "../src/domain/state.js"
import { foldEnvelopes } from "../src/projections/fold.js"

const T = "2026-01-24T10:00:00.000Z"
const USER = "eric@example.com"

const deepFreeze = <A>(value: A): A => {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

describe("folding into a frozen state", () => {
  it("never writes into an earlier state, and gives what one fold from the start gives", () => {
    const schema = { type: "object", properties: { read: { type: "array", items: { type: "string" } } } }
    const steps: ReadonlyArray<[Command, string | undefined]> = [
      [{ _tag: "InitRealm", name: "frozen", admission: "open", path: "/r" }, undefined],
      ...["a", "b", "c"].map((r): [Command, string] => [
        { _tag: "JoinRealm", repo: r, path: `/src/${r}`, maintainers: [USER] },
        r
      ]),
      [{ _tag: "CreateDomain", domain: "d1", repos: ["a", "b", "c"] }, "a"],
      [{ _tag: "CreateDomain", domain: "d2", repos: ["b", "c"] }, "b"],
      [{ _tag: "PublishContract", contract: "d1", domain: "d1", schema, value: { read: ["x"] } }, "a"],
      [{ _tag: "PublishContract", contract: "d1", domain: "d1", schema, value: { read: [] } }, "a"],
      [{ _tag: "AcknowledgeNotifications", ids: [], all: true }, "b"],
      [{ _tag: "LeaveRealm", repo: "c", force: true }, "c"]
    ]
    let state: RealmState = deepFreeze(initialState)
    const all: Array<{ id: string; position: number; event: RealmEvent; time: string }> = []
    for (const [command, repo] of steps) {
      const decided = decide(command, state, {
        time: T,
        actor: repo === undefined ? { user: USER } : { repo, user: USER }
      })
      if (Either.isLeft(decided)) throw new Error(`${command._tag}: ${JSON.stringify(decided.left)}`)
      expect(decided.right.length).toBeGreaterThan(0)
      const envelopes = decided.right.map((event, i) => ({
        id: `e${state.position + i + 1}`,
        position: state.position + i + 1,
        event,
        time: T
      }))
      all.push(...envelopes)
      state = deepFreeze(foldEnvelopes(state, envelopes))
    }
    expect(Object.keys(state.pending ?? {}).length + Object.keys(state.changes ?? {}).length).toBeGreaterThan(0)
    expect(state).toEqual(foldEnvelopes(initialState, all))
    expect(Object.keys(state.repos)).toEqual(["a", "b"])
  })
})
