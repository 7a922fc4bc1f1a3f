/**
 * Inclusion of schemas: `sub(writer conjunction, reader)` lists the changes met on the way; any breaking one means
 * some writer-valid value may be reader-invalid. Combinators (`anyOf`, `oneOf`, `not`) and finite writers are
 * decided here; keyword families are in keywords.ts (scalars) and structures.ts (arrays and objects).
 */
import { canonicalJson } from "../valueDiff.js"
import { dedupe, hasBreaking, type Raw, raw, show } from "./findings.js"
import { finiteValues, unsatisfiable } from "./finite.js"
import { accepts, acceptsAll } from "./instance.js"
import { numbers, opaque, strings } from "./keywords.js"
import {
  ARRAY,
  BOOL,
  expand,
  FRAC,
  has,
  hasAssertions,
  isObj,
  kindsOf,
  kindsOfSchema,
  type Node,
  node,
  NULL,
  NUMBER,
  type Obj,
  OBJECT,
  STRING,
  typeName,
  without
} from "./schema.js"
import { arrays, isHolds, objects } from "./structures.js"

// ---------------------------------------------------------------------------------------------------------------
// Subsumption: sub(writer conjunction, reader) lists the changes met on the way; any breaking one means some
// writer-valid value may be reader-invalid.

export interface Ctx {
  readonly ids: WeakMap<object, number>
  nextId: number
  readonly active: Set<string>
  steps: number
  /** `sub` itself, so that structures.ts can recurse without importing this module. */
  readonly sub: typeof sub
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

/** A fresh context for one comparison. */
export const newCtx = (): Ctx => ({ ids: new WeakMap(), nextId: 0, active: new Set(), steps: 0, sub })

export const sub = (ws: ReadonlyArray<Node>, r: Node, path: string, ctx: Ctx): Array<Raw> => {
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

const subSimpleReader = (wc: ReadonlyArray<Node>, r: Node, path: string, ctx: Ctx): Array<Raw> => {
  const rs = r.s as Obj
  const values = finiteValues(wc)
  if (values !== undefined) return finiteCheck(wc, values, r, path)
  if (Array.isArray(rs.anyOf) || Array.isArray(rs.oneOf) || rs.not !== undefined) {
    return combinatorReader(wc, r, path, ctx)
  }
  return simple(wc, r, path, ctx)
}

const finiteCheck = (
  wc: ReadonlyArray<Node>,
  values: ReadonlyArray<unknown>,
  r: Node,
  path: string
): Array<Raw> => {
  const out: Array<Raw> = []
  const readerValues = finiteValues([r])
  for (const v of values) {
    if (accepts(v, r, true)) continue
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
  if (av !== undefined && av.every((v) => !acceptsAll(v, b.conj, false))) return true
  const bv = finiteValues(b.conj)
  if (bv !== undefined && bv.every((v) => !acceptsAll(v, a.conj, false))) return true
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

export const simple = (wc: ReadonlyArray<Node>, r: Node, path: string, ctx: Ctx): Array<Raw> => {
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
