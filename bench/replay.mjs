// Replay throughput from daemon.db: read every event row for folding (EventLog.readForFold) and fold it into the
// realm projection; also the validating read (every payload decoded against the event schemas, as replay --verify
// does). Median of RUNS passes over the same database, with the load average. Prints events/s.
// Usage: node bench/replay.mjs [events] [runs]; BLUE_BENCH_DIST=<dir> measures another build (A/B on one machine);
// BLUE_BENCH_KEEP=1 keeps the database (its dir is printed on stderr).
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

const dist = process.env.BLUE_BENCH_DIST ?? new URL("../dist", import.meta.url).pathname
const {
  BindingDeclared,
  ContractPublished,
  defaultRealmFile,
  DomainCreated,
  EventLog,
  foldEnvelopes,
  initialState,
  RealmInitialized,
  RepoJoined,
  SqliteEventLogLive
} = await import(pathToFileURL(path.join(dist, "index.js")).href)

const total = Number(process.argv[2] ?? 200_000)
const RUNS = Number(process.argv[3] ?? 3)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const load = () => os.loadavg().map((x) => +x.toFixed(2))
const REPOS = 1000
const DOMAINS = 500
const T = "2026-01-24T10:00:00.000Z"
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blue-bench-replay-"))
const layer = SqliteEventLogLive(path.join(dir, "daemon.db"))


const pad = (n) => String(n).padStart(10, "0")
const repoName = (i) => `repo-${i}`
// A realistic mix: 1,000 repos, 500 domains with a contract and two bindings each, then contract updates.
const eventAt = (position) => {
  const i = position - 2
  if (position === 1) return new RealmInitialized({ realm: defaultRealmFile("bench", T) })
  if (i < REPOS) return new RepoJoined({ repo: { name: repoName(i), path: `/src/${i}`, maintainers: ["m@x"], joined_at: T } })
  const j = i - REPOS
  const d = j % DOMAINS
  const domain = `domain-${d}`
  if (j < DOMAINS) {
    return new DomainCreated({
      domain: { name: domain, description: "bench", created_at: T, members: [repoName(d), repoName(d + DOMAINS)] }
    })
  }
  if (j < 2 * DOMAINS) {
    return new BindingDeclared({
      domain,
      binding: { repo: repoName(d), role: "provider", exports: [{ contract: `contract-${d}`, source_files: [] }] }
    })
  }
  const version = `1.${Math.floor(j / DOMAINS)}.0`
  return new ContractPublished({
    domain,
    contract: {
      name: `contract-${d}`,
      version,
      owner: repoName(d),
      compatibility: { backwards: true, forwards: false },
      schema: { type: "object", properties: { read: { type: "array", items: { type: "string" } } } },
      value: { read: [`jobs/${d}/*`, `runs/${j}/*`] },
      evolution: [{ version, changes: ["bench"], compatible: true }]
    }
  })
}

const program = Effect.gen(function*() {
  const log = yield* EventLog
  yield* log.register("bench", dir)
  const batch = 5000
  for (let start = 1; start <= total; start += batch) {
    const recorded = []
    for (let p = start; p < Math.min(start + batch, total + 1); p++) {
      recorded.push({
        commit: "0".repeat(40),
        envelope: {
          id: `01J${pad(p)}0000000000000`,
          realm: "bench",
          position: p,
          type: eventAt(p)._tag,
          schemaVersion: 1,
          time: T,
          actor: { user: "bench@x" },
          correlationId: `01J${pad(p)}0000000000000`,
          event: eventAt(p)
        }
      })
    }
    yield* log.append("bench", recorded, { commit: "0".repeat(40), position: recorded.at(-1).envelope.position })
  }
  const loadBefore = load()
  const readMs = []
  const foldMs = []
  const validatedMs = []
  let rows
  let state
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now()
    rows = yield* log.readForFold("bench", 0)
    const t1 = performance.now()
    state = foldEnvelopes(initialState, rows)
    const t2 = performance.now()
    readMs.push(t1 - t0)
    foldMs.push(t2 - t1)
    // The validating path (what `replay --verify` uses): every payload decoded against the event schemas.
    const t3 = performance.now()
    yield* log.read("bench", 0)
    validatedMs.push(performance.now() - t3)
  }
  const totals = readMs.map((r, i) => r + foldMs[i])
  return {
    events: rows.length,
    readMs: median(readMs),
    foldMs: median(foldMs),
    totalMs: median(totals),
    position: state.position,
    validatedPerSecond: Math.round(rows.length / (median(validatedMs) / 1000)),
    loadAverage: { before: loadBefore, after: load() }
  }
})

const r = await Effect.runPromise(Effect.provide(program, layer))
if (process.env.BLUE_BENCH_KEEP) process.stderr.write(`[replay] keeping ${dir} (BLUE_BENCH_KEEP)\n`)
else fs.rmSync(dir, { recursive: true, force: true })
const perSecond = Math.round(r.events / (r.totalMs / 1000))
console.log(
  JSON.stringify({
    bench: "replay",
    dist,
    events: r.events,
    runs: RUNS,
    readMs: Math.round(r.readMs),
    foldMs: Math.round(r.foldMs),
    eventsPerSecond: perSecond,
    goal: 200_000,
    ratioToGoal: +(perSecond / 200_000).toFixed(2),
    validatedReadPerSecond: r.validatedPerSecond,
    loadAverage: r.loadAverage
  })
)
