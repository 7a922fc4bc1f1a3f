/**
 * A member repo's cache (`<repo>/.blue/cache.db`): extracted exports per source file, contract schemas per realm
 * commit, and validation results per binding. One port, two implementations (SQLite and memory) sharing the same
 * lookup rules and passing the same suite.
 *
 * The SQLite side uses better-sqlite3 directly, as the realm lock and the status fast path do, not @effect/sql:
 * every statement here is tiny and synchronous, read-then-write steps need `BEGIN IMMEDIATE` (better-sqlite3's
 * `transaction(...).immediate()`; @effect/sql only issues a deferred BEGIN), and a damaged file has to be caught
 * as a typed error at open (SqliteClient switches to WAL inside its constructor, where a file that is not a
 * database surfaces as a defect) so it can be moved aside.
 */
import Database from "better-sqlite3"
import { Clock, Context, Effect, Layer, Schema } from "effect"
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as nodePath from "node:path"

/** The cache could not be read or written, or a source file could not be read. */
export class CacheError extends Schema.TaggedError<CacheError>()("CacheError", {
  op: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `cache ${this.op} failed: ${this.detail}`
  }
}

/** The three caches of the accepted RFC. */
export type CacheName = "export" | "contract" | "validation"

/** Every cache, in display order. */
export const CACHE_NAMES: ReadonlyArray<CacheName> = ["export", "contract", "validation"]

/** Size and lookup counters of one cache, accumulated across runs until `clear`. */
export interface CacheTableStats {
  readonly cache: CacheName
  /** rows in the table */
  readonly entries: number
  readonly hits: number
  readonly misses: number
  /** lookups made with `--no-cache` (computed, not stored, not in the hit rate) */
  readonly bypasses: number
  /** hits / (hits + misses), or null before the first cached lookup */
  readonly hit_rate: number | null
}

/** What a validation hook concluded (exit 0 valid, 1 invalid, 2 valid with warnings). */
export interface ValidationResult {
  readonly valid: boolean
  readonly warning: boolean
  readonly output: string
}

/** How a cache is opened. */
export interface RepoCacheOptions {
  /** `--no-cache`: every lookup computes and nothing is stored (the lookup is still counted as a bypass). */
  readonly bypass?: boolean
}

/** The repo cache port. Values go through JSON, so a hit returns exactly what a miss returned. */
export class RepoCache extends Context.Tag("blue/RepoCache")<RepoCache, {
  /** The database file (undefined for the in-memory cache). */
  readonly file: string | undefined
  /** Whether lookups bypass the cache (`--no-cache`). */
  readonly bypass: boolean
  /**
   * The values `compute` extracts from a source file (absolute, or relative to the repo root), recomputed only
   * when the file's mtime, size or content hash changed, or when `extractorKey` (e.g. a hash of the extractor's
   * config) was not used on this content before.
   */
  readonly exportFor: <E>(
    filePath: string,
    extractorKey: string,
    compute: (content: string) => Effect.Effect<unknown, E>
  ) => Effect.Effect<unknown, E | CacheError>
  /** A contract's schema, recomputed when the realm head is not the commit it was cached at. */
  readonly contractFor: <E>(
    domain: string,
    contract: string,
    version: string,
    realmCommit: string,
    compute: Effect.Effect<unknown, E>
  ) => Effect.Effect<unknown, E | CacheError>
  /** A validation result, keyed by contract version and a hash of everything the check read (binding, value, hook). */
  readonly validationFor: <E>(
    contract: string,
    version: string,
    bindingHash: string,
    compute: Effect.Effect<ValidationResult, E>
  ) => Effect.Effect<ValidationResult, E | CacheError>
  /** Counters and sizes of every cache. */
  readonly stats: Effect.Effect<ReadonlyArray<CacheTableStats>, CacheError>
  /** Removes every entry and counter (the schema stays); returns how many entries each cache held. */
  readonly clear: Effect.Effect<Readonly<Record<CacheName, number>>, CacheError>
}>() {}

/** The service shape of the repo cache port. */
export type RepoCacheService = Context.Tag.Service<RepoCache>

/** Where a member repo keeps its cache. */
export const cacheDbPath = (repoRoot: string) => nodePath.join(repoRoot, ".blue", "cache.db")

/** cache.db schema, applied in order; the applied count is kept in `PRAGMA user_version`. */
export const migrations: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS export_cache (
     file_path TEXT PRIMARY KEY,
     mtime INTEGER NOT NULL,
     content_hash TEXT NOT NULL,
     exports JSON,
     cached_at INTEGER NOT NULL,
     size INTEGER NOT NULL DEFAULT -1,
     hashed_at INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE IF NOT EXISTS contract_cache (
     domain TEXT NOT NULL,
     contract TEXT NOT NULL,
     version TEXT NOT NULL,
     schema JSON,
     realm_commit TEXT,
     cached_at INTEGER NOT NULL,
     PRIMARY KEY (domain, contract, version)
   );
   CREATE TABLE IF NOT EXISTS validation_cache (
     contract TEXT NOT NULL,
     version TEXT NOT NULL,
     binding_hash TEXT NOT NULL,
     valid INTEGER NOT NULL,
     output TEXT,
     validated_at INTEGER NOT NULL,
     warning INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (contract, version, binding_hash)
   );
   CREATE TABLE IF NOT EXISTS cache_stats (
     cache TEXT PRIMARY KEY,
     hits INTEGER NOT NULL DEFAULT 0,
     misses INTEGER NOT NULL DEFAULT 0,
     bypasses INTEGER NOT NULL DEFAULT 0
   );`
]

/**
 * A file whose content was hashed less than this long after its mtime is "racily clean" (as git calls it): a
 * second write in the same timestamp tick would keep mtime and size, so such an entry is re-hashed, not trusted.
 */
const RACY_WINDOW_US = 2_000_000

// ---------------------------------------------------------------------------------------------------------------
// Storage: the few row operations both implementations provide. Lookup rules live once, in `fromStore`.

type Counter = "hits" | "misses" | "bypasses"

interface ExportRow {
  readonly mtime: number
  readonly size: number
  readonly hash: string
  /** JSON object: extractor key → extracted values */
  readonly exports: string
  /** wall-clock ms when the content was last hashed */
  readonly hashedAt: number
}

interface FileState {
  readonly mtime: number
  readonly size: number
  readonly hash: string
  readonly hashedAt: number
}

interface Store {
  readonly file: string | undefined
  readonly exportRow: (path: string) => Effect.Effect<ExportRow | undefined, CacheError>
  /** Records that the file changed mtime but not content; only if the stored hash is still `state.hash`. */
  readonly touchExport: (path: string, state: FileState) => Effect.Effect<void, CacheError>
  /** Stores `json` under `key`, keeping other extractors' values if the stored content hash is the same. */
  readonly putExport: (path: string, state: FileState, key: string, json: string) => Effect.Effect<void, CacheError>
  readonly contractRow: (
    domain: string,
    contract: string,
    version: string
  ) => Effect.Effect<{ readonly schema: string; readonly realmCommit: string | null } | undefined, CacheError>
  readonly putContract: (
    domain: string,
    contract: string,
    version: string,
    realmCommit: string,
    json: string
  ) => Effect.Effect<void, CacheError>
  readonly validationRow: (
    contract: string,
    version: string,
    bindingHash: string
  ) => Effect.Effect<ValidationResult | undefined, CacheError>
  readonly putValidation: (
    contract: string,
    version: string,
    bindingHash: string,
    result: ValidationResult
  ) => Effect.Effect<void, CacheError>
  readonly count: (cache: CacheName, counter: Counter) => Effect.Effect<void, CacheError>
  readonly stats: Effect.Effect<ReadonlyArray<CacheTableStats>, CacheError>
  readonly clear: Effect.Effect<Readonly<Record<CacheName, number>>, CacheError>
}

const cacheError = (op: string) => (e: unknown) =>
  new CacheError({ op, detail: e instanceof Error ? e.message : String(e) })

const toStats = (
  cache: CacheName,
  entries: number,
  c: { readonly hits: number; readonly misses: number; readonly bypasses: number } | undefined
): CacheTableStats => {
  const hits = c?.hits ?? 0
  const misses = c?.misses ?? 0
  return {
    cache,
    entries,
    hits,
    misses,
    bypasses: c?.bypasses ?? 0,
    hit_rate: hits + misses === 0 ? null : hits / (hits + misses)
  }
}

const mergeExports = (old: string | undefined, key: string, json: string): string => {
  const map = old === undefined ? {} : (JSON.parse(old) as Record<string, unknown>)
  return JSON.stringify({ ...map, [key]: JSON.parse(json) })
}

// ---------------------------------------------------------------------------------------------------------------
// The lookup rules.

const encode = (op: string, value: unknown) =>
  Effect.try({
    try: () => JSON.stringify(value) ?? "null",
    catch: (e) => new CacheError({ op, detail: `the computed value is not JSON: ${String(e)}` })
  })

const statFile = (abs: string) =>
  Effect.try({
    try: () => {
      const s = fs.statSync(abs, { bigint: true })
      return { mtime: Number(s.mtimeNs / 1000n), size: Number(s.size) }
    },
    catch: cacheError(`stat of ${abs}`)
  })

const readFile = (abs: string) => Effect.try({ try: () => fs.readFileSync(abs), catch: cacheError(`read of ${abs}`) })

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex")

const pick = (exports: string, key: string): { readonly value: unknown } | undefined => {
  const map = JSON.parse(exports) as Record<string, unknown>
  return Object.hasOwn(map, key) ? { value: map[key] } : undefined
}

const fromStore = (repoRoot: string, store: Store, options: RepoCacheOptions): RepoCacheService => {
  const bypass = options.bypass === true
  const root = nodePath.resolve(repoRoot)

  /** Computes, stores via `put`, counts a miss, and returns the value as a later hit would. */
  const miss = <E>(
    cache: CacheName,
    compute: Effect.Effect<unknown, E>,
    put: (json: string) => Effect.Effect<void, CacheError>
  ) =>
    Effect.gen(function*() {
      const json = yield* encode(`${cache} store`, yield* compute)
      if (bypass) yield* store.count(cache, "bypasses")
      else yield* Effect.zipRight(put(json), store.count(cache, "misses"))
      return JSON.parse(json) as unknown
    })

  const hit = <A>(cache: CacheName, value: A) => Effect.as(store.count(cache, "hits"), value)

  return {
    file: store.file,
    bypass,
    exportFor: (filePath, extractorKey, compute) =>
      Effect.gen(function*() {
        const abs = nodePath.resolve(root, filePath)
        // Repo-relative keys, so a cache.db restored on another machine (CI caches it) still matches.
        const key = nodePath.relative(root, abs).split(nodePath.sep).join("/")
        const st = yield* statFile(abs)
        const row = bypass ? undefined : yield* store.exportRow(key)
        if (
          row !== undefined && row.mtime === st.mtime && row.size === st.size &&
          row.hashedAt * 1000 - st.mtime >= RACY_WINDOW_US
        ) {
          const found = pick(row.exports, extractorKey)
          if (found !== undefined) return yield* hit("export", found.value)
        }
        const content = yield* readFile(abs)
        // Wall clock, not the Clock service: it is compared with the file system's own timestamps.
        const state: FileState = { ...st, hash: sha256(content), hashedAt: Date.now() }
        if (row !== undefined && row.hash === state.hash) {
          yield* store.touchExport(key, state)
          const found = pick(row.exports, extractorKey)
          if (found !== undefined) return yield* hit("export", found.value)
        }
        return yield* miss(
          "export",
          Effect.suspend(() => compute(content.toString("utf8"))),
          (json) => store.putExport(key, state, extractorKey, json)
        )
      }),
    contractFor: (domain, contract, version, realmCommit, compute) =>
      Effect.gen(function*() {
        const row = bypass ? undefined : yield* store.contractRow(domain, contract, version)
        if (row !== undefined && row.realmCommit === realmCommit) {
          return yield* hit("contract", JSON.parse(row.schema) as unknown)
        }
        return yield* miss(
          "contract",
          compute,
          (json) => store.putContract(domain, contract, version, realmCommit, json)
        )
      }),
    validationFor: (contract, version, bindingHash, compute) =>
      Effect.gen(function*() {
        const row = bypass ? undefined : yield* store.validationRow(contract, version, bindingHash)
        if (row !== undefined) return yield* hit("validation", row)
        const computed = yield* compute
        const result: ValidationResult = {
          valid: computed.valid,
          warning: computed.warning,
          output: computed.output
        }
        yield* miss(
          "validation",
          Effect.succeed(result),
          () => store.putValidation(contract, version, bindingHash, result)
        )
        return result
      }),
    stats: store.stats,
    clear: store.clear
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SQLite.

const sqliteCode = (e: unknown) => String((e as { code?: unknown } | null)?.code ?? "")

const isDamaged = (e: unknown) => {
  const code = sqliteCode(e)
  return code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT")
}

/** Moves a damaged cache.db (and its WAL and shared-memory files) aside, inside `.blue`, named by the time. */
const moveAside = (file: string, inode: bigint | undefined, now: number) => {
  // Another process may already have moved it and started afresh: never move a file we did not find damaged.
  const current = fs.statSync(file, { bigint: true, throwIfNoEntry: false })
  if (current === undefined || (inode !== undefined && current.ino !== inode)) return
  const stamp = new Date(now).toISOString().replace(/[:.]/g, "-")
  let target = `${file}.corrupt-${stamp}`
  if (fs.existsSync(target)) target = `${target}-${process.pid}`
  fs.renameSync(file, target)
  for (const suffix of ["-wal", "-shm"]) {
    try {
      fs.renameSync(file + suffix, target + suffix)
    } catch {
      // absent
    }
  }
}

const open = (file: string): Database.Database => {
  const db = new Database(file, { timeout: 10_000 })
  try {
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = NORMAL")
    const version = db.pragma("user_version", { simple: true }) as number
    if (version < migrations.length) {
      // IMMEDIATE takes the write lock up front (and waits for it), so two first opens cannot both migrate.
      db.transaction(() => {
        const v = db.pragma("user_version", { simple: true }) as number
        for (let i = v; i < migrations.length; i++) db.exec(migrations[i]!)
        db.pragma(`user_version = ${migrations.length}`)
      }).immediate()
    } else if (version > migrations.length) {
      throw new CacheError({
        op: "open",
        detail: `${file} was written by a newer blue (schema ${version}, this one knows ${migrations.length}); ` +
          "upgrade blue or delete the file"
      })
    }
    return db
  } catch (e) {
    db.close()
    throw e
  }
}

/**
 * The cache in `<repoRoot>/.blue/cache.db`, opened (and created, with `.blue`) on first use and closed with the
 * scope. A file that is not a database or is damaged is moved to `cache.db.corrupt-<time>` and replaced.
 */
export const makeRepoCache = (
  repoRoot: string,
  options: RepoCacheOptions = {}
): Effect.Effect<RepoCacheService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const file = cacheDbPath(nodePath.resolve(repoRoot))
    let db: Database.Database | undefined
    // Counters are kept here and added to cache_stats in one write when the cache closes (or before `stats`), so a
    // hit costs no write and concurrent processes contend only for real changes.
    const pending = new Map<CacheName, Record<Counter, number>>()

    const connect = (now: number): Database.Database => {
      if (db !== undefined) return db
      fs.mkdirSync(nodePath.dirname(file), { recursive: true })
      const inode = fs.statSync(file, { bigint: true, throwIfNoEntry: false })?.ino
      try {
        db = open(file)
      } catch (e) {
        if (!isDamaged(e)) throw e
        moveAside(file, inode, now)
        db = open(file)
      }
      return db
    }

    /** Runs `f` on the database; a damage found mid-run is recovered from once, like one found at open. */
    const use = <A>(op: string, f: (db: Database.Database) => A, ifAbsent?: () => A) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.try({
          try: () => {
            if (ifAbsent !== undefined && db === undefined && !fs.existsSync(file)) return ifAbsent()
            try {
              return f(connect(now))
            } catch (e) {
              if (!isDamaged(e) || db === undefined) throw e
              const inode = fs.statSync(file, { bigint: true, throwIfNoEntry: false })?.ino
              db.close()
              db = undefined
              moveAside(file, inode, now)
              return f(connect(now))
            }
          },
          catch: (e) => (e instanceof CacheError ? e : cacheError(`${op} of ${file}`)(e))
        }))

    const flush = Effect.suspend(() =>
      pending.size === 0 ? Effect.void : use("write stats", (d) => {
        const add = d.prepare(
          `INSERT INTO cache_stats (cache, hits, misses, bypasses) VALUES (?, ?, ?, ?)
         ON CONFLICT(cache) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses,
         bypasses = bypasses + excluded.bypasses`
        )
        d.transaction(() => {
          for (const [cache, c] of pending) add.run(cache, c.hits, c.misses, c.bypasses)
        }).immediate()
        pending.clear()
      })
    )
    yield* Effect.addFinalizer(() => flush.pipe(Effect.ignore, Effect.ensuring(Effect.sync(() => db?.close()))))

    const store: Store = {
      file,
      exportRow: (path) =>
        use("read", (d) => {
          const r = d.prepare(
            "SELECT mtime, size, content_hash, exports, hashed_at FROM export_cache WHERE file_path = ?"
          ).get(path) as
            | { mtime: number; size: number; content_hash: string; exports: string | null; hashed_at: number }
            | undefined
          return r === undefined ? undefined : {
            mtime: r.mtime,
            size: r.size,
            hash: r.content_hash,
            exports: r.exports ?? "{}",
            hashedAt: r.hashed_at
          }
        }),
      touchExport: (path, s) =>
        use("write", (d) => {
          d.prepare(
            "UPDATE export_cache SET mtime = ?, size = ?, hashed_at = ? WHERE file_path = ? AND content_hash = ?"
          ).run(s.mtime, s.size, s.hashedAt, path, s.hash)
        }),
      putExport: (path, s, key, json) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          use("write", (d) => {
            // Read-then-write: IMMEDIATE, or a concurrent writer could turn our lock upgrade into SQLITE_BUSY.
            d.transaction(() => {
              const old = d.prepare("SELECT content_hash, exports FROM export_cache WHERE file_path = ?").get(path) as
                | { content_hash: string; exports: string | null }
                | undefined
              const exports = mergeExports(
                old !== undefined && old.content_hash === s.hash ? (old.exports ?? undefined) : undefined,
                key,
                json
              )
              d.prepare(
                `INSERT INTO export_cache (file_path, mtime, content_hash, exports, cached_at, size, hashed_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(file_path) DO UPDATE SET mtime = excluded.mtime, content_hash = excluded.content_hash,
                 exports = excluded.exports, cached_at = excluded.cached_at, size = excluded.size,
                 hashed_at = excluded.hashed_at`
              ).run(path, s.mtime, s.hash, exports, now, s.size, s.hashedAt)
            }).immediate()
          })),
      contractRow: (domain, contract, version) =>
        use("read", (d) => {
          const r = d.prepare(
            "SELECT schema, realm_commit FROM contract_cache WHERE domain = ? AND contract = ? AND version = ?"
          ).get(domain, contract, version) as { schema: string | null; realm_commit: string | null } | undefined
          return r === undefined ? undefined : { schema: r.schema ?? "null", realmCommit: r.realm_commit }
        }),
      putContract: (domain, contract, version, realmCommit, json) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          use("write", (d) => {
            d.prepare(
              `INSERT INTO contract_cache (domain, contract, version, schema, realm_commit, cached_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT(domain, contract, version) DO UPDATE SET schema = excluded.schema,
               realm_commit = excluded.realm_commit, cached_at = excluded.cached_at`
            ).run(domain, contract, version, json, realmCommit, now)
          })),
      validationRow: (contract, version, bindingHash) =>
        use("read", (d) => {
          const r = d.prepare(
            `SELECT valid, warning, output FROM validation_cache
             WHERE contract = ? AND version = ? AND binding_hash = ?`
          ).get(contract, version, bindingHash) as { valid: number; warning: number; output: string | null } | undefined
          return r === undefined
            ? undefined
            : { valid: r.valid !== 0, warning: r.warning !== 0, output: r.output ?? "" }
        }),
      putValidation: (contract, version, bindingHash, result) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          use("write", (d) => {
            d.prepare(
              `INSERT INTO validation_cache (contract, version, binding_hash, valid, output, validated_at, warning)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(contract, version, binding_hash) DO UPDATE SET valid = excluded.valid,
               output = excluded.output, validated_at = excluded.validated_at, warning = excluded.warning`
            ).run(contract, version, bindingHash, result.valid ? 1 : 0, result.output, now, result.warning ? 1 : 0)
          })),
      count: (cache, counter) =>
        Effect.sync(() => {
          const c = pending.get(cache) ?? { hits: 0, misses: 0, bypasses: 0 }
          pending.set(cache, { ...c, [counter]: c[counter] + 1 })
        }),
      stats: Effect.zipRight(
        flush,
        use(
          "stats",
          (d) => {
            // One read transaction, so entries and counters describe the same moment.
            return d.transaction(() => {
              const counters = new Map(
                (d.prepare("SELECT cache, hits, misses, bypasses FROM cache_stats").all() as Array<
                  { cache: string; hits: number; misses: number; bypasses: number }
                >).map((r) => [r.cache, r])
              )
              return CACHE_NAMES.map((cache) => {
                const { n } = d.prepare(`SELECT count(*) AS n FROM ${cache}_cache`).get() as { n: number }
                return toStats(cache, n, counters.get(cache))
              })
            }).deferred()
          },
          () => CACHE_NAMES.map((cache) => toStats(cache, 0, undefined))
        )
      ),
      clear: Effect.zipRight(
        Effect.sync(() => pending.clear()),
        use(
          "clear",
          (d) =>
            d.transaction(() => {
              const removed = Object.fromEntries(
                CACHE_NAMES.map((cache) => [cache, d.prepare(`DELETE FROM ${cache}_cache`).run().changes])
              ) as Record<CacheName, number>
              d.prepare("DELETE FROM cache_stats").run()
              return removed
            }).immediate(),
          () => ({ export: 0, contract: 0, validation: 0 })
        )
      )
    }
    return fromStore(repoRoot, store, options)
  })

/** The repo cache of `repoRoot` in its `.blue/cache.db`. */
export const RepoCacheLive = (repoRoot: string, options: RepoCacheOptions = {}) =>
  Layer.scoped(RepoCache, makeRepoCache(repoRoot, options))

// ---------------------------------------------------------------------------------------------------------------
// Memory.

/** An honest in-memory repo cache: the same lookup rules on the real files of `repoRoot`, nothing persisted. */
export const makeMemoryRepoCache = (repoRoot: string, options: RepoCacheOptions = {}): RepoCacheService => {
  const exports = new Map<string, ExportRow>()
  const contracts = new Map<string, { readonly schema: string; readonly realmCommit: string | null }>()
  const validations = new Map<string, ValidationResult>()
  const counters = new Map<CacheName, Record<Counter, number>>()
  const k = (...parts: ReadonlyArray<string>) => JSON.stringify(parts)
  const store: Store = {
    file: undefined,
    exportRow: (path) => Effect.sync(() => exports.get(path)),
    touchExport: (path, s) =>
      Effect.sync(() => {
        const old = exports.get(path)
        if (old?.hash === s.hash) exports.set(path, { ...old, mtime: s.mtime, size: s.size, hashedAt: s.hashedAt })
      }),
    putExport: (path, s, key, json) =>
      Effect.sync(() => {
        const old = exports.get(path)
        exports.set(path, { ...s, exports: mergeExports(old?.hash === s.hash ? old.exports : undefined, key, json) })
      }),
    contractRow: (domain, contract, version) => Effect.sync(() => contracts.get(k(domain, contract, version))),
    putContract: (domain, contract, version, realmCommit, json) =>
      Effect.sync(() => void contracts.set(k(domain, contract, version), { schema: json, realmCommit })),
    validationRow: (contract, version, bindingHash) =>
      Effect.sync(() => validations.get(k(contract, version, bindingHash))),
    putValidation: (contract, version, bindingHash, result) =>
      Effect.sync(() => void validations.set(k(contract, version, bindingHash), result)),
    count: (cache, counter) =>
      Effect.sync(() => {
        const c = counters.get(cache) ?? { hits: 0, misses: 0, bypasses: 0 }
        counters.set(cache, { ...c, [counter]: c[counter] + 1 })
      }),
    stats: Effect.sync(() => {
      const sizes: Record<CacheName, number> = {
        export: exports.size,
        contract: contracts.size,
        validation: validations.size
      }
      return CACHE_NAMES.map((cache) => toStats(cache, sizes[cache], counters.get(cache)))
    }),
    clear: Effect.sync(() => {
      const removed = { export: exports.size, contract: contracts.size, validation: validations.size }
      exports.clear()
      contracts.clear()
      validations.clear()
      counters.clear()
      return removed
    })
  }
  return fromStore(repoRoot, store, options)
}

/** The in-memory repo cache of `repoRoot`. */
export const MemoryRepoCacheLive = (repoRoot: string, options: RepoCacheOptions = {}) =>
  Layer.sync(RepoCache, () => makeMemoryRepoCache(repoRoot, options))

// ---------------------------------------------------------------------------------------------------------------
// The port operations use: a repo's cache by its root, decided at run time.

/** Opens the cache of a member repo for the length of the caller's scope. */
export class RepoCaches extends Context.Tag("blue/RepoCaches")<RepoCaches, {
  /** The cache of the repo at `repoRoot`, closed with the scope. */
  readonly open: (repoRoot: string, options?: RepoCacheOptions) => Effect.Effect<RepoCacheService, never, Scope.Scope>
}>() {}

const openWith =
  (layer: (repoRoot: string, options: RepoCacheOptions) => Layer.Layer<RepoCache>) =>
  (repoRoot: string, options: RepoCacheOptions = {}) =>
    Effect.map(Layer.build(layer(repoRoot, options)), Context.get(RepoCache))

/** Each repo's cache in its `.blue/cache.db` (`RepoCacheLive`). */
export const RepoCachesLive = Layer.succeed(RepoCaches, { open: openWith(RepoCacheLive) })

/** Each repo's cache in memory (`MemoryRepoCacheLive`): nothing persisted. */
export const MemoryRepoCachesLive = Layer.succeed(RepoCaches, { open: openWith(MemoryRepoCacheLive) })
