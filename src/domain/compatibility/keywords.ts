/** Scalar keyword families (string, number, limits) and the opaque comparison of keywords not reasoned about. */
import { type Raw, raw, show } from "./findings.js"
import { has, isAnnotation, isMultiple, isObj, type Node, num, type Obj, sameValue, UNDERSTOOD } from "./schema.js"

export const values = (wc: ReadonlyArray<Node>, key: string): Array<unknown> =>
  wc.flatMap((n) => (isObj(n.s) && has(n.s, key) ? [n.s[key]] : []))

export const maxOf = (wc: ReadonlyArray<Node>, key: string): number | undefined => {
  const ns = values(wc, key).map(num).filter((x): x is number => x !== undefined)
  return ns.length === 0 ? undefined : Math.max(...ns)
}

export const minOf = (wc: ReadonlyArray<Node>, key: string): number | undefined => {
  const ns = values(wc, key).map(num).filter((x): x is number => x !== undefined)
  return ns.length === 0 ? undefined : Math.min(...ns)
}

/** A lower limit (minLength, minItems …): the reader raising it breaks; `floor` is the value that means "none". */
export const lowerLimit = (
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
export const upperLimit = (
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

export const strings = (wc: ReadonlyArray<Node>, rs: Obj, path: string, out: Array<Raw>): void => {
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

export const numbers = (
  wc: ReadonlyArray<Node>,
  rs: Obj,
  integerOnly: boolean,
  path: string,
  out: Array<Raw>
): void => {
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

/** Keywords we do not reason about (if/then/else, $dynamicRef, contentEncoding, unknown ones) must be unchanged. */
export const opaque = (wc: ReadonlyArray<Node>, rs: Obj, path: string, out: Array<Raw>): void => {
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
