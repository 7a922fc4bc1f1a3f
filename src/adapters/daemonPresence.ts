/**
 * Whether this BLUE_HOME's daemon runs, answered from files and process ids alone (no Effect, no network), so the
 * start-up fast path of `blue status` can ask it too: where the PID file lives, whether its process is alive, and
 * whether commands may start the daemon themselves (`BLUE_DAEMON=off`, or `CI=true` without `BLUE_DAEMON=auto`,
 * keep it off).
 */
import type * as NodeCrypto from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as nodePath from "node:path"

// node:crypto is loaded when a hash is first needed (~2 ms of the status fast path's start-up otherwise).
let crypto: typeof NodeCrypto | undefined
const sha256Hex = (text: string): string => {
  crypto ??= createRequire(import.meta.url)("node:crypto") as typeof NodeCrypto
  return crypto.createHash("sha256").update(text).digest("hex")
}

/** The real path of `p`, or its absolute path when it does not exist. */
export const realpathOr = (p: string) => {
  try {
    return fs.realpathSync(p)
  } catch {
    return nodePath.resolve(p)
  }
}

/** True when `home` is the default BLUE_HOME, `~/.blue`. */
export const isDefaultHome = (home: string): boolean =>
  realpathOr(home) === realpathOr(nodePath.join(os.homedir(), ".blue"))

const writableOrCreatable = (dir: string): boolean => {
  try {
    if (fs.existsSync(dir)) {
      if (!fs.statSync(dir).isDirectory()) return false
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK)
      return true
    }
    const parent = nodePath.dirname(dir)
    return parent !== dir && writableOrCreatable(parent)
  } catch {
    return false
  }
}

/**
 * Where the PID file of the daemon for `home` lives: `$XDG_RUNTIME_DIR/blue/`, else `/var/run/blue/` when usable,
 * else `home` itself. The default home's file is `blue.pid`; any other home's is `blue-<12 hex of sha256 of its
 * real path>.pid`, so several homes on one machine never share one.
 */
export const pidFilePath = (home: string, env: NodeJS.ProcessEnv = process.env): string => {
  const xdg = env["XDG_RUNTIME_DIR"]
  const dir = xdg !== undefined && xdg !== "" && writableOrCreatable(xdg)
    ? nodePath.join(xdg, "blue")
    : writableOrCreatable("/var/run/blue")
    ? "/var/run/blue"
    : home
  const name = isDefaultHome(home)
    ? "blue.pid"
    : `blue-${sha256Hex(realpathOr(home)).slice(0, 12)}.pid`
  return nodePath.join(dir, name)
}

/** The file in BLUE_HOME that keeps this home's random machine id (8 hex digits), made on first use. */
export const MACHINE_ID_FILE = "machine-id"

const ID = /^[0-9a-f]{8}$/

/**
 * The home's stable machine id: read from `BLUE_HOME/machine-id`, else made once (created exclusively, so two
 * processes asking at once agree on the first one written); a hash of the home's real path when the home cannot
 * be written.
 */
const machineId = (home: string): string => {
  const file = nodePath.join(home, MACHINE_ID_FILE)
  const read = () => {
    try {
      const text = fs.readFileSync(file, "utf8").trim()
      return ID.test(text) ? text : undefined
    } catch {
      return undefined
    }
  }
  const known = read()
  if (known !== undefined) return known
  crypto ??= createRequire(import.meta.url)("node:crypto") as typeof NodeCrypto
  const fresh = crypto.randomBytes(4).toString("hex")
  try {
    fs.mkdirSync(home, { recursive: true })
    // Exclusive create through a hard link of a complete temp file: never a half-written id.
    const tmp = `${file}.${process.pid}.${fresh}.tmp`
    fs.writeFileSync(tmp, `${fresh}\n`, { mode: 0o644 })
    try {
      fs.linkSync(tmp, file)
    } catch {
      // Another process made it first (or the file is unreadable): take what is there.
    } finally {
      fs.rmSync(tmp, { force: true })
    }
  } catch {
    // A home we cannot write
  }
  return read() ?? sha256Hex(realpathOr(home)).slice(0, 8)
}

/**
 * This machine's name on `blue/sessions/<machine>` branches: the host name in kebab-case (at most 40 characters)
 * and the home's random id (`BLUE_HOME/machine-id`), so two hosts with one name — or several homes on one host —
 * never share a branch. Always a valid ref name component (`[a-z0-9-]`).
 */
export const machineName = (home: string): string => {
  const host = os.hostname().toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 40).replace(/^-+|-+$/g, "") || "host"
  return `${host}-${machineId(home)}`
}

/**
 * The machines other than `machine` that published sessions on the realm's `blue/sessions/*` branches (read from
 * the refs alone: loose files and packed-refs; for the clone of a realm on a git server, its remote-tracking refs too).
 */
export const otherSessionMachines = (realmDir: string, machine: string): ReadonlyArray<string> => {
  const gitDir = nodePath.join(realmDir, ".git")
  const names = new Set<string>()
  for (const base of [["refs", "heads"], ["refs", "remotes", "origin"]]) {
    try {
      for (const f of fs.readdirSync(nodePath.join(gitDir, ...base, "blue", "sessions"))) names.add(f)
    } catch {
      // no loose session branches
    }
  }
  try {
    for (const line of fs.readFileSync(nodePath.join(gitDir, "packed-refs"), "utf8").split("\n")) {
      for (const prefix of [" refs/heads/blue/sessions/", " refs/remotes/origin/blue/sessions/"]) {
        if (line.indexOf(prefix) === 40) names.add(line.slice(40 + prefix.length))
      }
    }
  } catch {
    // no packed refs
  }
  names.delete(machine)
  return [...names]
}

const isZombie = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state === "Z" || state === "X"
  } catch {
    return false
  }
}

/** True when process `pid` exists and has not exited (EPERM counts as alive; a zombie does not). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException | undefined)?.code !== "EPERM") return false
  }
  return !isZombie(pid)
}

/** The daemon's pid and port from its PID file when that process is alive; undefined otherwise. */
export const runningDaemon = (home: string): { readonly pid: number; readonly port: number } | undefined => {
  try {
    const record = JSON.parse(fs.readFileSync(pidFilePath(home), "utf8")) as { pid?: unknown; port?: unknown }
    if (typeof record.pid !== "number" || typeof record.port !== "number" || !isAlive(record.pid)) return undefined
    return { pid: record.pid, port: record.port }
  } catch {
    return undefined
  }
}

/**
 * True when a command run in a member repo may start the daemon (the accepted RFC's "auto-starts on first CLI
 * invocation"): not with `BLUE_DAEMON=off`, and not in CI (`CI=true` or `CI=1`) unless `BLUE_DAEMON=auto`, so
 * pipelines leave no daemon behind.
 */
export const autoStartEnabled = (env: NodeJS.ProcessEnv = process.env): boolean => {
  const setting = env["BLUE_DAEMON"]
  if (setting === "off") return false
  const ci = env["CI"]
  return setting === "auto" || !(ci === "true" || ci === "1")
}
