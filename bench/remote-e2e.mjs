// Remote realms end to end (issue 11's speed rows), each against the git executable doing the same thing against the
// same loopback smart-HTTP server in the same run (the machine is shared: the ratio is the figure to quote).
//   append      one home, its daemon running: APPENDS sequential `domain create` through the CLI (spawn to exit)
//               p50/p99, vs `git push` of one commit (p50/p99) from a clone of the same realm; also the floor of a
//               CLI process (`blue --version`)
//   contention  3 homes × 20 concurrent `domain create` through their daemons (spawned CLIs, then the same sent to
//               the daemons' POST /run: the engine's share without 60 node start-ups): p99 and the most push attempts one
//               write took, vs 3 clones each pushing its 20 commits one after the other with fetch + rebase + retry
//   clone       `blue realm admin join URL` on a fresh BLUE_HOME for a realm of EVENTS events (clone + ingest), vs
//               `git clone` of the same repo
//   poll        a fetch with nothing new (the daemon's poll, src/adapters/remoteGit.ts) vs `git fetch`
//   notify      a contract bump on A (command returns) → the notification on B's feed, B's daemon polling every
//               NOTIFY_INTERVAL ms: latency and its excess over the interval (goal: ≤ interval + 1 s)
// Usage (after `npm run build`): node bench/remote-e2e.mjs [RUNS=3] [EVENTS=10000] [APPENDS=20]
//   BENCH_ROWS=append,poll  runs only those rows; BENCH_NOTIFY_INTERVAL_MS (default 1000).
// The EVENTS-event realm is generated once through the engine (in-process, minutes) and kept as a bare repo in
// $TMPDIR/blue-bench-realm-<EVENTS>.git (BLUE_BENCH_REGEN=1 makes it again). Prints one JSON line; progress on stderr.
import { execFile, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { median, ms, p99, remoteKit, repoRoot, time, TOKEN } from "./remoteKit.mjs"
import { WebSocket } from "ws"

const RUNS = Number(process.argv[2] ?? 3)
const EVENTS = Number(process.argv[3] ?? 10000)
const APPENDS = Number(process.argv[4] ?? 20)
const ROWS = (process.env.BENCH_ROWS ?? "append,contention,clone,poll,notify").split(",")
const NOTIFY_INTERVAL = Number(process.env.BENCH_NOTIFY_INTERVAL_MS ?? 1000)
const USER = "bench@example.com"
// BENCH_BLUE_BIN: another build's bin/blue.js (e.g. a "before" build), measured against the same native baseline.
const bin = process.env.BENCH_BLUE_BIN ?? path.join(repoRoot, "bin", "blue.js")
const log = (...a) => process.stderr.write(`[remote-e2e] ${a.join(" ")}\n`)
const loadNow = () => os.loadavg().map((x) => Math.round(x * 100) / 100)
const { root, m, env: baseEnv, nativeEnv } = await remoteKit("remote-e2e")
const { Effect, Layer, ManagedRuntime } = await import("effect")
// Asynchronous, always: the server runs in this process, and a synchronous child would block it (a deadlock).
const execFileAsync = promisify(execFile)
const git = async (cwd, ...args) =>
  (await execFileAsync("git", args, { cwd, env: nativeEnv, maxBuffer: 1 << 26 })).stdout.trim()
const ratio = (a, b) => Math.round((a / b) * 100) / 100
const sleep = (n) => new Promise((r) => setTimeout(r, n))
const free = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
const NODE_ARG = "\0node:"
/** BENCH_CLI_NODE_ARGS (e.g. --cpu-prof) go to the node of the timed join. */
const cliArgs = (process.env.BENCH_CLI_NODE_ARGS ?? "").split(" ").filter(Boolean).map((a) => NODE_ARG + a)
const blue = (env, cwd, ...all) =>
  new Promise((resolve) => {
    const t0 = performance.now()
    const nodeArgs = all.filter((a) => a.startsWith(NODE_ARG)).map((a) => a.slice(NODE_ARG.length))
    const args = all.filter((a) => !a.startsWith(NODE_ARG))
    const child = spawn(process.execPath, [...nodeArgs, bin, ...args], { cwd, env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0, end: performance.now() }))
  })
const must = async (what, p) => {
  const r = await p
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr}`)
  return r
}

const server = await m.startGitServer({ auth: { token: TOKEN } })
const adapter = ManagedRuntime.make(
  m.RemoteGitLive({ env: baseEnv, nativeClone: "never" }).pipe(
    Layer.provide(Layer.succeed(m.Credentials, m.makeCredentials({ env: baseEnv, home: root })))
  )
)
const remote = (f) => adapter.runPromise(Effect.flatMap(m.RemoteGit, f))

const repos = ["aperture", "fungal", "ml-infra", "tools", "web"]
/** A machine: its own HOME, BLUE_HOME and member repo (`git init` with one commit). */
const makeHome = async (label, k) => {
  const dir = path.join(root, label)
  const repo = path.join(dir, repos[k % repos.length])
  fs.mkdirSync(repo, { recursive: true })
  const env = {
    ...baseEnv,
    HOME: dir,
    BLUE_HOME: path.join(dir, ".blue"),
    BLUE_USER: USER,
    BLUE_DAEMON: "off",
    BLUE_REALM_USER: `home-${k}`,
    NO_COLOR: "1",
    XDG_RUNTIME_DIR: path.join(dir, "xdg")
  }
  fs.mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 })
  await git(repo, "init", "-q", "-b", "main")
  fs.writeFileSync(path.join(repo, "README.md"), "bench\n")
  await git(repo, "add", "-A")
  await git(repo, "commit", "-q", "-m", "initial")
  return { dir, repo, env, daemon: undefined }
}
/** A realm on the server, inited from `homes[0]` and joined by every home (by its member repo). */
const makeRealm = async (name, homes) => {
  await server.createBareRepo(name)
  const url = server.url(name)
  await must("init", blue(homes[0].env, homes[0].dir, "realm", "admin", "init", "--name", name, "--remote", url))
  for (const h of homes) await must("join", blue(h.env, h.repo, "realm", "admin", "join", url))
  return url
}
const daemons = []
/** Starts the home's daemon and lets the CLI hand its writes over to it. */
const startDaemon = async (h, syncMs) => {
  h.env.BLUE_DAEMON_PORT = String(await free())
  // BENCH_DAEMON_NODE_ARGS (e.g. --cpu-prof) and BENCH_DAEMON_WRAP (e.g. "strace -f -c -o FILE"): for profiling.
  const wrap = (process.env.BENCH_DAEMON_WRAP ?? "").split(" ").filter(Boolean)
  const d = spawn(
    wrap[0] ?? process.execPath,
    [
      ...wrap.slice(1),
      ...(wrap.length > 0 ? [process.execPath] : []),
      ...(process.env.BENCH_DAEMON_NODE_ARGS ?? "").split(" ").filter(Boolean),
      bin,
      "daemon",
      "run"
    ],
    {
      cwd: h.repo,
      env: { ...h.env, ...(syncMs === undefined ? {} : { BLUE_REALM_SYNC_INTERVAL_MS: String(syncMs) }) },
      stdio: "ignore"
    }
  )
  daemons.push(d)
  h.daemon = d
  while (!(await fetch(`http://127.0.0.1:${h.env.BLUE_DAEMON_PORT}/health`).then((r) => r.ok, () => false))) {
    await sleep(50)
  }
  h.env.BLUE_DAEMON = "auto"
  h.token = fs.readFileSync(path.join(h.env.BLUE_HOME, "daemon.token"), "utf8").trim()
}
const stopDaemons = async () => {
  const all = daemons.splice(0)
  for (const d of all) d.kill("SIGTERM")
  await Promise.all(all.map((d) => new Promise((r) => (d.exitCode !== null || d.signalCode !== null ? r() : d.on("exit", r)))))
}
/** The command sent straight to the home's daemon (`POST /run`), as the CLI would hand it over, without a CLI process. */
const postRun = async (h, argv) => {
  const env = Object.fromEntries(
    ["BLUE_HOME", "BLUE_USER", "HOME", "PATH", "NO_COLOR", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "BLUE_REALM_TOKEN"]
      .filter((k) => h.env[k] !== undefined).map((k) => [k, h.env[k]])
  )
  const t0 = performance.now()
  const r = await fetch(`http://127.0.0.1:${h.env.BLUE_DAEMON_PORT}/run`, {
    method: "POST",
    headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
    body: JSON.stringify({ argv, cwd: h.repo, env, stdout_tty: false, stderr_tty: false })
  })
  const body = await r.json()
  return { code: r.ok ? body.exit_code : 1, stdout: body.stdout ?? "", stderr: body.stderr ?? JSON.stringify(body), ms: performance.now() - t0 }
}
/** A commit of one new file in a native clone, pushed; on a rejection fetch, rebase, retry. Returns the attempts. */
const nativeWrite = async (clone, file) => {
  fs.writeFileSync(path.join(clone, file), `${file}\n`)
  await git(clone, "add", file)
  await git(clone, "commit", "-q", "-m", file)
  for (let attempt = 1;; attempt++) {
    try {
      await git(clone, "push", "-q", "origin", "main")
      return attempt
    } catch (e) {
      if (attempt >= 50) throw e
      await git(clone, "pull", "-q", "--rebase", "origin", "main")
    }
  }
}

const results = { bench: "remote-e2e", runs: RUNS, load_before: loadNow() }
const rows = {}

// --- one remote append, single writer -------------------------------------------------------------------------
if (ROWS.includes("append")) {
  const per = []
  for (let run = 0; run < RUNS; run++) {
    const h = await makeHome(`append-${run}`, 0)
    // A second machine joins fungal, the domains' consumer; it stays idle.
    const url = await makeRealm(`append-${run}`, [h, await makeHome(`append-${run}-b`, 1)])
    await startDaemon(h)
    // The native side pushes to a copy of the realm on the same server, so the realm gets no foreign commits.
    const native = path.join(root, `append-native-${run}`)
    await git(root, "clone", "-q", url, native)
    await server.createBareRepo(`append-${run}-native`)
    await git(native, "remote", "set-url", "origin", server.url(`append-${run}-native`))
    await git(native, "push", "-q", "origin", "main")
    // Floors: a bare node process, and the full CLI answering --version (the thin write client loads less).
    const floor = []
    const nodeFloor = []
    for (let i = 0; i < 5; i++) {
      floor.push((await must("version", blue(h.env, h.repo, "--version"))).ms)
      nodeFloor.push(await time(() => execFileAsync(process.execPath, ["-e", "0"])))
    }
    // The daemon's own share: the same command sent to its POST /run by this process (no CLI process).
    const runDirect = async (argv) => {
      const r = await postRun(h, argv)
      if (r.code !== 0) throw new Error(`POST /run failed: ${r.stderr}`)
      return r.ms
    }
    // A warm-up write (the daemon's first command loads its programs), not counted.
    await must("warm-up", blue(h.env, h.repo, "realm", "admin", "domain", "create", "warm", "--repos", "aperture,fungal"))
    const ours = []
    const direct = []
    const nat = []
    const load = os.loadavg()[0]
    for (let i = 0; i < APPENDS; i++) {
      ours.push((await must("append", blue(h.env, h.repo, "realm", "admin", "domain", "create", `d${i}`, "--repos", "aperture,fungal"))).ms)
      direct.push(await runDirect(["realm", "admin", "domain", "create", `r${i}`, "--repos", "aperture,fungal"]))
      await git(native, "pull", "-q", "--ff-only", "origin", "main")
      fs.writeFileSync(path.join(native, `n${i}.txt`), `${i}\n`)
      await git(native, "add", "-A")
      await git(native, "commit", "-q", "-m", `n${i}`)
      nat.push(await time(() => git(native, "push", "-q", "origin", "main")))
    }
    await stopDaemons()
    per.push({
      p50: median(ours),
      p99: p99(ours),
      git_push_p50: median(nat),
      git_push_p99: p99(nat),
      cli_floor: median(floor),
      node_floor: median(nodeFloor),
      run_p50: median(direct),
      run_p99: p99(direct),
      load_1m: Math.round(load * 100) / 100
    })
    log(`append run ${run}: ${JSON.stringify(per.at(-1))}`)
  }
  const r = (k) => ms(median(per.map((x) => x[k])))
  rows.append = {
    appends: APPENDS,
    p50: r("p50"),
    p99: r("p99"),
    git_push_p50: r("git_push_p50"),
    git_push_p99: r("git_push_p99"),
    cli_version: r("cli_floor"),
    node_process_floor: r("node_floor"),
    daemon_run_p50: r("run_p50"),
    daemon_run_p99: r("run_p99"),
    ratio_daemon_run_p50: ratio(median(per.map((x) => x.run_p50)), median(per.map((x) => x.git_push_p50))),
    ratio_p50: ratio(median(per.map((x) => x.p50)), median(per.map((x) => x.git_push_p50))),
    ratio_p99: ratio(median(per.map((x) => x.p99)), median(per.map((x) => x.git_push_p99))),
    loads: per.map((x) => x.load_1m)
  }
}

// --- 3 homes × 20 concurrent writes ------------------------------------------------------------------------------
if (ROWS.includes("contention")) {
  const HOMES = 3
  const WRITES = 20
  const per = []
  for (let run = 0; run < RUNS; run++) {
    const homes = []
    for (let k = 0; k < HOMES; k++) homes.push(await makeHome(`cont-${run}-${k}`, k))
    const name = `contention-${run}`
    const url = await makeRealm(name, homes)
    for (const h of homes) await startDaemon(h, 2000)
    const load = os.loadavg()[0]
    const writes = await Promise.all(homes.flatMap((h, k) =>
      Array.from(
        { length: WRITES },
        (_, i) =>
          blue(h.env, h.repo, "realm", "admin", "domain", "create", `d${k}-${i}`, "--repos", "aperture,fungal", "--json")
      )
    ))
    // The same 60 writes again, sent straight to the daemons' POST /run: the engine's share, without 60 node
    // processes starting at once on this machine's cores.
    await sleep(500)
    const api = await Promise.all(homes.flatMap((h, k) =>
      Array.from(
        { length: WRITES },
        (_, i) => postRun(h, ["realm", "admin", "domain", "create", `e${k}-${i}`, "--repos", "aperture,fungal", "--json"])
      )
    ))
    await stopDaemons()
    const apiOk = api.filter((w) => w.code === 0)
    // The floor of the CLI figure: as many bare `node -e 0` processes started at once on this machine.
    await sleep(500)
    const floor = await Promise.all(Array.from({ length: HOMES * WRITES }, async () => {
      const t = performance.now()
      await execFileAsync(process.execPath, ["-e", "0"])
      return performance.now() - t
    }))
    const ok = writes.filter((w) => w.code === 0)
    // Native: one clone per home, its 20 commits pushed one after the other (a machine's single writer), the three
    // clones at once; a rejected push fetches, rebases and pushes again.
    const clones = []
    for (let k = 0; k < HOMES; k++) {
      const c = path.join(root, `cont-native-${run}-${k}`)
      await git(root, "clone", "-q", url, c)
      clones.push(c)
    }
    const t0 = performance.now()
    const nat = await Promise.all(clones.map(async (c, k) => {
      const out = []
      for (let i = 0; i < WRITES; i++) {
        const attempts = await nativeWrite(c, `n${k}-${i}.txt`)
        out.push({ ms: performance.now() - t0, attempts })
      }
      return out
    }))
    const natFlat = nat.flat()
    per.push({
      landed: ok.length,
      of: writes.length,
      p50: median(writes.map((w) => w.ms)),
      p99: p99(writes.map((w) => w.ms)),
      max_attempts: Math.max(0, ...ok.map((w) => JSON.parse(w.stdout).attempts ?? 0)),
      api_landed: apiOk.length,
      api_p50: median(api.map((w) => w.ms)),
      api_p99: p99(api.map((w) => w.ms)),
      api_max_attempts: Math.max(0, ...apiOk.map((w) => JSON.parse(w.stdout).attempts ?? 0)),
      node_floor_p50: median(floor),
      node_floor_p99: p99(floor),
      git_p99: p99(natFlat.map((x) => x.ms)),
      git_max_attempts: Math.max(...natFlat.map((x) => x.attempts)),
      load_1m: Math.round(load * 100) / 100,
      failed: writes.filter((w) => w.code !== 0).map((w) => w.stderr.trim()).slice(0, 2)
    })
    log(`contention run ${run}: ${JSON.stringify(per.at(-1))}`)
    await sleep(500)
  }
  const r = (k) => ms(median(per.map((x) => x[k])))
  rows.contention = {
    homes: HOMES,
    writes_per_home: WRITES,
    landed: per.map((x) => `${x.landed}/${x.of}`),
    p50: r("p50"),
    p99: r("p99"),
    max_attempts: median(per.map((x) => x.max_attempts)),
    node_e0_at_once: { p50: r("node_floor_p50"), p99: r("node_floor_p99") },
    via_daemon_api: {
      landed: per.map((x) => `${x.api_landed}/${x.of}`),
      p50: r("api_p50"),
      p99: r("api_p99"),
      max_attempts: median(per.map((x) => x.api_max_attempts))
    },
    git_serial_retry_p99: r("git_p99"),
    git_max_attempts: median(per.map((x) => x.git_max_attempts)),
    ratio_p99: ratio(median(per.map((x) => x.p99)), median(per.map((x) => x.git_p99))),
    loads: per.map((x) => x.load_1m),
    failed: per.flatMap((x) => x.failed).slice(0, 3)
  }
}

// --- fresh machine: clone + ingest an EVENTS-event realm --------------------------------------------------------
/** Makes (or reuses) a bare repo holding a realm of at least `events` events, generated through the engine. */
const realmOfEvents = async (events) => {
  const kept = path.join(os.tmpdir(), `blue-bench-realm-${events}.git`)
  if (fs.existsSync(path.join(kept, "blue-bench-done")) && !process.env.BLUE_BENCH_REGEN) return kept
  fs.rmSync(kept, { recursive: true, force: true })
  const { IdsLive, RealmGitLive, RealmLockLive, Realms, SqliteEventLogLive } = await import(
    pathToFileURL(path.join(repoRoot, "dist", "index.js")).href
  )
  const gen = path.join(root, "gen")
  const home = path.join(gen, "home")
  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  const realmDir = path.join(gen, "realm-bench")
  const rt = ManagedRuntime.make(
    Realms.Default.pipe(
      Layer.provide(
        Layer.mergeAll(SqliteEventLogLive(path.join(home, "daemon.db")), RealmGitLive, RealmLockLive, IdsLive)
      )
    )
  )
  let count = 0
  const exec = async (command, actor) => {
    const out = await rt.runPromise(Effect.flatMap(Realms, (r) => r.execute(realmDir, command, actor)))
    count += out.events.length
  }
  await rt.runPromise(Effect.flatMap(Realms, (r) => r.init(gen, "bench", "open", { user: USER })))
  count++
  const N = 20
  for (let i = 0; i <= N; i++) {
    const dir = path.join(gen, "repos", `svc-${i}`)
    fs.mkdirSync(dir, { recursive: true })
    execFileSync("git", ["init", "-q"], { cwd: dir, stdio: "pipe" })
    await exec({ _tag: "JoinRealm", repo: `svc-${i}`, path: dir, maintainers: [USER] }, { repo: `svc-${i}`, user: USER })
  }
  for (let k = 0; k < N; k++) {
    await exec(
      { _tag: "CreateDomain", domain: `dom-${k}`, repos: [`svc-${k}`, `svc-${N}`], contract: `dom-${k}` },
      { repo: `svc-${k}`, user: USER }
    )
  }
  const schema = { type: "object", properties: { read: { type: "array", items: { type: "string" } } } }
  const t0 = performance.now()
  for (let i = 0; count < events; i++) {
    const k = i % N
    await exec(
      { _tag: "PublishContract", contract: `dom-${k}`, domain: `dom-${k}`, schema, value: { read: [`b-${k}/${i}/*`] } },
      { repo: `svc-${k}`, user: USER }
    )
    if (i % 500 === 0) log(`generating: ${count}/${events} events, ${ms((performance.now() - t0) / 1000)} s`)
  }
  await rt.dispose()
  execFileSync("git", ["clone", "-q", "--bare", realmDir, kept], { stdio: "pipe" })
  execFileSync("git", ["gc", "-q"], { cwd: kept, stdio: "pipe" })
  fs.writeFileSync(path.join(kept, "blue-bench-done"), `${count}\n`)
  return kept
}
if (ROWS.includes("clone")) {
  const kept = await realmOfEvents(EVENTS)
  const events = Number(fs.readFileSync(path.join(kept, "blue-bench-done"), "utf8"))
  const commits = Number(execFileSync("git", ["rev-list", "--count", "main"], { cwd: kept, encoding: "utf8" }))
  const per = []
  for (let run = 0; run < RUNS; run++) {
    const name = `big-${run}`
    const bare = await server.createBareRepo(name)
    fs.rmSync(bare, { recursive: true, force: true })
    fs.cpSync(kept, bare, { recursive: true })
    const url = server.url(name)
    const h = await makeHome(`clone-${run}`, 0)
    const load = os.loadavg()[0]
    // From the member repo, as a user joins (after the clone and the ingest, its JoinRealm is pushed too).
    const ours = (await must("join", blue(h.env, h.repo, ...cliArgs, "realm", "admin", "join", url))).ms
    const nat = await time(() => git(root, "clone", "-q", url, path.join(root, `clone-native-${run}`)))
    per.push({ ours, git_clone: nat, ratio: ours / nat, load_1m: Math.round(load * 100) / 100 })
    log(`clone run ${run}: ${JSON.stringify(per.at(-1))}`)
  }
  rows.clone_ingest = {
    events,
    commits,
    join: ms(median(per.map((x) => x.ours))),
    git_clone: ms(median(per.map((x) => x.git_clone))),
    ratio: ratio(median(per.map((x) => x.ours)), median(per.map((x) => x.git_clone))),
    run_ratios: per.map((x) => Math.round(x.ratio * 100) / 100),
    loads: per.map((x) => x.load_1m)
  }
}

// --- poll with nothing new ---------------------------------------------------------------------------------------
if (ROWS.includes("poll")) {
  const h = await makeHome("poll", 0)
  const url = await makeRealm("poll", [h])
  const ours = path.join(root, "poll-ours")
  await remote((r) => r.clone(url, ours))
  const native = path.join(root, "poll-native")
  await git(root, "clone", "-q", url, native)
  const per = []
  for (let run = 0; run < RUNS; run++) {
    const a = []
    const b = []
    for (let i = 0; i < 20; i++) {
      a.push(await time(() => remote((r) => r.fetch(ours))))
      b.push(await time(() => git(native, "fetch", "-q", "origin")))
    }
    per.push({ ours: median(a), git_fetch: median(b), load_1m: loadNow()[0] })
  }
  rows.poll_nothing_new = {
    fetch_p50: ms(median(per.map((x) => x.ours))),
    git_fetch_p50: ms(median(per.map((x) => x.git_fetch))),
    ratio: ratio(median(per.map((x) => x.ours)), median(per.map((x) => x.git_fetch))),
    loads: per.map((x) => x.load_1m)
  }
}

// --- change on machine A → notification on machine B -------------------------------------------------------------
if (ROWS.includes("notify")) {
  const a = await makeHome("notify-a", 0)
  const b = await makeHome("notify-b", 1)
  await makeRealm("notify", [a, b])
  await must(
    "domain",
    blue(a.env, a.repo, "realm", "admin", "domain", "create", "s3", "--repos", "aperture,fungal", "--contract", "s3-perm")
  )
  // Each bump adds one entry: a compatible (minor) change, so a notification rather than a proposal.
  const exportValue = (i) =>
    blue(a.env, a.repo, "realm", "export", "--name", "s3-perm", "--value", JSON.stringify({ read: Array.from({ length: i + 1 }, (_, j) => `v${j}/*`) }))
  await must("export", exportValue(0))
  await startDaemon(a, NOTIFY_INTERVAL)
  await startDaemon(b, NOTIFY_INTERVAL)
  const socket = new WebSocket(`ws://127.0.0.1:${b.env.BLUE_DAEMON_PORT}/feed`, {
    headers: { authorization: `Bearer ${b.token}` }
  })
  const received = []
  socket.on("message", (d) => received.push({ at: performance.now(), message: JSON.parse(d.toString()) }))
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject))
  socket.send(JSON.stringify({ type: "subscribe", realm: "notify", repo: "fungal" }))
  const until = async (what, check, limit) => {
    const end = performance.now() + limit
    while (!check()) {
      if (performance.now() > end) {
        const r = await fetch(`http://127.0.0.1:${b.env.BLUE_DAEMON_PORT}/notifications?realm=notify&repo=fungal`, {
          headers: { authorization: `Bearer ${b.token}` }
        }).then((r) => r.text(), (e) => String(e))
        throw new Error(`timed out waiting for ${what}; B lists ${r}; feed: ${JSON.stringify(received.slice(-3))}`)
      }
      await sleep(10)
    }
  }
  await until("the feed to subscribe", () => received.some((r) => r.message.type === "subscribed"), 30_000)
  // Let B's daemon catch up with what happened before it started.
  await sleep(NOTIFY_INTERVAL * 2 + 1000)
  // What B's feed says first about A's change: the notification, or (a bump that opens a proposal) the event.
  const news = (r) => r.message.type === "notification" || r.message.type === "event"
  const per = []
  for (let run = 0; run < Math.max(RUNS, 5); run++) {
    const seen = received.length
    const load = os.loadavg()[0]
    const done = await must("bump", exportValue(run + 1))
    await until(
      "B's notification",
      () => received.slice(seen).some(news),
      NOTIFY_INTERVAL + 20_000
    )
    const first = received.slice(seen).find(news)
    per.push({ latency: first.at - done.end, kind: first.message.type, load_1m: Math.round(load * 100) / 100 })
    log(`notify run ${run}: ${JSON.stringify(per.at(-1))}`)
    // Runs start at random phases of B's poll.
    await sleep(Math.random() * NOTIFY_INTERVAL)
  }
  socket.close()
  await stopDaemons()
  const lat = per.map((x) => x.latency)
  rows.notify = {
    interval: NOTIFY_INTERVAL,
    latency_median: ms(median(lat)),
    latency_max: ms(Math.max(...lat)),
    excess_median: ms(median(lat) - NOTIFY_INTERVAL),
    excess_max: ms(Math.max(...lat) - NOTIFY_INTERVAL),
    kinds: [...new Set(per.map((x) => x.kind))],
    loads: per.map((x) => x.load_1m)
  }
}

results.rows = rows
results.load_after = loadNow()
await stopDaemons()
await adapter.dispose()
await server.close()
fs.rmSync(root, { recursive: true, force: true })
console.log(JSON.stringify(results))
process.exit(0)
