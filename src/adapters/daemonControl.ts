/**
 * The daemon's process management as a port, for the `blue daemon` shell: the PID file and token in BLUE_HOME,
 * starting it detached, stopping it, its status, and the login unit. The Live layer is daemonRuntime.ts.
 */
import { Context, Effect, Layer } from "effect"
import type { Scope } from "effect"
import {
  acquirePidFile,
  type DaemonAlreadyRunning,
  daemonLogPath,
  daemonPort,
  type DaemonPortInvalid,
  type DaemonRuntimeError,
  type DaemonStartFailed,
  type DaemonStatus,
  daemonStatus,
  ensureToken,
  installUnit,
  type PidRecord,
  releasePidFileSync,
  startDetached,
  type Started,
  stopDaemon,
  type Stopped,
  type UnitInstall,
  type UnitOptions,
  type UnsupportedPlatform
} from "./daemonRuntime.js"
import { blueHome } from "./home.js"

/** The daemon-control port. */
export class DaemonControl extends Context.Tag("blue/DaemonControl")<DaemonControl, {
  /** BLUE_HOME, created if missing. */
  readonly home: Effect.Effect<string>
  /** The port the daemon listens on (BLUE_DAEMON_PORT or the default). */
  readonly port: Effect.Effect<number, DaemonPortInvalid>
  /** The API token in `home`, created on first use. */
  readonly ensureToken: (home: string) => Effect.Effect<string, DaemonRuntimeError>
  /** This process's PID file in `home`, removed when the scope closes. */
  readonly acquirePidFile: (
    home: string,
    port: number
  ) => Effect.Effect<PidRecord, DaemonAlreadyRunning | DaemonRuntimeError, Scope.Scope>
  /** Removes this process's PID file at once (a watchdog's last act). */
  readonly releasePidFileSync: (home: string) => void
  /** Whether a daemon runs and answers. */
  readonly status: (home: string) => Effect.Effect<DaemonStatus>
  /** The daemon's log file in `home`. */
  readonly logPath: (home: string) => string
  /** Starts the daemon detached (running `bin`) and waits for `/health`. */
  readonly start: (
    home: string,
    port: number,
    bin: string
  ) => Effect.Effect<Started, DaemonStartFailed | DaemonRuntimeError>
  /** Stops the daemon gracefully (SIGKILL after a grace period). */
  readonly stop: (home: string) => Effect.Effect<Stopped, DaemonRuntimeError>
  /** Writes (or prints) the login unit that runs the daemon. */
  readonly installUnit: (options: UnitOptions) => Effect.Effect<UnitInstall, UnsupportedPlatform | DaemonRuntimeError>
}>() {}

/** The daemon of this machine's BLUE_HOME. */
export const DaemonControlLive = Layer.succeed(DaemonControl, {
  home: Effect.sync(blueHome),
  port: Effect.suspend(() => daemonPort()),
  ensureToken,
  acquirePidFile,
  releasePidFileSync,
  status: daemonStatus,
  logPath: daemonLogPath,
  start: startDetached,
  stop: stopDaemon,
  installUnit
})
