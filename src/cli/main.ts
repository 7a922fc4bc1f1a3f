/**
 * Entry point of the bundled `blue` binary.
 */
import { Command, HelpDoc, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Option } from "effect"
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
    if (Option.isSome(e) && ValidationError.isValidationError(e.value)) {
      let message = HelpDoc.toAnsiText(e.value.error).replace(/\x1b\[[0-9;]*m/g, "").trim()
      if (message === "") {
        // @effect/cli says nothing about a single-dash word it cannot place (`domain create -lead`): name it.
        const odd = process.argv.slice(2).find((a) => /^-[^-]/.test(a) && a !== "-h")
        message = odd === undefined
          ? "The arguments could not be read; see 'blue --help'."
          : `Unknown option ${JSON.stringify(odd)}: names cannot start with '-'; see the command's --help.`
        if (!wantsJson) process.stderr.write(`Error: ${message}\n`)
      }
      if (wantsJson) process.stdout.write(JSON.stringify({ error: { _tag: "UsageError", message } }, null, 2) + "\n")
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
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
