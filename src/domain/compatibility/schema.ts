/**
 * The schema vocabulary the engine reasons with: keyword classes, JSON types as bit masks (integer ⊂ number),
 * local `$ref` resolution and the flattening of a conjunction (`$ref`, `allOf`) into plain schema objects.
 */
import { canonicalJson } from "../valueDiff.js"

export type Obj = { readonly [k: string]: unknown }

export interface Node {
  readonly s: unknown
  readonly root: unknown
}

/** Documentation keywords: what a reader is told about values, never which values are valid. */
export const DOCUMENTATION: ReadonlySet<string> = new Set([
  "title",
  "description",
  "examples",
  "$comment",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly"
])

/** Annotation keywords: they never change which values are valid. `x-*` vendor keywords are annotations too. */
const ANNOTATIONS = new Set([
  ...DOCUMENTATION,
  "$id",
  "id",
  "$schema",
  "$anchor",
  "$dynamicAnchor",
  "$recursiveAnchor",
  "$vocabulary",
  "definitions",
  "$defs",
  "contentSchema"
])

/** Keywords the engine reasons about; any other non-annotation keyword is compared opaquely (see `opaque`). */
export const UNDERSTOOD = new Set([
  "type",
  "enum",
  "const",
  "allOf",
  "anyOf",
  "oneOf",
  "not",
  "$ref",
  "properties",
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "required",
  "minProperties",
  "maxProperties",
  "propertyNames",
  "dependencies",
  "dependentRequired",
  "dependentSchemas",
  "items",
  "prefixItems",
  "additionalItems",
  "unevaluatedItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "contains",
  "minContains",
  "maxContains",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf"
])

/** Keywords the validator below evaluates (a superset of UNDERSTOOD: conditionals are exact on concrete values). */

export const isAnnotation = (key: string): boolean => ANNOTATIONS.has(key) || key.startsWith("x-")

export const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

export const num = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined

export const has = (o: Obj, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(o, key) && o[key] !== undefined

// ---------------------------------------------------------------------------------------------------------------
// Types as bit masks: integer ⊂ number is modelled by splitting numbers into integers and non-integers.

export const NULL = 1
export const BOOL = 2
export const OBJECT = 4
export const ARRAY = 8
export const STRING = 16
const INT = 32
export const FRAC = 64
export const NUMBER = INT | FRAC
const ALL = 127

export const TYPE_BITS: Readonly<Record<string, number>> = {
  null: NULL,
  boolean: BOOL,
  object: OBJECT,
  array: ARRAY,
  string: STRING,
  integer: INT,
  number: NUMBER
}

export const typeMask = (type: unknown): number => {
  if (typeof type === "string") return TYPE_BITS[type] ?? 0
  if (Array.isArray(type)) return type.reduce<number>((m, t) => m | (typeof t === "string" ? TYPE_BITS[t] ?? 0 : 0), 0)
  return ALL
}

const maskOfValue = (v: unknown): number => {
  if (v === null) return NULL
  if (typeof v === "boolean") return BOOL
  if (typeof v === "string") return STRING
  if (typeof v === "number") return Number.isInteger(v) ? INT : FRAC
  if (Array.isArray(v)) return ARRAY
  if (isObj(v)) return OBJECT
  return 0
}

export const typeName = (mask: number): string => {
  if (mask === ALL) return "any"
  const names: Array<string> = []
  if (mask & NULL) names.push("null")
  if (mask & BOOL) names.push("boolean")
  if (mask & OBJECT) names.push("object")
  if (mask & ARRAY) names.push("array")
  if (mask & STRING) names.push("string")
  if ((mask & NUMBER) === NUMBER) names.push("number")
  else if (mask & INT) names.push("integer")
  else if (mask & FRAC) names.push("non-integer number")
  return names.length === 0 ? "nothing" : names.join(" | ")
}

export const isMultiple = (a: number, b: number): boolean => {
  if (b === 0) return false
  const q = a / b
  return Math.abs(q - Math.round(q)) < 1e-9 * Math.max(1, Math.abs(q))
}

/** The kinds of values one (expanded) schema object admits, from `type`, `enum`/`const` and integral `multipleOf`. */
export const kindsOfSchema = (s: Obj): number => {
  let mask = typeMask(s.type)
  if (has(s, "const")) mask &= maskOfValue(s.const)
  else if (Array.isArray(s.enum)) mask &= s.enum.reduce<number>((m, v) => m | maskOfValue(v), 0)
  const m = num(s.multipleOf)
  if (m !== undefined && Number.isInteger(m)) mask &= ~FRAC
  return mask
}

export const kindsOf = (conj: ReadonlyArray<Node>): number =>
  conj.reduce((m, n) => (isObj(n.s) ? m & kindsOfSchema(n.s) : m), ALL)

// ---------------------------------------------------------------------------------------------------------------
// References

/** Draft-04/06/07 ignore keywords beside `$ref`; 2019-09 and later (and undeclared dialects) apply them too. */
export const isLegacyDialect = (root: unknown): boolean =>
  isObj(root) && typeof root.$schema === "string" && /draft-0[3-7]/.test(root.$schema)

const findAnchor = (node: unknown, name: string, depth: number): unknown => {
  if (depth > 32 || (!isObj(node) && !Array.isArray(node))) return undefined
  if (isObj(node) && (node.$anchor === name || node.$id === `#${name}` || node.id === `#${name}`)) return node
  for (const child of Array.isArray(node) ? node : Object.values(node)) {
    const found = findAnchor(child, name, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/** Resolves local references (`#`, `#/definitions/x`, `#/$defs/x`, anchors, the root's own `$id`); else undefined. */
export const resolveRef = (root: unknown, ref: string): unknown => {
  const hash = ref.indexOf("#")
  const base = hash === -1 ? ref : ref.slice(0, hash)
  if (base !== "" && !(isObj(root) && (root.$id === base || root.id === base))) return undefined
  let fragment = hash === -1 ? "" : ref.slice(hash + 1)
  try {
    fragment = decodeURIComponent(fragment)
  } catch {
    return undefined
  }
  if (fragment === "") return root
  if (!fragment.startsWith("/")) return findAnchor(root, fragment, 0)
  let current: unknown = root
  for (const rawSegment of fragment.slice(1).split("/")) {
    const segment = rawSegment.replace(/~1/g, "/").replace(/~0/g, "~")
    if (Array.isArray(current)) current = current[Number(segment)]
    else if (isObj(current) && has(current, segment)) current = current[segment]
    else return undefined
  }
  return current
}

// Stripped copies are cached so that a schema object keeps one identity across the recursion (cycle detection).
const strippedCache = new WeakMap<object, Map<string, Obj>>()

export const without = (s: Obj, keys: ReadonlyArray<string>): Obj => {
  const cacheKey = keys.join(",")
  let perObject = strippedCache.get(s)
  if (perObject === undefined) {
    perObject = new Map()
    strippedCache.set(s, perObject)
  }
  const cached = perObject.get(cacheKey)
  if (cached !== undefined) return cached
  const copy: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(s)) if (!keys.includes(k)) copy[k] = v
  perObject.set(cacheKey, copy)
  return copy
}

export const hasAssertions = (s: Obj): boolean => Object.keys(s).some((k) => s[k] !== undefined && !isAnnotation(k))

export interface Expanded {
  /** Conjuncts left after inlining `$ref`s and `allOf`, none of them trivially true. */
  readonly conj: ReadonlyArray<Node>
  /** A conjunct is `false`: the schema admits no value. */
  readonly empty: boolean
  readonly unresolved: ReadonlyArray<string>
  readonly malformed: boolean
}

/** Flattens a conjunction: inlines resolvable `$ref`s and `allOf`, drops `true`/`{}`; `false` makes it empty. */
export const expand = (nodes: ReadonlyArray<Node>): Expanded => {
  const conj: Array<Node> = []
  const unresolved: Array<string> = []
  const seen = new Set<unknown>()
  const queue = [...nodes]
  let empty = false
  let malformed = false
  for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
    const n = queue.shift()!
    const s = n.s
    if (s === false) {
      empty = true
      continue
    }
    if (s === true || s === undefined) continue
    if (!isObj(s)) {
      malformed = true
      continue
    }
    if (seen.has(s)) continue
    seen.add(s)
    if (typeof s.$ref === "string") {
      const target = resolveRef(n.root, s.$ref)
      if (target === undefined) unresolved.push(s.$ref)
      else queue.push({ s: target, root: n.root })
      if (!isLegacyDialect(n.root)) queue.push({ s: without(s, ["$ref"]), root: n.root })
      continue
    }
    if (Array.isArray(s.allOf)) {
      for (const member of s.allOf) queue.push({ s: member, root: n.root })
      queue.push({ s: without(s, ["allOf"]), root: n.root })
      continue
    }
    if (hasAssertions(s)) conj.push(n)
  }
  return { conj, empty, unresolved, malformed }
}

const regexCache = new Map<string, RegExp | null>()

export const toRegex = (pattern: string): RegExp | null => {
  const cached = regexCache.get(pattern)
  if (cached !== undefined) return cached
  let re: RegExp | null = null
  try {
    re = new RegExp(pattern, "u")
  } catch {
    try {
      re = new RegExp(pattern)
    } catch {
      re = null
    }
  }
  if (regexCache.size < 1000) regexCache.set(pattern, re)
  return re
}

export const sameValue = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b)

export interface Tuple {
  readonly tuple: ReadonlyArray<unknown>
  readonly rest: unknown
}

/** Positional item schemas: `prefixItems` + `items` (2020-12) or array `items` + `additionalItems` (older drafts). */
export const tupleOf = (s: Obj): Tuple => {
  if (Array.isArray(s.prefixItems)) {
    return { tuple: s.prefixItems, rest: Array.isArray(s.items) ? true : s.items ?? true }
  }
  if (Array.isArray(s.items)) return { tuple: s.items, rest: s.additionalItems ?? true }
  // additionalItems is ignored unless items is a tuple (draft-07 §9.3.1.2).
  return { tuple: [], rest: s.items ?? true }
}

export const dependentRequiredOf = (s: Obj): Map<string, ReadonlyArray<string>> => {
  const out = new Map<string, ReadonlyArray<string>>()
  for (const source of [s.dependencies, s.dependentRequired]) {
    if (!isObj(source)) continue
    for (const [k, v] of Object.entries(source)) {
      if (Array.isArray(v)) out.set(k, [...(out.get(k) ?? []), ...v.filter((x): x is string => typeof x === "string")])
    }
  }
  return out
}

export const dependentSchemasOf = (s: Obj): Map<string, unknown> => {
  const out = new Map<string, unknown>()
  for (const source of [s.dependencies, s.dependentSchemas]) {
    if (!isObj(source)) continue
    for (const [k, v] of Object.entries(source)) if (!Array.isArray(v) && v !== undefined) out.set(k, v)
  }
  return out
}

export const patternMatches = (pattern: string, name: string): boolean | undefined => {
  const re = toRegex(pattern)
  return re === null ? undefined : re.test(name)
}

export const node = (s: unknown, root: unknown): Node => ({ s, root })

export const conjunction = (schemas: ReadonlyArray<unknown>, root: unknown): Node =>
  schemas.length === 1 ? node(schemas[0], root) : node({ allOf: schemas }, root)
