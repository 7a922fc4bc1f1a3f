/**
 * Small contract rules with no dependencies on Effect (the start-up fast path uses them): the seed's range
 * spelling, where an import stands, and the placeholder contract `domain create` writes.
 */
import * as semver from "semver"
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
    semver.validRange(normalizeRange(alternative)) !== null
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

/** The standing of an import with `range`, resolved at `resolved`, when the contract is at `current`. */
export const importStanding = (range: string, resolved: string | undefined, current: string): ImportStanding => {
  if (!semver.satisfies(current, normalizeRange(range))) return "broken"
  return resolved === current ? "current" : "stale"
}
