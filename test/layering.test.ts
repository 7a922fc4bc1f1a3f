/**
 * The floors above the engine: operations and the shells (the CLI, the daemon, the MCP server) reach IO through the
 * engine's ports (engine/ports.ts) and its composition root (engine/live.ts), never by importing an adapter module.
 * Every import, re-export and dynamic import is read with TypeScript's own pre-processor.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Files allowed to import adapters, each with why: the start-up fast path, which must not load Effect (it uses the
 * tiny Effect-free adapters directly). An entry that no longer imports an adapter fails the test, so it gets removed.
 */
const EXCEPTIONS: Readonly<Record<string, string>> = {
  "src/cli/bin.ts": "fast path (no Effect): checks the environment before anything loads",
  "src/cli/fastStatus.ts": "fast path (no Effect): status straight from daemon.db",
  "src/cli/loader.ts": "fast path (no Effect): the V8 code cache of dist/cli.cjs",
  "src/cli/thinWrite.ts": "fast path (no Effect): hands a write command to the running daemon"
}

const sourcesUnder = (dir: string): Array<string> =>
  fs.readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort()

/** The module specifiers a file imports or re-exports (static and dynamic). */
const importsOf = (file: string): Array<string> =>
  ts.preProcessFile(fs.readFileSync(path.join(root, file), "utf8"), true, true).importedFiles.map((f) => f.fileName)

const adapterImports = (file: string): Array<string> =>
  importsOf(file).filter((spec) => {
    if (!spec.startsWith(".")) return false
    const target = path.relative(root, path.resolve(path.dirname(path.join(root, file)), spec))
    return target === "src/adapters" || target.startsWith(`src${path.sep}adapters${path.sep}`)
  })

describe("layering", () => {
  const shellsAndOperations = [
    ...sourcesUnder("src/operations"),
    ...sourcesUnder("src/cli"),
    ...sourcesUnder("src/daemon"),
    ...sourcesUnder("src/mcp")
  ]

  it("finds the files it checks", () => {
    expect(shellsAndOperations).toContain("src/operations/admin.ts")
    expect(shellsAndOperations).toContain("src/cli/commands.ts")
    expect(shellsAndOperations).toContain("src/daemon/apiHandlers.ts")
    expect(shellsAndOperations).toContain("src/mcp/presence.ts")
    // The reader sees every form of import.
    const probe = ts.preProcessFile(
      "import a from \"../adapters/a.js\"\nexport { b } from \"../adapters/b.js\"\nconst c = await import(\"../adapters/c.js\")\nimport type { D } from \"../adapters/d.js\"",
      true,
      true
    ).importedFiles.map((f) => f.fileName)
    expect(probe).toEqual(["../adapters/a.js", "../adapters/b.js", "../adapters/c.js", "../adapters/d.js"])
  })

  it("operations, the CLI, the daemon and the MCP server import no adapter module (only the listed exceptions do)", () => {
    const offenders = shellsAndOperations
      .filter((f) => EXCEPTIONS[f] === undefined)
      .flatMap((f) => adapterImports(f).map((spec) => `${f} imports ${spec}`))
    expect(offenders).toEqual([])
  })

  it("the exceptions are exactly the start-up fast path", () => {
    expect(Object.keys(EXCEPTIONS).sort()).toEqual([
      "src/cli/bin.ts",
      "src/cli/fastStatus.ts",
      "src/cli/loader.ts",
      "src/cli/thinWrite.ts"
    ])
  })

  it("every exception still needs to be one", () => {
    const stale = Object.keys(EXCEPTIONS).filter((f) =>
      !fs.existsSync(path.join(root, f)) || adapterImports(f).length === 0
    )
    expect(stale).toEqual([])
  })
})

/** The values the engine's checks and detection take from adapters: ports, error classes and pure helpers. */
const ENGINE_VALUES: Readonly<Record<string, string>> = {
  Extractors: "port",
  HookRunner: "port",
  TrustStore: "port",
  Workspace: "port",
  ExtractError: "error class",
  extractorKey: "pure: a cache key of an extractor's configuration",
  decodeYaml: "pure: parses text already read",
  isWithin: "for now: the synchronous checks of the realm checkout (locateFindings, driftLocation)"
}

/** The names a file imports as values (not `import type`, not `type X`) from adapter modules. */
const adapterValueImports = (file: string): Array<string> => {
  const source = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), "utf8"), ts.ScriptTarget.Latest)
  return source.statements.flatMap((s) => {
    if (!ts.isImportDeclaration(s) || !ts.isStringLiteral(s.moduleSpecifier)) return []
    if (!s.moduleSpecifier.text.includes("/adapters/")) return []
    const clause = s.importClause
    if (clause === undefined || clause.isTypeOnly) return []
    const named = clause.namedBindings
    if (named === undefined || !ts.isNamedImports(named)) return [clause.name?.text ?? "*"]
    return named.elements.filter((e) => !e.isTypeOnly).map((e) => e.name.text)
  })
}

describe("layering: the engine's checks and detection", () => {
  it("reach extractors, hooks and caches through ports, not adapter functions", () => {
    const files = ["src/engine/check.ts", "src/engine/detect.ts"]
    const used = files.flatMap((f) => adapterValueImports(f).map((name) => ({ f, name })))
    expect(used.map((u) => u.name)).toContain("Extractors")
    expect(used.filter((u) => ENGINE_VALUES[u.name] === undefined).map((u) => `${u.f} imports ${u.name}`)).toEqual([])
  })
})

/** The floors, lowest first: a module imports from its own floor or one below, never from one above. */
const FLOORS: ReadonlyArray<ReadonlyArray<string>> = [
  ["domain"],
  ["events"],
  ["projections"],
  ["adapters"],
  ["engine"],
  ["operations"],
  ["cli", "daemon", "mcp"]
]

const floorOf = (file: string): number => {
  const [top, dir] = file.split(path.sep)
  return top === "src" && dir !== undefined ? FLOORS.findIndex((f) => f.includes(dir)) : -1
}

describe("layering: the floors", () => {
  it("no module imports from a floor above its own", () => {
    const files = FLOORS.flat().flatMap((dir) => sourcesUnder(`src/${dir}`))
    expect(files).toContain("src/adapters/daemonApi.ts")
    const upward = files.flatMap((file) =>
      importsOf(file).flatMap((spec) => {
        if (!spec.startsWith(".")) return []
        const target = path.relative(root, path.resolve(path.dirname(path.join(root, file)), spec))
        return floorOf(target) > floorOf(file) ? [`${file} imports ${spec}`] : []
      })
    )
    expect(upward).toEqual([])
  })
})
