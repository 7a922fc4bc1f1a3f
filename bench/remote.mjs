// The remote realm git layer (src/adapters/remoteGit.ts) against the loopback git http-backend server of the tests,
// vs the git executable doing the same: one push (p50/p99), a fetch with nothing new, a clone of a realm with
// COMMITS commits (isomorphic-git, and the adapter's native path). Medians of RUNS runs; prints the load average.
// Usage: node bench/remote.mjs [PUSHES=30] [COMMITS=2000] [RUNS=3]
//        node bench/remote.mjs contention [HOMES=3] [WRITES=20] [RUNS=3]
// The second form (needs `npm run build`): HOMES machines (each its own BLUE_HOME and daemon, the bundled CLI handing
// its writes over) each run WRITES concurrent `domain create` against one realm on the server: latency p50/p99 per
// write (spawn to exit), the most push attempts one write took (its --json `attempts`), how many landed; medians of
// RUNS runs, each on a fresh realm.
import { execFile, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { median, ms, p99, remoteKit, repoRoot, time, TOKEN } from "./remoteKit.mjs"

const CONTENTION = process.argv[2] === "contention"
const PUSHES = Number(process.argv[2] ?? 30)
const COMMITS = Number(process.argv[3] ?? 2000)
const RUNS = Number(process.argv[4] ?? 3)
const { root, m, env: env, nativeEnv } = await remoteKit("remote")
const { Effect, Layer, ManagedRuntime } = await import("effect")
// Asynchronous: the server runs in this process, and a synchronous child would block it (a deadlock).
const execFileAsync = promisify(execFile)
const git = async (cwd, ...args) => (await execFileAsync("git", args, { cwd, env: nativeEnv })).stdout.trim()

const server = await m.startGitServer({ auth: { user: "blue", token: TOKEN } })
const runtime = ManagedRuntime.make(
  m.RemoteGitLive({ env, nativeClone: "never" }).pipe(
    Layer.provide(Layer.succeed(m.Credentials, m.makeCredentials({ env, home: root })))
  )
)
const nativeRuntime = ManagedRuntime.make(
  m.RemoteGitLive({ env, nativeClone: "always" }).pipe(
    Layer.provide(Layer.succeed(m.Credentials, m.makeCredentials({ env, home: root })))
  )
)
const remote = (rt, f) => rt.runPromise(Effect.flatMap(m.RemoteGit, f))

/** A bare repo on the server with a realm of `commits` commits (one event file each), made with fast-import. */
const makeRealm = async (name, commits) => {
  const bare = await server.createBareRepo(name)
  let stream = ""
  for (let i = 0; i < commits; i++) {
    const files = i === 0 ? `M 644 inline realm.yaml\ndata 12\nname: bench\n` : ""
    const body = `{"type":"Bench","i":${i}}\n`
    stream += `commit refs/heads/main\ncommitter b <b@x> ${1700000000 + i} +0000\ndata 3\ne${i % 10}\n` +
      files +
      `M 644 inline events/${String(i).padStart(6, "0")}.json\ndata ${Buffer.byteLength(body)}\n${body}\n`
  }
  execFileSync("git", ["fast-import", "--quiet"], { cwd: bare, input: stream, env: nativeEnv, stdio: ["pipe", "pipe", "pipe"] })
  return server.url(name)
}

const results = { load_before: os.loadavg().map((x) => Math.round(x * 100) / 100) }

if (CONTENTION) {
  const HOMES = Number(process.argv[3] ?? 3)
  const WRITES = Number(process.argv[4] ?? 20)
  const CRUNS = Number(process.argv[5] ?? 3)
  const bin = path.join(repoRoot, "bin", "blue.js")
  const free = () =>
    new Promise((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address()
        s.close(() => resolve(port))
      })
    })
  // Asynchronous, always: the git server answers in this process.
  const blue = (env, cwd, ...args) =>
    new Promise((resolve) => {
      const t0 = performance.now()
      const child = spawn(process.execPath, [bin, ...args], { cwd, env })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d) => (stdout += d))
      child.stderr.on("data", (d) => (stderr += d))
      child.on("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }))
    })
  const must = async (what, p) => {
    const r = await p
    if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr}`)
    return r
  }
  const contended = await m.startGitServer({ auth: { token: TOKEN } })
  const repos = ["aperture", "fungal", "ml-infra", "tools", "web"]
  const runs = []
  for (let run = 0; run < CRUNS; run++) {
    const name = `contention-${run}`
    await contended.createBareRepo(name)
    const url = contended.url(name)
    const homes = []
    for (let k = 0; k < HOMES; k++) {
      const dir = path.join(root, `${name}-home-${k}`)
      const repo = path.join(dir, repos[k % repos.length])
      fs.mkdirSync(repo, { recursive: true })
      const henv = {
        ...env,
        HOME: dir,
        BLUE_HOME: path.join(dir, ".blue"),
        BLUE_USER: "bench@example.com",
        BLUE_DAEMON: "off",
        BLUE_REALM_USER: `home-${k}`,
        NO_COLOR: "1",
        XDG_RUNTIME_DIR: path.join(dir, "xdg")
      }
      fs.mkdirSync(henv.XDG_RUNTIME_DIR, { mode: 0o700 })
      await git(repo, "init", "-q", "-b", "main")
      fs.writeFileSync(path.join(repo, "README.md"), "bench\n")
      await git(repo, "add", "-A")
      await git(repo, "commit", "-q", "-m", "initial")
      if (k === 0) await must("init", blue(henv, dir, "realm", "admin", "init", "--name", "bench", "--remote", url))
      await must("join", blue(henv, repo, "realm", "admin", "join", url))
      homes.push({ env: henv, repo })
    }
    // Each home's daemon: the machine's single writer.
    const daemons = []
    for (const h of homes) {
      h.env.BLUE_DAEMON_PORT = String(await free())
      daemons.push(spawn(process.execPath, [...(process.env.BENCH_DAEMON_NODE_ARGS ?? "").split(" ").filter(Boolean), bin, "daemon", "run"], {
        cwd: h.repo,
        env: { ...h.env, BLUE_REALM_SYNC_INTERVAL_MS: "2000" },
        stdio: "ignore"
      }))
    }
    for (const h of homes) {
      while (!(await fetch(`http://127.0.0.1:${h.env.BLUE_DAEMON_PORT}/health`).then((r) => r.ok, () => false))) {
        await new Promise((r) => setTimeout(r, 50))
      }
      h.env.BLUE_DAEMON = "auto"
    }
    const pushesOf = (k) =>
      contended.requests.filter((q) =>
        q.method === "GET" && q.service === "git-receive-pack" && q.user === `home-${k}` && q.path.includes(name)
      ).length
    const setupPushes = homes.map((_, k) => pushesOf(k))
    const load = os.loadavg()[0]
    const started = performance.now()
    const writes = await Promise.all(homes.flatMap((h, k) =>
      Array.from(
        { length: WRITES },
        (_, i) =>
          blue(h.env, h.repo, "realm", "admin", "domain", "create", `d${k}-${i}`, "--repos", "aperture,fungal", "--json")
      )
    ))
    const wall = performance.now() - started
    for (const d of daemons) d.kill("SIGTERM")
    await Promise.all(daemons.map((d) => new Promise((r) => (d.exitCode !== null ? r() : d.on("exit", r)))))
    const ok = writes.filter((w) => w.code === 0)
    const lat = writes.map((w) => w.ms)
    runs.push({
      landed: ok.length,
      of: writes.length,
      wall_ms: ms(wall),
      p50: ms(median(lat)),
      p99: ms(p99(lat)),
      max_attempts: Math.max(0, ...ok.map((w) => JSON.parse(w.stdout).attempts ?? 0)),
      pushes: homes.map((_, k) => pushesOf(k) - setupPushes[k]),
      load_1m: Math.round(load * 100) / 100,
      failed: writes.filter((w) => w.code !== 0).map((w) => w.stderr.trim()).slice(0, 3)
    })
    await new Promise((r) => setTimeout(r, 500))
  }
  await contended.close()
  results.contention = {
    homes: HOMES,
    writes_per_home: WRITES,
    runs,
    median_p50: ms(median(runs.map((r) => r.p50))),
    median_p99: ms(median(runs.map((r) => r.p99))),
    median_max_attempts: median(runs.map((r) => r.max_attempts))
  }
  results.load_after = os.loadavg().map((x) => Math.round(x * 100) / 100)
  await runtime.dispose()
  await nativeRuntime.dispose()
  await server.close()
  fs.rmSync(root, { recursive: true, force: true })
  console.log(JSON.stringify({ bench: "remote-contention", ...results }))
  process.exit(0)
}

// --- push: one commit per push, ours (a long-lived service, as in the daemon) vs `git push`
{
  const url = await makeRealm("push", 1)
  const ours = path.join(root, "push-ours")
  await remote(runtime, (r) => r.clone(url, ours))
  const native = path.join(root, "push-native")
  await git(root, "clone", "-q", url, native)
  const a = []
  const b = []
  for (let i = 0; i < PUSHES; i++) {
    const expected = await git(ours, "rev-parse", "HEAD")
    fs.writeFileSync(path.join(ours, `o${i}.json`), `${i}\n`)
    await git(ours, "add", "-A")
    await git(ours, "commit", "-q", "-m", `o${i}`)
    a.push(await time(() => remote(runtime, (r) => r.push(ours, "main", expected))))
    // The native clone follows (so both push onto the same server repo state shape).
    await git(native, "pull", "-q", "--ff-only")
    fs.writeFileSync(path.join(native, `n${i}.json`), `${i}\n`)
    await git(native, "add", "-A")
    await git(native, "commit", "-q", "-m", `n${i}`)
    b.push(await time(() => git(native, "push", "-q", "origin", "main")))
    await git(ours, "pull", "-q", "--ff-only", "origin", "main")
  }
  results.push = { ours_p50: ms(median(a)), ours_p99: ms(p99(a)), native_p50: ms(median(b)), native_p99: ms(p99(b)) }
}

// --- fetch with nothing new
{
  const url = await makeRealm("fetch", 50)
  const ours = path.join(root, "fetch-ours")
  await remote(runtime, (r) => r.clone(url, ours))
  const native = path.join(root, "fetch-native")
  await git(root, "clone", "-q", url, native)
  const a = []
  const b = []
  for (let i = 0; i < 20; i++) {
    a.push(await time(() => remote(runtime, (r) => r.fetch(ours))))
    b.push(await time(() => git(native, "fetch", "-q", "origin")))
  }
  results.fetch_nothing_new = { ours_p50: ms(median(a)), native_p50: ms(median(b)) }
}

// --- clone of a COMMITS-commit realm
{
  const url = await makeRealm("clone", COMMITS)
  const iso = []
  const adapterNative = []
  const native = []
  for (let i = 0; i < RUNS; i++) {
    iso.push(await time(() => remote(runtime, (r) => r.clone(url, path.join(root, `c-iso-${i}`)))))
    adapterNative.push(await time(() => remote(nativeRuntime, (r) => r.clone(url, path.join(root, `c-nat-${i}`)))))
    native.push(await time(() => git(root, "clone", "-q", url, path.join(root, `c-git-${i}`))))
  }
  results.clone = {
    commits: COMMITS,
    isomorphic_git: ms(median(iso)),
    adapter_native: ms(median(adapterNative)),
    git_clone: ms(median(native)),
    iso_ratio: Math.round((median(iso) / median(native)) * 10) / 10,
    adapter_native_ratio: Math.round((median(adapterNative) / median(native)) * 10) / 10
  }
}

results.load_after = os.loadavg().map((x) => Math.round(x * 100) / 100)
await runtime.dispose()
await nativeRuntime.dispose()
await server.close()
fs.rmSync(root, { recursive: true, force: true })
console.log(JSON.stringify({ bench: "remote", pushes: PUSHES, runs: RUNS, ...results }))
