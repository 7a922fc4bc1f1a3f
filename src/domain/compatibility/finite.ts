/**
 * The finite value sets of schemas: when the writer admits finitely many values (`enum`, `const`, `boolean`,
 * `null`), inclusion is decided exactly by checking each value against the reader.
 */
import { canonicalJson } from "../valueDiff.js"
import { acceptsAll } from "./instance.js"
import { BOOL, type Expanded, has, isObj, kindsOf, type Node, NULL, resolveRef, typeMask } from "./schema.js"

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
export const finiteValues = (conj: ReadonlyArray<Node>): ReadonlyArray<unknown> | undefined => {
  for (const n of conj) {
    const candidates = finiteOf(n, 0)
    if (candidates === undefined) continue
    const unique = new Map(candidates.map((v) => [canonicalJson(v), v] as const))
    return [...unique.values()].filter((v) => acceptsAll(v, conj, false))
  }
  return undefined
}

export const unsatisfiable = (w: Expanded): boolean =>
  w.empty || kindsOf(w.conj) === 0 || finiteValues(w.conj)?.length === 0
