/**
 * The CLI's one error boundary and its two renderers: human text on stdout (errors on stderr), or exactly one
 * JSON document on stdout with `--json`. Tagged errors keep their fields in JSON; the exit code is 1 for every
 * refusal or failure.
 */
import { Cause, Effect, Option } from "effect"
import { escapeControls, jsonText } from "../domain/text.js"
import { Invocation } from "../engine/invocation.js"
import { type At, errorDocument as toDocument, type Operation, runOperation } from "../operations/operation.js"

/**
 * The one way human text reaches a terminal: one line (or block) with control characters escaped, since much of it
 * quotes realm content other repos wrote. `--json` documents go through `jsonText`, which escapes them as JSON.
 */
export const writeHuman = (stream: NodeJS.WritableStream | ((text: string) => void), text: string): void => {
  const line = escapeControls(text) + "\n"
  if (typeof stream === "function") stream(line)
  else stream.write(line)
}

/** Prints the result of `effect` (JSON or human) and maps any failure to one sentence and exit code 1. */
export const present = <A, E, R>(
  json: boolean,
  effect: Effect.Effect<A, E, R>,
  human: (a: A) => string,
  exitCode: (a: A) => number = () => 0,
  /** 2 for one indented document; 0 for one JSON line (a stream of documents) */
  indent: number = 2
): Effect.Effect<void, never, R> =>
  effect.pipe(
    Effect.matchCauseEffect({
      onSuccess: (a) =>
        Effect.map(Invocation, (out) => {
          if (json) out.stdout(jsonText(a, indent) + "\n")
          else writeHuman(out.stdout, human(a))
          out.setExitCode(exitCode(a))
        }),
      onFailure: (cause) =>
        Effect.map(Invocation, (out) => {
          const failure = Cause.failureOption(cause)
          const doc = Option.isSome(failure)
            ? toDocument(failure.value)
            : toDocument(Cause.squash(cause))
          if (json) out.stdout(jsonText({ error: doc }, indent) + "\n")
          else writeHuman(out.stderr, `Error: ${doc.message}`)
          if (Option.isNone(failure) && out.env["BLUE_DEBUG"] !== undefined) {
            out.stderr(Cause.pretty(cause) + "\n")
          }
          out.setExitCode(1)
        })
    })
  )

/** Where a command runs: the invocation's directory, messages naming flags. */
export const cliAt: Effect.Effect<At> = Effect.map(Invocation, (i) => ({ cwd: i.cwd, flags: true }))

/** Runs an operation on arguments gathered from the command line and presents its result. */
export const presentOperation = <Args, Result, E, R>(
  op: Operation<Args, Result, E, R>,
  json: boolean,
  input: { readonly [K in keyof Args]: unknown },
  at?: At
): Effect.Effect<void, never, R> =>
  present(
    json,
    Effect.flatMap(at === undefined ? cliAt : Effect.succeed(at), (at) => runOperation(op, input, at)),
    op.summary,
    op.exitCode
  )

/** An @effect/cli optional value as an optional argument. */
export const given = <A>(o: Option.Option<A>): A | undefined => Option.getOrUndefined(o)
