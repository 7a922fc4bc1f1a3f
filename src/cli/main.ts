/**
 * Entry point of the bundled `blue` binary. The front door (usage.ts) answers --help, --version and --completions
 * and refuses unknown command words; @effect/cli parses the rest. Usage errors exit 64, refusals and failures 1.
 */
import { Command, HelpDoc, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Exit, Option } from "effect"
import { withSession } from "../adapters/daemonClient.js"
import { jsonText } from "../domain/text.js"
import { BlueLive } from "../operations/layer.js"
import { blue } from "./commands.js"
import { present, writeHuman } from "./output.js"
import { commandTree, preflight } from "./usage.js"

declare const BLUE_VERSION: string

const app = BlueLive

const version = typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev"
const cli = Command.run(blue, { name: "blue", version })

const wantsJson = process.argv.includes("--json")

/** EX_USAGE (sysexits.h): the command line itself was wrong; distinct from a failed check or refusal (1). */
const EX_USAGE = 64

/** A usage problem: `Error: …` and a hint on stderr (or one error document with --json), exit 64. */
const reportUsage = (message: string, hint: string) => {
  if (wantsJson) {
    process.stdout.write(jsonText({ error: { _tag: "UsageError", message, hint } }, 2) + "\n")
  } else writeHuman(process.stderr, `Error: ${message}\n${hint}`)
  process.exitCode = EX_USAGE
}

/** @effect/cli's own parse failures (its printing is silenced below), said the same way. */
const usageFailure = (path: ReadonlyArray<string>) => (cause: Cause.Cause<unknown>) =>
  Effect.sync(() => {
    const e = Cause.failureOption(cause)
    let raw = Option.isSome(e) && ValidationError.isValidationError(e.value)
      ? HelpDoc.toAnsiText(e.value.error).replace(/\x1b\[[0-9;]*m/g, "").trim()
      : "invalid command line"
    if (raw === "") {
      // @effect/cli says nothing about a single-dash word it cannot place (`domain create -lead`): name it.
      const odd = process.argv.slice(2).find((a) => /^-[^-]/.test(a) && a !== "-h" && a !== "-v")
      raw = odd === undefined
        ? "the arguments could not be read"
        : `unknown option ${JSON.stringify(odd)}: names cannot start with '-'`
    }
    reportUsage(plainUsage(raw), `Run '${path.join(" ")} --help' for usage.`)
  })

/** The option a value was given to on the command line (`--limit abc` or `--limit=abc`), if it can be found. */
const optionOf = (value: string): string | undefined => {
  const argv = process.argv.slice(2)
  for (let k = 0; k < argv.length; k++) {
    const w = argv[k]!
    if (w.startsWith("--") && w.endsWith(`=${value}`)) return w.slice(0, w.indexOf("="))
    if (argv[k + 1] === value && w.startsWith("--") && !w.includes("=")) return w
  }
  return undefined
}

/** @effect/cli's wording of a parse problem, made one plain line (several missing options become one list). */
const plainUsage = (raw: string): string => {
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
    const option = optionOf(value)
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

// @effect/cli prints parse problems with Console.error before failing; they are reported once, by usageFailure.
const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Console.consoleWith((c) => Console.withConsole(effect, { ...c, error: () => Effect.void }))

const isUsageError = (cause: Cause.Cause<unknown>) =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => false,
    onSome: (e) => ValidationError.isValidationError(e)
  })

// Every command is a session while a daemon runs — except the daemon itself, the watcher and the MCP server
// (they register their own).
// Nor does asking for help or the version (nothing to register, and no reason to start a daemon for it).
const words = process.argv.slice(2).filter((a) => !a.startsWith("-"))
const asksForHelp = process.argv.slice(2).some((a) => a === "--help" || a === "-h" || a === "--version")
const registers = words.length > 0 && !asksForHelp &&
  !(words[0] === "daemon" || words[0] === "mcp" || (words[0] === "realm" && words[1] === "sessions"))

// Ctrl-C and SIGTERM interrupt the command (runMain's handlers); the exit code says which signal ended it, as a
// shell expects (130 / 143), instead of the 0 of a plain interruption. Interrupting waits for an append's critical
// section, so nothing is left half-written.
type Signal = "SIGINT" | "SIGTERM"
let received: Signal | undefined
const signalExit = (s: Signal) => (s === "SIGINT" ? 130 : 143)
const record = { SIGINT: () => (received ??= "SIGINT"), SIGTERM: () => (received ??= "SIGTERM") } as const
// Ours go on before bin.ts's early ones come off: a signal's listeners must never drop to none, or node stops
// watching it and a signal already pending is lost.
for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, record[s])
const early = (globalThis as { __blueEarlySignal?: (s: NodeJS.Signals) => void }).__blueEarlySignal
if (early !== undefined) {
  process.removeListener("SIGINT", early)
  process.removeListener("SIGTERM", early)
}

const tree = commandTree(blue)
const colour = process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined
const front = preflight(tree, process.argv.slice(2), version, colour)

// Help, version and completion scripts are our own text (no realm content): printed as they are.
if (front._tag === "Print") process.stdout.write(front.text + "\n")
else if (front._tag === "UsageError") reportUsage(front.message, front.hint)
else {
  cli([...process.argv.slice(0, 2), ...front.argv]).pipe(
    (effect) => (registers ? withSession(effect) : effect),
    Effect.provide(app),
    Effect.provide(NodeContext.layer),
    Effect.catchAllCause((cause) =>
      // Usage problems get `Error: …`, a hint and exit 64; everything else one sentence.
      isUsageError(cause)
        ? usageFailure(front.path)(cause)
        : present(wantsJson, Effect.failCause(cause), () => "")
    ),
    quiet,
    NodeRuntime.runMain({
      disableErrorReporting: true,
      disablePrettyLogger: true,
      teardown: (exit, onExit) =>
        onExit(
          received !== undefined && words[0] !== "daemon"
            ? signalExit(received)
            : Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
            ? 1
            : 0
        )
    })
  )
}

// The daemon stops gracefully on a signal and exits 0, as a service should (its own handlers; a second Ctrl-C falls
// back to node's default): it keeps runMain's listeners only. The session watcher also stops gracefully (it closes
// its feed and ends its session) but, like any command a signal ended, exits 130 / 143.
if (words[0] === "daemon" || front._tag !== "Run") {
  for (const s of ["SIGINT", "SIGTERM"] as const) process.removeListener(s, record[s])
}
