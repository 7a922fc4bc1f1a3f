/**
 * The one-writer protocol: a `blue` command the CLI hands to the running daemon instead of loading the engine
 * itself. The daemon runs the same command program in its warm process, for the caller's working directory and
 * environment, and answers with what the command printed and its exit code.
 *
 * Shared by the daemon's HTTP API (`POST /run`) and the CLI's thin client. Tokens are never part of `env`: the
 * client sends only the variables Blue reads (see `RUN_ENV_VARIABLES`).
 */
import { Schema } from "effect"

/** The variables of the caller's environment a command may read, and so the only ones the client sends. */
export { RUN_ENV_VARIABLES } from "./runEnv.js"

/** A command to run: the arguments after `blue`, where and as whom. */
export const RunRequest = Schema.Struct({
  argv: Schema.Array(Schema.String),
  cwd: Schema.String,
  env: Schema.Record({ key: Schema.String, value: Schema.String }),
  stdout_tty: Schema.Boolean,
  stderr_tty: Schema.Boolean,
  columns: Schema.optional(Schema.Number)
})
export type RunRequest = typeof RunRequest.Type

/** What the command printed, and how it ended. */
export const RunResponse = Schema.Struct({
  exit_code: Schema.Int,
  stdout: Schema.String,
  stderr: Schema.String
})
export type RunResponse = typeof RunResponse.Type
