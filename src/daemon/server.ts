/**
 * The per-user daemon: a JSON HTTP API and a WebSocket feed on loopback, as Layers — the HTTP server (http.ts's
 * app, and the feed's upgrades), the feed (feed.ts, driven by the event log's change stream), the ref watcher
 * (refWatcher.ts: commits made outside the daemon), the session mirror and the orphan reaper — composed into
 * `DaemonLive` and run with `Layer.launch` (`serve` does so on a fiber of the caller's scope, returning once it listens).
 * Closing the scope is the graceful shutdown: listeners close, feeds get a close frame, fibers stop.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Deferred, Effect, Fiber, Layer, Schema } from "effect"
import type { Scope } from "effect"
import * as http from "node:http"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import type { DaemonHost, EventLog, Forges, Identity, Sessions } from "../engine/ports.js"
import type { Realms } from "../engine/Realms.js"
import { DaemonConfig, DaemonConfigLive, type DaemonOptions, Ingest, IngestLive } from "./context.js"
import { Feed, FeedLive } from "./feed.js"
import { ForgeReconcilerLive } from "./forgeReconcile.js"
import { makeHttpApp, MAX_BODY_BYTES } from "./http.js"
import { ProposalMergerLive } from "./proposals.js"
import { OrphanReaperLive } from "./reaper.js"
import { RefWatcherLive } from "./refWatcher.js"
import type { CommandProgram, OperationRunner } from "./run.js"
import { checkRequest, tokenMatches } from "./security.js"
import { SessionMirrorLive } from "./sessionMirror.js"

export { eventJson, MAX_BODY_BYTES, sessionProblem } from "./http.js"

/** The daemon could not listen or serve. */
export class DaemonServeError extends Schema.TaggedError<DaemonServeError>()("DaemonServeError", {
  detail: Schema.String
}) {
  override get message() {
    return `The Blue daemon cannot serve: ${this.detail}`
  }
}

/** The HTTP server on 127.0.0.1:port: the API, and `/feed` upgrades handed to the feed. Listens while in scope. */
export const HttpServerLive = Layer.scopedDiscard(Effect.gen(function*() {
  const config = yield* DaemonConfig
  const feed = yield* Feed
  const handler = yield* NodeHttpServer.makeHandler(yield* makeHttpApp)
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

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A peer that resets the socket mid-upgrade must not take the daemon down.
    socket.on("error", () => socket.destroy())
    const path = new URL(req.url ?? "/", "http://daemon").pathname
    const refused = path !== "/feed"
      ? { status: 404, _tag: "RouteNotFound", message: "No such endpoint." }
      : checkRequest({
        host: req.headers.host,
        origin: req.headers.origin,
        authorization: req.headers.authorization,
        path,
        port: config.port,
        token: config.token,
        tokenOptional: true
      })
    if (refused !== undefined) {
      const body = refusal(refused._tag, refused.message)
      socket.end(
        `HTTP/1.1 ${refused.status} ${
          http.STATUS_CODES[refused.status]
        }\r\ncontent-type: application/json\r\ncontent-length: ${
          Buffer.byteLength(body)
        }\r\nconnection: close\r\n\r\n${body}`
      )
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const authenticated = tokenMatches(/^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? "")?.[1], config.token)
      feed.accept(ws, authenticated)
    })
  }
  server.on("upgrade", onUpgrade)
  server.on("clientError", (_e, socket) => socket.destroy())

  yield* Effect.acquireRelease(
    Effect.async<void, DaemonServeError>((resume) => {
      const onError = (e: Error) =>
        resume(Effect.fail(new DaemonServeError({ detail: `127.0.0.1:${config.port}: ${e.message}` })))
      server.once("error", onError)
      server.listen(config.port, "127.0.0.1", () => {
        server.off("error", onError)
        resume(Effect.void)
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        // Stop accepting, close every feed with a proper close frame, then wait for in-flight requests.
        feed.closeAll(false)
        server.close(() => resume(Effect.void))
        server.closeIdleConnections()
        setTimeout(() => {
          feed.closeAll(true)
          server.closeAllConnections()
        }, 2_000).unref()
      })
  )
}))

/** Catches every realm up once before serving, so the feed starts from the present. */
const InitialIngestLive = Layer.effectDiscard(Effect.flatMap(Ingest, (i) => i.all))

/**
 * The whole daemon for `options`: needs the engine (`Realms`), the event log and the session store. The HTTP
 * server is the last to start (after the feed and the first catch-up) and the first to stop.
 */
export const DaemonLive = (options: DaemonOptions) =>
  HttpServerLive.pipe(
    Layer.provideMerge(FeedLive),
    Layer.provideMerge(
      Layer.mergeAll(RefWatcherLive, SessionMirrorLive, OrphanReaperLive, ProposalMergerLive, ForgeReconcilerLive).pipe(
        Layer.provideMerge(InitialIngestLive)
      )
    ),
    Layer.provideMerge(IngestLive),
    Layer.provideMerge(DaemonConfigLive(options))
  )

/**
 * Serves the API and the feed on 127.0.0.1:`port` until the scope closes: the daemon's Layers run with
 * `Layer.launch` on a fiber of that scope, and this returns once the HTTP server listens (or fails as it failed).
 * Closing the scope interrupts the fiber, which closes the Layers' scope: the graceful shutdown.
 */
export const serve = (
  options: DaemonOptions
): Effect.Effect<
  { readonly port: number },
  unknown,
  Scope.Scope | Realms | EventLog | Sessions | DaemonHost | Identity | Forges | CommandProgram | OperationRunner
> =>
  Effect.gen(function*() {
    const listening = yield* Deferred.make<void>()
    const running = yield* Effect.forkScoped(
      Layer.launch(Layer.effectDiscard(Deferred.succeed(listening, undefined)).pipe(Layer.provide(DaemonLive(options))))
    )
    yield* Effect.raceFirst(
      Deferred.await(listening),
      Effect.flatMap(Fiber.join(running), () => Effect.dieMessage("the daemon stopped before it listened"))
    )
    return { port: options.port }
  })
