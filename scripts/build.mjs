// Bundles the `blue` binary (one ESM file, fast start) and the library entry point.
// `--types` also emits the library's declarations (dist/types, tsc). `npm pack`/`npm publish` (and `--release`)
// build the package as published: declarations, and no source maps.
import { build } from "esbuild"
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const banner = {
  js: "import { createRequire as __blueCreateRequire } from 'node:module'; const require = __blueCreateRequire(import.meta.url);"
}

// BLUE_BUILD_MINIFY=0 keeps names readable in a CPU profile (`--cpu-prof`); every other build is minified.
const release = process.argv.includes("--release") || ["pack", "publish"].includes(process.env.npm_command ?? "")
const types = release || process.argv.includes("--types")
const sourcemap = release ? false : "linked"
const dist = new URL("../dist/", import.meta.url)

// Chunk names carry content hashes: drop the previous build's so dist/ holds one consistent set.
rmSync(new URL("../dist/chunks", import.meta.url), { recursive: true, force: true })

/** A CommonJS bundle loaded by dist/blue.js through a V8 code cache. */
const cjsBundle = (entry, outfile) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: process.env.BLUE_BUILD_MINIFY !== "0",
    sourcemap,
    external: ["better-sqlite3"],
    // Dependencies written as ES modules use import.meta.url; give them this file's URL.
    banner: { js: "var __blueImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { BLUE_VERSION: JSON.stringify(pkg.version), "import.meta.url": "__blueImportMetaUrl" },
    logLevel: "warning"
  })

// The full CLI, and the MCP server (`blue mcp`) on its own so the other commands do not load the MCP SDK.
await cjsBundle("src/cli/main.ts", "dist/cli.cjs")
await cjsBundle("src/mcp/main.ts", "dist/mcp.cjs")

// The executable: the status fast path and the loader.
await build({
  entryPoints: { blue: "src/cli/bin.ts" },
  outdir: "dist",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  minify: process.env.BLUE_BUILD_MINIFY !== "0",
  sourcemap,
  external: ["better-sqlite3"],
  banner,
  logLevel: "warning"
})

await build({
  entryPoints: ["src/index.ts"],
  outfile: "dist/index.js",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  sourcemap,
  logLevel: "warning"
})

if (release) {
  // Maps of an earlier development build must not be shipped (package.json's "files" leaves them out as well).
  for (const entry of readdirSync(dist, { recursive: true })) {
    if (String(entry).endsWith(".map")) rmSync(new URL(String(entry), dist))
  }
}

if (types) {
  rmSync(new URL("types", dist), { recursive: true, force: true })
  const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url))
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdio: "inherit"
  })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
