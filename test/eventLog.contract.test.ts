/**
 * The event-index contract, run against every implementation of the EventLog port (daemon.db and memory).
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, PubSub, Queue } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { EventLog, MemoryEventLogLive, SqliteEventLogLive } from "../src/adapters/eventLog.js"
import { RepoJoined } from "../src/domain/events.js"
import { RealmInitialized } from "../src/domain/events.js"
import { defaultRealmFile } from "../src/domain/files.js"
import { initialState } from "../src/domain/state.js"
import type { Envelope, Recorded } from "../src/events/envelope.js"
import { foldEnvelopes } from "../src/projections/fold.js"

const T = "2026-01-24T10:00:00.000Z"
const id = (n: number) => `01J0000000000000000000${String(n).padStart(4, "0")}`

const envelope = (position: number, n = position): Envelope => ({
  id: id(n),
  realm: "letemcook",
  position,
  type: position === 1 ? "RealmInitialized" : "RepoJoined",
  schemaVersion: 1,
  time: T,
  actor: { user: "eric@example.com", ...(position === 1 ? {} : { repo: `repo-${n}` }) },
  causationId: id(9000 + n),
  correlationId: id(9000 + n),
  event: position === 1
    ? new RealmInitialized({ realm: defaultRealmFile("letemcook", T) })
    : new RepoJoined({ repo: { name: `repo-${n}`, maintainers: [], joined_at: T } })
})
const rec = (position: number, commit = `c${position}`, n = position): Recorded => ({
  envelope: envelope(position, n),
  commit
})

const implementations: ReadonlyArray<[string, () => Layer.Layer<EventLog, unknown>]> = [
  ["sqlite", () => SqliteEventLogLive(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "blue-log-")), "daemon.db"))],
  ["memory", () => MemoryEventLogLive]
]

describe.each(implementations)("EventLog (%s)", (_, make) => {
  const run = <A, E>(effect: Effect.Effect<A, E, EventLog>) => Effect.provide(effect, make())

  it.effect("registers realms and moves their head on append", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* log.register("letemcook", "/r/realm-letemcook")
      expect(yield* log.realms).toEqual([
        { name: "letemcook", localPath: "/r/realm-letemcook", url: undefined, headCommit: undefined, headPosition: 0 }
      ])
      yield* log.append("letemcook", [rec(1), rec(2)], { commit: "c2", position: 2 })
      const [row] = yield* log.realms
      expect(row).toMatchObject({ headCommit: "c2", headPosition: 2 })
    })))

  it.effect("reads back exactly what was appended, in order, decoded", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* log.register("letemcook", "/r")
      yield* log.append("letemcook", [rec(1), rec(2), rec(3)], { commit: "c3", position: 3 })
      const all = yield* log.read("letemcook", 0)
      expect(all.map((r) => r.envelope.position)).toEqual([1, 2, 3])
      expect(all[1]).toEqual(rec(2))
      expect(all[1]!.envelope.event).toBeInstanceOf(RepoJoined)
      expect((yield* log.read("letemcook", 2)).map((r) => r.envelope.id)).toEqual([id(3)])
      expect(yield* log.read("other", 0)).toEqual([])
    })))

  it.effect("is idempotent on event id", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* log.register("letemcook", "/r")
      yield* log.append("letemcook", [rec(1), rec(2)], { commit: "c2", position: 2 })
      yield* log.append("letemcook", [rec(1), rec(2), rec(3)], { commit: "c3", position: 3 })
      expect((yield* log.read("letemcook", 0)).map((r) => r.envelope.id)).toEqual([id(1), id(2), id(3)])
    })))

  it.effect("refuses a different event at a taken position", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* log.register("letemcook", "/r")
      yield* log.append("letemcook", [rec(1), rec(2)], { commit: "c2", position: 2 })
      const err = yield* Effect.flip(log.append("letemcook", [rec(2, "x", 77)], { commit: "x", position: 2 }))
      expect(err._tag).toBe("StoreError")
      expect((yield* log.read("letemcook", 0)).map((r) => r.envelope.id)).toEqual([id(1), id(2)])
    })))

  it.effect("publishes each recorded event on the change stream exactly once, after it is committed", () =>
    run(Effect.scoped(Effect.gen(function*() {
      const log = yield* EventLog
      const changes = yield* PubSub.subscribe(log.changes)
      yield* log.register("letemcook", "/r")
      // What a subscriber sees, it can read back: the transaction has committed when the change is published.
      const seen: Array<number> = []
      const readable: Array<boolean> = []
      const drain = Effect.gen(function*() {
        for (const c of yield* Queue.takeAll(changes)) {
          if (c._tag !== "Recorded") continue
          seen.push(c.recorded.envelope.position)
          expect(c.realm).toBe("letemcook")
          readable.push(
            (yield* log.read("letemcook", c.recorded.envelope.position - 1))[0]?.envelope.id === c.recorded.envelope.id
          )
        }
      })
      yield* log.append("letemcook", [rec(1), rec(2)], { commit: "c2", position: 2 })
      yield* drain
      expect(seen).toEqual([1, 2])
      // Appending again what is recorded publishes only the new event; a refused append publishes nothing.
      yield* log.append("letemcook", [rec(1), rec(2), rec(3)], { commit: "c3", position: 3 })
      yield* Effect.flip(log.append("letemcook", [rec(3, "x", 77)], { commit: "x", position: 3 }))
      yield* log.append("letemcook", [], { commit: "c3", position: 3 })
      yield* drain
      expect(seen).toEqual([1, 2, 3])
      expect(readable).toEqual([true, true, true])
      expect(yield* log.announce("letemcook")).toBe(0)
      // A re-index rewinds the stream; the re-recorded events are published again, once each.
      yield* log.forget("letemcook")
      const rewound = yield* Queue.takeAll(changes)
      expect([...rewound]).toEqual([{ _tag: "Rewound", realm: "letemcook", position: 0 }])
      yield* log.append("letemcook", [rec(1, "e1"), rec(2, "e2")], { commit: "e2", position: 2 })
      yield* drain
      expect(seen).toEqual([1, 2, 3, 1, 2])
    }))))

  it.effect("keeps the newest snapshot and ignores an older one", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      const s2 = foldEnvelopes(initialState, [envelope(1), envelope(2)])
      const s1 = foldEnvelopes(initialState, [envelope(1)])
      expect(yield* log.snapshot("letemcook")).toBeUndefined()
      yield* log.saveSnapshot("letemcook", { position: 2, state: s2 })
      yield* log.saveSnapshot("letemcook", { position: 1, state: s1 })
      const snap = yield* log.snapshot("letemcook")
      expect(snap?.position).toBe(2)
      expect(JSON.stringify(snap?.state)).toBe(JSON.stringify(s2))
    })))

  it.effect("forgets one realm's events, snapshot and checkpoint, keeping its registration and other realms", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* log.register("letemcook", "/r")
      yield* log.register("b", "/b")
      yield* log.append("letemcook", [rec(1), rec(2)], { commit: "c2", position: 2 })
      yield* log.append("b", [rec(1, "d1", 50)], { commit: "d1", position: 1 })
      yield* log.saveSnapshot("letemcook", {
        position: 2,
        state: foldEnvelopes(initialState, [envelope(1), envelope(2)])
      })
      yield* log.forget("letemcook")
      expect(yield* log.read("letemcook", 0)).toEqual([])
      expect(yield* log.snapshot("letemcook")).toBeUndefined()
      expect((yield* log.realms).find((r) => r.name === "letemcook")).toEqual({
        name: "letemcook",
        localPath: "/r",
        url: undefined,
        headCommit: undefined,
        headPosition: 0
      })
      expect((yield* log.read("b", 0)).map((r) => r.envelope.id)).toEqual([id(50)])
      // The same events can be recorded again (a re-index), at their positions.
      yield* log.append("letemcook", [rec(1, "e1"), rec(2, "e2")], { commit: "e2", position: 2 })
      expect((yield* log.read("letemcook", 0)).map((r) => r.commit)).toEqual(["e1", "e2"])
    })))

  it.effect("keeps realms apart", () =>
    run(Effect.gen(function*() {
      const log = yield* EventLog
      yield* log.register("a", "/a")
      yield* log.register("b", "/b")
      yield* log.append("a", [rec(1)], { commit: "c1", position: 1 })
      yield* log.append("b", [rec(1, "d1", 50)], { commit: "d1", position: 1 })
      expect((yield* log.read("a", 0))[0]!.envelope.id).toBe(id(1))
      expect((yield* log.read("b", 0))[0]!.envelope.id).toBe(id(50))
    })))
})

describe("EventLog (sqlite) persistence", () => {
  it.effect("survives reopening the file, and two handles see each other's appends", () =>
    Effect.gen(function*() {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "blue-log-")), "daemon.db")
      const first = Effect.gen(function*() {
        const log = yield* EventLog
        yield* log.register("letemcook", "/r")
        yield* log.append("letemcook", [rec(1), rec(2)], { commit: "c2", position: 2 })
      })
      yield* Effect.provide(first, SqliteEventLogLive(file))
      const second = Effect.gen(function*() {
        const log = yield* EventLog
        return (yield* log.read("letemcook", 0)).length
      })
      expect(yield* Effect.provide(second, SqliteEventLogLive(file))).toBe(2)
    }))
})

describe("EventLog (sqlite) with another writer", () => {
  it.scoped("announces what another connection recorded, once, in order", () =>
    Effect.gen(function*() {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "blue-log-")), "daemon.db")
      const open = Effect.map(Layer.build(SqliteEventLogLive(file)), (ctx) => Context.get(ctx, EventLog))
      const other = yield* open
      const log = yield* open
      const changes = yield* PubSub.subscribe(log.changes)
      const positions = Effect.map(
        Queue.takeAll(changes),
        (cs) => [...cs].flatMap((c) => (c._tag === "Recorded" ? [c.recorded.envelope.position] : []))
      )
      yield* other.register("letemcook", "/r")
      yield* other.append("letemcook", [rec(1), rec(2)], { commit: "c2", position: 2 })
      expect(yield* positions).toEqual([])
      expect(yield* log.announce("letemcook")).toBe(2)
      expect(yield* log.announce("letemcook")).toBe(0)
      expect(yield* positions).toEqual([1, 2])
      // Position 3 by the other writer, 4 by this one: this append publishes 3 first, then 4.
      yield* other.append("letemcook", [rec(3)], { commit: "c3", position: 3 })
      yield* log.append("letemcook", [rec(4)], { commit: "c4", position: 4 })
      expect(yield* positions).toEqual([3, 4])
      expect(yield* log.announce("letemcook")).toBe(0)
    }))
})
