/**
 * The daemon's HTTP API as one schema'd definition: every route with its request and response schemas and the
 * errors it answers with, each error annotated with its HTTP status. The server (`daemon/apiHandlers.ts`) implements it
 * with `HttpApiBuilder`; clients derive theirs with `HttpApiClient.make(DaemonApi)` (`adapters/daemonApi.ts`), so a
 * request, an answer or a refusal has one shape on both ends. This module imports no server code.
 *
 * Wire shapes are the ones the API always had: snake_case JSON documents, and every refusal as
 * `{"error": {"_tag", "message"}}` — the error classes below carry a transformation to and from that envelope.
 * The WebSocket feed (`/feed`) is not part of this definition.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { OperationRequest, OperationResponse } from "./operationProtocol.js"
import { RunRequest, RunResponse } from "./runProtocol.js"
import { NewSession, Session } from "./session.js"

/** `{"error": {"_tag": tag, "message"}}` on the wire, the tagged error `{_tag, message}` in the program. */
const onTheWire = <Tag extends string, A, R>(
  tag: Tag,
  self: Schema.Schema<A, { readonly _tag: Tag; readonly message: string }, R>,
  status: number
) =>
  Schema.transform(
    Schema.Struct({ error: Schema.Struct({ _tag: Schema.Literal(tag), message: Schema.String }) }),
    self,
    {
      strict: true,
      decode: (wire) => ({ _tag: wire.error._tag, message: wire.error.message }),
      encode: (error) => ({ error: { _tag: error._tag, message: error.message } })
    }
  ).annotations(HttpApiSchema.annotations({ status }))

/** The tags the API refuses with, and their status codes. Any other failure is a 500 `DaemonError`. */
export const ERROR_STATUS = {
  RequestInvalid: 400,
  InvalidName: 400,
  RepoNotInRealm: 400,
  InvalidIdentity: 400,
  Unauthorized: 401,
  ForbiddenHost: 403,
  ForbiddenOrigin: 403,
  RouteNotFound: 404,
  RealmUnknown: 404,
  SessionUnknown: 404,
  NotificationNotFound: 404,
  HistoryRewritten: 409,
  UncommittedChanges: 409,
  ConcurrentUpdate: 409,
  LengthRequired: 411,
  PayloadTooLarge: 413,
  GitLockHeld: 503,
  LockTimeout: 503
} as const

/** A tag of `ERROR_STATUS`. */
export type ApiErrorTag = keyof typeof ERROR_STATUS

const fields = { message: Schema.String }

/** The request's body, path or query does not have the expected shape (the message names what was expected). */
export class RequestInvalid extends Schema.TaggedError<RequestInvalid>()("RequestInvalid", fields) {}
/** A name in the request breaks the naming rules. */
export class InvalidName extends Schema.TaggedError<InvalidName>()("InvalidName", fields) {}
/** The repo named in the request has not joined the realm. */
export class RepoNotInRealm extends Schema.TaggedError<RepoNotInRealm>()("RepoNotInRealm", fields) {}
/** The actor identity the request resolves to is not usable. */
export class InvalidIdentity extends Schema.TaggedError<InvalidIdentity>()("InvalidIdentity", fields) {}
/** The bearer token is missing or wrong (every route but `/health` needs it). */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", fields) {}
/** The Host header does not address this daemon (a DNS-rebinding defence). */
export class ForbiddenHost extends Schema.TaggedError<ForbiddenHost>()("ForbiddenHost", fields) {}
/** A foreign browser origin. */
export class ForbiddenOrigin extends Schema.TaggedError<ForbiddenOrigin>()("ForbiddenOrigin", fields) {}
/** No such path, or not with this method. */
export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", fields) {}
/** The daemon tracks no realm of that name. */
export class RealmUnknown extends Schema.TaggedError<RealmUnknown>()("RealmUnknown", fields) {}
/** No active session has that id. */
export class SessionUnknown extends Schema.TaggedError<SessionUnknown>()("SessionUnknown", fields) {}
/** No pending notification has that id for the repo. */
export class NotificationNotFound extends Schema.TaggedError<NotificationNotFound>()("NotificationNotFound", fields) {}
/** The realm's history was rewritten under the daemon. */
export class HistoryRewritten extends Schema.TaggedError<HistoryRewritten>()("HistoryRewritten", fields) {}
/** The realm's working tree has uncommitted changes. */
export class UncommittedChanges extends Schema.TaggedError<UncommittedChanges>()("UncommittedChanges", fields) {}
/** Another writer moved the realm branch first. */
export class ConcurrentUpdate extends Schema.TaggedError<ConcurrentUpdate>()("ConcurrentUpdate", fields) {}
/** A body sent without Content-Length (chunked). */
export class LengthRequired extends Schema.TaggedError<LengthRequired>()("LengthRequired", fields) {}
/** A body over the API's size limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", fields) {}
/** Git's own lock on the realm is held by another process. */
export class GitLockHeld extends Schema.TaggedError<GitLockHeld>()("GitLockHeld", fields) {}
/** The realm's write lock could not be taken in time. */
export class LockTimeout extends Schema.TaggedError<LockTimeout>()("LockTimeout", fields) {}

/** Any other failure (500), keeping the original error's tag as `tag`. */
export class DaemonError extends Schema.TaggedError<DaemonError>()("DaemonError", {
  tag: Schema.String,
  message: Schema.String
}) {}

const DaemonErrorWire = Schema.transform(
  Schema.Struct({ error: Schema.Struct({ _tag: Schema.String, message: Schema.String }) }),
  DaemonError,
  {
    strict: true,
    decode: (wire) => ({ _tag: "DaemonError" as const, tag: wire.error._tag, message: wire.error.message }),
    encode: (error) => ({ error: { _tag: error.tag, message: error.message } })
  }
).annotations(HttpApiSchema.annotations({ status: 500 }))

/** The error classes by tag. */
export const ApiErrors = {
  RequestInvalid,
  InvalidName,
  RepoNotInRealm,
  InvalidIdentity,
  Unauthorized,
  ForbiddenHost,
  ForbiddenOrigin,
  RouteNotFound,
  RealmUnknown,
  SessionUnknown,
  NotificationNotFound,
  HistoryRewritten,
  UncommittedChanges,
  ConcurrentUpdate,
  LengthRequired,
  PayloadTooLarge,
  GitLockHeld,
  LockTimeout
} as const

/** Any error the API answers with. */
export type ApiError = InstanceType<(typeof ApiErrors)[ApiErrorTag]> | DaemonError

/** `GET /health`: who answers (no token needed). */
export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  pid: Schema.Number,
  port: Schema.Number,
  home: Schema.String,
  version: Schema.String,
  started_at: Schema.String
})

/** A realm the daemon tracks, as `GET /realms` lists it. */
export const RealmRow = Schema.Struct({
  name: Schema.String,
  path: Schema.String,
  url: Schema.NullOr(Schema.String),
  head_commit: Schema.NullOr(Schema.String),
  head_position: Schema.Number
})

/** `GET /realms/{name}`: the realm's state at its head (entries as `realm status --json` shows them). */
export const RealmDocument = Schema.Struct({
  name: Schema.String,
  path: Schema.String,
  head: Schema.String,
  position: Schema.Number,
  realm: Schema.Unknown,
  repos: Schema.Array(Schema.Unknown),
  domains: Schema.Array(Schema.Unknown)
})

/** `POST /realms/{name}/sync`: the head after ingesting, and how many events were published to the feed. */
export const Synced = Schema.Struct({
  name: Schema.String,
  head: Schema.NullOr(Schema.String),
  position: Schema.Number,
  published: Schema.Number
})

/** A JSON object passed through as it is (events and notifications keep their own documented shapes). */
const Document = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** `GET /events`: a page of a realm's events after a position. */
export const EventPage = Schema.Struct({
  realm: Schema.String,
  events: Schema.Array(Document),
  next: Schema.Number
})

/** `GET /sessions`: this machine's active sessions, and the other machines' published ones. */
export const SessionList = Schema.Struct({
  machine: Schema.String,
  sessions: Schema.Array(Session),
  machines: Schema.Array(Document)
})

/** `GET /notifications`. */
export const NotificationList = Schema.Struct({ notifications: Schema.Array(Document) })

/** `POST /notifications/{id}/ack`'s body: the realm, the acknowledging repo and (optionally) the user. */
export const AckRequest = Schema.Struct({
  realm: Schema.String,
  repo: Schema.String,
  user: Schema.optional(Schema.String)
})

/** `POST /notifications/{id}/ack`'s answer: the events recorded and their commit. */
export const Acknowledged = Schema.Struct({
  realm: Schema.String,
  repo: Schema.String,
  acknowledged: Schema.Array(Document),
  commit: Schema.NullOr(Schema.String)
})

const RealmName = Schema.Struct({ name: Schema.String })

/** `/health` and the API's own description. */
export class MetaGroup extends HttpApiGroup.make("meta")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health))
  .add(HttpApiEndpoint.get("openapi", "/openapi.json").addSuccess(Document))
{}

/** The realms the daemon tracks, their state and their event log. */
export class RealmsGroup extends HttpApiGroup.make("realms")
  .add(HttpApiEndpoint.get("list", "/realms").addSuccess(Schema.Struct({ realms: Schema.Array(RealmRow) })))
  .add(HttpApiEndpoint.get("get", "/realms/:name").setPath(RealmName).addSuccess(RealmDocument))
  .add(HttpApiEndpoint.post("sync", "/realms/:name/sync").setPath(RealmName).addSuccess(Synced))
  .add(
    HttpApiEndpoint.get("events", "/events")
      .setUrlParams(Schema.Struct({
        realm: Schema.optional(Schema.String),
        after: Schema.optional(Schema.NumberFromString),
        limit: Schema.optional(Schema.NumberFromString)
      }))
      .addSuccess(EventPage)
  )
{}

/** Sessions: who works where. */
export class SessionsGroup extends HttpApiGroup.make("sessions")
  .add(
    HttpApiEndpoint.get("list", "/sessions")
      .setUrlParams(Schema.Struct({ realm: Schema.optional(Schema.String) }))
      .addSuccess(SessionList)
  )
  .add(
    HttpApiEndpoint.post("start", "/sessions")
      .setPayload(NewSession)
      .addSuccess(Session.annotations(HttpApiSchema.annotations({ status: 201 })))
  )
  .add(HttpApiEndpoint.del("end", "/sessions/:id").setPath(Schema.Struct({ id: Schema.String })).addSuccess(Session))
{}

/** Contract-change notifications and their acknowledgement. */
export class NotificationsGroup extends HttpApiGroup.make("notifications")
  .add(
    HttpApiEndpoint.get("list", "/notifications")
      .setUrlParams(Schema.Struct({
        realm: Schema.optional(Schema.String),
        repo: Schema.optional(Schema.String),
        /** 1, true or yes: only those nobody acknowledged */
        unacknowledged: Schema.optional(Schema.String)
      }))
      .addSuccess(NotificationList)
  )
  .add(
    HttpApiEndpoint.post("ack", "/notifications/:id/ack")
      .setPath(Schema.Struct({ id: Schema.String }))
      .setPayload(AckRequest)
      .addSuccess(Acknowledged)
  )
{}

/** A `blue` command handed to the daemon (the one-writer protocol, `runProtocol.ts`). */
export class CommandsGroup extends HttpApiGroup.make("commands")
  .add(HttpApiEndpoint.post("run", "/run").setPayload(RunRequest).addSuccess(RunResponse))
{}

/**
 * A write operation handed to the daemon by the MCP server (the one-writer protocol, `operationProtocol.ts`); a
 * refusal of the operation is in the 200 answer (`{error}`), arguments that do not decode are a 400 RequestInvalid.
 */
export class OperationsGroup extends HttpApiGroup.make("operations")
  .add(
    HttpApiEndpoint.post("run", "/operations/:tool")
      .setPath(Schema.Struct({ tool: Schema.String }))
      .setPayload(OperationRequest)
      .addSuccess(OperationResponse)
  )
{}

/** The whole API; every route can answer with every error (refusals of the security front included). */
export class DaemonApi extends HttpApi.make("blue-daemon")
  .add(MetaGroup)
  .add(RealmsGroup)
  .add(SessionsGroup)
  .add(NotificationsGroup)
  .add(CommandsGroup)
  .add(OperationsGroup)
  .addError(onTheWire("RequestInvalid", RequestInvalid, ERROR_STATUS.RequestInvalid))
  .addError(onTheWire("InvalidName", InvalidName, ERROR_STATUS.InvalidName))
  .addError(onTheWire("RepoNotInRealm", RepoNotInRealm, ERROR_STATUS.RepoNotInRealm))
  .addError(onTheWire("InvalidIdentity", InvalidIdentity, ERROR_STATUS.InvalidIdentity))
  .addError(onTheWire("Unauthorized", Unauthorized, ERROR_STATUS.Unauthorized))
  .addError(onTheWire("ForbiddenHost", ForbiddenHost, ERROR_STATUS.ForbiddenHost))
  .addError(onTheWire("ForbiddenOrigin", ForbiddenOrigin, ERROR_STATUS.ForbiddenOrigin))
  .addError(onTheWire("RouteNotFound", RouteNotFound, ERROR_STATUS.RouteNotFound))
  .addError(onTheWire("RealmUnknown", RealmUnknown, ERROR_STATUS.RealmUnknown))
  .addError(onTheWire("SessionUnknown", SessionUnknown, ERROR_STATUS.SessionUnknown))
  .addError(onTheWire("NotificationNotFound", NotificationNotFound, ERROR_STATUS.NotificationNotFound))
  .addError(onTheWire("HistoryRewritten", HistoryRewritten, ERROR_STATUS.HistoryRewritten))
  .addError(onTheWire("UncommittedChanges", UncommittedChanges, ERROR_STATUS.UncommittedChanges))
  .addError(onTheWire("ConcurrentUpdate", ConcurrentUpdate, ERROR_STATUS.ConcurrentUpdate))
  .addError(onTheWire("LengthRequired", LengthRequired, ERROR_STATUS.LengthRequired))
  .addError(onTheWire("PayloadTooLarge", PayloadTooLarge, ERROR_STATUS.PayloadTooLarge))
  .addError(onTheWire("GitLockHeld", GitLockHeld, ERROR_STATUS.GitLockHeld))
  .addError(onTheWire("LockTimeout", LockTimeout, ERROR_STATUS.LockTimeout))
  .addError(DaemonErrorWire)
{}

/** The tagged error for a failure of any kind: a known tag keeps its class and status, anything else is a 500. */
export const toApiError = (e: unknown): ApiError => {
  const err = e as { readonly _tag?: unknown; readonly message?: unknown }
  const tag = typeof err?._tag === "string" ? err._tag : "InternalError"
  const message = typeof err?.message === "string" && err.message !== "" ? err.message : String(e)
  if (e instanceof DaemonError) return e
  if (Object.hasOwn(ApiErrors, tag)) {
    const known = e as ApiError
    if (known instanceof ApiErrors[tag as ApiErrorTag]) return known
    return new ApiErrors[tag as ApiErrorTag]({ message })
  }
  return new DaemonError({ tag, message })
}

/** Whether `u` is one of the API's errors (as a client decoded it or a handler raised it). */
export const isApiError = (u: unknown): u is ApiError =>
  u instanceof DaemonError || Object.values(ApiErrors).some((error) => u instanceof error)
