/**
 * Who asked for the command being run, and where its output goes: the working directory, the environment, the two
 * output streams, whether they are terminals, and the exit code. A command reads these through this service and
 * never from `process`, so the daemon can run the very same command program for a CLI process that handed it over
 * (`POST /run`, src/daemon/run.ts), with that caller's directory and environment, while other runs go on beside it.
 *
 * The default reads and writes this process (the CLI running in-process, the MCP server, a test): no Layer needed.
 */
import { Context } from "effect"

/** One invocation of a command. */
export interface InvocationShape {
  /** the directory the command runs in */
  readonly cwd: string
  /** the caller's environment (the daemon gets only the variables Blue reads, `RUN_ENV_VARIABLES`) */
  readonly env: Readonly<Record<string, string | undefined>>
  /** writes to the caller's stdout */
  readonly stdout: (text: string) => void
  /** writes to the caller's stderr */
  readonly stderr: (text: string) => void
  /** whether the caller's stdout is a terminal */
  readonly stdoutTty: boolean
  /** whether the caller's stderr is a terminal */
  readonly stderrTty: boolean
  /** the terminal's width, when known */
  readonly columns: number | undefined
  /** sets the exit code the caller ends with */
  readonly setExitCode: (code: number) => void
}

/** This process as an invocation (read lazily: the default value is made once and kept). */
export const processInvocation: InvocationShape = {
  get cwd() {
    return process.cwd()
  },
  get env() {
    return process.env
  },
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  get stdoutTty() {
    return process.stdout.isTTY === true
  },
  get stderrTty() {
    return process.stderr.isTTY === true
  },
  get columns() {
    return process.stdout.columns
  },
  setExitCode: (code) => {
    process.exitCode = code
  }
}

/** The current invocation; this process unless a caller (the daemon's `POST /run`) provides another. */
export class Invocation extends Context.Reference<Invocation>()("blue/Invocation", {
  defaultValue: (): InvocationShape => processInvocation
}) {}

/** An invocation that collects what a command prints and its exit code, for a caller in another process. */
export const capturedInvocation = (options: {
  readonly cwd: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly stdoutTty: boolean
  readonly stderrTty: boolean
  readonly columns?: number | undefined
}) => {
  let out = ""
  let err = ""
  let code = 0
  const invocation: InvocationShape = {
    cwd: options.cwd,
    env: options.env,
    stdout: (text) => {
      out += text
    },
    stderr: (text) => {
      err += text
    },
    stdoutTty: options.stdoutTty,
    stderrTty: options.stderrTty,
    columns: options.columns,
    setExitCode: (c) => {
      code = c
    }
  }
  return { invocation, result: () => ({ exit_code: code, stdout: out, stderr: err }) }
}
