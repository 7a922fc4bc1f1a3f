// Scale: a generated realm of 1,000 member repos and 1,000 contracts, built through the engine (one command = one
// commit, as the product does it), then the real CLI timed on it: status (member and admin view, fast path),
// check --mode contract, graph --format dot, and status with a pattern extractor (full engine + detection) cold
// (after `cache clear`) and warm. Prints one JSON line. Usage: node bench/scale.mjs [repos] [runs]
// Generation takes minutes: BLUE_BENCH_KEEP=1 keeps the temp dir (its path is printed on stderr), and
// BLUE_BENCH_REUSE=<that dir> measures it again without generating (the realm must be unchanged since).
//
// Deviation from "500 domains / 1,000 contracts": the engine has no command that adds a second contract to an
// existing domain (CreateDomain makes exactly one, PublishContract only publishes existing ones), so the realm
// gets 1,000 domains with one contract each, two per provider: domain k is provided by repo ⌊k/2⌋ and consumed by
// repo ⌊k/2⌋+1 (even k: a 500-deep chain) or ⌊k/2⌋+500 (odd k). Every edge goes from a lower to a higher index,
// so no cycle forms. Each contract then gets a real schema and value with PublishContract by its owner.
import Database from "better-sqlite3"
import { Effect, Layer, ManagedRuntime } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { IdsLive, RealmGitLive, RealmLockLive, Realms, SqliteEventLogLive } from "../dist/index.js"

const REPOS = Number(process.argv[2] ?? 1000)
const RUNS = Number(process.argv[3] ?? 7)
const DOMAINS = REPOS // one contract per domain, two domains per provider (see above)
const PROVIDERS = REPOS / 2
const GOAL_MS = 1000
const USER = "bench@example.com"
const SOURCE_FILES = 300 // files the pattern extractor scans in the detecting member repo

const BIN = fileURLToPath(new URL("../bin/blue.js", import.meta.url))
const REUSE = process.env.BLUE_BENCH_REUSE
const root = REUSE ? fs.realpathSync(REUSE) : fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-bench-scale-")))
const home = path.join(root, "home")
const reposDir = path.join(root, "repos")
const realmDir = path.join(root, "realm-scale")
const GEN_FILE = path.join(root, "generation.json")
if (!REUSE) fs.mkdirSync(home, { mode: 0o700 })
const env = { ...process.env, BLUE_HOME: home, BLUE_USER: USER, BLUE_DAEMON: "off" }
if (process.env.BLUE_BENCH_KEEP) process.stderr.write(`[scale] keeping ${root} (BLUE_BENCH_KEEP)\n`)
const log = (...a) => process.stderr.write(`[scale] ${a.join(" ")}\n`)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const round = (x, d = 1) => +x.toFixed(d)
const pad = (i) => String(i).padStart(4, "0")
const repoName = (i) => `svc-${pad(i)}`
const domainName = (k) => `dom-${pad(k)}`
const provider = (k) => Math.floor(k / 2)
const consumer = (k) => (k % 2 === 0 ? provider(k) + 1 : provider(k) + PROVIDERS)

let cleaned = false
const cleanup = () => {
  if (cleaned || process.env.BLUE_BENCH_KEEP || REUSE) return
  cleaned = true
  fs.rmSync(root, { recursive: true, force: true })
}
process.on("exit", cleanup)

const schema = {
  type: "object",
  properties: {
    read: { type: "array", items: { type: "string" } },
    write: { type: "array", items: { type: "string" } }
  },
  required: ["read"]
}
const valueOf = (k) => ({
  read: Array.from({ length: 5 }, (_, j) => `bucket-${k}/in/${j}/*`),
  write: [`bucket-${k}/out/*`]
})

// ---- 1. generate ---------------------------------------------------------------------------------------------
const generate = async () => {
  fs.mkdirSync(reposDir)
  // `git init` costs ~20 ms per repo here; measure it on a sample, then make the rest as minimal valid .git dirs.
  const GIT_INIT_SAMPLE = Math.min(20, REPOS)
  const tInit = performance.now()
  for (let i = 0; i < GIT_INIT_SAMPLE; i++) {
    const dir = path.join(reposDir, repoName(i))
    fs.mkdirSync(dir)
    execFileSync("git", ["init", "-q"], { cwd: dir, stdio: "pipe" })
  }
  const gitInitMs = (performance.now() - tInit) / GIT_INIT_SAMPLE
  const tSkel = performance.now()
  for (let i = GIT_INIT_SAMPLE; i < REPOS; i++) {
    const g = path.join(reposDir, repoName(i), ".git")
    fs.mkdirSync(path.join(g, "objects"), { recursive: true })
    fs.mkdirSync(path.join(g, "refs", "heads"), { recursive: true })
    fs.writeFileSync(path.join(g, "HEAD"), "ref: refs/heads/main\n")
    fs.writeFileSync(path.join(g, "config"), "[core]\n\trepositoryformatversion = 0\n\tbare = false\n")
  }
  const skeletonMs = (performance.now() - tSkel) / Math.max(1, REPOS - GIT_INIT_SAMPLE)
  if (REPOS > GIT_INIT_SAMPLE) {
    // the skeleton must be a repo git accepts
    execFileSync("git", ["rev-parse", "--git-dir"], { cwd: path.join(reposDir, repoName(REPOS - 1)), stdio: "pipe" })
  }
  log(`git init ${gitInitMs.toFixed(1)} ms/repo (sample of ${GIT_INIT_SAMPLE}), skeleton .git ${skeletonMs.toFixed(2)} ms/repo`)

  const layer = Realms.Default.pipe(
    Layer.provide(Layer.mergeAll(SqliteEventLogLive(path.join(home, "daemon.db")), RealmGitLive, RealmLockLive, IdsLive))
  )
  const runtime = ManagedRuntime.make(layer)
  let commits = 0
  let events = 0
  const phases = {}
  const slowest = { ms: 0, what: "" }
  const exec = async (command, actor) => {
    const t0 = performance.now()
    const out = await runtime.runPromise(Effect.flatMap(Realms, (r) => r.execute(realmDir, command, actor)))
    const ms = performance.now() - t0
    if (ms > slowest.ms) Object.assign(slowest, { ms, what: `${command._tag} #${commits + 1}` })
    commits++
    events += out.events.length
    return ms
  }
  const phase = async (name, n, f) => {
    const t0 = performance.now()
    const times = []
    for (let i = 0; i < n; i++) {
      times.push(await f(i))
      if ((i + 1) % 250 === 0) {
        log(`${name} ${i + 1}/${n}: last 250 median ${median(times.slice(-250)).toFixed(1)} ms/command`)
      }
    }
    phases[name] = {
      seconds: round((performance.now() - t0) / 1000, 2),
      firstMedianMs: round(median(times.slice(0, 50))),
      lastMedianMs: round(median(times.slice(-50)))
    }
  }

  const tGen = performance.now()
  await runtime.runPromise(Effect.flatMap(Realms, (r) => r.init(root, "scale", "open", { user: USER })))
  commits++
  events++
  await phase("join", REPOS, (i) =>
    exec(
      { _tag: "JoinRealm", repo: repoName(i), path: path.join(reposDir, repoName(i)), maintainers: [USER] },
      { repo: repoName(i), user: USER }
    ))
  await phase("createDomain", DOMAINS, (k) =>
    exec(
      { _tag: "CreateDomain", domain: domainName(k), repos: [repoName(provider(k)), repoName(consumer(k))] },
      { repo: repoName(provider(k)), user: USER }
    ))
  await phase("publish", DOMAINS, (k) =>
    exec(
      { _tag: "PublishContract", contract: domainName(k), domain: domainName(k), schema, value: valueOf(k) },
      { repo: repoName(provider(k)), user: USER }
    ))
  await runtime.dispose()
  const generateSeconds = (performance.now() - tGen) / 1000
  const realmGitObjects = execFileSync("git", ["count-objects", "-v"], { cwd: realmDir, encoding: "utf8" })
  const looseObjects = Number(/^count: (\d+)/m.exec(realmGitObjects)?.[1] ?? NaN)
  const realmGitKb = Number(/^size: (\d+)/m.exec(realmGitObjects)?.[1] ?? NaN)
  const dbMb = fs.statSync(path.join(home, "daemon.db")).size / 1e6
  log(
    `generated ${commits} commits, ${events} events in ${generateSeconds.toFixed(1)} s; ${looseObjects} loose objects (${
      (realmGitKb / 1024).toFixed(0)
    } MB), daemon.db ${dbMb.toFixed(1)} MB; slowest command ${slowest.what} ${slowest.ms.toFixed(0)} ms`
  )
  const gen = {
    events,
    commits,
    generateSeconds: round(generateSeconds),
    generatePhases: phases,
    slowestCommandMs: round(slowest.ms),
    gitInitMsPerRepo: round(gitInitMs),
    realmLooseObjects: looseObjects,
    realmGitMb: round(realmGitKb / 1024),
    daemonDbMb: round(dbMb)
  }
  fs.writeFileSync(GEN_FILE, JSON.stringify(gen))
  return gen
}

try {
  const gen = REUSE ? { ...JSON.parse(fs.readFileSync(GEN_FILE, "utf8")), reused: true } : await generate()

  // ---- 2. measure the CLI ------------------------------------------------------------------------------------
  // A plain member (fast-path eligible) and a member with a pattern extractor (full engine + detection).
  const member = path.join(reposDir, repoName(1)) // provides dom-0002/3, consumes dom-0000
  const detecting = path.join(reposDir, repoName(2)) // provides dom-0004/5, consumes dom-0002
  const writeConfig = (dir, extra = "") => {
    fs.mkdirSync(path.join(dir, ".blue"), { recursive: true })
    fs.writeFileSync(
      path.join(dir, ".blue", "config.yaml"),
      `realm:\n  name: scale\n  path: ${path.relative(dir, realmDir)}\nrepo: ${path.basename(dir)}\n${extra}`
    )
  }
  writeConfig(member)
  // `exports: {}` detects nothing but makes the fast path decline: the plain full-engine status.
  const fullMember = path.join(reposDir, repoName(3))
  writeConfig(fullMember, "exports: {}\n")
  writeConfig(
    detecting,
    [
      "exports:",
      `  ${domainName(4)}:`,
      "    pattern:",
      "      files: [\"src/**/*.ts\"]",
      "      fields:",
      "        read: 'readBucket\\(\"([^\"]+)\"\\)'",
      "        write: 'writeBucket\\(\"([^\"]+)\"\\)'",
      ""
    ].join("\n")
  )
  // Source files for the extractor: the recorded value plus one new read (so status shows a local change).
  fs.mkdirSync(path.join(detecting, "src", "jobs"), { recursive: true })
  const reads = [...valueOf(4).read, "bucket-4/in/new/*"]
  for (let f = 0; f < SOURCE_FILES; f++) {
    const lines = [`// generated file ${f}`, `export const n${f} = ${f}`]
    for (let l = 0; l < 40; l++) lines.push(`export function f${f}_${l}(x: number) { return x * ${l} + ${f} }`)
    if (f < reads.length) lines.push(`readBucket("${reads[f]}")`)
    if (f === SOURCE_FILES - 1) lines.push(`writeBucket("${valueOf(4).write[0]}")`)
    fs.writeFileSync(path.join(detecting, "src", "jobs", `job-${f}.ts`), lines.join("\n") + "\n")
  }

  const blue = (cwd, args, extraNodeArgs = []) => {
    const t0 = performance.now()
    const r = spawnSync(process.execPath, [...extraNodeArgs, BIN, ...args], {
      cwd,
      env,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      timeout: 120_000
    })
    const ms = performance.now() - t0
    if (r.error) throw new Error(`blue ${args.join(" ")}: ${r.error.message}`)
    // check exits 0 valid, 1 invalid, 2 warnings: a report on stdout is a result, not a crash
    if (r.status !== 0 && !(args.includes("check") && r.stdout.trim().startsWith("{"))) {
      throw new Error(`blue ${args.join(" ")} (exit ${r.status}): ${r.stderr}${r.stdout.slice(0, 2000)}`)
    }
    return { ms, stdout: r.stdout, status: r.status }
  }
  const timed = (label, cwd, args, runs = RUNS) => {
    const first = blue(cwd, args) // the first run also catches daemon.db up (a no-op here: generation recorded it)
    const times = []
    for (let i = 0; i < runs; i++) times.push(blue(cwd, args).ms)
    log(`${label}: first ${first.ms.toFixed(0)} ms, median of ${runs} ${median(times).toFixed(0)} ms`)
    return { first: first.ms, median: median(times), out: first }
  }

  // Did the start-up fast path answer? It leaves no trace in the output, so ask a probe loaded before the CLI
  // whether Effect's global store exists at exit (the fast path loads no Effect); it also reports peak RSS.
  const probe = "data:text/javascript," + encodeURIComponent(
    "process.on('exit',()=>process.stderr.write('\\nEFFECT_LOADED='+('effect/GlobalValue' in globalThis)+" +
      "' MAX_RSS_KB='+process.resourceUsage().maxRSS+'\\n'))"
  )
  const probed = (cwd, args = ["realm", "status", "--json"]) => {
    const r = spawnSync(process.execPath, ["--import", probe, BIN, ...args], {
      cwd,
      env,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024
    })
    const m = /EFFECT_LOADED=(true|false) MAX_RSS_KB=(\d+)/.exec(r.stderr)
    return m === null ? { fast: null, rssMb: null } : { fast: m[1] === "false", rssMb: round(Number(m[2]) / 1024) }
  }
  const usedFastPath = (cwd) => probed(cwd).fast
  const db = new Database(path.join(home, "daemon.db"), { readonly: true })
  const row = db.prepare("SELECT head_commit FROM realms WHERE local_path = ?").get(realmDir)
  const snap = db.prepare("SELECT position, length(state) AS bytes FROM snapshots WHERE realm = 'scale'").get()
  db.close()
  const head = fs.readFileSync(path.join(realmDir, ".git", "refs", "heads", "main"), "utf8").trim()
  const dbCaughtUp = row?.head_commit === head

  // node -e 0, interleaved with status runs so both see the same machine state
  const nodeTimes = []
  const statusTimes = []
  blue(member, ["realm", "status", "--json"])
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    spawnSync(process.execPath, ["-e", "0"])
    nodeTimes.push(performance.now() - t0)
    statusTimes.push(blue(member, ["realm", "status", "--json"]).ms)
  }
  const nodeMs = median(nodeTimes)
  const statusMs = median(statusTimes)
  log(`status (member): median ${statusMs.toFixed(0)} ms; node -e 0: ${nodeMs.toFixed(0)} ms`)
  const statusView = JSON.parse(blue(member, ["realm", "status", "--json"]).stdout)
  const fastMember = usedFastPath(member)
  const fastAdmin = usedFastPath(realmDir)
  const fastDetecting = usedFastPath(detecting)

  const admin = timed("status (admin, realm dir)", realmDir, ["realm", "status", "--json"])
  // The full engine path for plain status (no detection): what status costs whenever the fast path declines. The
  // first full-CLI run after removing BLUE_HOME/cache compiles the bundle and writes its V8 code cache.
  fs.rmSync(path.join(home, "cache"), { recursive: true, force: true })
  const codeCacheColdMs = blue(fullMember, ["realm", "status", "--json"]).ms
  const statusFull = timed("status --json (full CLI: config has exports: {})", fullMember, ["realm", "status", "--json"])
  log(`  first full-CLI run without a code cache: ${codeCacheColdMs.toFixed(0)} ms`)
  const fastFull = usedFastPath(fullMember)
  const checkArgs = ["realm", "check", "--mode", "contract", "--json"]
  const check = timed("check --mode contract (member, warm cache.db)", member, checkArgs)
  const checkReport = JSON.parse(check.out.stdout)
  const checkColdTimes = []
  for (let i = 0; i < 3; i++) {
    blue(member, ["realm", "admin", "cache", "clear", "--json"])
    checkColdTimes.push(blue(member, checkArgs).ms)
  }
  const checkColdMs = median(checkColdTimes)
  log(`check --mode contract (member, after cache clear): median of 3 ${checkColdMs.toFixed(0)} ms`)
  blue(member, checkArgs) // leave the member's cache warm
  const checkAdmin = timed("check --mode contract (admin, realm dir: no cache.db)", realmDir, checkArgs)
  const graph = timed("graph --format dot", member, ["realm", "graph", "--format", "dot"])
  const rss = {
    status: probed(member).rssMb,
    statusFull: probed(fullMember).rssMb,
    checkContractAdmin: probed(realmDir, checkArgs).rssMb,
    graph: probed(member, ["realm", "graph", "--format", "dot"]).rssMb,
    statusDetect: probed(detecting).rssMb
  }

  // Status with detection: cold (cache cleared) vs warm (the runs after it).
  const cold = []
  const warm = []
  for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 2)); i++) {
    blue(detecting, ["realm", "admin", "cache", "clear", "--json"])
    cold.push(blue(detecting, ["realm", "status", "--json"]).ms)
    warm.push(blue(detecting, ["realm", "status", "--json"]).ms)
  }
  for (let i = 0; i < RUNS; i++) warm.push(blue(detecting, ["realm", "status", "--json"]).ms)
  const detectView = JSON.parse(blue(detecting, ["realm", "status", "--json"]).stdout)
  const cacheStats = JSON.parse(blue(detecting, ["realm", "admin", "cache", "stats", "--json"]).stdout)
  log(`status with detection: cold median ${median(cold).toFixed(0)} ms, warm median ${median(warm).toFixed(0)} ms`)
  const peakRssMb = process.resourceUsage().maxRSS / 1024

  const result = {
    bench: "scale",
    repos: REPOS,
    domains: DOMAINS,
    contracts: DOMAINS,
    ...gen,
    snapshotPosition: snap?.position ?? null,
    snapshotKb: snap === undefined ? null : round(snap.bytes / 1024),
    daemonDbCaughtUp: dbCaughtUp,
    statusMs: round(statusMs),
    statusFastPath: fastMember,
    statusAdminMs: round(admin.median),
    statusAdminFastPath: fastAdmin,
    statusFullCliMs: round(statusFull.median),
    statusFullCliFastPath: fastFull,
    fullCliCodeCacheColdMs: round(codeCacheColdMs),
    checkContractMs: round(check.median),
    checkContractColdMs: round(checkColdMs),
    checkContractAdminMs: round(checkAdmin.median),
    checkContractExit: check.out.status,
    checkContractFindings: checkReport.findings?.length ?? null,
    checkContractErrors: checkReport.findings?.filter((f) => f.level === "error").length ?? null,
    graphMs: round(graph.median),
    graphDotBytes: graph.out.stdout.length,
    statusDetectColdMs: round(median(cold)),
    statusDetectWarmMs: round(median(warm)),
    statusDetectFastPath: fastDetecting,
    detectSourceFiles: SOURCE_FILES,
    detectCacheEntries: cacheStats.caches?.map((c) => `${c.cache}:${c.entries}`).join(",") ?? null,
    detectShowsLocalChange: JSON.stringify(detectView).includes("bucket-4/in/new/*"),
    statusDomains: statusView.domains?.length ?? null,
    nodeMs: round(nodeMs),
    goalMs: GOAL_MS,
    ratios: {
      statusVsNode: round(statusMs / nodeMs, 2),
      statusFullVsNode: round(statusFull.median / nodeMs, 2),
      statusDetectWarmVsCold: round(median(warm) / median(cold), 2),
      checkContractVsGoal: round(check.median / GOAL_MS, 2),
      graphVsGoal: round(graph.median / GOAL_MS, 2)
    },
    overGoal: Object.entries({
      status: statusMs,
      statusAdmin: admin.median,
      statusFullCli: statusFull.median,
      checkContract: check.median,
    checkContractCold: checkColdMs,
    checkContractAdmin: checkAdmin.median,
    fullCliCodeCacheCold: codeCacheColdMs,
      graph: graph.median,
      statusDetectCold: median(cold),
      statusDetectWarm: median(warm)
    }).filter(([, ms]) => ms > GOAL_MS).map(([k]) => k),
    cliPeakRssMb: rss,
    benchPeakRssMb: round(peakRssMb)
  }
  console.log(JSON.stringify(result))
} finally {
  cleanup()
}
