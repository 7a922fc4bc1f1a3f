/**
 * Bad input to the real daemon (`blue daemon run` on a free loopback port): request bodies are bounded (413 with
 * one JSON error, nothing recorded) and a session's fields are names, refused one field at a time (400) before
 * anything reaches daemon.db or the realm's `blue/sessions/*` branches.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BLUE_BIN, freePort, makeWorkspace, type Workspace } from "./support/workspace.js"

let ws: Workspace
let daemon: ChildProcess
let port = 0
let token = ""

/** POST /sessions with `body` (a string, sent chunked when `chunked`); resolves with the status and JSON body. */
const post = (body: string, chunked = false) =>
  new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/sessions",
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(chunked ? {} : { "content-length": Buffer.byteLength(body) })
      }
    }, (res) => {
      let data = ""
      res.on("data", (d) => (data += d))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) }))
    })
    req.on("error", reject)
    if (chunked) {
      for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.slice(i, i + 16 * 1024))
      req.end()
    } else req.end(body)
  })

const sessions = async () =>
  ((await (await fetch(`http://127.0.0.1:${port}/sessions`, { headers: { authorization: `Bearer ${token}` } }))
    .json()) as any)
    .sessions as Array<{ id: string; client_id: string }>

const sessionBranches = () =>
  spawnSync("git", ["branch", "--list", "blue/sessions/*"], { cwd: ws.path("realm-letemcook"), encoding: "utf8" })
    .stdout.trim()

beforeAll(async () => {
  ws = makeWorkspace("blue-daemon-input")
  expect(ws.blue(".", "realm", "admin", "init", "--name", "letemcook").code).toBe(0)
  ws.repo("aperture")
  expect(ws.blue("aperture", "realm", "admin", "join", "../realm-letemcook").code).toBe(0)
  port = await freePort()
  daemon = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], {
    env: { ...ws.env, BLUE_DAEMON_PORT: String(port), XDG_RUNTIME_DIR: ws.path("run") },
    stdio: "ignore"
  })
  const deadline = Date.now() + 15_000
  while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error("the daemon did not answer /health")
    await new Promise((r) => setTimeout(r, 50))
  }
  token = fs.readFileSync(path.join(ws.home, "daemon.token"), "utf8").trim()
})

afterAll(async () => {
  if (daemon !== undefined && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.on("exit", r))
    daemon.kill("SIGTERM")
    await exited
  }
  ws?.cleanup()
})

const session = (over: Record<string, unknown>) =>
  JSON.stringify({ repo: "aperture", realm: "letemcook", client_id: "corpus", ...over })

describe("the daemon's request bodies", () => {
  it("refuses a 10 MB session with 413 and one JSON error; nothing is recorded or committed", async () => {
    const r = await post(session({ client_id: "x".repeat(10 * 1024 * 1024) }))
    expect(r.status).toBe(413)
    expect(r.json).toEqual({
      error: { _tag: "PayloadTooLarge", message: "The request body is over the 64 KiB limit of the Blue daemon's API." }
    })
    expect(await sessions()).toEqual([])
  })

  it("refuses a chunked body (no declared length) with 411 without recording it", async () => {
    const r = await post(session({ client_id: "y".repeat(200 * 1024) }), true)
    expect(r.status).toBe(411)
    expect(r.json.error._tag).toBe("LengthRequired")
    expect(await sessions()).toEqual([])
  })

  const refusals: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
    ["repo with a path", { repo: "../../etc" }, "repo \"../../etc\" contains a path separator"],
    ["repo empty", { repo: "" }, "repo \"\" is empty"],
    ["realm not kebab-case", { realm: "Lets Cook" }, "realm \"Lets Cook\" contains whitespace"],
    ["a long client_id", { client_id: "c".repeat(1000) }, "client_id must be at most 200 characters"],
    ["a client_id with a newline", { client_id: "a\nb" }, "client_id must be at most 200 characters without control"],
    ["a long active_rfc", { active_rfc: "r".repeat(500) }, "active_rfc must be at most 200 characters"],
    ["an active_domains entry with a path", { active_domains: ["a/b"] }, "active_domains entry \"a/b\""],
    ["an imports_watching entry that is empty", { imports_watching: [""] }, "imports_watching entry \"\" is empty"],
    [
      "300 exports_modified entries",
      { exports_modified: Array.from({ length: 300 }, (_, i) => `c${i}`) },
      "exports_modified has 300 entries"
    ],
    ["a negative pid", { pid: -1 }, "pid -1 is not a process id"]
  ]
  for (const [what, over, says] of refusals) {
    it(`refuses ${what} with 400 naming the field`, async () => {
      const r = await post(session(over))
      expect(r.status).toBe(400)
      expect(r.json.error._tag).toBe("RequestInvalid")
      expect(r.json.error.message).toContain(says)
      expect(await sessions()).toEqual([])
    })
  }

  it("records a well-formed session (and only that one)", async () => {
    const r = await post(session({ active_domains: ["s3-access"] }))
    expect(r.status).toBe(201)
    expect((await sessions()).map((s) => s.client_id)).toEqual(["corpus"])
  })

  it("committed none of the refused sessions to the realm's sessions branch", async () => {
    // The accepted session is committed in a batch; wait for it, then look at what the branch holds.
    const deadline = Date.now() + 10_000
    while (sessionBranches() === "" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    const branch = sessionBranches().replace(/^[*+ ]+/, "")
    expect(branch).toMatch(/^blue\/sessions\//)
    const files = spawnSync("git", ["grep", "-l", "xxxxxxxxxx", branch], {
      cwd: ws.path("realm-letemcook"),
      encoding: "utf8"
    })
    expect(files.stdout).toBe("")
    const size = spawnSync("git", ["count-objects", "-v"], { cwd: ws.path("realm-letemcook"), encoding: "utf8" })
      .stdout
    expect(Number(/size-pack: (\d+)/.exec(size)?.[1] ?? 0) + Number(/size: (\d+)/.exec(size)?.[1] ?? 0))
      .toBeLessThan(1024)
  })
})
