/** Arrays (tuples, items, contains) and objects (properties, patterns, additional properties, dependencies). */
import { childPath } from "../valueDiff.js"
import { hasBreaking, type Raw, raw, show } from "./findings.js"
import { unsatisfiable } from "./finite.js"
import { accepts } from "./instance.js"
import { lowerLimit, maxOf, minOf, upperLimit } from "./keywords.js"
import {
  conjunction,
  dependentRequiredOf,
  dependentSchemasOf,
  expand,
  has,
  isObj,
  type Node,
  node,
  num,
  type Obj,
  patternMatches,
  sameValue,
  type Tuple,
  tupleOf
} from "./schema.js"
import type { Ctx } from "./subsumption.js"

/** Holds when every value of the writer conjunction is accepted by `r`. */
export const isHolds = (ws: ReadonlyArray<Node>, r: Node, ctx: Ctx): boolean => !hasBreaking(ctx.sub(ws, r, "", ctx))

const readerRest = (rs: Obj, rest: unknown): unknown => {
  // unevaluatedItems is applied as if it were the rest schema: stricter than the truth, so still sound.
  const u = rs.unevaluatedItems
  if (u === undefined || u === true || rs.items !== undefined) return rest
  return u === false ? false : { allOf: [rest, u] }
}

export const arrays = (wc: ReadonlyArray<Node>, r: Node, path: string, out: Array<Raw>, ctx: Ctx): void => {
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
    const res = ctx.sub(wi, ri, itemPath, ctx)
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
      out.push(...ctx.sub(wRest, node(rRest, r.root), restPath, ctx))
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

export const objects = (wc: ReadonlyArray<Node>, r: Node, path: string, out: Array<Raw>, ctx: Ctx): void => {
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
      accepts(fallback, conjunction(schemasForName(rs, name, true), r.root), true)
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
    const res = ctx.sub(wk, conjunction(schemasForName(rs, name, true), r.root), childP, ctx)
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
    out.push(...ctx.sub(region, conjunction(readerSchemas, r.root), `${path}[/${p}/]`, ctx))
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
      const res = ctx.sub(wOther, conjunction(readerSchemas, r.root), otherPath, ctx)
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
  if (closed !== undefined && propertyNamesOf(closed.s as Obj).every((k) => accepts(k, target, true))) return
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
