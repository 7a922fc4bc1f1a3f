/**
 * Process management for the per-machine daemon: its port, its PID file (one per BLUE_HOME), its bearer token,
 * starting it detached and waiting for `/health`, stopping it, and the service-manager unit that runs it at login.
 * Everything here is plain file and process work; the HTTP/WebSocket server itself lives in `server.ts`.
 */
import { Effect, Schema } from "effect"
import type { Scope } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as nodePath from "node:path"
import { linkNewFileSync, writeFileAtomicSync } from "./atomicFs.js"
import { isAlive, isDefaultHome, pidFilePath } from "./daemonPresence.js"
import { spawnDetached } from "./process.js"

export { isAlive, isDefaultHome, machineName, pidFilePath } from "./daemonPresence.js"

/** The port the daemon listens on when BLUE_DAEMON_PORT is not set. */
export const DEFAULT_DAEMON_PORT = 7865

/** How long `start` waits for `/health` and `stop` waits for the process to exit. */
export const DAEMON_WAIT_MS = 5_000

const POLL_MS = 50
const HEALTH_TIMEOUT_MS = 1_000
const LOG_ROTATE_BYTES = 1_000_000

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** BLUE_DAEMON_PORT is set to something that is not a TCP port. */
export class DaemonPortInvalid extends Schema.TaggedError<DaemonPortInvalid>()("DaemonPortInvalid", {
  value: Schema.String
}) {
  override get message() {
    return `BLUE_DAEMON_PORT=${
      JSON.stringify(this.value)
    } is not a port: expected a whole number from 1 to 65535 (unset it to use ${DEFAULT_DAEMON_PORT}).`
  }
}

/** A daemon for this BLUE_HOME is already running (its PID file names a live process). */
export class DaemonAlreadyRunning extends Schema.TaggedError<DaemonAlreadyRunning>()("DaemonAlreadyRunning", {
  pid: Schema.Number,
  port: Schema.Number,
  home: Schema.String,
  pidFile: Schema.String
}) {
  override get message() {
    return `A blue daemon for ${this.home} is already running (pid ${this.pid}, port ${this.port}, PID file ${this.pidFile}); stop it with 'blue daemon stop' first.`
  }
}

/** The daemon started in the background did not answer `/health` in time, or exited. */
export class DaemonStartFailed extends Schema.TaggedError<DaemonStartFailed>()("DaemonStartFailed", {
  detail: Schema.String
}) {
  override get message() {
    return `The blue daemon could not be started: ${this.detail}`
  }
}

/** A file or process operation of the daemon runtime failed. */
export class DaemonRuntimeError extends Schema.TaggedError<DaemonRuntimeError>()("DaemonRuntimeError", {
  op: Schema.String,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `daemon ${this.op} failed for ${this.path}: ${this.detail}`
  }
}

/** `blue daemon install` has no service manager to write for on this platform. */
export class UnsupportedPlatform extends Schema.TaggedError<UnsupportedPlatform>()("UnsupportedPlatform", {
  platform: Schema.String
}) {
  override get message() {
    return `blue daemon install knows systemd (Linux) and launchd (macOS), not ${this.platform}; run 'blue daemon run' under your own service manager instead.`
  }
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e))
const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code

// ---------------------------------------------------------------------------------------------------------------
// Port

/** The daemon's port: BLUE_DAEMON_PORT (validated) or 7865. */
export const daemonPort = (env: NodeJS.ProcessEnv = process.env): Effect.Effect<number, DaemonPortInvalid> => {
  const raw = env["BLUE_DAEMON_PORT"]
  if (raw === undefined || raw.trim() === "") return Effect.succeed(DEFAULT_DAEMON_PORT)
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN
  return Number.isInteger(n) && n >= 1 && n <= 65535
    ? Effect.succeed(n)
    : Effect.fail(new DaemonPortInvalid({ value: raw }))
}

// ---------------------------------------------------------------------------------------------------------------
// PID file

/** What the PID file records about the running daemon. */
export interface PidRecord {
  readonly pid: number
  readonly port: number
  readonly home: string
  readonly started_at: string
}

type PidFileState =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Unparsable"; readonly raw: string }
  | { readonly _tag: "Found"; readonly raw: string; readonly record: PidRecord }

const readPidFile = (file: string): PidFileState => {
  let raw: string
  try {
    raw = fs.readFileSync(file, "utf8")
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return { _tag: "Missing" }
    return { _tag: "Unparsable", raw: "" }
  }
  try {
    const v = JSON.parse(raw) as Partial<PidRecord> | null
    if (
      v !== null && typeof v === "object" && Number.isInteger(v.pid) && (v.pid as number) > 0 &&
      Number.isInteger(v.port) && typeof v.home === "string" && typeof v.started_at === "string"
    ) {
      return { _tag: "Found", raw, record: v as PidRecord }
    }
  } catch {
    // falls through: not JSON
  }
  return { _tag: "Unparsable", raw }
}

/** Removes `file` only if it still holds exactly `raw` (so we never delete a file another process just wrote). */
const removeIfUnchanged = (file: string, raw: string) => {
  try {
    if (fs.readFileSync(file, "utf8") === raw) fs.rmSync(file, { force: true })
  } catch {
    // already gone
  }
}

/**
 * True when `pid` is alive and, where /proc tells us, is a `… daemon run` process: after a reboot or a long time
 * a stale PID file's number may belong to an unrelated process, which we must neither wait for nor signal.
 */
const isDaemonProcess = (pid: number): boolean => {
  if (!isAlive(pid)) return false
  let args: Array<string>
  try {
    args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
  } catch {
    return true
  }
  if (args.length <= 1 && args[0] === "") return true
  return args.some((a, i) => a === "daemon" && args[i + 1] === "run")
}

/** Creates `file` with `data` (mode 0600) atomically and only if it does not exist; false if it already does. */
const createExclusive = (file: string, data: string): boolean => {
  try {
    linkNewFileSync(file, data, { mode: 0o600 })
    return true
  } catch (e) {
    if (errnoOf(e) === "EEXIST") return false
    // File systems without hard links: exclusive create, then write (a reader may briefly see it empty).
    let fd: number
    try {
      fd = fs.openSync(file, "wx", 0o600)
    } catch (e2) {
      if (errnoOf(e2) === "EEXIST") return false
      throw e2
    }
    try {
      fs.writeSync(fd, data)
    } finally {
      fs.closeSync(fd)
    }
    return true
  }
}

const ioError = (op: string, file: string) => (e: unknown) =>
  new DaemonRuntimeError({ op, path: file, detail: describe(e) })

/**
 * Claims the PID file for this process until the scope closes. Fails with `DaemonAlreadyRunning` when it names a
 * live daemon; a stale file (dead process, unreadable content) is replaced. On close the file is removed if it
 * still names us.
 */
export const acquirePidFile = (
  home: string,
  port: number
): Effect.Effect<PidRecord, DaemonAlreadyRunning | DaemonRuntimeError, Scope.Scope> => {
  const file = pidFilePath(home)
  const record: PidRecord = { pid: process.pid, port, home, started_at: new Date().toISOString() }
  const data = JSON.stringify(record) + "\n"
  const acquire = Effect.gen(function*() {
    yield* Effect.try({
      try: () => fs.mkdirSync(nodePath.dirname(file), { recursive: true, mode: 0o700 }),
      catch: ioError("PID file directory", file)
    })
    for (let attempt = 0; attempt < 5; attempt++) {
      const created = yield* Effect.try({ try: () => createExclusive(file, data), catch: ioError("PID file", file) })
      if (created) return record
      const existing = readPidFile(file)
      if (existing._tag === "Missing") continue
      if (existing._tag === "Found" && existing.record.pid !== process.pid && isDaemonProcess(existing.record.pid)) {
        return yield* new DaemonAlreadyRunning({
          pid: existing.record.pid,
          port: existing.record.port,
          home,
          pidFile: file
        })
      }
      removeIfUnchanged(file, existing.raw)
    }
    return yield* new DaemonRuntimeError({
      op: "PID file",
      path: file,
      detail: "other processes kept replacing it; is another daemon starting right now?"
    })
  })
  return Effect.acquireRelease(acquire, () => Effect.sync(() => removeIfUnchanged(file, data)))
}

/** Removes the PID file of `home` synchronously if it names this process (for exit paths without finalizers). */
export const releasePidFileSync = (home: string): void => {
  const file = pidFilePath(home)
  const state = readPidFile(file)
  if (state._tag === "Found" && state.record.pid === process.pid) removeIfUnchanged(file, state.raw)
}

// ---------------------------------------------------------------------------------------------------------------
// Token

/** Path of the bearer token the daemon requires. */
export const tokenPath = (home: string): string => nodePath.join(home, "daemon.token")

/**
 * The daemon's bearer token from `<home>/daemon.token`: 32 random bytes as hex, created with mode 0600 on first use
 * (a file with wider permissions is tightened). Two processes creating it at once agree on one token.
 */
export const ensureToken = (home: string): Effect.Effect<string, DaemonRuntimeError> => {
  const file = tokenPath(home)
  return Effect.try({
    try: () => {
      fs.mkdirSync(home, { recursive: true, mode: 0o700 })
      for (let attempt = 0; attempt < 3; attempt++) {
        let existing: string | undefined
        try {
          existing = fs.readFileSync(file, "utf8").trim()
        } catch (e) {
          if (errnoOf(e) !== "ENOENT") throw e
        }
        if (existing !== undefined && existing !== "") {
          if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600)
          return existing
        }
        if (existing === "") fs.rmSync(file, { force: true })
        const token = randomBytes(32).toString("hex")
        if (createExclusive(file, token + "\n")) return token
      }
      throw new Error("the file keeps changing under us")
    },
    catch: ioError("token", file)
  })
}

// ---------------------------------------------------------------------------------------------------------------
// Status

/** What `/health` answers. */
export interface Health {
  readonly status: string
  readonly pid?: number
  readonly port?: number
  readonly home?: string
  readonly version?: string
  readonly started_at?: string
}

/** GET http://127.0.0.1:<port>/health; undefined on any failure or after `timeoutMs`. */
export const checkHealth = (port: number, timeoutMs: number = HEALTH_TIMEOUT_MS): Effect.Effect<Health | undefined> =>
  Effect.async<Health | undefined>((resume) => {
    let done = false
    const finish = (h: Health | undefined) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(Effect.succeed(h))
    }
    const req = http.get(
      { host: "127.0.0.1", port, path: "/health", agent: false, headers: { connection: "close" } },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (d: string) => (body += d))
        res.on("end", () => {
          try {
            const v = JSON.parse(body) as Health
            finish(res.statusCode === 200 && v !== null && v.status === "ok" ? v : undefined)
          } catch {
            finish(undefined)
          }
        })
        res.on("error", () => finish(undefined))
      }
    )
    req.on("error", () => finish(undefined))
    const timer = setTimeout(() => {
      req.destroy()
      finish(undefined)
    }, timeoutMs)
    return Effect.sync(() => {
      done = true
      clearTimeout(timer)
      req.destroy()
    })
  })

/** The daemon as `blue daemon status` reports it. */
export interface DaemonStatus {
  /** a live process holds the PID file */
  readonly running: boolean
  readonly pid_file: string
  readonly home: string
  readonly pid?: number
  readonly port?: number
  /** `/health` answered within 1 s (only when running) */
  readonly healthy?: boolean
  /** the PID file names a process that is gone, or cannot be read */
  readonly stale?: boolean
  readonly started_at?: string
  readonly version?: string
}

/** Reads the PID file of `home`, checks the process and asks `/health` (1 s timeout). Never fails. */
export const daemonStatus = (home: string): Effect.Effect<DaemonStatus> =>
  Effect.gen(function*() {
    const pidFile = pidFilePath(home)
    const state = readPidFile(pidFile)
    if (state._tag === "Missing") return { running: false, pid_file: pidFile, home }
    if (state._tag === "Unparsable") return { running: false, pid_file: pidFile, home, stale: true }
    const { pid, port, started_at } = state.record
    if (!isDaemonProcess(pid)) return { running: false, pid_file: pidFile, home, pid, port, stale: true }
    const health = yield* checkHealth(port)
    const healthy = health !== undefined && (health.pid === undefined || health.pid === pid)
    return {
      running: true,
      pid_file: pidFile,
      home,
      pid,
      port,
      healthy,
      started_at,
      ...(healthy && typeof health?.version === "string" ? { version: health.version } : {})
    }
  })

// ---------------------------------------------------------------------------------------------------------------
// Start

/** Path of the log the background daemon writes to. */
export const daemonLogPath = (home: string): string => nodePath.join(home, "daemon.log")

/** A daemon `start` found or started. */
export interface Started {
  readonly pid: number
  readonly port: number
  /** false when one was already running */
  readonly started: boolean
  readonly log: string
  readonly pid_file: string
}

const logTail = (file: string, from: number, lines = 20): string => {
  try {
    const fd = fs.openSync(file, "r")
    try {
      const size = fs.fstatSync(fd).size
      const start = Math.max(from > size ? 0 : from, size - 64 * 1024)
      const buf = Buffer.alloc(size - start)
      fs.readSync(fd, buf, 0, buf.length, start)
      const text = buf.toString("utf8").trimEnd()
      return text === "" ? "(daemon.log has nothing new)" : text.split("\n").slice(-lines).join("\n")
    } finally {
      fs.closeSync(fd)
    }
  } catch (e) {
    return `(cannot read ${file}: ${describe(e)})`
  }
}

const sleep = Effect.sleep(`${POLL_MS} millis`)

/** Polls `/health` until it answers for `pid` (any pid when undefined), `stop()` says give up, or the deadline. */
const waitHealthy = (port: number, pid: number | undefined, deadline: number, stop: () => boolean) =>
  Effect.gen(function*() {
    while (!stop()) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      const h = yield* checkHealth(port, Math.min(HEALTH_TIMEOUT_MS, left))
      if (h !== undefined && (pid === undefined || h.pid === undefined || h.pid === pid)) return true
      yield* sleep
    }
    return false
  })

/**
 * Starts `node <bin> daemon run` detached, its output appended to `<home>/daemon.log`, and waits (up to 5 s) until
 * `/health` answers. Returns the running daemon if there already is a healthy one.
 */
export const startDetached = (
  home: string,
  port: number,
  bin: string
): Effect.Effect<Started, DaemonStartFailed | DaemonRuntimeError> =>
  Effect.gen(function*() {
    const log = daemonLogPath(home)
    const pidFile = pidFilePath(home)
    const current = yield* daemonStatus(home)
    if (current.running && current.pid !== undefined && current.port !== undefined) {
      const { pid: runningPid, port: runningPort } = current
      const ok = current.healthy === true ||
        (yield* waitHealthy(runningPort, runningPid, Date.now() + DAEMON_WAIT_MS, () => !isAlive(runningPid)))
      if (ok) return { pid: runningPid, port: runningPort, started: false, log, pid_file: pidFile }
      return yield* new DaemonStartFailed({
        detail:
          `a daemon for ${home} is running (pid ${runningPid}) but /health on port ${runningPort} did not answer within ${
            DAEMON_WAIT_MS / 1000
          } s; stop it with 'blue daemon stop' and look at ${log}.`
      })
    }
    const { daemon, offset } = yield* Effect.try({
      try: () => {
        fs.mkdirSync(home, { recursive: true, mode: 0o700 })
        if (fs.existsSync(log) && fs.statSync(log).size > LOG_ROTATE_BYTES) fs.renameSync(log, `${log}.1`)
        const fd = fs.openSync(log, "a", 0o600)
        try {
          const offset = fs.fstatSync(fd).size
          const daemon = spawnDetached({
            command: process.execPath,
            args: [nodePath.resolve(bin), "daemon", "run"],
            cwd: home,
            env: { ...process.env, BLUE_HOME: home, BLUE_DAEMON_PORT: String(port) },
            outputFd: fd
          })
          return { daemon, offset }
        } finally {
          fs.closeSync(fd)
        }
      },
      catch: (e) => new DaemonRuntimeError({ op: "start", path: log, detail: describe(e) })
    })
    const pid = daemon.pid
    if (pid === undefined) {
      yield* Effect.sleep("10 millis")
      return yield* new DaemonStartFailed({ detail: daemon.exited() ?? `could not run ${process.execPath}` })
    }
    const ok = yield* waitHealthy(port, pid, Date.now() + DAEMON_WAIT_MS, () => daemon.exited() !== undefined)
    if (ok) return { pid, port, started: true, log, pid_file: pidFile }
    const exited = daemon.exited()
    if (exited === undefined) {
      // Do not leave a half-started daemon behind.
      try {
        process.kill(pid, "SIGTERM")
      } catch {
        // gone already
      }
    }
    const why = exited === undefined
      ? `it did not answer /health on 127.0.0.1:${port} within ${DAEMON_WAIT_MS / 1000} s and was stopped (pid ${pid})`
      : `it exited (${exited}) before answering /health on 127.0.0.1:${port}`
    return yield* new DaemonStartFailed({ detail: `${why}. Last lines of ${log}:\n${logTail(log, offset)}` })
  })

// ---------------------------------------------------------------------------------------------------------------
// Stop

/** What `stop` did. */
export interface Stopped {
  /** a running daemon was stopped */
  readonly stopped: boolean
  readonly pid_file: string
  readonly pid?: number
  /** it ignored SIGTERM for 5 s and was killed with SIGKILL */
  readonly forced?: boolean
  /** there was only a stale PID file, now removed */
  readonly removed_stale?: boolean
}

const waitGone = (pid: number, deadline: number) =>
  Effect.gen(function*() {
    while (isAlive(pid)) {
      if (Date.now() >= deadline) return false
      yield* sleep
    }
    return true
  })

const signal = (pid: number, sig: NodeJS.Signals, file: string) =>
  Effect.try({
    try: () => {
      try {
        process.kill(pid, sig)
      } catch (e) {
        if (errnoOf(e) !== "ESRCH") throw e
      }
    },
    catch: (e) =>
      new DaemonRuntimeError({
        op: `stop (${sig} to pid ${pid})`,
        path: file,
        detail: errnoOf(e) === "EPERM" ? "not permitted; the daemon belongs to another user" : describe(e)
      })
  })

/**
 * Stops the daemon of `home`: SIGTERM, then up to 5 s for it to exit, then SIGKILL (and says so). Not running is
 * not an error: `{ stopped: false }` (a stale PID file is removed).
 */
export const stopDaemon = (home: string): Effect.Effect<Stopped, DaemonRuntimeError> =>
  Effect.gen(function*() {
    const pidFile = pidFilePath(home)
    const state = readPidFile(pidFile)
    if (state._tag === "Missing") return { stopped: false, pid_file: pidFile }
    if (state._tag === "Unparsable" || !isDaemonProcess(state.record.pid)) {
      removeIfUnchanged(pidFile, state.raw)
      return {
        stopped: false,
        pid_file: pidFile,
        removed_stale: true,
        ...(state._tag === "Found" ? { pid: state.record.pid } : {})
      }
    }
    const { pid } = state.record
    yield* signal(pid, "SIGTERM", pidFile)
    let forced = false
    if (!(yield* waitGone(pid, Date.now() + DAEMON_WAIT_MS))) {
      forced = true
      yield* signal(pid, "SIGKILL", pidFile)
      if (!(yield* waitGone(pid, Date.now() + 2_000))) {
        return yield* new DaemonRuntimeError({
          op: "stop",
          path: pidFile,
          detail: `pid ${pid} is still alive after SIGTERM and SIGKILL`
        })
      }
    }
    // A killed daemon cannot remove its own PID file.
    removeIfUnchanged(pidFile, state.raw)
    return { stopped: true, pid_file: pidFile, pid, forced }
  })

// ---------------------------------------------------------------------------------------------------------------
// Service-manager unit

/** What `installUnit` wrote (or would write). */
export interface UnitInstall {
  readonly platform: "linux" | "darwin"
  readonly path: string
  readonly content: string
  /** false with `print` (and when the file already held exactly this content) */
  readonly written: boolean
  /** the commands that enable and start it */
  readonly commands: ReadonlyArray<string>
}

/** Options of `installUnit`. */
export interface UnitOptions {
  readonly platform: NodeJS.Platform
  /** show the unit without writing anything */
  readonly print: boolean
  /** the `blue` script (bin/blue.js) */
  readonly bin: string
  readonly home: string
  /** the port when it is not the default */
  readonly port?: number
  /** node executable (default: this one) */
  readonly node?: string
  /** the user's home directory (default: os.homedir()) */
  readonly userHome?: string
  /** XDG_CONFIG_HOME (default: from the environment) */
  readonly configHome?: string
}

/** systemd's C-style double quoting, for a word with spaces, quotes, backslashes or semicolons. */
const systemdQuote = (s: string) => /[\s"'\\;]/.test(s) ? `"${s.replace(/\\/g, "\\\\").replace(/"/g, "\\\"")}"` : s

/**
 * One ExecStart word: `%` starts a specifier everywhere in a unit (`%%` is a literal one), and in command lines `$`
 * also expands variables (`$$` is a literal one).
 */
const execWord = (s: string) => systemdQuote(s.replace(/%/g, "%%").replace(/\$/g, "$$$$"))

/** One Environment= assignment: specifiers expand there, variables do not (a `$$` would stay two dollars). */
const environmentWord = (s: string) => systemdQuote(s.replace(/%/g, "%%"))

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const unitEnvironment = (options: UnitOptions): Array<readonly [string, string]> => [
  ...(isDefaultHome(options.home) ? [] : [["BLUE_HOME", nodePath.resolve(options.home)] as const]),
  ...(options.port === undefined || options.port === DEFAULT_DAEMON_PORT
    ? []
    : [["BLUE_DAEMON_PORT", String(options.port)] as const])
]

const systemdUnit = (node: string, bin: string, options: UnitOptions) =>
  [
    "[Unit]",
    "Description=Blue realms daemon (blue daemon run)",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${[node, bin, "daemon", "run"].map(execWord).join(" ")}`,
    "Restart=on-failure",
    "RestartSec=2",
    ...unitEnvironment(options).map(([k, v]) => `Environment=${environmentWord(`${k}=${v}`)}`),
    "",
    "[Install]",
    "WantedBy=default.target",
    ""
  ].join("\n")

const launchdPlist = (node: string, bin: string, options: UnitOptions) => {
  const env = unitEnvironment(options)
  const log = daemonLogPath(nodePath.resolve(options.home))
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">`,
    `<plist version="1.0">`,
    `<dict>`,
    `  <key>Label</key>`,
    `  <string>dev.blue.daemon</string>`,
    `  <key>ProgramArguments</key>`,
    `  <array>`,
    ...[node, bin, "daemon", "run"].map((a) => `    <string>${xml(a)}</string>`),
    `  </array>`,
    ...(env.length === 0 ? [] : [
      `  <key>EnvironmentVariables</key>`,
      `  <dict>`,
      ...env.flatMap(([k, v]) => [`    <key>${k}</key>`, `    <string>${xml(v)}</string>`]),
      `  </dict>`
    ]),
    `  <key>RunAtLoad</key>`,
    `  <true/>`,
    // Restart after a crash, but let 'blue daemon stop' (a clean exit) stay stopped.
    `  <key>KeepAlive</key>`,
    `  <dict>`,
    `    <key>SuccessfulExit</key>`,
    `    <false/>`,
    `  </dict>`,
    `  <key>StandardOutPath</key>`,
    `  <string>${xml(log)}</string>`,
    `  <key>StandardErrorPath</key>`,
    `  <string>${xml(log)}</string>`,
    `</dict>`,
    `</plist>`,
    ``
  ].join("\n")
}

/**
 * Writes a systemd user unit (Linux) or a launchd agent (macOS) that runs `blue daemon run` at login, and returns
 * its path and the commands that enable it; with `print` it writes nothing. This is the one file Blue writes outside
 * a repo, a realm or BLUE_HOME, and only when the user asks for it.
 */
export const installUnit = (
  options: UnitOptions
): Effect.Effect<UnitInstall, UnsupportedPlatform | DaemonRuntimeError> =>
  Effect.gen(function*() {
    const node = options.node ?? process.execPath
    const bin = nodePath.resolve(options.bin)
    const userHome = options.userHome ?? os.homedir()
    let unit: Omit<UnitInstall, "written">
    if (options.platform === "linux") {
      const configHome = options.configHome ?? process.env["XDG_CONFIG_HOME"]
      const dir = nodePath.join(
        configHome !== undefined && configHome !== "" ? configHome : nodePath.join(userHome, ".config"),
        "systemd",
        "user"
      )
      unit = {
        platform: "linux",
        path: nodePath.join(dir, "blue-daemon.service"),
        content: systemdUnit(node, bin, options),
        commands: ["systemctl --user daemon-reload && systemctl --user enable --now blue-daemon"]
      }
    } else if (options.platform === "darwin") {
      const file = nodePath.join(userHome, "Library", "LaunchAgents", "dev.blue.daemon.plist")
      unit = {
        platform: "darwin",
        path: file,
        content: launchdPlist(node, bin, options),
        commands: [`launchctl load -w ${/\s/.test(file) ? JSON.stringify(file) : file}`]
      }
    } else {
      return yield* new UnsupportedPlatform({ platform: options.platform })
    }
    if (options.print) return { ...unit, written: false }
    const file = unit.path
    const written = yield* Effect.try({
      try: () => {
        if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === unit.content) return false
        fs.mkdirSync(nodePath.dirname(file), { recursive: true })
        writeFileAtomicSync(file, unit.content, { mode: 0o644 })
        return true
      },
      catch: (e) => new DaemonRuntimeError({ op: "install", path: file, detail: describe(e) })
    })
    return { ...unit, written }
  })
