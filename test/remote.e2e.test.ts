/**
 * Remote realms end to end (issue 11): a real `git http-backend` on loopback with basic auth, two BLUE_HOMEs playing
 * two machines, the bundled CLI (daemon off, so each command does its own fetch and push). The CLI is always started
 * asynchronously: the server shares this process's event loop.
 */
import Database from "better-sqlite3"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import * as YAML from "yaml"
import {
  blue,
  createDomain,
  exportArgs,
  ok,
  refusedInOneSentence,
  remoteMachines,
  replayAgrees,
  sleep,
  twoMachinesOn,
  until
} from "./support/remoteMachines.js"
import { fingerprint, type Run, type Workspace } from "./support/workspace.js"

const TOKEN = "s3cret-token-value"

const room = remoteMachines("blue-remote", TOKEN)
afterEach(() => room.release())

/** One sentence on stderr, no token, non-zero exit. */
const refused = (r: Run) => refusedInOneSentence(r, TOKEN)

/** The seed's setup across two machines: aperture's home publishes the realm and joins; fungal's home joins. */
const twoMachines = async () => {
  const srv = await room.server()
  await srv.createBareRepo("letemcook")
  const url = srv.url("letemcook")
  const { a, b, init } = await twoMachinesOn(room, url, { json: true })
  expect(init.json()).toMatchObject({ realm: "letemcook", path: path.join(a.home, "realms", "letemcook") })
  return { srv, url, a, b }
}

const logOf = async (
  ws: Workspace,
  cwd: string
) => (ok(await blue(ws, cwd, "realm", "log", "--json"), "log").json() as any)

/** Linear: every commit of the server's main has at most one parent. */
const expectLinear = (history: Array<string>) => {
  for (const line of history) expect(line.split(" ").filter((w) => /^[0-9a-f]{40}$/.test(w)).length).toBeLessThan(3)
}

describe("remote realms", () => {
  it("two machines share one realm on a git server", async () => {
    const { a, b, srv, url } = await twoMachines()
    // The realm is on the server, and each machine has its managed clone.
    expect((await srv.refs("letemcook")).get("refs/heads/main")).toMatch(/^[0-9a-f]{40}$/)
    expect(fs.existsSync(path.join(b.home, "realms", "letemcook", "realm.yaml"))).toBe(true)
    const config = YAML.parse(fs.readFileSync(path.join(b.path("fungal"), ".blue", "config.yaml"), "utf8"))
    expect(config).toEqual({ realm: { name: "letemcook", url }, repo: "fungal" })
    // A domain created on one machine (which has not seen fungal join yet) is seen on the other.
    ok(await createDomain(a, "aperture", "s3-access"), "domain")
    // fungal's machine has not fetched since it joined: its clone lacks the domain, so the same command decides
    // there, loses the race on push, fetches, is decided again against the server's state, and is refused.
    const headBefore = (await srv.refs("letemcook")).get("refs/heads/main")
    const lost = await createDomain(b, "fungal", "s3-access")
    // The refusal says, in the same sentence, that a race happened and what changed.
    expect(refused(lost)).toMatch(
      /^Error: Realm 'letemcook': another machine changed the realm first \(the head moved from [0-9a-f]{7} to [0-9a-f]{7}\) and the command is now refused: .*s3-access/
    )
    expect((await srv.refs("letemcook")).get("refs/heads/main")).toBe(headBefore)
    b.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
    const fromB = await logOf(b, "fungal")
    const fromA = await logOf(a, "aperture")
    expect(JSON.stringify(fromB)).toContain("s3-access")
    expect(fromB).toEqual(fromA)
    for (const [ws, cwd] of [[a, "aperture"], [b, "fungal"]] as const) await replayAgrees(ws, cwd, "replay")
    expect(await srv.git("letemcook", "fsck", "--strict")).toBeDefined()

    // status names the remote and when it last answered; offline, reads still work from the clone and say so.
    const status = ok(await blue(b, "fungal", "realm", "status", "--json"), "status").json()
    expect(status.remote).toMatchObject({ url, reachable: true })
    await room.stop(srv)
    const offline = ok(await blue(b, "fungal", "realm", "status"), "offline status")
    expect(offline.stdout).toMatch(/Remote: .* not reachable at the last try .* showing the clone as synced/)
    expect(JSON.stringify(await logOf(b, "fungal"))).toContain("s3-access")
  }, 180_000)

  it("another machine's daemon fetches and ingests a change within its poll", async () => {
    const { a, b, srv } = await twoMachines()
    const { child: daemon } = await room.spawnDaemon(b, 250)
    let out = ""
    daemon.stdout!.on("data", (d) => (out += d))
    await until("the daemon to listen", () => out.includes("\n"), 30_000)
    ok(await createDomain(a, "aperture", "s3-access"), "domain")
    const head = (await srv.refs("letemcook")).get("refs/heads/main")
    const t0 = Date.now()
    const recorded = () => {
      const db = new Database(path.join(b.home, "daemon.db"), { readonly: true })
      try {
        return (db.prepare("SELECT head_commit FROM realms WHERE name = 'letemcook'").get() as any)?.head_commit
      } finally {
        db.close()
      }
    }
    // The fallback poll runs every 3 s; the sync interval is 250 ms here. Generous on a loaded machine.
    await until("B's daemon to ingest A's change", () => recorded() === head, 15_000)
    const elapsed = Date.now() - t0
    console.log(`remote change seen by the other machine's daemon after ${elapsed} ms`)
    expect(fs.existsSync(path.join(b.home, "realms", "letemcook", "domains", "s3-access", "domain.yaml"))).toBe(true)
  }, 180_000)

  it("a contract bump on one machine raises the notification on the other within the sync interval + 1 s", async () => {
    const { a, b, srv } = await twoMachines()
    ok(await createDomain(a, "aperture", "s3-access", "--contract", "s3-permissions"), "domain")
    const exportValue = async (value: unknown) => ok(await blue(a, "aperture", ...exportArgs(value)), "export")
    await exportValue({ read: ["a/*"] })
    const SYNC_MS = 500
    const [, onB] = await Promise.all([room.startDaemon(a, SYNC_MS), room.startDaemon(b, SYNC_MS)])
    const versions = async () => {
      const r = await fetch(`http://127.0.0.1:${onB.port}/notifications?realm=letemcook&repo=fungal`, {
        headers: { authorization: `Bearer ${onB.token}` }
      })
      if (!r.ok) throw new Error(`GET /notifications answered ${r.status}`)
      return ((await r.json()) as any).notifications.map((n: any) => `${n.change_type} ${n.version}`) as Array<string>
    }
    let seen: Array<string> = []
    const bLists = () => `B lists ${JSON.stringify(seen)}`
    // B's daemon catches up with what happened before it started.
    await until(
      "B's daemon to list the first version",
      async () => (seen = await versions()).includes("new 1.0.0"),
      30_000,
      bLists
    )
    // The bump on A: B's daemon fetches, ingests, and lists the notification within its sync interval + 1 s.
    // A feed subscriber on B, for the importer: nothing reads B's realm while it waits, so only the daemon's own
    // background sync can bring the bump in.
    const socket = new WebSocket(`ws://127.0.0.1:${onB.port}/feed`, {
      headers: { authorization: `Bearer ${onB.token}` }
    })
    const received: Array<{ at: number; message: any }> = []
    socket.on("message", (d) => received.push({ at: Date.now(), message: JSON.parse(d.toString()) }))
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject))
    socket.send(JSON.stringify({ type: "subscribe", realm: "letemcook", repo: "fungal" }))
    await until(
      "the feed to subscribe",
      async () => received.some((r) => r.message.type === "subscribed"),
      10_000,
      bLists
    )
    const bumped = () =>
      received.find((r) => r.message.type === "notification" && r.message.notification?.version === "1.1.0")
    // Timed from the moment the server's main moves (A's command may still be finishing then).
    const before = (await srv.refs("letemcook")).get("refs/heads/main")
    const bump = exportValue({ read: ["a/*", "b/*"] })
    const [moved, pushed] = await Promise.all([
      (async () => {
        while ((await srv.refs("letemcook")).get("refs/heads/main") === before) {
          await sleep(20)
        }
        return Date.now()
      })(),
      until("B's feed to push the bump's notification", async () => bumped() !== undefined, 30_000, bLists)
        .then(() => bumped()!.at)
    ])
    await bump
    socket.close()
    const elapsed = pushed - moved
    console.log(
      `notification for a bump on machine A pushed to a feed on machine B ${elapsed} ms after the server's main moved (sync ${SYNC_MS} ms)`
    )
    expect(bumped()!.message.notification).toMatchObject({ contract: "s3-permissions", change_type: "updated" })
    // And B's GET /notifications lists it.
    expect(seen = await versions()).toContain("updated 1.1.0")
    expect(elapsed).toBeLessThanOrEqual(SYNC_MS + 1000)
  }, 180_000)

  it("writes from two machines at once land exactly once, in one linear history", async () => {
    const { a, b, srv } = await twoMachines()
    ok(await createDomain(a, "aperture", "s3-access"), "domain")
    a.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
    b.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
    const N = 10
    const runs = await Promise.all([
      ...Array.from({ length: N }, (_, i) => createDomain(a, "aperture", `a-${i}`)),
      ...Array.from({ length: N }, (_, i) => createDomain(b, "fungal", `b-${i}`))
    ])
    runs.forEach((r, i) => ok(r, `write ${i}`))
    const history = (await srv.git("letemcook", "log", "--format=%H %P %s", "main")).trim().split("\n")
    expectLinear(history)
    for (const side of ["a", "b"]) {
      for (let i = 0; i < N; i++) {
        expect(history.filter((l) => l.includes(`Create domain ${side}-${i} `))).toHaveLength(1)
      }
    }
    const fromA = await logOf(a, "aperture")
    const fromB = await logOf(b, "fungal")
    expect(fromB).toEqual(fromA)
    for (const [ws, cwd] of [[a, "aperture"], [b, "fungal"]] as const) await replayAgrees(ws, cwd, "replay")
  }, 240_000)

  // Each home's daemon is the machine's single writer: the CLI hands its write over, and the daemon's engine folds the
  // commands queued behind an append in flight (or retrying after a lost race) into its next attempt (one commit,
  // one push), so 20 writes per home need a few pushes, not 20 races each. It prints the figures. The whole
  // test took 46 s at load 7–9 on the shared 2-core machine (65–76 s at load 10–19).
  it(
    "3 homes × 20 concurrent writes against one remote: 60/60 land exactly once, linear history",
    async () => {
      const t0 = Date.now()
      const { a, b, srv, url } = await twoMachines()
      const c = room.machine("c")
      c.repo("ml-infra")
      ok(await blue(c, "ml-infra", "realm", "join", url, "--json"), "join ml-infra")
      const homes = [[a, "aperture", "a"], [b, "fungal", "b"], [c, "ml-infra", "c"]] as const
      // Each daemon pushes under its own user name, so the server's log says how many pushes each machine made.
      for (const [ws, , side] of homes) ws.env["BLUE_REALM_USER"] = `w-${side}`
      const ports = await Promise.all(homes.map(([ws]) => room.startDaemon(ws, 2_000)))
      // The CLI finds its home's daemon through the PID file under XDG_RUNTIME_DIR, and hands its writes over.
      homes.forEach(([ws], k) =>
        Object.assign(ws.env, {
          BLUE_DAEMON: "auto",
          XDG_RUNTIME_DIR: ws.path("xdg"),
          BLUE_DAEMON_PORT: String(ports[k]!.port)
        })
      )
      const N = 20
      const started = Date.now()
      const runs = await Promise.all(homes.flatMap(([ws, cwd, side]) =>
        Array.from({ length: N }, (_, i) => {
          const t0 = Date.now()
          return createDomain(ws, cwd, `${side}-${i}`, "--json").then((r) => ({
            r,
            ms: Date.now() - t0,
            name: `${side}-${i}`
          }))
        })
      ))
      const wall = Date.now() - started
      // Reads from here on run in-process and fetch first: every home sees the server's latest.
      for (const [ws] of homes) Object.assign(ws.env, { BLUE_DAEMON: "off", BLUE_REALM_SYNC_INTERVAL_MS: "0" })
      const pushes = homes.map(([, , side]) =>
        // One receive-pack advertisement per push attempt (a compare-and-swap refused before the upload has no POST).
        srv.requests.filter((q) => q.method === "GET" && q.service === "git-receive-pack" && q.user === `w-${side}`)
          .length
      )
      const attempts = runs.map(({ r }) => (r.code === 0 ? (r.json() as any).attempts as number : 0))
      const sorted = runs.map((x) => x.ms).sort((x, y) => x - y)
      const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
      const failed = runs.filter(({ r }) => r.code !== 0)
      console.log(
        `3 homes × ${N} concurrent writes through each home's daemon: ${runs.length - failed.length}/${runs.length} ` +
          `landed in ${wall} ms; latency p50 ${p(0.5)} ms, p99 ${p(0.99)} ms; most attempts by one write ` +
          `${Math.max(...attempts)}; pushes per home ${pushes.join("/")} (issue's goal: p99 ≤ 2000 ms, ≤ 8 attempts)`
      )
      if (failed.length > 0) console.log(`failed writes: ${failed.map(({ r }) => r.stderr.trim()).join(" | ")}`)
      // Folded commands share a commit: one line per command in its message.
      const messages = (await srv.git("letemcook", "log", "--format=%B", "main")).split("\n")
      const history = (await srv.git("letemcook", "log", "--format=%H %P %s", "main")).trim().split("\n")
      // Whatever landed, landed once; what failed left nothing on the server.
      runs.forEach(({ name, r }) => {
        expect(messages.filter((l) => l.startsWith(`Create domain ${name} `))).toHaveLength(r.code === 0 ? 1 : 0)
      })
      runs.forEach(({ r }, i) => ok(r, `write ${i}`))
      for (const n of attempts) expect(n).toBeLessThanOrEqual(8)
      // Fewer commits than commands: queued commands were folded.
      expect(history.length).toBeLessThan(3 * N)
      expectLinear(history)
      const [logs, replays] = await Promise.all([
        Promise.all(homes.map(([ws, cwd]) => logOf(ws, cwd))),
        Promise.all(homes.map(([ws, cwd]) => blue(ws, cwd, "realm", "replay", "--verify", "--json")))
      ])
      expect(logs[1]).toEqual(logs[0])
      expect(logs[2]).toEqual(logs[0])
      for (const r of replays) expect(ok(r, "replay").json().differences ?? []).toEqual([])
      expect(await srv.git("letemcook", "fsck", "--strict")).toBeDefined()
      console.log(`3 homes × ${N}: the whole test took ${Date.now() - t0} ms`)
    },
    300_000
  )

  it("refuses bad remotes in one sentence and writes nothing", async () => {
    const srv = await room.server()
    await srv.createBareRepo("empty")
    await srv.createBareRepo("taken")
    const a = room.machine("a")
    ok(await blue(a, ".", "realm", "admin", "init", "--name", "taken", "--remote", srv.url("taken")), "init taken")
    const b = room.machine("b")
    b.repo("fungal")
    const before = fingerprint(b.root)

    // A non-empty repo for init --remote.
    const nonEmpty = refused(
      await blue(b, ".", "realm", "admin", "init", "--name", "other", "--remote", srv.url("taken"))
    )
    expect(nonEmpty).toMatch(/is not empty/)
    // A repo that is not a realm.
    expect(refused(await blue(b, "fungal", "realm", "admin", "join", srv.url("empty"))))
      .toMatch(/is not a Blue realm/)
    // A wrong token.
    b.env["BLUE_REALM_TOKEN"] = "wrong-token"
    expect(refused(await blue(b, "fungal", "realm", "admin", "join", srv.url("taken"))))
      .toMatch(/refused the credential|denied/)
    expect(refused(
      await blue(b, ".", "realm", "admin", "init", "--name", "x", "--remote", srv.url("empty"))
    )).toMatch(/refused the credential|denied/)
    // An unreachable server.
    b.env["BLUE_REALM_TOKEN"] = TOKEN
    const dead = `http://127.0.0.1:1/nothing.git`
    expect(refused(await blue(b, "fungal", "realm", "admin", "join", dead))).toMatch(/cannot be reached/)
    // A URL given as --path.
    expect(refused(await blue(b, ".", "realm", "admin", "init", "--name", "y", "--path", srv.url("x"))))
      .toMatch(/--path takes a local directory, not a URL/)

    // Nothing written on this machine (beyond what BLUE_HOME keeps for any command), nothing on the server.
    const after = fingerprint(b.root)
    for (const [file, hash] of before) expect(after.get(file)).toBe(hash)
    expect([...after.keys()].filter((f) => !f.startsWith(".blue-home/") || f.includes("realms/"))).toEqual(
      [...before.keys()].filter((f) => !f.startsWith(".blue-home/") || f.includes("realms/"))
    )
    expect((await srv.refs("empty")).size).toBe(0)
    expect(
      fs.existsSync(path.join(b.home, "realms"))
        ? fs.readdirSync(path.join(b.home, "realms")).filter((n) => !n.startsWith("."))
        : []
    ).toEqual([])
  }, 120_000)
})
