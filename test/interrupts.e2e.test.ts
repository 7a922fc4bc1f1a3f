/**
 * Ctrl-C and SIGTERM through the real `blue` binary: a command waiting for the realm's write lock ends within a
 * second with the shell's code for the signal (130 / 143), and leaves realm, repo and daemon.db as they were.
 */
import Database from "better-sqlite3"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { BLUE_BIN, dbFingerprint, fingerprint, makeWorkspace, type Workspace } from "./support/workspace.js"

const workspaces: Array<Workspace> = []
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const REALM = "realm-letemcook"

const setup = () => {
  const ws = makeWorkspace("blue-interrupts")
  workspaces.push(ws)
  const run = (cwd: string, ...args: Array<string>) => {
    const r = ws.blue(cwd, ...args)
    if (r.code !== 0) throw new Error(`${args.join(" ")}: exit ${r.code}\n${r.stderr}`)
  }
  run(".", "realm", "admin", "init", "--name", "letemcook")
  ws.repo("aperture")
  run("aperture", "realm", "admin", "join", `../${REALM}`)
  ws.repo("fungal")
  return ws
}

const state = (ws: Workspace) =>
  JSON.stringify({
    realm: [...fingerprint(ws.path(REALM))].filter(([f]) => f !== ".git/blue-write.lock").sort(),
    fungal: [...fingerprint(ws.path("fungal"))].sort(),
    db: dbFingerprint(ws.home)
  })

/** Holds the realm's write lock, as a long write by another blue process does. */
const holdWriteLock = (ws: Workspace) => {
  const db = new Database(path.join(ws.path(REALM), ".git", "blue-write.lock"), { timeout: 0 })
  db.exec("BEGIN EXCLUSIVE")
  return () => {
    db.exec("ROLLBACK")
    db.close()
  }
}

/** Starts `blue args…` in `cwd`; resolves with its exit code, signal and the time it ended. */
const start = (ws: Workspace, cwd: string, ...args: Array<string>) => {
  const child = spawn(process.execPath, [BLUE_BIN, ...args], {
    cwd: ws.path(cwd),
    env: { ...ws.env, BLUE_LOCK_TIMEOUT_MS: "60000" }
  })
  let stderr = ""
  child.stderr.on("data", (d) => (stderr += d))
  child.stdout.resume()
  const done = new Promise<{ code: number | null; signal: string | null; at: number; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, at: Date.now(), stderr }))
  )
  return { child, done }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("interrupts", () => {
  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)(
    "%s ends a write waiting for the lock within a second, exit %i, nothing written",
    async (signal, code) => {
      const ws = setup()
      const before = state(ws)
      const release = holdWriteLock(ws)
      try {
        const w = start(ws, "fungal", "realm", "admin", "join", `../${REALM}`)
        // Long enough for the command to start and reach the lock (it waits up to 60 s for it).
        await sleep(2500)
        expect(w.child.exitCode).toBe(null)
        const sent = Date.now()
        w.child.kill(signal)
        const r = await w.done
        expect({ code: r.code, signal: r.signal }).toEqual({ code, signal: null })
        expect(r.at - sent).toBeLessThan(1000)
      } finally {
        release()
      }
      expect(state(ws)).toBe(before)
      expect(fs.existsSync(path.join(ws.path("fungal"), ".blue"))).toBe(false)
      // The realm is whole: the same write goes through afterwards.
      const again = ws.blue("fungal", "realm", "admin", "join", `../${REALM}`)
      expect(again.code, again.stderr).toBe(0)
      expect(ws.blue(REALM, "realm", "replay", "--verify").code).toBe(0)
    },
    30_000
  )

  it("SIGINT ends a write waiting for git's index.lock at once, without waiting out the bound", async () => {
    const ws = setup()
    const lock = path.join(ws.path(REALM), ".git", "index.lock")
    fs.writeFileSync(lock, "")
    const before = state(ws)
    const w = start(ws, "fungal", "realm", "admin", "join", `../${REALM}`)
    // Blue waits at most 2 s for a git lock; the signal comes while it waits.
    await sleep(1200)
    const sent = Date.now()
    w.child.kill("SIGINT")
    const r = await w.done
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 130, stderr: "" })
    expect(r.at - sent).toBeLessThan(1000)
    expect(state(ws)).toBe(before)
    expect(fs.existsSync(lock)).toBe(true)
  }, 30_000)

  it("SIGTERM at any early moment of a command never exits 0", async () => {
    const ws = setup()
    const before = state(ws)
    const release = holdWriteLock(ws)
    try {
      for (const delay of [100, 150, 200, 300, 500, 800]) {
        const w = start(ws, "fungal", "realm", "admin", "join", `../${REALM}`)
        await sleep(delay)
        const sent = Date.now()
        w.child.kill("SIGTERM")
        const r = await w.done
        // A signal that arrives while the CLI loads is not lost (it would wait the whole lock timeout).
        expect(r.at - sent, `after ${delay} ms`).toBeLessThan(1500)
        // Before node has run any of blue, the signal's default action ends it (no exit code, signal SIGTERM).
        expect(r.code === 143 || (r.code === null && r.signal === "SIGTERM"), `after ${delay} ms: ${JSON.stringify(r)}`)
          .toBe(true)
      }
    } finally {
      release()
    }
    expect(state(ws)).toBe(before)
  }, 30_000)
})
