/** The bump a contract change requires: from its value changes, its documentation and the schema comparison. */
import { canonicalJson } from "../valueDiff.js"
import { compareSchemas } from "./compare.js"
import { DOCUMENTATION, isObj } from "./schema.js"
import type { Bump, CompatibilityPromise, JsonSchema } from "./types.js"
import { maxBump, valueBump } from "./versions.js"

const SUBSCHEMA = [
  "additionalProperties",
  "additionalItems",
  "contains",
  "not",
  "if",
  "then",
  "else",
  "propertyNames"
]
const SUBSCHEMA_MORE = ["unevaluatedProperties", "unevaluatedItems", "contentSchema"]
const SUBSCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"]
const SUBSCHEMA_MAPS = [
  "properties",
  "patternProperties",
  "definitions",
  "$defs",
  "dependentSchemas",
  "dependencies"
]

/** The schema without documentation keywords, walking only schema positions (a property named `title` stays). */
const stripMetadata = (schema: unknown, depth = 0): unknown => {
  if (!isObj(schema) || depth > 64) return schema
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) {
    if (DOCUMENTATION.has(k) || k.startsWith("x-")) continue
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
  const bump = valueBump(oldValue, newValue)
  if (bump === "major" || canonicalJson(oldSchema) === canonicalJson(newSchema)) return bump
  if (canonicalJson(stripMetadata(oldSchema)) === canonicalJson(stripMetadata(newSchema))) return maxBump(bump, "patch")
  const comparison = compareSchemas(oldSchema, newSchema)
  if ((promise.backwards && !comparison.backwards) || (promise.forwards && !comparison.forwards)) return "major"
  return maxBump(bump, comparison.backwards && comparison.forwards ? "patch" : "minor")
}
