/**
 * End-to-end test support: a temp workspace with its own BLUE_HOME, code repos made with the real `git`, and the
 * real bundled `blue` binary run as a child process.
 */
import Database from "better-sqlite3"
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** Absolute path of the bundled executable. */
export const BLUE_BIN = fileURLToPath(new URL("../../bin/blue.js", import.meta.url))

/** What one run of `blue` did. */
export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** stdout parsed as one JSON document */
  readonly json: () => any
}

/** A temp workspace: `root` holds repos and realms, `home` is BLUE_HOME. */
export interface Workspace {
  readonly root: string
  readonly home: string
  readonly env: NodeJS.ProcessEnv
  /** Runs `blue args…` in `cwd` (relative to root) synchronously. */
  readonly blue: (cwd: string, ...args: Array<string>) => Run
  /** Starts `blue args…` in `cwd` without waiting; resolves with its Run. */
  readonly spawnBlue: (cwd: string, ...args: Array<string>) => { child: ReturnType<typeof spawn>; done: Promise<Run> }
  /** Creates a code repo `name` (git init + one commit) and returns its absolute path. */
  readonly repo: (name: string) => string
  /** Absolute path inside the workspace. */
  readonly path: (...parts: Array<string>) => string
  /** Removes the workspace. */
  readonly cleanup: () => void
}

const toRun = (code: number | null, stdout: string, stderr: string): Run => ({
  code,
  stdout,
  stderr,
  json: () => {
    try {
      return JSON.parse(stdout)
    } catch {
      throw new Error(`stdout is not one JSON document (exit ${code}):\n${stdout}\nstderr:\n${stderr}`)
    }
  }
})

/** Makes a fresh workspace with its own BLUE_HOME. */
export const makeWorkspace = (label = "blue"): Workspace => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`)))
  const home = path.join(root, ".blue-home")
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: root,
    BLUE_HOME: home,
    BLUE_USER: "tester@example.com",
    GIT_AUTHOR_NAME: "Tester",
    GIT_AUTHOR_EMAIL: "tester@example.com",
    GIT_COMMITTER_NAME: "Tester",
    GIT_COMMITTER_EMAIL: "tester@example.com",
    GIT_CONFIG_NOSYSTEM: "1",
    NO_COLOR: "1",
    // Commands would start a daemon per workspace; the daemon suites start theirs explicitly.
    BLUE_DAEMON: "off"
  }
  const at = (cwd: string) => path.resolve(root, cwd)
  return {
    root,
    home,
    env,
    path: (...parts) => path.join(root, ...parts),
    blue: (cwd, ...args) => {
      const r = spawnSync(process.execPath, [BLUE_BIN, ...args], { cwd: at(cwd), env, encoding: "utf8" })
      return toRun(r.status, r.stdout, r.stderr)
    },
    spawnBlue: (cwd, ...args) => {
      const child = spawn(process.execPath, [BLUE_BIN, ...args], { cwd: at(cwd), env })
      let stdout = ""
      let stderr = ""
      child.stdout!.on("data", (d) => (stdout += d))
      child.stderr!.on("data", (d) => (stderr += d))
      const done = new Promise<Run>((resolve) => child.on("close", (code) => resolve(toRun(code, stdout, stderr))))
      return { child, done }
    },
    repo: (name) => {
      const dir = path.join(root, name)
      fs.mkdirSync(dir, { recursive: true })
      const git = (...args: Array<string>) => {
        const r = spawnSync("git", args, { cwd: dir, env, encoding: "utf8" })
        if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`)
      }
      git("init", "-q", "-b", "main")
      fs.writeFileSync(path.join(dir, "README.md"), `# ${name}\n`)
      git("add", "README.md")
      git("commit", "-q", "-m", "initial")
      return dir
    },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true })
  }
}

/**
 * A fingerprint of everything under `dir` (file paths and content hashes, .git included), to assert that a
 * refused command left a realm or repo exactly as it was.
 */
export const fingerprint = (dir: string): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.set(path.relative(dir, p), createHash("sha1").update(fs.readFileSync(p)).digest("hex"))
    }
  }
  walk(dir)
  return out
}

/** The rows of daemon.db's tables, to assert it is unchanged (WAL content included). */
export const dbFingerprint = (home: string): string => {
  const file = path.join(home, "daemon.db")
  if (!fs.existsSync(file)) return "(no daemon.db)"
  const db = new Database(file, { readonly: true })
  try {
    const tables = ["realms", "events", "snapshots"]
    return JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()))
  } finally {
    db.close()
  }
}

/**
 * The committer identity every test's own git commits carry, so the suite passes where git has none configured (a
 * fresh CI container, `HOME` pointing at an empty directory). As `-c` options: a later `-c user.email=…` in a
 * call's own arguments still wins, so tests can commit as someone else.
 */
export const GIT_IDENTITY: ReadonlyArray<string> = ["-c", "user.name=Tester", "-c", "user.email=tester@example.com"]

/** Runs real `git` in `dir` (as GIT_IDENTITY unless the arguments say otherwise) and returns stdout. */
export const git = (dir: string, ...args: Array<string>): string => {
  const r = spawnSync("git", [...GIT_IDENTITY, ...args], { cwd: dir, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed in ${dir}: ${r.stderr}`)
  return r.stdout
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for a daemon a test starts). */
export const freePort = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
