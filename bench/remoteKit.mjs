// What bench/remote.mjs and bench/remote-e2e.mjs share: the remote adapter and the tests' loopback git server,
// bundled for the run (TypeScript outside the package's exports); the environment Blue and the git executable run
// with (the same token: the git executable gets it through a helper reading the environment, as the adapter's native
// clone does); and the statistics.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { build } from "esbuild"

export const TOKEN = "bench-token-0000"
export const repoRoot = fileURLToPath(new URL("..", import.meta.url))

/** A temp dir `blue-bench-<label>-…` with the bundle in it: { root, m (the bundle's exports), env, nativeEnv }. */
export const remoteKit = async (label) => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `blue-bench-${label}-`)))
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
  const nativeEnv = {
    ...env,
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "credential.helper",
    GIT_CONFIG_VALUE_0: `!f() { test "$1" = get && printf 'username=blue\\npassword=%s\\n' "$BLUE_REALM_TOKEN"; }; f`
  }
  return { root, m, env, nativeEnv }
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
export const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)]
export const ms = (x) => Math.round(x * 10) / 10
export const time = async (f) => {
  const t = performance.now()
  await f()
  return performance.now() - t
}
