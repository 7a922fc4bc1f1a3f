/**
 * The bad-input corpus harness: one prepared workspace (a realm, two joined repos with a published contract, one
 * repo that has not joined) is built once per test file and copied for every case, so a case costs one run of the
 * real `blue` binary. A refused case must exit non-zero with one `Error: …` line naming what is at fault and no
 * Effect internals, and leave the realm, the repos and daemon.db exactly as they were; an accepted case exits 0.
 */
import Database from "better-sqlite3"
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { ExpectStatic } from "vitest"
import { BLUE_BIN, dbFingerprint, makeWorkspace, type Run } from "./workspace.js"

/** The binary under test (BLUE_CORPUS_BIN runs the corpus against another build, e.g. the one before a fix). */
const BIN = process.env["BLUE_CORPUS_BIN"] ?? BLUE_BIN

export const REALM = "realm-letemcook"
export const APERTURE = "aperture"
export const FUNGAL = "fungal-image-analysis"
export const LONER = "loner"

/** One copy of the prepared workspace. */
export interface Ctx {
  readonly root: string
  readonly home: string
  readonly env: NodeJS.ProcessEnv
  readonly path: (...parts: Array<string>) => string
  /** writes a file (creating its directory), relative to the root */
  readonly write: (file: string, content: string | Buffer) => string
  /** runs real git in a directory relative to the root */
  readonly git: (cwd: string, ...args: Array<string>) => void
}

/** One case of the corpus. */
export interface Case {
  readonly name: string
  /** where it runs, relative to the workspace root (default: aperture, the provider) */
  readonly cwd?: string
  readonly args: ReadonlyArray<string> | ((c: Ctx) => ReadonlyArray<string>)
  readonly env?: Record<string, string> | ((c: Ctx) => Record<string, string>)
  /** changes made to the copy before the run (and before the fingerprint) */
  readonly prepare?: (c: Ctx) => void
  /** refused: the message must contain each of these (the offending value, field or file) */
  readonly refused?: ReadonlyArray<string> | ((c: Ctx) => ReadonlyArray<string>)
  /** the exit code a refusal must have (default 1) */
  readonly code?: number
  /** output checks instead of the one-line Error (check's reports); the message is the whole output */
  readonly report?: true
  /**
   * a usage error: exit 64, `Error: …` naming the option and a hint to --help on stderr, no internals, nothing
   * changed
   */
  readonly usage?: true
  /**
   * daemon.db may change: the case committed to the realm by hand, and any command catches daemon.db up with the
   * realm's new commits (as the daemon's poll would); the realm, the repos and cache.db must still be untouched
   */
  readonly realmCommitted?: true
  /** extra checks after the run */
  readonly after?: (c: Ctx, run: Run, expect: ExpectStatic) => void
}

const INTERNALS = [
  /Expected /,
  /Encoded side/,
  /[└├]─/,
  /^\s+at /m,
  /node:internal/,
  /\bactual undefined\b/,
  /Struct \(/
]

const ok = (r: ReturnType<typeof spawnSync>, what: string) => {
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`)
}

/** Builds the template workspace once: realm letemcook, aperture provides s3-permissions to fungal. */
export const makeTemplate = () => {
  const ws = makeWorkspace("blue-corpus")
  const blue = (cwd: string, ...args: Array<string>) =>
    ok(
      spawnSync(process.execPath, [BIN, ...args], { cwd: ws.path(cwd), env: ws.env, encoding: "utf8" }),
      args.join(" ")
    )
  blue(".", "realm", "admin", "init", "--name", "letemcook")
  for (const r of [APERTURE, FUNGAL, LONER]) ws.repo(r)
  blue(APERTURE, "realm", "admin", "join", `../${REALM}`)
  blue(FUNGAL, "realm", "admin", "join", `../${REALM}`)
  blue(
    APERTURE,
    "realm",
    "admin",
    "domain",
    "create",
    "s3-access",
    "--repos",
    `${APERTURE},${FUNGAL}`,
    "--contract",
    "s3-permissions"
  )
  blue(APERTURE, "realm", "export", "--name", "s3-permissions", "--value", JSON.stringify({ paths: ["a"] }))
  return ws
}

let counter = 0

/** A fresh copy of the template (daemon.db's realm paths moved along). */
export const copyOf = async (template: { readonly root: string; readonly env: NodeJS.ProcessEnv }): Promise<Ctx> => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `blue-case-${counter++}-`)))
  // Asynchronously, so concurrent cases do not hold the test worker's event loop (vitest's RPC times out).
  await fs.promises.cp(template.root, root, { recursive: true, verbatimSymlinks: true })
  const home = path.join(root, ".blue-home")
  const dbFile = path.join(home, "daemon.db")
  if (fs.existsSync(dbFile)) {
    const db = new Database(dbFile)
    db.prepare("UPDATE realms SET local_path = replace(local_path, ?, ?)").run(template.root, root)
    db.close()
  }
  const env = { ...template.env, HOME: root, BLUE_HOME: home }
  const at = (...parts: Array<string>) => path.join(root, ...parts)
  return {
    root,
    home,
    env,
    path: at,
    write: (file, content) => {
      fs.mkdirSync(path.dirname(at(file)), { recursive: true })
      fs.writeFileSync(at(file), content)
      return at(file)
    },
    git: (cwd, ...args) => ok(spawnSync("git", args, { cwd: at(cwd), env, encoding: "utf8" }), `git ${args.join(" ")}`)
  }
}

/** Runs the binary asynchronously (so cases run concurrently), killing it after `timeoutMs`. */
export const runBlue = (c: Ctx, cwd: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, timeoutMs = 15_000) =>
  new Promise<Run & { readonly timedOut: boolean }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: c.path(cwd), env })
    let stdout = ""
    let stderr = ""
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGKILL")
    }, timeoutMs)
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({
        code,
        stdout,
        stderr,
        timedOut,
        json: () => JSON.parse(stdout)
      })
    })
  })

/** Like workspace.ts's fingerprint, but never opens what is not a regular file (a FIFO would block the read). */
const fingerprint = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      const rel = path.relative(dir, p)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out[rel] = createHash("sha1").update(fs.readFileSync(p)).digest("hex")
      else out[rel] = e.isSymbolicLink() ? `symlink → ${fs.readlinkSync(p)}` : "special"
    }
  }
  walk(dir)
  return out
}

/** Everything a refusal must leave as it was. */
const snapshot = (c: Ctx) => ({
  dirs: Object.fromEntries(
    [REALM, APERTURE, FUNGAL, LONER].map((d) => [d, fingerprint(c.path(d))])
  ),
  db: dbFingerprint(c.home),
  root: fs.readdirSync(c.root).sort()
})

/** Runs one case and checks its outcome. */
export const runCase = async (
  template: { readonly root: string; readonly env: NodeJS.ProcessEnv },
  k: Case,
  /** the test's own expect (soft failures of concurrent tests are reported against the right one) */
  expect: ExpectStatic
) => {
  const c = await copyOf(template)
  try {
    k.prepare?.(c)
    const args = typeof k.args === "function" ? k.args(c) : k.args
    const env = { ...c.env, ...(typeof k.env === "function" ? k.env(c) : k.env) }
    const label = `${k.name}: blue ${
      args.map((a) => JSON.stringify(a.length > 80 ? `${a.slice(0, 80)}…` : a)).join(" ")
    }`
    const before = k.refused === undefined ? undefined : snapshot(c)
    const run = await runBlue(c, k.cwd ?? APERTURE, args, env)
    const output = `exit ${run.code}\nstdout: ${run.stdout.slice(0, 2000)}\nstderr: ${run.stderr.slice(0, 2000)}`
    expect(run.timedOut, `${label}: hung\n${output}`).toBe(false)
    if (k.refused === undefined) {
      expect(run.code, `${label}: accepted\n${output}`).toBe(0)
    } else {
      const says = typeof k.refused === "function" ? k.refused(c) : k.refused
      if (k.usage !== true) expect.soft(run.code, `${label}: exit code\n${output}`).toBe(k.code ?? 1)
      const message = k.report === true || k.usage === true ? `${run.stdout}${run.stderr}` : run.stderr
      if (k.usage === true) {
        // EX_USAGE, and the front door's two lines: the problem, then where to read the usage.
        expect.soft(run.code, `${label}: exit code\n${output}`).toBe(64)
        expect.soft(run.stdout, `${label}: stdout\n${output}`).toBe("")
        expect.soft(run.stderr, `${label}: Error + hint\n${output}`).toMatch(
          /^Error: [^\n]+\nRun 'blue [a-z ]+ --help' for usage\.\n$/
        )
      }
      if (k.report !== true && k.usage !== true) {
        expect.soft(run.stdout, `${label}: stdout\n${output}`).toBe("")
        expect.soft(run.stderr, `${label}: one "Error: " line\n${output}`).toMatch(/^Error: [^\n]+\n$/)
      }
      for (const re of INTERNALS) {
        expect.soft(message, `${label}: Effect internals\n${output}`).not.toMatch(re)
      }
      for (const s of says) expect.soft(message, `${label}: names ${JSON.stringify(s)}\n${output}`).toContain(s)
      const after = snapshot(c)
      if (k.realmCommitted === true) {
        expect.soft({ ...after, db: "" }, `${label}: nothing changed`).toEqual({ ...before, db: "" })
      } else expect.soft(after, `${label}: nothing changed`).toEqual(before)
    }
    k.after?.(c, run, expect)
  } finally {
    await fs.promises.rm(c.root, { recursive: true, force: true })
  }
}

export const mkfifo = (file: string) => {
  const r = spawnSync("mkfifo", [file])
  if (r.status !== 0) throw new Error(`mkfifo ${file}: ${r.stderr}`)
}

/** Bytes that are not text. */
export const BINARY = Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x80, 0x9c, 0x00, 0x7f, 0x1b, 0x5b, 0x32, 0x4a])
