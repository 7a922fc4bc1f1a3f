/**
 * The `blue` command program for one command line: the front door (usage.ts) answers --help, --version and
 * --completions and refuses unknown command words; @effect/cli parses the rest. Usage errors exit 64, refusals and
 * failures 1. Everything it prints and its exit code go through the `Invocation`, so the same program runs in this
 * process (src/cli/main.ts) and in the daemon for a CLI that handed the command over (src/daemon/run.ts).
 */
import { Command, HelpDoc, ValidationError } from "@effect/cli"
import type * as NodeContext from "@effect/platform-node/NodeContext"
import { Cause, Console, Context, Effect, Option } from "effect"
import type { Layer } from "effect"
import { CommandProgram, OperationRunner } from "../daemon/run.js"
import { jsonText } from "../domain/text.js"
import { Invocation, type InvocationShape } from "../engine/invocation.js"
import { DaemonClient, Published } from "../engine/ports.js"
import type { BlueLive } from "../operations/layer.js"
import type { At } from "../operations/operation.js"
import { runForOutcome, writeOperation } from "../operations/outcome.js"
import { blue } from "./commands.js"
import { present, writeHuman } from "./output.js"
import { commandTree, preflight } from "./usage.js"

declare const BLUE_VERSION: string

/** The services a command runs with: the engine and its ports, and node's platform. */
export type CliServices = Layer.Layer.Success<typeof BlueLive> | NodeContext.NodeContext

/** The version `blue --version` prints. */
export const version = typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev"
const cli = Command.run(blue, { name: "blue", version })
const tree = commandTree(blue)

/** EX_USAGE (sysexits.h): the command line itself was wrong; distinct from a failed check or refusal (1). */
const EX_USAGE = 64

/** @effect/cli's wording of a parse problem, made one plain line (several missing options become one list). */
const plainUsage = (argv: ReadonlyArray<string>, raw: string): string => {
  const missing = [...raw.matchAll(/Expected to find option: '([^']*)'/g)].map((m) => `'${m[1]}'`)
  if (missing.length > 1) {
    return `missing options ${missing.slice(0, -1).join(", ")} and ${missing.at(-1)}`
  }
  const typed = /^'(.*)' is not a (\w+)$/s.exec(raw) ??
    /^Unable to recognize '(.*)' as a valid (boolean)$/s.exec(raw)
  if (typed !== null) {
    const [, value, type] = typed as unknown as [string, string, string]
    const what = type === "integer" ? "an integer" : type === "float" ? "a number" : type === "boolean"
      ? "true or false"
      : `a ${type}`
    const option = optionOf(argv, value)
    return option === undefined
      ? `'${value}' is not ${what}`
      : `${option} ${JSON.stringify(value)} is not ${what}`
  }
  const message = raw
    .replace(/^Received unknown argument: '(.*)'$/s, "unexpected argument '$1'")
    .replace(/^Expected to find option: '(.*)'$/s, "missing option '$1'")
    .replace(/^Expected one of the following cases: (.*)$/s, "expected one of $1")
  return message.split(/\n+/).map((l) => l.trim()).filter((l) => l !== "").join("; ")
}

/** The option a value was given to on the command line (`--limit abc` or `--limit=abc`), if it can be found. */
const optionOf = (argv: ReadonlyArray<string>, value: string): string | undefined => {
  for (let k = 0; k < argv.length; k++) {
    const w = argv[k]!
    if (w.startsWith("--") && w.endsWith(`=${value}`)) return w.slice(0, w.indexOf("="))
    if (argv[k + 1] === value && w.startsWith("--") && !w.includes("=")) return w
  }
  return undefined
}

// @effect/cli prints parse problems with Console.error before failing; they are reported once, by usageFailure.
const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Console.consoleWith((c) => Console.withConsole(effect, { ...c, error: () => Effect.void }))

const isUsageError = (cause: Cause.Cause<unknown>) =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => false,
    onSome: (e) => ValidationError.isValidationError(e)
  })

/**
 * Whether a command line registers itself as a session while it runs: every command does — except the daemon
 * itself, the watcher and the MCP server (they register their own), and asking for help or the version (nothing to
 * register, and no reason to start a daemon for it), and a `--dry-run`, which promises to write nothing anywhere
 * (daemon.db included).
 */
export const registersSession = (argv: ReadonlyArray<string>): boolean => {
  const words = argv.filter((a) => !a.startsWith("-"))
  const asksForHelp = argv.some((a) => a === "--help" || a === "-h" || a === "--version")
  return words.length > 0 && !asksForHelp && !argv.includes("--dry-run") &&
    !(words[0] === "daemon" || words[0] === "mcp" || (words[0] === "realm" && words[1] === "sessions"))
}

/** Where the front door sent a command line: answered already, or to @effect/cli. */
export type Route = "printed" | "usage" | "run"

/** A usage problem: `Error: …` and a hint on stderr (or one error document with --json), exit 64. */
const reportUsage = (out: InvocationShape, json: boolean, message: string, hint: string) => {
  if (json) out.stdout(jsonText({ error: { _tag: "UsageError", message, hint } }, 2) + "\n")
  else writeHuman(out.stderr, `Error: ${message}\n${hint}`)
  out.setExitCode(EX_USAGE)
}

/**
 * The front door, without the engine: answers --help, --version and --completions and refuses unknown command
 * words (printing through `out`); anything else is for @effect/cli (`_tag: "Run"`).
 */
export const frontDoor = (argv: ReadonlyArray<string>, out: InvocationShape) => {
  const colour = out.stdoutTty && out.env["NO_COLOR"] === undefined
  const front = preflight(tree, argv, version, colour)
  // Help, version and completion scripts are our own text (no realm content): printed as they are.
  if (front._tag === "Print") out.stdout(front.text + "\n")
  else if (front._tag === "UsageError") reportUsage(out, argv.includes("--json"), front.message, front.hint)
  return front
}

/** `effect`, registered as a session with the machine's daemon while it runs when `register` is set. */
const asSession = <A, E, R>(effect: Effect.Effect<A, E, R>, register: boolean): Effect.Effect<A, E, R | DaemonClient> =>
  register ? Effect.flatMap(DaemonClient, (daemon) => daemon.withSession(effect)) : effect

/**
 * Runs one `blue` command line (the arguments after `blue`) for the current `Invocation`. `session`: register the
 * command as a session while it runs (the CLI's own process does; the daemon running a command for a CLI does not).
 */
export const runBlue = (
  argv: ReadonlyArray<string>,
  options: { readonly session: boolean }
): Effect.Effect<Route, never, CliServices> =>
  Effect.gen(function*() {
    const out = yield* Invocation
    const wantsJson = argv.includes("--json")
    /** @effect/cli's own parse failures (its printing is silenced below), said the same way. */
    const usageFailure = (path: ReadonlyArray<string>) => (cause: Cause.Cause<unknown>) =>
      Effect.sync(() => {
        const e = Cause.failureOption(cause)
        let raw = Option.isSome(e) && ValidationError.isValidationError(e.value)
          ? HelpDoc.toAnsiText(e.value.error).replace(/\x1b\[[0-9;]*m/g, "").trim()
          : "invalid command line"
        if (raw === "") {
          // @effect/cli says nothing about a single-dash word it cannot place (`domain create -lead`): name it.
          const odd = argv.find((a) => /^-[^-]/.test(a) && a !== "-h" && a !== "-v")
          raw = odd === undefined
            ? "the arguments could not be read"
            : `unknown option ${JSON.stringify(odd)}: names cannot start with '-'`
        }
        reportUsage(out, wantsJson, plainUsage(argv, raw), `Run '${path.join(" ")} --help' for usage.`)
      })

    const front = frontDoor(argv, out)
    if (front._tag !== "Run") return front._tag === "Print" ? "printed" as const : "usage" as const
    // The program itself, for `blue daemon run`'s `POST /run`: the same services, but each run's own Invocation
    // and Published (the daemon publishes its writes in-process).
    const self = Effect.map(Effect.context<CliServices>(), (ctx) => ({
      run: (args: ReadonlyArray<string>) =>
        Effect.provide(runBlue(args, { session: false }), Context.omit(Published)(ctx))
    }))
    // The write operations, for the MCP server's `POST /operations/{tool}` (the same services again).
    const operations = Effect.map(Effect.context<CliServices>(), (ctx) => ({
      kind: (tool: string) => {
        const op = writeOperation(tool)
        return op === undefined ? undefined : op === "read-only" ? "read-only" as const : "write" as const
      },
      run: (tool: string, input: unknown, at: At) => {
        const op = writeOperation(tool)
        return typeof op === "object"
          ? Effect.provide(runForOutcome(op, input, at), Context.omit(Published)(ctx))
          : Effect.die(new Error(`${tool} is not a write operation`))
      }
    }))
    yield* cli(["node", "blue", ...front.argv]).pipe(
      (effect) => asSession(effect, options.session && registersSession(argv)),
      Effect.provideServiceEffect(CommandProgram, self),
      Effect.provideServiceEffect(OperationRunner, operations),
      Effect.catchAllCause((cause) =>
        // Usage problems get `Error: …`, a hint and exit 64; everything else one sentence.
        isUsageError(cause)
          ? usageFailure(front.path)(cause)
          : present(wantsJson, Effect.failCause(cause), () => "")
      ),
      quiet
    )
    return "run" as const
  })
