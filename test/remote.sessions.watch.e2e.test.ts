/**
 * `blue realm sessions --watch` on a remote realm shows other machines' sessions live (issue 11): B's daemon compares
 * the sessions other machines published on `blue/sessions/*` (what each fetch brings, what goes stale) with the last
 * listing and sends a `session` frame per change on its feed. A real `git http-backend` on loopback with basic auth,
 * two BLUE_HOMEs with their own daemons, and B's watchers as child processes.
 */
import { afterEach, describe, expect, it } from "vitest"
import { type CallableDaemon, sessionsRoom, sleep, untilValue } from "./support/remoteMachines.js"
import type { Workspace } from "./support/workspace.js"

const TOKEN = "s3cret-token-value"
const SYNC_MS = 500

const sessions = sessionsRoom("blue-rwatch", TOKEN, SYNC_MS)
const { agentProcess, children, startDaemon, startSession, twoMachines } = sessions
afterEach(() => sessions.release())

const until = untilValue
type Daemon = CallableDaemon

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
