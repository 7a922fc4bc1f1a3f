/**
 * `blue daemon run|start|stop|status|install`: the per-machine daemon's process management. `run` serves in the
 * foreground until SIGTERM/SIGINT; `start` runs it detached and waits for `/health`; `status` exits 0 when it runs
 * and answers, 3 when it does not run, 4 when its process is alive but `/health` does not answer.
 */
import { Command, Options } from "@effect/cli"
import { Deferred, Effect, Exit } from "effect"
import * as nodePath from "node:path"
import { serve } from "../daemon/server.js"
import { jsonText } from "../domain/text.js"
import { DaemonControl, type DaemonStatus } from "../engine/ports.js"
import { present } from "./output.js"

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))

/** Exit codes of `blue daemon status` (after LSB init scripts and `systemctl status`). */
export const STATUS_EXIT = { running: 0, notRunning: 3, notAnswering: 4 } as const

/** How long a stopping daemon may take to close before it exits anyway. */
const STOP_WATCHDOG_MS = 10_000

/** The `blue` script this process runs (bin/blue.js), which `start` and `install` run again. */
const blueScript = () => nodePath.resolve(process.argv[1] ?? "bin/blue.js")

/**
 * A latch released by the first SIGTERM or SIGINT; the listeners go when the scope closes. After the first signal
 * ours are gone, so a second Ctrl-C falls back to node's default and ends a stuck shutdown at once.
 */
const stopSignal = Effect.gen(function*() {
  const latch = yield* Deferred.make<NodeJS.Signals>()
  const on = (sig: NodeJS.Signals) => {
    process.off("SIGTERM", onTerm)
    process.off("SIGINT", onInt)
    Deferred.unsafeDone(latch, Exit.succeed(sig))
  }
  const onTerm = () => on("SIGTERM")
  const onInt = () => on("SIGINT")
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      process.on("SIGTERM", onTerm)
      process.on("SIGINT", onInt)
    }),
    () =>
      Effect.sync(() => {
        process.off("SIGTERM", onTerm)
        process.off("SIGINT", onInt)
      })
  )
  return latch
})

// blue daemon run
const run = Command.make("run", { json }, ({ json }) =>
  // The runtime also interrupts the main fiber on SIGTERM/SIGINT. The body is uninterruptible so that the signal
  // is handled here, in order: close the server, remove the PID file, say so, exit 0. The server runs
  // interruptibly (`restore`) so that its own fibers can be stopped when its scope closes.
  Effect.uninterruptibleMask((restore) =>
    present(
      json,
      Effect.scoped(Effect.gen(function*() {
        const daemon = yield* DaemonControl
        const stop = yield* stopSignal
        const port = yield* daemon.port
        const home = yield* daemon.home
        const token = yield* daemon.ensureToken(home)
        const record = yield* daemon.acquirePidFile(home, port)
        const early = yield* Deferred.poll(stop)
        const served = early._tag === "Some" ? undefined : yield* Effect.exit(restore(serve({ home, port, token })))
        if (served !== undefined && Exit.isFailure(served)) return yield* Exit.failCause(served.cause)
        if (served !== undefined) {
          const listening = { status: "listening", pid: record.pid, port: served.value.port, home }
          process.stdout.write(
            json
              ? jsonText(listening) + "\n"
              : `Blue daemon listening on 127.0.0.1:${served.value.port} (pid ${record.pid})\n`
          )
        }
        const signal = yield* Deferred.await(stop)
        // Should closing hang (a stuck client, a finalizer that never returns), leave anyway, without a PID file.
        setTimeout(() => {
          process.stderr.write(`Blue daemon did not stop within ${STOP_WATCHDOG_MS / 1000} s of ${signal}; exiting.\n`)
          daemon.releasePidFileSync(home)
          process.exit(1)
        }, STOP_WATCHDOG_MS).unref()
        return { status: "stopped", pid: record.pid, port, home, signal }
      })),
      (r) => `Blue daemon stopped (${r.signal}, pid ${r.pid})`,
      () => 0,
      // --json: JSON lines, one per state change (listening, then stopped), like `sessions --watch --json`.
      0
    )
  )).pipe(Command.withDescription("Run the daemon in the foreground until SIGTERM or SIGINT"))

// blue daemon start
const start = Command.make("start", { json }, ({ json }) =>
  present(
    json,
    Effect.gen(function*() {
      const daemon = yield* DaemonControl
      const port = yield* daemon.port
      const home = yield* daemon.home
      return yield* daemon.start(home, port, blueScript())
    }),
    (r) =>
      r.started
        ? `✓ Blue daemon started: pid ${r.pid}, listening on 127.0.0.1:${r.port} (log: ${r.log})`
        : `✓ Blue daemon already running: pid ${r.pid}, listening on 127.0.0.1:${r.port}`
  )).pipe(Command.withDescription("Start the daemon in the background and wait until it answers /health"))

// blue daemon stop
const stop = Command.make("stop", { json }, ({ json }) =>
  present(
    json,
    Effect.flatMap(DaemonControl, (daemon) => Effect.flatMap(daemon.home, daemon.stop)),
    (r) =>
      r.stopped
        ? r.forced === true
          ? `✓ Blue daemon (pid ${r.pid}) ignored SIGTERM for 5 s and was killed with SIGKILL`
          : `✓ Blue daemon stopped (pid ${r.pid})`
        : r.removed_stale === true
        ? `Blue daemon was not running; removed the stale PID file ${r.pid_file}${
          r.pid === undefined ? "" : ` (pid ${r.pid} had exited)`
        }`
        : "Blue daemon is not running"
  )).pipe(Command.withDescription("Stop the daemon gracefully (SIGTERM; SIGKILL after 5 s)"))

const renderStatus = (logPath: (home: string) => string) => (s: DaemonStatus) =>
  s.running
    ? s.healthy === true
      ? `Blue daemon running: pid ${s.pid}, 127.0.0.1:${s.port}, /health ok${
        s.started_at === undefined ? "" : `, since ${s.started_at}`
      } (PID file ${s.pid_file})`
      : `Blue daemon process ${s.pid} is alive but /health on 127.0.0.1:${s.port} does not answer; see ${
        logPath(s.home)
      } or restart it with 'blue daemon stop' and 'blue daemon start'`
    : s.stale === true
    ? `Blue daemon not running (stale PID file ${s.pid_file}${
      s.pid === undefined ? "" : ` names pid ${s.pid}, which has exited`
    }); 'blue daemon start' replaces it`
    : `Blue daemon not running (no PID file at ${s.pid_file})`

const statusExit = (s: DaemonStatus) =>
  s.running ? (s.healthy === true ? STATUS_EXIT.running : STATUS_EXIT.notAnswering) : STATUS_EXIT.notRunning

// blue daemon status
const status = Command.make("status", { json }, ({ json }) =>
  Effect.flatMap(DaemonControl, (daemon) =>
    present(
      json,
      Effect.flatMap(daemon.home, daemon.status),
      renderStatus(daemon.logPath),
      statusExit
    ))).pipe(
    Command.withDescription("Is the daemon running? Exit 0 running, 3 not running, 4 alive but not answering")
  )

// blue daemon install
const install = Command.make(
  "install",
  {
    print: Options.boolean("print").pipe(Options.withDescription("show the unit file without writing it")),
    json
  },
  ({ json, print }) =>
    present(
      json,
      Effect.gen(function*() {
        const daemon = yield* DaemonControl
        const home = yield* daemon.home
        const port = yield* daemon.port
        const unit = yield* daemon.installUnit({ platform: process.platform, print, bin: blueScript(), home, port })
        if (print && !json) {
          // stdout carries only the file, so that it can be redirected; where it goes and how to enable it on stderr.
          process.stderr.write(`# ${unit.path} (not written)\n# enable with: ${unit.commands.join(" ; ")}\n`)
        }
        return { ...unit, printed: print }
      }),
      (r) =>
        r.printed
          ? r.content.trimEnd()
          : [
            r.written ? `✓ Wrote ${r.path}` : `✓ ${r.path} is already up to date`,
            "Enable and start it with:",
            ...r.commands.map((c) => `  ${c}`)
          ].join("\n")
    )
).pipe(
  Command.withDescription(
    "Write a systemd user unit (Linux) or launchd agent (macOS) that runs the daemon at login; --print writes nothing"
  )
)

/** `blue daemon …`: run, start, stop, status and install the per-machine daemon. */
export const daemonCommand = Command.make("daemon").pipe(
  Command.withDescription("The per-machine daemon (HTTP API and live feed on 127.0.0.1)"),
  Command.withSubcommands([run, start, stop, status, install])
)
