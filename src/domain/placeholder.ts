/**
 * Small contract rules with no dependencies on Effect (the start-up fast path uses them): the seed's range
 * spelling and the placeholder contract `domain create` writes.
 */
import { canonicalJson } from "./valueDiff.js"

/** The seed writes ranges as ">=1.0.0, <2.0.0"; node-semver wants spaces between comparators. */
export const normalizeRange = (range: string): string => range.replace(/,\s*/g, " ").trim()

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
