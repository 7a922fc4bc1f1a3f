/**
 * Entry point of the bundled `blue` binary (dist/cli.cjs): runs the command program (program.ts) for this
 * process's command line, with the engine and node's platform, and turns signals into exit codes.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { processInvocation } from "../engine/invocation.js"
import { BlueLive } from "../operations/layer.js"
import { frontDoor, runBlue } from "./program.js"

const app = BlueLive
const args = process.argv.slice(2)
const words = args.filter((a) => !a.startsWith("-"))

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

// Help, version and usage errors are answered at once, without the engine.
const front = frontDoor(args, processInvocation)
if (front._tag === "Run") {
  runBlue(args, { session: true }).pipe(
    Effect.provide(app),
    Effect.provide(NodeContext.layer),
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
