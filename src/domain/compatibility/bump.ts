/** The semver side: the bump a contract change requires, and whether a version step is large enough. */
import semver from "semver"
import { canonicalJson, diffValues, isBreakingValueChange } from "../valueDiff.js"
import { compareSchemas } from "./compare.js"
import { isObj } from "./schema.js"
import type { Bump, CompatibilityPromise, JsonSchema } from "./types.js"

export const SUBSCHEMA = [
  "additionalProperties",
  "additionalItems",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "propertyNames"
]
export const SUBSCHEMA_MORE = ["unevaluatedProperties", "unevaluatedItems", "contentSchema"]
export const SUBSCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"]
export const SUBSCHEMA_MAPS = [
  "properties",
  "patternProperties",
  "definitions",
  "$defs",
  "dependentSchemas",
  "dependencies"
]
export const METADATA = new Set([
  "title",
  "description",
  "examples",
  "$comment",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly"
])

/** The schema without documentation keywords, walking only schema positions (a property named `title` stays). */
export const stripMetadata = (schema: unknown, depth = 0): unknown => {
  if (!isObj(schema) || depth > 64) return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) {
    if (METADATA.has(k) || k.startsWith("x-")) continue
    if (SUBSCHEMA.includes(k) || SUBSCHEMA_MORE.includes(k)) out[k] = stripMetadata(v, depth + 1)
    else if (k === "items") {
      out[k] = Array.isArray(v)
        ? v.map((x) => stripMetadata(x, depth + 1))
        : stripMetadata(v, depth + 1)
    } else if (SUBSCHEMA_LISTS.includes(k) && Array.isArray(v)) out[k] = v.map((x) => stripMetadata(x, depth + 1))
    else if (SUBSCHEMA_MAPS.includes(k) && isObj(v)) {
      out[k] = Object.fromEntries(
        Object.entries(v).map(([name, x]) => [name, Array.isArray(x) ? x : stripMetadata(x, depth + 1)])
      )
    } else out[k] = v
  }
  return out
}

export const RANK: Readonly<Record<Bump, number>> = { none: 0, patch: 1, minor: 2, major: 3 }

export const maxBump = (a: Bump, b: Bump): Bump => (RANK[a] >= RANK[b] ? a : b)

/**
 * The smallest bump a contract change needs: none (identical), patch (documentation only, or an equivalent
 * schema), minor (compatible additions), major (breaks a promised direction or removes/changes value elements).
 */
export const requiredBump = (
  oldSchema: JsonSchema,
  newSchema: JsonSchema,
  oldValue: unknown,
  newValue: unknown,
  promise: CompatibilityPromise
): Bump => {
  const valueChanges = diffValues(oldValue, newValue)
  const sameSchema = canonicalJson(oldSchema) === canonicalJson(newSchema)
  if (sameSchema && valueChanges.length === 0) return "none"
  if (valueChanges.some(isBreakingValueChange)) return "major"
  let bump: Bump = valueChanges.length > 0 ? "minor" : "none"
  if (!sameSchema) {
    if (canonicalJson(stripMetadata(oldSchema)) === canonicalJson(stripMetadata(newSchema))) {
      bump = maxBump(bump, "patch")
    } else {
      const comparison = compareSchemas(oldSchema, newSchema)
      if ((promise.backwards && !comparison.backwards) || (promise.forwards && !comparison.forwards)) return "major"
      bump = maxBump(bump, comparison.backwards && comparison.forwards ? "patch" : "minor")
    }
  }
  return bump
}

/** The bump level actually made from one version to another, or undefined when either is not valid semver. */
export const bumpBetween = (fromVersion: string, toVersion: string): Bump | undefined => {
  const from = semver.parse(fromVersion)
  const to = semver.parse(toVersion)
  if (from === null || to === null) return undefined
  if (to.major !== from.major) return to.major > from.major ? "major" : undefined
  if (to.minor !== from.minor) return to.minor > from.minor ? "minor" : undefined
  if (to.patch !== from.patch) return to.patch > from.patch ? "patch" : undefined
  return semver.compare(to, from) >= 0 ? "none" : undefined
}

/** Why `toVersion` is not an acceptable successor of `fromVersion` for a change needing `required`, else undefined. */
export const bumpProblem = (fromVersion: string, toVersion: string, required: Bump): string | undefined => {
  if (semver.valid(fromVersion) === null) return `Version "${fromVersion}" is not valid semver (expected e.g. 1.4.0).`
  if (semver.valid(toVersion) === null) return `Version "${toVersion}" is not valid semver (expected e.g. 1.5.0).`
  const made = bumpBetween(fromVersion, toVersion)
  if (made === undefined) return `Version ${toVersion} is lower than ${fromVersion}; versions only move forward.`
  if (required !== "none" && semver.eq(fromVersion, toVersion)) {
    return `The change needs a ${required} bump but the version stays ${fromVersion}; use ${
      nextVersion(fromVersion, required)
    }.`
  }
  if (RANK[made] < RANK[required]) {
    return `The change needs a ${required} bump but ${fromVersion} → ${toVersion} is a ${made} bump; use ${
      nextVersion(fromVersion, required)
    } or later.`
  }
  return undefined
}

/** Whether going from `fromVersion` to `toVersion` is a large enough semver step for a change needing `required`. */
export const isBumpSufficient = (fromVersion: string, toVersion: string, required: Bump): boolean =>
  bumpProblem(fromVersion, toVersion, required) === undefined

/** The version after `fromVersion` for a change needing `required` (unchanged for none); undefined if invalid. */
export const nextVersion = (fromVersion: string, required: Bump): string | undefined => {
  if (semver.valid(fromVersion) === null) return undefined
  if (required === "none") return semver.clean(fromVersion) ?? fromVersion
  return semver.inc(fromVersion, required) ?? undefined
}
