/**
 * Notifications as part of the realm state: raised per importing repo by a contract change (a proposal while it
 * is open, the bump once it merges), answered by `ack` (by id or all) or by re-importing at the current version,
 * dropped when the repo leaves.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import type { Command } from "../src/domain/commands.js"
import { decide } from "../src/domain/decide.js"
import type { RealmEvent } from "../src/domain/events.js"
import { initialState, type RealmState } from "../src/domain/state.js"
import { foldEnvelopes } from "../src/projections/fold.js"

const T = "2026-01-24T10:00:00.000Z"

/** Runs commands in order, folding each one's events with its position, time and actor, like the engine. */
const story = (
  steps: ReadonlyArray<[string | undefined, Command] | [string | undefined, Command, string]>
): RealmState => {
  let state = initialState
  for (const [repo, command, time = T] of steps) {
    const actor = repo === undefined ? { user: "u@x" } : { repo, user: "u@x" }
    const events = decide(command, state, { time, actor })
    if (Either.isLeft(events)) throw new Error(JSON.stringify(events.left))
    state = foldEnvelopes(
      state,
      events.right.map((event, i) => ({
        id: `E${state.position + i + 1}`,
        position: state.position + i + 1,
        time,
        actor,
        event
      }))
    )
  }
  return state
}
const join = (repo: string): [string, Command] => [repo, { _tag: "JoinRealm", repo, maintainers: ["u@x"] }]
const base: ReadonlyArray<[string | undefined, Command]> = [
  [undefined, { _tag: "InitRealm", name: "letemcook", admission: "open", path: "/r" }],
  join("aperture"),
  join("fungal"),
  join("ml"),
  ["aperture", { _tag: "CreateDomain", domain: "s3-access", repos: ["aperture", "fungal", "ml"], contract: "s3" }],
  ["aperture", { _tag: "PublishContract", contract: "s3", value: { read: ["a"] } }]
]
const bump = (value: unknown): [string, Command] => ["aperture", { _tag: "PublishContract", contract: "s3", value }]
/** The proposal aperture opened at T. */
const PROPOSAL = "aperture-20260124-100000"
/** Merges that proposal once its grace period (14 days) has passed, with no acknowledgement. */
const mergeAfterGrace: [undefined, Command, string] = [
  undefined,
  { _tag: "MergeProposal", id: PROPOSAL },
  "2026-02-07T10:00:00.000Z"
]
const decideAs = (state: RealmState, repo: string, command: Command) =>
  decide(command, state, { time: T, actor: { repo, user: "u@x" } })

describe("notifications", () => {
  it("the first value is 'new' for every importer; a compatible bump is 'updated', a breaking one 'breaking'", () => {
    const first = story(base)
    expect(Object.values(first.pending).map((n) => [n.repo, n.change_type, n.version])).toEqual([
      ["fungal", "new", "1.0.0"],
      ["ml", "new", "1.0.0"]
    ])
    // the compatible change is a proposal (11) until it merges: then the bump (13, after ProposalMerged 12) tells
    // the importers that have not acknowledged it
    const proposed = story([...base, bump({ read: ["a", "b"] })])
    expect(Object.values(proposed.pending).filter((n) => n.repo === "fungal").map((n) => [n.id, n.proposal]))
      .toEqual([["10", undefined], ["11", PROPOSAL]])
    const later = story([...base, bump({ read: ["a", "b"] }), mergeAfterGrace, bump({ read: ["b"] })])
    const fungal = Object.values(later.pending).filter((n) => n.repo === "fungal")
    // ids are the positions of the contract events: 10 (first value), 13 (the merged bump), 14 (the breaking proposal)
    expect(fungal.map((n) => [n.id, n.change_type, n.version, n.from_repo])).toEqual([
      ["10", "new", "1.0.0", "aperture"],
      ["13", "updated", "1.1.0", "aperture"],
      ["14", "breaking", "2.0.0", "aperture"]
    ])
    expect(fungal[1]!.changes).toEqual(["+ read: b"])
  })

  it("ack by id answers only that notification for the acting repo; an unknown id is refused", () => {
    const state = story([...base, bump({ read: ["a", "b"] })])
    const events = decideAs(state, "fungal", { _tag: "AcknowledgeNotifications", ids: ["11"], all: false })
    expect(Either.getOrThrow(events).map((e: RealmEvent) => e._tag)).toEqual(["NotificationAcknowledged"])
    const after = foldEnvelopes(state, [{
      id: "X",
      position: state.position + 1,
      event: Either.getOrThrow(events)[0]!
    }])
    expect(Object.keys(after.pending).sort()).toEqual(["10:fungal", "10:ml", "11:ml"])
    const unknown = decideAs(state, "fungal", { _tag: "AcknowledgeNotifications", ids: ["99"], all: false })
    expect(Either.isLeft(unknown) && unknown.left._tag).toBe("NotificationNotFound")
  })

  it("ack --all answers every notification of the repo, and nothing when there is none", () => {
    const state = story([...base, bump({ read: ["a", "b"] })])
    expect(Either.getOrThrow(decideAs(state, "ml", { _tag: "AcknowledgeNotifications", ids: [], all: true })).length)
      .toBe(2)
    const none = story([...base, ["ml", { _tag: "AcknowledgeNotifications", ids: [], all: true }]])
    expect(Either.getOrThrow(decideAs(none, "ml", { _tag: "AcknowledgeNotifications", ids: [], all: true }))).toEqual(
      []
    )
  })

  it("re-importing at the current version answers that contract's notifications; leaving drops them", () => {
    const state = story([
      ...base,
      bump({ read: ["a", "b"] }),
      mergeAfterGrace,
      ["fungal", { _tag: "DeclareImport", contract: "s3", domain: "s3-access", version: "^1.0.0" }],
      ["ml", { _tag: "LeaveRealm", repo: "ml", force: false }]
    ])
    expect(state.pending).toEqual({})
  })
})
