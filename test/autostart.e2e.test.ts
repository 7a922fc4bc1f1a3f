/**
 * Daemon auto-start (accepted RFC: "auto-starts on first CLI invocation"; README and docs/daemon.md): a command
 * run in a member repo starts the daemon when it is not running and registers its session with it;
 * `BLUE_DAEMON=off` and `CI=true` keep it off. Real `blue` binary, real daemon on a free port, temp BLUE_HOME.
 */
import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { FUNGAL, ok, REALM, seedStory } from "./support/seed.js"
import { BLUE_BIN, freePort, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

describe("daemon auto-start", () => {
  let ws: Workspace
  let env: NodeJS.ProcessEnv
  const run = (cwd: string, args: ReadonlyArray<string>, extra: NodeJS.ProcessEnv = {}): Run => {
    const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
      cwd: ws.path(cwd),
      env: { ...env, ...extra },
      encoding: "utf8"
    })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) }
  }
  const daemonStatus = () => run(".", ["daemon", "status", "--json"])

  beforeAll(async () => {
    ws = makeWorkspace("blue-autostart")
    seedStory(ws)
    fs.mkdirSync(ws.path("xdg"), { mode: 0o700 })
    // The workspace turns auto-start off for every other suite; here it is on: no BLUE_DAEMON, and no CI (the
    // test runner may itself run with CI=true, which the child would inherit).
    env = { ...ws.env, BLUE_DAEMON_PORT: String(await freePort()), XDG_RUNTIME_DIR: ws.path("xdg") }
    delete env["BLUE_DAEMON"]
    delete env["CI"]
  })
  afterEach(() => {
    run(".", ["daemon", "stop"])
  })
  afterAll(() => ws.cleanup())

  it("`blue realm status` in a member repo starts the daemon and registers its session with it", () => {
    expect(daemonStatus().code).toBe(3)
    const status = run(FUNGAL, ["realm", "status"])
    expect(status.code).toBe(0)
    expect(status.stdout).toContain("📊 fungal-image-analysis (in realm: letemcook)")
    const after = daemonStatus()
    expect(after.code).toBe(0)
    expect(after.json()).toMatchObject({ running: true, port: Number(env["BLUE_DAEMON_PORT"]) })
    // The command was a session: registered on start, deregistered on exit.
    const db = new Database(path.join(ws.home, "daemon.db"), { readonly: true })
    try {
      const sessions = db.prepare("SELECT repo, realm, client_id, end_reason FROM sessions").all()
      expect(sessions).toContainEqual({
        repo: FUNGAL,
        realm: "letemcook",
        client_id: "cli",
        end_reason: "deregistered"
      })
    } finally {
      db.close()
    }
    // Once it runs, status takes the fast path again and leaves it running.
    expect(run(FUNGAL, ["status", "--json"]).code).toBe(0)
    expect(daemonStatus().code).toBe(0)
  })

  it("asking for help or the version starts nothing", () => {
    expect(run(FUNGAL, ["--help"]).code).toBe(0)
    expect(run(FUNGAL, ["realm", "status", "--help"]).code).toBe(0)
    expect(run(FUNGAL, ["--version"]).code).toBe(0)
    expect(daemonStatus().code).toBe(3)
  })

  it("BLUE_DAEMON=off keeps it off, for status and for other commands", () => {
    expect(run(FUNGAL, ["realm", "status"], { BLUE_DAEMON: "off" }).code).toBe(0)
    expect(run(FUNGAL, ["realm", "graph"], { BLUE_DAEMON: "off" }).code).toBe(0)
    const st = daemonStatus()
    expect(st.code).toBe(3)
    expect(st.json().running).toBe(false)
  })

  it("CI=true keeps it off; BLUE_DAEMON=auto turns it back on in CI", () => {
    expect(run(FUNGAL, ["realm", "status"], { CI: "true" }).code).toBe(0)
    expect(run(FUNGAL, ["realm", "check", "--mode", "importer"], { CI: "true" }).code).not.toBe(null)
    expect(daemonStatus().code).toBe(3)
    expect(run(FUNGAL, ["realm", "status"], { CI: "true", BLUE_DAEMON: "auto" }).code).toBe(0)
    expect(daemonStatus().code).toBe(0)
  })

  it("CI=1 keeps it off too; a daemon that cannot start costs one sentence on stderr, not the command", () => {
    expect(run(FUNGAL, ["realm", "graph"], { CI: "1" }).code).toBe(0)
    expect(daemonStatus().code).toBe(3)
    const r = run(FUNGAL, ["realm", "graph", "--json"], { BLUE_DAEMON_PORT: "abc" })
    expect(r.code).toBe(0)
    expect(r.json()).toMatchObject({ realm: "letemcook" })
    expect(r.stderr).toBe(
      `Note: the Blue daemon could not be started (BLUE_DAEMON_PORT="abc" is not a port: expected a whole number from 1 to 65535 (unset it to use 7865)), so this command carries on without it; set BLUE_DAEMON=off to stop trying.\n`
    )
    expect(daemonStatus().code).toBe(3)
  })

  it("outside a member repo (the realm repo itself) nothing is started", () => {
    ok(run(REALM, ["realm", "status"]), "status in the realm")
    expect(daemonStatus().code).toBe(3)
  })
})
