// Append cost by realm size: one join, one domain create and one publish (in-process, warm, as the daemon appends)
// on an empty realm and on the 1,000-repo / 1,000-domain realm that bench/scale.mjs generates, interleaved run by
// run so both see the same machine. Prints per-kind medians (median of the runs' medians), the big/empty ratio
// (goal ≤ 1.2) and the load average. Usage:
//   BLUE_BENCH_KEEP=1 node bench/scale.mjs        # once: prints the kept dir on stderr
//   node bench/appendScale.mjs <that dir> [ops per kind per run] [runs]
// BLUE_BENCH_DIST=<dir> measures another build (e.g. the previous commit's dist/) against the same realm.
import { Effect, Layer, ManagedRuntime } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

const source = process.argv[2]
const OPS = Number(process.argv[3] ?? 9)
const RUNS = Number(process.argv[4] ?? 3)
if (source === undefined || !fs.existsSync(path.join(source, "realm-scale", ".git"))) {
  process.stderr.write("usage: node bench/appendScale.mjs <dir kept by BLUE_BENCH_KEEP=1 node bench/scale.mjs> [ops] [runs]\n")
  process.exit(2)
}
const dist = process.env.BLUE_BENCH_DIST ?? new URL("../dist", import.meta.url).pathname
const { IdsLive, RealmGitLive, RealmLockLive, Realms, SqliteEventLogLive } = await import(
  pathToFileURL(path.join(dist, "index.js")).href
)
const Database = (await import("better-sqlite3")).default

const USER = "bench@example.com"
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const round = (x, d = 1) => +x.toFixed(d)
const load = () => os.loadavg().map((x) => round(x, 2))
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-bench-append-scale-")))
process.on("exit", () => fs.rmSync(root, { recursive: true, force: true }))

// The big realm: a private copy (appends change it), tracked at its new path, packed as Blue now keeps it.
const big = path.join(root, "big")
execFileSync("cp", ["-a", source, big])
fs.rmSync(path.join(big, "home", "cache"), { recursive: true, force: true })
{
  const db = new Database(path.join(big, "home", "daemon.db"))
  db.prepare("UPDATE realms SET local_path = ? WHERE name = 'scale'").run(path.join(big, "realm-scale"))
  db.close()
}
execFileSync("git", ["repack", "-a", "-d", "-q"], { cwd: path.join(big, "realm-scale") })
const bigState = JSON.parse(fs.readFileSync(path.join(source, "generation.json"), "utf8"))

const engine = (home) =>
  ManagedRuntime.make(
    Realms.Default.pipe(
      Layer.provide(
        Layer.mergeAll(SqliteEventLogLive(path.join(home, "daemon.db")), RealmGitLive, RealmLockLive, IdsLive)
      )
    )
  )

const schema = { type: "object", properties: { read: { type: "array", items: { type: "string" } } }, required: ["read"] }

/** One run on the realm in `realmDir`: ops joins, ops domain creates, ops publishes; medians in ms by kind. */
const measure = async (runtime, realmDir, tag) => {
  const exec = async (command, repo) => {
    const t0 = performance.now()
    await runtime.runPromise(Effect.flatMap(Realms, (r) => r.execute(realmDir, command, { repo, user: USER })))
    return performance.now() - t0
  }
  const repo = (i) => `x-${tag}-${i}`
  // warm-up (not measured): the first append of a process reads the snapshot and the trees once
  await exec({ _tag: "JoinRealm", repo: repo("w"), path: "/src/w", maintainers: [USER] }, repo("w"))
  const times = { join: [], domainCreate: [], publish: [] }
  for (let i = 0; i <= OPS; i++) {
    const ms = await exec({ _tag: "JoinRealm", repo: repo(i), path: `/src/${i}`, maintainers: [USER] }, repo(i))
    if (i < OPS) times.join.push(ms)
  }
  for (let i = 0; i < OPS; i++) {
    times.domainCreate.push(
      await exec({ _tag: "CreateDomain", domain: `d-${tag}-${i}`, repos: [repo(i), repo(i + 1)] }, repo(i))
    )
  }
  for (let i = 0; i < OPS; i++) {
    times.publish.push(
      await exec(
        { _tag: "PublishContract", contract: `d-${tag}-${i}`, domain: `d-${tag}-${i}`, schema, value: { read: [`b/${i}`] } },
        repo(i)
      )
    )
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]))
}

const loadBefore = load()
const runs = { empty: [], big: [] }
const bigRuntime = engine(path.join(big, "home"))
for (let r = 0; r < RUNS; r++) {
  const emptyRoot = path.join(root, `empty-${r}`)
  fs.mkdirSync(path.join(emptyRoot, "home"), { recursive: true })
  const emptyRuntime = engine(path.join(emptyRoot, "home"))
  await emptyRuntime.runPromise(Effect.flatMap(Realms, (x) => x.init(emptyRoot, "empty", "open", { user: USER })))
  runs.empty.push(await measure(emptyRuntime, path.join(emptyRoot, "realm-empty"), `e${r}`))
  await emptyRuntime.dispose()
  runs.big.push(await measure(bigRuntime, path.join(big, "realm-scale"), `b${r}`))
  process.stderr.write(`[append-scale] run ${r + 1}/${RUNS}: empty ${JSON.stringify(runs.empty.at(-1))} big ${JSON.stringify(runs.big.at(-1))}\n`)
}
await bigRuntime.dispose()
const kinds = ["join", "domainCreate", "publish"]
const med = (which) => Object.fromEntries(kinds.map((k) => [k, round(median(runs[which].map((x) => x[k])))]))
const empty = med("empty")
const bigMs = med("big")
const loose = execFileSync("git", ["count-objects", "-v"], { cwd: path.join(big, "realm-scale"), encoding: "utf8" })
console.log(
  JSON.stringify({
    bench: "append-scale",
    dist,
    bigRealm: { repos: 1000, domains: 1000, events: bigState.events },
    opsPerKindPerRun: OPS,
    runs: RUNS,
    emptyMs: empty,
    bigMs,
    ratios: Object.fromEntries(kinds.map((k) => [k, round(bigMs[k] / empty[k], 2)])),
    goal: "<= 1.2",
    bigRealmLooseObjectsAfter: Number(/^count: (\d+)/m.exec(loose)?.[1]),
    loadAverage: { before: loadBefore, after: load() }
  })
)
