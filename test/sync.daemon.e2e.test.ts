/**
 * Proposals and the daemon, through the real binary and a real daemon on a free port: a compatible change whose
 * grace period passes (BLUE_NOW moves the clock 15 days ahead) is merged by the daemon's poll without anyone
 * syncing; a breaking change waits for an approver, is approved and merges. `replay --verify` after each.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import * as YAML from "yaml"
import { APERTURE, FUNGAL, ok, S3, type Seeded, seedStory, setExports } from "./support/seed.js"
import { BLUE_BIN, freePort, git, makeWorkspace } from "./support/workspace.js"

const S3_PATTERN = {
  [S3]: { pattern: { files: ["models/**/*.py"], fields: { read: String.raw`read_path\("s3://[^/]+/([^"]+)"\)` } } }
}
const writeModels = (aperture: string, paths: ReadonlyArray<string>) => {
  fs.mkdirSync(path.join(aperture, "models"), { recursive: true })
  fs.writeFileSync(
    path.join(aperture, "models", "metrics_exporter.py"),
    paths.map((p, i) => `data_${i} = read_path("s3://bucket/${p}")\n`).join("")
  )
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const mainContract = (s: Seeded) =>
  YAML.parse(git(s.realm, "show", `main:domains/s3-access/contracts/${S3}.yaml`)) as { version: string }
const verify = (s: Seeded, cwd = APERTURE) => {
  const v = ok(s.ws.blue(cwd, "realm", "replay", "--verify", "--json"), "replay --verify").json()
  expect(v.differences).toEqual([])
}

let current: Seeded | undefined
let daemon: ChildProcess | undefined
afterEach(async () => {
  const d = daemon
  daemon = undefined
  if (d !== undefined && d.exitCode === null) {
    const exited = new Promise((r) => d.on("exit", r))
    d.kill("SIGTERM")
    await exited
  }
  current?.ws.cleanup()
  current = undefined
})

const seeded = (label: string): Seeded => {
  const s = seedStory(makeWorkspace(label))
  writeModels(s.aperture, ["training-metrics/*", "training-data/*"])
  setExports(s.aperture, S3_PATTERN)
  ok(
    s.ws.blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", ">=1.0.0 <2.0.0"),
    "fungal's range"
  )
  // The placeholder's first value at 1.4.0 is a proposal (fungal imports it); fungal's sync merges it.
  ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect", "--version", "1.4.0"), "first publish")
  ok(s.ws.blue(FUNGAL, "realm", "sync"), "fungal acknowledges 1.4.0")
  return s
}

const startDaemon = async (s: Seeded, extra: NodeJS.ProcessEnv) => {
  const port = await freePort()
  const env = { ...s.ws.env, BLUE_DAEMON_PORT: String(port), XDG_RUNTIME_DIR: s.ws.path("run"), ...extra }
  daemon = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], { env, stdio: "ignore" })
  const deadline = Date.now() + 15_000
  while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error("the daemon did not answer /health")
    await sleep(50)
  }
  return port
}

describe("the daemon merges ready proposals", () => {
  it("a compatible change merges when its grace period ends, with nobody syncing (fake clock)", async () => {
    const s = current = seeded("blue-sync-grace")
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*"])
    const opened = ok(s.ws.blue(APERTURE, "realm", "sync", "--json"), "owner sync").json()
    const id = opened.changes[0].proposal as string
    // Today: nothing is ready (fungal has not acknowledged, the grace period runs 14 days).
    await startDaemon(s, { BLUE_PROPOSAL_POLL_MS: "200" })
    await sleep(1_000)
    expect(mainContract(s).version).toBe("1.4.0")
    const daemon1 = daemon!
    daemon = undefined
    const exited = new Promise((r) => daemon1.on("exit", r))
    daemon1.kill("SIGTERM")
    await exited
    // Fifteen days later, by the daemon's clock: its poll merges the proposal.
    await startDaemon(s, { BLUE_PROPOSAL_POLL_MS: "200", BLUE_NOW: "+15d" })
    const deadline = Date.now() + 20_000
    while (mainContract(s).version !== "1.5.0") {
      if (Date.now() > deadline) throw new Error("the daemon did not merge the proposal")
      await sleep(100)
    }
    const log = ok(s.ws.blue(FUNGAL, "realm", "log", "--json"), "log").json().events
    // Merged exactly once, by the daemon (no actor repo: nobody synced).
    const merged = log.filter((e: any) => e.type === "ProposalMerged" && e.event.id === id)
    expect(merged).toHaveLength(1)
    expect(merged[0].actor.repo).toBeUndefined()
    // Fungal's import still accepts 1.5.0: its binding is stale until it syncs, which then resolves it.
    const after = ok(s.ws.blue(FUNGAL, "realm", "sync"), "consumer sync").stdout
    expect(after).toContain("Binding updated: s3-permissions: resolved_version")
    expect(after).toContain("→ 1.5.0")
    verify(s, FUNGAL)
  }, 120_000)
})

describe("breaking changes and approvers", () => {
  it("a breaking change waits for an approver's approval, then merges once approved and acknowledged", () => {
    // init's user (tester@example.com) is the realm's first approver.
    const s = current = seeded("blue-sync-breaking")
    // fungal accepts any version, so only the approval is missing once it acknowledges.
    ok(s.ws.blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", ">=1.0.0"), "wide")
    writeModels(s.aperture, ["training-metrics/*"])
    const opened = ok(s.ws.blue(APERTURE, "realm", "sync"), "owner sync").stdout
    expect(opened).toContain("Contract update: s3-permissions 1.4.0 → 2.0.0 (BREAKING)")
    expect(opened).toContain("Waiting for acknowledgment and an approver's approval (breaking change).")
    const id = /^✓ Proposal (\S+) created for review$/m.exec(opened)![1]!
    const acked = ok(s.ws.blue(FUNGAL, "realm", "sync"), "fungal acknowledges").stdout
    expect(acked).toContain(`✓ Acknowledged proposal ${id} (s3-permissions 2.0.0)`)
    expect(acked).toContain("needs an approver's approval")
    expect(mainContract(s).version).toBe("1.4.0")
    const status = ok(s.ws.blue(APERTURE, "realm", "status"), "status").stdout
    expect(status).toContain("blocked: needs an approver's approval")

    // Someone who is no approver is refused, naming the approvers; nothing changes.
    const head = git(s.realm, "rev-parse", "main")
    const stranger = spawnBlue(s, APERTURE, { BLUE_USER: "stranger@example.com" }, "realm", "admin", "approve", id)
    expect(stranger.code).toBe(1)
    expect(git(s.realm, "rev-parse", "main")).toBe(head)

    // The realm's first approver (init's user) approves: the proposal is ready and merges at once.
    const approved = ok(s.ws.blue(APERTURE, "realm", "admin", "approve", id), "approve").stdout
    expect(approved).toContain(
      `✓ Proposal ${id} (s3-permissions 1.4.0 → 2.0.0) approved; merged: s3-permissions 2.0.0 is on main`
    )
    expect(mainContract(s).version).toBe("2.0.0")
    verify(s)
  }, 120_000)

  it("a rejected proposal never merges; the owner's withdraw of a closed proposal is refused", () => {
    const s = current = seeded("blue-sync-reject")
    writeModels(s.aperture, ["training-metrics/*"])
    const id = ok(s.ws.blue(APERTURE, "realm", "sync", "--json"), "owner sync").json().changes[0].proposal
    const rejected = ok(s.ws.blue(APERTURE, "realm", "admin", "reject", id, "--reason", "too soon", "--json"), "reject")
      .json()
    expect(rejected).toMatchObject({ id, status: "rejected", merged: false })
    const again = s.ws.blue(APERTURE, "realm", "proposal", "withdraw", id)
    expect(again.code).toBe(1)
    expect(mainContract(s).version).toBe("1.4.0")
    verify(s)
  }, 120_000)
})

const spawnBlue = (s: Seeded, cwd: string, extra: NodeJS.ProcessEnv, ...args: Array<string>) => {
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
    cwd: s.ws.path(cwd),
    env: { ...s.ws.env, ...extra },
    encoding: "utf8"
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("refusals of someone who is no approver", () => {
  it("approve by someone who is no approver is refused, naming the approvers; nothing changes", () => {
    const s = current = seeded("blue-sync-notapprover")
    writeModels(s.aperture, ["training-metrics/*"])
    const id = ok(s.ws.blue(APERTURE, "realm", "sync", "--json"), "owner sync").json().changes[0].proposal
    const head = git(s.realm, "rev-parse", "main")
    const run = spawnBlue(s, APERTURE, { BLUE_USER: "stranger@example.com" }, "realm", "admin", "approve", id, "--json")
    expect(run.code).toBe(1)
    expect(JSON.parse(run.stdout).error).toMatchObject({
      _tag: "NotApprover",
      actor: "stranger@example.com",
      approvers: ["tester@example.com"]
    })
    expect(git(s.realm, "rev-parse", "main")).toBe(head)
    // The owner withdraws it instead: it never merges.
    const withdrawn = ok(s.ws.blue(APERTURE, "realm", "proposal", "withdraw", id, "--reason", "rethinking"), "withdraw")
    expect(withdrawn.stdout).toContain(`✓ Proposal ${id} (s3-permissions 1.4.0 → 2.0.0) withdrawn`)
    expect(ok(s.ws.blue(FUNGAL, "realm", "sync"), "fungal sync").stdout).not.toContain("Acknowledged")
    expect(mainContract(s).version).toBe("1.4.0")
    verify(s)
  }, 120_000)
})

describe("notifications of proposals on the feed", () => {
  it("an opened proposal reaches the importer's session as a notification; --no-notify sends none", async () => {
    const s = current = seeded("blue-sync-feed")
    const port = await startDaemon(s, {})
    const token = fs.readFileSync(path.join(s.ws.home, "daemon.token"), "utf8").trim()
    const socket = new WebSocket(`ws://127.0.0.1:${port}/feed`, { headers: { authorization: `Bearer ${token}` } })
    const received: Array<any> = []
    socket.on("message", (d) => received.push(JSON.parse(d.toString())))
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject))
    socket.send(JSON.stringify({ type: "subscribe", realm: "letemcook", repo: FUNGAL }))
    while (!received.some((m) => m.type === "subscribed")) await sleep(20)
    const eventsOf = (type: string) => received.filter((m) => m.type === "event" && m.event.type === type)
    const notifications = () => received.filter((m) => m.type === "notification")

    // Quietly: the event arrives, no notification does (status still lists it).
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*"])
    ok(s.ws.blue(APERTURE, "realm", "sync", "--no-notify"), "quiet sync")
    const deadline = Date.now() + 10_000
    while (eventsOf("ProposalOpened").length === 0) {
      if (Date.now() > deadline) throw new Error(`no ProposalOpened event: ${JSON.stringify(received)}`)
      await sleep(20)
    }
    await sleep(1_000)
    expect(notifications()).toEqual([])
    expect(ok(s.ws.blue(FUNGAL, "realm", "status", "--json"), "status").json().proposals).toHaveLength(1)

    // Amended with notifications on: fungal's session is told.
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*", "eval/*"])
    ok(s.ws.blue(APERTURE, "realm", "sync"), "sync")
    const told = Date.now() + 10_000
    while (notifications().length === 0) {
      if (Date.now() > told) throw new Error(`no notification: ${JSON.stringify(received)}`)
      await sleep(20)
    }
    expect(notifications()[0].notification).toMatchObject({ repo: FUNGAL, contract: S3, version: "1.5.0" })
    socket.close()
  }, 120_000)
})
