// 8 processes × 25 write commands each (each process exports its own contract, one after another; the processes
// run at once), with the daemon running: p50 / p99 latency of one command (goal p50 ≤ 0.5 s). Modes: "daemon" (the
// thin path) and "in-process" (the CLI writes itself). Usage: node bench/contention.mjs [processes=8] [commands=25]
// [modes=daemon,in-process]
import { load, percentile, setup } from "./writeSetup.mjs"

const P = Number(process.argv[2] ?? 8)
const C = Number(process.argv[3] ?? 25)
const modes = (process.argv[4] ?? "daemon,in-process").split(",")
const loadBefore = load()
const { repos, blueAsync, cleanup } = await setup("contention", P)
const out = { bench: "contention", processes: P, commands: C, goal: "p50 <= 500 ms" }
try {
  for (const mode of modes) {
    const latencies = []
    const t0 = performance.now()
    await Promise.all(repos.map(async (repo, p) => {
      for (let k = 0; k < C; k++) {
        const s = performance.now()
        await blueAsync(repo, mode, "realm", "export", "--name", `c-${p}`, "--value", JSON.stringify({ mode, k }))
        latencies.push(performance.now() - s)
      }
    }))
    out[mode] = {
      p50Ms: +percentile(latencies, 0.5).toFixed(1),
      p99Ms: +percentile(latencies, 0.99).toFixed(1),
      wallMs: Math.round(performance.now() - t0)
    }
  }
  out.loadavg = { before: loadBefore, after: load() }
  console.log(JSON.stringify(out))
} catch (e) {
  console.error(String(e))
  process.exitCode = 1
} finally {
  cleanup()
}
