// A write command via the CLI with the daemon running (`blue realm export`, a real append each time) vs `node -e 0`:
// interleaved pairs, medians and ratio (goal ≤ 2×). "before" is the same command run in the CLI process (the thin
// path off), the daemon still running. Usage: node bench/write.mjs [pairs=9]
import { spawnSync } from "node:child_process"
import { load, median, setup } from "./writeSetup.mjs"

const N = Number(process.argv[2] ?? 9)
const loadBefore = load()
const { repos, blue, cleanup } = await setup("write", 1)
const [repo] = repos
let n = 0
const time = (f) => {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}
const write = (mode) => blue(repo, mode, "realm", "export", "--name", "c-0", "--value", JSON.stringify({ n: ++n }))
try {
  for (let i = 0; i < 2; i++) write("daemon")
  const node = []
  const thin = []
  const inProcess = []
  for (let i = 0; i < N; i++) {
    node.push(time(() => spawnSync(process.execPath, ["-e", "0"])))
    thin.push(time(() => write("daemon")))
    inProcess.push(time(() => write("in-process")))
  }
  const m = { node: median(node), thin: median(thin), inProcess: median(inProcess) }
  console.log(JSON.stringify({
    bench: "write",
    pairs: N,
    nodeMedianMs: +m.node.toFixed(1),
    daemonWriteMedianMs: +m.thin.toFixed(1),
    ratio: +(m.thin / m.node).toFixed(2),
    goal: "<= 2",
    beforeInProcessMedianMs: +m.inProcess.toFixed(1),
    beforeRatio: +(m.inProcess / m.node).toFixed(2),
    loadavg: { before: loadBefore, after: load() }
  }))
} catch (e) {
  console.error(String(e))
  process.exitCode = 1
} finally {
  cleanup()
}
