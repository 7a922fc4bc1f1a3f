// `blue mcp` (stdio) in one run, driven by the official MCP client: (1) start-up — spawn + initialize + tools/list
// until the list arrives — vs `node -e 0` and vs one CLI `blue realm status --json`; (2) a read tool call
// (blue_realm_status) on a running server, median and p95, vs one CLI status spawn; (3) a write tool call
// (blue_realm_export, alternating two values) vs the same export through a CLI spawn. Interleaved runs, medians.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const BIN = fileURLToPath(new URL("../bin/blue.js", import.meta.url))
const SPAWNS = Number(process.argv[2] ?? 15)
const CALLS = Number(process.argv[3] ?? 200)
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-bench-mcp-")))
const cleanup = () => fs.rmSync(root, { recursive: true, force: true })
const who = { name: "Bench", email: "bench@example.com" }
const env = {
  ...process.env,
  BLUE_HOME: path.join(root, "home"),
  BLUE_USER: who.email,
  BLUE_DAEMON: "off",
  GIT_AUTHOR_NAME: who.name,
  GIT_AUTHOR_EMAIL: who.email,
  GIT_COMMITTER_NAME: who.name,
  GIT_COMMITTER_EMAIL: who.email
}
const blue = (cwd, ...args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`blue ${args.join(" ")}: exit ${r.status}\n${r.stderr}`)
  return r.stdout
}

// Set-up: a realm with two members, a domain and a published contract.
blue(root, "realm", "admin", "init", "--name", "bench")
for (const name of ["aperture", "fungal"]) {
  const dir = path.join(root, name)
  fs.mkdirSync(dir)
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: dir, env })
  fs.writeFileSync(path.join(dir, "README.md"), `# ${name}\n`)
  execFileSync("git", ["add", "."], { cwd: dir, env })
  execFileSync("git", ["commit", "-q", "-m", "init"], { cwd: dir, env })
  blue(dir, "realm", "admin", "join", "../realm-bench")
}
const app = path.join(root, "aperture")
blue(app, "realm", "admin", "domain", "create", "s3-access", "--repos", "aperture,fungal", "--contract", "s3-permissions")
const VALUES = [{ read: ["a/*"] }, { read: ["a/*", "b/*"] }]
blue(app, "realm", "export", "--name", "s3-permissions", "--value", JSON.stringify(VALUES[0]))
// Each write publishes the other value than the one before it (whether by tool or CLI), so every write is a bump.
let flip = 0
const nextValue = () => VALUES[(flip = 1 - flip)]

const connect = async () => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "mcp"],
    cwd: app,
    env,
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr?.on("data", (d) => (stderr += d))
  const client = new Client({ name: "blue-bench", version: "1.0.0" })
  await client.connect(transport) // initialize + notifications/initialized
  const { tools } = await client.listTools()
  if (!tools.some((t) => t.name === "blue_realm_status")) throw new Error(`no blue_realm_status tool\n${stderr}`)
  const call = async (name, args = {}) => {
    const r = await client.callTool({ name, arguments: args })
    if (r.isError === true) throw new Error(`${name}: ${JSON.stringify(r.content)}\n${stderr}`)
    return r
  }
  return { client, call }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
const time = (f) => {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}
const timeAsync = async (f) => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}
const ms = (x) => +x.toFixed(1)
const ratio = (a, b) => +(a / b).toPrecision(3)

let server
try {
  // (1) start-up, interleaved; one warm-up of each (also fills the code cache).
  const startMcp = async () => {
    let c
    const t = await timeAsync(async () => (c = await connect()))
    await c.client.close()
    return t
  }
  const cliStatus = () => blue(app, "realm", "status", "--json")
  spawnSync(process.execPath, ["-e", "0"])
  cliStatus()
  await startMcp()
  const node = []
  const cli = []
  const start = []
  for (let i = 0; i < SPAWNS; i++) {
    node.push(time(() => spawnSync(process.execPath, ["-e", "0"])))
    cli.push(time(cliStatus))
    start.push(await startMcp())
  }
  const nodeMs = median(node)
  const cliStatusMs = median(cli)
  const mcpStartMs = median(start)
  console.log(`start-up (median of ${SPAWNS}): node -e 0 ${ms(nodeMs)} ms, blue realm status --json ${ms(cliStatusMs)} ms,`
    + ` blue mcp to tools/list ${ms(mcpStartMs)} ms`)
  console.log(`  mcp start / node ${ratio(mcpStartMs, nodeMs)}x, mcp start / cli status ${ratio(mcpStartMs, cliStatusMs)}x`)

  // (2) blue_realm_status on a running server
  server = await connect()
  await server.call("blue_realm_status")
  const status = []
  for (let i = 0; i < CALLS; i++) status.push(await timeAsync(() => server.call("blue_realm_status")))
  const toolStatusMs = median(status)
  const toolStatusP95Ms = pct(status, 95)
  console.log(`blue_realm_status tool (${CALLS} calls): median ${ms(toolStatusMs)} ms, p95 ${ms(toolStatusP95Ms)} ms;`
    + ` one CLI status spawn ${ms(cliStatusMs)} ms → ${ratio(cliStatusMs, toolStatusMs)}x`)

  // (3) blue_realm_export vs `blue realm export` spawns, interleaved; one warm-up of each.
  const toolExport = () => server.call("blue_realm_export", { name: "s3-permissions", value: nextValue() })
  const cliExport = () => blue(app, "realm", "export", "--name", "s3-permissions", "--value", JSON.stringify(nextValue()))
  await toolExport()
  cliExport()
  const exTool = []
  const exCli = []
  for (let i = 0; i < CALLS; i++) {
    exTool.push(await timeAsync(toolExport))
    if (i < SPAWNS) exCli.push(time(cliExport))
  }
  const toolExportMs = median(exTool)
  const cliExportMs = median(exCli)
  console.log(`blue_realm_export tool (${CALLS} calls): median ${ms(toolExportMs)} ms, p95 ${ms(pct(exTool, 95))} ms;`
    + ` CLI export spawn (${SPAWNS}) ${ms(cliExportMs)} ms → ${ratio(cliExportMs, toolExportMs)}x`)
  const final = JSON.parse(blue(app, "realm", "status", "--json"))
  const version = JSON.stringify(final).match(/"version":"(\d+\.\d+\.\d+)"/)?.[1]
  if (version !== undefined) console.log(`  s3-permissions is now at ${version}`)

  console.log(JSON.stringify({
    bench: "mcp",
    spawns: SPAWNS,
    calls: CALLS,
    node_ms: ms(nodeMs),
    mcp_start_ms: ms(mcpStartMs),
    cli_status_ms: ms(cliStatusMs),
    start_vs_node: ratio(mcpStartMs, nodeMs),
    start_vs_cli_status: ratio(mcpStartMs, cliStatusMs),
    tool_status_ms: ms(toolStatusMs),
    tool_status_p95_ms: ms(toolStatusP95Ms),
    status_tool_vs_cli: ratio(toolStatusMs, cliStatusMs),
    tool_export_ms: ms(toolExportMs),
    cli_export_ms: ms(cliExportMs),
    export_tool_vs_cli: ratio(toolExportMs, cliExportMs)
  }))
} finally {
  await server?.client.close().catch(() => undefined)
  cleanup()
}
process.exit(0)
