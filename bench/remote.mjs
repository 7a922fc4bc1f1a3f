// The remote realm git layer (src/adapters/remoteGit.ts) against the loopback git http-backend server of the tests,
// vs the git executable doing the same: one push (p50/p99), a fetch with nothing new, a clone of a realm with
// COMMITS commits (isomorphic-git, and the adapter's native path). Medians of RUNS runs; prints the load average.
// Usage: node bench/remote.mjs [PUSHES=30] [COMMITS=2000] [RUNS=3]
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { build } from "esbuild"

const PUSHES = Number(process.argv[2] ?? 30)
const COMMITS = Number(process.argv[3] ?? 2000)
const RUNS = Number(process.argv[4] ?? 3)
const TOKEN = "bench-token-0000"
const repoRoot = fileURLToPath(new URL("..", import.meta.url))
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-bench-remote-")))

// The adapter and the test server are TypeScript outside the package's exports: bundle them for this run.
const entry = path.join(root, "entry.ts")
fs.writeFileSync(
  entry,
  `export * from ${JSON.stringify(path.join(repoRoot, "src/adapters/remoteGit.ts"))}
export * from ${JSON.stringify(path.join(repoRoot, "src/adapters/credentials.ts"))}
export * from ${JSON.stringify(path.join(repoRoot, "test/support/gitServer.ts"))}
`
)
fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(root, "node_modules"))
await build({
  entryPoints: [entry],
  outfile: path.join(root, "entry.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  packages: "external",
  logLevel: "silent"
})
const { Effect, Layer, ManagedRuntime } = await import("effect")
const m = await import(pathToFileURL(path.join(root, "entry.mjs")).href)

const env = {
  PATH: process.env.PATH,
  HOME: root,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "b",
  GIT_AUTHOR_EMAIL: "b@x",
  GIT_COMMITTER_NAME: "b",
  GIT_COMMITTER_EMAIL: "b@x",
  BLUE_REALM_TOKEN: TOKEN
}
// The git executable gets the same token through a helper reading the environment, as the adapter's native clone.
const nativeEnv = {
  ...env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_COUNT: "1",
  GIT_CONFIG_KEY_0: "credential.helper",
  GIT_CONFIG_VALUE_0: `!f() { test "$1" = get && printf 'username=blue\\npassword=%s\\n' "$BLUE_REALM_TOKEN"; }; f`
}
// Asynchronous: the server runs in this process, and a synchronous child would block it (a deadlock).
const execFileAsync = promisify(execFile)
const git = async (cwd, ...args) => (await execFileAsync("git", args, { cwd, env: nativeEnv })).stdout.trim()
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)]
const ms = (x) => Math.round(x * 10) / 10
const time = async (f) => {
  const t = performance.now()
  await f()
  return performance.now() - t
}

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
