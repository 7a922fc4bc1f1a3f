/**
 * Concrete values against a schema (enum members, defaults, property names) and the finite value sets of schemas.
 */
import { canonicalJson } from "../valueDiff.js"
import {
  BOOL,
  dependentRequiredOf,
  dependentSchemasOf,
  type Expanded,
  has,
  isAnnotation,
  isLegacyDialect,
  isMultiple,
  isObj,
  kindsOf,
  maskOfValue,
  type Node,
  NULL,
  num,
  type Obj,
  patternMatches,
  resolveRef,
  sameValue,
  tupleOf,
  typeMask,
  UNDERSTOOD
} from "./schema.js"

// ---------------------------------------------------------------------------------------------------------------
// A small validator for concrete values (enum members, defaults, property names). `strict` is the reader's view:
// whatever it cannot decide counts as invalid; the lenient (writer's) view counts it as valid. Both are sound.

export const VALIDATED = new Set([...UNDERSTOOD, "if", "then", "else"])

export const FORMATS: Readonly<Record<string, RegExp>> = {
  "date-time": /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  time: /^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$/,
  email: /^[^\s@]+@[^\s@]+$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  ipv4: /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/,
  uri: /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/,
  hostname: /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
}

export const typeMatches = (v: unknown, type: unknown): boolean => {
  const vm = maskOfValue(v)
  return (typeMask(type) & vm) !== 0
}

export const validate = (v: unknown, n: Node, strict: boolean, depth: number): boolean => {
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

export const validateString = (v: string, s: Obj, strict: boolean): boolean => {
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

export const validateNumber = (v: number, s: Obj): boolean => {
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

export type Check = (schema: unknown, value: unknown, mode?: boolean) => boolean

export const validateArray = (v: ReadonlyArray<unknown>, s: Obj, strict: boolean, check: Check): boolean => {
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

export const validateObject = (v: Obj, s: Obj, strict: boolean, check: Check): boolean => {
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

export const validateAll = (v: unknown, conj: ReadonlyArray<Node>, strict: boolean): boolean =>
  conj.every((n) => validate(v, n, strict, 0))

// ---------------------------------------------------------------------------------------------------------------
// Finite schemas: when the writer admits finitely many values, inclusion is decided exactly by validating them.

export const finiteOf = (n: Node, depth: number): ReadonlyArray<unknown> | undefined => {
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
export const finiteValues = (conj: ReadonlyArray<Node>): ReadonlyArray<unknown> | undefined => {
  for (const n of conj) {
    const candidates = finiteOf(n, 0)
    if (candidates === undefined) continue
    const unique = new Map(candidates.map((v) => [canonicalJson(v), v] as const))
    return [...unique.values()].filter((v) => validateAll(v, conj, false))
  }
  return undefined
}

export const unsatisfiable = (w: Expanded): boolean =>
  w.empty || kindsOf(w.conj) === 0 || finiteValues(w.conj)?.length === 0
