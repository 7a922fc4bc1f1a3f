/**
 * `blue realm sessions --watch` on a remote realm shows other machines' sessions live (issue 11): B's daemon compares
 * the sessions other machines published on `blue/sessions/*` (what each fetch brings, what goes stale) with the last
 * listing and sends a `session` frame per change on its feed. A real `git http-backend` on loopback with basic auth,
 * two BLUE_HOMEs with their own daemons, and B's watchers as child processes.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import { type GitServer, startGitServer } from "./support/gitServer.js"
import { type CallableDaemon, startCallableDaemon } from "./support/remoteMachines.js"
import { makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const TOKEN = "s3cret-token-value"
const SYNC_MS = 500

const workspaces: Array<Workspace> = []
const servers: Array<GitServer> = []
const children: Array<ChildProcess> = []
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  }
  for (const s of servers.splice(0)) await s.close()
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const ok = (r: Run, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

const blue = (ws: Workspace, cwd: string, ...args: Array<string>): Promise<Run> => ws.spawnBlue(cwd, ...args).done

const until = async <A>(what: string, check: () => Promise<A | undefined> | A | undefined, ms: number): Promise<A> => {
  const end = Date.now() + ms
  for (;;) {
    const got = await check()
    if (got !== undefined) return got
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

type Daemon = CallableDaemon

/** A machine's daemon on a free port, syncing every SYNC_MS; `env` tunes it (TTL …). */
const startDaemon = (ws: Workspace, env: Record<string, string> = {}): Promise<Daemon> =>
  startCallableDaemon(ws, children, { BLUE_REALM_SYNC_INTERVAL_MS: String(SYNC_MS), ...env })

/** aperture's home publishes the realm on the server and joins; fungal's home joins by URL. */
const twoMachines = async () => {
  const srv = await startGitServer({ auth: { token: TOKEN } })
  servers.push(srv)
  await srv.createBareRepo("letemcook")
  const url = srv.url("letemcook")
  const mk = (label: string) => {
    const ws = makeWorkspace(`blue-rwatch-${label}`)
    ws.env["BLUE_REALM_TOKEN"] = TOKEN
    workspaces.push(ws)
    return ws
  }
  const a = mk("a")
  const b = mk("b")
  a.repo("aperture")
  b.repo("fungal")
  ok(await blue(a, ".", "realm", "admin", "init", "--name", "letemcook", "--remote", url), "init")
  ok(await blue(a, "aperture", "realm", "admin", "join", url), "join aperture")
  ok(await blue(b, "fungal", "realm", "join", url), "join fungal")
  return { a, b }
}

/** A process to stand for a coding agent (a session's pid): alive until killed. */
const agentProcess = () => {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 600000)"], { stdio: "ignore" })
  children.push(child)
  return child
}

const startSession = async (d: Daemon, pid: number) => {
  const r = await d.call("POST", "/sessions", {
    repo: "aperture",
    realm: "letemcook",
    client_id: "mcp",
    pid,
    active_rfc: "training-metrics-v2"
  })
  expect(r.status).toBe(201)
  return r.json as { id: string }
}

/** `blue realm sessions --watch [--json]` in B's fungal: its output so far, line by line with arrival times. */
const watcher = (ws: Workspace, json: boolean) => {
  const { child } = ws.spawnBlue("fungal", "realm", "sessions", "--watch", ...(json ? ["--json"] : []))
  children.push(child)
  const lines: Array<{ text: string; at: number }> = []
  let buffer = ""
  child.stdout!.on("data", (d) => {
    buffer += d
    const parts = buffer.split("\n")
    buffer = parts.pop()!
    for (const text of parts) if (text.trim() !== "") lines.push({ text, at: Date.now() })
  })
  /** The first JSON `session` frame that `pred` accepts, with when it arrived. */
  const frame = (what: string, pred: (m: any) => boolean, ms: number) =>
    until(what, () => {
      for (const l of lines) {
        const m = JSON.parse(l.text)
        if (m.type === "session" && pred(m)) return { message: m, at: l.at }
      }
      return undefined
    }, ms).catch((e) => {
      throw new Error(`${(e as Error).message}; the watch printed:\n${lines.map((l) => l.text).join("\n")}`)
    })
  const text = () => lines.map((l) => l.text).join("\n")
  return { child, lines, frame, text }
}

/** B's watchers have subscribed: their sessions (client "watch") reached A over the server, which takes longer. */
const watchersReady = (onA: Daemon, count: number) =>
  until("B's watchers to be seen from A", async () => {
    const r = await onA.call("GET", "/sessions?realm=letemcook")
    const seen = (r.json.machines as Array<any>).flatMap((m) => m.snapshot?.sessions ?? [])
      .filter((s: any) => s.client_id === "watch")
    return seen.length >= count ? true : undefined
  }, 30_000)

describe("sessions --watch on a remote realm", () => {
  it("B's watch prints A's session starting and ending within the poll interval + 1 s (json and human)", async () => {
    const { a, b } = await twoMachines()
    // A pushes each change at once: the push debounce is A's business, B's following is what is measured here.
    const [onA, onB] = await Promise.all([startDaemon(a, { BLUE_SESSIONS_PUSH_INTERVAL_MS: "0" }), startDaemon(b)])
    const machineA = (await onA.call("GET", "/sessions")).json.machine as string
    const machineB = (await onB.call("GET", "/sessions")).json.machine as string
    expect(machineB).not.toBe(machineA)
    const json = watcher(b, true)
    const human = watcher(b, false)
    await watchersReady(onA, 2)

    const agent = agentProcess()
    const t0 = Date.now()
    const session = await startSession(onA, agent.pid!)
    const started = await json.frame(
      "A's session started on B's watch",
      (m) => m.change === "started" && m.session.id === session.id,
      30_000
    )
    console.log(`B's watch printed A's session ${started.at - t0} ms after it started (sync ${SYNC_MS} ms)`)
    expect(started.message).toEqual({
      type: "session",
      change: "started",
      session: expect.objectContaining({
        id: session.id,
        repo: "aperture",
        realm: "letemcook",
        client_id: "mcp",
        pid: agent.pid,
        active_rfc: "training-metrics-v2",
        machine: machineA,
        seen_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/)
      })
    })
    expect(started.at - t0).toBeLessThanOrEqual(SYNC_MS + 1000)
    // The human watch names A's repo and machine, then lists it as remote.
    await until("the human watch to show A's session", () => {
      const t = human.text()
      return t.includes(`+ aperture (mcp) on ${machineA}`) && /aperture \(remote\)/.test(t) ? true : undefined
    }, 10_000).catch((e) => {
      throw new Error(`${(e as Error).message}; the human watch printed:\n${human.text()}`)
    })

    const t1 = Date.now()
    expect((await onA.call("DELETE", `/sessions/${session.id}`)).status).toBe(200)
    const ended = await json.frame(
      "A's session ended on B's watch",
      (m) => m.change === "ended" && m.session.id === session.id,
      30_000
    )
    console.log(`B's watch printed the end ${ended.at - t1} ms after it ended`)
    expect(ended.message.session).toMatchObject({ id: session.id, repo: "aperture", machine: machineA })
    expect(ended.at - t1).toBeLessThanOrEqual(SYNC_MS + 1000)
    await until(
      "the human watch to show the end",
      () => human.text().includes(`- aperture (mcp) on ${machineA}`) ? true : undefined,
      10_000
    )
    // One frame per change: A's session started once and ended once on B's feed.
    const mine = json.lines.map((l) => JSON.parse(l.text)).filter((m) =>
      m.type === "session" && m.session.id === session.id
    )
    expect(mine.map((m) => m.change)).toEqual(["started", "ended"])
  }, 180_000)

  it("a machine that stops publishing (kill -9) ends its sessions on B's watch once they are stale", async () => {
    const { a, b } = await twoMachines()
    const TTL = 3000
    const onA = await startDaemon(a, { BLUE_SESSIONS_TTL_MS: String(TTL), BLUE_SESSIONS_PUSH_INTERVAL_MS: "0" })
    await startDaemon(b, { BLUE_SESSIONS_TTL_MS: String(TTL) })
    const json = watcher(b, true)
    await watchersReady(onA, 1)
    const agent = agentProcess()
    const session = await startSession(onA, agent.pid!)
    await json.frame("A's session on B's watch", (m) => m.change === "started" && m.session.id === session.id, 30_000)
    // While A runs it refreshes every TTL/3, and session churn makes it push more often; B fetches each (a fetch
    // writes the ref before its pack): the session stays started on B's watch, with no "ended" between two fetches.
    for (let i = 0; i < 15; i++) {
      const c = await startSession(onA, agent.pid!)
      expect((await onA.call("DELETE", `/sessions/${c.id}`)).status).toBe(200)
      await sleep(50)
    }
    await sleep(TTL + 1500)
    const changes = () =>
      json.lines.map((l) => JSON.parse(l.text)).filter((m) => m.type === "session" && m.session.id === session.id)
        .map((m) => m.change)
    expect(changes()).toEqual(["started"])
    onA.child.kill("SIGKILL")
    const t = Date.now()
    const ended = await json.frame(
      "A's stale session ended on B's watch",
      (m) => m.change === "ended" && m.session.id === session.id,
      TTL + 10_000
    )
    console.log(`B's watch ended A's stale session ${ended.at - t} ms after A's daemon was killed (TTL ${TTL} ms)`)
    expect(ended.at - t).toBeLessThanOrEqual(TTL + SYNC_MS + 1000)
    expect(changes()).toEqual(["started", "ended"])
  }, 180_000)
})
