/**
 * The CLI's one error boundary and its two renderers: human text on stdout (errors on stderr), or exactly one
 * JSON document on stdout with `--json`. Tagged errors keep their fields in JSON; the exit code is 1 for every
 * refusal or failure.
 */
import { Cause, Effect, Option } from "effect"

/** An error as the CLI shows it. */
export interface ErrorDocument {
  readonly _tag: string
  readonly message: string
  readonly [key: string]: unknown
}

const toDocument = (e: unknown): ErrorDocument => {
  if (e !== null && typeof e === "object" && "_tag" in e) {
    const fields: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(e)) if (k !== "stack" && k !== "cause") fields[k] = v
    return {
      ...fields,
      _tag: String((e as { _tag: unknown })._tag),
      message: String((e as { message?: unknown }).message ?? "")
    }
  }
  return { _tag: "UnexpectedError", message: e instanceof Error ? e.message : String(e) }
}

/** Prints the result of `effect` (JSON or human) and maps any failure to one sentence and exit code 1. */
export const present = <A, E, R>(
  json: boolean,
  effect: Effect.Effect<A, E, R>,
  human: (a: A) => string,
  exitCode: (a: A) => number = () => 0
): Effect.Effect<void, never, R> =>
  effect.pipe(
    Effect.matchCauseEffect({
      onSuccess: (a) =>
        Effect.sync(() => {
          process.stdout.write(json ? JSON.stringify(a, null, 2) + "\n" : human(a) + "\n")
          process.exitCode = exitCode(a)
        }),
      onFailure: (cause) =>
        Effect.sync(() => {
          const failure = Cause.failureOption(cause)
          const doc = Option.isSome(failure)
            ? toDocument(failure.value)
            : toDocument(Cause.squash(cause))
          if (json) process.stdout.write(JSON.stringify({ error: doc }, null, 2) + "\n")
          else process.stderr.write(`Error: ${doc.message}\n`)
          if (Option.isNone(failure) && process.env["BLUE_DEBUG"] !== undefined) {
            process.stderr.write(Cause.pretty(cause) + "\n")
          }
          process.exitCode = 1
        })
    })
  )
