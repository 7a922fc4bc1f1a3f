/**
 * Shared option helpers: usage errors that name the option and the bad value.
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Effect } from "effect"

/** A usage problem, said the way @effect/cli prints it. */
export const usage = (message: string) => ValidationError.invalidValue(HelpDoc.p(message))

/** An option with a fixed set of values whose error names the option, the value and the choices. */
export const choice = <const A extends string>(name: string, values: ReadonlyArray<A>, fallback: A) =>
  Options.text(name).pipe(
    // The pseudo name carries the values to help and the completion scripts (usage.ts reads them from it).
    Options.withPseudoName(values.join("|")),
    Options.withDefault(fallback as string),
    Options.mapEffect((v) =>
      (values as ReadonlyArray<string>).includes(v)
        ? Effect.succeed(v as A)
        : Effect.fail(usage(`--${name} ${JSON.stringify(v)}: expected one of ${values.join(", ")}`))
    )
  )
