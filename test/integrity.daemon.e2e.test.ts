/**
 * A rewritten realm history with the real daemon running: after `blue realm admin reindex`, the daemon publishes
 * the branch's new events on its feed again (it had published the old, longer history's positions).
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket } from "ws"
import { BLUE_BIN, freePort, git, makeWorkspace, type Workspace } from "./support/workspace.js"

const workspaces: Array<Workspace> = []
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const REALM = "realm-letemcook"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("the daemon and a rewritten history", () => {
  it("publishes the events written after reindex", async () => {
    const ws = makeWorkspace("blue-integrity-daemon")
    workspaces.push(ws)
    const port = await freePort()
    // Commands find the running daemon (and tell it of each append) through these.
    const env = { ...ws.env, BLUE_DAEMON_PORT: String(port), XDG_RUNTIME_DIR: ws.path("run") }
    const cli = (cwd: string, ...args: Array<string>) => {
      const r = spawnSync(process.execPath, [BLUE_BIN, ...args], { cwd: ws.path(cwd), env, encoding: "utf8" })
      if (r.status !== 0) throw new Error(`${args.join(" ")}: exit ${r.status}\n${r.stderr}`)
      return r
    }
    cli(".", "realm", "admin", "init", "--name", "letemcook")
    for (const repo of ["aperture", "fungal"]) {
      ws.repo(repo)
      cli(repo, "realm", "admin", "join", `../${REALM}`)
    }
    const daemon = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], { env, stdio: "ignore" })
    cleanups.push(async () => {
      const exited = new Promise((r) => daemon.on("exit", r))
      daemon.kill("SIGTERM")
      await exited
    })
    const deadline = Date.now() + 10_000
    while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error("the daemon did not answer /health")
      await sleep(50)
    }
    const token = fs.readFileSync(path.join(ws.home, "daemon.token"), "utf8").trim()
    const socket = new WebSocket(`ws://127.0.0.1:${port}/feed`, { headers: { authorization: `Bearer ${token}` } })
    const messages: Array<any> = []
    socket.on("message", (d) => messages.push(JSON.parse(d.toString())))
    cleanups.push(async () => void socket.close())
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject))
    socket.send(JSON.stringify({ type: "subscribe", realm: "letemcook" }))
    const until = async (pred: () => boolean, what: string) => {
      const end = Date.now() + 5000
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`)
        await sleep(50)
      }
    }
    await until(() => messages.some((m) => m.type === "subscribed"), "subscribed")

    git(ws.path(REALM), "reset", "-q", "--hard", "HEAD~1")
    // Until reindex, the API names the rewritten history as a conflict (409), not a server failure.
    const sync = await fetch(`http://127.0.0.1:${port}/realms/letemcook/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` }
    })
    const refused = (await sync.json()) as { error: { _tag: string; message: string } }
    expect([sync.status, refused.error._tag]).toEqual([409, "HistoryRewritten"])
    expect(refused.error.message).toContain("run 'blue realm admin reindex'")
    cli("aperture", "realm", "admin", "reindex")
    ws.repo("third")
    cli("third", "realm", "admin", "join", `../${REALM}`)
    await until(() => messages.some((m) => m.type === "event"), "the new event")
    const events = messages.filter((m) => m.type === "event").map((m) => m.event)
    expect(events.map((e) => [e.position, e.type, e.actor.repo])).toEqual([[3, "RepoJoined", "third"]])
    expect(events[0].commit).toBe(git(ws.path(REALM), "rev-parse", "HEAD").trim())
  }, 60_000)
})
