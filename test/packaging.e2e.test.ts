/**
 * The published package, as a consumer gets it: `npm pack` (in a copy of the sources, so the build it runs does not
 * touch this checkout's dist/ while other suites use it), the tarball installed into a temp project, the embedding
 * example type-checked there with `tsc` and run against a realm the real `blue` binary changes.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeWorkspace, type Workspace } from "./support/workspace.js"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-packaging-")))

/** `blue realm log --json`'s events (a list; tolerate a wrapping document). */
const events = (doc: any): Array<{ position: number; type: string }> => (Array.isArray(doc) ? doc : doc.events)

const run = (cwd: string, cmd: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) => {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stdout}\n${r.stderr}`)
  return r.stdout
}

let packed: { readonly filename: string; readonly files: ReadonlyArray<{ readonly path: string }> }
let consumer: string
/** `tsc -p .` in the consumer project (type-checks the example against the package and emits dist/watch.js). */
let tsc: { readonly status: number | null; readonly stdout: string; readonly stderr: string }

beforeAll(() => {
  // The package's sources, as a fresh clone would have them, with this checkout's node_modules.
  const src = path.join(tmp, "src")
  fs.mkdirSync(src)
  for (
    const entry of [
      "package.json",
      "tsconfig.json",
      "tsconfig.build.json",
      "README.md",
      "LICENSE",
      "bin",
      "scripts",
      "src"
    ]
  ) {
    fs.cpSync(path.join(ROOT, entry), path.join(src, entry), { recursive: true })
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(src, "node_modules"), "dir")
  const out = path.join(tmp, "out")
  fs.mkdirSync(out)
  packed = JSON.parse(run(src, "npm", ["pack", "--json", "--pack-destination", out]))[0]

  // A consumer project: the tarball unpacked as node_modules/blue-realms, its dependencies (and typescript,
  // @types/node) linked from this checkout — the same files `npm install` would put there, without a registry.
  consumer = path.join(tmp, "consumer")
  const modules = path.join(consumer, "node_modules")
  fs.mkdirSync(path.join(modules, "blue-realms"), { recursive: true })
  for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    if (entry.startsWith(".") || entry === "blue-realms") continue
    fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(modules, entry), "dir")
  }
  run(consumer, "tar", [
    "-xzf",
    path.join(out, packed.filename),
    "-C",
    path.join(modules, "blue-realms"),
    "--strip-components=1"
  ])
  fs.writeFileSync(
    path.join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { "blue-realms": "0.1.0" } })
  )
  for (const file of ["tsconfig.json", "watch.ts"]) {
    fs.copyFileSync(path.join(ROOT, "examples", "embedding", file), path.join(consumer, file))
  }
  tsc = spawnSync(process.execPath, [path.join(modules, "typescript", "bin", "tsc"), "-p", "."], {
    cwd: consumer,
    encoding: "utf8"
  })
}, 120_000)

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("the packed package", () => {
  it("ships the declarations, the LICENSE and the bundles, and no source maps", () => {
    const files = packed.files.map((f) => f.path)
    expect(files).toEqual(expect.arrayContaining([
      "LICENSE",
      "README.md",
      "package.json",
      "bin/blue.js",
      "dist/blue.js",
      "dist/cli.cjs",
      "dist/mcp.cjs",
      "dist/index.js",
      "dist/types/index.d.ts",
      "dist/types/engine/Realms.d.ts"
    ]))
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([])
    const pkg = JSON.parse(fs.readFileSync(path.join(consumer, "node_modules", "blue-realms", "package.json"), "utf8"))
    expect(files).toContain(pkg.types.replace(/^\.\//, ""))
    expect(files).toContain(pkg.exports["."].types.replace(/^\.\//, ""))
    // No bundle points at a map that is not there.
    const bundle = fs.readFileSync(path.join(consumer, "node_modules", "blue-realms", "dist", "index.js"), "utf8")
    expect(bundle).not.toContain("sourceMappingURL")
    expect(fs.readFileSync(path.join(consumer, "node_modules", "blue-realms", "LICENSE"), "utf8")).toMatch(
      /^MIT License/
    )
  })

  it("type-checks a consumer that imports it (no TS7016), and its binary runs", () => {
    expect(tsc.stdout + tsc.stderr).toBe("")
    expect(tsc.status).toBe(0)
    expect(fs.existsSync(path.join(consumer, "dist", "watch.js"))).toBe(true)
    const version = spawnSync(process.execPath, [
      path.join(consumer, "node_modules", "blue-realms", "bin", "blue.js"),
      "--version"
    ], {
      encoding: "utf8"
    })
    expect(version.status).toBe(0)
    expect(version.stdout.trim()).toContain("0.1.0")
  })
})

describe("examples/embedding (installed from the tarball)", () => {
  let ws: Workspace
  beforeAll(() => {
    ws = makeWorkspace("blue-embed")
    ws.repo("aperture")
    ws.repo("fungal-image-analysis")
    expect(ws.blue(".", "realm", "admin", "init", "--name", "letemcook").code).toBe(0)
    expect(ws.blue("aperture", "realm", "admin", "join", "../realm-letemcook").code).toBe(0)
    expect(
      ws.blue(
        "aperture",
        "realm",
        "admin",
        "domain",
        "create",
        "s3-access",
        "--repos",
        "aperture,fungal-image-analysis",
        "--contract",
        "s3-permissions"
      ).code
    ).toBe(0)
    expect(ws.blue("fungal-image-analysis", "realm", "admin", "join", "../realm-letemcook").code).toBe(0)
  })
  afterAll(() => ws.cleanup())

  it("opens a realm, prints a repo's status, and hears the next change as the CLI commits it", async () => {
    const realmDir = ws.path("realm-letemcook")
    const before = events(ws.blue("fungal-image-analysis", "realm", "log", "--json").json())
    const example = spawn(process.execPath, ["dist/watch.js", realmDir, "fungal-image-analysis", "--changes", "1"], {
      cwd: consumer,
      env: ws.env
    })
    let stdout = ""
    let stderr = ""
    example.stdout.on("data", (d) => (stdout += d))
    example.stderr.on("data", (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => example.on("close", resolve))
    for (let i = 0; i < 200 && !stdout.includes("watching for changes"); i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(stderr).toBe("")
    expect(stdout).toContain(`realm letemcook: ${before.length} events, head `)
    expect(stdout).toContain("fungal-image-analysis")
    expect(stdout).toContain("s3-access")

    const published = ws.blue(
      "aperture",
      "realm",
      "export",
      "--name",
      "s3-permissions",
      "--value",
      JSON.stringify({ read: ["jobs/*/masks/*"] })
    )
    expect(published.code).toBe(0)
    const timeout = setTimeout(() => example.kill(), 20_000)
    const code = await exited
    clearTimeout(timeout)
    expect(stderr).toBe("")
    expect(code).toBe(0)
    const after = events(ws.blue("fungal-image-analysis", "realm", "log", "--json").json())
    const next = after[before.length]
    expect(next).toBeDefined()
    expect(stdout).toContain(`#${next.position} ${next.type} by aperture`)
  })
})
