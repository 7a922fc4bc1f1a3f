// 8 processes × 25 write commands each (each process exports its own contract, one after another; the processes
// run at once), with the daemon running: p50 / p99 latency of one command (goal p50 ≤ 0.5 s). Modes: "daemon" (the
// thin path) and "in-process" (the CLI writes itself). The native baseline ("node") is `node -e 0` run the same
// way, at the same concurrency, first. Usage: node bench/contention.mjs [processes=8] [commands=25]
// [modes=daemon,in-process]
import { spawn } from "node:child_process"
import { load, percentile, setup } from "./writeSetup.mjs"

const P = Number(process.argv[2] ?? 8)
const C = Number(process.argv[3] ?? 25)
const modes = (process.argv[4] ?? "daemon,in-process").split(",")
const loadBefore = load()
const { repos, blueAsync, cleanup } = await setup("contention", P)
const out = { bench: "contention", processes: P, commands: C, goal: "p50 <= 500 ms" }
const nodeAsync = () =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" })
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`node -e 0: exit ${code}`))))
  })
try {
  {
    const latencies = []
    await Promise.all(repos.map(async () => {
      for (let k = 0; k < C; k++) {
        const s = performance.now()
        await nodeAsync()
        latencies.push(performance.now() - s)
      }
    }))
    out.node = { p50Ms: +percentile(latencies, 0.5).toFixed(1), p99Ms: +percentile(latencies, 0.99).toFixed(1) }
  }
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
    out[mode].p50VsNode = +(out[mode].p50Ms / out.node.p50Ms).toFixed(2)
  }
  out.loadavg = { before: loadBefore, after: load() }
  console.log(JSON.stringify(out))
} catch (e) {
  console.error(String(e))
  process.exitCode = 1
} finally {
  cleanup()
}
