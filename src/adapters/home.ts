/**
 * Where Blue keeps per-user state: BLUE_HOME (default ~/.blue) holds daemon.db. (Who is acting: identity.ts.)
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** The default for BLUE_LOCK_TIMEOUT_MS. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000

/** The longest wait BLUE_LOCK_TIMEOUT_MS may ask for (a timer's limit, about 24 days). */
const MAX_LOCK_TIMEOUT_MS = 2_147_483_647

/** BLUE_LOCK_TIMEOUT_MS in milliseconds: unset → the default, empty → 0 (do not wait); undefined when invalid. */
export const lockTimeoutFromEnv = (raw: string | undefined = process.env["BLUE_LOCK_TIMEOUT_MS"]): number | undefined =>
  parseLockTimeout(raw)

/** BLUE_LOCK_TIMEOUT_MS of `env` (a command's environment, which may not be this process's), as above. */
export const lockTimeoutIn = (env: Readonly<Record<string, string | undefined>>): number | undefined =>
  parseLockTimeout(env["BLUE_LOCK_TIMEOUT_MS"])

const parseLockTimeout = (raw: string | undefined): number | undefined =>
  raw === undefined
    ? DEFAULT_LOCK_TIMEOUT_MS
    : raw === ""
    ? 0
    : /^\d+$/.test(raw) && Number(raw) <= MAX_LOCK_TIMEOUT_MS
    ? Number(raw)
    : undefined

/** The problem with the variable Blue reads from the environment, as one sentence, or undefined. */
/** The default silence bound of a remote operation (ms). */
export const DEFAULT_REMOTE_TIMEOUT_MS = 30_000

/**
 * BLUE_REMOTE_TIMEOUT_MS of `env` as a silence bound in ms: unset or empty → the default; undefined when it is not a
 * whole number from 1 to 24 days' worth of milliseconds.
 */
export const remoteTimeoutFromEnv = (env: NodeJS.ProcessEnv): number | undefined => {
  const raw = env["BLUE_REMOTE_TIMEOUT_MS"]
  if (raw === undefined || raw === "") return DEFAULT_REMOTE_TIMEOUT_MS
  return /^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 2_147_483_647 ? Number(raw) : undefined
}

export const environmentProblem = (
  env: NodeJS.ProcessEnv = process.env
): { readonly variable: string; readonly message: string } | undefined => {
  const home = env["BLUE_HOME"]
  if (home !== undefined) {
    const problem = homeProblem(home)
    if (problem !== undefined) return { variable: "BLUE_HOME", message: problem }
  }
  const timeout = env["BLUE_LOCK_TIMEOUT_MS"]
  if (lockTimeoutFromEnv(timeout) === undefined) {
    return {
      variable: "BLUE_LOCK_TIMEOUT_MS",
      message: `BLUE_LOCK_TIMEOUT_MS ${
        JSON.stringify(timeout)
      } is not a whole number of milliseconds up to ${MAX_LOCK_TIMEOUT_MS}; set it to e.g. 30000, or to an empty value not to wait.`
    }
  }
  if (remoteTimeoutFromEnv(env) === undefined) {
    return {
      variable: "BLUE_REMOTE_TIMEOUT_MS",
      message: `BLUE_REMOTE_TIMEOUT_MS ${
        JSON.stringify(env["BLUE_REMOTE_TIMEOUT_MS"])
      } is not a whole number of milliseconds from 1 to 2147483647; set it to e.g. 30000, or unset it for the default (30 s).`
    }
  }
  return undefined
}

const homeProblem = (home: string): string | undefined => {
  const fix = "set it to a directory Blue may create, or unset it to use ~/.blue."
  if (home === "") return `BLUE_HOME is set but empty; ${fix}`
  if (!path.isAbsolute(home)) return `BLUE_HOME ${JSON.stringify(home)} is not an absolute path; ${fix}`
  // The nearest existing part of the path must be a directory.
  for (let p = home;; p = path.dirname(p)) {
    let st: fs.Stats | undefined
    try {
      st = fs.statSync(p)
    } catch {
      st = undefined
    }
    if (st !== undefined) {
      if (st.isDirectory()) return undefined
      return p === home
        ? `BLUE_HOME ${JSON.stringify(home)} is not a directory; ${fix}`
        : `BLUE_HOME ${JSON.stringify(home)} cannot be created: ${p} is not a directory; ${fix}`
    }
    if (path.dirname(p) === p) return undefined
  }
}

/** The Blue home directory, created (0700) if missing. */
export const blueHome = (): string => {
  const home = process.env["BLUE_HOME"] ?? path.join(os.homedir(), ".blue")
  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  return home
}

/** Path of daemon.db inside the home. */
export const daemonDbPath = (home: string = blueHome()) => path.join(home, "daemon.db")
