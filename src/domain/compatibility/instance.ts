/**
 * Concrete values against a schema (enum members, defaults, property names), validated by ajv.
 *
 * The engine needs a three-valued answer where ajv gives two: `strict` is the reader's view (whatever cannot be
 * decided — an unknown keyword or format, an unresolvable `$ref`, a pattern that is not a regex — counts as
 * invalid), the lenient (writer's) view counts it as valid; both are sound. `lower` turns a subschema into a plain
 * 2020-12 schema that means exactly that view (undecidable parts become `false` or are dropped, flipping under `not`,
 * and `oneOf`/`if` spelled out where the two views differ), with local `$ref`s resolved by the engine's own rules
 * into `$defs`; ajv then validates. Compiled validators are cached by the lowered schema's canonical JSON.
 */
import addFormats from "ajv-formats"
import { fullFormats } from "ajv-formats/dist/formats.js"
import Ajv2020 from "ajv/dist/2020.js"
import { canonicalJson } from "../valueDiff.js"
import {
  dependentRequiredOf,
  dependentSchemasOf,
  has,
  isAnnotation,
  isLegacyDialect,
  isObj,
  type Node,
  num,
  type Obj,
  resolveRef,
  toRegex,
  tupleOf,
  TYPE_BITS,
  UNDERSTOOD
} from "./schema.js"

/** Keywords evaluated on values (a superset of UNDERSTOOD: conditionals are exact on concrete values). */
const VALIDATED = new Set([...UNDERSTOOD, "if", "then", "else"])

const FORMATS = new Set(Object.keys(fullFormats))

/** The lowering of one node: `$defs` for the `$ref` targets met, named per target and view. */
interface Lowering {
  readonly defs: Map<string, unknown>
  readonly names: Array<Map<unknown, string>>
}

const NOT_STRING = { not: { type: "string" } }
const NO_PROPERTIES = { anyOf: [{ not: { type: "object" } }, { maxProperties: 0 }] }

/** A conjunction of lowered schemas, simplified: `false` absorbs it, `true` drops out. */
const allOf = (parts: ReadonlyArray<unknown>): unknown => {
  if (parts.some((p) => p === false)) return false
  const rest = parts.filter((p) => p !== true)
  return rest.length === 0 ? true : rest.length === 1 ? rest[0] : { allOf: rest }
}

const not = (s: unknown): unknown => s === true ? false : s === false ? true : { not: s }

/** The plain schema meaning `s` in the strict (reader's) or lenient (writer's) view. */
const lower = (s: unknown, root: unknown, strict: boolean, depth: number, lw: Lowering): unknown => {
  if (s === true || s === undefined) return true
  if (s === false) return false
  if (!isObj(s) || depth > 64) return !strict
  const sub = (x: unknown, view = strict): unknown => lower(x, root, view, depth + 1, lw)
  const out: Record<string, unknown> = {}
  const parts: Array<unknown> = []
  if (typeof s.$ref === "string") {
    const target = resolveRef(root, s.$ref)
    if (target === undefined && strict) return false
    if (target !== undefined) parts.push(refTo(target, root, strict, depth, lw))
    if (isLegacyDialect(root)) return allOf(parts)
  }
  if (strict && Object.keys(s).some((k) => !VALIDATED.has(k) && !isAnnotation(k) && s[k] !== undefined)) return false

  if (typeof s.type === "string") {
    if (TYPE_BITS[s.type] === undefined) return false
    out.type = s.type
  } else if (Array.isArray(s.type)) {
    const known = [...new Set(s.type.filter((t): t is string => typeof t === "string" && TYPE_BITS[t] !== undefined))]
    if (known.length === 0) return false
    out.type = known
  }
  if (Array.isArray(s.enum)) {
    if (s.enum.length === 0) return false
    out.enum = s.enum
  }
  if (has(s, "const")) out.const = s.const
  if (Array.isArray(s.allOf)) parts.push(...s.allOf.map((b) => sub(b)))
  if (Array.isArray(s.anyOf)) parts.push(s.anyOf.length === 0 ? false : { anyOf: s.anyOf.map((b) => sub(b)) })
  if (Array.isArray(s.oneOf)) parts.push(oneOf(s.oneOf, strict, sub))
  if (s.not !== undefined) parts.push(not(sub(s.not, !strict)))
  if (s.if !== undefined) parts.push(conditional(s, strict, sub))

  for (const key of ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]) {
    const n = num(s[key])
    if (n !== undefined) out[key] = n
  }
  if (typeof s.pattern === "string") {
    if (toRegex(s.pattern) !== null) out.pattern = s.pattern
    else if (strict) parts.push(NOT_STRING)
  }
  if (typeof s.format === "string") {
    if (FORMATS.has(s.format)) out.format = s.format
    else if (strict) parts.push(NOT_STRING)
  }

  const min = num(s.minimum)
  const max = num(s.maximum)
  // Draft-04's boolean exclusiveMinimum/-Maximum qualify minimum/maximum.
  if (min !== undefined) out[s.exclusiveMinimum === true ? "exclusiveMinimum" : "minimum"] = min
  if (max !== undefined) out[s.exclusiveMaximum === true ? "exclusiveMaximum" : "maximum"] = max
  const exMin = num(s.exclusiveMinimum)
  const exMax = num(s.exclusiveMaximum)
  if (exMin !== undefined) out.exclusiveMinimum = exMin
  if (exMax !== undefined) out.exclusiveMaximum = exMax
  const multiple = num(s.multipleOf)
  if (multiple !== undefined && multiple > 0) out.multipleOf = multiple

  // Tuples of every draft as 2020-12 prefixItems/items; the reader's unevaluatedItems applies as the rest schema.
  const { rest, tuple } = tupleOf(s)
  if (tuple.length > 0) out.prefixItems = tuple.map((x) => sub(x))
  if (rest !== true) out.items = sub(rest)
  if (strict && s.unevaluatedItems !== undefined && s.unevaluatedItems !== true && s.items === undefined) {
    parts.push(
      tuple.length === 0 ? { items: sub(s.unevaluatedItems) } : {
        prefixItems: tuple.map(() => true),
        items: sub(s.unevaluatedItems)
      }
    )
  }
  if (s.uniqueItems === true) out.uniqueItems = true
  if (s.contains !== undefined) {
    out.contains = sub(s.contains)
    out.minContains = num(s.minContains) ?? 1
    const maxContains = num(s.maxContains)
    if (maxContains !== undefined) out.maxContains = maxContains
  }

  if (isObj(s.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(s.properties).filter(([, x]) => x !== undefined).map(([k, x]) => [k, sub(x)])
    )
  }
  if (isObj(s.patternProperties)) {
    const patterns: Record<string, unknown> = {}
    for (const [p, x] of Object.entries(s.patternProperties)) {
      if (toRegex(p) !== null) patterns[p] = sub(x)
      else if (strict) parts.push(NO_PROPERTIES)
    }
    out.patternProperties = patterns
  }
  if (s.additionalProperties !== undefined) out.additionalProperties = sub(s.additionalProperties)
  else if (strict && s.unevaluatedProperties !== undefined) out.additionalProperties = sub(s.unevaluatedProperties)
  if (s.propertyNames !== undefined) out.propertyNames = sub(s.propertyNames)
  if (Array.isArray(s.required)) out.required = [...new Set(s.required.filter((r) => typeof r === "string"))]
  const dependentRequired = dependentRequiredOf(s)
  if (dependentRequired.size > 0) out.dependentRequired = Object.fromEntries(dependentRequired)
  const dependentSchemas = dependentSchemasOf(s)
  if (dependentSchemas.size > 0) {
    out.dependentSchemas = Object.fromEntries([...dependentSchemas].map(([k, x]) => [k, sub(x)]))
  }
  return allOf([...(Object.keys(out).length === 0 ? [] : [out]), ...parts])
}

const refTo = (target: unknown, root: unknown, strict: boolean, depth: number, lw: Lowering): unknown => {
  const names = lw.names[strict ? 1 : 0]
  let name = names.get(target)
  if (name === undefined) {
    name = `d${lw.defs.size}`
    names.set(target, name)
    lw.defs.set(name, true)
    lw.defs.set(name, lower(target, root, strict, depth + 1, lw))
  }
  return { $ref: `#/$defs/${name}` }
}

/** oneOf: the strict view needs exactly one branch surely and no other possibly; the lenient view the converse. */
const oneOf = (branches: ReadonlyArray<unknown>, strict: boolean, sub: (x: unknown, view?: boolean) => unknown) => {
  if (branches.length === 0) return false
  const sure = branches.map((b) => sub(b, true))
  const maybe = branches.map((b) => sub(b, false))
  if (sure.every((x, i) => canonicalJson(x) === canonicalJson(maybe[i]))) return { oneOf: sure }
  if (strict) {
    return { anyOf: sure.map((x, i) => allOf([x, ...maybe.filter((_, j) => j !== i).map(not)])) }
  }
  const pairs = sure.flatMap((x, i) => sure.slice(i + 1).map((y) => allOf([x, y])))
  return allOf([{ anyOf: maybe }, not(pairs.length === 0 ? false : { anyOf: pairs })])
}

/** if/then/else: exact when the condition is decidable; otherwise both outcomes are weighed by the view. */
const conditional = (s: Obj, strict: boolean, sub: (x: unknown, view?: boolean) => unknown): unknown => {
  const thenS = sub(s.then)
  const elseS = sub(s.else)
  const surely = sub(s.if, true)
  const possibly = sub(s.if, false)
  if (canonicalJson(surely) === canonicalJson(possibly)) {
    return surely === true ? thenS : surely === false ? elseS : { if: surely, then: thenS, else: elseS }
  }
  const unsure = allOf([possibly, not(surely)])
  return {
    anyOf: [
      allOf([surely, thenS]),
      allOf([not(possibly), elseS]),
      allOf([unsure, strict ? allOf([thenS, elseS]) : { anyOf: [thenS, elseS] }])
    ]
  }
}

type Check = (value: unknown) => boolean

interface AjvLike {
  compile: (schema: object) => Check
  removeSchema: (schema: object) => unknown
}

let ajv: AjvLike | undefined

const ajvInstance = () => {
  if (ajv !== undefined) return ajv
  // Patterns compile as the engine reads them: with the u flag, else without it (lowering drops invalid ones).
  const regExp = Object.assign((pattern: string) => toRegex(pattern)!, { code: "new RegExp" })
  const instance = new (Ajv2020 as any)({
    strict: false,
    validateSchema: false,
    logger: false,
    multipleOfPrecision: 9,
    code: { regExp }
  })
  ;(addFormats as any)(instance)
  return ajv = instance as AjvLike
}

const MAX_COMPILED = 2000

// Compiled validators by lowered schema: the same subschemas recur across comparisons, contracts and versions.
const compiled = new Map<string, Check>()
// One lowering per schema object, root and view, so repeated checks against a node skip lowering too.
const byNode = new WeakMap<object, Map<unknown, [Check?, Check?]>>()

const always: Check = () => true
const never: Check = () => false

/** The validator for one lowered schema, compiled once. */
const compileLowered = (lowered: unknown, defs: ReadonlyMap<string, unknown>): Check => {
  if (lowered === true) return always
  if (lowered === false) return never
  const schema = { ...(isObj(lowered) ? lowered : { allOf: [lowered] }), $defs: Object.fromEntries(defs) }
  const key = canonicalJson(schema)
  let check = compiled.get(key)
  if (check === undefined) {
    const instance = ajvInstance()
    const validate = instance.compile(schema)
    // ajv keeps every compiled schema object; the validator outlives it, so a long-lived daemon does not grow.
    instance.removeSchema(schema)
    check = (value) => validate(value) === true
    if (compiled.size >= MAX_COMPILED) compiled.clear()
    compiled.set(key, check)
  }
  return check
}

/** How many compiled validators the cache holds (tests and benchmarks watch it). */
export const compiledValidators = (): number => compiled.size

const checkerFor = (n: Node, strict: boolean): Check => {
  const s = n.s
  if (s === true || s === undefined) return always
  if (s === false) return never
  if (!isObj(s)) return strict ? never : always
  let perRoot = byNode.get(s)
  if (perRoot === undefined) byNode.set(s, perRoot = new Map())
  let entry = perRoot.get(n.root)
  if (entry === undefined) perRoot.set(n.root, entry = [])
  const slot = strict ? 1 : 0
  const cached = entry[slot]
  if (cached !== undefined) return cached
  const lw: Lowering = { defs: new Map(), names: [new Map(), new Map()] }
  let check: Check
  try {
    check = compileLowered(lower(s, n.root, strict, 0, lw), lw.defs)
  } catch {
    // ajv refused the lowered schema (it should not): undecided, so the view's default answer.
    check = strict ? never : always
  }
  entry[slot] = check
  return check
}

/** Whether `value` is valid under the node: surely (`strict`, the reader's view) or possibly (the writer's). */
export const accepts = (value: unknown, n: Node, strict: boolean): boolean => checkerFor(n, strict)(value)

/** Whether `value` is valid under every node of a conjunction. */
export const acceptsAll = (value: unknown, conj: ReadonlyArray<Node>, strict: boolean): boolean =>
  conj.every((n) => accepts(value, n, strict))
