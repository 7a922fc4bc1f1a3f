/**
 * Findings met while comparing schemas, and their wording: the raw record each check emits, how duplicates merge,
 * the one-line `detail` a person reads, and how a kind reads from the other side (`-added` ↔ `-removed`).
 */
import { canonicalJson } from "../valueDiff.js"

export interface Raw {
  readonly path: string
  readonly kind: string
  readonly key: string
  readonly breaking: boolean
  readonly subject: string
  readonly before?: string | undefined
  readonly after?: string | undefined
}

export const show = (u: unknown): string => canonicalJson(u)

export const raw = (
  path: string,
  kind: string,
  breaking: boolean,
  subject: string,
  before?: string,
  after?: string,
  key = ""
): Raw => ({ path, kind, key, breaking, subject, before, after })

export const hasBreaking = (raws: ReadonlyArray<Raw>): boolean => raws.some((r) => r.breaking)

export const dedupe = (raws: ReadonlyArray<Raw>): Array<Raw> => {
  const byKey = new Map<string, Raw>()
  for (const r of raws) {
    const k = `${r.path}\u0000${r.kind}\u0000${r.key}`
    const prev = byKey.get(k)
    byKey.set(k, prev === undefined ? r : { ...prev, breaking: prev.breaking || r.breaking })
  }
  return [...byKey.values()]
}

export const render = (r: Raw): string => {
  if (r.before !== undefined && r.after !== undefined) return `${r.subject}: ${r.before} → ${r.after}`
  if (r.after !== undefined) return `${r.subject}: ${r.after}`
  if (r.before !== undefined) return `${r.subject}: ${r.before}`
  return r.subject
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
