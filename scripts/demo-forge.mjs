#!/usr/bin/env node
/**
 * The seed's Forgejo story against the Forgejo fake (`npm run demo:forge`): `init --forgejo`, two joins on two
 * machines (each records its origin URL and its `forge:<login>`), aperture's export opening PR #1 with fungal's
 * maintainer as reviewer and an issue in fungal's repo, fungal's approval on the forge, Blue's merge, the PR and
 * the issue closed. The fake is TypeScript under test/support: bundled with esbuild for this run (as bench/remote.mjs
 * does); it validates every request against Forgejo's API document and the demo fails on any violation.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { build } from "esbuild"

const repoRoot = fileURLToPath(new URL("..", import.meta.url))
const BIN = path.join(repoRoot, "bin", "blue.js")
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-demo-forge-")))
const entry = path.join(root, "entry.ts")
fs.writeFileSync(entry, `export * from ${JSON.stringify(path.join(repoRoot, "test/support/forgejoFake.ts"))}\n`)
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
const { startForgejoFake } = await import(pathToFileURL(path.join(root, "entry.mjs")).href)

const fake = await startForgejoFake()
fake.addOrg("letemcook")
fake.addUser("fungal-maintainer")
await fake.createRepo("letemcook", "aperture")
await fake.createRepo("letemcook", "fungal-image-analysis")

const machine = (label, token) => {
  const dir = path.join(root, label)
  fs.mkdirSync(dir)
  return {
    dir,
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      BLUE_HOME: path.join(dir, ".blue-home"),
      BLUE_USER: `${label}@example.com`,
      GIT_AUTHOR_NAME: label,
      GIT_AUTHOR_EMAIL: `${label}@example.com`,
      GIT_COMMITTER_NAME: label,
      GIT_COMMITTER_EMAIL: `${label}@example.com`,
      GIT_CONFIG_NOSYSTEM: "1",
      NO_COLOR: "1",
      BLUE_DAEMON: "off",
      BLUE_REALM_TOKEN: token,
      BLUE_FORGEJO_URL: fake.url
    }
  }
}
const git = (m, cwd, ...args) => {
  const r = spawnSync("git", args, { cwd, env: m.env, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`)
}
const repo = (m, name) => {
  const dir = path.join(m.dir, name)
  fs.mkdirSync(dir)
  git(m, dir, "init", "-q", "-b", "main")
  fs.writeFileSync(path.join(dir, "README.md"), `# ${name}\n`)
  git(m, dir, "add", "README.md")
  git(m, dir, "commit", "-q", "-m", "initial")
  git(m, dir, "remote", "add", "origin", `${fake.url}/letemcook/${name}.git`)
  return dir
}
/** Runs the CLI asynchronously (the fake shares this event loop) and prints the command and its output. */
const blue = async (m, cwd, ...args) => {
  const { spawn } = await import("node:child_process")
  console.log(`\n$ blue ${args.map((a) => (/[\s"{}*]/.test(a) ? `'${a}'` : a)).join(" ")}   # ${path.basename(m.dir)}`)
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: m.env })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    child.on("close", (code) => resolve({ code, out, err }))
  })
  process.stdout.write(r.out.replace(/^/gm, "  "))
  if (r.err.trim() !== "") process.stdout.write(r.err.replace(/^/gm, "  "))
  if (r.code !== 0) throw new Error(`blue ${args.join(" ")} failed (exit ${r.code})`)
  return r.out
}
const say = (text) => console.log(`\n── ${text}`)

try {
  const a = machine("aperture-machine", "tok-blue")
  const b = machine("fungal-machine", "tok-fungal-maintainer")
  const aperture = repo(a, "aperture")
  const fungal = repo(b, "fungal-image-analysis")
  say(`A Forgejo (the validating fake) at ${fake.url}; org letemcook`)
  const init = JSON.parse(
    await blue(a, a.dir, "realm", "admin", "init", "--name", "letemcook", "--forgejo", fake.url, "--org", "letemcook", "--json")
  )
  await blue(a, aperture, "realm", "admin", "join", init.url)
  await blue(b, fungal, "realm", "join", init.url)
  await blue(
    a,
    aperture,
    "realm",
    "admin",
    "domain",
    "create",
    "s3-access",
    "--repos",
    "aperture,fungal-image-analysis",
    "--contract",
    "s3-permissions"
  )
  await blue(a, aperture, "realm", "export", "--name", "s3-permissions", "--value", JSON.stringify({ read: ["jobs/*"] }))
  say("aperture adds a path: a proposal, mirrored as PR #1 with fungal's maintainer as reviewer")
  await blue(
    a,
    aperture,
    "realm",
    "export",
    "--name",
    "s3-permissions",
    "--value",
    JSON.stringify({ read: ["jobs/*", "training-metrics/experiments/*"] })
  )
  const pr = fake.items("letemcook", "realm-letemcook").find((i) => i.pull !== undefined)
  console.log(`  forge: PR #${pr.number} "${pr.title}" reviewers: ${[...pr.pull.reviewers].join(", ")}`)
  const issue = fake.items("letemcook", "fungal-image-analysis").find((i) => i.pull === undefined)
  console.log(`  forge: issue letemcook/fungal-image-analysis#${issue.number} "${issue.title}"`)
  await blue(a, aperture, "realm", "status")
  say("fungal-maintainer approves PR #1 on the forge")
  const review = await fake.review("letemcook", "realm-letemcook", pr.number, "fungal-maintainer", "APPROVED")
  console.log(`  forge: review answered ${review.status}`)
  await blue(a, aperture, "realm", "sync")
  console.log(`  forge: PR #${pr.number} is ${pr.state}; issue #${issue.number} is ${issue.state}`)
  await blue(b, fungal, "realm", "sync")
  await blue(b, fungal, "realm", "status")
  if (fake.violations.length > 0) throw new Error(`API violations:\n${fake.violations.join("\n")}`)
  if (pr.state !== "closed" || issue.state !== "closed") throw new Error("the PR or the issue is still open")
  say("done: 0 API violations")
} finally {
  await fake.close()
  fs.rmSync(root, { recursive: true, force: true })
}
