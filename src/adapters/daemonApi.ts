/**
 * The daemon's API client, derived from its definition (`events/daemonApi.ts`) with `HttpApiClient.make`: one typed
 * method per endpoint (`client.sessions.start({ payload })`), the bearer token on every request, over Node's
 * fetch. A refusal arrives as the same tagged error the daemon answered with (`RealmUnknown`, `GitLockHeld`, …).
 * The definition is a protocol module shared by server and clients (no server code), as `runProtocol.ts` is.
 */
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import { DaemonApi } from "../events/daemonApi.js"

/** The derived client of the daemon's API. */
export type DaemonApiClient = Effect.Effect.Success<ReturnType<typeof makeClient>>

const makeClient = (port: number, token: string) =>
  HttpApiClient.make(DaemonApi, {
    baseUrl: `http://127.0.0.1:${port}`,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(token))
  }).pipe(Effect.provide(FetchHttpClient.layer))

const clients = new Map<string, DaemonApiClient>()

/** The client for the daemon on `port` with `token` (built once per connection and process). */
export const daemonApiClient = (port: number, token: string): Effect.Effect<DaemonApiClient> =>
  Effect.suspend(() => {
    const key = `${port} ${token}`
    const known = clients.get(key)
    return known !== undefined
      ? Effect.succeed(known)
      : Effect.tap(makeClient(port, token), (client) => Effect.sync(() => clients.set(key, client)))
  })
