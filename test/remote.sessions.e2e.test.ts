/**
 * Sessions across machines on a remote realm (issue 11): each machine's daemon publishes its live sessions on the
 * branch `blue/sessions/<machine>` of the realm's git server (compare-and-swap pushes, debounced), and the other
 * machines' daemons fetch those branches. A real `git http-backend` on loopback with basic auth, two BLUE_HOMEs with
 * their own daemons. Everything is started asynchronously: the server shares this process's event loop.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterEach, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { blue, type CallableDaemon, ok, sessionsRoom, sleep, untilValue } from "./support/remoteMachines.js"

const TOKEN = "s3cret-token-value"
const SYNC_MS = 500
const execFileAsync = promisify(execFile)

const sessions = sessionsRoom("blue-rsess", TOKEN, SYNC_MS)
const { agentProcess, room, startDaemon, startSession, twoMachines } = sessions
afterEach(() => sessions.release())

const until = untilValue
type Daemon = CallableDaemon

/** The other machines' sessions B's daemon lists (`machines` of GET /sessions), as B's CLI reads them. */
const remoteOn = async (d: Daemon) => {
  const r = await d.call("GET", "/sessions?realm=letemcook")
  expect(r.status).toBe(200)
  return (r.json.machines as Array<any>).flatMap((m) =>
    (m.snapshot?.sessions ?? []).map((s: any) => ({ ...s, machine: m.machine, updated_at: m.updated_at }))
  )
}

const gitIn = async (dir: string, ...args: Array<string>) =>
  (await execFileAsync("git", args, { cwd: dir, env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" } })).stdout

describe("sessions on a remote realm", () => {
  it("A's session shows on B within the poll interval + 1 s, goes when it ends, and never touches main", async () => {
    const { a, b, srv } = await twoMachines()
    const [onA, onB] = await Promise.all([startDaemon(a), startDaemon(b)])
    const machineA = (await onA.call("GET", "/sessions")).json.machine as string
    const machineB = (await onB.call("GET", "/sessions")).json.machine as string
    expect(machineA).toMatch(/^[a-z0-9-]+-[0-9a-f]{8}$/)
    expect(machineB).not.toBe(machineA)
    const agent = agentProcess()

    const t0 = Date.now()
    const session = await startSession(onA, agent.pid!)
    const seen = await until("A's session on B", async () => {
      const list = await remoteOn(onB)
      return list.find((s) => s.id === session.id)
    }, 30_000)
    const elapsed = Date.now() - t0
    console.log(`A's session listed by B's daemon ${elapsed} ms after it started (sync ${SYNC_MS} ms)`)
    expect(seen).toMatchObject({ repo: "aperture", client_id: "mcp", pid: agent.pid, machine: machineA })
    expect(elapsed).toBeLessThanOrEqual(SYNC_MS + 1000)

    // B's CLI: `realm sessions` marks it remote with A's machine; `status` names the machine and its age.
    const listed = ok(await blue(b, "fungal", "realm", "sessions", "--json"), "sessions --json").json()
    expect(listed.remote).toEqual([
      expect.objectContaining({
        id: session.id,
        repo: "aperture",
        machine: machineA,
        seen_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/)
      })
    ])
    const table = ok(await blue(b, "fungal", "realm", "sessions"), "sessions").stdout
    expect(table).toMatch(/MACHINE\s+SEEN/)
    expect(table).toMatch(new RegExp(`aperture \\(remote\\)\\s+mcp\\s+${agent.pid}\\s.*${machineA}\\s+\\d+s ago`))
    const status = ok(await blue(b, "fungal", "status", "--json"), "status --json").json()
    expect(status.sessions).toEqual([
      expect.objectContaining({ repo: "aperture", machine: machineA, active_rfc: "training-metrics-v2", you: false })
    ])
    expect(ok(await blue(b, "fungal", "status"), "status").stdout).toContain(
      `  • aperture - working on training-metrics-v2 (mcp, pid ${agent.pid}, since just now, on ${machineA}, ` +
        "seen just now)"
    )

    // The session ends on A: B stops listing it within the poll interval + 1 s.
    const t1 = Date.now()
    expect((await onA.call("DELETE", `/sessions/${session.id}`)).status).toBe(200)
    await until("the ended session to leave B", async () => {
      const list = await remoteOn(onB)
      return list.some((s) => s.id === session.id) ? undefined : true
    }, 30_000)
    const gone = Date.now() - t1
    console.log(`A's ended session left B's list ${gone} ms after it ended`)
    expect(gone).toBeLessThanOrEqual(SYNC_MS + 1000)

    // The branch lives beside main on the server, never on it.
    const refs = await srv.refs("letemcook")
    expect(refs.get(`refs/heads/blue/sessions/${machineA}`)).toMatch(/^[0-9a-f]{40}$/)
    const bare = path.join(srv.root, "letemcook.git")
    expect(
      (await gitIn(bare, "ls-tree", "-r", "--name-only", "main")).split("\n").filter((f) => f.startsWith("sessions/"))
    )
      .toEqual([])
    expect(await gitIn(bare, "log", "--format=%ae", "main")).not.toContain("@blue.sessions")
    const snapshot = YAML.parse(await gitIn(bare, "show", `blue/sessions/${machineA}:sessions/${machineA}.yaml`))
    expect(snapshot).toMatchObject({ machine: machineA, sessions: [] })
    // … nor in the realm's log or replay, on either machine.
    for (const [ws, cwd] of [[a, "aperture"], [b, "fungal"]] as const) {
      const log = ok(await blue(ws, cwd, "realm", "log", "--json"), "log").json()
      expect(JSON.stringify(log)).not.toMatch(/Session(Started|Ended)/)
      ok(await blue(ws, cwd, "realm", "replay", "--verify"), "replay --verify")
    }
  }, 180_000)

  it("a refused push (someone else moved the branch) is rebuilt on the server's branch and pushed again", async () => {
    const { a, b, srv, url } = await twoMachines()
    const onA = await startDaemon(a)
    const machineA = (await onA.call("GET", "/sessions")).json.machine as string
    const agent = agentProcess()
    const first = await startSession(onA, agent.pid!, "one")
    const branch = `refs/heads/blue/sessions/${machineA}`
    const pushed = await until("A's first push", async () => (await srv.refs("letemcook")).get(branch), 30_000)
    // Another writer moves A's branch on the server (a copy of A's BLUE_HOME elsewhere, say): one commit on top.
    const other = b.path("foreign")
    await gitIn(
      b.root,
      "clone",
      "-q",
      "--branch",
      `blue/sessions/${machineA}`,
      url.replace("http://", `http://blue:${TOKEN}@`),
      other
    )
    fs.writeFileSync(path.join(other, "foreign.txt"), "written elsewhere\n")
    await gitIn(other, "add", "foreign.txt")
    await gitIn(other, "-c", "user.name=X", "-c", "user.email=x@example.com", "commit", "-qm", "foreign")
    await gitIn(other, "push", "-q", "origin", `HEAD:${branch}`)
    const foreign = (await srv.refs("letemcook")).get(branch)!
    expect(foreign).not.toBe(pushed)
    // A's next change is refused by compare-and-swap, fetched, rebuilt on the foreign commit and pushed.
    const second = await startSession(onA, agent.pid!, "two")
    const head = await until("A's rebuilt push", async () => {
      const h = (await srv.refs("letemcook")).get(branch)
      return h !== undefined && h !== foreign ? h : undefined
    }, 30_000)
    const bare = path.join(srv.root, "letemcook.git")
    await gitIn(bare, "merge-base", "--is-ancestor", foreign, head)
    const snapshot = YAML.parse(await gitIn(bare, "show", `${head}:sessions/${machineA}.yaml`))
    expect(snapshot.sessions.map((s: any) => s.id).sort()).toEqual([first.id, second.id].sort())
    expect(await gitIn(bare, "show", `${head}:foreign.txt`)).toBe("written elsewhere\n")
    await gitIn(bare, "fsck", "--strict")
  }, 180_000)

  it(
    "a long sessions branch starts again from one root commit, pushed over the server's; B still lists A's session",
    async () => {
      const { a, b, srv } = await twoMachines()
      const TTL = 1500
      // A refreshes every TTL/3 (500 ms), pushes at once, and compacts its branch once it holds 6 commits.
      const fast = {
        BLUE_SESSIONS_TTL_MS: String(TTL),
        BLUE_SESSIONS_PUSH_INTERVAL_MS: "0",
        BLUE_SESSIONS_COMPACT_AT: "6"
      }
      const [onA, onB] = await Promise.all([
        startDaemon(a, fast),
        startDaemon(b, { BLUE_SESSIONS_TTL_MS: String(TTL) })
      ])
      const machineA = (await onA.call("GET", "/sessions")).json.machine as string
      const bare = path.join(srv.root, "letemcook.git")
      const mainBefore = (await srv.refs("letemcook")).get("refs/heads/main")
      const branch = `refs/heads/blue/sessions/${machineA}`
      const commits = async () => {
        const h = (await srv.refs("letemcook")).get(branch)
        return h === undefined ? 0 : Number(await gitIn(bare, "rev-list", "--count", h))
      }
      const agent = agentProcess()
      const session = await startSession(onA, agent.pid!, "one")
      const longest = await until("A's branch growing to 5 commits", async () => {
        const n = await commits()
        return n >= 5 ? n : undefined
      }, 60_000)
      await until("A's branch compacted on the server", async () => {
        const n = await commits()
        return n >= 1 && n < longest ? n : undefined
      }, 60_000)
      const head = (await srv.refs("letemcook")).get(branch)!
      const root = (await gitIn(bare, "rev-list", "--max-parents=0", head)).trim()
      expect((await gitIn(bare, "log", "-1", "--format=%s", root)).trim()).toMatch(
        /: sessions \(history of \d+ commits compacted\)$/
      )
      const snapshot = YAML.parse(await gitIn(bare, "show", `${head}:sessions/${machineA}.yaml`))
      expect(snapshot.sessions.map((x: any) => x.id)).toEqual([session.id])
      await gitIn(bare, "fsck", "--strict")
      // B's fetch follows the replaced branch, and B still lists A's session.
      const bClone = path.join(b.home, "realms", "letemcook")
      await until("B's copy of A's branch on the compacted history", async () => {
        const theirs = await gitIn(
          bClone,
          "rev-parse",
          "-q",
          "--verify",
          `refs/remotes/origin/blue/sessions/${machineA}`
        )
          .catch(() => "")
        if (theirs === "") return undefined
        // (a fetch in flight writes the ref before its objects: "bad object" until they are in)
        const roots = (await gitIn(bClone, "rev-list", "--max-parents=0", theirs.trim()).catch(() => "")).trim()
        if (roots === "") return undefined
        // this root, or a later one (A compacts again every few seconds here)
        const subject = (await gitIn(bClone, "log", "-1", "--format=%s", roots)).trim()
        return roots === root || / compacted\)$/.test(subject) ? true : undefined
      }, 30_000)
      // (polled: on a loaded machine a snapshot may pass its TTL between two refreshes and hide for a moment)
      await until("B listing A's session", async () => {
        const listed = (await remoteOn(onB)).map((x) => [x.machine, x.id])
        return JSON.stringify(listed) === JSON.stringify([[machineA, session.id]]) ? true : undefined
      }, 30_000)
      // main is untouched
      expect((await srv.refs("letemcook")).get("refs/heads/main")).toBe(mainBefore)
    },
    180_000
  )

  it("kill -9 of A's daemon leaves the branch valid; B hides A's sessions once they are stale", async () => {
    const { a, b, srv } = await twoMachines()
    const TTL = 3000
    // A refreshes every TTL/3 (1 s) and pushes as soon as it can: many pushes for the kill to land among.
    const fast = { BLUE_SESSIONS_TTL_MS: String(TTL), BLUE_SESSIONS_PUSH_INTERVAL_MS: "0" }
    const [onA, onB] = await Promise.all([startDaemon(a, fast), startDaemon(b, { BLUE_SESSIONS_TTL_MS: String(TTL) })])
    const machineA = (await onA.call("GET", "/sessions")).json.machine as string
    const agent = agentProcess()
    const session = await startSession(onA, agent.pid!)
    await until("A's session on B", async () => (await remoteOn(onB)).find((s) => s.id === session.id), 30_000)
    // Refreshed, it stays listed past its TTL while A runs.
    await sleep(TTL + 1500)
    expect((await remoteOn(onB)).map((s) => s.id)).toContain(session.id)
    // Session churn keeps A committing and pushing; SIGKILL lands in the middle of it.
    const churn = (async () => {
      for (let i = 0; i < 40; i++) {
        const s = await startSession(onA, agent.pid!, `churn-${i}`).catch(() => undefined)
        if (s === undefined) return
        await onA.call("DELETE", `/sessions/${s.id}`).catch(() => undefined)
      }
    })()
    await sleep(700 + Math.floor(Math.random() * 400))
    onA.child.kill("SIGKILL")
    await churn
    if (onA.child.exitCode === null && onA.child.signalCode === null) {
      await new Promise((r) => onA.child.once("exit", r))
    }
    // The server's branch is whole: it resolves, its snapshot parses, and the repo checks clean.
    const bare = path.join(srv.root, "letemcook.git")
    await gitIn(bare, "fsck", "--strict")
    const snapshot = YAML.parse(await gitIn(bare, "show", `blue/sessions/${machineA}:sessions/${machineA}.yaml`))
    expect(snapshot.machine).toBe(machineA)
    // A stopped publishing: B hides its sessions once the snapshot is older than the TTL.
    const t = Date.now()
    await until("A's stale sessions to be hidden on B", async () => {
      const list = await remoteOn(onB)
      return list.some((s) => s.machine === machineA) ? undefined : true
    }, TTL + 10_000)
    console.log(`A's sessions hidden on B ${Date.now() - t} ms after A's daemon was killed (TTL ${TTL} ms)`)
    const status = ok(await blue(b, "fungal", "status", "--json"), "status").json()
    expect(status.sessions.filter((s: any) => s.machine === machineA)).toEqual([])

    // A's daemon comes back: the session (its agent still alive) is published again, on top of the same branch.
    const before = (await srv.refs("letemcook")).get(`refs/heads/blue/sessions/${machineA}`)!
    const again = await startDaemon(a, fast)
    await until("A's session on B again", async () => (await remoteOn(onB)).find((s) => s.id === session.id), 30_000)
    const after = (await srv.refs("letemcook")).get(`refs/heads/blue/sessions/${machineA}`)!
    await gitIn(bare, "merge-base", "--is-ancestor", before, after)
    await gitIn(bare, "fsck", "--strict")
    again.child.kill("SIGTERM")
  }, 180_000)

  it("a command on a remote realm exits once done, whatever the server's keep-alive timeout", async () => {
    // A server that keeps idle connections open for a minute (nginx's default is 75 s): a kept-alive socket whose
    // response isomorphic-git left unread used to hold the CLI until the server dropped it.
    const srv = await room.server({ keepAliveTimeoutMs: 60_000 })
    await srv.createBareRepo("letemcook")
    const a = room.machine("ka")
    a.repo("aperture")
    for (
      const [cwd, args] of [
        [".", ["realm", "admin", "init", "--name", "letemcook", "--remote", srv.url("letemcook")]],
        ["aperture", ["realm", "admin", "join", srv.url("letemcook")]],
        ["aperture", ["realm", "admin", "domain", "create", "s3-access", "--repos", "aperture,fungal"]]
      ] as const
    ) {
      const t = Date.now()
      ok(await blue(a, cwd, ...args), args.join(" "))
      expect(Date.now() - t).toBeLessThan(20_000)
    }
  }, 120_000)
})
