/**
 * Remote realms end to end (issue 11): a real `git http-backend` on loopback with basic auth, two BLUE_HOMEs playing
 * two machines, the bundled CLI (daemon off, so each command does its own fetch and push). The CLI is always started
 * asynchronously: the server shares this process's event loop.
 */
import Database from "better-sqlite3"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { type GitServer, startGitServer } from "./support/gitServer.js"
import { BLUE_BIN, fingerprint, freePort, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const TOKEN = "s3cret-token-value"

const workspaces: Array<Workspace> = []
const servers: Array<GitServer> = []
const daemons: Array<ChildProcess> = []
afterEach(async () => {
  for (const d of daemons.splice(0)) {
    if (d.exitCode === null && d.signalCode === null) d.kill("SIGKILL")
  }
  for (const s of servers.splice(0)) await s.close()
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const machine = (label: string, token: string | undefined = TOKEN) => {
  const ws = makeWorkspace(`blue-remote-${label}`)
  if (token !== undefined) ws.env["BLUE_REALM_TOKEN"] = token
  workspaces.push(ws)
  return ws
}

const server = async () => {
  const s = await startGitServer({ auth: { token: TOKEN } })
  servers.push(s)
  return s
}

const blue = (ws: Workspace, cwd: string, ...args: Array<string>): Promise<Run> => ws.spawnBlue(cwd, ...args).done

const ok = (r: Run, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

/** One sentence on stderr, no token, non-zero exit. */
const refusedInOneSentence = (r: Run) => {
  expect(r.code).not.toBe(0)
  const text = r.stderr.trim()
  expect(text.split("\n")).toHaveLength(1)
  expect(text).not.toContain(TOKEN)
  expect(r.stdout).not.toContain(TOKEN)
  return text
}

/** The seed's setup across two machines: aperture's home publishes the realm and joins; fungal's home joins. */
const twoMachines = async () => {
  const srv = await server()
  await srv.createBareRepo("letemcook")
  const url = srv.url("letemcook")
  const a = machine("a")
  const b = machine("b")
  a.repo("aperture")
  b.repo("fungal")
  const init = ok(
    await blue(a, ".", "realm", "admin", "init", "--name", "letemcook", "--remote", url, "--json"),
    "init"
  )
  expect(init.json()).toMatchObject({ realm: "letemcook", path: path.join(a.home, "realms", "letemcook") })
  ok(await blue(a, "aperture", "realm", "admin", "join", url, "--json"), "join aperture")
  ok(await blue(b, "fungal", "realm", "join", url, "--json"), "join fungal")
  return { srv, url, a, b }
}

const logOf = async (
  ws: Workspace,
  cwd: string
) => (ok(await blue(ws, cwd, "realm", "log", "--json"), "log").json() as any)

describe("remote realms", () => {
  it("two machines share one realm on a git server", async () => {
    const { a, b, srv, url } = await twoMachines()
    // The realm is on the server, and each machine has its managed clone.
    expect((await srv.refs("letemcook")).get("refs/heads/main")).toMatch(/^[0-9a-f]{40}$/)
    expect(fs.existsSync(path.join(b.home, "realms", "letemcook", "realm.yaml"))).toBe(true)
    const config = YAML.parse(fs.readFileSync(path.join(b.path("fungal"), ".blue", "config.yaml"), "utf8"))
    expect(config).toEqual({ realm: { name: "letemcook", url }, repo: "fungal" })
    // A domain created on one machine (which has not seen fungal join yet) is seen on the other.
    ok(
      await blue(a, "aperture", "realm", "admin", "domain", "create", "s3-access", "--repos", "aperture,fungal"),
      "domain"
    )
    // fungal's machine has not fetched since it joined: its clone lacks the domain, so the same command decides
    // there, loses the race on push, fetches, is decided again against the server's state, and is refused.
    const headBefore = (await srv.refs("letemcook")).get("refs/heads/main")
    const lost = await blue(
      b,
      "fungal",
      "realm",
      "admin",
      "domain",
      "create",
      "s3-access",
      "--repos",
      "aperture,fungal"
    )
    expect(refusedInOneSentence(lost)).toMatch(/s3-access/)
    expect((await srv.refs("letemcook")).get("refs/heads/main")).toBe(headBefore)
    b.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
    const fromB = await logOf(b, "fungal")
    const fromA = await logOf(a, "aperture")
    expect(JSON.stringify(fromB)).toContain("s3-access")
    expect(fromB).toEqual(fromA)
    for (const [ws, cwd] of [[a, "aperture"], [b, "fungal"]] as const) {
      const v = ok(await blue(ws, cwd, "realm", "replay", "--verify", "--json"), "replay").json()
      expect(v.differences ?? []).toEqual([])
    }
    expect(await srv.git("letemcook", "fsck", "--strict")).toBeDefined()

    // status names the remote and when it last answered; offline, reads still work from the clone and say so.
    const status = ok(await blue(b, "fungal", "realm", "status", "--json"), "status").json()
    expect(status.remote).toMatchObject({ url, reachable: true })
    servers.splice(servers.indexOf(srv), 1)
    await srv.close()
    const offline = ok(await blue(b, "fungal", "realm", "status"), "offline status")
    expect(offline.stdout).toMatch(/Remote: .* not reachable at the last try .* showing the clone as synced/)
    expect(JSON.stringify(await logOf(b, "fungal"))).toContain("s3-access")
  }, 180_000)

  it("another machine's daemon fetches and ingests a change within its poll", async () => {
    const { a, b, srv } = await twoMachines()
    const xdg = b.path("xdg")
    fs.mkdirSync(xdg, { mode: 0o700 })
    const port = await freePort()
    const daemon = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], {
      cwd: b.root,
      env: { ...b.env, XDG_RUNTIME_DIR: xdg, BLUE_DAEMON_PORT: String(port), BLUE_REALM_SYNC_INTERVAL_MS: "250" }
    })
    daemons.push(daemon)
    let out = ""
    daemon.stdout!.on("data", (d) => (out += d))
    const until = async (what: string, check: () => boolean, ms: number) => {
      const end = Date.now() + ms
      while (!check()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    await until("the daemon to listen", () => out.includes("\n"), 30_000)
    ok(
      await blue(a, "aperture", "realm", "admin", "domain", "create", "s3-access", "--repos", "aperture,fungal"),
      "domain"
    )
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

  it("writes from two machines at once land exactly once, in one linear history", async () => {
    const { a, b, srv } = await twoMachines()
    ok(
      await blue(a, "aperture", "realm", "admin", "domain", "create", "s3-access", "--repos", "aperture,fungal"),
      "domain"
    )
    a.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
    b.env["BLUE_REALM_SYNC_INTERVAL_MS"] = "0"
    const N = 10
    const runs = await Promise.all([
      ...Array.from(
        { length: N },
        (_, i) => blue(a, "aperture", "realm", "admin", "domain", "create", `a-${i}`, "--repos", "aperture,fungal")
      ),
      ...Array.from(
        { length: N },
        (_, i) => blue(b, "fungal", "realm", "admin", "domain", "create", `b-${i}`, "--repos", "aperture,fungal")
      )
    ])
    runs.forEach((r, i) => ok(r, `write ${i}`))
    const history = (await srv.git("letemcook", "log", "--format=%H %P %s", "main")).trim().split("\n")
    // Linear: every commit has at most one parent.
    for (const line of history) expect(line.split(" ").filter((w) => /^[0-9a-f]{40}$/.test(w)).length).toBeLessThan(3)
    for (const side of ["a", "b"]) {
      for (let i = 0; i < N; i++) {
        expect(history.filter((l) => l.includes(`Create domain ${side}-${i} `))).toHaveLength(1)
      }
    }
    const fromA = await logOf(a, "aperture")
    const fromB = await logOf(b, "fungal")
    expect(fromB).toEqual(fromA)
    for (const [ws, cwd] of [[a, "aperture"], [b, "fungal"]] as const) {
      const v = ok(await blue(ws, cwd, "realm", "replay", "--verify", "--json"), "replay").json()
      expect(v.differences ?? []).toEqual([])
    }
  }, 240_000)

  it("refuses bad remotes in one sentence and writes nothing", async () => {
    const srv = await server()
    await srv.createBareRepo("empty")
    await srv.createBareRepo("taken")
    const a = machine("a")
    ok(await blue(a, ".", "realm", "admin", "init", "--name", "taken", "--remote", srv.url("taken")), "init taken")
    const b = machine("b")
    b.repo("fungal")
    const before = fingerprint(b.root)

    // A non-empty repo for init --remote.
    const nonEmpty = refusedInOneSentence(
      await blue(b, ".", "realm", "admin", "init", "--name", "other", "--remote", srv.url("taken"))
    )
    expect(nonEmpty).toMatch(/is not empty/)
    // A repo that is not a realm.
    expect(refusedInOneSentence(await blue(b, "fungal", "realm", "admin", "join", srv.url("empty"))))
      .toMatch(/is not a Blue realm/)
    // A wrong token.
    b.env["BLUE_REALM_TOKEN"] = "wrong-token"
    expect(refusedInOneSentence(await blue(b, "fungal", "realm", "admin", "join", srv.url("taken"))))
      .toMatch(/refused the credential|denied/)
    expect(refusedInOneSentence(
      await blue(b, ".", "realm", "admin", "init", "--name", "x", "--remote", srv.url("empty"))
    )).toMatch(/refused the credential|denied/)
    // An unreachable server.
    b.env["BLUE_REALM_TOKEN"] = TOKEN
    const dead = `http://127.0.0.1:1/nothing.git`
    expect(refusedInOneSentence(await blue(b, "fungal", "realm", "admin", "join", dead))).toMatch(/cannot be reached/)
    // A URL given as --path.
    expect(refusedInOneSentence(await blue(b, ".", "realm", "admin", "init", "--name", "y", "--path", srv.url("x"))))
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
