/**
 * The one client of the daemon's feed: a `Stream` of decoded feed messages that connects, subscribes, resumes
 * from the last event position it saw after a reconnect, and reconnects on a `Schedule` (exponential with jitter,
 * capped) whenever the connection is lost — a daemon restart included. `blue realm sessions --watch` and the MCP
 * server's presence both read the feed through it.
 */
import { Duration, Effect, Either, Queue, Ref, Schedule, Schema, Stream } from "effect"
import { WebSocket } from "ws"
import { decodeServerMessage, type ServerMessage } from "../events/feed.js"
import type { Connection } from "./daemonClient.js"

/** The feed's connection was lost (or never made): worth another try. */
export class FeedLost extends Schema.TaggedError<FeedLost>()("FeedLost", { detail: Schema.String }) {
  override get message() {
    return `The daemon's feed was lost: ${this.detail}.`
  }
}

/** The daemon sent a message this client cannot read: no retry will fix that. */
export class FeedMessageInvalid extends Schema.TaggedError<FeedMessageInvalid>()("FeedMessageInvalid", {
  detail: Schema.String
}) {
  override get message() {
    return `The daemon sent a feed message this Blue cannot read: ${this.detail}`
  }
}

/** Reconnect delays: 200 ms doubling, jittered, at most 10 s between tries. */
export const reconnectSchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential(Duration.millis(200)).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced(Duration.seconds(10)))
)

/** What to subscribe to, and what to do on each (re)connection. */
export interface FeedOptions<E, R> {
  /** The daemon to reach, asked again before every attempt (it may have moved port or restarted). */
  readonly connect: Effect.Effect<Connection, E, R>
  /** Events of this realm (all when absent) and notifications for this repo. */
  readonly realm?: string | undefined
  readonly repo?: string | undefined
  /** Runs once a connection is open, before subscribing (register a session …). */
  readonly onOpen?: (conn: Connection) => Effect.Effect<void, never, R>
  /** Runs when an open connection is lost. */
  readonly onLost?: (conn: Connection) => Effect.Effect<void, never, R>
  /** Between attempts; `reconnectSchedule` by default. */
  readonly schedule?: Schedule.Schedule<unknown, unknown, R>
}

type Item = Either.Either<ServerMessage, FeedLost | FeedMessageInvalid>

/** One connection: opens it, subscribes (resuming after `after`), and streams what arrives until it is lost. */
const connectOnce = <E, R>(options: FeedOptions<E, R>, after: Ref.Ref<number | undefined>) =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const conn = yield* options.connect.pipe(
      Effect.mapError((e) => new FeedLost({ detail: e instanceof Error ? e.message : String(e) }))
    )
    const inbox = yield* Queue.unbounded<Item>()
    const lost = (detail: string) => Queue.unsafeOffer(inbox, Either.left(new FeedLost({ detail })))
    const ws = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const ws = new WebSocket(`ws://127.0.0.1:${conn.port}/feed`, {
          headers: { authorization: `Bearer ${conn.token}` }
        })
        ws.on("message", (data) => {
          const decoded = decodeServerMessage(data.toString())
          Queue.unsafeOffer(
            inbox,
            Either.mapLeft(decoded, (detail) => new FeedMessageInvalid({ detail }))
          )
        })
        ws.on("close", (code, reason) => lost(`closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ""})`))
        ws.on("error", (e) => lost(e.message))
        return ws
      }),
      (ws) => Effect.sync(() => ws.readyState === WebSocket.CONNECTING ? ws.terminate() : ws.close(1000, "bye"))
    )
    yield* Effect.async<void, FeedLost>((resume) => {
      if (ws.readyState === WebSocket.OPEN) return resume(Effect.void)
      ws.once("open", () => resume(Effect.void))
      ws.once("close", () => resume(Effect.fail(new FeedLost({ detail: "closed before it opened" }))))
      ws.once("error", (e) => resume(Effect.fail(new FeedLost({ detail: e.message }))))
    })
    if (options.onOpen !== undefined) yield* options.onOpen(conn)
    if (options.onLost !== undefined) yield* Effect.addFinalizer(() => options.onLost!(conn))
    const position = options.realm === undefined ? undefined : yield* Ref.get(after)
    ws.send(JSON.stringify({
      type: "subscribe",
      ...(options.realm === undefined ? {} : { realm: options.realm }),
      ...(options.repo === undefined ? {} : { repo: options.repo }),
      ...(position === undefined ? {} : { after: position })
    }))
    return Stream.fromQueue(inbox).pipe(
      Stream.mapEffect((item) => item),
      Stream.tap((m) => m.type === "event" ? Ref.set(after, m.event.position) : Effect.void)
    )
  }))

/**
 * The daemon's feed as a stream of decoded messages. A lost connection is retried on the schedule (reset once a
 * message arrives again); a message that does not decode ends the stream with FeedMessageInvalid.
 */
export const feedStream = <E, R>(options: FeedOptions<E, R>): Stream.Stream<ServerMessage, FeedMessageInvalid, R> =>
  Stream.unwrap(Effect.map(Ref.make<number | undefined>(undefined), (after) =>
    connectOnce(options, after).pipe(
      Stream.retry(
        Schedule.whileInput(
          options.schedule ?? reconnectSchedule,
          (e: FeedLost | FeedMessageInvalid) => e._tag === "FeedLost"
        )
      ),
      Stream.catchTag("FeedLost", () => Stream.empty)
    )))
