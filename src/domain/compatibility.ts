/**
 * The pure compatibility engine: JSON Schema inclusion ("is every value valid under the writer's schema accepted
 * by the reader's?"), field-level change lists, and the semver bump a contract change requires.
 *
 * The core is a sound but incomplete subsumption check: it answers "compatible" only when it can show that every
 * writer-valid value is reader-valid, and answers "incompatible" when it cannot (regex inclusion, unknown keywords,
 * unresolvable `$ref`s …). See docs/compatibility.md for the rules and the conformance status.
 */
import semver from "semver"
import { canonicalJson, childPath, diffValues, isBreakingValueChange } from "./valueDiff.js"

/** A JSON Schema document or subschema (draft-04 … 2020-12) as parsed JSON; `true`/`false` are boolean schemas. */
export type JsonSchema = boolean | { readonly [k: string]: unknown }

/** One field-level difference; `path` is a data path (`read[]`, `limits.max`, `[0]`, `meta.*`), "" for the root. */
export interface SchemaChange {
  readonly path: string
  readonly kind: string
  readonly breaking: boolean
  readonly detail: string
}

/** A change in an old → new comparison, with the direction(s) it breaks; `breaking` is their disjunction. */
export interface SchemaComparisonChange extends SchemaChange {
  readonly breaksBackwards: boolean
  readonly breaksForwards: boolean
}

/** Result of `checkReadable`: whether the reader accepts everything the writer may produce, and why not. */
export interface Readability {
  readonly compatible: boolean
  readonly changes: ReadonlyArray<SchemaChange>
}

/** Result of `compareSchemas`: both directions plus the merged old → new change list. */
export interface SchemaComparison {
  readonly backwards: boolean
  readonly forwards: boolean
  readonly changes: ReadonlyArray<SchemaComparisonChange>
}

/** The directions a contract promises to keep (`compatibility.backwards/forwards` in the contract file). */
export interface CompatibilityPromise {
  readonly backwards: boolean
  readonly forwards: boolean
}

/** The smallest semver increment a change requires. */
export type Bump = "none" | "patch" | "minor" | "major"

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary

type Obj = { readonly [k: string]: unknown }

interface Node {
  readonly s: unknown
  readonly root: unknown
}

interface Raw {
  readonly path: string
  readonly kind: string
  readonly key: string
  readonly breaking: boolean
  readonly subject: string
  readonly before?: string | undefined
  readonly after?: string | undefined
}

/** Annotation keywords: they never change which values are valid. `x-*` vendor keywords are annotations too. */
const ANNOTATIONS = new Set([
  "title",
  "description",
  "examples",
  "$comment",
  "default",
  "deprecated",
  "readOnly",
  "writeOnly",
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
const UNDERSTOOD = new Set([
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
const VALIDATED = new Set([...UNDERSTOOD, "if", "then", "else"])

const isAnnotation = (key: string): boolean => ANNOTATIONS.has(key) || key.startsWith("x-")

const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

const num = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined

const has = (o: Obj, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key) && o[key] !== undefined

const show = (u: unknown): string => canonicalJson(u)

const raw = (
  path: string,
  kind: string,
  breaking: boolean,
  subject: string,
  before?: string,
  after?: string,
  key = ""
): Raw => ({ path, kind, key, breaking, subject, before, after })

const hasBreaking = (raws: ReadonlyArray<Raw>): boolean => raws.some((r) => r.breaking)

const dedupe = (raws: ReadonlyArray<Raw>): Array<Raw> => {
  const byKey = new Map<string, Raw>()
  for (const r of raws) {
    const k = `${r.path}\u0000${r.kind}\u0000${r.key}`
    const prev = byKey.get(k)
    byKey.set(k, prev === undefined ? r : { ...prev, breaking: prev.breaking || r.breaking })
  }
  return [...byKey.values()]
}

// ---------------------------------------------------------------------------------------------------------------
// Types as bit masks: integer ⊂ number is modelled by splitting numbers into integers and non-integers.

const NULL = 1
const BOOL = 2
const OBJECT = 4
const ARRAY = 8
const STRING = 16
const INT = 32
const FRAC = 64
const NUMBER = INT | FRAC
const ALL = 127

const TYPE_BITS: Readonly<Record<string, number>> = {
  null: NULL,
  boolean: BOOL,
  object: OBJECT,
  array: ARRAY,
  string: STRING,
  integer: INT,
  number: NUMBER
}

const typeMask = (type: unknown): number => {
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

const typeName = (mask: number): string => {
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

const isMultiple = (a: number, b: number): boolean => {
  if (b === 0) return false
  const q = a / b
  return Math.abs(q - Math.round(q)) < 1e-9 * Math.max(1, Math.abs(q))
}

/** The kinds of values one (expanded) schema object admits, from `type`, `enum`/`const` and integral `multipleOf`. */
const kindsOfSchema = (s: Obj): number => {
  let mask = typeMask(s.type)
  if (has(s, "const")) mask &= maskOfValue(s.const)
  else if (Array.isArray(s.enum)) mask &= s.enum.reduce<number>((m, v) => m | maskOfValue(v), 0)
  const m = num(s.multipleOf)
  if (m !== undefined && Number.isInteger(m)) mask &= ~FRAC
  return mask
}

const kindsOf = (conj: ReadonlyArray<Node>): number =>
  conj.reduce((m, n) => (isObj(n.s) ? m & kindsOfSchema(n.s) : m), ALL)

// ---------------------------------------------------------------------------------------------------------------
// References

/** Draft-04/06/07 ignore keywords beside `$ref`; 2019-09 and later (and undeclared dialects) apply them too. */
const isLegacyDialect = (root: unknown): boolean =>
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
const resolveRef = (root: unknown, ref: string): unknown => {
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

const without = (s: Obj, keys: ReadonlyArray<string>): Obj => {
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

const hasAssertions = (s: Obj): boolean => Object.keys(s).some((k) => s[k] !== undefined && !isAnnotation(k))

interface Expanded {
  /** Conjuncts left after inlining `$ref`s and `allOf`, none of them trivially true. */
  readonly conj: ReadonlyArray<Node>
  /** A conjunct is `false`: the schema admits no value. */
  readonly empty: boolean
  readonly unresolved: ReadonlyArray<string>
  readonly malformed: boolean
}

/** Flattens a conjunction: inlines resolvable `$ref`s and `allOf`, drops `true`/`{}`; `false` makes it empty. */
const expand = (nodes: ReadonlyArray<Node>): Expanded => {
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

// ---------------------------------------------------------------------------------------------------------------
// A small validator for concrete values (enum members, defaults, property names). `strict` is the reader's view:
// whatever it cannot decide counts as invalid; the lenient (writer's) view counts it as valid. Both are sound.

const regexCache = new Map<string, RegExp | null>()

const toRegex = (pattern: string): RegExp | null => {
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

const FORMATS: Readonly<Record<string, RegExp>> = {
  "date-time": /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  time: /^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/,
  email: /^[^\s@]+@[^\s@]+$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  ipv4: /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/,
  uri: /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/,
  hostname: /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
}

const typeMatches = (v: unknown, type: unknown): boolean => {
  const vm = maskOfValue(v)
  return (typeMask(type) & vm) !== 0
}

const sameValue = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b)

interface Tuple {
  readonly tuple: ReadonlyArray<unknown>
  readonly rest: unknown
}

/** Positional item schemas: `prefixItems` + `items` (2020-12) or array `items` + `additionalItems` (older drafts). */
const tupleOf = (s: Obj): Tuple => {
  if (Array.isArray(s.prefixItems)) {
    return { tuple: s.prefixItems, rest: Array.isArray(s.items) ? true : s.items ?? true }
  }
  if (Array.isArray(s.items)) return { tuple: s.items, rest: s.additionalItems ?? true }
  // additionalItems is ignored unless items is a tuple (draft-07 §9.3.1.2).
  return { tuple: [], rest: s.items ?? true }
}

const dependentRequiredOf = (s: Obj): Map<string, ReadonlyArray<string>> => {
  const out = new Map<string, ReadonlyArray<string>>()
  for (const source of [s.dependencies, s.dependentRequired]) {
    if (!isObj(source)) continue
    for (const [k, v] of Object.entries(source)) {
      if (Array.isArray(v)) out.set(k, [...(out.get(k) ?? []), ...v.filter((x): x is string => typeof x === "string")])
    }
  }
  return out
}

const dependentSchemasOf = (s: Obj): Map<string, unknown> => {
  const out = new Map<string, unknown>()
  for (const source of [s.dependencies, s.dependentSchemas]) {
    if (!isObj(source)) continue
    for (const [k, v] of Object.entries(source)) if (!Array.isArray(v) && v !== undefined) out.set(k, v)
  }
  return out
}

const patternMatches = (pattern: string, name: string): boolean | undefined => {
  const re = toRegex(pattern)
  return re === null ? undefined : re.test(name)
}

const validate = (v: unknown, n: Node, strict: boolean, depth: number): boolean => {
  if (depth > 64) return !strict
  const s = n.s
  if (s === true || s === undefined) return true
  if (s === false) return false
  if (!isObj(s)) return !strict
  const root = n.root
  const check = (schema: unknown, value: unknown, mode = strict): boolean =>
    validate(value, { s: schema, root }, mode, depth + 1)
  if (typeof s.$ref === "string") {
    const target = resolveRef(root, s.$ref)
    if (target === undefined ? strict : !check(target, v)) return false
    if (isLegacyDialect(root)) return true
  }
  if (strict && Object.keys(s).some((k) => !VALIDATED.has(k) && !isAnnotation(k) && s[k] !== undefined)) return false
  if (s.type !== undefined && !typeMatches(v, s.type)) return false
  if (Array.isArray(s.enum) && !s.enum.some((e) => sameValue(e, v))) return false
  if (has(s, "const") && !sameValue(s.const, v)) return false
  if (Array.isArray(s.allOf) && !s.allOf.every((b) => check(b, v))) return false
  if (Array.isArray(s.anyOf) && !s.anyOf.some((b) => check(b, v))) return false
  if (Array.isArray(s.oneOf)) {
    const sure = s.oneOf.filter((b) => check(b, v, true)).length
    const maybe = s.oneOf.filter((b) => check(b, v, false)).length
    if (strict ? !(sure === 1 && maybe === 1) : !(maybe >= 1 && sure <= 1)) return false
  }
  if (s.not !== undefined && check(s.not, v, !strict)) return false
  if (s.if !== undefined) {
    const thenOk = s.then === undefined || check(s.then, v)
    const elseOk = s.else === undefined || check(s.else, v)
    const surely = check(s.if, v, true)
    const possibly = check(s.if, v, false)
    const ok = surely ? thenOk : !possibly ? elseOk : strict ? thenOk && elseOk : thenOk || elseOk
    if (!ok) return false
  }
  if (typeof v === "string" && !validateString(v, s, strict)) return false
  if (typeof v === "number" && !validateNumber(v, s)) return false
  if (Array.isArray(v) && !validateArray(v, s, strict, check)) return false
  if (isObj(v) && !validateObject(v, s, strict, check)) return false
  return true
}

const validateString = (v: string, s: Obj, strict: boolean): boolean => {
  const length = [...v].length
  const min = num(s.minLength)
  const max = num(s.maxLength)
  if (min !== undefined && length < min) return false
  if (max !== undefined && length > max) return false
  if (typeof s.pattern === "string") {
    const matched = patternMatches(s.pattern, v)
    if (matched === undefined ? strict : !matched) return false
  }
  if (typeof s.format === "string") {
    const re = FORMATS[s.format]
    if (re === undefined ? strict : !re.test(v)) return false
  }
  return true
}

const validateNumber = (v: number, s: Obj): boolean => {
  const min = num(s.minimum)
  const max = num(s.maximum)
  if (min !== undefined && (s.exclusiveMinimum === true ? v <= min : v < min)) return false
  if (max !== undefined && (s.exclusiveMaximum === true ? v >= max : v > max)) return false
  const exMin = num(s.exclusiveMinimum)
  const exMax = num(s.exclusiveMaximum)
  if (exMin !== undefined && v <= exMin) return false
  if (exMax !== undefined && v >= exMax) return false
  const m = num(s.multipleOf)
  if (m !== undefined && m > 0 && !isMultiple(v, m)) return false
  return true
}

type Check = (schema: unknown, value: unknown, mode?: boolean) => boolean

const validateArray = (v: ReadonlyArray<unknown>, s: Obj, strict: boolean, check: Check): boolean => {
  const { rest, tuple } = tupleOf(s)
  for (let i = 0; i < v.length; i++) if (!check(i < tuple.length ? tuple[i] : rest, v[i])) return false
  if (strict && s.unevaluatedItems !== undefined && s.unevaluatedItems !== true && s.items === undefined) {
    for (let i = tuple.length; i < v.length; i++) if (!check(s.unevaluatedItems, v[i])) return false
  }
  const min = num(s.minItems)
  const max = num(s.maxItems)
  if (min !== undefined && v.length < min) return false
  if (max !== undefined && v.length > max) return false
  if (s.uniqueItems === true && new Set(v.map(canonicalJson)).size !== v.length) return false
  if (s.contains !== undefined) {
    const count = v.filter((x) => check(s.contains, x)).length
    if (count < (num(s.minContains) ?? 1)) return false
    const maxContains = num(s.maxContains)
    if (maxContains !== undefined && count > maxContains) return false
  }
  return true
}

const validateObject = (v: Obj, s: Obj, strict: boolean, check: Check): boolean => {
  const keys = Object.keys(v).filter((k) => v[k] !== undefined)
  const properties = isObj(s.properties) ? s.properties : {}
  const patterns = isObj(s.patternProperties) ? s.patternProperties : {}
  for (const key of keys) {
    let evaluated = false
    if (has(properties, key)) {
      evaluated = true
      if (!check(properties[key], v[key])) return false
    }
    for (const [p, schema] of Object.entries(patterns)) {
      const matched = patternMatches(p, key)
      if (matched === undefined && strict) return false
      if (matched === true) {
        evaluated = true
        if (!check(schema, v[key])) return false
      }
    }
    if (!evaluated && s.additionalProperties !== undefined && !check(s.additionalProperties, v[key])) return false
    if (!evaluated && strict && s.unevaluatedProperties !== undefined && s.additionalProperties === undefined) {
      if (!check(s.unevaluatedProperties, v[key])) return false
    }
    if (s.propertyNames !== undefined && !check(s.propertyNames, key)) return false
  }
  if (Array.isArray(s.required) && !s.required.every((r) => typeof r !== "string" || keys.includes(r))) return false
  const min = num(s.minProperties)
  const max = num(s.maxProperties)
  if (min !== undefined && keys.length < min) return false
  if (max !== undefined && keys.length > max) return false
  for (const [k, needed] of dependentRequiredOf(s)) {
    if (keys.includes(k) && !needed.every((d) => keys.includes(d))) return false
  }
  for (const [k, schema] of dependentSchemasOf(s)) if (keys.includes(k) && !check(schema, v)) return false
  return true
}

const validateAll = (v: unknown, conj: ReadonlyArray<Node>, strict: boolean): boolean =>
  conj.every((n) => validate(v, n, strict, 0))

// ---------------------------------------------------------------------------------------------------------------
// Finite schemas: when the writer admits finitely many values, inclusion is decided exactly by validating them.

const finiteOf = (n: Node, depth: number): ReadonlyArray<unknown> | undefined => {
  const s = n.s
  if (s === false) return []
  if (!isObj(s) || depth > 16) return undefined
  if (has(s, "const")) return [s.const]
  if (Array.isArray(s.enum)) return s.enum
  if (s.type !== undefined) {
    const mask = typeMask(s.type)
    if ((mask & ~(BOOL | NULL)) === 0) {
      return [...(mask & BOOL ? [true, false] : []), ...(mask & NULL ? [null] : [])]
    }
  }
  if (typeof s.$ref === "string") {
    const target = resolveRef(n.root, s.$ref)
    const viaRef = target === undefined ? undefined : finiteOf({ s: target, root: n.root }, depth + 1)
    if (viaRef !== undefined) return viaRef
  }
  if (Array.isArray(s.allOf)) {
    for (const member of s.allOf) {
      const found = finiteOf({ s: member, root: n.root }, depth + 1)
      if (found !== undefined) return found
    }
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = s[key]
    if (!Array.isArray(branches)) continue
    const parts = branches.map((b) => finiteOf({ s: b, root: n.root }, depth + 1))
    if (parts.every((p) => p !== undefined)) return parts.flatMap((p) => p ?? [])
  }
  return undefined
}

/** The values a conjunction admits when that set is finite (a superset filtered by lenient validation). */
const finiteValues = (conj: ReadonlyArray<Node>): ReadonlyArray<unknown> | undefined => {
  for (const n of conj) {
    const candidates = finiteOf(n, 0)
    if (candidates === undefined) continue
    const unique = new Map(candidates.map((v) => [canonicalJson(v), v] as const))
    return [...unique.values()].filter((v) => validateAll(v, conj, false))
  }
  return undefined
}

const unsatisfiable = (w: Expanded): boolean => w.empty || kindsOf(w.conj) === 0 || finiteValues(w.conj)?.length === 0

// ---------------------------------------------------------------------------------------------------------------
// Subsumption: sub(writer conjunction, reader) lists the changes met on the way; any breaking one means some
// writer-valid value may be reader-invalid.

interface Ctx {
  readonly ids: WeakMap<object, number>
  nextId: number
  readonly active: Set<string>
  steps: number
}

const STEP_LIMIT = 20_000

const idOf = (ctx: Ctx, n: Node): string => {
  if (!isObj(n.s)) return String(n.s)
  let id = ctx.ids.get(n.s)
  if (id === undefined) {
    id = ctx.nextId++
    ctx.ids.set(n.s, id)
  }
  return String(id)
}

const node = (s: unknown, root: unknown): Node => ({ s, root })

const conjunction = (schemas: ReadonlyArray<unknown>, root: unknown): Node =>
  schemas.length === 1 ? node(schemas[0], root) : node({ allOf: schemas }, root)

const sub = (ws: ReadonlyArray<Node>, r: Node, path: string, ctx: Ctx): Array<Raw> => {
  if (++ctx.steps > STEP_LIMIT) {
    return [raw(path, "too-complex", true, "schema too complex to compare; assuming incompatible")]
  }
  const w = expand(ws)
  if (w.empty) return []
  // A writer disjunction is included when each of its branches is (oneOf is treated as its superset anyOf).
  for (let i = 0; i < w.conj.length; i++) {
    const n = w.conj[i]
    const s = n.s as Obj
    const key = Array.isArray(s.anyOf) ? "anyOf" : Array.isArray(s.oneOf) ? "oneOf" : undefined
    if (key === undefined) continue
    const rest = [...w.conj.slice(0, i), ...w.conj.slice(i + 1), node(without(s, [key]), n.root)]
    const branches = s[key] as ReadonlyArray<unknown>
    return dedupe(branches.flatMap((b) => sub([...rest, node(b, n.root)], r, path, ctx)))
  }
  const rx = expand([r])
  const out: Array<Raw> = []
  for (const ref of rx.unresolved) {
    if (!w.unresolved.includes(ref)) out.push(raw(path, "ref-unresolvable", true, "$ref", undefined, ref, ref))
  }
  if (rx.malformed) out.push(raw(path, "schema-malformed", true, "reader schema is not a JSON Schema"))
  if (rx.empty) {
    if (!unsatisfiable(w)) out.push(raw(path, "value-forbidden", true, "schema", undefined, "false"))
    return out
  }
  if (rx.conj.length === 0) return out
  const key = `${w.conj.map((n) => idOf(ctx, n)).join(",")}>${rx.conj.map((n) => idOf(ctx, n)).join(",")}`
  // Recursive schemas: a pair already under comparison is assumed included (coinduction, as for recursive types).
  if (ctx.active.has(key)) return out
  ctx.active.add(key)
  try {
    for (const rn of rx.conj) out.push(...subSimpleReader(w.conj, rn, path, ctx))
  } finally {
    ctx.active.delete(key)
  }
  return dedupe(out)
}

const isHolds = (ws: ReadonlyArray<Node>, r: Node, ctx: Ctx): boolean => !hasBreaking(sub(ws, r, "", ctx))

const subSimpleReader = (wc: ReadonlyArray<Node>, r: Node, path: string, ctx: Ctx): Array<Raw> => {
  const rs = r.s as Obj
  const values = finiteValues(wc)
  if (values !== undefined) return finiteCheck(wc, values, r, path)
  if (Array.isArray(rs.anyOf) || Array.isArray(rs.oneOf) || rs.not !== undefined) {
    return combinatorReader(wc, r, path, ctx)
  }
  return simple(wc, r, path, ctx)
}

const finiteCheck = (wc: ReadonlyArray<Node>, values: ReadonlyArray<unknown>, r: Node, path: string): Array<Raw> => {
  const out: Array<Raw> = []
  const readerValues = finiteValues([r])
  for (const v of values) {
    if (validate(v, r, true, 0)) continue
    const kind = readerValues === undefined ? "value-forbidden" : "enum-value-removed"
    out.push(raw(path, kind, true, "value", show(v), undefined, canonicalJson(v)))
  }
  if (readerValues !== undefined) {
    const known = new Set(values.map(canonicalJson))
    for (const v of readerValues) {
      if (!known.has(canonicalJson(v))) {
        out.push(raw(path, "enum-value-added", false, "value", undefined, show(v), canonicalJson(v)))
      }
    }
  } else if (wc.some((n) => isObj(n.s) && (has(n.s, "enum") || has(n.s, "const")))) {
    out.push(raw(path, "enum-removed", false, "enum"))
  }
  return out
}

const GROUPS = [NULL, BOOL, OBJECT, ARRAY, STRING, NUMBER] as const

const groupSchema = (group: number): Obj => ({ type: typeName(group) === "number" ? "number" : typeName(group) })

const combinatorReader = (wc: ReadonlyArray<Node>, r: Node, path: string, ctx: Ctx): Array<Raw> => {
  const rs = r.s as Obj
  const kinds = kindsOf(wc)
  const groups = GROUPS.filter((g) => (kinds & g) !== 0)
  // Split a multi-type writer so that each type may be accepted by a different reader branch.
  if (groups.length > 1 && (Array.isArray(rs.anyOf) || Array.isArray(rs.oneOf))) {
    return dedupe(groups.flatMap((g) => sub([...wc, node(groupSchema(g), null)], r, path, ctx)))
  }
  const out: Array<Raw> = []
  const base = without(rs, ["anyOf", "oneOf", "not"])
  if (hasAssertions(base)) out.push(...sub(wc, node(base, r.root), path, ctx))
  if (Array.isArray(rs.anyOf)) out.push(...pickBranch(wc, rs.anyOf, r.root, false, path, ctx))
  if (Array.isArray(rs.oneOf)) out.push(...pickBranch(wc, rs.oneOf, r.root, true, path, ctx))
  if (rs.not !== undefined) out.push(...notCheck(wc, node(rs.not, r.root), path, ctx))
  return out
}

const pickBranch = (
  wc: ReadonlyArray<Node>,
  branches: ReadonlyArray<unknown>,
  root: unknown,
  exclusive: boolean,
  path: string,
  ctx: Ctx
): Array<Raw> => {
  const keyword = exclusive ? "oneOf" : "anyOf"
  if (branches.length === 0) return [raw(path, "value-forbidden", true, keyword, undefined, "[]")]
  const attempts = branches.map((b, index) => ({ index, raws: sub(wc, node(b, root), path, ctx) }))
  const fitting = attempts.filter((a) => !hasBreaking(a.raws))
  for (const a of fitting) {
    // oneOf also needs the writer's values to match no other branch.
    if (!exclusive || branches.every((b, j) => j === a.index || disjoint(wc, [node(b, root)], ctx, 0))) return a.raws
  }
  if (fitting.length > 0) return [raw(path, "one-of-overlap", true, "oneOf: values may match several branches")]
  // Prefer the branch that explains the mismatch best: fewest breaking changes, overlapping types before disjoint.
  const score = (raws: ReadonlyArray<Raw>): number =>
    raws.filter((x) => x.breaking).length + (raws.some((x) => x.kind === "type-changed") ? 0.5 : 0)
  const best = attempts.reduce((a, b) => (score(b.raws) < score(a.raws) ? b : a))
  return best.raws
}

const notCheck = (wc: ReadonlyArray<Node>, excluded: Node, path: string, ctx: Ctx): Array<Raw> => {
  if (disjoint(wc, [excluded], ctx, 0)) return []
  // ¬A ⊆ ¬B exactly when B ⊆ A.
  for (const n of wc) {
    if (isObj(n.s) && n.s.not !== undefined && isHolds([excluded], node(n.s.not, n.root), ctx)) return []
  }
  const before = wc.find((n) => isObj(n.s) && n.s.not !== undefined)
  return [
    raw(
      path,
      before === undefined ? "not-added" : "not-widened",
      true,
      "not",
      before === undefined ? undefined : show((before.s as Obj).not),
      show(excluded.s)
    )
  ]
}

/** True only when no value can satisfy both conjunctions (sound: false when unsure). */
const disjoint = (as: ReadonlyArray<Node>, bs: ReadonlyArray<Node>, ctx: Ctx, depth: number): boolean => {
  if (depth > 8 || ++ctx.steps > STEP_LIMIT) return false
  const a = expand(as)
  const b = expand(bs)
  if (a.empty || b.empty) return true
  if ((kindsOf(a.conj) & kindsOf(b.conj)) === 0) return true
  const av = finiteValues(a.conj)
  if (av !== undefined && av.every((v) => !validateAll(v, b.conj, false))) return true
  const bv = finiteValues(b.conj)
  if (bv !== undefined && bv.every((v) => !validateAll(v, a.conj, false))) return true
  for (const [x, y] of [[a, b], [b, a]] as const) {
    for (const n of x.conj) {
      const s = n.s as Obj
      const branches = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined
      if (branches !== undefined && branches.every((br) => disjoint([node(br, n.root)], y.conj, ctx, depth + 1))) {
        return true
      }
      if (s.not !== undefined && isHolds(y.conj, node(s.not, n.root), ctx)) return true
    }
  }
  return false
}

// ---------------------------------------------------------------------------------------------------------------
// The writer is a conjunction of plain schemas; the reader is one plain schema (no combinators left).

const simple = (wc: ReadonlyArray<Node>, r: Node, path: string, ctx: Ctx): Array<Raw> => {
  const rs = r.s as Obj
  const kw = kindsOf(wc)
  if (kw === 0) return []
  if (has(rs, "const") || Array.isArray(rs.enum)) {
    return [raw(path, "enum-added", true, "enum", undefined, show(has(rs, "const") ? [rs.const] : rs.enum))]
  }
  const out: Array<Raw> = []
  const kr = kindsOfSchema(rs)
  if ((kw & ~kr) !== 0) {
    const kind = (kw & kr) === 0 ? "type-changed" : "type-narrowed"
    out.push(raw(path, kind, true, "type", typeName(kw), typeName((kw & kr) === 0 ? kr : kw & kr)))
  } else if (rs.type !== undefined && (kr & ~kw) !== 0 && wc.some((n) => isObj(n.s) && n.s.type !== undefined)) {
    out.push(raw(path, "type-widened", false, "type", typeName(kw), typeName(kr)))
  }
  const both = kw & kr
  if (both & STRING) strings(wc, rs, path, out)
  if (both & NUMBER) numbers(wc, rs, (both & FRAC) === 0, path, out)
  if (both & ARRAY) arrays(wc, r, path, out, ctx)
  if (both & OBJECT) objects(wc, r, path, out, ctx)
  opaque(wc, rs, path, out)
  return out
}

const values = (wc: ReadonlyArray<Node>, key: string): Array<unknown> =>
  wc.flatMap((n) => (isObj(n.s) && has(n.s, key) ? [n.s[key]] : []))

const maxOf = (wc: ReadonlyArray<Node>, key: string): number | undefined => {
  const ns = values(wc, key).map(num).filter((x): x is number => x !== undefined)
  return ns.length === 0 ? undefined : Math.max(...ns)
}

const minOf = (wc: ReadonlyArray<Node>, key: string): number | undefined => {
  const ns = values(wc, key).map(num).filter((x): x is number => x !== undefined)
  return ns.length === 0 ? undefined : Math.min(...ns)
}

/** A lower limit (minLength, minItems …): the reader raising it breaks; `floor` is the value that means "none". */
const lowerLimit = (
  out: Array<Raw>,
  path: string,
  base: string,
  subject: string,
  w: number | undefined,
  r: number | undefined,
  floor = 0
): void => {
  const wv = w !== undefined && w > floor ? w : undefined
  const rv = r !== undefined && r > floor ? r : undefined
  if (rv !== undefined && (wv === undefined || rv > wv)) {
    out.push(raw(path, wv === undefined ? `${base}-added` : `${base}-increased`, true, subject, fmt(wv), fmt(rv)))
  } else if (wv !== undefined && (rv === undefined || rv < wv)) {
    out.push(raw(path, rv === undefined ? `${base}-removed` : `${base}-decreased`, false, subject, fmt(wv), fmt(rv)))
  }
}

/** An upper limit (maxLength, maxItems …): the reader lowering it breaks. */
const upperLimit = (
  out: Array<Raw>,
  path: string,
  base: string,
  subject: string,
  w: number | undefined,
  r: number | undefined
): void => {
  if (r !== undefined && (w === undefined || r < w)) {
    out.push(raw(path, w === undefined ? `${base}-added` : `${base}-decreased`, true, subject, fmt(w), fmt(r)))
  } else if (w !== undefined && (r === undefined || r > w)) {
    out.push(raw(path, r === undefined ? `${base}-removed` : `${base}-increased`, false, subject, fmt(w), fmt(r)))
  }
}

const fmt = (n: number | undefined): string | undefined => n === undefined ? undefined : String(n)

/** Keywords compared by equality only (a different pattern or format may reject values; regex inclusion is undecided). */
const equalityKeyword = (
  wc: ReadonlyArray<Node>,
  rs: Obj,
  keyword: string,
  base: string,
  path: string,
  out: Array<Raw>
): void => {
  const ws = values(wc, keyword)
  const rv = rs[keyword]
  if (rv !== undefined) {
    if (ws.some((w) => sameValue(w, rv))) return
    const kind = ws.length === 0 ? `${base}-added` : `${base}-changed`
    out.push(raw(path, kind, true, keyword, ws.length === 0 ? undefined : ws.map(show).join(" & "), show(rv)))
  } else if (ws.length > 0) {
    out.push(raw(path, `${base}-removed`, false, keyword, ws.map(show).join(" & ")))
  }
}

const strings = (wc: ReadonlyArray<Node>, rs: Obj, path: string, out: Array<Raw>): void => {
  lowerLimit(out, path, "min-length", "minLength", maxOf(wc, "minLength"), num(rs.minLength))
  upperLimit(out, path, "max-length", "maxLength", minOf(wc, "maxLength"), num(rs.maxLength))
  equalityKeyword(wc, rs, "pattern", "pattern", path, out)
  equalityKeyword(wc, rs, "format", "format", path, out)
}

interface Bound {
  readonly v: number
  readonly exclusive: boolean
}

const boundOf = (s: Obj, side: "min" | "max"): Bound | undefined => {
  const inclusiveKey = side === "min" ? "minimum" : "maximum"
  const exclusiveKey = side === "min" ? "exclusiveMinimum" : "exclusiveMaximum"
  const candidates: Array<Bound> = []
  const inclusive = num(s[inclusiveKey])
  if (inclusive !== undefined) candidates.push({ v: inclusive, exclusive: s[exclusiveKey] === true })
  const exclusive = num(s[exclusiveKey])
  if (exclusive !== undefined) candidates.push({ v: exclusive, exclusive: true })
  return tightest(candidates, side)
}

const tightest = (bounds: ReadonlyArray<Bound>, side: "min" | "max"): Bound | undefined =>
  bounds.reduce<Bound | undefined>(
    (acc, b) => acc === undefined || compareBounds(b, acc, side) > 0 ? b : acc,
    undefined
  )

/** Positive when `a` is stricter than `b`. */
const compareBounds = (a: Bound, b: Bound, side: "min" | "max"): number => {
  if (a.v !== b.v) return side === "min" ? a.v - b.v : b.v - a.v
  return Number(a.exclusive) - Number(b.exclusive)
}

/** Over the integers an exclusive bound is an inclusive one: `> 0` is `>= 1`. */
const toIntegerBound = (b: Bound | undefined, side: "min" | "max"): Bound | undefined => {
  if (b === undefined) return undefined
  if (side === "min") return { v: b.exclusive ? Math.floor(b.v) + 1 : Math.ceil(b.v), exclusive: false }
  return { v: b.exclusive ? Math.ceil(b.v) - 1 : Math.floor(b.v), exclusive: false }
}

const showBound = (b: Bound | undefined, side: "min" | "max"): string | undefined =>
  b === undefined ? undefined : `${side === "min" ? ">" : "<"}${b.exclusive ? "" : "="} ${b.v}`

const numbers = (wc: ReadonlyArray<Node>, rs: Obj, integerOnly: boolean, path: string, out: Array<Raw>): void => {
  for (const side of ["min", "max"] as const) {
    const base = side === "min" ? "minimum" : "maximum"
    const wRaw = tightest(
      wc.flatMap((n) => (isObj(n.s) ? [boundOf(n.s, side)] : [])).filter((b) => b !== undefined),
      side
    )
    const rRaw = boundOf(rs, side)
    const w = integerOnly ? toIntegerBound(wRaw, side) : wRaw
    const r = integerOnly ? toIntegerBound(rRaw, side) : rRaw
    if (r !== undefined && (w === undefined || compareBounds(r, w, side) > 0)) {
      const kind = w === undefined ? `${base}-added` : side === "min" ? `${base}-increased` : `${base}-decreased`
      out.push(raw(path, kind, true, base, showBound(w, side), showBound(r, side)))
    } else if (w !== undefined && (r === undefined || compareBounds(r, w, side) < 0)) {
      const kind = r === undefined ? `${base}-removed` : side === "min" ? `${base}-decreased` : `${base}-increased`
      out.push(raw(path, kind, false, base, showBound(w, side), showBound(r, side)))
    }
  }
  const wm = values(wc, "multipleOf").map(num).filter((m): m is number => m !== undefined && m > 0)
  const rm = num(rs.multipleOf)
  if (rm !== undefined && rm > 0) {
    const before = wm.length === 0 ? undefined : wm.join(" & ")
    if (wm.some((m) => isMultiple(m, rm)) || (integerOnly && isMultiple(1, rm))) {
      if (wm.length > 0 && !wm.includes(rm)) {
        out.push(raw(path, "multiple-of-loosened", false, "multipleOf", before, String(rm)))
      }
    } else {
      const kind = wm.length === 0
        ? "multiple-of-added"
        : wm.some((m) => isMultiple(rm, m))
        ? "multiple-of-tightened"
        : "multiple-of-changed"
      out.push(raw(path, kind, true, "multipleOf", before, String(rm)))
    }
  } else if (wm.length > 0) {
    out.push(raw(path, "multiple-of-removed", false, "multipleOf", wm.join(" & ")))
  }
}

const readerRest = (rs: Obj, rest: unknown): unknown => {
  // unevaluatedItems is applied as if it were the rest schema: stricter than the truth, so still sound.
  const u = rs.unevaluatedItems
  if (u === undefined || u === true || rs.items !== undefined) return rest
  return u === false ? false : { allOf: [rest, u] }
}

const arrays = (wc: ReadonlyArray<Node>, r: Node, path: string, out: Array<Raw>, ctx: Ctx): void => {
  const rs = r.s as Obj
  const wt = wc.map((n) => tupleOf(n.s as Obj))
  const rt = tupleOf(rs)
  const rRest = readerRest(rs, rt.rest)
  const caps: Array<number> = []
  const wMaxItems = minOf(wc, "maxItems")
  if (wMaxItems !== undefined) caps.push(wMaxItems)
  for (const t of wt) {
    const closedAt = t.tuple.findIndex((x) => x === false)
    if (closedAt !== -1) caps.push(closedAt)
    else if (t.rest === false) caps.push(t.tuple.length)
  }
  const wMax = caps.length === 0 ? undefined : Math.min(...caps)
  const wMin = maxOf(wc, "minItems")
  lowerLimit(out, path, "min-items", "minItems", wMin, num(rs.minItems))
  // Caps implied by closed tuples decide breakage but are not reported as a removed maxItems.
  upperLimit(out, path, "max-items", "maxItems", rs.maxItems === undefined ? wMaxItems : wMax, num(rs.maxItems))
  const length = Math.max(rt.tuple.length, ...wt.map((t) => t.tuple.length))
  for (let i = 0; i < length; i++) {
    if (wMax !== undefined && i >= wMax) break
    const wi = wt.map((t, j) => node(i < t.tuple.length ? t.tuple[i] : t.rest, wc[j].root))
    const ri = node(i < rt.tuple.length ? rt.tuple[i] : rRest, r.root)
    const itemPath = `${path}[${i}]`
    const res = sub(wi, ri, itemPath, ctx)
    const inW = wt.some((t) => i < t.tuple.length)
    const inR = i < rt.tuple.length
    if (inR && !inW) out.push(raw(itemPath, "tuple-item-added", hasBreaking(res), "item"))
    if (inW && !inR) out.push(raw(itemPath, "tuple-item-removed", hasBreaking(res), "item"))
    out.push(...res)
  }
  const wClosed = wMax !== undefined && wMax <= length
  if (!wClosed) {
    const restPath = `${path}[]`
    const wRest = wt.map((t, j) => node(t.rest, wc[j].root))
    if (rRest === false && !unsatisfiable(expand(wRest))) {
      out.push(raw(restPath, "additional-items-closed", true, "items", undefined, "false"))
    } else {
      out.push(...sub(wRest, node(rRest, r.root), restPath, ctx))
    }
  } else if (wt.some((t) => t.rest === false) && rRest !== false) {
    out.push(raw(`${path}[]`, "additional-items-opened", false, "items", "false"))
  }
  const wUnique = wc.some((n) => (n.s as Obj).uniqueItems === true)
  if (rs.uniqueItems === true && !wUnique && (wMax === undefined || wMax > 1)) {
    out.push(raw(path, "unique-items-added", true, "uniqueItems", undefined, "true"))
  } else if (wUnique && rs.uniqueItems !== true) {
    out.push(raw(path, "unique-items-removed", false, "uniqueItems", "true"))
  }
  containsCheck(wc, wt, wMin, wMax, r, path, out, ctx)
}

const containsCheck = (
  wc: ReadonlyArray<Node>,
  wt: ReadonlyArray<Tuple>,
  wMin: number | undefined,
  wMax: number | undefined,
  r: Node,
  path: string,
  out: Array<Raw>,
  ctx: Ctx
): void => {
  const rs = r.s as Obj
  const wContains = wc.filter((n) => (n.s as Obj).contains !== undefined)
  if (rs.contains === undefined) {
    if (wContains.length > 0) out.push(raw(path, "contains-removed", false, "contains"))
    return
  }
  const needed = num(rs.minContains) ?? 1
  const target = node(rs.contains, r.root)
  if (needed > 0) {
    const viaContains = wContains.some((n) => {
      const s = n.s as Obj
      return (num(s.minContains) ?? 1) >= needed && isHolds([node(s.contains, n.root)], target, ctx)
    })
    const viaItems = (wMin ?? 0) >= needed &&
      wt.every((t, j) => [...t.tuple, t.rest].every((item) => isHolds([node(item, wc[j].root)], target, ctx)))
    if (!viaContains && !viaItems) {
      out.push(
        raw(
          path,
          wContains.length === 0 ? "contains-added" : "contains-changed",
          true,
          "contains",
          undefined,
          show(rs.contains)
        )
      )
    }
  }
  const rMaxContains = num(rs.maxContains)
  if (rMaxContains !== undefined) {
    const ok = (wMax !== undefined && wMax <= rMaxContains) || wContains.some((n) => {
      const s = n.s as Obj
      const m = num(s.maxContains)
      return m !== undefined && m <= rMaxContains && sameValue(s.contains, rs.contains)
    })
    if (!ok) out.push(raw(path, "max-contains-added", true, "maxContains", undefined, String(rMaxContains)))
  }
}

/** Schemas that apply to property `name` in one schema object: its property, matching patterns, else additional. */
const schemasForName = (s: Obj, name: string, reader: boolean): Array<unknown> => {
  const found: Array<unknown> = []
  const properties = isObj(s.properties) ? s.properties : undefined
  if (properties !== undefined && has(properties, name)) found.push(properties[name])
  if (isObj(s.patternProperties)) {
    for (const [p, schema] of Object.entries(s.patternProperties)) {
      if (patternMatches(p, name) === true) found.push(schema)
    }
  }
  if (found.length === 0) found.push(additionalOf(s, reader))
  return found
}

/** The schema for names outside properties/patterns; a reader's unevaluatedProperties is applied here (stricter). */
const additionalOf = (s: Obj, reader: boolean): unknown => {
  const additional = s.additionalProperties ?? true
  const u = s.unevaluatedProperties
  if (!reader || u === undefined || u === true || s.additionalProperties !== undefined) return additional
  return u === false ? false : { allOf: [additional, u] }
}

const literalPrefix = (pattern: string): string | undefined => {
  const m = /^\^([A-Za-z0-9_\-/:.@ ]*)/.exec(pattern.replace(/\\\./g, "."))
  if (m === null) return undefined
  const literal = m[1] ?? ""
  const next = pattern.replace(/\\\./g, ".").charAt(literal.length + 1)
  return "?*{".includes(next) && next !== "" ? literal.slice(0, -1) : literal
}

/** Whether some name may match both patterns; only anchored literal prefixes are told apart. */
const mayOverlap = (p: string, q: string): boolean => {
  if (p === q) return true
  const a = literalPrefix(p)
  const b = literalPrefix(q)
  if (a === undefined || b === undefined || a === "" || b === "") return true
  return a.startsWith(b) || b.startsWith(a)
}

const propertyNamesOf = (s: Obj): Array<string> => isObj(s.properties) ? Object.keys(s.properties) : []

const patternsOf = (s: Obj): Array<string> => isObj(s.patternProperties) ? Object.keys(s.patternProperties) : []

const requiredOf = (s: Obj): Array<string> =>
  Array.isArray(s.required) ? s.required.filter((x): x is string => typeof x === "string") : []

const objects = (wc: ReadonlyArray<Node>, r: Node, path: string, out: Array<Raw>, ctx: Ctx): void => {
  const rs = r.s as Obj
  const ws = wc.map((n) => n.s as Obj)
  const requiredW = new Set(ws.flatMap(requiredOf))
  const requiredR = requiredOf(rs)
  const names = new Set([
    ...ws.flatMap(propertyNamesOf),
    ...propertyNamesOf(rs),
    ...requiredW,
    ...requiredR,
    ...[...dependentRequiredOf(rs).keys()],
    ...[...dependentSchemasOf(rs).keys()]
  ])
  const writerFor = (name: string): Array<Node> =>
    wc.flatMap((n) => schemasForName(n.s as Obj, name, false).map((s) => node(s, n.root)))
  const cannotHave = (name: string): boolean => unsatisfiable(expand(writerFor(name)))

  for (const name of requiredR) {
    if (requiredW.has(name)) continue
    // A reader that fills in `default` (as Avro does) still accepts objects lacking the property.
    const properties = isObj(rs.properties) ? rs.properties : {}
    const declared = properties[name]
    const fallback = isObj(declared) && has(declared, "default") ? declared.default : undefined
    const covered = fallback !== undefined &&
      validate(fallback, conjunction(schemasForName(rs, name, true), r.root), true, 0)
    const detail = covered ? `${name} (default ${show(fallback)})` : name
    out.push(raw(path, "required-added", !covered, "required", undefined, detail, name))
  }
  for (const name of requiredW) {
    if (!requiredR.includes(name)) out.push(raw(path, "required-removed", false, "required", name, undefined, name))
  }

  for (const name of names) {
    const wk = writerFor(name)
    if (unsatisfiable(expand(wk))) continue
    const childP = childPath(path, name)
    const res = sub(wk, conjunction(schemasForName(rs, name, true), r.root), childP, ctx)
    const inW = ws.some((s) => propertyNamesOf(s).includes(name))
    const inR = propertyNamesOf(rs).includes(name)
    if (inR && !inW) out.push(raw(childP, "property-added", hasBreaking(res), "property", undefined, name))
    if (inW && !inR) out.push(raw(childP, "property-removed", hasBreaking(res), "property", name))
    // In an open writer the new property could hold anything; its nested changes would only restate that.
    if (!(inR && !inW && expand(wk).conj.length === 0)) out.push(...res)
  }

  // Names declared nowhere: per writer pattern, then the writer's additionalProperties region.
  const rPatterns = patternsOf(rs)
  const wPatterns = [...new Set(ws.flatMap(patternsOf))]
  const rAdditional = additionalOf(rs, true)
  for (const p of wPatterns) {
    const region = wc.map((n) => {
      const s = n.s as Obj
      const pp = isObj(s.patternProperties) ? s.patternProperties : {}
      if (has(pp, p)) return node(pp[p], n.root)
      return node(Object.keys(pp).length > 0 ? true : s.additionalProperties ?? true, n.root)
    })
    if (unsatisfiable(expand(region))) continue
    const readerSchemas = [
      ...(rPatterns.includes(p) ? [] : [rAdditional]),
      ...rPatterns.filter((q) => mayOverlap(p, q)).map((q) => (rs.patternProperties as Obj)[q])
    ]
    out.push(...sub(region, conjunction(readerSchemas, r.root), `${path}[/${p}/]`, ctx))
  }
  const otherPath = path === "" ? "*" : `${path}.*`
  const wOther = wc.map((n) => node((n.s as Obj).additionalProperties ?? true, n.root))
  const wClosed = ws.some((s) => s.additionalProperties === false)
  if (!unsatisfiable(expand(wOther))) {
    if (rAdditional === false) {
      out.push(raw(otherPath, "additional-properties-closed", true, "additionalProperties", undefined, "false"))
    } else {
      const readerSchemas = [
        rAdditional,
        ...rPatterns.filter((q) => !wPatterns.includes(q)).map((q) => (rs.patternProperties as Obj)[q])
      ]
      const res = sub(wOther, conjunction(readerSchemas, r.root), otherPath, ctx)
      if (hasBreaking(res)) out.push(raw(otherPath, "additional-properties-narrowed", true, "additionalProperties"))
      out.push(...res)
    }
  } else if (wClosed && rAdditional !== false) {
    out.push(raw(otherPath, "additional-properties-opened", false, "additionalProperties", "false"))
  }

  const closedCounts = ws
    .filter((s) => s.additionalProperties === false && patternsOf(s).length === 0)
    .map((s) => propertyNamesOf(s).filter((k) => (s.properties as Obj)[k] !== false).length)
  const wMaxProps = [minOf(wc, "maxProperties"), ...closedCounts].filter((x): x is number => x !== undefined)
  // Limits implied by `required` and closed objects decide breakage but are not reported as changes of their own.
  const wMinExplicit = maxOf(wc, "minProperties")
  const wMaxExplicit = minOf(wc, "maxProperties")
  const wMinProps = rs.minProperties === undefined ? wMinExplicit : Math.max(wMinExplicit ?? 0, requiredW.size)
  const wMaxEffective = wMaxProps.length === 0 ? undefined : Math.min(...wMaxProps)
  lowerLimit(out, path, "min-properties", "minProperties", wMinProps, num(rs.minProperties))
  upperLimit(
    out,
    path,
    "max-properties",
    "maxProperties",
    rs.maxProperties === undefined ? wMaxExplicit : wMaxEffective,
    num(rs.maxProperties)
  )

  propertyNamesCheck(wc, r, path, out, ctx)
  dependenciesCheck(wc, r, requiredW, cannotHave, path, out, ctx)
}

const propertyNamesCheck = (wc: ReadonlyArray<Node>, r: Node, path: string, out: Array<Raw>, ctx: Ctx): void => {
  const rs = r.s as Obj
  const wNamed = wc.filter((n) => (n.s as Obj).propertyNames !== undefined)
  if (rs.propertyNames === undefined || rs.propertyNames === true) {
    if (wNamed.length > 0) out.push(raw(path, "property-names-removed", false, "propertyNames"))
    return
  }
  const target = node(rs.propertyNames, r.root)
  if (wNamed.some((n) => isHolds([node((n.s as Obj).propertyNames, n.root)], target, ctx))) return
  const closed = wc.find((n) => {
    const s = n.s as Obj
    return s.additionalProperties === false && patternsOf(s).length === 0
  })
  if (closed !== undefined && propertyNamesOf(closed.s as Obj).every((k) => validate(k, target, true, 0))) return
  const kind = wNamed.length === 0 ? "property-names-added" : "property-names-changed"
  out.push(raw(path, kind, true, "propertyNames", undefined, show(rs.propertyNames)))
}

const dependenciesCheck = (
  wc: ReadonlyArray<Node>,
  r: Node,
  requiredW: ReadonlySet<string>,
  cannotHave: (name: string) => boolean,
  path: string,
  out: Array<Raw>,
  ctx: Ctx
): void => {
  const rs = r.s as Obj
  const rReq = dependentRequiredOf(rs)
  const wReq = wc.map((n) => dependentRequiredOf(n.s as Obj))
  for (const [k, needed] of rReq) {
    for (const d of needed) {
      if (requiredW.has(d) || wReq.some((m) => m.get(k)?.includes(d) === true) || cannotHave(k)) continue
      out.push(raw(path, "dependency-added", true, `dependentRequired ${k}`, undefined, d, `${k}>${d}`))
    }
  }
  for (const m of wReq) {
    for (const [k, needed] of m) {
      for (const d of needed) {
        if (rReq.get(k)?.includes(d) !== true) {
          out.push(raw(path, "dependency-removed", false, `dependentRequired ${k}`, d, undefined, `${k}>${d}`))
        }
      }
    }
  }
  const rSch = dependentSchemasOf(rs)
  const wSch = wc.map((n) => ({ n, deps: dependentSchemasOf(n.s as Obj) }))
  for (const [k, schema] of rSch) {
    const target = node(schema, r.root)
    const viaDeps = wSch.some(({ deps, n }) => deps.has(k) && isHolds([node(deps.get(k), n.root)], target, ctx))
    if (viaDeps || cannotHave(k) || isHolds([...wc, node({ type: "object" }, null)], target, ctx)) continue
    const kind = wSch.some(({ deps }) => deps.has(k)) ? "dependency-schema-changed" : "dependency-schema-added"
    out.push(raw(path, kind, true, `dependentSchemas ${k}`, undefined, show(schema), k))
  }
  for (const { deps } of wSch) {
    for (const k of deps.keys()) {
      if (!rSch.has(k)) {
        out.push(raw(path, "dependency-schema-removed", false, `dependentSchemas ${k}`, undefined, undefined, k))
      }
    }
  }
}

/** Keywords we do not reason about (if/then/else, $dynamicRef, contentEncoding, unknown ones) must be unchanged. */
const opaque = (wc: ReadonlyArray<Node>, rs: Obj, path: string, out: Array<Raw>): void => {
  const ws = wc.map((n) => n.s as Obj)
  for (const key of Object.keys(rs)) {
    if (UNDERSTOOD.has(key) || isAnnotation(key) || rs[key] === undefined) continue
    if (ws.some((s) => has(s, key) && sameValue(s[key], rs[key]))) continue
    const kind = ws.some((s) => has(s, key)) ? "keyword-changed" : "keyword-added"
    out.push(raw(path, kind, true, key, undefined, show(rs[key]), key))
  }
  for (const s of ws) {
    for (const key of Object.keys(s)) {
      if (!UNDERSTOOD.has(key) && !isAnnotation(key) && s[key] !== undefined && !has(rs, key)) {
        out.push(raw(path, "keyword-removed", false, key, show(s[key]), undefined, key))
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Public API

const render = (r: Raw): string => {
  if (r.before !== undefined && r.after !== undefined) return `${r.subject}: ${r.before} → ${r.after}`
  if (r.after !== undefined) return `${r.subject}: ${r.after}`
  if (r.before !== undefined) return `${r.subject}: ${r.before}`
  return r.subject
}

const newCtx = (): Ctx => ({ ids: new WeakMap(), nextId: 0, active: new Set(), steps: 0 })

const readable = (writer: unknown, reader: unknown): Array<Raw> =>
  dedupe(sub([node(writer, writer)], node(reader, reader), "", newCtx()))

/** Is every value valid under `writer` accepted by `reader`? Changes describe writer → reader. */
export const checkReadable = (writer: JsonSchema, reader: JsonSchema): Readability => {
  const raws = readable(writer, reader)
  return {
    compatible: !hasBreaking(raws),
    changes: raws.map((r) => ({ path: r.path, kind: r.kind, breaking: r.breaking, detail: render(r) }))
  }
}

const INVERSE: ReadonlyArray<readonly [string, string]> = [
  ["-added", "-removed"],
  ["-increased", "-decreased"],
  ["-narrowed", "-widened"],
  ["-closed", "-opened"],
  ["-tightened", "-loosened"],
  ["-forbidden", "-permitted"]
]

/** The kind that describes the same change seen from the other side (`property-added` ↔ `property-removed`). */
export const invertChangeKind = (kind: string): string => {
  for (const [a, b] of INVERSE) {
    if (kind.endsWith(a)) return kind.slice(0, -a.length) + b
    if (kind.endsWith(b)) return kind.slice(0, -b.length) + a
  }
  return kind
}

/**
 * Compares two versions of a schema. `backwards`: values valid under the new schema are accepted by the old one
 * (old importers read new data). `forwards`: values valid under the old schema are accepted by the new one.
 */
export const compareSchemas = (oldSchema: JsonSchema, newSchema: JsonSchema): SchemaComparison => {
  const forwardRaws = readable(oldSchema, newSchema)
  // Readability of new data by the old schema is computed new → old; flip each change to read old → new.
  const backwardRaws = readable(newSchema, oldSchema).map((r) => ({
    ...r,
    kind: invertChangeKind(r.kind),
    before: r.after,
    after: r.before
  }))
  const merged = new Map<string, { raw: Raw; forwards: boolean; backwards: boolean }>()
  for (const [list, direction] of [[forwardRaws, "forwards"], [backwardRaws, "backwards"]] as const) {
    for (const r of list) {
      const k = `${r.path}\u0000${r.kind}\u0000${r.key}`
      const entry = merged.get(k) ?? { raw: r, forwards: false, backwards: false }
      if (direction === "forwards") entry.forwards ||= r.breaking
      else entry.backwards ||= r.breaking
      merged.set(k, entry)
    }
  }
  return {
    backwards: !hasBreaking(backwardRaws),
    forwards: !hasBreaking(forwardRaws),
    changes: [...merged.values()].map(({ backwards, forwards, raw: r }) => ({
      path: r.path,
      kind: r.kind,
      breaking: backwards || forwards,
      breaksBackwards: backwards,
      breaksForwards: forwards,
      detail: render(r)
    }))
  }
}

const SUBSCHEMA = ["additionalProperties", "additionalItems", "contains", "not", "if", "then", "else", "propertyNames"]
const SUBSCHEMA_MORE = ["unevaluatedProperties", "unevaluatedItems", "contentSchema"]
const SUBSCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems"]
const SUBSCHEMA_MAPS = ["properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies"]
const METADATA = new Set([
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
const stripMetadata = (schema: unknown, depth = 0): unknown => {
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

const RANK: Readonly<Record<Bump, number>> = { none: 0, patch: 1, minor: 2, major: 3 }

const maxBump = (a: Bump, b: Bump): Bump => (RANK[a] >= RANK[b] ? a : b)

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
