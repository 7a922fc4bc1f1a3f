// Shared by write.mjs and contention.mjs: a realm with `repos` member repos, each owning one contract, and this
// BLUE_HOME's daemon running on a free port. `blue(cwd, mode, ...args)` runs the CLI: mode "daemon" lets a write
// hand itself to the daemon (the thin path), "in-process" runs it in the CLI process with the daemon still running
// (BLUE_DEBUG keeps the thin path off; everything else — sessions, publishing — is as before the thin path).
import { execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const BIN = process.env.BLUE_BENCH_BIN ?? fileURLToPath(new URL("../bin/blue.js", import.meta.url))

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
export const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]
export const load = () => os.loadavg().map((l) => +l.toFixed(2))

export const setup = async (label, repos) => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `blue-bench-${label}-`)))
  fs.mkdirSync(path.join(root, "xdg"), { mode: 0o700 })
  const env = {
    PATH: process.env.PATH,
    HOME: root,
    BLUE_HOME: path.join(root, "home"),
    BLUE_USER: "bench@example.com",
    GIT_AUTHOR_NAME: "Bench",
    GIT_AUTHOR_EMAIL: "bench@example.com",
    GIT_COMMITTER_NAME: "Bench",
    GIT_COMMITTER_EMAIL: "bench@example.com",
    BLUE_DAEMON: "auto",
    BLUE_DAEMON_PORT: String(await freePort()),
    XDG_RUNTIME_DIR: path.join(root, "xdg"),
    NO_COLOR: "1"
  }
  const modeEnv = (mode) => (mode === "in-process" ? { ...env, BLUE_DEBUG: "1" } : env)
  const blue = (cwd, mode, ...args) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: modeEnv(mode), encoding: "utf8" })
    if (r.status !== 0) throw new Error(`blue ${args.join(" ")}: exit ${r.status}: ${r.stderr}`)
    return r.stdout
  }
  const blueAsync = (cwd, mode, ...args) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd, env: modeEnv(mode), stdio: ["ignore", "ignore", "pipe"] })
      let stderr = ""
      child.stderr.on("data", (d) => (stderr += d))
      child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`blue ${args.join(" ")}: ${stderr}`))))
    })
  blue(root, "daemon", "daemon", "start")
  blue(root, "daemon", "realm", "admin", "init", "--name", "bench")
  const names = Array.from({ length: repos }, (_, k) => `repo-${k}`)
  for (const name of names) {
    fs.mkdirSync(path.join(root, name))
    execFileSync("git", ["init", "-q"], { cwd: path.join(root, name) })
    blue(path.join(root, name), "daemon", "realm", "admin", "join", "../realm-bench")
  }
  for (const [k, name] of names.entries()) {
    const consumer = names[(k + 1) % names.length] === name ? "reader" : names[(k + 1) % names.length]
    blue(path.join(root, name), "daemon", "realm", "admin", "domain", "create", `d-${k}`, "--repos", `${name},${consumer}x`, "--contract", `c-${k}`)
  }
  const cleanup = () => {
    spawnSync(process.execPath, [BIN, "daemon", "stop"], { cwd: root, env })
    try {
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 5 })
    } catch {
      // a daemon still writing as it stops: leave the temp dir
    }
  }
  return { root, repos: names.map((n) => path.join(root, n)), blue, blueAsync, cleanup }
}
