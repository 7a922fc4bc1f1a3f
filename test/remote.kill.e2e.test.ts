/**
 * kill -9 through clone, fetch and push (issue 11), through the real `blue` binary with several BLUE_HOMEs against a
 * throttled loopback git server, so that a kill lands mid-transfer. Three commands are killed at many points — at a
 * random moment of their run, or a random few milliseconds after a given request reached the server:
 *
 * * `join URL` on a machine without the realm (a clone, then a push of its RepoJoined);
 * * a read that fetches (`realm log`, the clone stale, no daemon);
 * * a write that pushes (`realm export` of a new value).
 *
 * After each kill the same command is run again and must converge (exit 0); then every event on the server's main is
 * there exactly once (by id, and by what it records), the managed clone passes `git fsck --full`, `replay --verify`
 * agrees, and no temp dir is left in BLUE_HOME/realms. BLUE_KILL_RUNS scales the number of runs (default 20 in all; 32 and more were run while building it).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { GitServer, RequestRecord } from "./support/gitServer.js"
import {
  blue,
  cloneOf,
  createDomain,
  exportArgs as exportArgsOf,
  gitAsync as gitIn,
  ok,
  remoteMachines,
  replayAgrees,
  sleep,
  twoMachinesOn
} from "./support/remoteMachines.js"
import type { Workspace } from "./support/workspace.js"

const TOKEN = "kill-test-token"
const RUNS = Number(process.env["BLUE_KILL_RUNS"] ?? "20")
const CLONE_RUNS = Math.max(1, Math.round(RUNS * 10 / 32))
const FETCH_RUNS = Math.max(1, Math.round(RUNS * 10 / 32))
const PUSH_RUNS = Math.max(1, RUNS - CLONE_RUNS - FETCH_RUNS)

const room = remoteMachines("blue-kill", TOKEN)
let server: GitServer
let url: string

/** Where to kill: a random moment after the start, or a random few ms after a request of this kind reached the server. */
type KillPoint =
  | { readonly at: "time"; readonly ms: number }
  | { readonly at: "request"; readonly method: "GET" | "POST"; readonly service: string; readonly plusMs: number }

const describePoint = (p: KillPoint) =>
  p.at === "time" ? `${p.ms} ms after start` : `${p.plusMs} ms after ${p.method} ${p.service}`

/** Runs `blue args…`, SIGKILLs it at `point` (unless it ended first); says whether the kill landed. */
const runKilled = async (ws: Workspace, cwd: string, point: KillPoint, args: Array<string>) => {
  const seen = server.requests.length
  const { child, done } = ws.spawnBlue(cwd, ...args)
  let ended = false
  void done.then(() => (ended = true))
  if (point.at === "time") {
    await sleep(point.ms)
  } else {
    const hit = (q: RequestRecord) => q.method === point.method && q.service === point.service
    while (!ended && !server.requests.slice(seen).some(hit)) await sleep(2)
    await sleep(point.plusMs)
  }
  const killed = !ended && child.kill("SIGKILL")
  // What the server had seen of this run when it was killed (a mid-transfer kill shows its request unanswered).
  const reached = server.requests.slice(seen).map((q) =>
    `${q.method === "GET" ? "adv" : "post"}:${q.service?.replace("git-", "") ?? "?"}${
      q.status === undefined ? "…" : ""
    }`
  ).join(" ")
  const r = await done
  return { killed, run: r, reached }
}

/** A kill point for run `i` of a command whose unkilled run takes `ms`: alternately timed and request-bound. */
const pointFor = (i: number, ms: number, requests: ReadonlyArray<readonly ["GET" | "POST", string]>): KillPoint => {
  // Within the first 70 % of an unkilled run, and at most 40 ms after a request: a kill meant for the end of a quick
  // run (a read that fetches takes a few hundred ms) would mostly find it ended.
  if (i % 2 === 0) return { at: "time", ms: Math.floor(Math.random() * ms * 0.7) }
  const [method, service] = requests[Math.floor(i / 2) % requests.length]
  return { at: "request", method, service, plusMs: Math.floor(Math.random() * 40) }
}

/** Every event file on the server's main, parsed; and the event files each commit's trailers list. */
const serverEvents = async () => {
  const listing = (await server.git("letemcook", "ls-tree", "-r", "main", "--", "events")).trim().split("\n")
  const blobs = listing.filter((l) => l !== "").map((l) => {
    const [meta, file] = l.split("\t")
    return { oid: meta.split(" ")[2], file }
  })
  // One `git cat-file --batch` for all of them: each answer is a header line, the content, and a newline.
  const child = spawn("git", ["cat-file", "--batch"], { cwd: path.join(server.root, "letemcook.git") })
  const chunks: Array<Buffer> = []
  child.stdout.on("data", (d: Buffer) => chunks.push(d))
  const closed = new Promise((r) => child.on("close", r))
  child.stdin.end(blobs.map((b) => b.oid).join("\n") + "\n")
  await closed
  const out = Buffer.concat(chunks)
  const events: Array<{ file: string; id: string; type: string; event: any }> = []
  let at = 0
  for (const b of blobs) {
    const eol = out.indexOf(10, at)
    const size = Number(out.subarray(at, eol).toString("utf8").split(" ")[2])
    const json = JSON.parse(out.subarray(eol + 1, eol + 1 + size).toString("utf8"))
    at = eol + 1 + size + 1
    events.push({ file: b.file, id: json.id, type: json.type, event: json.event })
  }
  const trailers = (await server.git("letemcook", "log", "--format=%B", "main")).split("\n").filter((l) =>
    l.startsWith("Blue-Event: ")
  ).map((l) => l.slice("Blue-Event: ".length).trim())
  return { events, trailers }
}

/** The server's log has each event exactly once; `count(pred)` says how many events match. */
const exactlyOnceOnServer = async () => {
  const { events, trailers } = await serverEvents()
  const ids = events.map((e) => e.id)
  expect(new Set(ids).size).toBe(ids.length)
  expect([...trailers].sort()).toEqual(events.map((e) => e.file).sort())
  for (const e of events) expect(path.basename(e.file, ".json")).toBe(e.id)
  await server.git("letemcook", "fsck", "--strict")
  return (pred: (e: { type: string; event: any }) => boolean) => events.filter(pred).length
}

/** The managed clone is whole, replay agrees, and nothing temporary is left in BLUE_HOME/realms. */
const machineIsWhole = async (ws: Workspace, cwd: string) => {
  expect(fs.readdirSync(path.join(ws.home, "realms"))).toEqual(["letemcook"])
  await gitIn(cloneOf(ws, "letemcook"), "fsck", "--full")
  await replayAgrees(ws, cwd)
}

const stats: Array<string> = []

beforeAll(async () => {
  server = await room.server({ throttle: { chunkBytes: 1024, delayMs: 4 } })
  await server.createBareRepo("letemcook")
  url = server.url("letemcook")
}, 60_000)

afterAll(async () => {
  console.log(`kill -9 runs:\n${stats.join("\n")}`)
  await room.release()
})

describe("kill -9 through clone, fetch and push, then the same command again", () => {
  let a: Workspace
  let b: Workspace
  let value = 0
  const exportArgs = (n: number) => exportArgsOf({ read: ["a/*", `n${n}/*`] })
  // With an importer, an export opens (or amends) a proposal: the value travels in `proposed`.
  const bumpsOf = (n: number) => (e: { type: string; event: any }) =>
    ["ContractBumped", "ContractPublished", "ProposalOpened", "ProposalAmended"].includes(e.type) &&
    JSON.stringify(e.event.contract?.value ?? e.event.proposed?.value ?? null).includes(`"n${n}/*"`)

  beforeAll(async () => {
    const seed = await twoMachinesOn(room, url)
    a = seed.a
    b = seed.b
    ok(await createDomain(a, "aperture", "s3-access", "--contract", "s3-permissions"), "domain")
    ok(await blue(a, "aperture", ...exportArgs(++value)), "first export")
  }, 240_000)

  it(`join URL (clone, then push) killed at ${CLONE_RUNS} points converges on a re-run`, async () => {
    // Calibrate: how long one join takes here, unkilled.
    const warm = room.machine("warm")
    warm.repo("warm")
    const t0 = Date.now()
    ok(await blue(warm, "warm", "realm", "join", url), "calibration join")
    const ms = Date.now() - t0
    let killed = 0
    for (let i = 0; i < CLONE_RUNS; i++) {
      const ws = room.machine(`c${i}`)
      const repo = `m${i}`
      ws.repo(repo)
      const point = pointFor(i, ms, [["GET", "git-upload-pack"], ["POST", "git-upload-pack"], [
        "GET",
        "git-receive-pack"
      ], ["POST", "git-receive-pack"]])
      const k = await runKilled(ws, repo, point, ["realm", "join", url])
      if (k.killed) killed++
      stats.push(
        `join #${i}: ${describePoint(point)} → ${k.killed ? "killed" : `ended (${k.run.code})`} [${k.reached}]`
      )
      ok(await blue(ws, repo, "realm", "join", url), `join re-run after a kill ${describePoint(point)}`)
      const count = await exactlyOnceOnServer()
      expect(count((e) => e.type === "RepoJoined" && e.event.repo?.name === repo), `join #${i}`).toBe(1)
      expect(fs.existsSync(path.join(ws.path(repo), ".blue", "config.yaml"))).toBe(true)
      await machineIsWhole(ws, repo)
    }
    stats.push(`join: ${killed}/${CLONE_RUNS} killed mid-run (an unkilled join took ${ms} ms)`)
    expect(killed).toBeGreaterThan(CLONE_RUNS / 2)
  }, 1_200_000)

  it(
    "a join killed while its git clone waits on the server: the orphaned git is stopped, the re-run converges",
    async () => {
      const ws = room.machine("orphan")
      ws.repo("orphan")
      server.setFault({ kind: "hang", afterBytes: 60 }, { method: "POST", service: "git-upload-pack" }, 1)
      const hung = server.hung()
      const { child, done } = ws.spawnBlue("orphan", "realm", "join", url)
      await hung
      child.kill("SIGKILL")
      await done
      server.setFault(undefined)
      // The `git clone` Blue started leads its own process group: it outlives Blue, waiting on the server.
      const clones = () =>
        fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
          try {
            const argv = fs.readFileSync(`/proc/${p}/cmdline`, "utf8")
            const state = fs.readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]?.[0]
            return argv.includes(path.join(ws.home, "realms", ".letemcook.clone-")) && state !== "Z"
          } catch {
            return false
          }
        })
      expect(clones().length).toBeGreaterThan(0)
      ok(await blue(ws, "orphan", "realm", "join", url), "join re-run")
      expect(clones()).toEqual([])
      const count = await exactlyOnceOnServer()
      expect(count((e) => e.type === "RepoJoined" && e.event.repo?.name === "orphan")).toBe(1)
      await machineIsWhole(ws, "orphan")
    },
    300_000
  )

  it(`a read that fetches (stale clone, no daemon) killed at ${FETCH_RUNS} points converges on a re-run`, async () => {
    b.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
    const t0 = Date.now()
    ok(await blue(b, "fungal", "realm", "log", "--json"), "calibration read")
    const ms = Date.now() - t0
    let killed = 0
    for (let i = 0; i < FETCH_RUNS; i++) {
      // Something new on the server for the read to fetch.
      const n = ++value
      ok(await blue(a, "aperture", ...exportArgs(n)), `export ${n}`)
      const point = pointFor(i, ms, [["GET", "git-upload-pack"], ["POST", "git-upload-pack"]])
      const k = await runKilled(b, "fungal", point, ["realm", "log", "--json"])
      if (k.killed) killed++
      stats.push(
        `read #${i}: ${describePoint(point)} → ${k.killed ? "killed" : `ended (${k.run.code})`} [${k.reached}]`
      )
      const log = ok(await blue(b, "fungal", "realm", "log", "--json"), `read re-run after ${describePoint(point)}`)
        .json()
      const count = await exactlyOnceOnServer()
      const { events } = await serverEvents()
      // The re-run shows the server's log: the same events, each once.
      const local = (log.events as Array<{ id: string }>).map((e) => e.id)
      expect(new Set(local).size).toBe(local.length)
      expect([...local].sort()).toEqual(events.map((e) => e.id).sort())
      expect(count(bumpsOf(n))).toBe(1)
      await machineIsWhole(b, "fungal")
    }
    stats.push(`read: ${killed}/${FETCH_RUNS} killed mid-run (an unkilled read took ${ms} ms)`)
    expect(killed).toBeGreaterThan(FETCH_RUNS / 2)
  }, 1_200_000)

  it(`a write that pushes killed at ${PUSH_RUNS} points converges on a re-run`, async () => {
    const t0 = Date.now()
    ok(await blue(a, "aperture", ...exportArgs(++value)), "calibration write")
    const ms = Date.now() - t0
    let killed = 0
    for (let i = 0; i < PUSH_RUNS; i++) {
      const n = ++value
      // Half the re-runs trust the clone (no fetch first: the push's compare-and-swap finds what landed), half fetch.
      a.env["BLUE_REALM_SYNC_INTERVAL_MS"] = i % 4 < 2 ? "600000" : "0"
      const point = pointFor(i, ms, [["GET", "git-receive-pack"], ["POST", "git-receive-pack"]])
      const k = await runKilled(a, "aperture", point, exportArgs(n))
      if (k.killed) killed++
      stats.push(
        `write #${i}: ${describePoint(point)} → ${k.killed ? "killed" : `ended (${k.run.code})`} [${k.reached}]`
      )
      ok(await blue(a, "aperture", ...exportArgs(n)), `write re-run after ${describePoint(point)}`)
      const count = await exactlyOnceOnServer()
      expect(count(bumpsOf(n)), `write #${i}`).toBe(1)
      await machineIsWhole(a, "aperture")
    }
    stats.push(`write: ${killed}/${PUSH_RUNS} killed mid-run (an unkilled write took ${ms} ms)`)
    expect(killed).toBeGreaterThan(PUSH_RUNS / 2)
    // The other machine, fetching everything that landed, agrees with the server and with itself.
    b.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
    const log = ok(await blue(b, "fungal", "realm", "log", "--json"), "final read").json()
    const { events } = await serverEvents()
    expect((log.events as Array<{ id: string }>).map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort())
    await machineIsWhole(b, "fungal")
  }, 1_200_000)
})

describe("init --remote killed after its push landed, before its branch moved here", () => {
  it("re-running init says the repo is taken; join URL replaces the half-made clone and converges", async () => {
    await server.createBareRepo("published")
    const u = server.url("published")
    const ws = room.machine("init")
    ws.repo("svc")
    // The server takes the push and moves its main; the answer never comes, and Blue is killed waiting for it.
    server.setFault({ kind: "hang", afterBytes: 0 }, {
      method: "POST",
      service: "git-receive-pack",
      repo: "published"
    }, 1)
    const hung = server.hung()
    const { child, done } = ws.spawnBlue(".", "realm", "admin", "init", "--name", "published", "--remote", u)
    await hung
    for (let i = 0; i < 200 && (await server.refs("published")).get("refs/heads/main") === undefined; i++) {
      await sleep(50)
    }
    expect((await server.refs("published")).get("refs/heads/main")).toMatch(/^[0-9a-f]{40}$/)
    child.kill("SIGKILL")
    await done
    server.setFault(undefined)
    const realms = path.join(ws.home, "realms")
    expect(fs.readdirSync(realms)).toEqual(["published"])
    const again = await blue(ws, ".", "realm", "admin", "init", "--name", "published", "--remote", u)
    expect(again.code).not.toBe(0)
    expect(again.stderr.trim()).toMatch(
      /^Error: The repo at .* is not empty \(1 branch\); .* join this one by its URL\.$/
    )
    ok(await blue(ws, "svc", "realm", "join", u), "join after the killed init")
    expect(fs.readdirSync(realms)).toEqual(["published"])
    await gitIn(cloneOf(ws, "published"), "fsck", "--full")
    await replayAgrees(ws, "svc")
    const subjects = (await server.git("published", "log", "--format=%s", "main")).trim().split("\n")
    expect(subjects).toHaveLength(2)
  }, 300_000)
})

describe("join killed after it renamed its clone, before it registered it", () => {
  it("the re-run takes the clone it left under the realm's name and leaves no other", async () => {
    // The URL's last segment (tenant-store) is not the realm's name (tenant): join clones into realms/tenant-store,
    // then renames it to realms/tenant. A kill between that rename and the registration leaves realms/tenant, a
    // complete clone nothing uses: here, a copy of another machine's clone of the same URL.
    await server.createBareRepo("tenant-store")
    const u = server.url("tenant-store")
    const first = room.machine("rename-a")
    first.repo("svc")
    ok(await blue(first, ".", "realm", "admin", "init", "--name", "tenant", "--remote", u), "init")
    const ws = room.machine("rename-b")
    ws.repo("web")
    const realms = path.join(ws.home, "realms")
    fs.mkdirSync(realms, { recursive: true })
    fs.cpSync(path.join(first.home, "realms", "tenant"), path.join(realms, "tenant"), { recursive: true })
    ok(await blue(ws, "web", "realm", "join", u), "join after the killed one")
    expect(fs.readdirSync(realms).filter((n) => !n.startsWith("."))).toEqual(["tenant"])
    await gitIn(cloneOf(ws, "tenant"), "fsck", "--full")
    await replayAgrees(ws, "web")
    const status = ok(await blue(ws, "web", "status", "--json"), "status").json()
    expect(status.realm?.name ?? status.realm).toBe("tenant")
  }, 120_000)
})
