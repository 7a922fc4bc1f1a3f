/**
 * Remote realms when the server misbehaves (issue 11), through the real `blue` binary with several BLUE_HOMEs: a
 * wrong token (401) or a denied one (403), a 5xx, a server that takes a push and never answers, a server that goes
 * away mid-push, an unreachable URL, a repo that is not a realm. Each is one clear sentence and a non-zero exit, the
 * token is never printed (human or --json), and nothing is written: the managed clone's HEAD, refs and files,
 * daemon.db's events and the server's refs are what they were. Offline, reads answer from the clone and say how old
 * it is. The CLI is always started asynchronously: the server shares this process's event loop.
 */
import Database from "better-sqlite3"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import type { GitServer, GitServerOptions } from "./support/gitServer.js"
import {
  blue,
  cloneOf,
  createDomain,
  exportArgs,
  gitAsync,
  ok,
  refusedInOneSentence,
  remoteMachines,
  twoMachinesOn
} from "./support/remoteMachines.js"
import { fingerprint, type Run, type Workspace } from "./support/workspace.js"

const TOKEN = "s3cret-token-value"
const WRONG = "wrong-token-4711"

const room = remoteMachines("blue-badremote", TOKEN)
afterEach(() => room.release())

/** One sentence on stderr, non-zero exit, no token anywhere; returns the sentence. */
const oneSentence = (r: Run) => refusedInOneSentence(r, TOKEN, WRONG)

/** The same with --json: one JSON document naming the error, no token in it, nothing on stderr beyond it. */
const jsonRefusal = (r: Run) => {
  expect(r.code).not.toBe(0)
  for (const secret of [TOKEN, WRONG]) {
    expect(r.stdout).not.toContain(secret)
    expect(r.stderr).not.toContain(secret)
  }
  return r.json().error as { _tag: string; message: string }
}

const gitOut = async (cwd: string, ...args: Array<string>) => (await gitAsync(cwd, ...args)).trim()

/** What a failed write must leave as it was on one machine: the clone's HEAD, refs and files, daemon.db's events. */
const snapshot = async (ws: Workspace, realm: string) => {
  const dir = cloneOf(ws, realm)
  const files = [...fingerprint(dir)].filter(([f]) => !f.startsWith(".git/")).sort()
  const db = new Database(path.join(ws.home, "daemon.db"), { readonly: true })
  let events: unknown
  try {
    events = db.prepare("SELECT count(*) AS n, max(position) AS top FROM events").get()
  } finally {
    db.close()
  }
  return {
    head: fs.readFileSync(path.join(dir, ".git", "HEAD"), "utf8"),
    refs: await gitOut(dir, "for-each-ref", "--format=%(refname) %(objectname)"),
    files,
    events
  }
}

/**
 * Two machines on one realm: aperture's home publishes it and exports a contract, fungal's home joins. Reads and
 * writes skip the freshness fetch (a long interval) unless a case asks for one, so the push itself meets the fault.
 */
const twoMachines = async () => {
  // A server on a root the test keeps, so it can be stopped and started again on the same port (the same URL).
  const root = room.tempDir("srv")
  let srv = await room.server({ root })
  await srv.createBareRepo("letemcook")
  const url = srv.url("letemcook")
  const { a, b } = await twoMachinesOn(room, url)
  ok(await createDomain(a, "aperture", "s3-access", "--contract", "s3-permissions"), "domain")
  ok(await blue(a, "aperture", ...exportArgs({ read: ["a/*"] })), "v1")
  b.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
  ok(await blue(b, "fungal", "realm", "status"), "fungal's machine syncs")
  for (const ws of [a, b]) ws.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "600000"
  const restart = async (options: Omit<GitServerOptions, "root" | "port"> = {}) => {
    const port = srv.port
    await room.stop(srv)
    srv = await room.server({ root, port, ...options })
    return srv
  }
  return { a, b, url, root, server: () => srv, restart }
}

/** How many events on the server's main record the export of value number `n` (each event file read with git). */
const bumpsOnServer = async (srv: GitServer, n: number) => {
  const listing = (await srv.git("letemcook", "ls-tree", "-r", "main", "--", "events")).trim().split("\n")
  let count = 0
  for (const line of listing.filter((l) => l !== "")) {
    const json = JSON.parse(await srv.git("letemcook", "cat-file", "blob", line.split(/\s+/)[2]))
    // With an importer, an export opens (or amends) a proposal: the value travels in `proposed`.
    const value = json.event?.contract?.value ?? json.event?.proposed?.value ?? null
    if (JSON.stringify(value).includes(`"n${n}/*"`)) count++
  }
  return count
}

let value = 1
/** aperture's export of a new value: a write that pushes. */
const exportNext = (a: Workspace, ...extra: Array<string>) =>
  blue(a, "aperture", ...exportArgs({ read: ["a/*", `n${++value}/*`] }), ...extra)

describe("a write to a remote realm the server does not take", () => {
  it(
    "401, 403, 5xx, a hang, a server gone mid-push: one sentence, no token, nothing written; a re-run lands once",
    async () => {
      const { a, restart, server } = await twoMachines()
      const remoteRefs = async () => [...(await server().refs("letemcook"))].sort()

      const refused = async (
        what: string,
        run: () => Promise<Run>,
        expected: RegExp,
        json: boolean
      ) => {
        const before = await snapshot(a, "letemcook")
        const serverBefore = await remoteRefs()
        const r = await run()
        if (json) expect(jsonRefusal(r).message, what).toMatch(expected)
        else expect(oneSentence(r), what).toMatch(expected)
        expect(await snapshot(a, "letemcook"), what).toEqual(before)
        expect(await remoteRefs(), what).toEqual(serverBefore)
        return r
      }

      // A wrong token: refused on the push (the clone is fresh: no fetch first) and on a fetch.
      a.env["BLUE_REALM_TOKEN"] = WRONG
      await refused(
        "401 on push",
        () => exportNext(a),
        /refused the credential from BLUE_REALM_TOKEN \(HTTP 401\)/,
        false
      )
      await refused(
        "401 on push, --json",
        () => exportNext(a, "--json"),
        /refused the credential from BLUE_REALM_TOKEN/,
        true
      )
      a.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
      await refused("401 on fetch", () => exportNext(a), /refused the credential/, false)
      a.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "600000"
      a.env["BLUE_REALM_TOKEN"] = TOKEN

      // 403 on the push.
      server().setFault({ kind: "status", status: 403 }, { service: "git-receive-pack" })
      await refused("403", () => exportNext(a), /denied access \(HTTP 403\)/, false)
      server().setFault(undefined)

      // 5xx on the push (the server started again answering 500 to receive-pack).
      await restart({ failReceivePack: 500 })
      await refused("500", () => exportNext(a), /failed with HTTP 500; nothing was changed/, false)
      await refused("500, --json", () => exportNext(a, "--json"), /failed with HTTP 500/, true)

      // A server that takes the push and never answers: bounded by BLUE_REMOTE_TIMEOUT_MS.
      await restart({ hangReceivePack: true })
      a.env["BLUE_REMOTE_TIMEOUT_MS"] = "1500"
      const t0 = Date.now()
      await refused(
        "hang",
        () => exportNext(a),
        /cannot be reached \(no answer for 1\.5 s\); the write may have reached it before that, but nothing was changed here/,
        false
      )
      expect(Date.now() - t0).toBeLessThan(20_000)
      delete a.env["BLUE_REMOTE_TIMEOUT_MS"]

      // The server takes the upload and moves its branch, but the answer is lost (the connection dropped): nothing
      // changed here, the sentence says the write may have landed, and the re-run finds it there and lands nothing new.
      const dropping = await restart()
      dropping.setFault({ kind: "drop", afterBytes: 0 }, { method: "POST", service: "git-receive-pack" }, 1)
      const beforeDrop = await snapshot(a, "letemcook")
      expect(oneSentence(await exportNext(a))).toMatch(
        /cannot be reached \(the connection was dropped\); the write may have reached it/
      )
      expect(await snapshot(a, "letemcook")).toEqual(beforeDrop)
      const dropped = JSON.stringify({ read: ["a/*", `n${value}/*`] })
      ok(await blue(a, "aperture", "realm", "export", "--name", "s3-permissions", "--value", dropped), "re-run")
      expect(await bumpsOnServer(dropping, value)).toBe(1)

      // The server goes away while the push is in flight (its upload held, then the server closed).
      let srv = await restart()
      const held = srv.hold({ method: "POST", service: "git-receive-pack" })
      const before = await snapshot(a, "letemcook")
      const serverBefore = await remoteRefs()
      const inFlight = exportNext(a)
      await held.arrived
      await room.stop(srv)
      expect(oneSentence(await inFlight)).toMatch(
        /cannot be reached \((the connection was dropped|connection refused)\)/
      )
      expect(await snapshot(a, "letemcook")).toEqual(before)
      // Still down: a write says the remote cannot be reached and changes nothing.
      await refused("down", () => exportNext(a), /cannot be reached \(connection refused\)/, false)
      srv = await restart()
      expect([...(await srv.refs("letemcook"))].sort()).toEqual(serverBefore)

      // Back up: the same write lands, once.
      const last = JSON.stringify({ read: ["a/*", `n${value}/*`] })
      ok(await blue(a, "aperture", "realm", "export", "--name", "s3-permissions", "--value", last), "re-run")
      expect(await bumpsOnServer(srv, value)).toBe(1)
      await srv.git("letemcook", "fsck", "--strict")
      await gitOut(cloneOf(a, "letemcook"), "fsck", "--full")
      ok(await blue(a, "aperture", "realm", "replay", "--verify"), "replay --verify")
    },
    240_000
  )

  it(
    "offline: reads answer from the clone and say how old it is; a write says the remote cannot be reached",
    async () => {
      const { a, b, server } = await twoMachines()
      const srv = server()
      await room.stop(srv)
      b.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
      const before = await snapshot(b, "letemcook")
      const status = ok(await blue(b, "fungal", "realm", "status"), "offline status")
      expect(status.stdout).toMatch(/not reachable at the last try .*showing the clone as synced/)
      const statusJson = ok(await blue(b, "fungal", "realm", "status", "--json"), "offline status --json").json()
      expect(statusJson.remote).toMatchObject({ reachable: false })
      expect(statusJson.remote.lastOkAt).toMatch(/^\d{4}-/)
      const logRun = ok(await blue(b, "fungal", "realm", "log", "--json"), "offline log")
      expect(JSON.stringify(logRun.json())).toContain("s3-permissions")
      // Any other read says on stderr that it answers from this machine's copy, and how old it is.
      expect(logRun.stderr).toMatch(
        /cannot be reached.*answering from this machine's copy of realm 'letemcook', last synced /
      )
      expect(status.stderr).not.toMatch(/answering from this machine's copy/)
      // A write: one sentence, nothing changed (the sync record aside, which is not part of the snapshot).
      const w = await blue(b, "fungal", "realm", "admin", "domain", "create", "offline-domain", "--repos", "fungal")
      expect(oneSentence(w)).toMatch(/cannot be reached \(connection refused\); nothing was changed/)
      expect(await snapshot(b, "letemcook")).toEqual(before)
      // And on the writer's machine with a fresh clone (no fetch first): the push says the same.
      const aBefore = await snapshot(a, "letemcook")
      expect(oneSentence(await exportNext(a))).toMatch(/cannot be reached \(connection refused\)/)
      expect(await snapshot(a, "letemcook")).toEqual(aBefore)
    },
    180_000
  )
})

describe("joining or publishing against a bad remote", () => {
  it(
    "wrong token, unreachable, not a realm, empty, 5xx, a hang, non-empty for init: one sentence, nothing anywhere",
    async () => {
      const { root, server, url, restart } = await twoMachines()
      let srv = server()
      // A git repo with a main branch but no realm.yaml.
      await srv.createBareRepo("plain")
      const work = room.tempDir("plain")
      await gitOut(work, "init", "-q", "-b", "main")
      fs.writeFileSync(path.join(work, "README.md"), "# not a realm\n")
      await gitOut(work, "add", "README.md")
      await gitOut(work, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "-m", "one")
      await gitOut(work, "push", "-q", path.join(root, "plain.git"), "main")
      await srv.createBareRepo("empty")

      const c = room.machine("c")
      c.repo("ml-infra")
      const serverState = async () => {
        const out: Record<string, Array<[string, string]>> = {}
        for (const repo of ["letemcook", "plain", "empty"]) out[repo] = [...(await server().refs(repo))].sort()
        return out
      }
      const before = fingerprint(c.root)
      const serverBefore = await serverState()
      const cases: Array<[string, () => Promise<Run>, RegExp]> = []
      const join = (u: string, ...extra: Array<string>) => () => blue(c, "ml-infra", "realm", "join", u, ...extra)
      const init = (u: string, ...extra: Array<string>) => () =>
        blue(c, ".", "realm", "admin", "init", "--name", "other", "--remote", u, ...extra)
      cases.push([
        "not a realm (no realm.yaml)",
        join(srv.url("plain")),
        /is not a Blue realm: its main branch has no realm\.yaml/
      ])
      cases.push(["not a realm (empty)", join(srv.url("empty")), /is not a Blue realm: the repo is empty/])
      cases.push(["no repo there", join(srv.url("nothing")), /no git repo answers at that URL \(HTTP 404\)/])
      cases.push(["non-empty for init", init(url), /is not empty/])
      cases.push(["unreachable", join("http://127.0.0.1:1/x.git"), /cannot be reached \(connection refused\)/])
      for (const [what, run, expected] of cases) expect(oneSentence(await run()), what).toMatch(expected)
      expect(jsonRefusal(await join(srv.url("plain"), "--json")())._tag).toBe("NotARealm")
      expect(jsonRefusal(await init(url, "--json")())._tag).toBe("RemoteNotEmpty")

      c.env["BLUE_REALM_TOKEN"] = WRONG
      expect(oneSentence(await join(url)())).toMatch(/refused the credential from BLUE_REALM_TOKEN/)
      expect(oneSentence(await init(srv.url("empty"))())).toMatch(/refused the credential/)
      expect(jsonRefusal(await join(url, "--json")())._tag).toBe("RemoteAuthFailed")
      c.env["BLUE_REALM_TOKEN"] = TOKEN

      // 5xx while cloning (the ref listing answers, the pack does not).
      srv.setFault({ kind: "status", status: 503 }, { method: "POST", service: "git-upload-pack" })
      expect(oneSentence(await join(url)())).toMatch(/failed with HTTP 503/)
      srv.setFault(undefined)
      // A hang mid-clone, bounded by BLUE_REMOTE_TIMEOUT_MS.
      srv.setFault({ kind: "hang", afterBytes: 40 }, { method: "POST", service: "git-upload-pack" })
      c.env["BLUE_REMOTE_TIMEOUT_MS"] = "1500"
      expect(oneSentence(await join(url)())).toMatch(/cannot be reached \(no answer for 1\.5 s\)/)
      srv.setFault(undefined)
      // A 5xx on receive-pack for init --remote: nothing published, no clone kept.
      srv = await restart({ failReceivePack: 502 })
      expect(oneSentence(await init(srv.url("empty"))())).toMatch(/failed with HTTP 502/)
      delete c.env["BLUE_REMOTE_TIMEOUT_MS"]

      // Nothing on this machine (BLUE_HOME's own bookkeeping aside), nothing on the server.
      const after = fingerprint(c.root)
      for (const [file, hash] of before) expect(after.get(file), file).toBe(hash)
      const outsideHome = (m: Map<string, string>) => [...m.keys()].filter((f) => !f.startsWith(".blue-home/"))
      expect(outsideHome(after)).toEqual(outsideHome(before))
      const realmsDir = path.join(c.home, "realms")
      expect(fs.existsSync(realmsDir) ? fs.readdirSync(realmsDir) : []).toEqual([])
      expect(await serverState()).toEqual(serverBefore)
    },
    180_000
  )
})
