/**
 * Entry point of the bundled `blue` binary.
 */
import { Command, HelpDoc, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Layer, Option } from "effect"
import { SqliteEventLogLive } from "../adapters/eventLog.js"
import { daemonDbPath } from "../adapters/home.js"
import { RealmLockLive } from "../adapters/lock.js"
import { RealmGitLive } from "../adapters/realmGit.js"
import { SessionsLive } from "../adapters/sessions.js"
import { TrustStoreLive } from "../adapters/trust.js"
import { IdsLive } from "../engine/ids.js"
import { Realms } from "../engine/Realms.js"
import { blue } from "./commands.js"
import { withSession } from "./daemonClient.js"
import { present } from "./output.js"

declare const BLUE_VERSION: string

const ports = Layer.mergeAll(
  Layer.provideMerge(SessionsLive, SqliteEventLogLive(daemonDbPath())),
  RealmGitLive,
  RealmLockLive,
  IdsLive,
  TrustStoreLive
)
const app = Layer.provideMerge(Realms.Default, ports)

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

// Every command is a session while a daemon runs — except the daemon itself and the watcher (it has its own).
const registers = !process.argv.includes("daemon") && !process.argv.includes("sessions")

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
