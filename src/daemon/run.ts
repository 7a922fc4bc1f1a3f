/**
 * One writer: the daemon runs a `blue` command a CLI process handed over (`POST /run`, src/events/runProtocol.ts)
 * with the very command program the CLI would have run itself (src/cli/program.ts), in this warm process, for the
 * caller's directory and environment. Its output and exit code are captured per run (`Invocation`), so concurrent
 * runs share nothing but the engine. Writes to one realm are serialised here, in-process; the realm's file lock
 * stays, so a stray CLI process (the daemon off for it, an older `blue`) backs off as before.
 */
import { Cause, Context, Effect, Option } from "effect"
import * as nodePath from "node:path"
import { escapeControls } from "../domain/text.js"
import { capturedInvocation, Invocation } from "../engine/invocation.js"
import { DaemonHost, DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutIn, type Published } from "../engine/ports.js"
import { RUN_ENV_VARIABLES, type RunRequest, type RunResponse } from "../events/runProtocol.js"

/**
 * The `blue` command program, provided by the CLI that runs the daemon (`blue daemon run`): it runs one command
 * line for the current `Invocation` and `Published`. A service rather than an import, so the daemon does not import
 * the command tree that contains it.
 */
export class CommandProgram extends Context.Tag("blue/CommandProgram")<CommandProgram, {
  /** runs the arguments after `blue`, printing through the current `Invocation`, publishing through `Published` */
  readonly run: (argv: ReadonlyArray<string>) => Effect.Effect<unknown, never, Published>
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
    // Take the realm's turn, waiting at most the caller's BLUE_LOCK_TIMEOUT_MS; past that, run anyway and let the
    // realm's file lock refuse it with the usual LockTimeout.
    // The realm it writes to ("" when not known yet: `init`, `join` from a repo that has not joined): one shared turn.
    const turn = turnOf(yield* host.realmOf(request.cwd))
    const waitMs = lockTimeoutIn(env) ?? DEFAULT_LOCK_TIMEOUT_MS
    const got = yield* Effect.timeoutOption(turn.take(1), waitMs)
    yield* Option.isSome(got) ? Effect.ensuring(command, turn.release(1)) : command
    return result()
  })
