/**
 * `cache clear|stats`: managing the member repo's `.blue/cache.db` (registered as `blue realm admin cache`).
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { PathProblem } from "../engine/errors.js"
import { Invocation } from "../engine/invocation.js"
import {
  type CacheName,
  type CacheTableStats,
  MemberConfig,
  RepoCaches,
  type RepoCacheService
} from "../engine/ports.js"
import { present } from "./output.js"

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))

const LABELS: Record<CacheName, string> = { export: "exports", contract: "contracts", validation: "validation" }

/** Runs `f` on the cache of the member repo around the current directory. */
const withRepoCache = <A extends object, E>(f: (cache: RepoCacheService) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const cwd = (yield* Invocation).cwd
    const root = yield* Effect.flatMap(MemberConfig, (c) => c.find(cwd))
    if (root === undefined) {
      return yield* new PathProblem({
        path: cwd,
        detail:
          "is not inside a repo that joined a realm (no .blue/config.yaml); run the cache commands inside a member repo"
      })
    }
    const cache = yield* Effect.flatMap(RepoCaches, (c) => c.open(root))
    return { repo: root, file: cache.file ?? "", ...(yield* f(cache)) }
  }).pipe(Effect.scoped)

/** A fixed-width table: the first column left-aligned, the others right-aligned. */
const table = (rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "))
}

const percent = (rate: number | null) => (rate === null ? "-" : `${(rate * 100).toFixed(1)}%`)

/** The human rendering of `cache stats`. */
export const renderCacheStats = (file: string, caches: ReadonlyArray<CacheTableStats>) =>
  [
    `Cache ${file}`,
    ...table([
      ["cache", "entries", "hits", "misses", "hit rate", "bypassed"],
      ...caches.map((c) => [
        LABELS[c.cache],
        String(c.entries),
        String(c.hits),
        String(c.misses),
        percent(c.hit_rate),
        String(c.bypasses)
      ])
    ]).map((l) => `  ${l.trimEnd()}`)
  ].join("\n")

const stats = Command.make("stats", { json }, ({ json }) =>
  present(
    json,
    withRepoCache((cache) => Effect.map(cache.stats, (caches) => ({ caches }))),
    (r) => renderCacheStats(r.file, r.caches)
  )).pipe(Command.withDescription("Show entries, hits, misses and hit rate of each cache of this repo"))

const clear = Command.make("clear", { json }, ({ json }) =>
  present(
    json,
    withRepoCache((cache) => Effect.map(cache.clear, (removed) => ({ removed }))),
    (r) =>
      `✓ Cleared ${r.file}: ${
        (Object.entries(r.removed) as Array<[CacheName, number]>).map(([c, n]) => `${n} ${LABELS[c]}`).join(", ")
      } entries removed; counters reset`
  )).pipe(Command.withDescription("Remove every cache entry and counter of this repo (the next run recomputes)"))

/** `cache clear|stats`, to be mounted under `blue realm admin`. */
export const cacheCommand = Command.make("cache").pipe(
  Command.withDescription("The repo's cache (.blue/cache.db): clear it or show hit rates"),
  Command.withSubcommands([clear, stats])
)
