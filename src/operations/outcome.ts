/**
 * What became of an operation, as one plain-JSON document: its `--json` result with its summary (and exit code), or
 * the refusal's error document. The MCP server makes its tool results from it, whether the operation ran in its own
 * process or in the daemon (`POST /operations/{tool}`, which answers with this very document), so a tool result is
 * the same either way by construction.
 */
import { Cause, Effect, Exit, Option } from "effect"
import type { OperationResponse } from "../events/operationProtocol.js"
import { realmOperations } from "./index.js"
import { type AnyOperation, type At, decodeArgs, errorDocument } from "./operation.js"

/** The outcome document (the daemon's answer to `POST /operations/{tool}`). */
export type OperationOutcome = OperationResponse

/** A value as plain JSON, always an object (a non-object result is wrapped as `{result}`). */
export const structured = (value: unknown): Record<string, unknown> => {
  const plain = JSON.parse(JSON.stringify(value ?? null)) as unknown
  return plain !== null && typeof plain === "object" && !Array.isArray(plain)
    ? plain as Record<string, unknown>
    : { result: plain }
}

/** The outcome of an operation's run. */
export const outcomeOf = (op: AnyOperation, exit: Exit.Exit<unknown, unknown>): OperationOutcome => {
  if (Exit.isSuccess(exit)) {
    const code = op.exitCode?.(exit.value)
    return {
      result: structured(exit.value),
      summary: op.summary(exit.value),
      ...(code === undefined ? {} : { exit_code: code })
    }
  }
  const failure = Cause.failureOption(exit.cause)
  // plain JSON, as it would travel
  const error = structured(errorDocument(Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)))
  return { error: error as { _tag: string; message: string } }
}

/** The write operation (`!readOnly`) a tool names; "read-only" or undefined when there is none. */
export const writeOperation = (tool: string): AnyOperation | "read-only" | undefined => {
  const op = realmOperations.find((o) => o.tool === tool)
  return op === undefined ? undefined : op.readOnly ? "read-only" : op
}

/**
 * Decodes a tool's arguments with the operation's agent Schema (as the MCP server does) and runs it; a refusal is
 * the outcome's `error`, arguments that do not decode fail with `InvalidArguments`.
 */
export const runForOutcome = (op: AnyOperation, input: unknown, at: At) =>
  Effect.flatMap(
    decodeArgs(op, input, op.agentArgs ?? op.args),
    (args) =>
      Effect.map(Effect.exit(op.run(args, at) as Effect.Effect<unknown, unknown, never>), (e) => outcomeOf(op, e))
  )
