/**
 * The daemon client as a port, for the shells that talk to the machine's daemon (the CLI's `realm sessions
 * --watch` and session registration, the MCP server's presence): find, check and start the daemon, register and
 * end sessions, follow its feed. Its Live layer is the HTTP client of `daemonClient.ts` and the one feed client of
 * `feedClient.ts`; the shells reach both only through this service.
 */
import { Context, Effect, Layer, type Stream } from "effect"
import type { ApiError } from "../events/daemonApi.js"
import type { ServerMessage } from "../events/feed.js"
import type { OperationRequest } from "../events/operationProtocol.js"
import type { Session } from "../events/session.js"
import {
  activeRfc,
  type Connection,
  daemonAnswers,
  daemonNeeded,
  type DaemonNotStarted,
  type DaemonUnavailable,
  endSession,
  ensureDaemon,
  findDaemon,
  type Handed,
  handOperation,
  memberHere,
  type SessionStart,
  startSession,
  withSession
} from "./daemonClient.js"
import { autoStartEnabled } from "./daemonPresence.js"
import { type FeedMessageInvalid, type FeedOptions, feedStream } from "./feedClient.js"

/** A member repo and its realm. */
export interface MemberHere {
  readonly repo: string
  readonly realm: string
}

/** The client side of the machine's daemon. */
export class DaemonClient extends Context.Tag("blue/DaemonClient")<DaemonClient, {
  /** The daemon of this BLUE_HOME if its PID file and token exist (it may still be down). */
  readonly find: Effect.Effect<Connection | undefined>
  /** Whether the daemon at `conn` answers `GET /health` within `timeoutMs`. */
  readonly answers: (conn: Connection, timeoutMs?: number) => Effect.Effect<boolean>
  /** The running daemon, started in the background first if it is not running. */
  readonly ensure: Effect.Effect<Connection, DaemonUnavailable>
  /** The running daemon, or one started now when auto-start is on; refused with BLUE_DAEMON=off or in CI. */
  readonly needed: Effect.Effect<Connection, DaemonUnavailable | DaemonNotStarted>
  /** Whether a command may start the daemon (not with BLUE_DAEMON=off, not in CI unless BLUE_DAEMON=auto). */
  readonly autoStart: Effect.Effect<boolean>
  /** Registers a session (`POST /sessions`). */
  readonly startSession: (
    conn: Connection,
    session: SessionStart,
    timeoutMs?: number
  ) => Effect.Effect<Session, ApiError | DaemonUnavailable>
  /** Ends a session (`DELETE /sessions/{id}`). */
  readonly endSession: (
    conn: Connection,
    id: string,
    timeoutMs?: number
  ) => Effect.Effect<Session, ApiError | DaemonUnavailable>
  /** The member repo at or above `cwd` and its realm (undefined outside one). */
  readonly memberHere: (cwd?: string) => Effect.Effect<MemberHere | undefined>
  /** The RFC a session in the member repo at or above `dir` works on, when it is known. */
  readonly activeRfc: (dir: string) => Effect.Effect<string | undefined>
  /** The daemon's feed: decoded messages, resumed and reconnected on a schedule whenever the connection is lost. */
  readonly feed: <E, R>(options: FeedOptions<E, R>) => Stream.Stream<ServerMessage, FeedMessageInvalid, R>
  /**
   * Hands a write operation to the running daemon (`POST /operations/{tool}`): ran there, declined (run it
   * in-process), or lost after sending (it may or may not have been recorded). Never fails.
   */
  readonly handOperation: (tool: string, request: OperationRequest) => Effect.Effect<Handed>
  /** Runs `effect` as a registered session when in a member repo; never fails the command because of the daemon. */
  readonly withSession: <A, E, R>(effect: Effect.Effect<A, E, R>, clientId?: string) => Effect.Effect<A, E, R>
}>() {}

/** The daemon client over HTTP and WebSocket on loopback. */
export const DaemonClientLive = Layer.succeed(DaemonClient, {
  find: Effect.sync(() => findDaemon()),
  answers: (conn, timeoutMs) => daemonAnswers(conn, timeoutMs),
  ensure: ensureDaemon,
  needed: daemonNeeded,
  autoStart: Effect.sync(() => autoStartEnabled()),
  startSession: (conn, session, timeoutMs) => startSession(conn, session, timeoutMs),
  endSession: (conn, id, timeoutMs) => endSession(conn, id, timeoutMs),
  memberHere: (cwd) => Effect.sync(() => memberHere(cwd)),
  activeRfc: (dir) => Effect.sync(() => activeRfc(dir)),
  feed: feedStream,
  handOperation,
  withSession
})
