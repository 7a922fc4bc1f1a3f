/**
 * The daemon's HTTP API and WebSocket feed against the real `blue daemon run` process on a free loopback port and
 * a temp BLUE_HOME, with a real realm (git + SQLite in temp dirs) written by the engine in this process: every
 * endpoint, the security refusals, live and resumed delivery of events, notifications and sessions.
 */
import { Effect, Layer, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import type { EventLog } from "../src/adapters/eventLog.js"
import { SqliteEventLogLive } from "../src/adapters/eventLog.js"
import { RealmLockLive } from "../src/adapters/lock.js"
import { RealmGitLive } from "../src/adapters/realmGit.js"
import { Sessions, SessionsLive } from "../src/adapters/sessions.js"
import { IdsLive } from "../src/engine/ids.js"
import { Realms } from "../src/engine/Realms.js"
import { BLUE_BIN, freePort } from "./support/workspace.js"

let TOKEN = ""
const body = (r: Response): Promise<any> => r.json()
const tmp = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-daemon-")))
const home = tmp()
const root = tmp()
const layer = Layer.provideMerge(
  Realms.Default,
  Layer.mergeAll(
    Layer.provideMerge(SessionsLive, SqliteEventLogLive(path.join(home, "daemon.db"))),
    RealmGitLive,
    RealmLockLive,
    IdsLive
  )
)
const runtime = Effect.runSync(Layer.toRuntime(layer).pipe(Scope.extend(Effect.runSync(Scope.make()))))
const run = <A, E>(effect: Effect.Effect<A, E, Realms | EventLog | Sessions>) =>
  Effect.runPromise(Effect.provide(effect, runtime))

let port = 0
let daemon: ChildProcess
const realmDir = path.join(root, "realm-letemcook")
const actor = (repo: string) => ({ repo, user: "t@x" })
const join = (repo: string) =>
  run(
    Effect.flatMap(Realms, (r) =>
      r.execute(realmDir, { _tag: "JoinRealm", repo, path: `/src/${repo}`, maintainers: ["t@x"] }, actor(repo)))
  )

const call = (p: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  fetch(`http://127.0.0.1:${port}${p}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) }
  })

/** Raw request with full control of the Host header (fetch forbids setting it). */
const raw = (p: string, headers: Record<string, string>) =>
  new Promise<{ status: number; body: any }>((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => {
      s.write(
        `GET ${p} HTTP/1.1\r\n${
          Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")
        }connection: close\r\n\r\n`
      )
    })
    let data = ""
    s.on("data", (d) => (data += d))
    s.on("end", () => {
      const status = Number(data.split(" ")[1])
      const body = data.split("\r\n\r\n")[1] ?? ""
      try {
        resolve({ status, body: JSON.parse(body.replace(/^[0-9a-f]+\r\n/, "").replace(/\r\n0\r\n\r\n$/, "")) })
      } catch {
        resolve({ status, body })
      }
    })
    s.on("error", reject)
  })

/** A feed client that records every message. */
const feed = (headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/feed`, { headers })
  const messages: Array<any> = []
  const waiters: Array<() => void> = []
  ws.on("message", (d) => {
    messages.push(JSON.parse(d.toString()))
    for (const w of waiters.splice(0)) w()
  })
  const until = async (pred: (ms: Array<any>) => boolean, ms = 3000) => {
    const deadline = Date.now() + ms
    while (!pred(messages)) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(messages)}`)
      await new Promise<void>((r) => {
        waiters.push(r)
        setTimeout(r, 50)
      })
    }
    return messages
  }
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve())
    ws.once("error", reject)
  })
  return { ws, messages, until, opened }
}

beforeAll(async () => {
  port = await freePort()
  await run(Effect.flatMap(Realms, (r) => r.init(root, "letemcook", "open", { user: "t@x" })))
  await join("aperture")
  daemon = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], {
    env: {
      ...process.env,
      BLUE_HOME: home,
      BLUE_DAEMON_PORT: String(port),
      XDG_RUNTIME_DIR: path.join(root, "run"),
      BLUE_DAEMON: "off"
    },
    stdio: "ignore"
  })
  const deadline = Date.now() + 10_000
  while (true) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
    if (up) break
    if (Date.now() > deadline) throw new Error("the daemon did not answer /health")
    await new Promise((r) => setTimeout(r, 50))
  }
  TOKEN = fs.readFileSync(path.join(home, "daemon.token"), "utf8").trim()
})

afterAll(async () => {
  const exited = new Promise((r) => daemon.on("exit", r))
  daemon.kill("SIGTERM")
  await exited
})

describe("daemon HTTP API", () => {
  it("answers /health without a token", async () => {
    const r = await fetch(`http://127.0.0.1:${port}/health`)
    expect(r.status).toBe(200)
    expect(await body(r)).toMatchObject({ status: "ok", pid: daemon.pid, port, home })
  })

  it("lists realms and shows one with its repos and domains", async () => {
    const list = await body(await call("/realms"))
    expect(list.realms).toEqual([
      expect.objectContaining({ name: "letemcook", path: realmDir, head_position: 2 })
    ])
    const one = await body(await call("/realms/letemcook"))
    expect(one).toMatchObject({ name: "letemcook", position: 2, realm: { name: "letemcook" } })
    expect(one.repos.map((r: any) => r.name)).toEqual(["aperture"])
    const missing = await call("/realms/nope")
    expect(missing.status).toBe(404)
    expect((await body(missing)).error._tag).toBe("RealmUnknown")
  })

  it("pages the event log and validates its parameters", async () => {
    const all = await body(await call("/events?realm=letemcook&after=0"))
    expect(all.events.map((e: any) => [e.position, e.type])).toEqual([[1, "RealmInitialized"], [2, "RepoJoined"]])
    expect(all.next).toBe(2)
    const page = await body(await call("/events?after=1&limit=1"))
    expect(page.events.map((e: any) => e.position)).toEqual([2])
    const bad = await call("/events?after=-1")
    expect(bad.status).toBe(400)
  })

  it("refuses a missing or wrong token, a foreign Host and a foreign Origin", async () => {
    const none = await fetch(`http://127.0.0.1:${port}/realms`)
    expect(none.status).toBe(401)
    expect((await body(none)).error._tag).toBe("Unauthorized")
    expect((await call("/realms", { headers: { authorization: "Bearer wrong" } })).status).toBe(401)
    const host = await raw("/health", { host: `evil.example:${port}` })
    expect(host.status).toBe(403)
    expect(host.body.error._tag).toBe("ForbiddenHost")
    const origin = await call("/realms", { headers: { origin: "https://evil.example" } })
    expect(origin.status).toBe(403)
    expect((await body(origin)).error._tag).toBe("ForbiddenOrigin")
    expect((await call("/realms", { headers: { origin: `http://localhost:${port}` } })).status).toBe(200)
    expect((await call("/nowhere")).status).toBe(404)
  })
})

describe("daemon feed", () => {
  it("streams a new event to a subscriber as soon as the realm is synced", async () => {
    const client = feed()
    await client.opened
    client.ws.send(JSON.stringify({ type: "subscribe", realm: "letemcook" }))
    await client.until((ms) => ms.some((m) => m.type === "subscribed"))
    await join("fungal-image-analysis")
    const started = Date.now()
    const sync = await call("/realms/letemcook/sync", { method: "POST" })
    expect(sync.status).toBe(200)
    const ms = await client.until((m) => m.some((x) => x.type === "event"))
    expect(Date.now() - started).toBeLessThan(1000)
    const ev = ms.find((m) => m.type === "event")
    expect(ev.event).toMatchObject({ position: 3, type: "RepoJoined", realm: "letemcook" })
    expect(ev.event.event.repo.name).toBe("fungal-image-analysis")
    client.ws.close()
  })

  it("picks up a commit made by another process without being told (poll)", async () => {
    const client = feed()
    await client.opened
    client.ws.send(JSON.stringify({ type: "subscribe" }))
    await client.until((ms) => ms.some((m) => m.type === "subscribed"))
    await join("ml-infra")
    const ms = await client.until((m) => m.some((x) => x.type === "event" && x.event.position === 4), 2000)
    expect(ms.filter((m) => m.type === "event").map((m) => m.event.position)).toEqual([4])
    client.ws.close()
  })

  it("resends what a reconnecting client missed, from its last position, exactly once", async () => {
    const client = feed()
    await client.opened
    client.ws.send(JSON.stringify({ type: "subscribe", realm: "letemcook", after: 1 }))
    const ms = await client.until((m) => m.some((x) => x.type === "subscribed"))
    const positions = ms.filter((m) => m.type === "event").map((m) => m.event.position)
    expect(positions).toEqual([2, 3, 4])
    client.ws.close()
  })

  it("accepts the token as a first message, and closes unauthenticated feeds with 4401", async () => {
    const late = feed({})
    await late.opened
    late.ws.send(JSON.stringify({ type: "auth", token: TOKEN }))
    await late.until((m) => m.some((x) => x.type === "authenticated"))
    late.ws.close()
    const bad = feed({})
    await bad.opened
    const closed = new Promise<number>((resolve) => bad.ws.on("close", (code) => resolve(code)))
    bad.ws.send(JSON.stringify({ type: "subscribe" }))
    expect(await closed).toBe(4401)
  })

  it("refuses an upgrade from a foreign Origin and survives a peer that resets mid-upgrade", async () => {
    const evil = new WebSocket(`ws://127.0.0.1:${port}/feed`, { headers: { origin: "https://evil.example" } })
    const status = await new Promise<number>((resolve) =>
      evil.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0))
    )
    expect(status).toBe(403)
    await new Promise<void>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.write(`GET /feed HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n`)
        s.resetAndDestroy()
        resolve()
      })
    })
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
  })
})

describe("daemon notifications", () => {
  const exec = (repo: string, command: Parameters<Effect.Effect.Success<typeof Realms>["execute"]>[1]) =>
    run(Effect.flatMap(Realms, (r) => r.execute(realmDir, command, actor(repo))))

  it("pushes a notification to the importer's feed, lists it, and acknowledges it over HTTP", async () => {
    await exec("aperture", {
      _tag: "CreateDomain",
      domain: "s3-access",
      repos: ["aperture", "fungal-image-analysis"],
      contract: "s3"
    })
    const client = feed()
    await client.opened
    client.ws.send(JSON.stringify({ type: "subscribe", realm: "letemcook", repo: "fungal-image-analysis" }))
    await client.until((ms) => ms.some((m) => m.type === "subscribed"))
    await exec("aperture", { _tag: "PublishContract", contract: "s3", value: { read: ["a/*"] } })
    await call("/realms/letemcook/sync", { method: "POST" })
    const ms = await client.until((m) => m.some((x) => x.type === "notification"))
    const pushed = ms.find((m) => m.type === "notification").notification
    expect(pushed).toMatchObject({
      realm: "letemcook",
      repo: "fungal-image-analysis",
      contract: "s3",
      change_type: "new"
    })
    client.ws.close()

    const listed = await body(
      await call("/notifications?realm=letemcook&repo=fungal-image-analysis&unacknowledged=true")
    )
    expect(listed.notifications.map((n: any) => n.id)).toEqual([pushed.id])
    const ack = await call(`/notifications/${pushed.id}/ack`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ realm: "letemcook", repo: "fungal-image-analysis" })
    })
    expect(ack.status).toBe(200)
    expect((await body(await call("/notifications?repo=fungal-image-analysis&unacknowledged=1"))).notifications)
      .toEqual([])
    const all = await body(await call("/notifications?repo=fungal-image-analysis"))
    expect(all.notifications[0].acknowledged_by).toEqual([
      expect.objectContaining({ repo: "fungal-image-analysis" })
    ])
    const again = await call(`/notifications/${pushed.id}/ack`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ realm: "letemcook", repo: "fungal-image-analysis" })
    })
    expect(again.status).toBe(404)
    expect((await body(again)).error._tag).toBe("NotificationNotFound")
  })
})

describe("daemon sessions", () => {
  const register = (b: unknown) =>
    call("/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b) })

  it("registers, lists and deregisters sessions, streaming each change on the feed", async () => {
    const client = feed()
    await client.opened
    client.ws.send(JSON.stringify({ type: "subscribe", realm: "letemcook" }))
    await client.until((ms) => ms.some((m) => m.type === "subscribed"))
    const created = await register({ repo: "aperture", realm: "letemcook", client_id: "cli", pid: process.pid })
    expect(created.status).toBe(201)
    const session = await body(created)
    expect(session).toMatchObject({ repo: "aperture", realm: "letemcook", pid: process.pid, ended_at: null })
    const listed = await body(await call("/sessions?realm=letemcook"))
    expect(listed.sessions.map((x: any) => x.id)).toContain(session.id)
    const gone = await call(`/sessions/${session.id}`, { method: "DELETE" })
    expect(gone.status).toBe(200)
    expect((await body(await call("/sessions"))).sessions.map((x: any) => x.id)).not.toContain(session.id)
    expect((await call(`/sessions/${session.id}`, { method: "DELETE" })).status).toBe(404)
    const ms = await client.until((m) => m.filter((x) => x.type === "session").length >= 2)
    expect(ms.filter((m) => m.type === "session").map((m) => m.change)).toEqual(["started", "ended"])
    expect((await register({ realm: "letemcook" })).status).toBe(400)
    client.ws.close()
  })

  it("ends sessions whose process died (orphans) within a poll", async () => {
    const { spawnSync } = await import("node:child_process")
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!
    const session = await body(await register({ repo: "aperture", realm: "letemcook", pid: dead }))
    const deadline = Date.now() + 3000
    while ((await body(await call("/sessions"))).sessions.some((x: any) => x.id === session.id)) {
      if (Date.now() > deadline) throw new Error("orphan not cleaned")
      await new Promise((r) => setTimeout(r, 100))
    }
    const ended = await run(Effect.flatMap(Sessions, (s) => s.active()))
    expect(ended.some((x) => x.id === session.id)).toBe(false)
  })
})

describe("sessions on the realm's blue/sessions/<machine> branches", () => {
  it("records this machine's session changes there, and lists other machines' sessions from theirs", async () => {
    const { spawnSync } = await import("node:child_process")
    const gitIn = (...args: Array<string>) => spawnSync("git", args, { cwd: realmDir, encoding: "utf8" }).stdout.trim()
    const created = await body(
      await call("/sessions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ repo: "aperture", realm: "letemcook", pid: process.pid })
      })
    )
    const listed = await body(await call("/sessions?realm=letemcook"))
    const branch = `blue/sessions/${listed.machine}`
    const deadline = Date.now() + 3000
    while (!gitIn("show", `${branch}:sessions/${listed.machine}.yaml`).includes(created.id)) {
      if (Date.now() > deadline) throw new Error(`no ${branch} with the session`)
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(
      gitIn("ls-tree", "-r", "--name-only", branch).split("\n").some((f) => f.endsWith(`${created.id}-started.json`))
    )
      .toBe(true)
    // The realm's own branch and working tree are untouched by session commits.
    expect(gitIn("status", "--porcelain")).toBe("")
    expect(gitIn("log", "--format=%s", "main").includes("session")).toBe(false)

    // Another machine (here: written directly) appears under `machines`.
    await run(Effect.flatMap(Realms, (r) =>
      r.publishSessions(realmDir, "other-laptop", {
        machine: "other-laptop",
        sessions: [{ id: "S1", repo: "fungal-image-analysis", client_id: "cli" }]
      }, [])))
    const all = await body(await call("/sessions?realm=letemcook"))
    expect(all.machines).toEqual([
      expect.objectContaining({
        realm: "letemcook",
        machine: "other-laptop",
        snapshot: expect.objectContaining({ machine: "other-laptop" })
      })
    ])
    await call(`/sessions/${created.id}`, { method: "DELETE" })
  })
})

describe("daemon feed catch-up of notifications", () => {
  it("a client that comes back with its last position gets the notifications raised for its repo meanwhile", async () => {
    const before = (await body(await call("/realms/letemcook"))).position
    await run(
      Effect.flatMap(Realms, (r) =>
        r.execute(
          realmDir,
          { _tag: "PublishContract", contract: "s3", value: { read: ["a/*", "z/*"] } },
          actor("aperture")
        ))
    )
    await call("/realms/letemcook/sync", { method: "POST" })
    const client = feed()
    await client.opened
    client.ws.send(
      JSON.stringify({ type: "subscribe", realm: "letemcook", repo: "fungal-image-analysis", after: before })
    )
    const ms = await client.until((m) => m.some((x) => x.type === "subscribed"))
    const notes = ms.filter((m) => m.type === "notification").map((m) => m.notification)
    expect(notes).toEqual([
      expect.objectContaining({ repo: "fungal-image-analysis", contract: "s3", id: String(before + 1) })
    ])
    expect(ms.filter((m) => m.type === "event").map((m) => m.event.position)).toEqual([before + 1])
    client.ws.close()
  })
})
