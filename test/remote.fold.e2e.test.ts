/**
 * Folding queued writes to a remote realm (issue 11): the engine in-process (as the daemon runs it) against a real
 * `git http-backend` on loopback. While one append to a realm is in flight, the commands that arrive for it queue;
 * the next attempt takes them all, decides each against the state the previous one left, and writes one commit,
 * pushed with compare-and-swap. A held push (the server's `hold`) keeps the first write in flight on purpose.
 */
import { Effect, Either, Fiber, Layer, ManagedRuntime } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Credentials, makeCredentials } from "../src/adapters/credentials.js"
import { SqliteEventLogLive } from "../src/adapters/eventLog.js"
import { RealmLockLive } from "../src/adapters/lock.js"
import { RealmGitLive } from "../src/adapters/realmGit.js"
import { RemoteGitLive } from "../src/adapters/remoteGit.js"
import type { Command } from "../src/domain/commands.js"
import { IdsLive } from "../src/engine/ids.js"
import { type Appended, Realms } from "../src/engine/Realms.js"
import { type GitServer, startGitServer } from "./support/gitServer.js"

const TOKEN = "fold-t0ken-loopback"
let server: GitServer
let tmp: string

beforeAll(async () => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-fold-")))
  server = await startGitServer({ auth: { token: TOKEN } })
})
afterAll(async () => {
  await server?.close()
  fs.rmSync(tmp, { recursive: true, force: true })
})

/** One machine: its own daemon.db and clone, the real engine over real git, SQLite and the loopback server. */
const machine = (name: string) => {
  const home = path.join(tmp, name)
  fs.mkdirSync(home, { recursive: true })
  const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, BLUE_REALM_TOKEN: TOKEN }
  const layer = Realms.Default.pipe(
    Layer.provide(Layer.mergeAll(
      SqliteEventLogLive(path.join(home, "daemon.db")),
      RealmGitLive,
      RealmLockLive,
      IdsLive,
      RemoteGitLive({ env, nativeClone: "never" }).pipe(
        Layer.provide(Layer.succeed(Credentials, makeCredentials({ env, home })))
      )
    ))
  )
  const runtime = ManagedRuntime.make(layer)
  const run = <A, E>(f: (r: Realms) => Effect.Effect<A, E>) => runtime.runPromise(Effect.flatMap(Realms, f))
  return { home, runtime, run, dir: path.join(home, "realms", "fold") }
}

const eric = (repo: string) => ({ repo, user: "eric@example.com" })
const domain = (name: string): Command => ({ _tag: "CreateDomain", domain: name, repos: ["aperture", "fungal"] })

/** A remote realm on the server with two members, published by machine `a`. */
const publish = async (repo: string) => {
  await server.createBareRepo(repo)
  const url = server.url(repo)
  const a = machine(`${repo}-a`)
  await a.run((r) => r.initRemote(a.dir, "fold", "open", { user: "eric@example.com" }, url))
  for (const member of ["aperture", "fungal"]) {
    await a.run((r) =>
      r.execute(a.dir, { _tag: "JoinRealm", repo: member, maintainers: ["eric@example.com"] }, eric(member))
    )
  }
  return { url, a }
}

/** The server's main, newest first: each commit's message and the event files it names. */
const serverLog = async (repo: string) =>
  (await server.git(repo, "log", "--format=%H%x00%B%x01", "main")).split("\x01").map((c) => c.trim()).filter((c) =>
    c !== ""
  ).map((c) => {
    const [oid, message] = c.split("\x00") as [string, string]
    return { oid, message, events: message.split("\n").filter((l) => l.startsWith("Blue-Event: ")).length }
  })

/** Runs the commands on machine `m` while its first push is held at the server; `meanwhile` runs before release. */
const withFirstPushHeld = async (
  m: ReturnType<typeof machine>,
  repo: string,
  first: Command,
  queued: ReadonlyArray<Command>,
  meanwhile: () => Promise<void> = async () => {}
) => {
  const held = server.hold({ method: "POST", service: "git-receive-pack", repo })
  const attempt = (c: Command) =>
    m.runtime.runFork(Effect.flatMap(Realms, (r) => Effect.either(r.execute(m.dir, c, eric("aperture")))))
  const head = attempt(first)
  await held.arrived
  const rest = queued.map(attempt)
  // Until every queued command waits in the engine's queue (each reads its realm row first).
  const deadline = Date.now() + 60_000
  while ((await m.run((r) => r.queuedWrites(m.dir))) < queued.length) {
    if (Date.now() > deadline) throw new Error("the queued commands did not reach the write queue")
    await new Promise((r) => setTimeout(r, 20))
  }
  await meanwhile()
  held.release()
  const results: Array<Either.Either<Appended, any>> = []
  for (const f of [head, ...rest]) results.push(await m.runtime.runPromise(Fiber.join(f)))
  return results
}

const right = (e: Either.Either<Appended, any>): Appended => {
  if (Either.isLeft(e)) throw new Error(`refused: ${e.left.message ?? e.left._tag}`)
  return e.right
}

describe("a remote realm's queued writes", () => {
  it("N commands queued behind an append in flight become one commit with N commands' events", async () => {
    const { a } = await publish("fold-n")
    const N = 5
    const results = await withFirstPushHeld(
      a,
      "fold-n",
      domain("d-0"),
      Array.from({ length: N }, (_, i) => domain(`d-${i + 1}`))
    )
    const [first, ...queued] = results.map(right)
    const log = await serverLog("fold-n")
    // The first write alone, then every queued command in the next commit, in one push each.
    expect(log[1]!.oid).toBe(first!.commit)
    expect(log[1]!.events).toBe(first!.events.length)
    expect(new Set(queued.map((q) => q.commit))).toEqual(new Set([log[0]!.oid]))
    expect(log[0]!.events).toBe(queued.reduce((n, q) => n + q.events.length, 0))
    expect(log[0]!.message.split("\n")[0]).toBe(`${N} commands by aperture`)
    for (let i = 1; i <= N; i++) {
      expect(log[0]!.message.split("\n").filter((l) => l.startsWith(`Create domain d-${i} `))).toHaveLength(1)
    }
    // Each command gets its own events (its own causation id) and the state after them.
    const causes = queued.map((q) => new Set(q.events.map((e) => e.causationId)))
    for (const c of causes) expect(c.size).toBe(1)
    expect(new Set(causes.map((c) => [...c][0])).size).toBe(N)
    queued.forEach((q, i) => expect(q.state.domains[`d-${i + 1}`]).toBeDefined())
    for (const r of [first!, ...queued]) expect(r.attempts).toBe(1)
    // Every event once in daemon.db, the clone verified against git.
    const v = await a.run((r) => r.verify(a.dir))
    expect(v.differences).toEqual([])
    expect(v.events).toBe(log.reduce((n, c) => n + c.events, 0))
    await server.git("fold-n", "fsck", "--strict")
    await a.runtime.dispose()
  }, 120_000)

  it("after a lost race, a queued command the new state refuses says so; the others land in one commit", async () => {
    const { a, url } = await publish("fold-race")
    const b = machine("fold-race-b")
    await b.run((r) => r.cloneRemote(url, path.join(b.home, "realms")))
    const results = await withFirstPushHeld(
      a,
      "fold-race",
      domain("mine"),
      [domain("contested"), domain("also-mine")],
      // Another machine creates "contested" first: a's held push will find the server's main moved.
      async () => {
        await b.run((r) => r.execute(b.dir, domain("contested"), eric("fungal")))
      }
    )
    const [mine, contested, alsoMine] = results
    expect(Either.isLeft(contested!)).toBe(true)
    const refusal = (contested as Either.Left<any, Appended>).left
    expect(refusal.message).toMatch(
      /^Realm 'fold': another machine changed the realm first \(the head moved from [0-9a-f]{7} to [0-9a-f]{7}\) and the command is now refused: .*contested/
    )
    expect(refusal.lostRace).toBeDefined()
    const landed = [right(mine!), right(alsoMine!)]
    // Re-decided together after the lost race: one commit on top of the other machine's, carrying both.
    const log = await serverLog("fold-race")
    expect(landed.map((l) => l.commit)).toEqual([log[0]!.oid, log[0]!.oid])
    expect(log[0]!.events).toBe(landed[0]!.events.length + landed[1]!.events.length)
    expect(log[1]!.message).toMatch(/^Create domain contested /)
    expect(landed[0]!.attempts).toBe(2)
    expect(landed[1]!.attempts).toBe(1)
    for (const m of [a, b]) {
      const v = await m.run((r) => r.verify(m.dir))
      expect(v.differences).toEqual([])
    }
    expect((await a.run((r) => r.events(a.dir))).length).toBe(log.reduce((n, c) => n + c.events, 0))
    await a.runtime.dispose()
    await b.runtime.dispose()
  }, 120_000)
})
