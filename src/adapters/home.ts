/**
 * Where Blue keeps per-user state: BLUE_HOME (default ~/.blue) holds daemon.db. (Who is acting: identity.ts.)
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** The Blue home directory, created (0700) if missing. */
export const blueHome = (): string => {
  const home = process.env["BLUE_HOME"] ?? path.join(os.homedir(), ".blue")
  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  return home
}

/** Path of daemon.db inside the home. */
export const daemonDbPath = (home: string = blueHome()) => path.join(home, "daemon.db")
