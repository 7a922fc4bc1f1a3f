/**
 * One writer for the MCP server (README "One writer", docs/mcp.md): with this BLUE_HOME's daemon running, a write
 * tool call is handed to the daemon (`POST /operations/{tool}`) and the daemon runs it; its tool results are those
 * of the same call run in the server's process (`BLUE_DAEMON=off`), refusals included, and so are the realm's files.
 * A daemon that cannot be reached leaves the write to the server; one that drops the connection after it got the
 * call gives an error result saying it may or may not have been recorded. Real `blue mcp` driven by the official MCP
 * client, the real daemon on a free port, real git, temp BLUE_HOMEs.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { pidFilePath } from "../src/adapters/daemonPresence.js"
import { APERTURE, FUNGAL, ML, REALM, S3 } from "./support/seed.js"
import { BLUE_BIN, freePort, makeWorkspace, type Workspace } from "./support/workspace.js"

interface Server {
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<CallToolResult>
  readonly stderr: () => string
  readonly close: () => Promise<void>
}

/** `blue mcp` in `repo` of `ws`, with `env`. */
const connect = async (ws: Workspace, env: NodeJS.ProcessEnv, repo: string): Promise<Server> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BLUE_BIN, "mcp"],
    cwd: ws.path(repo),
    env: env as Record<string, string>,
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr?.on("data", (d) => (stderr += d))
  const client = new Client({ name: "blue-writer-e2e", version: "1.0.0" })
  await client.connect(transport)
  return {
    call: (name, args = {}) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>,
    stderr: () => stderr,
    close: () => client.close().catch(() => undefined)
  }
}

/** A workspace whose MCP servers use this home's daemon (`BLUE_DAEMON=auto`) or keep it off, with BLUE_DEBUG_PATH. */
const workspace = async (label: string, daemon: boolean) => {
  const ws = makeWorkspace(label)
  fs.mkdirSync(ws.path("xdg"), { mode: 0o700 })
  const env: NodeJS.ProcessEnv = {
    ...ws.env,
    BLUE_DAEMON_PORT: String(await freePort()),
    XDG_RUNTIME_DIR: ws.path("xdg"),
    BLUE_DEBUG_PATH: "1",
    BLUE_DAEMON: daemon ? "auto" : "off"
  }
  delete env["CI"]
  const blue = (cwd: string, ...args: Array<string>) =>
    spawnSync(process.execPath, [BLUE_BIN, ...args], { cwd: ws.path(cwd), env, encoding: "utf8" })
  return { ws, env, blue }
}

/** The same document from two workspaces: their roots, commit hashes, times, ids and pids made alike. */
const normalise = (ws: Workspace, value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value).split(ws.root).join("<root>")
      .replace(/\b[0-9a-f]{40}\b/g, "<commit>")
      // a proposal's id and branch carry the time it was opened (<repo>-YYYYMMDD-HHMMSS)
      .replace(/\b\d{8}-\d{6}\b/g, "<stamp>")
      .replace(/\b[0-9a-f]{7,12}\b/g, "<short>")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
      .replace(/\b[0-9A-HJKMNP-TV-Z]{26}\b/g, "<id>")
      .replace(/\(\d+ ms\)|"ms":\d+/g, "<ms>")
  )

/** The realm's files other than its event files (which carry ids and times), and the members' configs. */
const realmFiles = (ws: Workspace): Record<string, unknown> => {
  const dir = ws.path(REALM)
  const out: Record<string, unknown> = {}
  const files = spawnSync("git", ["ls-files"], { cwd: dir, encoding: "utf8" }).stdout.split("\n").filter((f) =>
    f !== "" && !f.startsWith("events/")
  )
  // proposals/<repo>-<stamp>.yaml: named by the time the proposal was opened
  for (const f of files) {
    out[f.replace(/\d{8}-\d{6}/g, "<stamp>")] = normalise(ws, fs.readFileSync(path.join(dir, f), "utf8"))
  }
  for (const repo of [APERTURE, FUNGAL, ML]) {
    const config = ws.path(repo, ".blue", "config.yaml")
    out[`${repo}/.blue/config.yaml`] = fs.existsSync(config) ? normalise(ws, fs.readFileSync(config, "utf8")) : ""
  }
  return out
}

/** The seed story's write tool calls, by repo, with refusals (a bad bump, a cycle, not the owner) among them. */
const SCRIPT: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
  [APERTURE, "blue_realm_init", { name: "letemcook", path: ".." }],
  [APERTURE, "blue_realm_join", { realm_path: `../${REALM}` }],
  [APERTURE, "blue_realm_domain", { name: "s3-access", repos: `${APERTURE},${FUNGAL}`, contract: S3 }],
  [FUNGAL, "blue_realm_join", { realm_path: `../${REALM}` }],
  [ML, "blue_realm_join", { realm_path: `../${REALM}`, detect_exports: false }],
  [FUNGAL, "blue_realm_domain", {
    action: "create",
    name: "training-pipeline",
    repos: [FUNGAL, ML],
    contract: "job-schema"
  }],
  [APERTURE, "blue_realm_export", { name: S3, value: { read: ["a/*"] } }],
  [FUNGAL, "blue_realm_import", { contract: S3, domain: "s3-access", version: "^1.0.0" }],
  [APERTURE, "blue_realm_export", { name: S3, value: { read: ["a/*", "b/*"] } }],
  // a bad bump: removing a key is breaking, 1.1.1 is not enough
  [APERTURE, "blue_realm_export", { name: S3, value: { write: ["c/*"] }, version: "1.1.1" }],
  [FUNGAL, "blue_realm_export", { name: S3, value: {} }],
  [ML, "blue_realm_domain", { name: "feedback-loop", repos: `${ML},${APERTURE}` }],
  [FUNGAL, "blue_realm_ack", { all: true }]
]

const REFUSED = new Set([9, 10, 11])

const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

/** Runs the script in a fresh workspace: each call's result (normalised), the realm's files, the servers' stderr. */
const story = async (label: string, daemon: boolean) => {
  const { blue, env, ws } = await workspace(label, daemon)
  cleanups.push(() => ws.cleanup())
  for (const r of [APERTURE, FUNGAL, ML]) ws.repo(r)
  if (daemon) {
    const started = blue(".", "daemon", "start", "--json")
    expect(started.status, started.stderr).toBe(0)
    cleanups.push(() => void blue(".", "daemon", "stop"))
  }
  const servers = new Map<string, Server>()
  for (const r of [APERTURE, FUNGAL, ML]) servers.set(r, await connect(ws, env, r))
  cleanups.push(() => Promise.all([...servers.values()].map((s) => s.close())).then(() => undefined))
  const results = []
  for (const [repo, tool, args] of SCRIPT) {
    const r = await servers.get(repo)!.call(tool, args)
    results.push(
      normalise(ws, { tool, isError: r.isError, structuredContent: r.structuredContent, content: r.content })
    )
  }
  const stderr = [...servers.values()].map((s) => s.stderr()).join("")
  return { results, files: realmFiles(ws), stderr }
}

describe("one writer: the MCP server's write tools run by the daemon", () => {
  it("the seed story's writes give the same results and files as in-process, and the daemon ran every one", async () => {
    const off = await story("blue-mcp-writer-off", false)
    const viaDaemon = await story("blue-mcp-writer-daemon", true)

    // The script did what it says (successes and refusals), then the two runs agree call by call.
    off.results.forEach((r, k) => expect((r as any).isError, `${k}: ${JSON.stringify(r)}`).toBe(REFUSED.has(k)))
    expect((off.results[9] as any).structuredContent.error._tag).toBe("BumpTooSmall")
    viaDaemon.results.forEach((r, k) => expect(r, `call ${k} (${SCRIPT[k]![1]})`).toEqual(off.results[k]))
    expect(viaDaemon.files).toEqual(off.files)

    // Every write went to the daemon; with the daemon kept off, none did.
    const daemonLines = viaDaemon.stderr.match(/^blue mcp: path=daemon \(pid \d+\) \w+$/gm) ?? []
    expect(daemonLines, viaDaemon.stderr).toHaveLength(SCRIPT.length)
    expect(viaDaemon.stderr).not.toMatch(/path=in-process/)
    expect(off.stderr).not.toMatch(/path=daemon/)
    expect(off.stderr.match(/^blue mcp: path=in-process \(the daemon is kept off\) \w+$/gm)).toHaveLength(SCRIPT.length)
  })

  it("a daemon that cannot be reached leaves the write to the server; one that drops the call says so", async () => {
    const { env, ws } = await workspace("blue-mcp-writer-lost", true)
    cleanups.push(() => ws.cleanup())
    ws.repo(APERTURE)
    ws.repo(FUNGAL)
    // A "daemon" this process plays: its PID file names a live process (this one) and a port.
    const pidFile = pidFilePath(ws.home, env)
    fs.mkdirSync(path.dirname(pidFile), { recursive: true })
    fs.mkdirSync(ws.home, { recursive: true })
    fs.writeFileSync(path.join(ws.home, "daemon.token"), "test-token\n", { mode: 0o600 })
    const posted: Array<string> = []
    const fake = http.createServer((req, res) => {
      if (req.method === "GET" && req.url === "/health") {
        res.writeHead(200, { "content-type": "application/json" })
        return res.end(
          JSON.stringify({ status: "ok", pid: process.pid, port: 0, home: ws.home, version: "x", started_at: "" })
        )
      }
      if (req.method === "POST" && req.url?.startsWith("/operations/")) {
        posted.push(req.url)
        // It got the call, then went away before answering.
        req.resume()
        return req.on("end", () => req.socket.destroy())
      }
      res.writeHead(404, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { _tag: "RouteNotFound", message: "No such endpoint." } }))
    })
    const port = await new Promise<number>((resolve) =>
      fake.listen(0, "127.0.0.1", () => resolve((fake.address() as { port: number }).port))
    )
    cleanups.push(() => new Promise<void>((resolve) => fake.close(() => resolve())))

    // Nobody listens on the port its PID file names: the write runs in the server's process.
    const closed = await freePort()
    fs.writeFileSync(pidFile, JSON.stringify({ pid: process.pid, port: closed }))
    const here = await connect(ws, env, APERTURE)
    cleanups.push(() => here.close())
    const init = await here.call("blue_realm_init", { name: "letemcook", path: ".." })
    expect(init.isError, JSON.stringify(init)).toBe(false)
    expect(fs.existsSync(ws.path(REALM, "realm.yaml"))).toBe(true)
    expect(here.stderr()).toMatch(/path=in-process \(the daemon cannot be reached\) blue_realm_init/)

    // The daemon got the call and dropped the connection: an error result, nothing retried here.
    fs.writeFileSync(pidFile, JSON.stringify({ pid: process.pid, port }))
    const there = await connect(ws, env, FUNGAL)
    cleanups.push(() => there.close())
    const head = spawnSync("git", ["rev-parse", "main"], { cwd: ws.path(REALM), encoding: "utf8" }).stdout
    const join = await there.call("blue_realm_join", { realm_path: `../${REALM}` })
    expect(join.isError).toBe(true)
    expect(join.structuredContent).toEqual({
      error: {
        _tag: "DaemonStopped",
        message:
          "the daemon stopped while running the command; it may or may not have been recorded — run 'blue realm log' to see, and re-run it if it is missing."
      }
    })
    expect((join.content[0] as { text: string }).text).toMatch(/^Error: the daemon stopped while running the command/)
    expect(posted).toEqual(["/operations/blue_realm_join"])
    expect(spawnSync("git", ["rev-parse", "main"], { cwd: ws.path(REALM), encoding: "utf8" }).stdout).toBe(head)
    expect(fs.existsSync(ws.path(FUNGAL, ".blue", "config.yaml"))).toBe(false)
  })
})
