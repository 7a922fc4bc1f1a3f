/**
 * The per-user daemon: a JSON HTTP API and a WebSocket feed on loopback. It ingests realm commits as they land
 * (the engine's last append step, `Published`, tells it through POST /realms/{name}/sync from a command and in-process
 * for its own writes; a short poll of the realm heads catches the rest) and
 * streams every new event to the feed's subscribers, who can resume from the last position they saw.
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Fiber, Queue, Schedule, Schema } from "effect"
import type { Scope } from "effect"
import * as http from "node:http"
import type { Duplex } from "node:stream"
import { WebSocket, WebSocketServer } from "ws"
import { isAlive, machineName } from "../adapters/daemonRuntime.js"
import { EventLog } from "../adapters/eventLog.js"
import { type Session, Sessions } from "../adapters/sessions.js"
import { Realms } from "../engine/Realms.js"
import { eventDocument } from "../events/codec.js"
import type { Recorded } from "../events/envelope.js"
import { apiApp } from "./apiHandlers.js"
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

const errorResponse = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { _tag: tag, message } }, { status })

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

    const router = yield* apiApp({
      home: options.home,
      port: options.port,
      startedAt,
      machine,
      realmDocuments,
      sync,
      broadcastSession
    })

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
    })

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
  }) satisfies Effect.Effect<{ readonly port: number }, unknown, Scope.Scope | Realms | EventLog | Sessions>
