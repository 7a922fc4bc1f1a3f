/**
 * The feed protocol as a Schema union (src/events/feed.ts), the one feed client (src/adapters/feedClient.ts) and
 * the typed session events (src/events/session.ts): round trips, a malformed message refused in one sentence, and
 * the session facts of an older daemon.db still read.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Either, Exit, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { WebSocketServer } from "ws"
import { SqliteEventLogLive } from "../src/adapters/eventLog.js"
import { feedStream } from "../src/adapters/feedClient.js"
import { Sessions, SessionsLive } from "../src/adapters/sessions.js"
import { RepoJoined } from "../src/domain/events.js"
import { decodeClientMessage, decodeServerMessage, eventMessage, serverFrame } from "../src/events/feed.js"
import { decodeSessionEvent } from "../src/events/session.js"

const T = "2026-01-24T10:00:00.000Z"
const recorded = {
  envelope: {
    id: "01J00000000000000000000001",
    realm: "letemcook",
    position: 2,
    type: "RepoJoined",
    schemaVersion: 1,
    time: T,
    actor: { user: "t@x", repo: "aperture" },
    correlationId: "01J00000000000000000000001",
    event: new RepoJoined({ repo: { name: "aperture", maintainers: [], joined_at: T } })
  },
  commit: "c".repeat(40)
}

describe("feed messages", () => {
  it("round-trip through the wire's JSON shape", () => {
    const frame = serverFrame(eventMessage(recorded))
    const wire = JSON.parse(frame)
    expect(wire).toMatchObject({ type: "event", event: { position: 2, type: "RepoJoined", commit: "c".repeat(40) } })
    expect(wire.event.event).toEqual({ _tag: "RepoJoined", repo: { name: "aperture", maintainers: [], joined_at: T } })
    const back = decodeServerMessage(frame)
    expect(Either.isRight(back) && back.right.type === "event" && back.right.event.event).toBeInstanceOf(RepoJoined)
    expect(decodeClientMessage("{\"type\":\"subscribe\",\"realm\":\"r\",\"after\":3}")).toEqual(
      Either.right({ type: "subscribe", realm: "r", after: 3 })
    )
  })

  it("rejects a malformed message with one sentence naming what is wrong", () => {
    expect(decodeServerMessage("{\"type\":\"event\",\"event\":{\"position\":\"x\"}}")).toEqual(
      Either.left(expect.stringMatching(/^The feed message "event" is malformed: event\.\S+ .+\.$/))
    )
    expect(decodeServerMessage("{\"type\":\"gossip\"}")).toEqual(
      Either.left("Unknown feed message type \"gossip\".")
    )
    expect(decodeServerMessage("not json")).toEqual(
      Either.left("A feed message must be a JSON object; got \"not json\".")
    )
    expect(decodeClientMessage("{\"type\":\"subscribe\",\"after\":-1}")).toEqual(
      Either.left(expect.stringContaining("The message \"subscribe\" is malformed: after"))
    )
  })

  it("the feed client ends with FeedMessageInvalid on a message it cannot read, without retrying", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" })
    await new Promise((r) => wss.once("listening", r))
    let connections = 0
    wss.on("connection", (ws) => {
      connections++
      ws.send(JSON.stringify({ type: "hello", version: "x", authenticated: true }))
      ws.send(JSON.stringify({ type: "session", change: "paused", session: {} }))
    })
    const port = (wss.address() as { port: number }).port
    const exit = await Effect.runPromiseExit(
      Stream.runCollect(feedStream({ connect: Effect.succeed({ port, token: "t" }) }))
    )
    wss.close()
    expect(Exit.isFailure(exit) && Exit.causeOption(exit)).toBeTruthy()
    const error = Exit.isFailure(exit) ? JSON.stringify(exit.cause) : ""
    expect(error).toContain("FeedMessageInvalid")
    expect(error).toContain("The feed message \\\"session\\\" is malformed")
    expect(connections).toBe(1)
  })
})

describe("typed session events", () => {
  it("reads the typed shape and the older ad-hoc payloads", () => {
    const old = decodeSessionEvent("SessionStarted", T, {
      session: "01JS",
      repo: "aperture",
      realm: "letemcook",
      client_id: "mcp"
    })
    expect(Either.isRight(old) && old.right).toMatchObject({
      _tag: "SessionStarted",
      session: { id: "01JS", repo: "aperture", realm: "letemcook", client_id: "mcp", started_at: T }
    })
    const ended = decodeSessionEvent("SessionEnded", T, { session: "01JS", repo: "a", realm: "r", reason: "orphaned" })
    expect(Either.isRight(ended) && ended.right).toMatchObject({ _tag: "SessionEnded", reason: "orphaned" })
    expect(decodeSessionEvent("SessionEnded", T, "x")).toEqual(Either.left("the SessionEnded payload is not an object"))
  })

  it("records session facts typed, and still reads the rows an older daemon.db holds", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "blue-sessions-")), "daemon.db")
    const layer = Layer.provideMerge(SessionsLive, SqliteEventLogLive(file))
    const history = await Effect.runPromise(Effect.provide(
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        // A row as the daemon wrote it before session events were typed.
        yield* sql`INSERT INTO local_events (id, type, time, payload) VALUES ('01J0', 'SessionStarted', ${T},
                   ${JSON.stringify({ session: "01JOLD", repo: "aperture", realm: "letemcook", client_id: "cli" })})`
        const sessions = yield* Sessions
        const s = yield* sessions.start({
          repo: "fungal",
          realm: "letemcook",
          client_id: "mcp",
          active_domains: [],
          imports_watching: [],
          exports_modified: []
        }, T)
        yield* sessions.end(s.id, "deregistered", T)
        const [row] = yield* sql<{ payload: string }>`SELECT payload FROM local_events WHERE type = 'SessionEnded'`
        expect(JSON.parse(row!.payload)).toMatchObject({
          _tag: "SessionEnded",
          schemaVersion: 2,
          reason: "deregistered"
        })
        return yield* sessions.history()
      }),
      layer
    ))
    expect(history.map((h) => [h.event._tag, h.event.session.repo])).toEqual([
      ["SessionStarted", "aperture"],
      ["SessionStarted", "fungal"],
      ["SessionEnded", "fungal"]
    ])
  })
})
