// Bundles the `blue` binary (one ESM file, fast start) and the library entry point.
import { build } from "esbuild"
import { readFileSync, rmSync } from "node:fs"

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
const banner = {
  js: "import { createRequire as __blueCreateRequire } from 'node:module'; const require = __blueCreateRequire(import.meta.url);"
}

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
    minify: true,
    sourcemap: "linked",
    external: ["better-sqlite3"],
    // Dependencies written as ES modules use import.meta.url; give them this file's URL.
    banner: { js: "var __blueImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { BLUE_VERSION: JSON.stringify(pkg.version), "import.meta.url": "__blueImportMetaUrl" },
    logLevel: "warning"
  })

// The full CLI, and the MCP server (`blue mcp`) on its own so the other commands do not load the MCP/RPC code.
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
  minify: true,
  sourcemap: "linked",
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
  sourcemap: "linked",
  logLevel: "warning"
})
