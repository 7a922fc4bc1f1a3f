/**
 * The per-user daemon: a JSON HTTP API and a WebSocket feed on loopback. It ingests realm commits as they land
 * (the engine's last append step, `Published`, tells it through POST /realms/{name}/sync from a command and in-process
 * for its own writes; a short poll of the realm heads catches the rest) and
 * streams every new event to the feed's subscribers, who can resume from the last position they saw.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Fiber, Queue, Schedule, Schema } from "effect"
import type { Scope } from "effect"
import * as http from "node:http"
import type { Duplex } from "node:stream"
import { WebSocket, WebSocketServer } from "ws"
import { isAlive, machineName } from "../adapters/daemonRuntime.js"
import { EventLog } from "../adapters/eventLog.js"
import { currentUser } from "../adapters/identity.js"
import { readBranch } from "../adapters/paths.js"
import { Published } from "../adapters/published.js"
import { NewSession, type Session, Sessions } from "../adapters/sessions.js"
import { nameProblem } from "../domain/nameRules.js"
import { Realms } from "../engine/Realms.js"
import { eventDocument } from "../events/codec.js"
import type { Recorded } from "../events/envelope.js"
import { notificationHistory } from "../projections/notifications.js"
import type { CommandProgram } from "./run.js"
import { runCommand } from "./run.js"
import { RunRequest } from "./runProtocol.js"
import { checkRequest, tokenMatches } from "./security.js"

declare const BLUE_VERSION: string

/** The daemon could not listen or serve. */
export class DaemonServeError extends Schema.TaggedError<DaemonServeError>()("DaemonServeError", {
  detail: Schema.String
}) {
  override get message() {
    return `The Blue daemon cannot serve: ${this.detail}`
  }
}

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

interface Subscriber {
  readonly socket: WebSocket
  authenticated: boolean
  realm: string | undefined
  /** notifications are sent for this repo only (all repos when undefined) */
  repo: string | undefined
  /** last position sent per realm, so catch-up and live events never overlap */
  readonly sent: Map<string, number>
  subscribed: boolean
}

const send = (s: Subscriber, message: unknown) => {
  if (s.socket.readyState === WebSocket.OPEN) s.socket.send(JSON.stringify(message))
}

/** Serves the API and the feed on 127.0.0.1:`port` until the scope closes. */
export const serve = (options: { readonly home: string; readonly port: number; readonly token: string }) =>
  Effect.gen(function*() {
    const realms = yield* Realms
    const log = yield* EventLog
    const sessions = yield* Sessions
    const startedAt = new Date().toISOString()
    const subscribers = new Set<Subscriber>()
    /** GET /realms/{name} documents by realm, with the head they were built at */
    const realmDocuments = new Map<string, { readonly head: string; readonly body: string }>()
    /** last position published to the feed, per realm */
    const published = new Map<string, number>()

    const rowByName = (name: string) =>
      Effect.flatMap(log.realms, (rows) => {
        const row = rows.find((r) => r.name === name)
        return row === undefined
          ? Effect.fail(new ApiError({ tag: "RealmUnknown", text: `This daemon tracks no realm named '${name}'.` }))
          : Effect.succeed(row)
      })

    /** Sends a realm's events after what each subscriber has seen. */
    const deliver = (realm: string, events: ReadonlyArray<Recorded>) => {
      for (const s of subscribers) {
        if (!s.subscribed || (s.realm !== undefined && s.realm !== realm)) continue
        const seen = s.sent.get(realm) ?? 0
        for (const r of events) {
          if (r.envelope.position <= seen) continue
          send(s, { type: "event", event: eventJson(r) })
          s.sent.set(realm, r.envelope.position)
        }
      }
    }

    /** Ingests new realm commits and publishes their events; returns how many were new. */
    const sync = (name: string, localPath: string) =>
      Effect.gen(function*() {
        const { row } = yield* realms.catchUp(localPath)
        let from = published.get(name)
        // After `blue realm admin reindex` (a rewritten history) daemon.db may hold fewer events than were
        // published: publish, and let subscribers receive, the branch's positions from there on.
        if (from !== undefined && row.headPosition < from) {
          from = row.headPosition
          published.set(name, from)
          for (const sub of subscribers) if ((sub.sent.get(name) ?? 0) > from) sub.sent.set(name, from)
        }
        if (from === undefined) {
          // First sight of this realm: nothing to replay to live subscribers, they catch up on subscribe.
          const rows = yield* log.realms
          published.set(name, rows.find((r) => r.name === name)?.headPosition ?? 0)
          return 0
        }
        const events = yield* log.read(name, from)
        if (events.length > 0) {
          published.set(name, events.at(-1)!.envelope.position)
          deliver(name, events)
          const raised = new Set(
            events.filter((r) => r.envelope.type === "ContractBumped" || r.envelope.type === "ContractPublished")
              .map((r) => String(r.envelope.position))
          )
          if (raised.size > 0) {
            const state = yield* realms.stateOf(name)
            const notifications = Object.values(state.pending).filter((n) => raised.has(n.id))
            for (const sub of subscribers) {
              if (!sub.subscribed || (sub.realm !== undefined && sub.realm !== name)) continue
              for (const n of notifications) {
                if (sub.repo === undefined || sub.repo === n.repo) {
                  send(sub, { type: "notification", notification: { ...n, realm: name } })
                }
              }
            }
          }
        }
        return events.length
      })

    const machine = machineName(options.home)
    /** Session changes waiting to be recorded on the realms' `blue/sessions/<machine>` branches. */
    const toMirror = yield* Queue.unbounded<{ readonly change: "started" | "ended"; readonly session: Session }>()
    const mirror = Effect.gen(function*() {
      const batch = yield* Queue.takeBetween(toMirror, 1, 1000)
      const byRealm = new Map<string, Array<{ change: "started" | "ended"; session: Session }>>()
      for (const item of batch) byRealm.set(item.session.realm, [...(byRealm.get(item.session.realm) ?? []), item])
      for (const [realm, items] of byRealm) {
        const row = (yield* log.realms).find((r) => r.name === realm)
        if (row === undefined) continue
        const now = new Date().toISOString()
        const active = yield* sessions.active(realm)
        yield* realms.publishSessions(
          row.localPath,
          machine,
          { machine, updated_at: now, sessions: active },
          items.map((i) => ({
            id: `${i.session.id}-${i.change}`,
            time: now,
            payload: { type: i.change === "started" ? "SessionStarted" : "SessionEnded", machine, session: i.session }
          }))
        ).pipe(Effect.ignore)
      }
    })
    yield* Effect.forkScoped(Effect.forever(mirror))

    const broadcastSession = (change: "started" | "ended", session: Session) => {
      Queue.unsafeOffer(toMirror, { change, session })
      for (const sub of subscribers) {
        if (sub.subscribed && (sub.realm === undefined || sub.realm === session.realm)) {
          send(sub, { type: "session", change, session })
        }
      }
    }

    /** Ends sessions whose process is gone (a client killed with SIGKILL never says goodbye). */
    const endOrphans = Effect.gen(function*() {
      for (const s of yield* sessions.active()) {
        if (s.pid === null || isAlive(s.pid)) continue
        const ended = yield* sessions.end(s.id, "orphaned", new Date().toISOString())
        if (ended !== undefined) broadcastSession("ended", ended)
      }
    })
    yield* endOrphans

    const syncAll = Effect.flatMap(
      log.realms,
      (rows) => Effect.forEach(rows, (r) => sync(r.name, r.localPath).pipe(Effect.ignore), { discard: true })
    )
    yield* syncAll

    const router = HttpRouter.empty.pipe(
      HttpRouter.get(
        "/health",
        Effect.succeed(
          HttpServerResponse.unsafeJson({
            status: "ok",
            pid: process.pid,
            port: options.port,
            home: options.home,
            version: typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev",
            started_at: startedAt
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
      // One writer: a command a CLI handed over, run here (src/daemon/run.ts); its writes publish in-process.
      HttpRouter.post(
        "/run",
        Effect.gen(function*() {
          const req = yield* HttpServerRequest.HttpServerRequest
          const request = yield* Effect.flatMap(req.json, Schema.decodeUnknown(RunRequest)).pipe(
            Effect.mapError(() => new ApiError({ tag: "RequestInvalid", text: "Send a RunRequest as the body." }))
          )
          const published = (realm: string) =>
            Effect.ignore(Effect.flatMap(rowByName(realm), (row) => sync(row.name, row.localPath)))
          const out = yield* runCommand(request).pipe(Effect.provideService(Published, { published }))
          return HttpServerResponse.unsafeJson(out)
        })
      ),
      HttpRouter.post(
        "/realms/:name/sync",
        Effect.gen(function*() {
          const { name } = yield* HttpRouter.params
          const row = yield* rowByName(name ?? "")
          const delivered = yield* sync(row.name, row.localPath)
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
            : Object.values(state.domains).flatMap((d) =>
              (d.bindings[input.repo]?.imports ?? []).map((i) => i.contract)
            )
          const session = yield* sessions.start({
            ...input,
            active_domains: input.active_domains.length > 0 ? input.active_domains : domains,
            imports_watching: input.imports_watching.length > 0 ? input.imports_watching : watching
          }, new Date().toISOString())
          broadcastSession("started", session)
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
          broadcastSession("ended", ended)
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
          const realm = typeof (body as any).realm === "string" ? (body as any).realm as string : undefined
          const repo = typeof (body as any).repo === "string" ? (body as any).repo as string : undefined
          if (realm === undefined || repo === undefined) {
            return yield* new ApiError({
              tag: "RequestInvalid",
              text: "Send {\"realm\": NAME, \"repo\": REPO} as the body."
            })
          }
          const row = yield* rowByName(realm)
          const user = typeof (body as any).user === "string" ? (body as any).user as string : currentUser()
          // The daemon's own write publishes in-process, straight into its feed.
          const out = yield* realms.execute(
            row.localPath,
            { _tag: "AcknowledgeNotifications", ids: [id ?? ""], all: false },
            { repo, user }
          ).pipe(Effect.provideService(Published, { published: () => Effect.ignore(sync(row.name, row.localPath)) }))
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
        port: options.port,
        token: options.token
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

    const handler = yield* NodeHttpServer.makeHandler(app)
    const refusal = (_tag: string, message: string) => JSON.stringify({ error: { _tag, message } })
    const server = http.createServer((req, res) => {
      // Bodies are bounded before anything reads them: a body must declare its length (every client does), and one
      // over the limit is answered at once; the rest of it is read and dropped so the client gets the answer.
      const refuse = (status: number, body: string) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(body)
        req.resume()
      }
      if (req.headers["transfer-encoding"] !== undefined) {
        return refuse(
          411,
          refusal("LengthRequired", "Send the request body with a Content-Length header (not chunked).")
        )
      }
      if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
        return refuse(
          413,
          refusal(
            "PayloadTooLarge",
            `The request body is over the ${MAX_BODY_BYTES / 1024} KiB limit of the Blue daemon's API.`
          )
        )
      }
      handler(req, res)
    })
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 })

    const replay = (s: Subscriber, realm: string, after: number) =>
      Effect.gen(function*() {
        const events = yield* log.read(realm, after)
        s.sent.set(realm, Math.max(s.sent.get(realm) ?? 0, after))
        for (const r of events) {
          if (r.envelope.position <= (s.sent.get(realm) ?? 0)) continue
          send(s, { type: "event", event: eventJson(r) })
          s.sent.set(realm, r.envelope.position)
        }
      })

    const onMessage = (s: Subscriber, data: string) => {
      let msg: any
      try {
        msg = JSON.parse(data)
      } catch {
        return send(s, { type: "error", error: { _tag: "RequestInvalid", message: "Messages are JSON objects." } })
      }
      if (!s.authenticated) {
        if (
          msg?.type === "auth" && tokenMatches(typeof msg.token === "string" ? msg.token : undefined, options.token)
        ) {
          s.authenticated = true
          return send(s, { type: "authenticated" })
        }
        send(s, {
          type: "error",
          error: { _tag: "Unauthorized", message: "Authenticate first: {\"type\":\"auth\",\"token\":…}." }
        })
        return s.socket.close(4401, "unauthorized")
      }
      if (msg?.type === "subscribe") {
        s.realm = typeof msg.realm === "string" ? msg.realm : undefined
        s.repo = typeof msg.repo === "string" ? msg.repo : undefined
        s.subscribed = true
        const after = typeof msg.after === "number" && msg.after >= 0 ? msg.after : undefined
        const catchUp = Effect.gen(function*() {
          const rows = yield* log.realms
          for (const r of rows) {
            if (s.realm !== undefined && r.name !== s.realm) continue
            // Without a position the feed starts at the present; with one it resends what was missed.
            yield* replay(s, r.name, after ?? published.get(r.name) ?? r.headPosition)
            // A returning client also gets the notifications for its repo raised while it was away.
            if (after !== undefined && s.repo !== undefined) {
              const state = yield* realms.stateOf(r.name)
              for (const n of Object.values(state.pending)) {
                if (n.repo === s.repo && Number(n.id) > after) {
                  send(s, { type: "notification", notification: { ...n, realm: r.name } })
                }
              }
            }
          }
          send(s, { type: "subscribed", realm: s.realm ?? null })
        })
        return void Effect.runFork(catchUp.pipe(Effect.ignore))
      }
      if (msg?.type === "ping") return send(s, { type: "pong" })
      send(s, {
        type: "error",
        error: { _tag: "RequestInvalid", message: `Unknown message type ${JSON.stringify(msg?.type)}.` }
      })
    }

    const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      // A peer that resets the socket mid-upgrade must not take the daemon down.
      socket.on("error", () => socket.destroy())
      const path = new URL(req.url ?? "/", "http://daemon").pathname
      const refusal = path !== "/feed"
        ? { status: 404, _tag: "RouteNotFound", message: "No such endpoint." }
        : checkRequest({
          host: req.headers.host,
          origin: req.headers.origin,
          authorization: req.headers.authorization,
          path,
          port: options.port,
          token: options.token,
          tokenOptional: true
        })
      if (refusal !== undefined) {
        const body = JSON.stringify({ error: { _tag: refusal._tag, message: refusal.message } })
        socket.end(
          `HTTP/1.1 ${refusal.status} ${
            http.STATUS_CODES[refusal.status]
          }\r\ncontent-type: application/json\r\ncontent-length: ${
            Buffer.byteLength(body)
          }\r\nconnection: close\r\n\r\n${body}`
        )
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const authenticated = tokenMatches(
          /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? "")?.[1],
          options.token
        )
        const s: Subscriber = {
          socket: ws,
          authenticated,
          realm: undefined,
          repo: undefined,
          sent: new Map(),
          subscribed: false
        }
        subscribers.add(s)
        ws.on("message", (data) => onMessage(s, data.toString()))
        ws.on("close", () => subscribers.delete(s))
        ws.on("error", () => subscribers.delete(s))
        send(s, { type: "hello", version: typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev", authenticated })
        if (!authenticated) {
          setTimeout(() => {
            if (!s.authenticated && ws.readyState === WebSocket.OPEN) ws.close(4401, "unauthorized")
          }, 5_000).unref()
        }
      })
    }
    server.on("upgrade", onUpgrade)
    server.on("clientError", (_e, socket) => socket.destroy())

    yield* Effect.acquireRelease(
      Effect.async<void, DaemonServeError>((resume) => {
        const onError = (e: Error) =>
          resume(Effect.fail(new DaemonServeError({ detail: `127.0.0.1:${options.port}: ${e.message}` })))
        server.once("error", onError)
        server.listen(options.port, "127.0.0.1", () => {
          server.off("error", onError)
          resume(Effect.void)
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          // Stop accepting, close every feed with a proper close frame, then wait for in-flight requests.
          for (const s of subscribers) s.socket.close(1001, "daemon stopping")
          server.close(() => resume(Effect.void))
          server.closeIdleConnections()
          setTimeout(() => {
            for (const s of subscribers) s.socket.terminate()
            server.closeAllConnections()
          }, 2_000).unref()
        })
    )

    // Realms written by other processes or machines: a cheap poll of their heads publishes what landed.
    const poller = yield* Effect.forkScoped(
      Effect.zipRight(syncAll, Effect.ignore(endOrphans)).pipe(
        Effect.repeat(Schedule.spaced("250 millis")),
        Effect.ignore
      )
    )
    yield* Effect.addFinalizer(() => Fiber.interrupt(poller))
    return { port: options.port }
  }) satisfies Effect.Effect<
    { readonly port: number },
    unknown,
    Scope.Scope | Realms | EventLog | Sessions | CommandProgram
  >
