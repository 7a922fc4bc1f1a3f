/**
 * This machine's session facts: a session started or ended. Typed events in the same family as realm events
 * (a Schema per event, a version per type, an upcaster for older shapes), recorded in daemon.db's `local_events`
 * and, for other machines, as files on the realm's `blue/sessions/<machine>` branch.
 */
import { Either, Schema } from "effect"
import { plainIssue } from "../domain/parseIssues.js"

/** A session as the API and the feed show it. */
export const Session = Schema.Struct({
  id: Schema.String,
  repo: Schema.String,
  realm: Schema.String,
  client_id: Schema.String,
  pid: Schema.NullOr(Schema.Number),
  started_at: Schema.String,
  last_activity: Schema.String,
  active_rfc: Schema.NullOr(Schema.String),
  active_domains: Schema.Array(Schema.String),
  imports_watching: Schema.Array(Schema.String),
  exports_modified: Schema.Array(Schema.String),
  ended_at: Schema.NullOr(Schema.String),
  end_reason: Schema.NullOr(Schema.String)
})
/** A session. */
export type Session = typeof Session.Type

/** What a client registers. */
export const NewSession = Schema.Struct({
  repo: Schema.String,
  realm: Schema.String,
  client_id: Schema.optionalWith(Schema.String, { default: () => "cli" }),
  pid: Schema.optional(Schema.Int),
  active_rfc: Schema.optional(Schema.String),
  active_domains: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  imports_watching: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  exports_modified: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})
/** What a client registers. */
export type NewSession = typeof NewSession.Type

/** A session was registered with the machine's daemon. */
export class SessionStarted extends Schema.TaggedClass<SessionStarted>()("SessionStarted", {
  session: Session
}) {}

/** A session ended: its client said goodbye (`deregistered`) or its process was gone (`orphaned`). */
export class SessionEnded extends Schema.TaggedClass<SessionEnded>()("SessionEnded", {
  session: Session,
  reason: Schema.String
}) {}

/** A session fact. */
export const SessionEvent = Schema.Union(SessionStarted, SessionEnded)
/** A session fact. */
export type SessionEvent = typeof SessionEvent.Type

/**
 * Version of each session event's payload. Version 1 was the ad-hoc JSON written before the events were typed
 * (`{session: ID, repo, realm, client_id}` / `{session: ID, repo, realm, reason}`); the upcaster below reads it.
 */
export const sessionSchemaVersions: Readonly<Record<SessionEvent["_tag"], number>> = {
  SessionStarted: 2,
  SessionEnded: 2
}

/** A session event as it is recorded: its id (a ULID), time, the machine, and the event. */
export const SessionEnvelope = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("SessionStarted", "SessionEnded"),
  schemaVersion: Schema.Int,
  time: Schema.String,
  machine: Schema.optional(Schema.String),
  event: SessionEvent
})
/** A recorded session event. */
export type SessionEnvelope = typeof SessionEnvelope.Type

const encodeSession = Schema.encodeSync(SessionEvent)
const decodeSession = Schema.decodeUnknownEither(SessionEvent, { errors: "all" })

/** The payload stored for a session event (daemon.db's `local_events.payload`). */
export const encodeSessionEvent = (e: SessionEvent): unknown => encodeSession(e)

/** Brings a version-1 (untyped) payload to the current shape; the fields it never recorded are empty. */
const upcastV1 = (type: string, time: string, raw: Record<string, unknown>): Record<string, unknown> => {
  const text = (v: unknown) => (typeof v === "string" ? v : null)
  const session = {
    id: String(raw["session"] ?? ""),
    repo: String(raw["repo"] ?? ""),
    realm: String(raw["realm"] ?? ""),
    client_id: text(raw["client_id"]) ?? "cli",
    pid: null,
    started_at: time,
    last_activity: time,
    active_rfc: null,
    active_domains: [],
    imports_watching: [],
    exports_modified: [],
    ended_at: type === "SessionEnded" ? time : null,
    end_reason: type === "SessionEnded" ? text(raw["reason"]) : null
  }
  return type === "SessionEnded"
    ? { _tag: type, session, reason: text(raw["reason"]) ?? "deregistered" }
    : { _tag: type, session }
}

/**
 * Decodes a stored session event (a `local_events` row, or an event file of a sessions branch), of either the typed
 * shape or the older ad-hoc one: `Left` with one plain sentence when it is neither.
 */
export const decodeSessionEvent = (
  type: string,
  time: string,
  payload: unknown
): Either.Either<SessionEvent, string> => {
  if (payload === null || typeof payload !== "object") return Either.left(`the ${type} payload is not an object`)
  const raw = payload as Record<string, unknown>
  // The sessions branch's old files: {type, machine, session: Session}.
  const shaped = "_tag" in raw
    ? raw
    : typeof raw["session"] === "object" && raw["session"] !== null
    ? { _tag: type, session: raw["session"], ...(type === "SessionEnded" ? { reason: "deregistered" } : {}) }
    : upcastV1(type, time, raw)
  return Either.mapLeft(decodeSession(shaped), (e) => {
    const { detail, path } = plainIssue(e)
    return path === "" ? `${type}: ${detail}` : `${type}: ${path} ${detail}`
  })
}

/** Another machine's live session, as it published it on the realm's `blue/sessions/<machine>` branch. */
export interface RemoteSession extends Session {
  /** the machine it runs on */
  readonly machine: string
  /** when that machine last published its sessions (null when its snapshot did not say) */
  readonly seen_at: string | null
}

/**
 * The live sessions in a machine's published snapshot (`{machine, updated_at, sessions: [Session…]}`), read loosely:
 * an entry without a repo or start time, or one that has ended, is left out; missing fields get their empty value.
 */
export const publishedSessions = (
  machine: string,
  snapshot: unknown,
  seenAt: string | null
): ReadonlyArray<RemoteSession> => {
  const listed = (snapshot as { sessions?: unknown } | null)?.sessions
  const text = (v: unknown): string | null => (typeof v === "string" ? v : null)
  const texts = (v: unknown): Array<string> => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : [])
  return (Array.isArray(listed) ? listed : []).flatMap((raw: unknown): Array<RemoteSession> => {
    const x = (raw !== null && typeof raw === "object" ? raw : {}) as Record<string, unknown>
    const repo = text(x["repo"])
    const started = text(x["started_at"])
    if (repo === null || started === null || text(x["ended_at"]) !== null) return []
    return [{
      id: text(x["id"]) ?? "",
      repo,
      realm: text(x["realm"]) ?? "",
      client_id: text(x["client_id"]) ?? "cli",
      pid: typeof x["pid"] === "number" ? x["pid"] : null,
      started_at: started,
      last_activity: text(x["last_activity"]) ?? started,
      active_rfc: text(x["active_rfc"]),
      active_domains: texts(x["active_domains"]),
      imports_watching: texts(x["imports_watching"]),
      exports_modified: texts(x["exports_modified"]),
      ended_at: null,
      end_reason: null,
      machine,
      seen_at: seenAt
    }]
  })
}
