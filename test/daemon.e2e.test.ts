/**
 * The daemon's process management through the real `blue` binary and real processes: start/status/stop, the PID
 * file (one per BLUE_HOME, stale ones replaced, a second daemon refused), kill -9 recovery, graceful SIGTERM/SIGINT
 * of `daemon run`, two homes side by side, `install --print`, and a bad BLUE_DAEMON_PORT. Every test has its own
 * BLUE_HOME, XDG_RUNTIME_DIR, HOME and free port, and every daemon it started is killed afterwards.
 */
import { Effect, Either } from "effect"
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { installUnit } from "../src/adapters/daemonRuntime.js"
import { BLUE_BIN, freePort } from "./support/workspace.js"

/** One isolated machine-for-a-test: BLUE_HOME, XDG_RUNTIME_DIR and HOME in a temp dir, and a free port. */
interface Box {
  readonly root: string
  readonly home: string
  readonly xdg: string
  readonly userHome: string
  readonly port: number
  readonly env: NodeJS.ProcessEnv
  /** where the PID file must be: `<xdg>/blue/blue-<12 hex of sha256(realpath home)>.pid` */
  readonly pidFile: () => string
}

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly json: () => any
}

const boxes: Array<Box> = []
/** pids of every daemon a test started or learned of, killed in afterEach */
const pids = new Set<number>()
const children: Array<ChildProcess> = []

const makeBox = async (label = "blue-daemon"): Promise<Box> => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`)))
  const home = path.join(root, "blue-home")
  const xdg = path.join(root, "xdg")
  const userHome = path.join(root, "user")
  fs.mkdirSync(xdg, { mode: 0o700 })
  fs.mkdirSync(userHome)
  const port = await freePort()
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: userHome,
    BLUE_HOME: home,
    XDG_RUNTIME_DIR: xdg,
    BLUE_DAEMON_PORT: String(port),
    BLUE_USER: "tester@example.com",
    NO_COLOR: "1"
  }
  const box: Box = {
    root,
    home,
    xdg,
    userHome,
    port,
    env,
    pidFile: () => {
      const real = fs.realpathSync(home)
      return path.join(xdg, "blue", `blue-${createHash("sha256").update(real).digest("hex").slice(0, 12)}.pid`)
    }
  }
  boxes.push(box)
  return box
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

/** Runs `blue args…` with the box's environment (plus `extra`) and waits for it (at most 20 s). */
const blue = (box: Box, args: Array<string>, extra: NodeJS.ProcessEnv = {}): Run => {
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
    cwd: box.root,
    env: { ...box.env, ...extra },
    encoding: "utf8",
    timeout: 20_000
  })
  const run = toRun(r.status, r.stdout, r.stderr)
  // Whatever it reports having started is cleaned up after the test.
  if (r.status === 0 && args.includes("--json")) {
    const pid = (run.json() as { pid?: unknown }).pid
    if (typeof pid === "number") pids.add(pid)
  }
  return run
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"
  } catch {
    return true
  }
}

const isDaemonRun = (pid: number) => {
  if (!isAlive(pid)) return false
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
    return args.some((a, i) => a === "daemon" && args[i + 1] === "run")
  } catch {
    return true
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const waitFor = async (what: string, ok: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(25)
  }
}

const health = async (port: number): Promise<any> => {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) })
  expect(res.status).toBe(200)
  return res.json()
}

const readPidFile = (box: Box): { pid: number; port: number; home: string; started_at: string } =>
  JSON.parse(fs.readFileSync(box.pidFile(), "utf8"))

const mode = (file: string) => fs.statSync(file).mode & 0o777

/** A pid that certainly belongs to no process any more. */
const deadPid = async (): Promise<number> => {
  const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" })
  const pid = child.pid!
  await new Promise((resolve) => child.on("exit", resolve))
  await waitFor(`pid ${pid} to be reaped`, () => !isAlive(pid))
  return pid
}

/** Starts `blue daemon run` as our own child; resolves once it says it listens. */
const runForeground = async (box: Box, args: Array<string> = []) => {
  const child = spawn(process.execPath, [BLUE_BIN, "daemon", "run", ...args], { cwd: box.root, env: box.env })
  children.push(child)
  pids.add(child.pid!)
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += d))
  child.stderr!.on("data", (d) => (stderr += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() }))
  )
  let gone = false
  void exited.then(() => (gone = true))
  await waitFor("the daemon to listen", () => {
    if (gone) throw new Error(`daemon run exited early:\n${stdout}\n${stderr}`)
    return stdout.includes("\n")
  }, 15_000)
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

afterEach(async () => {
  for (const box of boxes) {
    try {
      for (const f of fs.readdirSync(path.join(box.xdg, "blue"))) {
        const pid = JSON.parse(fs.readFileSync(path.join(box.xdg, "blue", f), "utf8")).pid
        if (typeof pid === "number") pids.add(pid)
      }
    } catch {
      // no PID files
    }
  }
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  for (const pid of pids) {
    // Only what is still a `daemon run` process: a pid we saw may belong to someone else by now.
    if (!isDaemonRun(pid)) continue
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  for (const pid of pids) await waitFor(`pid ${pid} to die`, () => !isAlive(pid)).catch(() => undefined)
  pids.clear()
  for (const box of boxes.splice(0)) fs.rmSync(box.root, { recursive: true, force: true })
})

describe("blue daemon start / status / stop", () => {
  it("starts in the background, answers /health, refuses a second daemon, and stops", async () => {
    const box = await makeBox()

    const down = blue(box, ["daemon", "status", "--json"])
    expect(down.code).toBe(3)
    expect(down.json()).toMatchObject({ running: false, pid_file: box.pidFile() })

    const started = blue(box, ["daemon", "start", "--json"])
    expect(started.code, started.stderr).toBe(0)
    const { pid } = started.json()
    expect(started.json()).toMatchObject({ port: box.port, started: true, pid_file: box.pidFile() })
    expect(isAlive(pid)).toBe(true)

    const h = await health(box.port)
    expect(h).toMatchObject({ status: "ok", pid, port: box.port, home: box.home })
    expect(typeof h.version).toBe("string")

    // The PID file: where the rules put it, what it records, private.
    expect(readPidFile(box)).toEqual({ pid, port: box.port, home: box.home, started_at: expect.any(String) })
    expect(Number.isNaN(Date.parse(readPidFile(box).started_at))).toBe(false)
    expect(mode(box.pidFile())).toBe(0o600)

    // The token: 32 random bytes in hex, 0600, and the one the daemon checks.
    const tokenFile = path.join(box.home, "daemon.token")
    expect(mode(tokenFile)).toBe(0o600)
    const token = fs.readFileSync(tokenFile, "utf8").trim()
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    const url = `http://127.0.0.1:${box.port}/realms`
    expect((await fetch(url)).status).toBe(401)
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)

    const status = blue(box, ["daemon", "status", "--json"])
    expect(status.code).toBe(0)
    expect(status.json()).toMatchObject({
      running: true,
      healthy: true,
      pid,
      port: box.port,
      pid_file: box.pidFile(),
      home: box.home
    })
    const human = blue(box, ["daemon", "status"])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(`pid ${pid}`)

    // Starting again finds the running one.
    const again = blue(box, ["daemon", "start", "--json"])
    expect(again.code).toBe(0)
    expect(again.json()).toMatchObject({ pid, port: box.port, started: false })

    // A second daemon for the same home refuses, naming the first, even on another port; the first is unharmed.
    const otherPort = await freePort()
    const second = blue(box, ["daemon", "run"], { BLUE_DAEMON_PORT: String(otherPort) })
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(`pid ${pid}`)
    expect(second.stderr).toContain("already running")
    const secondJson = blue(box, ["daemon", "run", "--json"])
    expect(secondJson.code).toBe(1)
    expect(secondJson.json().error).toMatchObject({ _tag: "DaemonAlreadyRunning", pid, port: box.port })
    expect(readPidFile(box).pid).toBe(pid)
    expect((await health(box.port)).pid).toBe(pid)

    const stopped = blue(box, ["daemon", "stop", "--json"])
    expect(stopped.code).toBe(0)
    expect(stopped.json()).toMatchObject({ stopped: true, pid, forced: false })
    expect(isAlive(pid)).toBe(false)
    expect(fs.existsSync(box.pidFile())).toBe(false)

    const after = blue(box, ["daemon", "status", "--json"])
    expect(after.code).toBe(3)
    expect(after.json()).toMatchObject({ running: false })
    expect(after.json().stale).toBeUndefined()

    const stopAgain = blue(box, ["daemon", "stop"])
    expect(stopAgain.code).toBe(0)
    expect(stopAgain.stdout).toContain("not running")
  })

  it("keeps an existing token but tightens its permissions to 0600", async () => {
    const box = await makeBox()
    fs.mkdirSync(box.home, { recursive: true })
    const tokenFile = path.join(box.home, "daemon.token")
    fs.writeFileSync(tokenFile, "my-own-token\n", { mode: 0o644 })
    fs.chmodSync(tokenFile, 0o644)
    const r = blue(box, ["daemon", "start", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(mode(tokenFile)).toBe(0o600)
    expect(fs.readFileSync(tokenFile, "utf8")).toBe("my-own-token\n")
    const res = await fetch(`http://127.0.0.1:${box.port}/realms`, {
      headers: { authorization: "Bearer my-own-token" }
    })
    expect(res.status).toBe(200)
    expect(blue(box, ["daemon", "stop"]).code).toBe(0)
  })

  it("replaces a stale PID file (dead pid, or garbage) on start", async () => {
    const box = await makeBox()
    fs.mkdirSync(box.home, { recursive: true })
    fs.mkdirSync(path.dirname(box.pidFile()), { recursive: true })
    const dead = await deadPid()
    fs.writeFileSync(
      box.pidFile(),
      JSON.stringify({ pid: dead, port: box.port, home: box.home, started_at: new Date().toISOString() })
    )

    const status = blue(box, ["daemon", "status", "--json"])
    expect(status.code).toBe(3)
    expect(status.json()).toMatchObject({ running: false, stale: true, pid: dead })
    expect(blue(box, ["daemon", "status"]).stdout).toContain("stale PID file")

    const started = blue(box, ["daemon", "start", "--json"])
    expect(started.code, started.stderr).toBe(0)
    const { pid } = started.json()
    expect(pid).not.toBe(dead)
    expect(readPidFile(box).pid).toBe(pid)
    expect((await health(box.port)).pid).toBe(pid)
    expect(blue(box, ["daemon", "stop"]).code).toBe(0)

    fs.writeFileSync(box.pidFile(), "not json {")
    expect(blue(box, ["daemon", "status", "--json"]).json()).toMatchObject({ running: false, stale: true })
    const restarted = blue(box, ["daemon", "start", "--json"])
    expect(restarted.code, restarted.stderr).toBe(0)
    expect(readPidFile(box).pid).toBe(restarted.json().pid)
    expect(blue(box, ["daemon", "stop"]).code).toBe(0)
  })

  it("recovers from kill -9: status says not running (stale), start works again", async () => {
    const box = await makeBox()
    const first = blue(box, ["daemon", "start", "--json"])
    expect(first.code, first.stderr).toBe(0)
    const { pid } = first.json()
    process.kill(pid, "SIGKILL")
    await waitFor("the killed daemon to disappear", () => !isAlive(pid))

    const status = blue(box, ["daemon", "status", "--json"])
    expect(status.code).toBe(3)
    expect(status.json()).toMatchObject({ running: false, stale: true, pid })
    expect(blue(box, ["daemon", "status"]).stdout).toMatch(/not running \(stale PID file/)

    const second = blue(box, ["daemon", "start", "--json"])
    expect(second.code, second.stderr).toBe(0)
    expect(second.json().pid).not.toBe(pid)
    expect((await health(box.port)).pid).toBe(second.json().pid)
    expect(blue(box, ["daemon", "status"]).code).toBe(0)
    expect(blue(box, ["daemon", "stop"]).code).toBe(0)
  })

  it("runs daemons for two homes side by side, each with its own PID file", async () => {
    const a = await makeBox("blue-daemon-a")
    const b = await makeBox("blue-daemon-b")
    // Same runtime dir for both, as on a real machine.
    const shared = { ...b, env: { ...b.env, XDG_RUNTIME_DIR: a.xdg }, pidFile: () => b.pidFile().replace(b.xdg, a.xdg) }
    const ra = blue(a, ["daemon", "start", "--json"])
    const rb = blue(shared, ["daemon", "start", "--json"])
    expect(ra.code, ra.stderr).toBe(0)
    expect(rb.code, rb.stderr).toBe(0)
    expect(ra.json().pid_file).not.toBe(rb.json().pid_file)
    expect(path.dirname(ra.json().pid_file)).toBe(path.dirname(rb.json().pid_file))
    expect(readPidFile(a)).toMatchObject({ pid: ra.json().pid, home: a.home })
    expect(readPidFile(shared)).toMatchObject({ pid: rb.json().pid, home: b.home })
    expect(await health(a.port)).toMatchObject({ pid: ra.json().pid, home: a.home })
    expect(await health(b.port)).toMatchObject({ pid: rb.json().pid, home: b.home })

    expect(blue(a, ["daemon", "stop"]).code).toBe(0)
    expect(blue(a, ["daemon", "status"]).code).toBe(3)
    expect(blue(shared, ["daemon", "status", "--json"]).json()).toMatchObject({ running: true, healthy: true })
    expect(blue(shared, ["daemon", "stop"]).code).toBe(0)
  })
})

describe("blue daemon run", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("exits 0 within 2 s of %s and removes its PID file", async (sig) => {
    const box = await makeBox()
    const d = await runForeground(box)
    const pid = d.child.pid!
    expect(d.stdout()).toBe(`Blue daemon listening on 127.0.0.1:${box.port} (pid ${pid})\n`)
    expect(readPidFile(box).pid).toBe(pid)
    expect((await health(box.port)).pid).toBe(pid)

    const sent = Date.now()
    d.child.kill(sig)
    const exit = await Promise.race([d.exited, sleep(5_000).then(() => undefined)])
    expect(exit, "daemon run did not exit within 5 s").toBeDefined()
    expect(exit!.at - sent).toBeLessThan(2_000)
    expect(exit).toMatchObject({ code: 0, signal: null })
    expect(d.stdout()).toContain(`Blue daemon stopped (${sig}, pid ${pid})`)
    expect(fs.existsSync(box.pidFile())).toBe(false)
    expect(blue(box, ["daemon", "status"]).code).toBe(3)
  })

  it("with --json prints JSON lines: a listening line, then a stopped line", async () => {
    const box = await makeBox()
    const d = await runForeground(box, ["--json"])
    const pid = d.child.pid!
    expect(JSON.parse(d.stdout().split("\n")[0]!)).toEqual({ status: "listening", pid, port: box.port, home: box.home })
    d.child.kill("SIGTERM")
    expect((await d.exited).code).toBe(0)
    const lines = d.stdout().trimEnd().split("\n")
    expect(lines).toHaveLength(2)
    expect(JSON.parse(lines[1]!)).toMatchObject({ status: "stopped", pid, signal: "SIGTERM" })
  })
})

describe("blue daemon install", () => {
  it.runIf(process.platform === "linux")("--print shows the systemd unit and writes nothing", async () => {
    const box = await makeBox()
    const r = blue(box, ["daemon", "install", "--print"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("[Service]")
    expect(r.stdout).toContain(`ExecStart=${process.execPath} ${BLUE_BIN} daemon run\n`)
    expect(r.stdout).toContain("Restart=on-failure")
    expect(r.stdout).toContain(`Environment=BLUE_HOME=${box.home}`)
    expect(r.stdout).toContain(`Environment=BLUE_DAEMON_PORT=${box.port}`)
    expect(r.stdout).toContain("WantedBy=default.target")
    expect(r.stderr).toContain("systemctl --user enable --now blue-daemon")
    const j = blue(box, ["daemon", "install", "--print", "--json"])
    expect(j.code).toBe(0)
    expect(j.json()).toMatchObject({
      platform: "linux",
      path: path.join(box.userHome, ".config", "systemd", "user", "blue-daemon.service"),
      written: false,
      commands: ["systemctl --user daemon-reload && systemctl --user enable --now blue-daemon"]
    })
    expect(j.json().content).toBe(r.stdout)
    // HOME is exactly as it was: empty.
    expect(fs.readdirSync(box.userHome)).toEqual([])
  })

  it.runIf(process.platform === "linux")("without --print writes the unit under HOME, once", async () => {
    const box = await makeBox()
    const unit = path.join(box.userHome, ".config", "systemd", "user", "blue-daemon.service")
    const r = blue(box, ["daemon", "install"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`✓ Wrote ${unit}`)
    expect(r.stdout).toContain("systemctl --user daemon-reload && systemctl --user enable --now blue-daemon")
    expect(fs.readFileSync(unit, "utf8")).toContain(`ExecStart=${process.execPath} ${BLUE_BIN} daemon run`)
    const again = blue(box, ["daemon", "install"])
    expect(again.stdout).toContain("already up to date")
  })
})

describe("installUnit (in-process, every platform)", () => {
  const base = { print: true, bin: "/opt/blue app/bin/blue.js", node: "/usr/bin/node", userHome: "/home/me" }

  it("quotes paths with spaces for systemd and names BLUE_HOME only when it is not the default", async () => {
    const custom = await Effect.runPromise(
      installUnit({ ...base, platform: "linux", home: "/srv/blue 100%", configHome: "" })
    )
    expect(custom.path).toBe("/home/me/.config/systemd/user/blue-daemon.service")
    expect(custom.content).toContain(`ExecStart=/usr/bin/node "/opt/blue app/bin/blue.js" daemon run\n`)
    expect(custom.content).toContain(`Environment="BLUE_HOME=/srv/blue 100%%"\n`)
    const byDefault = await Effect.runPromise(
      installUnit({ ...base, platform: "linux", home: path.join(os.homedir(), ".blue"), port: 7865 })
    )
    expect(byDefault.content).not.toContain("Environment=")
  })

  it("writes a launchd agent on macOS, and refuses other platforms", async () => {
    const mac = await Effect.runPromise(installUnit({ ...base, platform: "darwin", home: "/srv/a&b", port: 9000 }))
    expect(mac.path).toBe("/home/me/Library/LaunchAgents/dev.blue.daemon.plist")
    expect(mac.commands).toEqual(["launchctl load -w /home/me/Library/LaunchAgents/dev.blue.daemon.plist"])
    expect(mac.written).toBe(false)
    for (
      const line of [
        "<string>dev.blue.daemon</string>",
        "<string>/opt/blue app/bin/blue.js</string>",
        "<key>RunAtLoad</key>",
        "<key>KeepAlive</key>",
        "<key>BLUE_HOME</key>",
        "<string>/srv/a&amp;b</string>",
        "<key>BLUE_DAEMON_PORT</key>",
        "<string>9000</string>"
      ]
    ) expect(mac.content).toContain(line)
    const win = await Effect.runPromise(Effect.either(installUnit({ ...base, platform: "win32", home: "/x" })))
    expect(Either.isLeft(win) && win.left._tag).toBe("UnsupportedPlatform")
    expect(Either.isLeft(win) && win.left.message).toContain("not win32")
  })
})

describe("BLUE_DAEMON_PORT", () => {
  it("refuses a value that is not a port, naming the variable, and starts nothing", async () => {
    const box = await makeBox()
    for (const bad of ["abc", "0", "65536", "80.5"]) {
      const r = blue(box, ["daemon", "start"], { BLUE_DAEMON_PORT: bad })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`BLUE_DAEMON_PORT=${JSON.stringify(bad)} is not a port`)
      expect(r.stderr).toContain("1 to 65535")
    }
    const j = blue(box, ["daemon", "run", "--json"], { BLUE_DAEMON_PORT: "abc" })
    expect(j.code).toBe(1)
    expect(j.json().error).toMatchObject({ _tag: "DaemonPortInvalid", value: "abc" })
    expect(fs.existsSync(path.join(box.xdg, "blue"))).toBe(false)
  })
})
