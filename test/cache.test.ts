/**
 * The repo-cache contract, run against every implementation of the RepoCache port (cache.db and memory), plus what
 * only the SQLite file can show: persistence, lazy creation, recovery from a damaged file, and several processes
 * hammering one cache.db.
 */
import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it, vi } from "@effect/vitest"
import Database from "better-sqlite3"
import type { Scope } from "effect"
import { Effect, Exit, Layer } from "effect"
import { build } from "esbuild"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { RepoCacheOptions, RepoCacheService, ValidationResult } from "../src/adapters/cache.js"
import { cacheDbPath, makeMemoryRepoCache, makeRepoCache, migrations, RepoCachesLive } from "../src/adapters/cache.js"
import { MemberConfigLive } from "../src/adapters/files.js"
import { cacheCommand } from "../src/cli/cache.js"

const tmpRepo = () => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-cache-")))
  fs.mkdirSync(path.join(root, "src"))
  return root
}

/** An mtime far enough in the past that the entry is not "racily clean". */
const OLD = new Date("2025-01-01T00:00:00Z")

const write = (root: string, file: string, content: string, mtime: Date = OLD) => {
  const abs = path.join(root, file)
  fs.writeFileSync(abs, content)
  fs.utimesSync(abs, mtime, mtime)
}

/** A compute function that counts its calls and extracts the words of a file. */
const counter = () => {
  const calls: Array<string> = []
  const words = (content: string) =>
    Effect.sync(() => {
      calls.push(content)
      return { words: content.split(/\s+/).filter((w) => w.length > 0) }
    })
  return { calls, words }
}

type Make = (root: string, options?: RepoCacheOptions) => Effect.Effect<RepoCacheService, never, Scope.Scope>

const implementations: ReadonlyArray<[string, Make]> = [
  ["sqlite", (root, options) => makeRepoCache(root, options)],
  ["memory", (root, options) => Effect.succeed(makeMemoryRepoCache(root, options))]
]

const statsOf = (cache: RepoCacheService) =>
  Effect.map(cache.stats, (all) => Object.fromEntries(all.map((s) => [s.cache, s])))

describe.each(implementations)("RepoCache (%s)", (_, make) => {
  it.scoped("computes on a miss, then hits without computing, and counts both", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha beta")
      const cache = yield* make(root)
      const { calls, words } = counter()
      expect(yield* cache.exportFor("src/a.ts", "words@1", words)).toEqual({ words: ["alpha", "beta"] })
      expect(yield* cache.exportFor(path.join(root, "src/a.ts"), "words@1", words)).toEqual({
        words: ["alpha", "beta"]
      })
      expect(calls).toHaveLength(1)
      const stats = yield* statsOf(cache)
      expect(stats["export"]).toEqual({ cache: "export", entries: 1, hits: 1, misses: 1, bypasses: 0, hit_rate: 0.5 })
      expect(stats["contract"]).toMatchObject({ entries: 0, hits: 0, misses: 0, hit_rate: null })
    }))

  it.scoped("a new mtime with the same content is a hit (re-hashed, not recomputed)", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha")
      const cache = yield* make(root)
      const { calls, words } = counter()
      yield* cache.exportFor("src/a.ts", "words@1", words)
      write(root, "src/a.ts", "alpha", new Date("2025-06-01T00:00:00Z"))
      expect(yield* cache.exportFor("src/a.ts", "words@1", words)).toEqual({ words: ["alpha"] })
      expect(yield* cache.exportFor("src/a.ts", "words@1", words)).toEqual({ words: ["alpha"] })
      expect(calls).toHaveLength(1)
      expect((yield* statsOf(cache))["export"]).toMatchObject({ hits: 2, misses: 1 })
    }))

  it.scoped("changed content is recomputed", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha")
      const cache = yield* make(root)
      const { calls, words } = counter()
      yield* cache.exportFor("src/a.ts", "words@1", words)
      write(root, "src/a.ts", "alpha gamma", new Date("2025-06-01T00:00:00Z"))
      expect(yield* cache.exportFor("src/a.ts", "words@1", words)).toEqual({ words: ["alpha", "gamma"] })
      expect(calls).toEqual(["alpha", "alpha gamma"])
      expect((yield* statsOf(cache))["export"]).toMatchObject({ entries: 1, hits: 0, misses: 2 })
    }))

  it.scoped("an unchanged mtime and size is trusted without reading, unless the entry is racily clean", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      const cache = yield* make(root)
      const { calls, words } = counter()
      // Old mtime: same-size edit that restores the mtime is not seen (the documented mtime rule).
      write(root, "src/old.ts", "aaaa")
      yield* cache.exportFor("src/old.ts", "words@1", words)
      write(root, "src/old.ts", "bbbb")
      expect(yield* cache.exportFor("src/old.ts", "words@1", words)).toEqual({ words: ["aaaa"] })
      // Fresh mtime (hashed within the same clock tick, as git would say): the content is hashed again.
      const now = new Date()
      write(root, "src/new.ts", "cccc", now)
      yield* cache.exportFor("src/new.ts", "words@1", words)
      write(root, "src/new.ts", "dddd", now)
      expect(yield* cache.exportFor("src/new.ts", "words@1", words)).toEqual({ words: ["dddd"] })
      expect(calls).toEqual(["aaaa", "cccc", "dddd"])
    }))

  it.scoped("a different extractor key recomputes, and each extractor keeps its own entry", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha beta")
      const cache = yield* make(root)
      const { calls, words } = counter()
      const upper = (content: string) => Effect.succeed(content.toUpperCase())
      yield* cache.exportFor("src/a.ts", "words@1", words)
      expect(yield* cache.exportFor("src/a.ts", "upper@1", upper)).toBe("ALPHA BETA")
      expect(yield* cache.exportFor("src/a.ts", "words@1", words)).toEqual({ words: ["alpha", "beta"] })
      expect(yield* cache.exportFor("src/a.ts", "upper@1", upper)).toBe("ALPHA BETA")
      expect(yield* cache.exportFor("src/a.ts", "words@2", words)).toEqual({ words: ["alpha", "beta"] })
      expect(calls).toHaveLength(2)
      expect((yield* statsOf(cache))["export"]).toMatchObject({ entries: 1, hits: 2, misses: 3 })
      // A content change drops every extractor's value.
      write(root, "src/a.ts", "delta", new Date("2025-06-01T00:00:00Z"))
      expect(yield* cache.exportFor("src/a.ts", "upper@1", upper)).toBe("DELTA")
      expect(yield* cache.exportFor("src/a.ts", "words@1", words)).toEqual({ words: ["delta"] })
      expect(calls).toHaveLength(3)
    }))

  it.scoped("a contract is cached per version until the realm head moves", () =>
    Effect.gen(function*() {
      const cache = yield* make(tmpRepo())
      let computed = 0
      const schema = (v: string) => Effect.sync(() => ({ type: "object", v, n: ++computed }))
      expect(yield* cache.contractFor("s3", "s3-permissions", "1.4.0", "c1", schema("1.4.0"))).toMatchObject({ n: 1 })
      expect(yield* cache.contractFor("s3", "s3-permissions", "1.4.0", "c1", schema("1.4.0"))).toMatchObject({ n: 1 })
      expect(yield* cache.contractFor("s3", "s3-permissions", "1.5.0", "c1", schema("1.5.0"))).toMatchObject({ n: 2 })
      expect(yield* cache.contractFor("s3", "s3-permissions", "1.4.0", "c2", schema("1.4.0"))).toMatchObject({ n: 3 })
      expect(yield* cache.contractFor("s3", "s3-permissions", "1.4.0", "c2", schema("1.4.0"))).toMatchObject({ n: 3 })
      expect((yield* statsOf(cache))["contract"]).toMatchObject({ entries: 2, hits: 2, misses: 3 })
    }))

  it.scoped("a validation result is keyed by contract version and binding hash", () =>
    Effect.gen(function*() {
      const cache = yield* make(tmpRepo())
      let runs = 0
      const hook = (r: ValidationResult) => Effect.sync(() => (runs++, r))
      const warn = { valid: true, warning: true, output: "deprecated path" }
      const bad = { valid: false, warning: false, output: "missing read" }
      expect(yield* cache.validationFor("s3-permissions", "1.4.0", "b1", hook(warn))).toEqual(warn)
      expect(yield* cache.validationFor("s3-permissions", "1.4.0", "b1", hook(bad))).toEqual(warn)
      expect(yield* cache.validationFor("s3-permissions", "1.4.0", "b2", hook(bad))).toEqual(bad)
      expect(yield* cache.validationFor("s3-permissions", "1.5.0", "b1", hook(bad))).toEqual(bad)
      expect(runs).toBe(3)
      expect((yield* statsOf(cache))["validation"]).toMatchObject({ entries: 3, hits: 1, misses: 3 })
    }))

  it.scoped("bypass computes every time, stores nothing and counts bypasses", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha")
      const cache = yield* make(root, { bypass: true })
      expect(cache.bypass).toBe(true)
      const { calls, words } = counter()
      yield* cache.exportFor("src/a.ts", "words@1", words)
      expect(yield* cache.exportFor("src/a.ts", "words@1", words)).toEqual({ words: ["alpha"] })
      yield* cache.contractFor("d", "c", "1.0.0", "c1", Effect.succeed({}))
      yield* cache.contractFor("d", "c", "1.0.0", "c1", Effect.succeed({}))
      yield* cache.validationFor("c", "1.0.0", "b", Effect.succeed({ valid: true, warning: false, output: "" }))
      expect(calls).toHaveLength(2)
      const stats = yield* statsOf(cache)
      expect(stats["export"]).toEqual({ cache: "export", entries: 0, hits: 0, misses: 0, bypasses: 2, hit_rate: null })
      expect(stats["contract"]).toMatchObject({ entries: 0, bypasses: 2 })
      expect(stats["validation"]).toMatchObject({ entries: 0, bypasses: 1 })
    }))

  it.scoped("clear removes every entry and counter; the next lookup recomputes", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha")
      write(root, "src/b.ts", "beta")
      const cache = yield* make(root)
      const { calls, words } = counter()
      yield* cache.exportFor("src/a.ts", "words@1", words)
      yield* cache.exportFor("src/b.ts", "words@1", words)
      yield* cache.contractFor("d", "c", "1.0.0", "c1", Effect.succeed({}))
      expect(yield* cache.clear).toEqual({ export: 2, contract: 1, validation: 0 })
      expect((yield* cache.stats).every((s) => s.entries === 0 && s.hits === 0 && s.misses === 0)).toBe(true)
      yield* cache.exportFor("src/a.ts", "words@1", words)
      expect(calls).toHaveLength(3)
    }))

  it.scoped("a hit returns exactly what the miss returned (values go through JSON)", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "x")
      const cache = yield* make(root)
      const compute = () => Effect.succeed({ a: 1, gone: undefined, at: new Date(0), list: [1, "two", null] })
      const first = yield* cache.exportFor("src/a.ts", "k", compute)
      const second = yield* cache.exportFor("src/a.ts", "k", compute)
      expect(first).toEqual({ a: 1, at: "1970-01-01T00:00:00.000Z", list: [1, "two", null] })
      expect(second).toStrictEqual(first)
      const bad = yield* Effect.exit(cache.contractFor("d", "c", "1", "c1", Effect.succeed({ n: 1n })))
      expect(bad).toMatchObject({ _tag: "Failure", cause: { error: { _tag: "CacheError", op: "contract store" } } })
    }))

  it.scoped("a failed computation is not cached and its error passes through unchanged", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha")
      const cache = yield* make(root)
      const failed = yield* Effect.exit(cache.exportFor("src/a.ts", "k", () => Effect.fail("no exports found")))
      expect(failed).toEqual(Exit.fail("no exports found"))
      expect(yield* cache.exportFor("src/a.ts", "k", () => Effect.succeed(1))).toBe(1)
      expect((yield* statsOf(cache))["export"]).toMatchObject({ hits: 0, misses: 1 })
    }))

  it.scoped("a missing source file is a CacheError naming the file", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      const cache = yield* make(root)
      const error = yield* Effect.flip(cache.exportFor("src/gone.ts", "k", () => Effect.succeed(1)))
      expect(error._tag).toBe("CacheError")
      expect(error.message).toContain(path.join(root, "src/gone.ts"))
    }))
})

describe("RepoCache (sqlite file)", () => {
  it.effect("creates .blue/cache.db on first lookup only, and keeps stats across reopen", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha")
      const file = cacheDbPath(root)
      const stats = yield* Effect.scoped(Effect.flatMap(makeRepoCache(root), (c) => c.stats))
      expect(stats.map((s) => s.entries + s.hits + s.misses)).toEqual([0, 0, 0])
      expect(fs.existsSync(path.join(root, ".blue"))).toBe(false)
      const { calls, words } = counter()
      for (let run = 0; run < 3; run++) {
        yield* Effect.scoped(Effect.flatMap(makeRepoCache(root), (c) => c.exportFor("src/a.ts", "w", words)))
      }
      expect(fs.existsSync(file)).toBe(true)
      expect(calls).toHaveLength(1)
      const after = yield* Effect.scoped(Effect.flatMap(makeRepoCache(root), (c) => statsOf(c)))
      expect(after["export"]).toMatchObject({ entries: 1, hits: 2, misses: 1 })
      expect(after["export"]!.hit_rate).toBeCloseTo(2 / 3)
      const db = new Database(file, { readonly: true })
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal")
      expect(db.pragma("user_version", { simple: true })).toBe(migrations.length)
      expect(db.prepare("SELECT file_path, content_hash FROM export_cache").all()).toEqual([
        { file_path: "src/a.ts", content_hash: expect.stringMatching(/^[0-9a-f]{64}$/) }
      ])
      db.close()
    }))

  it.effect("moves a cache.db that is not a database aside and starts afresh", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      write(root, "src/a.ts", "alpha")
      fs.mkdirSync(path.join(root, ".blue"))
      const garbage = "this is not a database, it is a note somebody saved over it\n".repeat(100)
      fs.writeFileSync(cacheDbPath(root), garbage)
      const value = yield* Effect.scoped(
        Effect.flatMap(makeRepoCache(root), (c) => c.exportFor("src/a.ts", "w", () => Effect.succeed(7)))
      )
      expect(value).toBe(7)
      const aside = fs.readdirSync(path.join(root, ".blue")).filter((f) => f.startsWith("cache.db.corrupt-"))
      expect(aside).toHaveLength(1)
      expect(fs.readFileSync(path.join(root, ".blue", aside[0]!), "utf8")).toBe(garbage)
      const stats = yield* Effect.scoped(Effect.flatMap(makeRepoCache(root), (c) => statsOf(c)))
      expect(stats["export"]).toMatchObject({ entries: 1, misses: 1 })
    }))

  it.effect("refuses a cache.db written by a newer blue instead of misreading it", () =>
    Effect.gen(function*() {
      const root = tmpRepo()
      fs.mkdirSync(path.join(root, ".blue"))
      const db = new Database(cacheDbPath(root))
      db.pragma(`user_version = ${migrations.length + 1}`)
      db.close()
      const error = yield* Effect.flip(Effect.scoped(Effect.flatMap(makeRepoCache(root), (c) => c.stats)))
      expect(error).toMatchObject({ _tag: "CacheError", op: "open" })
      expect(error.message).toContain("newer blue")
    }))

  it.live("stays consistent with four processes hammering one cache.db", () =>
    Effect.promise(async () => {
      const root = tmpRepo()
      for (let i = 0; i < 5; i++) write(root, `src/f${i}.ts`, `file ${i} words here`)
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "blue-cache-workers-"))
      const projectRoot = fileURLToPath(new URL("..", import.meta.url))
      const require = createRequire(import.meta.url)
      const bundle = path.join(work, "cache.mjs")
      await build({
        stdin: {
          contents: `export * from "./src/adapters/cache.ts"\nexport { Effect } from "effect"\n`,
          resolveDir: projectRoot,
          loader: "ts"
        },
        bundle: true,
        platform: "node",
        format: "esm",
        outfile: bundle,
        logLevel: "silent",
        plugins: [{
          name: "native-by-path",
          setup: (b) => {
            b.onResolve({ filter: /^better-sqlite3$/ }, () => ({
              path: pathToFileURL(require.resolve("better-sqlite3")).href,
              external: true
            }))
          }
        }]
      })
      const worker = path.join(work, "worker.mjs")
      fs.writeFileSync(worker, WORKER)
      const start = Date.now() + 700
      const results = await Promise.all(
        [0, 1, 2, 3].map((id) =>
          new Promise<WorkerResult>((resolve, reject) => {
            const child = spawn(process.execPath, [worker, bundle, root, String(id), String(start), "1500"], {
              stdio: ["ignore", "pipe", "pipe"]
            })
            let out = ""
            let err = ""
            child.stdout.on("data", (d) => (out += d))
            child.stderr.on("data", (d) => (err += d))
            child.on(
              "exit",
              (code) =>
                code === 0 ? resolve(JSON.parse(out) as WorkerResult) : reject(new Error(`worker ${id}: ${err}`))
            )
          })
        )
      )
      expect(results.flatMap((r) => r.errors)).toEqual([])
      const total = (cache: string, k: "hits" | "misses") => results.reduce((n, r) => n + r.counts[cache]![k], 0)
      expect(results.every((r) => r.lookups > 50)).toBe(true)
      const stats = await Effect.runPromise(Effect.scoped(Effect.flatMap(makeRepoCache(root), statsOf)))
      for (const cache of ["export", "contract", "validation"]) {
        expect({ cache, hits: stats[cache]!.hits, misses: stats[cache]!.misses }).toEqual({
          cache,
          hits: total(cache, "hits"),
          misses: total(cache, "misses")
        })
      }
      expect(stats["export"]!.entries).toBe(5)
      expect(stats["validation"]!.entries).toBe(5)
      expect(fs.readdirSync(path.join(root, ".blue")).filter((f) => f.includes("corrupt"))).toEqual([])
    }))
})

/** Runs `cache args…` in `cwd` in-process and returns what it printed and its exit code. */
const cli = (cwd: string, ...args: Array<string>) =>
  Effect.gen(function*() {
    const before = process.cwd()
    const out: Array<string> = []
    const err: Array<string> = []
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true))
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((s) => (err.push(String(s)), true))
    process.chdir(cwd)
    process.exitCode = 0
    yield* Command.run(cacheCommand, { name: "cache", version: "test" })(["node", "cache", ...args]).pipe(
      Effect.provide(Layer.mergeAll(NodeContext.layer, MemberConfigLive, RepoCachesLive)),
      Effect.ensuring(Effect.sync(() => {
        process.chdir(before)
        stdout.mockRestore()
        stderr.mockRestore()
      }))
    )
    const code = process.exitCode
    process.exitCode = 0
    return { code, stdout: out.join(""), stderr: err.join("") }
  })

describe("blue realm admin cache", () => {
  const member = () => {
    const root = tmpRepo()
    fs.mkdirSync(path.join(root, ".blue"))
    fs.writeFileSync(path.join(root, ".blue", "config.yaml"), "realm:\n  name: r\n  path: ../realm-r\nrepo: a\n")
    write(root, "src/a.ts", "alpha")
    return root
  }
  const fill = (root: string) =>
    Effect.scoped(Effect.gen(function*() {
      const cache = yield* makeRepoCache(root)
      for (let i = 0; i < 4; i++) yield* cache.exportFor("src/a.ts", "w", () => Effect.succeed(1))
      yield* cache.contractFor("d", "c", "1.0.0", "c1", Effect.succeed({}))
    }))

  it.live("stats prints a table per cache, or one JSON document, from a subdirectory of the repo", () =>
    Effect.gen(function*() {
      const root = member()
      yield* fill(root)
      const human = yield* cli(path.join(root, "src"), "stats")
      expect(human.code).toBe(0)
      expect(human.stdout).toContain(`Cache ${cacheDbPath(root)}`)
      expect(human.stdout).toMatch(/cache\s+entries\s+hits\s+misses\s+hit rate\s+bypassed/)
      expect(human.stdout).toMatch(/exports\s+1\s+3\s+1\s+75\.0%\s+0/)
      expect(human.stdout).toMatch(/contracts\s+1\s+0\s+1\s+0\.0%\s+0/)
      expect(human.stdout).toMatch(/validation\s+0\s+0\s+0\s+-\s+0/)
      const json = yield* cli(root, "stats", "--json")
      const doc = JSON.parse(json.stdout)
      expect(doc).toMatchObject({ repo: root, file: cacheDbPath(root) })
      expect(doc.caches[0]).toEqual({ cache: "export", entries: 1, hits: 3, misses: 1, bypasses: 0, hit_rate: 0.75 })
    }))

  it.live("clear empties the caches and says how much it removed", () =>
    Effect.gen(function*() {
      const root = member()
      yield* fill(root)
      const cleared = yield* cli(root, "clear", "--json")
      expect(JSON.parse(cleared.stdout)).toMatchObject({ removed: { export: 1, contract: 1, validation: 0 } })
      const human = yield* cli(root, "clear")
      expect(human.stdout).toContain("✓ Cleared")
      const stats = yield* cli(root, "stats", "--json")
      expect(JSON.parse(stats.stdout).caches.map((c: { entries: number }) => c.entries)).toEqual([0, 0, 0])
    }))

  it.live("outside a member repo it fails with one sentence naming the directory", () =>
    Effect.gen(function*() {
      const dir = tmpRepo()
      const human = yield* cli(dir, "stats")
      expect(human.code).toBe(1)
      expect(human.stderr).toContain(`Error: ${dir}: is not inside a repo that joined a realm`)
      const json = yield* cli(dir, "clear", "--json")
      expect(JSON.parse(json.stdout).error).toMatchObject({ _tag: "PathProblem", path: dir })
      expect(fs.existsSync(path.join(dir, ".blue"))).toBe(false)
    }))
})

interface WorkerResult {
  readonly lookups: number
  readonly errors: ReadonlyArray<string>
  readonly counts: Record<string, { hits: number; misses: number }>
}

/**
 * One hammering process: reopens the cache every 25 lookups (so opens and migrations race too), mixes the three
 * caches, and counts a miss whenever its compute ran. Worker 0 also rewrites one source file now and then.
 */
const WORKER = `
import * as fs from "node:fs"
const [bundle, root, id, start, ms] = process.argv.slice(2)
const { Effect, makeRepoCache } = await import(bundle)
const counts = { export: { hits: 0, misses: 0 }, contract: { hits: 0, misses: 0 }, validation: { hits: 0, misses: 0 } }
const errors = []
let lookups = 0
while (Date.now() < Number(start)) await new Promise((r) => setTimeout(r, 5))
const until = Number(start) + Number(ms)
const tally = (cache, effect) => {
  let ran = false
  const mark = (v) => Effect.sync(() => { ran = true; return v })
  return effect(mark).pipe(Effect.tap(() => Effect.sync(() => {
    lookups++
    counts[cache][ran ? "misses" : "hits"]++
  })))
}
while (Date.now() < until) {
  const batch = Effect.gen(function*() {
    const cache = yield* makeRepoCache(root)
    for (let i = 0; i < 25; i++) {
      const n = Math.floor(Math.random() * 5)
      if (id === "0" && i === 0) fs.writeFileSync(root + "/src/f0.ts", "file 0 rewritten " + Date.now())
      yield* tally("export", (mark) => cache.exportFor("src/f" + n + ".ts", "k" + (n % 2), (c) => mark(c.length)))
      const commit = "c" + Math.floor(Date.now() / 200)
      yield* tally("contract", (mark) => cache.contractFor("d", "c" + n, "1.0.0", commit, mark({ n })))
      yield* tally("validation", (mark) =>
        cache.validationFor("c", "1.0.0", "b" + n, mark({ valid: true, warning: false, output: "ok" })))
    }
  }).pipe(Effect.scoped, Effect.catchAllCause((cause) => Effect.sync(() => errors.push(String(cause)))))
  await Effect.runPromise(batch)
}
process.stdout.write(JSON.stringify({ lookups, errors, counts }))
`
