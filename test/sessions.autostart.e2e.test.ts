/**
 * `blue realm sessions` (and `--watch`) follows the same auto-start rule as every command: with BLUE_DAEMON=off or
 * CI=true and no daemon running it starts none and refuses in one sentence (exit 1); with auto-start on it starts
 * the daemon; a daemon already running is used either way. Real binary, real daemon on a free port, temp BLUE_HOME.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { FUNGAL, seedStory } from "./support/seed.js"
import { BLUE_BIN, freePort, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

describe("realm sessions and daemon auto-start", () => {
  let ws: Workspace
  let env: NodeJS.ProcessEnv
  const run = (args: ReadonlyArray<string>, extra: NodeJS.ProcessEnv = {}, cwd = FUNGAL): Run => {
    const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
      cwd: ws.path(cwd),
      env: { ...env, ...extra },
      encoding: "utf8",
      timeout: 20_000
    })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) }
  }
  const daemonStatus = () => run(["daemon", "status", "--json"], {}, ".")

  beforeAll(async () => {
    ws = makeWorkspace("blue-sessions-autostart")
    seedStory(ws)
    fs.mkdirSync(ws.path("xdg"), { mode: 0o700 })
    // Auto-start on unless a test says otherwise; the runner's own CI=true must not leak into the children.
    env = { ...ws.env, BLUE_DAEMON_PORT: String(await freePort()), XDG_RUNTIME_DIR: ws.path("xdg") }
    delete env["BLUE_DAEMON"]
    delete env["CI"]
  })
  afterEach(() => {
    run(["daemon", "stop"], {}, ".")
  })
  afterAll(() => ws.cleanup())

  const offSentence =
    "Error: No daemon is running and BLUE_DAEMON=off keeps it from starting; run 'blue daemon start' first.\n"

  it("BLUE_DAEMON=off: `realm sessions` and `--watch` start no daemon and refuse in one sentence", () => {
    const list = run(["realm", "sessions"], { BLUE_DAEMON: "off" })
    expect(list.code).toBe(1)
    expect(list.stdout).toBe("")
    expect(list.stderr).toBe(offSentence)
    const watch = run(["realm", "sessions", "--watch"], { BLUE_DAEMON: "off" })
    expect(watch.code).toBe(1)
    expect(watch.stderr).toBe(offSentence)
    const json = run(["realm", "sessions", "--json"], { BLUE_DAEMON: "off" })
    expect(json.code).toBe(1)
    expect(json.json()).toEqual({
      error: {
        _tag: "DaemonNotStarted",
        reason: "BLUE_DAEMON=off",
        message: "No daemon is running and BLUE_DAEMON=off keeps it from starting; run 'blue daemon start' first."
      }
    })
    expect(daemonStatus().code).toBe(3)
  })

  it("CI=true: `realm sessions` starts no daemon and says CI=true keeps it off", () => {
    const r = run(["realm", "sessions"], { CI: "true" })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      "Error: No daemon is running and CI=true keeps it from starting; run 'blue daemon start' first.\n"
    )
    const w = run(["realm", "sessions", "--watch", "--json"], { CI: "true" })
    expect(w.code).toBe(1)
    expect(w.json().error._tag).toBe("DaemonNotStarted")
    expect(daemonStatus().code).toBe(3)
  })

  it("auto-start on: `realm sessions` starts the daemon; once it runs, BLUE_DAEMON=off uses it", () => {
    const r = run(["realm", "sessions", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.json()).toMatchObject({ realm: "letemcook", sessions: [] })
    expect(daemonStatus().code).toBe(0)
    const off = run(["realm", "sessions", "--json"], { BLUE_DAEMON: "off" })
    expect(off.code, off.stderr).toBe(0)
    expect(off.json()).toMatchObject({ realm: "letemcook" })
  })
})
