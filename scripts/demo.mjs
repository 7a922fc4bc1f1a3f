// The newcomer's tour: builds a temp workspace with the seed's three repos and walks the realm story with the
// real `blue` binary, printing every command and what it answered.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { spawn, spawnSync } from "node:child_process"
import * as net from "node:net"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const BIN = fileURLToPath(new URL("../bin/blue.js", import.meta.url))
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-demo-")))
const env = {
  ...process.env,
  BLUE_HOME: path.join(root, ".blue-home"),
  BLUE_USER: "eric@example.com",
  GIT_AUTHOR_NAME: "Eric",
  GIT_AUTHOR_EMAIL: "eric@example.com",
  GIT_COMMITTER_NAME: "Eric",
  GIT_COMMITTER_EMAIL: "eric@example.com"
}
// The daemon of this demo: its own port and PID directory, stopped when the demo ends.
const freePort = () =>
  new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const port = srv.address().port
      srv.close(() => resolve(port))
    })
  })
env.BLUE_DAEMON_PORT = String(await freePort())
env.XDG_RUNTIME_DIR = path.join(root, ".run")
process.on("exit", () => spawnSync(process.execPath, [BIN, "daemon", "stop"], { env, stdio: "ignore" }))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
let failures = 0

const step = (title) => console.log(`\n${bold(`── ${title} ──`)}`)
const sh = (cwd, cmd, args) => {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`)
  return r.stdout
}
const blue = (cwd, args, { expectFailure = false, expectCode, extraEnv = {}, machine } = {}) => {
  const shown = args.map((a) => (/[\s*"^>]/.test(a) ? `'${a}'` : a)).join(" ")
  const prefix = Object.entries(extraEnv).map(([k, v]) => `${k}=${v} `).join("")
  const where = machine === undefined ? "" : `[${machine.name}] `
  console.log(`${bold(`${where}${path.basename(cwd)} $`)} ${prefix}blue ${shown}`)
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...(machine?.env ?? env), ...extraEnv },
    encoding: "utf8"
  })
  const out = (r.stdout + r.stderr).trimEnd()
  if (out) console.log(out.replace(/^/gm, "  "))
  const ok = expectCode !== undefined ? r.status === expectCode : (r.status !== 0) === expectFailure
  if (!ok) {
    failures++
    console.log(`  !! unexpected exit code ${r.status}`)
  } else if (r.status !== 0) console.log(`  (exit code ${r.status}, as expected)`)
  return r
}
const edit = (dir, file, content) => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
  fs.writeFileSync(path.join(dir, file), content)
  console.log(`${bold(`${path.basename(dir)} $`)} # edit ${file}`)
  console.log(content.trimEnd().replace(/^/gm, "  | "))
}
const repo = (name, files) => {
  const dir = path.join(root, name)
  fs.mkdirSync(dir, { recursive: true })
  sh(dir, "git", ["init", "-q", "-b", "main"])
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    fs.writeFileSync(path.join(dir, file), content)
  }
  sh(dir, "git", ["add", "-A"])
  sh(dir, "git", ["commit", "-qm", "initial"])
  return dir
}

console.log(`Blue realms demo — workspace ${root}`)
const aperture = repo("aperture", {
  "models/training/s3_paths.py": [
    "from models.shared.s3 import read_path, write_path",
    "",
    "MASKS = read_path(\"s3://bucket/jobs/*/masks/*\")",
    "CONFIGS = read_path(\"s3://bucket/jobs/*/*/config.json\")",
    "RUNS = read_path(\"s3://bucket/training-runs/*\")",
    "METRICS = read_path(\"s3://bucket/training-metrics/*\")",
    "MANIFESTS = write_path(\"s3://bucket/jobs/*/*/manifest.json\")",
    "METRICS_OUT = write_path(\"s3://bucket/training-metrics/*\")",
    ""
  ].join("\n"),
  "contracts/s3-permissions.schema.yaml": [
    "type: object",
    "required: [read]",
    "properties:",
    "  read: { type: array, items: { type: string } }",
    "  write: { type: array, items: { type: string }, default: [] }",
    "  delete: { type: array, items: { type: string }, default: [] }",
    ""
  ].join("\n")
})
const fungal = repo("fungal-image-analysis", {
  "cdk/training_tools_access_stack.py": "# grants aperture read access to the paths in s3-permissions\n"
})
const mlInfra = repo("ml-infra", { "pipelines/jobs.py": "# consumes fungal's job schema\n" })

step("1. Create the realm (a git repo on a local path: no server needed)")
blue(root, ["realm", "admin", "init", "--name", "letemcook"])
const realmDir = path.join(root, "realm-letemcook")

step("2. aperture joins")
blue(aperture, ["realm", "admin", "join", "../realm-letemcook"])

step("3. aperture creates the s3-access domain: aperture exports s3-permissions, fungal imports it")
blue(aperture, [
  "realm",
  "admin",
  "domain",
  "create",
  "s3-access",
  "--repos",
  "aperture,fungal-image-analysis",
  "--contract",
  "s3-permissions"
])

step("4. fungal-image-analysis joins and finds its import waiting")
blue(fungal, ["realm", "admin", "join", "letemcook"])

step("5. fungal exports job-schema to ml-infra (fungal is provider here, consumer in s3-access)")
blue(fungal, [
  "realm",
  "admin",
  "domain",
  "create",
  "training-pipeline",
  "--repos",
  "fungal-image-analysis,ml-infra",
  "--contract",
  "job-schema"
])
blue(mlInfra, ["realm", "admin", "join", "../realm-letemcook"])

step("6. Status from each side")
blue(aperture, ["realm", "status"])
blue(fungal, ["status"])

step("7. The dependency graph")
blue(fungal, ["realm", "graph"])
blue(fungal, ["realm", "graph", "--format", "mermaid"])

step("8. A domain that would close a cycle is refused, naming the cycle")
blue(mlInfra, ["realm", "admin", "domain", "create", "feedback-loop", "--repos", "ml-infra,aperture"], {
  expectFailure: true
})

step("9. aperture tells Blue where its S3 paths live in code, and publishes the contract's first value")
fs.appendFileSync(
  path.join(aperture, ".blue/config.yaml"),
  [
    "exports:",
    "  s3-permissions:",
    "    pattern:",
    "      fields:",
    "        read: 'read_path\\(\"s3://[^/]+/([^\"]+)\"\\)'",
    "        write: 'write_path\\(\"s3://[^/]+/([^\"]+)\"\\)'",
    ""
  ].join("\n")
)
console.log(fs.readFileSync(path.join(aperture, ".blue/config.yaml"), "utf8").trimEnd().replace(/^/gm, "  | "))
blue(aperture, [
  "realm",
  "export",
  "--name",
  "s3-permissions",
  "--detect",
  "--source-files",
  "models/**/*.py",
  "--schema",
  "contracts/s3-permissions.schema.yaml"
])
const importS3 = [
  "realm",
  "import",
  "--contract",
  "s3-permissions",
  "--domain",
  "s3-access",
  "--version",
  ">=1.0.0, <2.0.0",
  "--binding",
  "cdk/training_tools_access_stack.py"
]
blue(fungal, importS3)
blue(aperture, ["realm", "check", "--mode", "exporter"])
blue(fungal, ["realm", "check", "--mode", "importer"])

step("10. Daily development: aperture adds training-metrics/experiments/* in code")
edit(
  aperture,
  "models/training/metrics_exporter.py",
  "from models.shared.s3 import read_path\n\nEXPERIMENTS = read_path(\"s3://bucket/training-metrics/experiments/*\")\n"
)
blue(aperture, ["status"])
blue(aperture, ["realm", "check", "--mode", "exporter"], { expectCode: 1 })

step("10b. fungal watches the realm live — a terminal watcher and its coding agent over MCP — while aperture syncs")
blue(root, ["daemon", "start"])
console.log(`${bold("fungal-image-analysis $")} blue realm sessions --watch --json   # in the background`)
const watcher = spawn(process.execPath, [BIN, "realm", "sessions", "--watch", "--json"], { cwd: fungal, env })
const received = []
let pending = ""
watcher.stdout.on("data", (d) => {
  pending += d
  const lines = pending.split("\n")
  pending = lines.pop()
  for (const l of lines) if (l.trim() !== "") received.push({ at: Date.now(), msg: JSON.parse(l) })
})
for (let i = 0; i < 100; i++) {
  const r = spawnSync(process.execPath, [BIN, "realm", "sessions", "--json"], { cwd: fungal, env, encoding: "utf8" })
  if (r.status === 0 && JSON.parse(r.stdout).sessions.some((x) => x.client_id === "watch")) break
  await sleep(50)
}
console.log(`${bold("fungal-image-analysis $")} blue mcp   # fungal's coding agent, over MCP (the official client)`)
const agent = new Client({ name: "demo-agent", version: "1.0.0" })
const agentHeard = []
agent.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void agentHeard.push(n.params.data))
await agent.connect(
  new StdioClientTransport({ command: process.execPath, args: [BIN, "mcp"], cwd: fungal, env, stderr: "ignore" })
)
console.log(`  tools: ${(await agent.listTools()).tools.map((t) => t.name).join(", ")}`)
for (let i = 0; i < 100; i++) {
  const r = spawnSync(process.execPath, [BIN, "realm", "sessions", "--json"], { cwd: fungal, env, encoding: "utf8" })
  if (r.status === 0 && JSON.parse(r.stdout).sessions.some((x) => x.client_id === "mcp")) break
  await sleep(50)
}
blue(fungal, ["realm", "sessions"])
// With the daemon running, the write is handed to it (one writer): BLUE_DEBUG_PATH=1 says which path it took.
// fungal imports s3-permissions, so the change does not land on main: it becomes a proposal fungal is asked to review.
blue(aperture, ["realm", "sync"], { extraEnv: { BLUE_DEBUG_PATH: "1" } })
const exported = Date.now()
const heard = () => received.some((r) => r.msg.type === "notification") && agentHeard.some((d) => d.type === "notification")
for (let i = 0; i < 60 && !heard(); i++) await sleep(50)
const note = received.find((r) => r.msg.type === "notification")
if (note === undefined) {
  failures++
  console.log("  !! the watcher received no notification")
} else {
  const n = note.msg.notification
  console.log(`  fungal's watcher received, ${Math.max(0, note.at - exported)} ms after the sync returned:`)
  console.log(`  🔔 #${n.id} ${n.from_repo}: ${n.contract} ${n.change_type} → ${n.version}: ${n.changes.join("; ")}`)
}
const agentNote = agentHeard.find((d) => d.type === "notification")
if (agentNote === undefined) {
  failures++
  console.log("  !! the MCP client received no notification")
} else {
  console.log("  fungal's agent received notifications/message from blue mcp:")
  console.log(agentNote.summary.replace(/^/gm, "  "))
}
const viaTool = await agent.callTool({ name: "blue_realm_status", arguments: {} })
console.log(`  blue_realm_status → ${viaTool.structuredContent.notifications.length} notification(s) waiting for an ack`)
await agent.close()
watcher.kill("SIGINT")

const stack = (read) =>
  [
    "# grants aperture access to the paths in s3-permissions",
    `READ = [${read.map((p) => JSON.stringify(p)).join(", ")}]`,
    `WRITE = ["jobs/*/*/manifest.json", "training-metrics/*"]`,
    ""
  ].join("\n")
const granted = ["jobs/*/masks/*", "jobs/*/*/config.json", "training-runs/*", "training-metrics/*"]

step("11. fungal's status shows the proposal; fungal updates its IAM policy and syncs: acknowledged, merged")
blue(fungal, ["status"])
console.log("  fungal grants the new path in its CDK stack, then syncs: its range accepts 1.1.0, so it acknowledges,")
console.log("  everyone affected has answered, so the proposal merges, and fungal's binding moves to 1.1.0")
edit(fungal, "cdk/training_tools_access_stack.py", stack([...granted, "training-metrics/experiments/*"]))
blue(fungal, ["realm", "sync"])
blue(fungal, ["realm", "check", "--mode", "importer"])
blue(aperture, ["realm", "check", "--mode", "compatibility", "--from", "1.0.0", "--to", "1.1.0"])

step("12. A breaking change waits for the approver: aperture stops reading training-runs/*, which fungal relies on")
edit(
  aperture,
  "models/training/s3_paths.py",
  fs.readFileSync(path.join(aperture, "models/training/s3_paths.py"), "utf8").replace(/^RUNS = .*\n/m, "")
)
const opened = blue(aperture, ["realm", "sync"])
const breakingId = /^✓ Proposal (\S+) created for review$/m.exec(opened.stdout)?.[1] ?? "(no proposal)"
console.log("  fungal's range >=1.0.0, <2.0.0 does not accept 2.0.0: its sync reports the break and acknowledges nothing")
blue(fungal, ["status"])
blue(fungal, ["realm", "sync"], { expectCode: 1 })
console.log("  fungal has seen the break and will adapt: it acknowledges explicitly")
blue(fungal, ["realm", "ack", breakingId])
console.log("  eric is the realm's approver (init recorded him): he approves from the realm's checkout, and it merges")
blue(realmDir, ["realm", "admin", "approve", breakingId])
console.log("  fungal's binding is broken until it widens its range, so its CI fails")
blue(fungal, ["status"])
blue(fungal, ["realm", "check", "--mode", "importer"], { expectCode: 1 })
console.log("  fungal revokes the grant and moves its import to the new major version")
edit(
  fungal,
  "cdk/training_tools_access_stack.py",
  stack([...granted.filter((p) => p !== "training-runs/*"), "training-metrics/experiments/*"])
)
const importS3v2 = importS3.map((a) => (a === ">=1.0.0, <2.0.0" ? "^2.0.0" : a))
blue(fungal, importS3v2)
blue(fungal, ["realm", "check", "--mode", "importer"])

step("13. Hooks and trust: the contract names an importer check; fungal runs it only once it trusts the script")
edit(aperture, "contracts/s3-permissions.validation.yaml", "importer: scripts/check-iam-grants.sh\n")
blue(aperture, [
  "realm",
  "export",
  "--name",
  "s3-permissions",
  "--detect",
  "--validation",
  "contracts/s3-permissions.validation.yaml"
])
edit(
  fungal,
  "scripts/check-iam-grants.sh",
  [
    "#!/bin/sh",
    "# stdin: the contract as JSON. Every path it lists must be granted in the CDK stack.",
    "exec node -e '",
    "const c = JSON.parse(require(\"fs\").readFileSync(0, \"utf8\"))",
    "const stack = require(\"fs\").readFileSync(\"cdk/training_tools_access_stack.py\", \"utf8\")",
    "const paths = [...(c.value.read ?? []), ...(c.value.write ?? [])]",
    "const missing = paths.filter((p) => !stack.includes(JSON.stringify(p)))",
    "console.log(missing.length ? `not granted: ${missing.join(\", \")}` : `all ${paths.length} paths granted`)",
    "process.exit(missing.length ? 1 : 0)'",
    ""
  ].join("\n")
)
fs.chmodSync(path.join(fungal, "scripts/check-iam-grants.sh"), 0o755)
console.log("  the new hook is a compatible change fungal's range accepts: fungal's sync acknowledges it and it merges")
blue(fungal, ["realm", "sync"])
console.log("  the script comes from fungal's own checkout, but a realm contract asked for it: not run until trusted")
blue(fungal, ["realm", "check", "--mode", "importer"], { expectCode: 2 })
blue(fungal, ["realm", "trust", "scripts/check-iam-grants.sh"])
blue(fungal, ["realm", "check", "--mode", "importer"])

step("13b. A coordinated change: training-metrics-v2 gets one branch and a linked worktree in every repo it spans, then PRs in merge order")
for (const dir of [aperture, fungal, mlInfra]) {
  const bare = path.join(root, "remotes", `${path.basename(dir)}.git`)
  sh(root, "git", ["init", "-q", "--bare", bare])
  sh(dir, "git", ["remote", "add", "origin", bare])
}
console.log("  (each repo gets a bare repo as its origin, standing in for its git server)")
blue(fungal, ["realm", "worktree", "--rfc", "training-metrics-v2"])
const wt = ".worktrees/feat-training-metrics-v2"
edit(path.join(aperture, wt), "models/training/metrics_exporter.py", "EXPERIMENTS = write_path(\"s3://bucket/training-metrics/experiments/*\")\n")
edit(path.join(fungal, wt), "cdk/training_tools_access_stack.py", stack([...granted, "training-metrics/experiments/*"]))
blue(fungal, ["realm", "commit", "-m", "feat: add experiment metrics with IAM support"])
blue(fungal, ["realm", "push"])
console.log("  the remotes are plain git (no forge), so the PRs are local PRs, recorded in the realm in merge order")
blue(fungal, ["realm", "pr", "--title", "feat: training metrics v2"])
blue(aperture, ["realm", "status"])
console.log(`  ${path.join(aperture, wt)} is a real linked worktree:`)
console.log(sh(aperture, "git", ["worktree", "list"]).trimEnd().replace(/^/gm, "  "))

step("14. The realm's own CI: contracts are valid and every commit touched only what its author may touch")
blue(realmDir, ["realm", "check", "--mode", "contract"])
blue(realmDir, ["realm", "check", "--mode", "realm"])

step("15. The audit trail: every step above is an event, recorded in git and in daemon.db, and replays to the same state")
blue(realmDir, ["realm", "log"])
blue(realmDir, ["realm", "replay", "--verify"])
blue(root, ["daemon", "stop"])

step("16. The realm's files")
for (const f of sh(realmDir, "git", ["ls-files"]).split("\n").filter((f) => f && !f.startsWith("events/"))) {
  console.log(`  ${f}`)
}

step("17. A second machine: the realm on a git server, fungal's laptop hearing aperture's change through it")
// A loopback git server (git http-backend behind node:http, with basic auth), in its own process: the demo's
// commands run synchronously and would otherwise stall it.
const serverRoot = path.join(root, "git-server")
const DEMO_TOKEN = "demo-token-not-a-secret"
const SERVER = fileURLToPath(new URL("./gitServer.mjs", import.meta.url))
const gitServer = spawn(process.execPath, [SERVER, "--root", serverRoot], {
  env: { ...process.env, BLUE_GIT_SERVER_TOKEN: DEMO_TOKEN },
  stdio: ["ignore", "pipe", "inherit"]
})
process.on("exit", () => gitServer.kill("SIGTERM"))
const { port: gitPort } = await new Promise((resolve, reject) => {
  let out = ""
  gitServer.stdout.on("data", (d) => {
    out += d
    if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0]))
  })
  gitServer.once("exit", (code) => reject(new Error(`the git server exited (${code})`)))
})
sh(serverRoot, "git", ["init", "--quiet", "--bare", "--initial-branch=main", "letemcook.git"])
const url = `http://127.0.0.1:${gitPort}/letemcook.git`
console.log(`  a git server on ${url} (an empty bare repo; basic auth, the token in BLUE_REALM_TOKEN)`)
// Each machine: its own BLUE_HOME, daemon (port, PID directory) and checkouts; the server fetched every 500 ms.
const machineAt = async (name) => {
  const dir = path.join(root, name)
  fs.mkdirSync(path.join(dir, ".run"), { recursive: true, mode: 0o700 })
  const menv = {
    ...env,
    BLUE_HOME: path.join(dir, ".blue-home"),
    BLUE_DAEMON_PORT: String(await freePort()),
    XDG_RUNTIME_DIR: path.join(dir, ".run"),
    BLUE_REALM_TOKEN: DEMO_TOKEN,
    BLUE_REALM_SYNC_INTERVAL_MS: "500"
  }
  process.on("exit", () => spawnSync(process.execPath, [BIN, "daemon", "stop"], { env: menv, stdio: "ignore" }))
  return { name, dir, env: menv }
}
const laptopA = await machineAt("aperture-laptop")
const laptopB = await machineAt("fungal-laptop")
const checkout = (m, name, files) => {
  const dir = path.join(m.dir, name)
  fs.mkdirSync(dir, { recursive: true })
  sh(dir, "git", ["init", "-q", "-b", "main"])
  for (const [file, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), content)
  sh(dir, "git", ["add", "-A"])
  sh(dir, "git", ["commit", "-qm", "initial"])
  return dir
}
const apertureA = checkout(laptopA, "aperture", { "README.md": "# aperture\n" })
const fungalB = checkout(laptopB, "fungal-image-analysis", { "README.md": "# fungal-image-analysis\n" })
blue(laptopA.dir, ["realm", "admin", "init", "--name", "letemcook", "--remote", url], { machine: laptopA })
blue(apertureA, ["realm", "admin", "join", url], { machine: laptopA })
blue(apertureA, [
  "realm",
  "admin",
  "domain",
  "create",
  "s3-access",
  "--repos",
  "aperture,fungal-image-analysis",
  "--contract",
  "s3-permissions"
], { machine: laptopA })
blue(fungalB, ["realm", "join", url], { machine: laptopB })
blue(laptopA.dir, ["daemon", "start"], { machine: laptopA })
blue(laptopB.dir, ["daemon", "start"], { machine: laptopB })
// aperture's coding session on laptop A (a watcher registers one), fungal's watcher on laptop B.
const follow = (m, cwd) => {
  const child = spawn(process.execPath, [BIN, "realm", "sessions", "--watch", "--json"], { cwd, env: m.env })
  const got = []
  let rest = ""
  child.stdout.on("data", (d) => {
    rest += d
    const lines = rest.split("\n")
    rest = lines.pop()
    for (const l of lines) if (l.trim() !== "") got.push({ at: Date.now(), msg: JSON.parse(l) })
  })
  return { child, got }
}
console.log(`${bold("[aperture-laptop] aperture $")} blue realm sessions --watch --json   # in the background`)
const onA = follow(laptopA, apertureA)
console.log(`${bold("[fungal-laptop] fungal-image-analysis $")} blue realm sessions --watch --json   # background`)
const onB = follow(laptopB, fungalB)
// aperture's session as fungal's laptop lists it (from aperture's blue/sessions/<machine> branch on the server).
const remoteSession = () => {
  const r = spawnSync(process.execPath, [BIN, "realm", "sessions", "--json"], {
    cwd: fungalB,
    env: laptopB.env,
    encoding: "utf8"
  })
  return r.status === 0 ? JSON.parse(r.stdout).remote.find((x) => x.repo === "aperture") : undefined
}
let seenRemote
for (let i = 0; i < 200 && (seenRemote = remoteSession()) === undefined; i++) await sleep(50)
if (seenRemote === undefined) {
  failures++
  console.log("  !! fungal's laptop never saw aperture's session")
} else {
  const ms = Date.now() - Date.parse(seenRemote.started_at)
  console.log(`  fungal's laptop lists aperture's session (on ${seenRemote.machine}) ${ms} ms after it started`)
}
blue(fungalB, ["realm", "sessions"], { machine: laptopB })
blue(apertureA, ["realm", "export", "--name", "s3-permissions", "--value", "{\"read\":[\"jobs/*/masks/*\"]}"], {
  machine: laptopA
})
const exportedA = Date.now()
const heardB = () => onB.got.find((r) => r.msg.type === "notification")
for (let i = 0; i < 200 && heardB() === undefined; i++) await sleep(25)
const noteB = heardB()
if (noteB === undefined) {
  failures++
  console.log("  !! fungal's laptop received no notification")
} else {
  const n = noteB.msg.notification
  const ms = Math.max(0, noteB.at - exportedA)
  console.log(`  fungal's watcher on the other laptop received, ${ms} ms after the export returned:`)
  console.log(`  🔔 #${n.id} ${n.from_repo}: ${n.contract} ${n.change_type} → ${n.version}`)
}
blue(fungalB, ["status"], { machine: laptopB })
onA.child.kill("SIGINT")
onB.child.kill("SIGINT")
blue(fungalB, ["realm", "log"], { machine: laptopB })
blue(laptopA.dir, ["daemon", "stop"], { machine: laptopA })
blue(laptopB.dir, ["daemon", "stop"], { machine: laptopB })
console.log("  the server's branches: main (the realm) and one blue/sessions/<machine> per laptop (who works where)")
const serverRefs = sh(path.join(serverRoot, "letemcook.git"), "git", ["for-each-ref", "--format=%(refname)"])
for (const line of serverRefs.split("\n")) if (line !== "") console.log(`  ${line}`)
gitServer.kill("SIGTERM")

console.log(
  `\n${
    failures === 0 ? "✓ Demo finished" : `✗ Demo finished with ${failures} unexpected results`
  }. Explore it: cd ${root} (BLUE_HOME=${env.BLUE_HOME})`
)
process.exitCode = failures === 0 ? 0 : 1
