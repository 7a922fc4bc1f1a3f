// One append (decide + git commit + daemon.db insert + working tree update, in-process as the daemon does it)
// vs a native `git add && git commit` of the same files. Prints medians, the ratio measured in this run and the load
// average. BLUE_BENCH_DIST=<dir> measures another build (e.g. the previous commit's dist/).
import { Effect, Layer, ManagedRuntime } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

const dist = process.env.BLUE_BENCH_DIST ?? new URL("../dist", import.meta.url).pathname
const { eventFilePath, IdsLive, RealmGitLive, RealmLockLive, Realms, SqliteEventLogLive } = await import(
  pathToFileURL(path.join(dist, "index.js")).href
)
const loadBefore = os.loadavg().map((x) => +x.toFixed(2))

const N = Number(process.argv[2] ?? 40)
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-bench-append-")))
const layer = Realms.Default.pipe(
  Layer.provide(Layer.mergeAll(SqliteEventLogLive(path.join(root, "daemon.db")), RealmGitLive, RealmLockLive, IdsLive))
)
const runtime = ManagedRuntime.make(layer)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const actor = (repo) => ({ repo, user: "bench@example.com" })

await runtime.runPromise(Effect.flatMap(Realms, (r) => r.init(root, "bench", "open", { user: "bench@example.com" })))
const realmDir = path.join(root, "realm-bench")
const native = path.join(root, "native")
fs.mkdirSync(native)
const git = (...args) => execFileSync("git", args, { cwd: native, stdio: "pipe" })
git("init", "-q", "-b", "main")
git("-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "--allow-empty", "-m", "root")

const ours = []
const theirs = []
for (let i = 0; i < N; i++) {
  const repo = `repo-${i}`
  const t0 = performance.now()
  const out = await runtime.runPromise(
    Effect.flatMap(Realms, (r) =>
      r.execute(realmDir, { _tag: "JoinRealm", repo, path: `/src/${repo}`, maintainers: ["m@x"] }, actor(repo)))
  )
  ours.push(performance.now() - t0)
  // The same change, natively: the same files, staged and committed by the git executable.
  const files = [...out.files, ...out.events.map((e) => eventFilePath(e))]
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(native, f)), { recursive: true })
    fs.copyFileSync(path.join(realmDir, f), path.join(native, f))
  }
  const t1 = performance.now()
  git("add", "--", ...files)
  git("-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "-m", `${repo} joins the realm`)
  theirs.push(performance.now() - t1)
}
await runtime.dispose()
fs.rmSync(root, { recursive: true, force: true })
const a = median(ours)
const g = median(theirs)
console.log(
  JSON.stringify({
    bench: "append",
    dist,
    appends: N,
    blueAppendMedianMs: +a.toFixed(2),
    nativeGitCommitMedianMs: +g.toFixed(2),
    ratio: +(a / g).toFixed(2),
    goal: "<= 1",
    loadAverage: { before: loadBefore, after: os.loadavg().map((x) => +x.toFixed(2)) }
  })
)
