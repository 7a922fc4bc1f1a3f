/**
 * The daemon's HTTP API: the routes (health, realms, sync, sessions, notifications, events) behind the loopback
 * checks of security.ts, with errors as `{"error": {_tag, message}}`. One value, `makeHttpApp`, that the HTTP
 * Layer (server.ts) serves.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { EventLog } from "../adapters/eventLog.js"
import { currentUser } from "../adapters/identity.js"
import { readBranch } from "../adapters/paths.js"
import { Published } from "../adapters/published.js"
import { NewSession, Sessions } from "../adapters/sessions.js"
import { nameProblem } from "../domain/nameRules.js"
import { Realms } from "../engine/Realms.js"
import { eventDocument } from "../events/codec.js"
import { notificationHistory } from "../projections/notifications.js"
import { DaemonConfig, Ingest } from "./context.js"
import { checkRequest } from "./security.js"

declare const BLUE_VERSION: string

/** An event as the API and the feed send it. */
export const eventJson = eventDocument

/** The largest request body the API reads (sessions and acknowledgements are a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024

/** At most this many names in a session's lists, each a name; client_id and active_rfc at most this long. */
const MAX_SESSION_LIST = 256
const MAX_SESSION_TEXT = 200

/** Why a session registration cannot be recorded (one sentence naming the field), or undefined. */
export const sessionProblem = (s: NewSession): string | undefined => {
  for (const field of ["repo", "realm"] as const) {
    const reason = nameProblem(s[field])
    if (reason !== undefined) {
      return `${field} ${JSON.stringify(s[field].slice(0, 80))} ${reason}; send the repo's and realm's names.`
    }
  }
  for (const field of ["client_id", "active_rfc"] as const) {
    const v = s[field]
    if (v !== undefined && (v.length > MAX_SESSION_TEXT || /[\u0000-\u001f\u007f]/.test(v))) {
      return `${field} must be at most ${MAX_SESSION_TEXT} characters without control characters.`
    }
  }
  for (const field of ["active_domains", "imports_watching", "exports_modified"] as const) {
    const list = s[field]
    if (list.length > MAX_SESSION_LIST) {
      return `${field} has ${list.length} entries; at most ${MAX_SESSION_LIST} are allowed.`
    }
    for (const name of list) {
      const reason = nameProblem(name)
      if (reason !== undefined) {
        return `${field} entry ${JSON.stringify(name.slice(0, 80))} ${reason}; send domain and contract names.`
      }
    }
  }
  if (s.pid !== undefined && (s.pid < 1 || s.pid > 4_194_304)) return `pid ${s.pid} is not a process id.`
  return undefined
}

const errorResponse = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { _tag: tag, message } }, { status })

const statusOf = (tag: string) =>
  tag === "RealmUnknown" || tag === "RouteNotFound" || tag === "NotificationNotFound" || tag === "SessionUnknown"
    ? 404
    : tag === "RepoNotInRealm" || tag === "InvalidName"
    ? 400
    : tag === "RequestInvalid"
    ? 400
    : tag === "LockTimeout" || tag === "GitLockHeld"
    ? 503
    : tag === "HistoryRewritten" || tag === "UncommittedChanges" || tag === "ConcurrentUpdate"
    ? 409
    : tag === "InvalidIdentity"
    ? 400
    : 500

/** A request the API refuses for its own reasons (unknown realm, bad parameters). */
class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  tag: Schema.String,
  text: Schema.String
}) {}

/** A string field of a JSON body, or undefined. */
const textField = (body: unknown, key: string): string | undefined => {
  const v = typeof body === "object" && body !== null ? (body as Record<string, unknown>)[key] : undefined
  return typeof v === "string" ? v : undefined
}

/** The API as one HTTP app; needs the engine, the event log, the sessions, the daemon's settings and Ingest. */
export const makeHttpApp = Effect.gen(function*() {
  const realms = yield* Realms
  const log = yield* EventLog
  const sessions = yield* Sessions
  const config = yield* DaemonConfig
  const ingest = yield* Ingest
  const machine = config.machine
  /** GET /realms/{name} documents by realm, with the head they were built at */
  const realmDocuments = new Map<string, { readonly head: string; readonly body: string }>()

  const rowByName = (name: string) =>
    Effect.flatMap(log.realms, (rows) => {
      const row = rows.find((r) => r.name === name)
      return row === undefined
        ? Effect.fail(new ApiError({ tag: "RealmUnknown", text: `This daemon tracks no realm named '${name}'.` }))
        : Effect.succeed(row)
    })

  const router = HttpRouter.empty.pipe(
    HttpRouter.get(
      "/health",
      Effect.succeed(
        HttpServerResponse.unsafeJson({
          status: "ok",
          pid: process.pid,
          port: config.port,
          home: config.home,
          version: typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev",
          started_at: config.startedAt
        })
      )
    ),
    HttpRouter.get(
      "/realms",
      Effect.map(log.realms, (rows) =>
        HttpServerResponse.unsafeJson({
          realms: rows.map((r) => ({
            name: r.name,
            path: r.localPath,
            url: r.url ?? null,
            head_commit: r.headCommit ?? null,
            head_position: r.headPosition
          }))
        }))
    ),
    HttpRouter.get(
      "/realms/:name",
      Effect.gen(function*() {
        const { name } = yield* HttpRouter.params
        const row = yield* rowByName(name ?? "")
        // The document only changes when the realm branch moves: serve it from memory until then.
        const head = readBranch(row.localPath, "main")
        const cached = realmDocuments.get(row.name)
        if (cached !== undefined && head !== undefined && cached.head === head) {
          return HttpServerResponse.text(cached.body, { contentType: "application/json" })
        }
        const open = yield* realms.open(row.localPath)
        const s = open.state
        const body = JSON.stringify({
          name: open.name,
          path: open.dir,
          head: open.head,
          position: s.position,
          realm: s.realm ?? null,
          repos: Object.values(s.repos),
          domains: Object.values(s.domains).map((d) => ({
            ...d.file,
            contracts: Object.values(d.contracts),
            bindings: Object.values(d.bindings)
          }))
        })
        realmDocuments.set(row.name, { head: open.head, body })
        return HttpServerResponse.text(body, { contentType: "application/json" })
      })
    ),
    HttpRouter.post(
      "/realms/:name/sync",
      Effect.gen(function*() {
        const { name } = yield* HttpRouter.params
        const row = yield* rowByName(name ?? "")
        const delivered = yield* ingest.realm(row)
        const after = (yield* log.realms).find((r) => r.name === row.name)
        return HttpServerResponse.unsafeJson({
          name: row.name,
          head: after?.headCommit ?? null,
          position: after?.headPosition ?? 0,
          published: delivered
        })
      })
    ),
    HttpRouter.get(
      "/sessions",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        const realm = new URL(req.url, "http://daemon").searchParams.get("realm") ?? undefined
        // Other machines' sessions, as they published them on the realms' blue/sessions/* branches.
        const machines = []
        for (const row of (yield* log.realms).filter((r) => realm === undefined || r.name === realm)) {
          for (const m of yield* Effect.orElseSucceed(realms.machineSessions(row.localPath), () => [])) {
            if (m.machine !== machine) machines.push({ realm: row.name, ...m })
          }
        }
        return HttpServerResponse.unsafeJson({ machine, sessions: yield* sessions.active(realm), machines })
      })
    ),
    HttpRouter.post(
      "/sessions",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        const raw = yield* Effect.orElseSucceed(req.json, () => undefined)
        const input = yield* Schema.decodeUnknown(NewSession)(raw).pipe(
          Effect.mapError(() =>
            new ApiError({
              tag: "RequestInvalid",
              text: "Send {repo, realm, client_id?, pid?, active_domains?, imports_watching?} as the body."
            })
          )
        )
        const problem = sessionProblem(input)
        if (problem !== undefined) return yield* new ApiError({ tag: "RequestInvalid", text: problem })
        // What the session's repo takes part in, from the realm, unless the client said it.
        const row = (yield* log.realms).find((r) => r.name === input.realm)
        const state = row === undefined
          ? undefined
          : yield* Effect.orElseSucceed(realms.stateOf(row.name), () => undefined)
        const domains = state === undefined
          ? []
          : Object.entries(state.domains).filter(([, d]) => d.file.members.includes(input.repo)).map(([n]) => n)
        const watching = state === undefined
          ? []
          : Object.values(state.domains).flatMap((d) => (d.bindings[input.repo]?.imports ?? []).map((i) => i.contract))
        const session = yield* sessions.start({
          ...input,
          active_domains: input.active_domains.length > 0 ? input.active_domains : domains,
          imports_watching: input.imports_watching.length > 0 ? input.imports_watching : watching
        }, new Date().toISOString())
        return HttpServerResponse.unsafeJson(session, { status: 201 })
      })
    ),
    HttpRouter.del(
      "/sessions/:id",
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        const ended = yield* sessions.end(id ?? "", "deregistered", new Date().toISOString())
        if (ended === undefined) {
          return yield* new ApiError({ tag: "SessionUnknown", text: `No active session ${JSON.stringify(id)}.` })
        }
        return HttpServerResponse.unsafeJson(ended)
      })
    ),
    HttpRouter.get(
      "/notifications",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        const url = new URL(req.url, "http://daemon")
        const realmFilter = url.searchParams.get("realm")
        const repoFilter = url.searchParams.get("repo")
        const unacknowledged = ["1", "true", "yes"].includes(url.searchParams.get("unacknowledged") ?? "")
        const rows = (yield* log.realms).filter((r) => realmFilter === null || r.name === realmFilter)
        if (realmFilter !== null && rows.length === 0) yield* rowByName(realmFilter)
        const notifications = []
        for (const row of rows) {
          const items = yield* realms.foldItems(row.localPath)
          for (const n of notificationHistory(row.name, items)) {
            if (repoFilter !== null && n.repo !== repoFilter) continue
            if (unacknowledged && n.acknowledged_by.length > 0) continue
            notifications.push(n)
          }
        }
        return HttpServerResponse.unsafeJson({ notifications })
      })
    ),
    HttpRouter.post(
      "/notifications/:id/ack",
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        const req = yield* HttpServerRequest.HttpServerRequest
        const body = yield* Effect.orElseSucceed(req.json, () => ({}))
        const realm = textField(body, "realm")
        const repo = textField(body, "repo")
        if (realm === undefined || repo === undefined) {
          return yield* new ApiError({
            tag: "RequestInvalid",
            text: "Send {\"realm\": NAME, \"repo\": REPO} as the body."
          })
        }
        const row = yield* rowByName(realm)
        const user = textField(body, "user") ?? currentUser()
        // The daemon's own write: its append publishes on the change stream, straight into the feed, so there is
        // nobody to tell (the process's own Published port would call this very daemon back).
        const out = yield* realms.execute(
          row.localPath,
          { _tag: "AcknowledgeNotifications", ids: [id ?? ""], all: false },
          { repo, user }
        ).pipe(Effect.provideService(Published, { published: () => Effect.void }))
        return HttpServerResponse.unsafeJson({
          realm: row.name,
          repo,
          acknowledged: out.events.map((e) => e.event),
          commit: out.commit
        })
      })
    ),
    HttpRouter.get(
      "/events",
      Effect.gen(function*() {
        const req = yield* HttpServerRequest.HttpServerRequest
        const url = new URL(req.url, "http://daemon")
        const rows = yield* log.realms
        const name = url.searchParams.get("realm") ?? (rows.length === 1 ? rows[0]!.name : undefined)
        if (name === undefined) {
          return yield* new ApiError({
            tag: "RequestInvalid",
            text: "Name the realm: GET /events?realm=NAME&after=POSITION."
          })
        }
        const row = yield* rowByName(name)
        const after = Number(url.searchParams.get("after") ?? 0)
        const limit = Number(url.searchParams.get("limit") ?? 500)
        if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 5000) {
          return yield* new ApiError({
            tag: "RequestInvalid",
            text: "after must be a whole number ≥ 0 and limit a whole number from 1 to 5000."
          })
        }
        yield* realms.catchUp(row.localPath)
        const events = (yield* log.read(row.name, after)).slice(0, limit)
        return HttpServerResponse.unsafeJson({
          realm: row.name,
          events: events.map(eventJson),
          next: events.at(-1)?.envelope.position ?? after
        })
      })
    )
  )

  const app = Effect.gen(function*() {
    const req = yield* HttpServerRequest.HttpServerRequest
    const refusal = checkRequest({
      host: req.headers["host"],
      origin: req.headers["origin"],
      authorization: req.headers["authorization"],
      path: new URL(req.url, "http://daemon").pathname,
      port: config.port,
      token: config.token
    })
    if (refusal !== undefined) return errorResponse(refusal.status, refusal._tag, refusal.message)
    return yield* router
  }).pipe(
    Effect.catchAll((e: unknown) => {
      const err = e as { _tag?: string; tag?: string; text?: string; message?: string }
      const tag = err._tag === "ApiError" ? err.tag! : err._tag ?? "InternalError"
      const message = err._tag === "ApiError"
        ? err.text!
        : err._tag === "RouteNotFound"
        ? "No such endpoint."
        : err.message ?? String(e)
      return Effect.succeed(errorResponse(statusOf(tag), tag, message))
    })
  )

  return app
})
