// Start-up: `blue realm status --json` in a member repo vs `node -e 0`, interleaved runs, medians and ratio.
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const BIN = fileURLToPath(new URL("../bin/blue.js", import.meta.url))
const N = Number(process.argv[2] ?? 25)
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-bench-status-")))
const env = { ...process.env, BLUE_HOME: path.join(root, "home"), BLUE_USER: "bench@example.com", BLUE_DAEMON: "off" }
const blue = (cwd, ...args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`blue ${args.join(" ")}: ${r.stderr}`)
  return r.stdout
}
blue(root, "realm", "admin", "init", "--name", "bench")
for (const name of ["aperture", "fungal-image-analysis"]) {
  fs.mkdirSync(path.join(root, name))
  execFileSync("git", ["init", "-q"], { cwd: path.join(root, name) })
  blue(path.join(root, name), "realm", "admin", "join", "../realm-bench")
}
const app = path.join(root, "aperture")
blue(app, "realm", "admin", "domain", "create", "s3-access", "--repos", "aperture,fungal-image-analysis")

const time = (f) => {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const status = []
const node = []
for (let i = 0; i < 3; i++) blue(app, "realm", "status", "--json")
for (let i = 0; i < N; i++) {
  node.push(time(() => spawnSync(process.execPath, ["-e", "0"])))
  status.push(time(() => blue(app, "realm", "status", "--json")))
}
const full = []
for (let i = 0; i < Math.min(N, 10); i++) full.push(time(() => blue(app, "realm", "graph", "--json")))
fs.rmSync(root, { recursive: true, force: true })
const s = median(status)
const n = median(node)
console.log(
  JSON.stringify({
    bench: "status",
    runs: N,
    statusMedianMs: +s.toFixed(1),
    nodeMedianMs: +n.toFixed(1),
    ratio: +(s / n).toFixed(2),
    goal: "<= 2",
    fullCliGraphMedianMs: +median(full).toFixed(1),
    fullCliRatio: +(median(full) / n).toFixed(2)
  })
)
