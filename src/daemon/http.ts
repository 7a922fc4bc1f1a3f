/**
 * The daemon's HTTP app: the typed API (api.ts, served by apiHandlers.ts) behind the loopback checks of
 * security.ts (Host, Origin, token), with refusals as `{"error": {_tag, message}}`. One value, `makeHttpApp`, that
 * the HTTP Layer (server.ts) serves; the body-size bounds sit in front of it there.
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { EventLog } from "../engine/ports.js"
import { eventDocument } from "../events/codec.js"
import { apiApp } from "./apiHandlers.js"
import { DaemonConfig, Ingest } from "./context.js"
import { checkRequest } from "./security.js"

export { sessionProblem } from "./apiHandlers.js"

/** An event as the API and the feed send it. */
export const eventJson = eventDocument

/** The largest request body the API reads (sessions and acknowledgements are a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024

const errorResponse = (status: number, tag: string, message: string) =>
  HttpServerResponse.unsafeJson({ error: { _tag: tag, message } }, { status })

/** The API as one HTTP app; needs the engine, the event log, the sessions, the daemon's settings and Ingest. */
export const makeHttpApp = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const ingest = yield* Ingest
  const log = yield* EventLog
  const api = yield* apiApp({
    home: config.home,
    port: config.port,
    startedAt: config.startedAt,
    machine: config.machine,
    realmDocuments: new Map(),
    sync: (name) =>
      Effect.flatMap(log.realms, (rows) => {
        const row = rows.find((r) => r.name === name)
        return row === undefined ? Effect.succeed(0) : ingest.realm(row)
      })
  })
  return Effect.gen(function*() {
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
    return yield* api
  })
})
