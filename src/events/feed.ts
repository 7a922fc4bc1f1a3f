/**
 * The daemon's feed protocol (`GET /feed`, a WebSocket of JSON text messages), as one Schema union per direction,
 * shared by the server (which encodes what it sends) and the clients (which decode what they receive). The wire
 * keeps its JSON shape: every message is an object whose `type` names it.
 */
import { Either, type ParseResult, Schema } from "effect"
import { Actor } from "../domain/commands.js"
import { RealmEvent } from "../domain/events.js"
import { plainIssue } from "../domain/parseIssues.js"
import { eventDocument } from "./codec.js"
import type { Recorded } from "./envelope.js"
import { Session } from "./session.js"

/** A recorded event as `realm log --json`, `/events` and the feed show it (snake_case, with its commit). */
export const EventDocument = Schema.Struct({
  id: Schema.String,
  realm: Schema.String,
  position: Schema.Int,
  type: Schema.String,
  schema_version: Schema.Int,
  time: Schema.String,
  actor: Actor,
  causation_id: Schema.optional(Schema.String),
  correlation_id: Schema.String,
  event: RealmEvent,
  commit: Schema.String
})
/** A recorded event as the feed shows it. */
export type EventDocument = typeof EventDocument.Type

/** A contract change waiting for an importing repo's acknowledgement, with its realm. */
export const FeedNotification = Schema.Struct({
  id: Schema.String,
  realm: Schema.String,
  repo: Schema.String,
  domain: Schema.String,
  contract: Schema.String,
  version: Schema.String,
  from_repo: Schema.String,
  change_type: Schema.Literal("updated", "breaking", "new"),
  changes: Schema.Array(Schema.String),
  created_at: Schema.String,
  /** the proposal it asks the repo to answer (absent for a change that landed) */
  proposal: Schema.optionalWith(Schema.String, { exact: true })
})
/** A notification as the feed sends it. */
export type FeedNotification = typeof FeedNotification.Type

/** The first message on every feed: the daemon's version, and whether the upgrade's token was accepted. */
export const Hello = Schema.Struct({
  type: Schema.Literal("hello"),
  version: Schema.String,
  authenticated: Schema.Boolean
})
/** The token sent as `auth` was accepted. */
export const Authenticated = Schema.Struct({ type: Schema.Literal("authenticated") })
/** Catch-up is done: what follows is live. `realm` is the one subscribed to (null: every realm). */
export const Subscribed = Schema.Struct({ type: Schema.Literal("subscribed"), realm: Schema.NullOr(Schema.String) })
/** A realm event (its `event.position` is the position to resume from). */
export const EventMessage = Schema.Struct({ type: Schema.Literal("event"), event: EventDocument })
/** A contract change for the subscribed repo. */
export const NotificationMessage = Schema.Struct({
  type: Schema.Literal("notification"),
  notification: FeedNotification
})
/**
 * A session started or ended: this machine's, or another machine's (on a realm's `blue/sessions/*` branches) with
 * its `machine` and `seen_at` (when that machine last published), as `realm sessions --json` lists it.
 */
export const SessionMessage = Schema.Struct({
  type: Schema.Literal("session"),
  change: Schema.Literal("started", "ended"),
  session: Schema.extend(
    Session,
    Schema.Struct({
      machine: Schema.optionalWith(Schema.String, { exact: true }),
      seen_at: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
    })
  )
})
/** The answer to `ping`. */
export const Pong = Schema.Struct({ type: Schema.Literal("pong") })
/** A message the daemon refused (`RequestInvalid`, `Unauthorized`). */
export const FeedError = Schema.Struct({
  type: Schema.Literal("error"),
  error: Schema.Struct({ _tag: Schema.String, message: Schema.String })
})

/** Every message the daemon sends on the feed. */
export const ServerMessage = Schema.Union(
  Hello,
  Authenticated,
  Subscribed,
  EventMessage,
  NotificationMessage,
  SessionMessage,
  Pong,
  FeedError
)
/** A message from the daemon. */
export type ServerMessage = typeof ServerMessage.Type

/** `{"type":"auth","token":…}`: authenticate a feed opened without the Authorization header. */
export const Auth = Schema.Struct({ type: Schema.Literal("auth"), token: Schema.String })
/**
 * Start receiving: events of `realm` (every realm when absent), notifications for `repo`, session changes.
 * With `after` (a position) the daemon first resends the events after it, and the repo's notifications raised
 * meanwhile; without it the feed starts at the present.
 */
export const Subscribe = Schema.Struct({
  type: Schema.Literal("subscribe"),
  realm: Schema.optional(Schema.String),
  repo: Schema.optional(Schema.String),
  after: Schema.optional(Schema.Int.pipe(Schema.nonNegative()))
})
/** Keep-alive; answered with `pong`. */
export const Ping = Schema.Struct({ type: Schema.Literal("ping") })

/** Every message a client sends on the feed. */
export const ClientMessage = Schema.Union(Auth, Subscribe, Ping)
/** A message from a client. */
export type ClientMessage = typeof ClientMessage.Type

const encodeServer = Schema.encodeSync(ServerMessage)
const decodeServer = Schema.decodeUnknownEither(ServerMessage, { errors: "all" })
const decodeClient = Schema.decodeUnknownEither(ClientMessage, { errors: "all" })

/** The text frame of a server message. */
export const serverFrame = (message: ServerMessage): string => JSON.stringify(encodeServer(message))

/** A recorded event as a feed message. */
export const eventMessage = (r: Recorded): ServerMessage => ({
  type: "event",
  event: { ...eventDocument(r), event: r.envelope.event }
})

const parse = <A>(
  text: string,
  what: string,
  decode: (u: unknown) => Either.Either<A, ParseResult.ParseError>
): Either.Either<A, string> => {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return Either.left(`A feed message must be a JSON object; got ${JSON.stringify(text.slice(0, 60))}.`)
  }
  const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined
  return Either.mapLeft(decode(raw), (e) => {
    const { detail, path } = plainIssue(e)
    if (path === "type" || path === "") return `Unknown ${what}message type ${JSON.stringify(type)}.`
    return `The ${what}message ${JSON.stringify(type)} is malformed: ${path} ${detail}.`
  })
}

/** Decodes a frame the daemon sent: `Left` with one sentence naming what is wrong. */
export const decodeServerMessage = (text: string): Either.Either<ServerMessage, string> =>
  parse(text, "feed ", decodeServer)

/** Decodes a frame a client sent: `Left` with one sentence naming what is wrong. */
export const decodeClientMessage = (text: string): Either.Either<ClientMessage, string> => parse(text, "", decodeClient)
