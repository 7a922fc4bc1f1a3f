/**
 * The daemon's feed driven by the change stream, with the real `blue daemon run` process: a commit made in the
 * realm behind the daemon's back reaches a subscriber through the ref watcher (well before the fallback poll), and
 * the one feed client reconnects and resumes after the daemon restarts.
 */
import { Effect, Fiber, Stream } from "effect"
import { Duration } from "effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { feedStream } from "../src/adapters/feedClient.js"
import { FALLBACK_POLL } from "../src/daemon/refWatcher.js"
import type { ServerMessage } from "../src/events/feed.js"
import { BLUE_BIN, freePort, makeWorkspace, type Workspace } from "./support/workspace.js"

const REALM = "realm-watched"
let ws: Workspace
let port = 0
let env: NodeJS.ProcessEnv
let daemon: ChildProcess | undefined
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const cli = (cwd: string, extra: NodeJS.ProcessEnv, ...args: Array<string>) => {
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
    cwd: ws.path(cwd),
    env: { ...env, ...extra },
    encoding: "utf8"
  })
  if (r.status !== 0) throw new Error(`${args.join(" ")}: exit ${r.status}\n${r.stderr}`)
}
const startDaemon = async () => {
  daemon = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], { env, stdio: "ignore" })
  const deadline = Date.now() + 15_000
  while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error("the daemon did not answer /health")
    await sleep(50)
  }
}
const stopDaemon = async () => {
  const d = daemon
  daemon = undefined
  if (d === undefined || d.exitCode !== null) return
  const exited = new Promise((r) => d.on("exit", r))
  d.kill("SIGTERM")
  await exited
}
const token = () => fs.readFileSync(path.join(ws.home, "daemon.token"), "utf8").trim()
/** The realm's `main` ref, as git keeps it. */
const mainRef = () => fs.readFileSync(ws.path(REALM, ".git", "refs", "heads", "main"), "utf8").trim()

beforeAll(async () => {
  ws = makeWorkspace("blue-feed")
  port = await freePort()
  env = { ...ws.env, BLUE_DAEMON_PORT: String(port), XDG_RUNTIME_DIR: ws.path("run"), BLUE_DAEMON: "off" }
  cli(".", {}, "realm", "admin", "init", "--name", "watched")
  ws.repo("aperture")
  cli("aperture", {}, "realm", "admin", "join", `../${REALM}`)
  await startDaemon()
}, 60_000)
afterAll(async () => {
  await stopDaemon()
  ws.cleanup()
})

describe("the ref watcher", () => {
  it("a commit made behind the daemon's back reaches a subscriber within 1.5 s, each time", async () => {
    // Well under the fallback poll: only the watcher can deliver this fast, every time.
    expect(Duration.toMillis(FALLBACK_POLL)).toBeGreaterThanOrEqual(3000)
    const socket = new WebSocket(`ws://127.0.0.1:${port}/feed`, { headers: { authorization: `Bearer ${token()}` } })
    const received: Array<{ at: number; message: any }> = []
    socket.on("message", (d) => received.push({ at: Date.now(), message: JSON.parse(d.toString()) }))
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject))
    socket.send(JSON.stringify({ type: "subscribe", realm: "watched" }))
    while (!received.some((r) => r.message.type === "subscribed")) await sleep(20)
    for (const repo of ["hand-1", "hand-2", "hand-3"]) {
      ws.repo(repo)
      // Another machine's view of the realm (its own BLUE_HOME, no daemon): a commit the daemon is not told of.
      const before = mainRef()
      const writer = spawn(process.execPath, [BLUE_BIN, "realm", "admin", "join", `../${REALM}`], {
        cwd: ws.path(repo),
        env: { ...env, BLUE_HOME: ws.path(`.home-${repo}`) },
        stdio: "ignore"
      })
      const exited = new Promise<number | null>((r) => writer.on("exit", r))
      let committed = 0
      while (committed === 0) {
        if (mainRef() !== before) committed = Date.now()
        else await sleep(5)
      }
      expect(await exited).toBe(0)
      const deadline = committed + 5000
      let got: { at: number; message: any } | undefined
      while (
        (got = received.find((r) => r.message.type === "event" && r.message.event.actor.repo === repo)) === undefined
      ) {
        if (Date.now() > deadline) throw new Error(`no event for ${repo}; got ${JSON.stringify(received)}`)
        await sleep(10)
      }
      expect(got.message.event.type).toBe("RepoJoined")
      expect(got.at - committed).toBeLessThan(1500)
    }
    socket.close()
  }, 60_000)
})

describe("the feed client", () => {
  it("reconnects after the daemon restarts and resumes from the last position it saw", async () => {
    const messages: Array<ServerMessage> = []
    let opened = 0
    const conn = () => ({ port, token: token() })
    const fiber = Effect.runFork(
      feedStream({ connect: Effect.sync(conn), realm: "watched", onOpen: () => Effect.sync(() => void opened++) }).pipe(
        Stream.runForEach((m) => Effect.sync(() => void messages.push(m)))
      )
    )
    const until = async (pred: () => boolean, what: string, ms = 20_000) => {
      const deadline = Date.now() + ms
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`)
        await sleep(20)
      }
    }
    try {
      await until(() => messages.some((m) => m.type === "subscribed"), "subscribed")
      ws.repo("before-restart")
      cli("before-restart", {}, "realm", "admin", "join", `../${REALM}`)
      await until(() => messages.some((m) => m.type === "event"), "the first event")
      await stopDaemon()
      // While the daemon is down, the realm moves on.
      ws.repo("while-down")
      cli("while-down", {}, "realm", "admin", "join", `../${REALM}`)
      await startDaemon()
      await until(() => messages.filter((m) => m.type === "subscribed").length >= 2, "the second subscription")
      ws.repo("after-restart")
      cli("after-restart", {}, "realm", "admin", "join", `../${REALM}`)
      await until(
        () => messages.some((m) => m.type === "event" && m.event.actor.repo === "after-restart"),
        "the event after the restart"
      )
      expect(opened).toBe(2)
      const events = messages.flatMap((m) => (m.type === "event" ? [[m.event.position, m.event.actor.repo]] : []))
      // Exactly once each, in order: the one missed while the daemon was down came with the resumption.
      expect(events.map(([, repo]) => repo)).toEqual(["before-restart", "while-down", "after-restart"])
      expect(events.map(([p]) => p)).toEqual([...events.map(([p]) => p)].sort((a, b) => Number(a) - Number(b)))
    } finally {
      await Effect.runPromise(Fiber.interrupt(fiber))
    }
  }, 90_000)
})

describe("the daemon's Layers", () => {
  it("a port already in use fails the launch: one sentence, exit 1, no PID file left", async () => {
    const net = await import("node:net")
    const busy = net.createServer()
    const taken = await freePort()
    await new Promise<void>((r) => busy.listen(taken, "127.0.0.1", () => r()))
    try {
      const runDir = ws.path("run-busy")
      const r = spawnSync(process.execPath, [BLUE_BIN, "daemon", "run"], {
        env: { ...env, BLUE_HOME: ws.path(".home-busy"), BLUE_DAEMON_PORT: String(taken), XDG_RUNTIME_DIR: runDir },
        encoding: "utf8",
        timeout: 30_000
      })
      expect(r.status).toBe(1)
      expect(r.stderr.trim()).toBe(
        `Error: The Blue daemon cannot serve: 127.0.0.1:${taken}: listen EADDRINUSE: address already in use 127.0.0.1:${taken}`
      )
      expect(fs.existsSync(path.join(runDir, "blue")) ? fs.readdirSync(path.join(runDir, "blue")) : []).toEqual([])
    } finally {
      busy.close()
    }
  }, 40_000)
})
