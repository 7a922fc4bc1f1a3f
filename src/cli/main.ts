/**
 * Entry point of the bundled `blue` binary.
 */
import { Command, HelpDoc, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Option } from "effect"
import { withSession } from "../adapters/daemonClient.js"
import { BlueLive } from "../operations/layer.js"
import { blue } from "./commands.js"
import { present } from "./output.js"

declare const BLUE_VERSION: string

const app = BlueLive

const cli = Command.run(blue, { name: "blue", version: typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev" })

const wantsJson = process.argv.includes("--json")

/** @effect/cli printed the problem on stderr; with --json, stdout still gets one error document. */
const usageFailure = (cause: Cause.Cause<unknown>) =>
  Effect.sync(() => {
    const e = Cause.failureOption(cause)
    if (wantsJson && Option.isSome(e) && ValidationError.isValidationError(e.value)) {
      const message = HelpDoc.toAnsiText(e.value.error).replace(/\x1b\[[0-9;]*m/g, "").trim()
      process.stdout.write(JSON.stringify({ error: { _tag: "UsageError", message } }, null, 2) + "\n")
    }
    process.exitCode = 1
  })

const isUsageError = (cause: Cause.Cause<unknown>) =>
  Option.match(Cause.failureOption(cause), {
    onNone: () => false,
    onSome: (e) => ValidationError.isValidationError(e)
  })

// Every command is a session while a daemon runs — except the daemon itself, the watcher and the MCP server
// (they register their own).
const words = process.argv.slice(2).filter((a) => !a.startsWith("-"))
const registers = !(words[0] === "daemon" || words[0] === "mcp" || (words[0] === "realm" && words[1] === "sessions"))

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

cli(process.argv).pipe(
  (effect) => (registers ? withSession(effect) : effect),
  Effect.provide(app),
  Effect.provide(NodeContext.layer),
  Effect.catchAllCause((cause) =>
    // @effect/cli has already printed usage problems with the help text; everything else gets one sentence.
    isUsageError(cause)
      ? usageFailure(cause)
      : present(wantsJson, Effect.failCause(cause), () => "")
  ),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) =>
      onExit(
        received !== undefined && registers
          ? signalExit(received)
          : Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
          ? 1
          : 0
      )
  })
)

// The daemon and the session watcher stop gracefully on a signal and exit 0 (their own handlers; a second Ctrl-C
// falls back to node's default): they keep runMain's listeners only.
if (!registers) {
  for (const s of ["SIGINT", "SIGTERM"] as const) process.removeListener(s, record[s])
}
