/**
 * An operation is one thing Blue does, described once for every shell: its arguments as an Effect Schema (the
 * CLI decodes its parsed options through it, the MCP server publishes it as the tool's JSON Schema), the effect
 * that does it, and the human summary of its result. The result itself is the `--json` document.
 */
import { Effect, ParseResult, Schema } from "effect"
import * as nodePath from "node:path"
import { PathProblem } from "../engine/errors.js"
import { Workspace } from "../engine/ports.js"

/** Where an operation runs, and how far the paths it is given may reach. */
export interface At {
  /** the directory the operation runs in (the CLI's cwd, the MCP server's repo) */
  readonly cwd: string
  /**
   * When set, every file an argument names must resolve inside this directory: a coding agent's arguments may
   * not make Blue read (and publish) or write files outside the repo it serves.
   */
  readonly confine?: string | undefined
  /** name arguments as command-line flags (`--no-cache`) in messages, rather than as tool arguments (`no_cache`) */
  readonly flags?: boolean
}

/** How a message names argument `name` where the operation runs. */
export const argLabel = (at: At, name: string): string => at.flags === true ? `--${name.replace(/_/g, "-")}` : name

/** One thing Blue does, for the CLI and the MCP server alike. */
export interface Operation<Args, Result, E, R> {
  /** the MCP tool name (`blue_realm_…`), after the draft RFC */
  readonly tool: string
  /** one sentence on what it does */
  readonly description: string
  /** the arguments, with the draft RFC's names (snake_case) */
  readonly args: Schema.Schema<Args, any>
  /**
   * The arguments a coding agent may give, when narrower than `args` (e.g. an agent never passes `trust`: only
   * the user trusts realm hooks)
   */
  readonly agentArgs?: Schema.Schema<any, any>
  /** true when it only reads */
  readonly readOnly: boolean
  /** does it */
  readonly run: (args: Args, at: At) => Effect.Effect<Result, E, R>
  /** a short human summary of the result (the CLI's text output) */
  readonly summary: (result: Result) => string
  /** the process exit code for a result (0 unless the operation says otherwise) */
  readonly exitCode?: (result: Result) => number
}

/** Any operation. */
export type AnyOperation = Operation<any, any, any, any>

/** An error as every shell shows it: its tag, its one-sentence message and its fields. */
export interface ErrorDocument {
  readonly _tag: string
  readonly message: string
  readonly [key: string]: unknown
}

const snakeCase = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** The error document of a failure (tagged errors keep their fields). */
export const errorDocument = (e: unknown): ErrorDocument => {
  if (e !== null && typeof e === "object" && "_tag" in e) {
    const fields: Record<string, unknown> = {}
    // Field names in snake_case, like every other --json document and API body (`pidFile` → `pid_file`).
    for (const [k, v] of Object.entries(e)) if (k !== "stack" && k !== "cause") fields[snakeCase(k)] = v
    return {
      ...fields,
      _tag: String((e as { _tag: unknown })._tag),
      message: String((e as { message?: unknown }).message ?? "")
    }
  }
  return { _tag: "UnexpectedError", message: e instanceof Error ? e.message : String(e) }
}

/** Builds an operation (keeps the argument and result types tied together). */
export const operation = <Args, Result, E, R>(op: Operation<Args, Result, E, R>): Operation<Args, Result, E, R> => op

/** Arguments that do not fit the operation's schema: one sentence naming the argument and what was expected. */
export class InvalidArguments extends Schema.TaggedError<InvalidArguments>()("InvalidArguments", {
  tool: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.tool}: ${this.detail}`
  }
}

/** The first issue of a parse error as one line: the argument's path and what was expected. */
export const describeParseError = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const first = issues[0]
  if (first === undefined) return error.message
  const key = first.path.map(String).join(".")
  const where = first.path.length === 0 ? "arguments" : `argument ${key}`
  // A union (an enum, say) fails once per member: say what all of them expect.
  const expected = issues
    .filter((i) => i.path.map(String).join(".") === key)
    .map((i) => /^Expected (.+), actual (.+)$/s.exec(i.message))
  if (expected.length > 1 && expected.every((m) => m !== null)) {
    // An optional argument also accepts undefined; whoever passed a value wants to know the values.
    const values = expected.map((m) => m![1]).filter((v) => v !== "undefined")
    return `${where}: expected ${values.join(" | ")}, got ${expected[0]![2]}`
  }
  return `${where}: ${first.message}`
}

/** Decodes unknown input against the operation's arguments (or the narrower `schema` an agent gets). */
export const decodeArgs = <Args>(
  op: Operation<Args, any, any, any>,
  input: unknown,
  schema: Schema.Schema<Args, any> = op.args
) =>
  Schema.decodeUnknown(schema, { onExcessProperty: "error" })(input).pipe(
    Effect.mapError((e) => new InvalidArguments({ tool: op.tool, detail: describeParseError(e) }))
  )

/** Decodes `input` and runs the operation. */
export const runOperation = <Args, Result, E, R>(op: Operation<Args, Result, E, R>, input: unknown, at: At) =>
  Effect.flatMap(decodeArgs(op, input), (args) => op.run(args, at))

/**
 * Resolves a path argument against the operation's directory; with `at.confine`, refuses one that leaves it
 * (also through symlinks), naming the argument.
 */
export const resolveArgPath = (at: At, argument: string, path: string) =>
  Effect.gen(function*() {
    const resolved = nodePath.resolve(at.cwd, path)
    const confine = at.confine
    if (confine !== undefined && !(yield* Effect.flatMap(Workspace, (w) => w.isWithin(confine, resolved)))) {
      return yield* new PathProblem({
        path: resolved,
        detail: `(${argLabel(at, argument)}) is outside ${at.confine}; name a file inside the repo`
      })
    }
    return resolved
  })

/** An optional string argument with its description. */
export const optionalString = (description: string) => Schema.optional(Schema.String.annotations({ description }))

/** An optional boolean argument with its description. */
export const optionalBoolean = (description: string) => Schema.optional(Schema.Boolean.annotations({ description }))
