/**
 * The daemon with real processes: a `sessions --watch` client in one repo sees another repo's contract change
 * arrive within a second, commands show up as sessions, and a client killed with SIGKILL is cleaned up.
 */
import { spawn, spawnSync } from "node:child_process"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, FUNGAL, ok, S3, type Seeded, seedStory } from "./support/seed.js"
import { BLUE_BIN, freePort, makeWorkspace } from "./support/workspace.js"

let s: Seeded
let env: NodeJS.ProcessEnv
const blue = (cwd: string, ...args: Array<string>) =>
  spawnSync(process.execPath, [BLUE_BIN, ...args], { cwd, env, encoding: "utf8" })

beforeAll(async () => {
  s = seedStory(makeWorkspace("blue-sessions"))
  env = { ...s.ws.env, BLUE_DAEMON_PORT: String(await freePort()), XDG_RUNTIME_DIR: path.join(s.ws.root, "run") }
  ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", JSON.stringify({ read: ["a/*"] })), "first value")
  const started = blue(s.ws.root, "daemon", "start", "--json")
  expect(started.status, started.stderr).toBe(0)
})
afterAll(() => {
  blue(s.ws.root, "daemon", "stop")
  s.ws.cleanup()
})

/** Starts `blue realm sessions --watch --json` in `cwd` and collects its JSON lines. */
const watcher = (cwd: string) => {
  const child = spawn(process.execPath, [BLUE_BIN, "realm", "sessions", "--watch", "--json"], { cwd, env })
  const lines: Array<any> = []
  const arrived: Array<number> = []
  let buffer = ""
  child.stdout.on("data", (d) => {
    buffer += d
    const parts = buffer.split("\n")
    buffer = parts.pop()!
    for (const p of parts) {
      if (p.trim() === "") continue
      lines.push(JSON.parse(p))
      arrived.push(Date.now())
    }
  })
  const until = async (pred: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(lines)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  return { child, lines, arrived, until }
}

const sessions = (cwd: string) => JSON.parse(blue(cwd, "realm", "sessions", "--json").stdout).sessions as Array<any>

describe("sessions and live notifications", () => {
  it("a watcher in fungal sees aperture's contract change arrive within a second", async () => {
    const w = watcher(path.join(s.ws.root, FUNGAL))
    await w.until(() => sessions(path.join(s.ws.root, FUNGAL)).some((x) => x.client_id === "watch"))
    const bump = blue(
      path.join(s.ws.root, APERTURE),
      "realm",
      "export",
      "--name",
      S3,
      "--value",
      JSON.stringify({ read: ["a/*", "b/*"] })
    )
    expect(bump.status, bump.stderr).toBe(0)
    const exportReturned = Date.now()
    await w.until(() => w.lines.some((l) => l.type === "notification"))
    const i = w.lines.findIndex((l) => l.type === "notification")
    expect(w.lines[i].notification).toMatchObject({
      repo: FUNGAL,
      contract: S3,
      version: "1.1.0",
      change_type: "updated",
      from_repo: APERTURE
    })
    // The export publishes as its append's last step (the engine tells the daemon): the watcher has it within a second.
    expect(w.arrived[i]! - exportReturned).toBeLessThan(1000)
    // The export ran as a session while the daemon was up.
    expect(w.lines.some((l) => l.type === "session" && l.session.repo === APERTURE && l.change === "started")).toBe(
      true
    )
    w.child.kill("SIGINT")
    // Ended by Ctrl-C: it closes its feed and session, and exits as an interrupted command does (130).
    expect(await new Promise((r) => w.child.on("close", (code) => r(code)))).toBe(130)
    expect(sessions(path.join(s.ws.root, FUNGAL)).some((x) => x.client_id === "watch")).toBe(false)
  })

  it("a watcher killed with SIGKILL is ended as an orphan", async () => {
    const w = watcher(path.join(s.ws.root, FUNGAL))
    await w.until(() => sessions(path.join(s.ws.root, FUNGAL)).some((x) => x.pid === w.child.pid))
    w.child.kill("SIGKILL")
    const deadline = Date.now() + 3000
    while (sessions(path.join(s.ws.root, FUNGAL)).some((x) => x.pid === w.child.pid)) {
      if (Date.now() > deadline) throw new Error("orphan session was not ended")
      await new Promise((r) => setTimeout(r, 100))
    }
  })
})

describe("the daemon starts on demand and cleans up after a restart", () => {
  it("`blue realm sessions` starts a stopped daemon; a session left by a killed client is ended when it restarts", async () => {
    const fungal = path.join(s.ws.root, FUNGAL)
    expect(blue(s.ws.root, "daemon", "stop").status).toBe(0)
    expect(blue(s.ws.root, "daemon", "status").status).toBe(3)
    // Auto-start: the command needs the daemon, starts it and answers (auto-start on: the workspace's
    // BLUE_DAEMON=off and the runner's CI=true are left out of this child's environment).
    const autoEnv = { ...env }
    delete autoEnv["BLUE_DAEMON"]
    delete autoEnv["CI"]
    const listed = spawnSync(process.execPath, [BLUE_BIN, "realm", "sessions", "--json"], {
      cwd: fungal,
      env: autoEnv,
      encoding: "utf8"
    })
    expect(listed.status, listed.stderr).toBe(0)
    expect(blue(s.ws.root, "daemon", "status").status).toBe(0)
    // A watcher registers (with the domains and imports the daemon knows for its repo), then the daemon stops
    // and the watcher is killed while it is down: the session stays in daemon.db until the daemon restarts.
    const w = watcher(fungal)
    await w.until(() => sessions(fungal).some((x) => x.pid === w.child.pid))
    const mine = sessions(fungal).find((x) => x.pid === w.child.pid)
    expect(mine).toMatchObject({ repo: FUNGAL, client_id: "watch", imports_watching: [S3] })
    expect(mine.active_domains).toContain("s3-access")
    expect(blue(s.ws.root, "daemon", "stop").status).toBe(0)
    w.child.kill("SIGKILL")
    await new Promise((r) => w.child.on("close", r))
    expect(blue(s.ws.root, "daemon", "start").status).toBe(0)
    expect(sessions(fungal).some((x) => x.pid === w.child.pid)).toBe(false)
  })
})
