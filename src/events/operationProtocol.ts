/**
 * One writer for the MCP server: a write tool call handed to the running daemon (`POST /operations/{tool}`), which
 * decodes the arguments with the operation's own Schema (`agentArgs ?? args`, as the MCP server does), runs it for
 * the caller's directory and environment, and answers with the document the MCP server makes its tool result from.
 * An operation's refusal is part of that answer (`{error}`), not an HTTP error.
 *
 * Shared by the daemon's HTTP API and its clients. Tokens are never part of `env`: the client sends only the
 * variables Blue reads (`RUN_ENV_VARIABLES`).
 */
import { Schema } from "effect"
import { DAEMON_STOPPED, RUN_ENV_VARIABLES } from "./runEnv.js"

export { DAEMON_STOPPED }

/** The variables among `RUN_ENV_VARIABLES` that `env` sets: all a write handed to the daemon may read. */
export const runEnvOf = (env: Readonly<Record<string, string | undefined>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of RUN_ENV_VARIABLES) {
    const value = env[name]
    if (value !== undefined) out[name] = value
  }
  return out
}

/** A write operation to run: its arguments as the tool got them, where, confined to what, and as whom. */
export const OperationRequest = Schema.Struct({
  /** the tool's arguments, as JSON (decoded by the daemon with the operation's Schema) */
  args: Schema.Unknown,
  /** the directory the operation runs in (absolute) */
  cwd: Schema.String,
  /** where file arguments must stay (the MCP server's repo root) */
  confine: Schema.optional(Schema.String),
  /** the caller's variables among `RUN_ENV_VARIABLES` */
  env: Schema.Record({ key: Schema.String, value: Schema.String })
})
export type OperationRequest = typeof OperationRequest.Type

/** An error as every shell shows it (`errorDocument`): its tag, its message and its fields. */
export const ErrorDocumentSchema = Schema.Struct(
  { _tag: Schema.String, message: Schema.String },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

/** The operation ran: its `--json` document (as plain JSON, always an object), its summary, its exit code. */
export const OperationDone = Schema.Struct({
  result: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  summary: Schema.String,
  exit_code: Schema.optional(Schema.Int)
})

/** The operation refused (a cycle, a non-owner export, a bad bump): its error document. */
export const OperationRefused = Schema.Struct({ error: ErrorDocumentSchema })

/** What became of the operation. */
export const OperationResponse = Schema.Union(OperationDone, OperationRefused)
export type OperationResponse = typeof OperationResponse.Type
