// Runs every benchmark in this folder, one after another, and prints one JSON line each.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

// scale.mjs (the 1,000-repo realm, minutes to generate) runs on its own: node bench/scale.mjs; so does the append
// cost by realm size, on the realm it keeps: BLUE_BENCH_KEEP=1 node bench/scale.mjs, then node bench/appendScale.mjs <dir>
for (const [script, ...args] of [["status.mjs"], ["append.mjs"], ["replay.mjs", "200000"], ["feed.mjs"], ["mcp.mjs"]]) {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    stdio: ["ignore", "inherit", "inherit"]
  })
  if (r.status !== 0) process.exitCode = 1
}
