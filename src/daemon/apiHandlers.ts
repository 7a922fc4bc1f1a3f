/**
 * The server side of the daemon's HTTP API (`api.ts`): one handler per endpoint, built with `HttpApiBuilder` into
 * an `HttpApp`. The security front (loopback Host, Origin, token, body-size bounds) stays in `server.ts`, in front
 * of this app. Every failure leaves as a typed error of the definition: engine refusals keep their tag and get
 * their status from `ERROR_STATUS`, a malformed request is `RequestInvalid` naming what to send, an unknown route
 * `RouteNotFound`, anything else a 500 `DaemonError`.
 */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse, OpenApi } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Effect, Layer } from "effect"
import type { Scope } from "effect"
import { nameProblem } from "../domain/nameRules.js"
import { DaemonHost, EventLog, Identity, type NewSession, Published, Sessions } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { eventDocument } from "../events/codec.js"
import {
  DaemonApi,
  DaemonError,
  RealmUnknown,
  RequestInvalid,
  RouteNotFound,
  SessionUnknown,
  toApiError
} from "../events/daemonApi.js"
import { notificationHistory } from "../projections/notifications.js"
import { type CommandProgram, type OperationRunner, runCommand, runOperation } from "./run.js"

declare const BLUE_VERSION: string

/** What the handlers share with the rest of the daemon (its feed, its session mirror, its realm cache). */
export interface ApiContext {
  readonly home: string
  readonly port: number
  readonly startedAt: string
  /** this machine's name on `blue/sessions/<machine>` branches */
  readonly machine: string
  /** GET /realms/{name} documents by realm, with the head they were built at */
  readonly realmDocuments: Map<string, { readonly head: string; readonly body: string }>
  /** ingests a realm's new commits (their events reach the feed on the log's change stream); how many were new */
  readonly sync: (name: string, localPath: string) => Effect.Effect<number, unknown>
}

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

/** One sentence on what to send, by route, for a request whose body or query does not decode. */
const expected = (method: string, path: string): string | undefined =>
  method === "POST" && path === "/sessions"
    ? "Send {repo, realm, client_id?, pid?, active_domains?, imports_watching?} as the body."
    : method === "POST" && /^\/notifications\/[^/]+\/ack$/.test(path)
    ? "Send {\"realm\": NAME, \"repo\": REPO} as the body."
    : method === "GET" && path === "/events"
    ? "after must be a whole number ≥ 0 and limit a whole number from 1 to 5000."
    : method === "POST" && path === "/run"
    ? "Send {argv, cwd, env, stdout_tty, stderr_tty, columns?} as the body."
    : method === "POST" && path.startsWith("/operations/")
    ? "Send {args, cwd, confine?, env} as the body."
    : undefined

/** Maps what the router and the decoders fail with to the API's errors (they encode it with its status). */
const refusals = HttpApiBuilder.middleware(
  DaemonApi,
  (app) =>
    Effect.catchAllCause(app, (cause) =>
      Effect.gen(function*() {
        if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
        const e = Cause.squash(cause) as { readonly _tag?: string; readonly reason?: string; readonly message?: string }
        const req = yield* HttpServerRequest.HttpServerRequest
        const path = new URL(req.url, "http://daemon").pathname
        if (e?._tag === "RouteNotFound") return yield* new RouteNotFound({ message: "No such endpoint." })
        // A body that does not decode (HttpApiDecodeError), or is not JSON at all (the request's own decode error).
        if (e?._tag === "HttpApiDecodeError" || (e?._tag === "RequestError" && e.reason === "Decode")) {
          return yield* new RequestInvalid({
            message: expected(req.method, path) ?? (e.message || "The request does not have the expected shape.")
          })
        }
        if (Cause.isFailure(cause)) return yield* Effect.fail(toApiError(Cause.squash(cause)))
        return yield* new DaemonError({ tag: "InternalError", message: Cause.pretty(cause).split("\n")[0] ?? "" })
      }))
)

/** The handlers of every endpoint; the daemon's own writes publish in-process, straight into its feed. */
const handlers = (ctx: ApiContext) => {
  const rowByName = (name: string) =>
    Effect.flatMap(EventLog, (log) =>
      Effect.flatMap(log.realms, (rows) => {
        const row = rows.find((r) => r.name === name)
        return row === undefined
          ? Effect.fail(new RealmUnknown({ message: `This daemon tracks no realm named '${name}'.` }))
          : Effect.succeed(row)
      }))
  const version = typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev"
  let openApi: Record<string, unknown> | undefined

  const meta = HttpApiBuilder.group(DaemonApi, "meta", (h) =>
    h
      .handle("health", () =>
        Effect.succeed({
          status: "ok" as const,
          pid: process.pid,
          port: ctx.port,
          home: ctx.home,
          version,
          started_at: ctx.startedAt
        }))
      .handle("openapi", () =>
        Effect.sync(() => (openApi ??= OpenApi.fromApi(DaemonApi) as unknown as Record<string, unknown>))))

  const realms = HttpApiBuilder.group(DaemonApi, "realms", (h) =>
    h
      .handle("list", () =>
        Effect.gen(function*() {
          const rows = yield* (yield* EventLog).realms
          return {
            realms: rows.map((r) => ({
              name: r.name,
              path: r.localPath,
              url: r.url ?? null,
              head_commit: r.headCommit ?? null,
              head_position: r.headPosition
            }))
          }
        }).pipe(Effect.mapError(toApiError)))
      .handle("get", ({ path }) =>
        Effect.gen(function*() {
          const row = yield* rowByName(path.name)
          // The document only changes when the realm branch moves: serve it from memory until then.
          const head = yield* (yield* DaemonHost).readBranch(row.localPath, "main")
          const cached = ctx.realmDocuments.get(row.name)
          if (cached !== undefined && head !== undefined && cached.head === head) {
            return HttpServerResponse.text(cached.body, { contentType: "application/json" })
          }
          const open = yield* (yield* Realms).open(row.localPath)
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
          ctx.realmDocuments.set(row.name, { head: open.head, body })
          return HttpServerResponse.text(body, { contentType: "application/json" })
        }).pipe(Effect.mapError(toApiError)))
      .handle("sync", ({ path }) =>
        Effect.gen(function*() {
          const row = yield* rowByName(path.name)
          const delivered = yield* ctx.sync(row.name, row.localPath)
          const after = (yield* (yield* EventLog).realms).find((r) => r.name === row.name)
          return {
            name: row.name,
            head: after?.headCommit ?? null,
            position: after?.headPosition ?? 0,
            published: delivered
          }
        }).pipe(Effect.mapError(toApiError)))
      .handle("events", ({ urlParams }) =>
        Effect.gen(function*() {
          const log = yield* EventLog
          const rows = yield* log.realms
          const name = urlParams.realm ?? (rows.length === 1 ? rows[0]!.name : undefined)
          if (name === undefined) {
            return yield* new RequestInvalid({ message: "Name the realm: GET /events?realm=NAME&after=POSITION." })
          }
          const row = yield* rowByName(name)
          const after = urlParams.after ?? 0
          const limit = urlParams.limit ?? 500
          if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 5000) {
            return yield* new RequestInvalid({ message: expected("GET", "/events")! })
          }
          yield* (yield* Realms).catchUp(row.localPath)
          const events = (yield* log.read(row.name, after)).slice(0, limit)
          return {
            realm: row.name,
            events: events.map(eventDocument),
            next: events.at(-1)?.envelope.position ?? after
          }
        }).pipe(Effect.mapError(toApiError))))

  const sessions = HttpApiBuilder.group(DaemonApi, "sessions", (h) =>
    h
      .handle("list", ({ urlParams }) =>
        Effect.gen(function*() {
          const realms = yield* Realms
          const realm = urlParams.realm
          // Other machines' sessions, as they published them on the realms' blue/sessions/* branches.
          const machines = []
          for (const row of (yield* (yield* EventLog).realms).filter((r) => realm === undefined || r.name === realm)) {
            for (const m of yield* Effect.orElseSucceed(realms.machineSessions(row.localPath), () => [])) {
              if (m.machine !== ctx.machine) machines.push({ realm: row.name, ...m })
            }
          }
          return { machine: ctx.machine, sessions: yield* (yield* Sessions).active(realm), machines }
        }).pipe(Effect.mapError(toApiError)))
      .handle("start", ({ payload: input }) =>
        Effect.gen(function*() {
          const problem = sessionProblem(input)
          if (problem !== undefined) return yield* new RequestInvalid({ message: problem })
          const realms = yield* Realms
          // What the session's repo takes part in, from the realm, unless the client said it.
          const row = (yield* (yield* EventLog).realms).find((r) => r.name === input.realm)
          const state = row === undefined
            ? undefined
            : yield* Effect.orElseSucceed(realms.stateOf(row.name), () => undefined)
          const domains = state === undefined
            ? []
            : Object.entries(state.domains).filter(([, d]) => d.file.members.includes(input.repo)).map(([n]) => n)
          const watching = state === undefined
            ? []
            : Object.values(state.domains).flatMap((d) =>
              (d.bindings[input.repo]?.imports ?? []).map((i) => i.contract)
            )
          const session = yield* (yield* Sessions).start({
            ...input,
            active_domains: input.active_domains.length > 0 ? input.active_domains : domains,
            imports_watching: input.imports_watching.length > 0 ? input.imports_watching : watching
          }, new Date().toISOString())
          return session
        }).pipe(Effect.mapError(toApiError)))
      .handle("end", ({ path }) =>
        Effect.gen(function*() {
          const ended = yield* (yield* Sessions).end(path.id, "deregistered", new Date().toISOString())
          if (ended === undefined) {
            return yield* new SessionUnknown({ message: `No active session ${JSON.stringify(path.id)}.` })
          }
          return ended
        }).pipe(Effect.mapError(toApiError))))

  const notifications = HttpApiBuilder.group(DaemonApi, "notifications", (h) =>
    h
      .handle("list", ({ urlParams }) =>
        Effect.gen(function*() {
          const realms = yield* Realms
          const unacknowledged = ["1", "true", "yes"].includes(urlParams.unacknowledged ?? "")
          const rows = (yield* (yield* EventLog).realms).filter((r) =>
            urlParams.realm === undefined || r.name === urlParams.realm
          )
          if (urlParams.realm !== undefined && rows.length === 0) yield* rowByName(urlParams.realm)
          const notifications = []
          for (const row of rows) {
            const items = yield* realms.foldItems(row.localPath)
            for (const n of notificationHistory(row.name, items)) {
              if (urlParams.repo !== undefined && n.repo !== urlParams.repo) continue
              if (unacknowledged && n.acknowledged_by.length > 0) continue
              notifications.push(n as unknown as Record<string, unknown>)
            }
          }
          return { notifications }
        }).pipe(Effect.mapError(toApiError)))
      .handle("ack", ({ path, payload }) =>
        Effect.gen(function*() {
          const row = yield* rowByName(payload.realm)
          const out = yield* (yield* Realms).execute(
            row.localPath,
            { _tag: "AcknowledgeNotifications", ids: [path.id], all: false },
            { repo: payload.repo, user: payload.user ?? (yield* (yield* Identity).current(process.cwd())) }
          ).pipe(
            // The daemon's own write: its append publishes on the change stream, straight into the feed, so there is
            // nobody to tell (the process's own Published port would call this very daemon back).
            Effect.provideService(Published, { published: () => Effect.void })
          )
          return {
            realm: row.name,
            repo: payload.repo,
            acknowledged: out.events.map((e) => e.event as unknown as Record<string, unknown>),
            commit: out.commit
          }
        }).pipe(Effect.mapError(toApiError))))

  // One writer: a command a CLI handed over, run here with the caller's directory and environment (run.ts). Its
  // appends publish on the event log's change stream, so there is nobody else to tell.
  const commands = HttpApiBuilder.group(
    DaemonApi,
    "commands",
    (h) =>
      h.handle(
        "run",
        ({ payload }) => runCommand(payload).pipe(Effect.provideService(Published, { published: () => Effect.void }))
      )
  )

  // One writer for the MCP server: a write tool call run here for the caller (run.ts), publishing in-process too.
  const operations = HttpApiBuilder.group(
    DaemonApi,
    "operations",
    (h) =>
      h.handle(
        "run",
        ({ path, payload }) =>
          runOperation(path.tool, payload).pipe(Effect.provideService(Published, { published: () => Effect.void }))
      )
  )

  return Layer.mergeAll(meta, realms, sessions, notifications, commands, operations)
}

/** The API as an `HttpApp` for `server.ts` to put behind its security front; its handlers live in the scope. */
export const apiApp = (ctx: ApiContext) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      Layer.mergeAll(HttpApiBuilder.api(DaemonApi).pipe(Layer.provide(handlers(ctx))), refusals).pipe(
        Layer.provideMerge(Layer.mergeAll(HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer))
      )
    )
    const app = yield* Effect.provide(HttpApiBuilder.httpApp, context)
    // The router's default services (file responses, ETags): none of the routes uses them, Node's are provided.
    return Effect.provide(app, yield* Layer.build(NodeHttpServer.layerContext))
  }) satisfies Effect.Effect<
    unknown,
    unknown,
    Scope.Scope | Realms | EventLog | Sessions | DaemonHost | Identity | CommandProgram | OperationRunner
  >
