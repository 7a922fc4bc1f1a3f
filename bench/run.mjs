// Runs every benchmark in this folder, one after another, and prints one JSON line each: its figure beside its native
// baseline (`node -e 0`, the git executable, …) and the load average before and after.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

// scale.mjs (the 1,000-repo realm, minutes to generate) runs on its own: node bench/scale.mjs; so does the append
// cost by realm size, on the realm it keeps: BLUE_BENCH_KEEP=1 node bench/scale.mjs, then node bench/appendScale.mjs <dir>
const benches = [
  ["status.mjs"],
  ["append.mjs"],
  ["replay.mjs", "200000"],
  ["feed.mjs"],
  ["mcp.mjs"],
  // a write via the daemon vs `node -e 0` (9 pairs)
  ["write.mjs", "9"],
  // 8 processes × 25 writes through the daemon, p50/p99, beside `node -e 0` at the same concurrency
  ["contention.mjs", "8", "25", "daemon"],
  // push, fetch and clone (30 pushes, a 2,000-commit realm, 3 runs) vs the git executable
  ["remote.mjs", "30", "2000", "3"]
]
for (const [script, ...args] of benches) {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ["ignore", "inherit", "inherit"]
  })
  if (r.status !== 0) process.exitCode = 1
}
