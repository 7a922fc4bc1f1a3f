/**
 * What `status` promises (issue #9), through the real `blue` binary and a real daemon on a free port: the realm's
 * live sessions (who works where, the active RFC, "(you)" for this repo's), and for the owner the acknowledgements
 * its changes received and the ones still pending — the same on the start-up fast path and in the full engine,
 * with ISO times in `--json` and "… ago" in the human text.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, FUNGAL, ML, ok, S3, seedStory } from "./support/seed.js"
import { BLUE_BIN, freePort, git, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/

describe("status: sessions and acknowledgements", () => {
  let ws: Workspace
  let env: NodeJS.ProcessEnv
  let port: number
  const runIn = (extra: NodeJS.ProcessEnv, cwd: string, ...args: Array<string>): Run => {
    const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
      cwd: ws.path(cwd),
      env: { ...env, ...extra },
      encoding: "utf8"
    })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) }
  }
  const run = (cwd: string, ...args: Array<string>): Run => runIn({}, cwd, ...args)
  const api = async (method: string, route: string, body?: unknown, home = ws.home, at = port) => {
    const token = fs.readFileSync(path.join(home, "daemon.token"), "utf8").trim()
    const r = await fetch(`http://127.0.0.1:${at}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: r.status, json: await r.json() as any }
  }

  beforeAll(async () => {
    ws = makeWorkspace("blue-status")
    seedStory(ws)
    fs.mkdirSync(ws.path("xdg"), { mode: 0o700 })
    port = await freePort()
    // A daemon that already runs (auto-start stays off: this suite is about what status shows).
    env = { ...ws.env, BLUE_DAEMON_PORT: String(port), XDG_RUNTIME_DIR: ws.path("xdg"), BLUE_DAEMON: "off" }
    ok(run(".", "daemon", "start"), "daemon start")
  })
  /** daemons this suite started for other homes, stopped before the workspace goes even if a test timed out */
  const others: Array<NodeJS.ProcessEnv> = []
  afterAll(() => {
    for (const other of others) runIn(other, ".", "daemon", "stop")
    run(".", "daemon", "stop")
    ws.cleanup()
  })

  it("lists the live sessions with their RFC, marks this repo's as (you), and leaves dead ones out", async () => {
    // Two long-lived clients (this test process stands in for them, so their pid is alive) and one whose process
    // is gone.
    const agent = await api("POST", "/sessions", {
      repo: APERTURE,
      realm: "letemcook",
      client_id: "mcp",
      pid: process.pid,
      active_rfc: "training-metrics-v2"
    })
    expect(agent.status).toBe(201)
    expect(
      (await api("POST", "/sessions", { repo: FUNGAL, realm: "letemcook", client_id: "cli", pid: process.pid }))
        .status
    ).toBe(201)
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid
    expect((await api("POST", "/sessions", { repo: ML, realm: "letemcook", client_id: "cli", pid: gone })).status)
      .toBe(201)

    const fast = run(APERTURE, "status")
    expect(fast.code).toBe(0)
    const full = run(APERTURE, "realm", "status", "--no-cache")
    expect(full.code).toBe(0)
    for (const out of [fast.stdout, full.stdout]) {
      const block = out.slice(out.indexOf("Active sessions:")).split("\n").slice(0, 3)
      expect(block).toEqual([
        "Active sessions:",
        `  • aperture (you) - working on training-metrics-v2 (mcp, pid ${process.pid}, since just now)`,
        `  • fungal-image-analysis - idle (cli, pid ${process.pid}, since just now)`
      ])
      expect(out).not.toContain("ml-infra -")
    }

    const doc = run(FUNGAL, "status", "--json").json()
    expect(doc.sessions).toEqual([
      {
        repo: FUNGAL,
        client_id: "cli",
        pid: process.pid,
        started_at: expect.stringMatching(ISO),
        last_activity: expect.stringMatching(ISO),
        active_rfc: null,
        machine: null,
        you: true
      },
      {
        repo: APERTURE,
        client_id: "mcp",
        pid: process.pid,
        started_at: expect.stringMatching(ISO),
        last_activity: expect.stringMatching(ISO),
        active_rfc: "training-metrics-v2",
        machine: null,
        you: false
      }
    ])
    expect(run(FUNGAL, "realm", "status", "--json", "--no-cache").json().sessions).toEqual(doc.sessions)

    await api("DELETE", `/sessions/${agent.json.id}`)
    expect(run(APERTURE, "status", "--json").json().sessions.map((x: any) => x.repo)).toEqual([FUNGAL])
  })

  it("a session's RFC is known from the worktree branch feat/<rfc>: 'working on' it", async () => {
    git(ws.path(APERTURE), "checkout", "-q", "-b", "feat/training-metrics-v2")
    const watcher = spawn(process.execPath, [BLUE_BIN, "realm", "sessions", "--watch", "--json"], {
      cwd: ws.path(APERTURE),
      env
    })
    try {
      let line: string | undefined
      for (let i = 0; i < 100 && line === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100))
        const out = run(FUNGAL, "status").stdout
        line = out.split("\n").find((l) => l.startsWith("  • aperture - working on"))
      }
      expect(line).toBe(`  • aperture - working on training-metrics-v2 (watch, pid ${watcher.pid}, since just now)`)
      const doc = run(APERTURE, "status", "--json").json()
      expect(doc.sessions).toContainEqual(
        expect.objectContaining({ repo: APERTURE, client_id: "watch", active_rfc: "training-metrics-v2", you: true })
      )
    } finally {
      watcher.kill("SIGTERM")
      await new Promise((r) => watcher.once("exit", r))
      git(ws.path(APERTURE), "checkout", "-q", "main")
    }
  })

  it("sessions another machine published on the realm's blue/sessions branch show too, with that machine", async () => {
    // A second BLUE_HOME on this host is another "machine" (its name carries a hash of the home).
    const home2 = ws.path("home2")
    const port2 = await freePort()
    const other = { BLUE_HOME: home2, BLUE_DAEMON_PORT: String(port2) }
    others.push(other)
    ok(runIn(other, ML, "realm", "status"), "status from the other home")
    ok(runIn(other, ".", "daemon", "start"), "the other machine's daemon")
    try {
      const started = await api(
        "POST",
        "/sessions",
        { repo: ML, realm: "letemcook", client_id: "mcp", pid: process.pid, active_rfc: "job-schema-v2" },
        home2,
        port2
      )
      expect(started.status).toBe(201)
      let doc: any
      for (let i = 0; i < 100; i++) {
        doc = run(APERTURE, "status", "--json").json()
        if (doc.sessions.some((x: any) => x.repo === ML)) break
        await new Promise((r) => setTimeout(r, 100))
      }
      const mine = doc.sessions.find((x: any) => x.repo === ML)
      expect(mine).toEqual({
        repo: ML,
        client_id: "mcp",
        pid: process.pid,
        started_at: expect.stringMatching(ISO),
        last_activity: expect.stringMatching(ISO),
        active_rfc: "job-schema-v2",
        machine: expect.stringMatching(/^[a-z0-9-]+-[0-9a-f]{8}$/),
        seen_at: expect.stringMatching(ISO),
        you: false
      })
      expect(run(APERTURE, "status").stdout).toContain(
        `  • ml-infra - working on job-schema-v2 (mcp, pid ${process.pid}, since just now, on ${mine.machine}, seen just now)`
      )
    } finally {
      runIn(other, ".", "daemon", "stop")
    }
  })

  it("the owner sees which importers acknowledged which change and which are still pending", () => {
    ok(run(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["jobs/*"]}`), "first value")
    ok(run(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["jobs/*","runs/*"]}`), "1.1.0")
    // fungal imports it: a proposal, landed once its grace period has passed.
    expect(ok(runIn({ BLUE_NOW: "+15d" }, APERTURE, "realm", "sync"), "sync 15 days on").stdout).toContain("✓ Merged")
    const mine = run(FUNGAL, "status", "--json").json().notifications.map((n: any) => [n.id, n.version])
    expect(mine.map((n: Array<string>) => n[1])).toEqual(["1.0.0", "1.1.0"])

    const pending = run(APERTURE, "status", "--json").json().acknowledgements
    expect(pending).toEqual([
      {
        id: mine[0][0],
        domain: "s3-access",
        contract: S3,
        version: "1.0.0",
        change_type: "new",
        created_at: expect.stringMatching(ISO),
        acknowledged: [],
        pending: [FUNGAL]
      },
      {
        id: mine[1][0],
        domain: "s3-access",
        contract: S3,
        version: "1.1.0",
        change_type: "updated",
        created_at: expect.stringMatching(ISO),
        acknowledged: [],
        pending: [FUNGAL]
      }
    ])

    ok(run(FUNGAL, "realm", "ack", mine[0][0]), "ack the first")
    const after = run(APERTURE, "status", "--json").json().acknowledgements
    expect(after.map((a: any) => [a.version, a.acknowledged, a.pending])).toEqual([
      ["1.0.0", [{ repo: FUNGAL, at: expect.stringMatching(ISO) }], []],
      ["1.1.0", [], [FUNGAL]]
    ])
    const human = run(APERTURE, "status").stdout
    const block = human.slice(human.lastIndexOf("Notifications:")).split("\n").slice(0, 3)
    expect(block).toEqual([
      "Notifications:",
      `  ✓ just now: ${FUNGAL} acknowledged ${S3} 1.0.0`,
      `  ⏳ ${FUNGAL} has not acknowledged ${S3} 1.1.0 yet (sent just now)`
    ])
    // The full engine says the same.
    expect(run(APERTURE, "realm", "status", "--json", "--no-cache").json().acknowledgements).toEqual(after)
    // The importer sees its own notification with a relative time, and not the owner's view.
    const fungal = run(FUNGAL, "status")
    expect(fungal.stdout).toContain(`🔔 Notification #${mine[1][0]} from ${APERTURE} (just now): contract '${S3}'`)
    expect(run(FUNGAL, "status", "--json").json().acknowledgements).toEqual([])
  })

  it("re-importing answers the change too; a later change replaces fully answered ones", () => {
    ok(run(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", "^1.0.0"), "import")
    const answered = run(APERTURE, "status", "--json").json().acknowledgements
    expect(answered.map((a: any) => [a.version, a.acknowledged.map((k: any) => k.repo), a.pending])).toEqual([
      ["1.0.0", [FUNGAL], []],
      ["1.1.0", [FUNGAL], []]
    ])
    ok(run(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["jobs/*","runs/*","x/*"]}`), "1.2.0")
    const latest = run(APERTURE, "status", "--json").json().acknowledgements
    expect(latest.map((a: any) => [a.version, a.acknowledged, a.pending])).toEqual([["1.2.0", [], [FUNGAL]]])
    expect(ok(run(APERTURE, "realm", "replay", "--verify", "--json"), "replay").json()).toMatchObject({
      verified: true
    })
  })
})
