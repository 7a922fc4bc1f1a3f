/**
 * Small contract rules with no dependencies on Effect (the start-up fast path uses them): the seed's range
 * spelling, where an import stands, and the placeholder contract `domain create` writes.
 */
// Single semver modules, not the package index: the status fast path loads this file (src/cli/fastStatus.ts).
import Range from "semver/classes/range.js"
import semverGt from "semver/functions/gt.js"
import semverLte from "semver/functions/lte.js"
import semverValid from "semver/functions/valid.js"
import validRange from "semver/ranges/valid.js"
import { canonicalJson } from "./valueDiff.js"

/** The seed writes ranges as ">=1.0.0, <2.0.0"; node-semver wants spaces between comparators. */
export const normalizeRange = (range: string): string => range.replace(/,\s*/g, " ").trim()

/** The longest import range Blue records. */
export const MAX_RANGE_LENGTH = 256

/**
 * True when `range` is a semver range Blue records: node-semver reads `''`, `'||'` or `'>=1.0.0,,'` as "any
 * version", so every `||` alternative and every comma-separated comparator must be there, without control
 * characters, in at most MAX_RANGE_LENGTH characters.
 */
export const isValidRange = (range: string): boolean =>
  range.length <= MAX_RANGE_LENGTH &&
  !/[\u0000-\u001f\u007f]/.test(range) &&
  range.split("||").every((alternative) =>
    alternative.trim() !== "" &&
    alternative.split(",").every((comparator) => comparator.trim() !== "") &&
    validRange(normalizeRange(alternative)) !== null
  )

/** The schema of the placeholder contract: an empty open object. */
export const PLACEHOLDER_SCHEMA = { type: "object", properties: {} } as const

/** True for a contract still at its placeholder (1.0.0, empty schema and value): its first value keeps 1.0.0. */
export const isPlaceholder = (c: {
  readonly version: string
  readonly evolution: ReadonlyArray<unknown>
  readonly value: unknown
  readonly schema: unknown
}): boolean =>
  c.version === "1.0.0" && c.evolution.length === 1 && canonicalJson(c.value) === "{}" &&
  canonicalJson(c.schema) === canonicalJson(PLACEHOLDER_SCHEMA)

/** Where an import stands: current, stale (a newer version its range accepts exists) or broken. */
export type ImportStanding = "current" | "stale" | "broken"

/** The standing of an import with `range`, resolved at `resolved`, when the contract is at `current` (ranges only). */
export const importStanding = (range: string, resolved: string | undefined, current: string): ImportStanding => {
  if (!satisfies(current, range)) return "broken"
  return resolved === current ? "current" : "stale"
}

// Folding a realm asks this for every importer of every contract change: parse each range once.
const ranges = new Map<string, Range | null>()
const satisfies = (version: string, range: string): boolean => {
  let parsed = ranges.get(range)
  if (parsed === undefined) {
    try {
      parsed = new Range(normalizeRange(range))
    } catch {
      parsed = null
    }
    if (ranges.size > 10_000) ranges.clear()
    ranges.set(range, parsed)
  }
  return parsed !== null && parsed.test(version)
}

/** A contract's history, as far as import standing needs it. */
interface Versions {
  readonly version: string
  readonly evolution: ReadonlyArray<{ readonly version: string; readonly compatible: boolean }>
}

/**
 * The first incompatible version after the one an import resolved (up to the contract's current version), e.g. a
 * removed value element or field it may rely on; undefined when there is none or nothing was resolved.
 */
export const breakingSince = (
  imp: { readonly resolved_version?: string | undefined },
  contract: Versions
): string | undefined => {
  const resolved = imp.resolved_version
  // Most histories have no incompatible step at all: look before parsing any version.
  if (resolved === undefined || contract.evolution.every((e) => e.compatible)) return undefined
  if (semverValid(resolved) === null || semverValid(contract.version) === null) return undefined
  return contract.evolution.find((e) =>
    !e.compatible && semverValid(e.version) !== null && semverGt(e.version, resolved) &&
    semverLte(e.version, contract.version)
  )?.version
}

/**
 * Where an import stands against a contract, the one verdict status, check, export and the realm's binding files
 * give: broken outside its range, and also broken when a version after the one it resolved was an incompatible
 * change (`breakingSince`), even if its range still matches.
 */
export const standingOf = (
  imp: { readonly version: string; readonly resolved_version?: string | undefined },
  contract: Versions
): ImportStanding => {
  const standing = importStanding(imp.version, imp.resolved_version, contract.version)
  return standing === "stale" && breakingSince(imp, contract) !== undefined ? "broken" : standing
}
