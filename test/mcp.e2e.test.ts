/**
 * `blue mcp` driven as a subprocess by the official MCP TypeScript client, one server per repo (as an assistant
 * would run it in each checkout), with the real `blue daemon` on a free loopback port: initialize, the tool list
 * and its input schemas, the seed story through tool calls (checked against the realm files and the CLI's
 * `--json`), refusals as tool errors, protocol errors as JSON-RPC errors, paths confined to the repo, the session
 * kept with the daemon, and a notification reaching the client when another repo changes a contract.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import {
  type CallToolResult,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceUpdatedNotificationSchema
} from "@modelcontextprotocol/sdk/types.js"
import { JSONSchema } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { realmOperations } from "../src/operations/index.js"
import { APERTURE, FUNGAL, ML, ok, readYaml, REALM, S3, setExports } from "./support/seed.js"
import { BLUE_BIN, dbFingerprint, freePort, git, makeWorkspace, type Workspace } from "./support/workspace.js"

const waitFor = async <A>(what: string, probe: () => A | undefined | Promise<A | undefined>, ms = 10_000) => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface Connected {
  readonly client: Client
  readonly messages: Array<any>
  readonly updated: Array<string>
  readonly stderr: () => string
  /** Calls a tool and returns its result (protocol errors throw McpError). */
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<CallToolResult>
  /** Calls a tool that must succeed and returns its structured content. */
  readonly ok: (name: string, args?: Record<string, unknown>) => Promise<any>
}

let ws: Workspace
let env: NodeJS.ProcessEnv
const clients: Array<Connected> = []
const blue = (cwd: string, ...args: Array<string>) => {
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], { cwd: ws.path(cwd), env, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) }
}

/** Lands the open compatible proposals: the owner's sync with the clock past their grace period (BLUE_NOW). */
const landByGrace = () => {
  const r = spawnSync(process.execPath, [BLUE_BIN, "realm", "sync"], {
    cwd: ws.path(APERTURE),
    env: { ...env, BLUE_NOW: "+15d" },
    encoding: "utf8"
  })
  if (r.status !== 0 || !r.stdout.includes("✓ Merged proposal")) throw new Error(`landing: ${r.stdout}${r.stderr}`)
}

const connect = async (repo: string, args: Array<string> = []): Promise<Connected> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BLUE_BIN, "mcp", ...args],
    cwd: ws.path(repo),
    env: env as Record<string, string>,
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr?.on("data", (d) => (stderr += d))
  const client = new Client({ name: "blue-e2e", version: "1.0.0" })
  const messages: Array<any> = []
  const updated: Array<string> = []
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void messages.push(n.params))
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri))
  await client.connect(transport)
  const call = (name: string, a: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: a }) as Promise<CallToolResult>
  const c: Connected = {
    client,
    messages,
    updated,
    stderr: () => stderr,
    call,
    ok: async (name, a) => {
      const r = await call(name, a)
      if (r.isError === true) throw new Error(`${name} failed: ${JSON.stringify(r.structuredContent)}\n${stderr}`)
      return r.structuredContent
    }
  }
  clients.push(c)
  return c
}

/**
 * The realm as a refused call must leave it: its main branch, working tree and daemon.db. (Objects and the
 * sessions branch are left out: the daemon records sessions there whenever a command or server comes or goes.)
 */
const realmState = () => ({
  main: git(ws.path(REALM), "rev-parse", "main").trim(),
  index: git(ws.path(REALM), "ls-files", "--stage"),
  worktree: git(ws.path(REALM), "status", "--porcelain", "--untracked-files=all"),
  db: dbFingerprint(ws.home)
})

const protocolError = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (e: unknown) => e)
  expect(e).toBeInstanceOf(McpError)
  return e as McpError
}

let aperture: Connected
let fungal: Connected
let ml: Connected

beforeAll(async () => {
  ws = makeWorkspace("blue-mcp")
  for (const r of [APERTURE, FUNGAL, ML]) ws.repo(r)
  env = { ...ws.env, BLUE_DAEMON_PORT: String(await freePort()), XDG_RUNTIME_DIR: ws.path("run") }
  const started = blue(".", "daemon", "start", "--json")
  expect(started.code, started.stderr).toBe(0)
  ;[aperture, fungal, ml] = await Promise.all([connect(APERTURE), connect(FUNGAL), connect(ML)])
})

afterAll(async () => {
  await Promise.all(clients.map((c) => c.client.close().catch(() => undefined)))
  blue(".", "daemon", "stop")
  ws.cleanup()
})

const EXPECTED_TOOLS = [
  "blue_realm_init",
  "blue_realm_join",
  "blue_realm_domain",
  "blue_realm_leave",
  "blue_realm_export",
  "blue_realm_import",
  "blue_realm_check",
  "blue_realm_graph",
  "blue_realm_sessions",
  "blue_realm_status",
  "blue_realm_ack",
  "blue_realm_worktree",
  "blue_realm_commit",
  "blue_realm_push",
  "blue_realm_pr",
  "blue_realm_sync",
  "blue_realm_ack_proposal",
  "blue_realm_approve",
  "blue_realm_reject",
  "blue_realm_withdraw"
]

describe("blue mcp: initialize and the tool list", () => {
  it("initializes as 'blue' with tools and resources", () => {
    expect(aperture.client.getServerVersion()).toMatchObject({ name: "blue", version: expect.any(String) })
    const caps = aperture.client.getServerCapabilities()
    expect(caps?.tools).toBeDefined()
    expect(caps?.resources).toBeDefined()
  })

  it("lists the realm tools whose commands exist, and none whose command does not", async () => {
    const { tools } = await aperture.client.listTools()
    expect(tools.map((t) => t.name)).toEqual(EXPECTED_TOOLS)
    // Every tool the draft RFC names exists.
    for (
      const draft of [
        "init",
        "join",
        "domain",
        "leave",
        "export",
        "import",
        "check",
        "graph",
        "sessions",
        "sync",
        "worktree",
        "commit",
        "push",
        "pr"
      ]
    ) {
      expect(tools.find((t) => t.name === `blue_realm_${draft}`), draft).toBeDefined()
    }
    for (const t of tools) {
      expect(t.description?.length ?? 0, t.name).toBeGreaterThan(20)
      expect(t.inputSchema.type, t.name).toBe("object")
      expect((t.inputSchema as any).additionalProperties, t.name).toBe(false)
    }
  })

  it("has the draft RFC's argument names, with input schemas generated from the operations' Effect Schemas", async () => {
    const { tools } = await aperture.client.listTools()
    const by = (name: string) => tools.find((t) => t.name === name)!.inputSchema as any
    const props = (name: string) => Object.keys(by(name).properties ?? {})
    expect(props("blue_realm_init")).toEqual(expect.arrayContaining(["name", "path"]))
    expect(by("blue_realm_init").required).toEqual(["name"])
    expect(props("blue_realm_join")).toEqual(expect.arrayContaining(["realm_path", "name", "detect_exports"]))
    expect(by("blue_realm_join").required).toEqual(["realm_path"])
    expect(props("blue_realm_domain")).toEqual(expect.arrayContaining(["name", "repos", "contract"]))
    expect(props("blue_realm_leave")).toEqual(["force"])
    expect(props("blue_realm_export")).toEqual(expect.arrayContaining(["name", "version", "value", "file", "detect"]))
    expect(props("blue_realm_import")).toEqual(["contract", "domain", "version", "binding"])
    expect(by("blue_realm_import").required).toEqual(["contract", "domain", "version"])
    expect(props("blue_realm_check")).toEqual(expect.arrayContaining(["exports", "imports"]))
    // An agent never trusts realm hooks on the user's behalf.
    expect(props("blue_realm_check")).not.toContain("trust")
    expect(by("blue_realm_graph").properties.format.enum).toEqual(["text", "mermaid", "dot"])
    expect(props("blue_realm_sessions")).toEqual(["watch"])
    expect(props("blue_realm_worktree")).toEqual(expect.arrayContaining(["rfc", "branch", "domain", "repos"]))
    expect(props("blue_realm_commit")).toEqual(expect.arrayContaining(["message", "repos", "link"]))
    expect(by("blue_realm_commit").required).toEqual(["message"])
    expect(props("blue_realm_push")).toEqual(expect.arrayContaining(["repos"]))
    // One source of truth: each tool's schema is the JSON Schema of the operation the CLI runs.
    for (const op of realmOperations) {
      expect(by(op.tool), op.tool).toEqual(JSONSchema.make(op.agentArgs ?? op.args))
    }
  })
})

describe("blue mcp: the seed story through tool calls", () => {
  it("init, join and domain create write the realm's files", async () => {
    const init = await aperture.ok("blue_realm_init", { name: "letemcook", path: ".." })
    expect(init).toMatchObject({ realm: "letemcook", path: ws.path(REALM), admission: "open" })
    expect(readYaml(ws.path(REALM, "realm.yaml")).name).toBe("letemcook")

    const joined = await aperture.ok("blue_realm_join", { realm_path: `../${REALM}` })
    expect(joined).toMatchObject({ realm: "letemcook", repo: APERTURE, alreadyMember: false })
    expect(fs.existsSync(ws.path(REALM, "repos", `${APERTURE}.yaml`))).toBe(true)
    expect(readYaml(ws.path(APERTURE, ".blue", "config.yaml"))).toMatchObject({ repo: APERTURE })

    const domain = await aperture.ok("blue_realm_domain", {
      name: "s3-access",
      repos: `${APERTURE},${FUNGAL}`,
      contract: S3
    })
    expect(domain).toMatchObject({ domain: "s3-access", provider: APERTURE, consumers: [FUNGAL], contracts: [S3] })
    expect(readYaml(ws.path(REALM, "domains", "s3-access", "contracts", `${S3}.yaml`))).toMatchObject({
      name: S3,
      version: "1.0.0",
      owner: APERTURE
    })

    const fj = await fungal.ok("blue_realm_join", { realm_path: `../${REALM}` })
    expect(fj.detected).toEqual([{ domain: "s3-access", contract: S3, role: "import" }])
    await ml.ok("blue_realm_join", { realm_path: `../${REALM}`, detect_exports: false })
    await fungal.ok("blue_realm_domain", {
      action: "create",
      name: "training-pipeline",
      repos: [FUNGAL, ML],
      contract: "job-schema"
    })
    expect(fs.existsSync(ws.path(REALM, "domains", "training-pipeline", "bindings", `${ML}.yaml`))).toBe(true)
  })

  it("export, import, a compatible bump, status, check, graph and ack; results are the CLI's --json documents", async () => {
    const first = await aperture.call("blue_realm_export", { name: S3, value: { read: ["a/*"] } })
    expect(first.isError).toBe(false)
    expect(first.structuredContent).toMatchObject({ contract: S3, version: "1.0.0", bump: "initial" })
    expect((first.content[0] as any).text).toContain(`Published ${S3} 1.0.0`)

    const imp = await fungal.ok("blue_realm_import", { contract: S3, domain: "s3-access", version: "^1.0.0" })
    expect(imp).toMatchObject({ repo: FUNGAL, range: "^1.0.0", status: "current", resolved_version: "1.0.0" })
    expect(readYaml(ws.path(REALM, "domains", "s3-access", "bindings", `${FUNGAL}.yaml`)).imports[0]).toMatchObject({
      contract: S3,
      version: "^1.0.0"
    })

    const bump = await aperture.ok("blue_realm_export", { name: S3, value: { read: ["a/*", "b/*"] } })
    expect(bump).toMatchObject({ from: "1.0.0", version: "1.1.0", bump: "minor", compatible: true })
    expect(bump.importers).toEqual([{ repo: FUNGAL, range: "^1.0.0", standing: "stale" }])
    // fungal imports it: a proposal, landed once its grace period has passed.
    landByGrace()
    expect(readYaml(ws.path(REALM, "domains", "s3-access", "contracts", `${S3}.yaml`)).version).toBe("1.1.0")

    const status = await fungal.ok("blue_realm_status")
    expect(status).toEqual(ok(blue(FUNGAL, "realm", "status", "--json"), "status").json())
    // Declaring the import answered 1.0.0; the bump waits for an ack.
    expect(status.notifications.map((n: any) => n.version)).toEqual(["1.1.0"])

    const checked = await fungal.ok("blue_realm_check", { imports: true })
    expect(checked).toMatchObject({ mode: "importer", exit_code: 2 })
    const cli = blue(FUNGAL, "realm", "check", "--mode", "importer", "--json")
    expect(cli.code).toBe(2)
    expect(checked).toEqual(cli.json())

    const graph = await ml.ok("blue_realm_graph", { format: "mermaid" })
    expect(graph.rendered).toContain("graph")
    expect(graph.edges).toEqual(expect.arrayContaining([
      expect.objectContaining({ from: APERTURE, to: FUNGAL, domain: "s3-access" }),
      expect.objectContaining({ from: FUNGAL, to: ML, domain: "training-pipeline" })
    ]))

    const acked = await fungal.ok("blue_realm_ack", { all: true })
    expect(acked.acknowledged.map((a: any) => a.version)).toEqual(["1.1.0"])
    expect(git(ws.path(REALM), "log", "-1", "--format=%s").trim()).toBe(`${FUNGAL} acknowledges 1 notification`)
    expect((await fungal.ok("blue_realm_status")).notifications).toEqual([])
    // blue_realm_sync with dry_run: what `blue realm sync --dry-run --json` prints, and nothing written.
    const before = git(ws.path(REALM), "rev-parse", "HEAD")
    const dry = await fungal.ok("blue_realm_sync", { dry_run: true })
    expect(dry).toMatchObject({ repo: FUNGAL, dry_run: true, notify: true })
    expect(dry).toEqual(ok(blue(FUNGAL, "realm", "sync", "--dry-run", "--json"), "sync --dry-run").json())
    expect(git(ws.path(REALM), "rev-parse", "HEAD")).toBe(before)
    expect(ok(blue(FUNGAL, "realm", "replay", "--verify", "--json"), "verify").json().ok).toBe(true)
  })
})

describe("blue mcp: refusals and protocol errors", () => {
  it("a refusal is a tool error carrying the tagged error, and changes nothing", async () => {
    const before = realmState()
    const cycle = await ml.call("blue_realm_domain", { name: "feedback-loop", repos: `${ML},${APERTURE}` })
    expect(cycle.isError).toBe(true)
    expect((cycle.structuredContent as any).error).toMatchObject({ _tag: "CycleDetected" })
    expect((cycle.content[0] as any).text).toMatch(/^Error: .*feedback-loop/)
    const notOwner = await fungal.call("blue_realm_export", { name: S3, value: { read: [] } })
    expect(notOwner.isError).toBe(true)
    expect((notOwner.structuredContent as any).error._tag).toBe("NotContractOwner")
    expect(realmState()).toEqual(before)
  })

  it("an unknown tool and arguments that do not fit the schema are JSON-RPC errors (-32602)", async () => {
    const unknown = await protocolError(aperture.call("blue_realm_rebase", {}))
    expect(unknown.code).toBe(-32602)
    expect(unknown.message).toContain("blue_realm_rebase")
    const wrongType = await protocolError(aperture.call("blue_realm_leave", { force: "yes" }))
    expect(wrongType.code).toBe(-32602)
    expect(wrongType.message).toContain("force")
    const missing = await protocolError(aperture.call("blue_realm_import", { contract: S3 }))
    expect(missing.code).toBe(-32602)
    expect(missing.message).toContain("domain")
    const extra = await protocolError(aperture.call("blue_realm_graph", { format: "text", colour: true }))
    expect(extra.message).toContain("colour")
    const badEnum = await protocolError(aperture.call("blue_realm_graph", { format: "svg" }))
    expect(badEnum.message).toBe(
      `MCP error -32602: blue_realm_graph: argument format: expected "text" | "mermaid" | "dot", got "svg"`
    )
    const trust = await protocolError(aperture.call("blue_realm_check", { exports: true, trust: true }))
    expect(trust.message).toContain("trust")
    // The server is still there.
    expect((await aperture.ok("blue_realm_graph", {})).realm).toBe("letemcook")
  })

  it("paths in arguments stay inside the repo: nothing is read or written outside it", async () => {
    fs.writeFileSync(ws.path("secret.json"), JSON.stringify({ read: ["stolen/*"] }))
    const outside = [ws.path("secret.json"), "../secret.json"]
    const before = realmState()
    for (const file of outside) {
      const r = await aperture.call("blue_realm_export", { name: S3, file })
      expect(r.isError, file).toBe(true)
      expect((r.structuredContent as any).error).toMatchObject({ _tag: "PathProblem" })
      expect((r.content[0] as any).text).toBe(
        `Error: ${ws.path("secret.json")}: (file) is outside ${ws.path(APERTURE)}; name a file inside the repo`
      )
    }
    fs.symlinkSync(ws.path("secret.json"), ws.path(APERTURE, "link.json"))
    const viaLink = await aperture.call("blue_realm_export", { name: S3, file: "link.json" })
    expect(viaLink.isError).toBe(true)
    const binding = await fungal.call("blue_realm_import", {
      contract: S3,
      domain: "s3-access",
      version: "^1.0.0",
      binding: "../aperture/README.md"
    })
    expect(binding.isError).toBe(true)
    expect((binding.content[0] as any).text).toBe(
      `Error: ${ws.path(APERTURE, "README.md")}: (binding) is outside ${ws.path(FUNGAL)}; name a file inside the repo`
    )
    const badName = await aperture.call("blue_realm_init", { name: "../evil", path: ".." })
    expect(badName.isError).toBe(true)
    expect((badName.content[0] as any).text).toBe(
      `Error: ${(badName.structuredContent as any).error.message}`
    )
    expect((badName.structuredContent as any).error._tag).toBe("InvalidName")
    const existing = await aperture.call("blue_realm_init", { name: "letemcook", path: ".." })
    expect(existing.isError).toBe(true)
    const refusedInit = [
      [ws.home, "(path) is inside Blue's home or a .git directory; create the realm beside your repos"],
      [
        ws.path(APERTURE, ".git"),
        "(path) is inside Blue's home or a .git directory; create the realm beside your repos"
      ],
      [ws.path("not", "there"), "(path) is not an existing directory; create it first or name another"]
    ]
    for (const [where, detail] of refusedInit) {
      const r = await aperture.call("blue_realm_init", { name: "elsewhere", path: where })
      expect(r.isError, where).toBe(true)
      expect((r.structuredContent as any).error).toMatchObject({ _tag: "PathProblem", path: where, detail })
      expect((r.content[0] as any).text).toBe(`Error: ${where}: ${detail}`)
    }
    expect((existing.content[0] as any).text).toBe(
      `Error: ${ws.path(REALM)}: (path) already exists; choose another name or path`
    )
    // Source globs (recorded in the realm) are relative and stay inside the repo, symlinks included.
    setExports(ws.path(APERTURE), { [S3]: { pattern: { fields: { read: "read: (\\S+)" } } } })
    const refusedGlobs = [
      [ws.path("secret.json"), "is absolute"],
      ["../secret.json", "leaves the repo with '..'"],
      ["src/../../secret.json", "leaves the repo with '..'"]
    ]
    for (const [glob, reason] of refusedGlobs) {
      const r = await aperture.call("blue_realm_export", { name: S3, detect: true, source_files: [glob] })
      expect(r.isError, glob).toBe(true)
      expect((r.content[0] as any).text).toBe(
        `Error: Cannot detect the value of '${S3}' from code: source files ${JSON.stringify(glob)} ${reason}`
      )
      // Without detection the decider refuses to record it in the realm.
      const recorded = await aperture.call("blue_realm_export", {
        name: S3,
        value: { read: ["x/*"] },
        source_files: [glob]
      })
      expect((recorded.structuredContent as any).error).toMatchObject({ _tag: "InvalidSourceFiles", glob, reason })
      expect((recorded.content[0] as any).text).toBe(
        `Error: Source files of '${S3}': ${
          JSON.stringify(glob)
        } ${reason}; give globs relative to the repo, inside it (e.g. src/**/*.ts).`
      )
    }
    fs.writeFileSync(ws.path("secret.txt"), "read: stolen/*\n")
    fs.symlinkSync(ws.path("secret.txt"), ws.path(APERTURE, "innocent.txt"))
    const linked = await aperture.call("blue_realm_export", { name: S3, detect: true, source_files: ["*.txt"] })
    expect(linked.isError).toBe(true)
    expect((linked.content[0] as any).text).toBe(
      `Error: Cannot detect the value of '${S3}' from code: innocent.txt leads outside the repo`
    )
    setExports(ws.path(APERTURE), undefined)
    expect(realmState()).toEqual(before)
    expect(fs.readdirSync(ws.root).sort()).toEqual(
      [".blue-home", APERTURE, FUNGAL, ML, REALM, "run", "secret.json", "secret.txt"].filter((f) =>
        fs.existsSync(ws.path(f))
      ).sort()
    )
    expect(fs.existsSync(ws.path("evil"))).toBe(false)
    // The CLI refuses the binding too, naming the flag (after the fingerprint: a CLI run is a session, which the
    // daemon records on the realm's sessions branch).
    const cli = blue(
      FUNGAL,
      "realm",
      "import",
      "--contract",
      S3,
      "--domain",
      "s3-access",
      "--version",
      "^1.0.0",
      "--binding",
      "../aperture/README.md"
    )
    expect(cli.code).toBe(1)
    expect(cli.stderr).toBe(
      `Error: ${ws.path(APERTURE, "README.md")}: (--binding) is outside ${
        ws.path(FUNGAL)
      }; name a file inside the repo\n`
    )
    expect(fs.existsSync(ws.path("realm-..", "evil"))).toBe(false)
    // An inside file is fine.
    fs.writeFileSync(ws.path(APERTURE, "paths.json"), JSON.stringify({ read: ["a/*", "b/*", "c/*"] }))
    expect(await aperture.ok("blue_realm_export", { name: S3, file: "paths.json" })).toMatchObject({
      version: "1.2.0"
    })
    landByGrace()
  })
})

describe("blue mcp: its own command line", () => {
  it("refuses a --repo that is not a directory and an unknown argument, in one sentence with exit 64", () => {
    const missing = blue(".", "mcp", "--repo", "nowhere")
    expect(missing.code).toBe(64)
    expect(missing.stderr).toBe(
      `Error: ${ws.path("nowhere")} (--repo) is not a directory\nUsage: blue mcp [--repo DIR]\n`
    )
    expect(missing.stdout).toBe("")
    const unknown = blue(".", "mcp", "--verbose")
    expect(unknown.code).toBe(64)
    expect(unknown.stderr).toBe(`Error: unknown argument "--verbose"\nUsage: blue mcp [--repo DIR]\n`)
  })
})

describe("blue mcp: raw JSON-RPC over stdio", () => {
  it("answers every request (string ids kept, omitted arguments allowed) and exits once stdin closes", async () => {
    const child = spawn(process.execPath, [BLUE_BIN, "mcp"], { cwd: ws.path(ML), env })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
    const lines = [
      {
        jsonrpc: "2.0",
        id: "a-1",
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
      },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: "graph", method: "tools/call", params: { name: "blue_realm_graph" } },
      { jsonrpc: "2.0", id: 7, method: "ping" },
      { jsonrpc: "2.0", id: 8, method: "logging/setLevel", params: { level: "loud" } },
      { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "blue_realm_status", arguments: {} } },
      "this is not json",
      { jsonrpc: "2.0", id: 10, method: "no/such/method" },
      { jsonrpc: "2.0", method: "notifications/whatever" },
      { jsonrpc: "2.0", id: 11, method: "resources/read", params: { uri: "blue://nothing" } },
      { jsonrpc: "2.0", id: 12, method: "resources/read", params: { uri: "blue://sessions" } }
    ]
    const bytes = Buffer.from(
      lines.map((l) => typeof l === "string" ? l : JSON.stringify(l)).join("\n") + "\n" +
        JSON.stringify({
          jsonrpc: "2.0",
          id: 13,
          method: "tools/call",
          params: { name: "blue_realm_graph", arguments: { format: "tëxt" } }
        }) + "\n"
    )
    // Split inside the two bytes of "ë": the server must put the character back together.
    const cut = bytes.indexOf(Buffer.from("ë")) + 1
    child.stdin.write(bytes.subarray(0, cut))
    await new Promise((r) => setTimeout(r, 100))
    child.stdin.end(bytes.subarray(cut))
    expect(await exited, err).toBe(0)
    const replies = out.trim().split("\n").map((l) => JSON.parse(l))
    const by = new Map(replies.map((r) => [r.id, r]))
    expect([...by.keys()].map(String).sort()).toEqual(
      ["7", "8", "9", "10", "11", "12", "13", "a-1", "graph", "null"].sort()
    )
    expect(by.get(null).error.code).toBe(-32700)
    expect(by.get(10).error.code).toBe(-32601)
    expect(by.get(11).error.code).toBe(-32002)
    expect(JSON.parse(by.get(12).result.contents[0].text).realm).toBe("letemcook")
    expect(by.get(13).error).toMatchObject({ code: -32602 })
    expect(by.get(13).error.message).toContain("\"tëxt\"")
    expect(by.get("a-1").result.serverInfo.name).toBe("blue")
    expect(by.get("graph").result.structuredContent.realm).toBe("letemcook")
    expect(by.get(7).result).toEqual({})
    expect(by.get(8).error.code).toBe(-32602)
    expect(by.get(9).result?.structuredContent.repo.name, JSON.stringify(by.get(9)) + err).toBe(ML)
    for (const r of replies) expect(r.jsonrpc).toBe("2.0")
  })
})

/** Runs `blue mcp` in `repo`, writes `lines` to its stdin and closes it; the replies by id, and the exit code. */
const rawSession = async (repo: string, lines: ReadonlyArray<unknown>) => {
  const child = spawn(process.execPath, [BLUE_BIN, "mcp"], { cwd: ws.path(repo), env })
  let out = ""
  let err = ""
  child.stdout.on("data", (d) => (out += d))
  child.stderr.on("data", (d) => (err += d))
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
  child.stdin.end(lines.map((l) => typeof l === "string" ? l : JSON.stringify(l)).join("\n") + "\n")
  const code = await exited
  const replies = out.trim().split("\n").map((l) => JSON.parse(l))
  return { code, err, replies, by: new Map(replies.map((r) => [r.id, r])) }
}

describe("blue mcp: the protocol edge the SDK's defaults leave loose", () => {
  it("subscriptions, logging levels, prompts and templates, non-JSON-RPC lines; a slow last request still answered", async () => {
    const init = {
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
    }
    const { by, code, err, replies } = await rawSession(ML, [
      init,
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: "sub", method: "resources/subscribe", params: { uri: "blue://notifications" } },
      { jsonrpc: "2.0", id: "unsub", method: "resources/unsubscribe", params: { uri: "blue://notifications" } },
      { jsonrpc: "2.0", id: "sub-unknown", method: "resources/subscribe", params: { uri: "blue://nothing" } },
      { jsonrpc: "2.0", id: "sub-no-uri", method: "resources/subscribe", params: {} },
      { jsonrpc: "2.0", id: "level", method: "logging/setLevel", params: { level: "error" } },
      { jsonrpc: "2.0", id: "prompts", method: "prompts/list" },
      { jsonrpc: "2.0", id: "prompt", method: "prompts/get", params: { name: "nope" } },
      { jsonrpc: "2.0", id: "templates", method: "resources/templates/list" },
      { jsonrpc: "2.0", id: "resources", method: "resources/list" },
      [1, 2],
      // A cancelled request gets no answer (the SDK drops it); the server must not wait for one before it exits.
      { jsonrpc: "2.0", id: "gone", method: "tools/call", params: { name: "blue_realm_status" } },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "gone", reason: "changed my mind" } },
      // Sent last, answered after stdin has closed: the server waits for it before it exits.
      { jsonrpc: "2.0", id: "last", method: "tools/call", params: { name: "blue_realm_check" } }
    ])
    expect(code, err).toBe(0)
    for (const r of replies) expect(r.jsonrpc).toBe("2.0")
    expect(by.get(0).result.serverInfo.name).toBe("blue")
    expect(by.get("sub").result).toEqual({})
    expect(by.get("unsub").result).toEqual({})
    expect(by.get("sub-unknown").error).toEqual({ code: -32002, message: "Resource not found: blue://nothing" })
    expect(by.get("sub-no-uri").error.code).toBe(-32602)
    expect(by.get("sub-no-uri").error.message).toContain("uri")
    expect(by.get("level").result).toEqual({})
    expect(by.get("prompts").result).toEqual({ prompts: [] })
    expect(by.get("prompt").error).toEqual({ code: -32602, message: "Prompt 'nope' not found" })
    expect(by.get("templates").result).toEqual({ resourceTemplates: [] })
    expect(by.get("resources").result.resources.map((r: any) => r.uri)).toEqual([
      "blue://status",
      "blue://notifications",
      "blue://sessions"
    ])
    expect(by.get(null).error.code).toBe(-32600)
    expect(by.get("last").result.structuredContent).toBeDefined()
    expect(by.has("gone")).toBe(false)
    expect(replies.length).toBe(12)
  })
})

describe("blue mcp: session and notifications", () => {
  it("keeps a session registered with the daemon while it runs, and drops it when the client goes", async () => {
    const listed = () => ok(blue(APERTURE, "realm", "sessions", "--json"), "sessions").json().sessions as Array<any>
    const mcp = await waitFor("the three MCP sessions", () => {
      const s = listed().filter((x) => x.client_id === "mcp")
      return s.length === 3 ? s : undefined
    })
    expect(mcp.map((s) => s.repo).sort()).toEqual([APERTURE, FUNGAL, ML].sort())
    const viaTool = await fungal.ok("blue_realm_sessions", { watch: true })
    expect(viaTool.realm).toBe("letemcook")
    expect(viaTool.sessions.filter((s: any) => s.client_id === "mcp").length).toBe(3)

    const extra = await connect(ML)
    await waitFor("a fourth session", () => listed().filter((x) => x.client_id === "mcp").length === 4 || undefined)
    // With watch on, fungal's client hears of the new session.
    await waitFor(
      "the session message",
      () => fungal.messages.find((m) => m.data?.type === "session" && m.data.session.repo === ML) ?? undefined
    )
    await extra.client.close()
    await waitFor("the session to end", () => listed().filter((x) => x.client_id === "mcp").length === 3 || undefined)
  })

  it("declares logging and resource subscriptions", () => {
    const caps = fungal.client.getServerCapabilities()
    expect(caps?.logging).toEqual({})
    expect(caps?.resources?.subscribe).toBe(true)
  })

  it("a contract change by another repo reaches the importer's MCP client as a notification", async () => {
    fungal.messages.length = 0
    fungal.updated.length = 0
    await fungal.client.subscribeResource({ uri: "blue://notifications" })
    const bump = ok(
      blue(
        APERTURE,
        "realm",
        "export",
        "--name",
        S3,
        "--value",
        JSON.stringify({ read: ["a/*", "b/*", "c/*", "d/*"] }),
        "--json"
      ),
      "export"
    ).json()
    expect(bump.version).toBe("1.3.0")
    const message = await waitFor(
      "the notification",
      () => fungal.messages.find((m) => m.data?.type === "notification") ?? undefined
    )
    expect(message).toMatchObject({
      level: "notice",
      logger: "blue",
      data: {
        type: "notification",
        notification: { repo: FUNGAL, contract: S3, version: "1.3.0", from_repo: APERTURE, change_type: "updated" }
      }
    })
    expect(message.data.summary).toContain(`contract '${S3}' updated to 1.3.0`)
    expect(fungal.updated).toContain("blue://notifications")
    const resource = await fungal.client.readResource({ uri: "blue://notifications" })
    const listed = JSON.parse((resource.contents[0] as any).text)
    expect(listed.notifications.map((n: any) => n.version)).toEqual(["1.2.0", "1.3.0"])
    // Only the importer hears of it; a client that did not subscribe gets no resource updates.
    expect(aperture.messages.filter((m) => m.data?.type === "notification")).toEqual([])
    expect(ml.messages.filter((m) => m.data?.type === "notification")).toEqual([])
    expect(aperture.updated).toEqual([])
  })

  it("a breaking change arrives as a warning (notices held back at level warning); ack clears the resource", async () => {
    landByGrace()
    await fungal.ok("blue_realm_ack", { all: true })
    await fungal.client.setLoggingLevel("warning")
    fungal.messages.length = 0
    fungal.updated.length = 0
    const minor = await aperture.ok("blue_realm_export", {
      name: S3,
      value: { read: ["a/*", "b/*", "c/*", "d/*", "e/*"] }
    })
    expect(minor.version).toBe("1.4.0")
    // The notice for 1.4.0 is held back; the resource still says it changed.
    await waitFor("the resource update", () => fungal.updated.length > 0 || undefined)
    const r = await aperture.ok("blue_realm_export", { name: S3, value: { read: ["a/*"] } })
    expect(r).toMatchObject({ bump: "major", version: "2.0.0", compatible: false })
    const message = await waitFor(
      "the breaking notification",
      () => fungal.messages.find((m) => m.data?.type === "notification") ?? undefined
    )
    expect(message.level).toBe("warning")
    expect(message.data.notification.change_type).toBe("breaking")
    expect(fungal.messages.filter((m) => m.data?.type === "notification").map((m) => m.data.notification.version))
      .toEqual(["2.0.0"])
    await fungal.ok("blue_realm_ack", { all: true })
    const resource = await fungal.client.readResource({ uri: "blue://notifications" })
    expect(JSON.parse((resource.contents[0] as any).text).notifications).toEqual([])
    // The break lands the way a user lands one: fungal acknowledges it explicitly (its range does not cover 2.0.0),
    // then the approver approves it and it merges.
    const acked = await fungal.ok("blue_realm_ack_proposal", { id: r.proposal.id })
    expect(acked).toMatchObject({ id: r.proposal.id, accepted_breaking: true, merged: false, status: "open" })
    const approved = await aperture.ok("blue_realm_approve", { id: r.proposal.id })
    expect(approved).toMatchObject({ id: r.proposal.id, merged: true, status: "merged", to: "2.0.0" })
  })

  it("after unsubscribing, messages still arrive (at the level asked for) but resource updates stop", async () => {
    await fungal.client.unsubscribeResource({ uri: "blue://notifications" })
    await fungal.client.setLoggingLevel("debug")
    fungal.messages.length = 0
    fungal.updated.length = 0
    const r = await aperture.ok("blue_realm_export", { name: S3, value: { read: ["a/*", "z/*"] } })
    expect(r.version).toBe("2.1.0")
    const message = await waitFor(
      "the notice",
      () => fungal.messages.find((m) => m.data?.type === "notification") ?? undefined
    )
    expect(message).toMatchObject({ level: "notice", data: { notification: { version: "2.1.0" } } })
    // The update would have been sent just before the message.
    await new Promise((r) => setTimeout(r, 200))
    expect(fungal.updated).toEqual([])
    await fungal.ok("blue_realm_ack", { all: true })
  })

  it("a signal ends the server like a closed stdin: exit 0 and its session deregistered", async () => {
    const listed = () =>
      (ok(blue(ML, "realm", "sessions", "--json"), "sessions").json().sessions as Array<any>).filter((s) =>
        s.client_id === "mcp" && s.repo === ML
      )
    const before = listed().length
    const child = spawn(process.execPath, [BLUE_BIN, "mcp"], { cwd: ws.path(ML), env })
    let err = ""
    child.stderr.on("data", (d) => (err += d))
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve))
    await waitFor("its session", () => listed().length === before + 1 || undefined)
    child.kill("SIGTERM")
    expect(await exited, err).toBe(0)
    expect(listed().length).toBe(before)
  })
})
