/**
 * A client's side of the daemon (the CLI's commands and the MCP server): find it (PID file + token), start it when
 * a command needs it, call its API with a bounded timeout, be the `Published` port that tells it of an append, and
 * register sessions.
 */
import { Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { type ApiError, ERROR_STATUS, isApiError } from "../events/daemonApi.js"
import type { OperationRequest, OperationResponse } from "../events/operationProtocol.js"
import { type DaemonApiClient, daemonApiClient } from "./daemonApi.js"
import { autoStartEnabled, runningDaemon } from "./daemonPresence.js"
import { daemonPort, pidFilePath, startDetached, tokenPath } from "./daemonRuntime.js"
import { blueHome } from "./home.js"
import { findMemberRoot, peekMemberConfig } from "./memberConfig.js"
import { Published } from "./published.js"
import type { NewSession } from "./sessions.js"

/** How to reach the running daemon. */
export interface Connection {
  readonly port: number
  readonly token: string
}

/** The daemon could not be reached or started. */
export class DaemonUnavailable extends Schema.TaggedError<DaemonUnavailable>()("DaemonUnavailable", {
  detail: Schema.String
}) {
  override get message() {
    return `The Blue daemon is not available: ${this.detail}. Start it with 'blue daemon start' (see ${
      nodePath.join(blueHome(), "daemon.log")
    }).`
  }
}

/** The daemon of this BLUE_HOME if its PID file and token exist (it may still be down). */
export const findDaemon = (): Connection | undefined => {
  try {
    const home = blueHome()
    const record = JSON.parse(fs.readFileSync(pidFilePath(home), "utf8")) as { port?: unknown }
    if (typeof record.port !== "number") return undefined
    return { port: record.port, token: fs.readFileSync(tokenPath(home), "utf8").trim() }
  } catch {
    return undefined
  }
}

/**
 * Calls the daemon through its derived client (`daemonApi.ts`) within `timeoutMs`: a refusal keeps its tag
 * (`RealmUnknown`, `GitLockHeld`, …); no answer in time, a transport error or an answer that does not decode is
 * DaemonUnavailable.
 */
export const callApi = <A, E, R>(
  conn: Connection,
  call: (client: DaemonApiClient) => Effect.Effect<A, E, R>,
  timeoutMs = 2000
): Effect.Effect<A, ApiError | DaemonUnavailable, R> =>
  Effect.flatMap(daemonApiClient(conn.port, conn.token), call).pipe(
    Effect.timeoutFail({
      duration: timeoutMs,
      onTimeout: () => new DaemonUnavailable({ detail: `no answer within ${timeoutMs} ms` })
    }),
    Effect.catchAll((e): Effect.Effect<never, ApiError | DaemonUnavailable> =>
      Effect.fail(
        isApiError(e) || e instanceof DaemonUnavailable
          ? e
          : new DaemonUnavailable({
            detail: (e as { readonly _tag?: unknown })?._tag === "ParseError"
              ? "its answer did not have the expected shape"
              : e instanceof Error
              ? e.message
              : String(e)
          })
      )
    )
  )

/** Whether the daemon at `conn` answers `GET /health` within `timeoutMs`. */
export const daemonAnswers = (conn: Connection, timeoutMs = 1000): Effect.Effect<boolean> =>
  callApi(conn, (client) => client.meta.health(), timeoutMs).pipe(
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )

/** What a client says of itself when it registers a session (the rest has defaults). */
export type SessionStart = Pick<NewSession, "repo" | "realm"> & Partial<Omit<NewSession, "repo" | "realm">>

/** Registers a session with the daemon (`POST /sessions`). */
export const startSession = (conn: Connection, session: SessionStart, timeoutMs = 2000) =>
  callApi(conn, (client) =>
    client.sessions.start({
      payload: { client_id: "cli", active_domains: [], imports_watching: [], exports_modified: [], ...session }
    }), timeoutMs)

/** Ends a session (`DELETE /sessions/{id}`). */
export const endSession = (conn: Connection, id: string, timeoutMs = 2000) =>
  callApi(conn, (client) => client.sessions.end({ path: { id } }), timeoutMs)

/** What became of a write operation handed to the daemon. */
export type Handed =
  /** the daemon ran it (the operation may have refused: the answer's `error`) */
  | { readonly _tag: "Ran"; readonly response: OperationResponse; readonly pid: number }
  /** nothing reached the daemon, or it refused the request before running anything: run it in-process */
  | { readonly _tag: "Declined"; readonly reason: string }
  /** the connection was lost after the request was sent: the operation may or may not have been recorded */
  | { readonly _tag: "Lost" }

/** Whether a failed request never reached the daemon (the connection was refused before anything was sent). */
const neverSent = (e: unknown): boolean => {
  let cause: unknown = e
  for (let depth = 0; depth < 6 && cause !== null && typeof cause === "object"; depth++) {
    const code = (cause as { readonly code?: unknown }).code
    if (code === "ECONNREFUSED" || code === "EADDRNOTAVAIL") return true
    cause = (cause as { readonly cause?: unknown }).cause
  }
  return false
}

/**
 * Hands a write operation to the running daemon (`POST /operations/{tool}`) and waits for its answer (no timeout:
 * the write takes the realm's turn there as it would take the lock here). Declined when no daemon runs, when the
 * connection is refused, or when the daemon refuses the request before running it (a 4xx: an older daemon, a bad
 * token); Lost when the connection drops, or the daemon fails, after the request was sent. Never fails.
 */
export const handOperation = (tool: string, request: OperationRequest): Effect.Effect<Handed> =>
  Effect.suspend((): Effect.Effect<Handed> => {
    const conn = findDaemon()
    const running = runningDaemon(blueHome())
    if (conn === undefined || running === undefined || running.port !== conn.port) {
      return Effect.succeed({ _tag: "Declined", reason: "no daemon runs" })
    }
    return Effect.flatMap(
      daemonApiClient(conn.port, conn.token),
      (client) => client.operations.run({ path: { tool }, payload: request })
    ).pipe(
      Effect.map((response): Handed => ({ _tag: "Ran", response, pid: running.pid })),
      Effect.catchAll((e): Effect.Effect<Handed> => {
        if (isApiError(e)) {
          const status = (ERROR_STATUS as Record<string, number | undefined>)[e._tag] ?? 500
          return Effect.succeed(
            status < 500 ? { _tag: "Declined", reason: `the daemon refused it (${e._tag})` } : { _tag: "Lost" }
          )
        }
        return Effect.succeed(
          (e as { readonly _tag?: unknown })._tag === "RequestError" && neverSent(e)
            ? { _tag: "Declined", reason: "the daemon cannot be reached" }
            : { _tag: "Lost" }
        )
      })
    )
  })

/** The running daemon, started in the background first if it is not running (a command that needs it). */
export const ensureDaemon: Effect.Effect<Connection, DaemonUnavailable> = Effect.gen(function*() {
  const found = findDaemon()
  if (found !== undefined) {
    if (yield* daemonAnswers(found)) return found
  }
  const home = blueHome()
  const port = yield* daemonPort().pipe(Effect.mapError((e) => new DaemonUnavailable({ detail: e.message })))
  yield* startDetached(home, port, process.argv[1] ?? "").pipe(
    Effect.mapError((e) => new DaemonUnavailable({ detail: e.message }))
  )
  const started = findDaemon()
  if (started === undefined) return yield* new DaemonUnavailable({ detail: "it started but wrote no PID file" })
  return started
})

/** A command needs the daemon, none is running, and the auto-start rule (`autoStartEnabled`) keeps it from starting. */
export class DaemonNotStarted extends Schema.TaggedError<DaemonNotStarted>()("DaemonNotStarted", {
  reason: Schema.String
}) {
  override get message() {
    return `No daemon is running and ${this.reason} keeps it from starting; run 'blue daemon start' first.`
  }
}

/**
 * The daemon a command that cannot do without it talks to (`realm sessions`): the running one, or one started now
 * when auto-start is on; with BLUE_DAEMON=off or in CI it is never started, and the command is refused instead.
 */
export const daemonNeeded: Effect.Effect<Connection, DaemonUnavailable | DaemonNotStarted> = Effect.suspend(
  (): Effect.Effect<Connection, DaemonUnavailable | DaemonNotStarted> => {
    if (autoStartEnabled()) return ensureDaemon
    const found = findDaemon()
    const reason = process.env["BLUE_DAEMON"] === "off" ? "BLUE_DAEMON=off" : `CI=${process.env["CI"] ?? "true"}`
    if (found === undefined || runningDaemon(blueHome()) === undefined) {
      return Effect.fail(new DaemonNotStarted({ reason }))
    }
    return Effect.flatMap(
      daemonAnswers(found),
      (up) => up ? Effect.succeed(found) : Effect.fail(new DaemonNotStarted({ reason }))
    )
  }
)

/** The member repo of the current directory and its realm, from `.blue/config.yaml` (undefined outside one). */
export const memberHere = (
  cwd: string = process.cwd()
): { readonly repo: string; readonly realm: string } | undefined => {
  const root = findMemberRoot(cwd)
  const config = root === undefined ? undefined : peekMemberConfig(root)
  return config === undefined ? undefined : { repo: config.repo, realm: config.realmName }
}

/**
 * The RFC a session in the member repo at or above `dir` works on, when it is known: `BLUE_RFC`, else the branch `blue realm worktree --rfc T`
 * names `feat/T` (the accepted RFC's convention), read from the repo's HEAD (a linked worktree's too).
 */
export const activeRfc = (dir: string, env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const given = env["BLUE_RFC"]
  if (given !== undefined && given !== "") return given
  const root = findMemberRoot(dir) ?? dir
  try {
    let gitDir = nodePath.join(root, ".git")
    if (fs.statSync(gitDir).isFile()) {
      const pointer = /^gitdir: (.+)$/m.exec(fs.readFileSync(gitDir, "utf8"))?.[1]?.trim()
      if (pointer === undefined) return undefined
      gitDir = nodePath.resolve(root, pointer)
    }
    const head = /^ref: refs\/heads\/feat\/(.+)$/m.exec(fs.readFileSync(nodePath.join(gitDir, "HEAD"), "utf8"))
    return head?.[1]?.trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * The daemon a command in a member repo registers with: the running one, or — when auto-start is on (see
 * `autoStartEnabled`) — one started now, as the accepted RFC promises. A daemon that cannot be started costs the
 * command one sentence on stderr, never its result.
 */
const daemonForCommand: Effect.Effect<Connection | undefined> = Effect.suspend(() => {
  const found = findDaemon()
  if (!autoStartEnabled()) return Effect.succeed(found)
  if (found !== undefined && runningDaemon(blueHome()) !== undefined) return Effect.succeed(found)
  return ensureDaemon.pipe(
    Effect.catchAll((e) =>
      Effect.sync(() => {
        process.stderr.write(
          `Note: the Blue daemon could not be started (${
            e.detail.replace(/\.\s*$/, "")
          }), so this command carries on without it; set BLUE_DAEMON=off to stop trying.\n`
        )
        return undefined
      })
    )
  )
})

/**
 * Runs `effect` as a registered session when we are in a member repo: registered on start (starting the daemon
 * first when auto-start is on), deregistered on exit. Never fails the command (a dead daemon costs ≤ 300 ms).
 */
export const withSession = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  clientId = "cli"
): Effect.Effect<A, E, R> => {
  const member = memberHere()
  if (member === undefined) return effect
  const rfc = activeRfc(process.cwd())
  return Effect.acquireUseRelease(
    Effect.flatMap(daemonForCommand, (conn) =>
      conn === undefined
        ? Effect.succeed(undefined)
        : startSession(conn, {
          ...member,
          client_id: clientId,
          pid: process.pid,
          ...(rfc === undefined ? {} : { active_rfc: rfc })
        }, 300).pipe(
          Effect.map((session) => ({ conn, id: session.id })),
          Effect.orElseSucceed(() => undefined)
        )),
    () => effect,
    (s) => s === undefined ? Effect.void : Effect.ignore(endSession(s.conn, s.id, 300))
  )
}

/**
 * The `Published` port for a process that is not the daemon (the CLI, the MCP server): after an append, tell a
 * running daemon to ingest and publish it now (its poll would find it within 250 ms anyway). Best effort and
 * bounded: no daemon, a stale PID file or a slow answer cost at most half a second, never an error.
 */
export const DaemonPublishedLive = Layer.succeed(Published, {
  published: (realm) => {
    const conn = findDaemon()
    return conn === undefined
      ? Effect.void
      : Effect.ignore(callApi(conn, (client) => client.realms.sync({ path: { name: realm } }), 500))
  }
})
