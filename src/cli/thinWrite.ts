/**
 * One writer, the client's side: a write command run while this BLUE_HOME's daemon runs is handed to the daemon
 * (`POST /run`, src/daemon/run.ts), which runs the same command program in its warm process; this process prints
 * what it printed and exits with its code, without loading Effect, the CLI framework or the engine (plain
 * node:http; keep it that way, it is the start-up cost of every write).
 *
 * It declines — and the full CLI runs the command in-process — for anything but a write command, when the daemon is
 * kept off (`BLUE_DAEMON=off`, CI), when no daemon runs, and when the daemon cannot be reached or refuses the request
 * before running anything. Once the request is sent, the command may have run: a connection lost then is said in
 * one sentence, exit 75 (EX_TEMPFAIL), never retried blindly.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as nodePath from "node:path"
import { autoStartEnabled, runningDaemon } from "../adapters/daemonPresence.js"
import { DAEMON_STOPPED, RUN_ENV_VARIABLES } from "../events/runEnv.js"

/** The write commands (the words after `blue`), aliases included; everything else runs in-process. */
const WRITE_COMMANDS: ReadonlyArray<ReadonlyArray<string>> = [
  ["realm", "admin", "init"],
  ["realm", "init"],
  ["realm", "admin", "join"],
  ["realm", "join"],
  ["realm", "admin", "leave"],
  ["realm", "admin", "domain", "create"],
  ["realm", "domain", "create"],
  ["realm", "admin", "reindex"],
  ["realm", "admin", "governance"],
  ["realm", "admin", "invite"],
  ["realm", "admin", "approve"],
  ["realm", "admin", "reject"],
  ["realm", "export"],
  ["realm", "import"],
  ["realm", "ack"],
  ["realm", "sync"],
  ["realm", "admin", "approve"],
  ["realm", "admin", "reject"],
  ["realm", "proposal", "withdraw"]
]

/**
 * Words that ask for help or completions: answered in-process. (`--version` is also an option of `export` and
 * `import`; the daemon's front door answers it as this one would.)
 */
const FRONT_DOOR = new Set(["--help", "-h", "--completions", "--wizard"])

/** EX_TEMPFAIL (sysexits.h): the daemon stopped while running the command. */
export const EX_TEMPFAIL = 75

/** True when `args` (after `blue`) is a write command the daemon may run. */
export const isWriteCommand = (args: ReadonlyArray<string>): boolean =>
  !args.some((a) => FRONT_DOOR.has(a)) &&
  WRITE_COMMANDS.some((words) => words.every((w, k) => args[k] === w))

/** What became of a command handed to the daemon. */
type Outcome =
  | { readonly _tag: "Declined" }
  | { readonly _tag: "Ran"; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  | { readonly _tag: "Lost" }

const post = (port: number, token: string, body: string): Promise<Outcome> =>
  new Promise((resolve) => {
    let sent = false
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/run",
      method: "POST",
      agent: false,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body)
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", () => resolve({ _tag: "Lost" }))
      res.on("end", () => {
        if (!res.complete) return resolve({ _tag: "Lost" })
        // Refused before running (a daemon without /run, a bad token, a request it cannot read): run it here.
        if (res.statusCode !== 200) return resolve(res.statusCode! >= 500 ? { _tag: "Lost" } : { _tag: "Declined" })
        try {
          const r = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>
          if (typeof r.exit_code !== "number" || typeof r.stdout !== "string" || typeof r.stderr !== "string") {
            return resolve({ _tag: "Lost" })
          }
          resolve({ _tag: "Ran", exitCode: r.exit_code, stdout: r.stdout, stderr: r.stderr })
        } catch {
          resolve({ _tag: "Lost" })
        }
      })
      res.on("aborted", () => resolve({ _tag: "Lost" }))
    })
    req.on("socket", (socket) => socket.on("connect", () => (sent = true)))
    // Before the connection stood, nothing reached the daemon: the command runs in-process instead.
    req.on("error", () => resolve(sent ? { _tag: "Lost" } : { _tag: "Declined" }))
    req.end(body)
  })

/**
 * Hands `args` to the running daemon when it is a write command; resolves true when the command was handled here
 * (its output printed, `process.exitCode` set), false to run it in-process.
 */
export const tryThinWrite = async (args: ReadonlyArray<string>): Promise<boolean> => {
  const env = process.env
  if (!isWriteCommand(args) || !autoStartEnabled(env) || env["BLUE_DEBUG"] !== undefined) return false
  const home = env["BLUE_HOME"] ?? nodePath.join(os.homedir(), ".blue")
  const daemon = runningDaemon(home)
  if (daemon === undefined) return false
  let token: string
  try {
    token = fs.readFileSync(nodePath.join(home, "daemon.token"), "utf8").trim()
  } catch {
    return false
  }
  let cwd: string
  try {
    cwd = process.cwd()
  } catch {
    return false // a directory removed under us: the full CLI says so
  }
  const passed: Record<string, string> = {}
  for (const name of RUN_ENV_VARIABLES) if (env[name] !== undefined) passed[name] = env[name]!
  const body = JSON.stringify({
    argv: args,
    cwd,
    env: passed,
    stdout_tty: process.stdout.isTTY === true,
    stderr_tty: process.stderr.isTTY === true,
    ...(process.stdout.columns === undefined ? {} : { columns: process.stdout.columns })
  })
  const outcome = await post(daemon.port, token, body)
  const debug = env["BLUE_DEBUG_PATH"] !== undefined
  if (outcome._tag === "Declined") {
    if (debug) process.stderr.write(`blue: path=in-process (the daemon did not take the command)\n`)
    return false
  }
  if (outcome._tag === "Lost") {
    process.stderr.write(`Error: ${DAEMON_STOPPED}\n`)
    process.exitCode = EX_TEMPFAIL
    return true
  }
  if (debug) process.stderr.write(`blue: path=daemon (pid ${daemon.pid})\n`)
  if (outcome.stdout !== "") process.stdout.write(outcome.stdout)
  if (outcome.stderr !== "") process.stderr.write(outcome.stderr)
  process.exitCode = outcome.exitCode
  return true
}
