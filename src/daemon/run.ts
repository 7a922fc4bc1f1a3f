/**
 * One writer: the daemon runs a `blue` command a CLI process handed over (`POST /run`, src/events/runProtocol.ts)
 * with the very command program the CLI would have run itself (src/cli/program.ts), in this warm process, for the
 * caller's directory and environment. Its output and exit code are captured per run (`Invocation`), so concurrent
 * runs share nothing but the engine. Writes to one local realm are serialised here, in-process; a remote realm's
 * are serialised, and folded, by the engine's write queue. The realm's file lock stays, so a stray CLI process (the
 * daemon off for it, an older `blue`) backs off as before.
 */
import { Cause, Context, Effect, Option } from "effect"
import * as nodePath from "node:path"
import { escapeControls } from "../domain/text.js"
import { capturedInvocation, Invocation } from "../engine/invocation.js"
import { DaemonHost, DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutIn, type Published } from "../engine/ports.js"
import { RequestInvalid, RouteNotFound } from "../events/daemonApi.js"
import type { OperationRequest, OperationResponse } from "../events/operationProtocol.js"
import { RUN_ENV_VARIABLES, type RunRequest, type RunResponse } from "../events/runProtocol.js"
import type { At } from "../operations/operation.js"

/**
 * The `blue` command program, provided by the CLI that runs the daemon (`blue daemon run`): it runs one command
 * line for the current `Invocation` and `Published`. A service rather than an import, so the daemon does not import
 * the command tree that contains it.
 */
export class CommandProgram extends Context.Tag("blue/CommandProgram")<CommandProgram, {
  /** runs the arguments after `blue`, printing through the current `Invocation`, publishing through `Published` */
  readonly run: (argv: ReadonlyArray<string>) => Effect.Effect<unknown, never, Published>
}>() {}

/**
 * The write operations, provided (as `CommandProgram` is) by the CLI that runs the daemon, with the services they
 * need: for an MCP server that hands a write tool call over (`POST /operations/{tool}`).
 */
export class OperationRunner extends Context.Tag("blue/OperationRunner")<OperationRunner, {
  /** whether `tool` names a write operation, a read-only one, or none */
  readonly kind: (tool: string) => "write" | "read-only" | undefined
  /**
   * decodes the tool's arguments with the operation's Schema and runs it for the current `Invocation`, publishing
   * through `Published`; a refusal is the answer's `error`, arguments that do not decode fail with their sentence
   */
  readonly run: (
    tool: string,
    args: unknown,
    at: At
  ) => Effect.Effect<OperationResponse, { readonly message: string }, Published>
}>() {}

/** One permit per realm: the daemon's writes to a realm take turns here instead of polling its file lock. */
const realmTurns = new Map<string, Effect.Semaphore>()

const turnOf = (key: string): Effect.Semaphore => {
  let turn = realmTurns.get(key)
  if (turn === undefined) realmTurns.set(key, turn = Effect.unsafeMakeSemaphore(1))
  return turn
}

/** The variables a command may read, and only those (the client sends no others; a stray one is dropped). */
const commandEnv = (env: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of RUN_ENV_VARIABLES) if (env[name] !== undefined) out[name] = env[name]
  return out
}

/**
 * Runs one command for a caller in another process and answers with what it printed and its exit code; the
 * caller's `Published` (the daemon's in-process publishing) tells the feed of its writes. Never fails: a defect is
 * reported as the command's one-sentence error, exit 1.
 */
export const runCommand = (
  request: RunRequest
): Effect.Effect<RunResponse, never, CommandProgram | Published | DaemonHost> =>
  Effect.gen(function*() {
    const host = yield* DaemonHost
    if (!nodePath.isAbsolute(request.cwd) || !(yield* host.isDirectory(request.cwd))) {
      return {
        exit_code: 1,
        stdout: "",
        stderr: `Error: ${escapeControls(JSON.stringify(request.cwd))} is not a directory the daemon can run in.\n`
      }
    }
    const words = request.argv.filter((a) => !a.startsWith("-"))
    if (words[0] === "daemon" || words[0] === "mcp" || (words[0] === "realm" && words[1] === "sessions")) {
      // They manage this process, serve stdio or stream until interrupted: they only run in a process of their own.
      return {
        exit_code: 64,
        stdout: "",
        stderr: `Error: 'blue ${words.slice(0, 2).join(" ")}' runs in its own process, not in the daemon.\n`
      }
    }
    const program = yield* CommandProgram
    const env = commandEnv(request.env)
    const { invocation, result } = capturedInvocation({
      cwd: request.cwd,
      env,
      stdoutTty: request.stdout_tty,
      stderrTty: request.stderr_tty,
      columns: request.columns
    })
    const command = program.run(request.argv).pipe(
      Effect.provideService(Invocation, invocation),
      Effect.catchAllCause((cause) =>
        Effect.sync(() => {
          if (Cause.isInterruptedOnly(cause)) return
          invocation.stderr(`Error: ${escapeControls(String(Cause.squash(cause)))}\n`)
          invocation.setExitCode(1)
        })
      )
    )
    yield* inRealmTurn(request.cwd, env, command)
    return result()
  })

/**
 * Runs `write` in the turn of the realm `cwd` writes to, waiting at most the caller's BLUE_LOCK_TIMEOUT_MS; past
 * that, runs it anyway and lets the realm's file lock refuse it with the usual LockTimeout. The realm is "" when not
 * known yet (`init`, `join` from a repo that has not joined): one shared turn. A remote realm's member runs at once:
 * the engine queues and folds its appends (src/engine/realms/writes.ts).
 */
const inRealmTurn = <A, E, R>(
  cwd: string,
  env: Readonly<Record<string, string>>,
  write: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | DaemonHost> =>
  Effect.gen(function*() {
    const realm = yield* (yield* DaemonHost).realmOf(cwd)
    // A remote realm's writes take their turns in the engine's write queue instead, which folds the commands queued
    // behind an append in flight (or retrying after a lost race) into its next attempt: they must reach it together.
    if (/^https?:\/\//i.test(realm)) return yield* write
    const turn = turnOf(realm)
    const waitMs = lockTimeoutIn(env) ?? DEFAULT_LOCK_TIMEOUT_MS
    const got = yield* Effect.timeoutOption(turn.take(1), waitMs)
    return yield* Option.isSome(got) ? Effect.ensuring(write, turn.release(1)) : write
  })

/**
 * Runs one write operation for an MCP server in another process (`POST /operations/{tool}`): decoded with the
 * operation's Schema, for the caller's directory and environment (its output streams are unused), in the realm's
 * turn. A refusal is the answer's `error`; an unknown tool is RouteNotFound, a read-only one (reads run in the
 * client) and arguments that do not decode are RequestInvalid.
 */
export const runOperation = (
  tool: string,
  request: OperationRequest
): Effect.Effect<OperationResponse, RequestInvalid | RouteNotFound, OperationRunner | Published | DaemonHost> =>
  Effect.gen(function*() {
    const runner = yield* OperationRunner
    const kind = runner.kind(tool)
    if (kind === undefined) {
      return yield* new RouteNotFound({ message: `No operation named ${escapeControls(JSON.stringify(tool))}.` })
    }
    if (kind === "read-only") {
      return yield* new RequestInvalid({
        message: `${tool} only reads: reads run in the client; the daemon takes write operations only.`
      })
    }
    const host = yield* DaemonHost
    if (!nodePath.isAbsolute(request.cwd) || !(yield* host.isDirectory(request.cwd))) {
      return yield* new RequestInvalid({
        message: `${escapeControls(JSON.stringify(request.cwd))} is not a directory the daemon can run in.`
      })
    }
    const env = commandEnv(request.env)
    const { invocation } = capturedInvocation({ cwd: request.cwd, env, stdoutTty: false, stderrTty: false })
    const at: At = { cwd: request.cwd, confine: request.confine }
    const write = runner.run(tool, request.args, at).pipe(
      Effect.provideService(Invocation, invocation),
      Effect.mapError((e) => new RequestInvalid({ message: e.message }))
    )
    return yield* inRealmTurn(request.cwd, env, write)
  })
