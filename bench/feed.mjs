// The daemon in one run: (1) a contract bump reaching N WebSocket watchers — latency from the moment the bump's
// commit is in the realm (the mtime of the realm's refs/heads/main, which the engine moves by a rename) to each
// watcher's receipt, p50/p99; (2) GET /realms/{name} throughput against a bare node:http server answering the same
// JSON, same client, same concurrency.
// Usage: node bench/feed.mjs [watchers=100] [bumps=20] [seconds of (2)=3]
import { Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { WebSocket } from "ws"
import {
  DaemonHostLive,
  IdentityLive,
  IdsLive,
  RealmGitLive,
  RealmLockLive,
  Realms,
  serve,
  SessionsLive,
  SqliteEventLogLive
} from "../dist/index.js"

const WATCHERS = Number(process.argv[2] ?? 100)
const BUMPS = Number(process.argv[3] ?? 20)
const SECONDS = Number(process.argv[4] ?? 3)
const TOKEN = "bench-token"
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-bench-feed-")))
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

const layer = Layer.provideMerge(
  Realms.Default,
  Layer.mergeAll(
    Layer.provideMerge(SessionsLive, SqliteEventLogLive(path.join(root, "daemon.db"))),
    RealmGitLive,
    RealmLockLive,
    IdsLive,
    // what the daemon's Layers ask of the machine (its name, processes, branch heads) and who acts
    DaemonHostLive,
    IdentityLive
  )
)
const scope = Effect.runSync(Scope.make())
const runtime = await Effect.runPromise(Layer.toRuntime(layer).pipe(Scope.extend(scope)))
const run = (effect) => Effect.runPromise(Effect.provide(effect, runtime))
const realmDir = path.join(root, "realm-bench")
const exec = (repo, command) => run(Effect.flatMap(Realms, (r) => r.execute(realmDir, command, { repo, user: "b@x" })))

await run(Effect.flatMap(Realms, (r) => r.init(root, "bench", "open", { user: "b@x" })))
for (const repo of ["aperture", "fungal"]) await exec(repo, { _tag: "JoinRealm", repo, maintainers: ["b@x"] })
await exec("aperture", { _tag: "CreateDomain", domain: "s3-access", repos: ["aperture", "fungal"], contract: "s3" })
await exec("aperture", { _tag: "PublishContract", contract: "s3", value: { read: ["p0"] } })

const port = await freePort()
await run(serve({ home: root, port, token: TOKEN }).pipe(Scope.extend(scope)))

// (1) watchers
const clients = await Promise.all(
  Array.from({ length: WATCHERS }, () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/feed`, { headers: { authorization: `Bearer ${TOKEN}` } })
      const c = { ws, waiting: undefined }
      ws.on("message", (d) => {
        const m = JSON.parse(d.toString())
        if (m.type === "subscribed") resolve(c)
        if (m.type === "event" && m.event.type === "ContractBumped" && c.waiting) {
          c.waiting(performance.timeOrigin + performance.now())
        }
      })
      ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", realm: "bench" })))
      ws.on("error", reject)
    })
  )
)
const latencies = []
for (let i = 1; i <= BUMPS; i++) {
  const received = clients.map((c) => new Promise((resolve) => (c.waiting = resolve)))
  const value = { read: Array.from({ length: i + 1 }, (_, k) => `p${k}`) }
  await exec("aperture", { _tag: "PublishContract", contract: "s3", value })
  // The wall-clock moment the commit landed: git moved the branch by renaming main.lock over main.
  const committed = fs.statSync(path.join(realmDir, ".git", "refs", "heads", "main")).mtimeMs
  // What every CLI write does next (its Published port); a write in the daemon's process has published already.
  await fetch(`http://127.0.0.1:${port}/realms/bench/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` }
  })
  for (const t of await Promise.all(received)) latencies.push(t - committed)
}
for (const c of clients) c.ws.close()

// (2) throughput: the daemon's GET /realms/bench vs a bare node:http server sending the same body
const body = await (await fetch(`http://127.0.0.1:${port}/realms/bench`, {
  headers: { authorization: `Bearer ${TOKEN}` }
})).text()
const barePort = await freePort()
const bare = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" })
  res.end(body)
})
await new Promise((r) => bare.listen(barePort, "127.0.0.1", r))
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
const load = (p, pathname) =>
  new Promise((resolve) => {
    let done = 0
    const deadline = performance.now() + SECONDS * 1000
    let inflight = 0
    const fire = () => {
      if (performance.now() > deadline) {
        if (inflight === 0) resolve(done / SECONDS)
        return
      }
      inflight++
      const req = http.request({
        host: "127.0.0.1",
        port: p,
        path: pathname,
        agent,
        headers: { authorization: `Bearer ${TOKEN}` }
      }, (res) => {
        res.resume()
        res.on("end", () => {
          inflight--
          done++
          fire()
        })
      })
      req.end()
    }
    for (let i = 0; i < 16; i++) fire()
  })
const bareRps = await load(barePort, "/")
const daemonRps = await load(port, "/realms/bench")
bare.close()
agent.destroy()
await Effect.runPromise(Scope.close(scope, Exit.void))
fs.rmSync(root, { recursive: true, force: true })
console.log(JSON.stringify({
  bench: "feed",
  watchers: WATCHERS,
  bumps: BUMPS,
  deliveries: latencies.length,
  p50Ms: +pct(latencies, 50).toFixed(2),
  p99Ms: +pct(latencies, 99).toFixed(2),
  maxMs: +Math.max(...latencies).toFixed(2),
  goalP99Ms: 50,
  realmGetRps: Math.round(daemonRps),
  bareNodeHttpRps: Math.round(bareRps),
  ratioToBare: +(daemonRps / bareRps).toFixed(2)
}))
process.exit(0)
