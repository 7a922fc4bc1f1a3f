/**
 * A direct YAML writer for the realm files' plain shapes (maps, sequences, single-line strings, numbers, booleans,
 * null), giving byte for byte what `yaml`'s Document.toString({ lineWidth: 0 }) gives for them (with the
 * `quoted` keys' values double-quoted), at a fraction of its cost: a check renders every realm file, and the
 * generic stringifier made that take a second on a 1,000-repo realm. Anything outside those shapes (a multi-line
 * or escaped string, a float YAML would write differently, a sequence in a sequence) returns undefined and the
 * caller uses `yaml` itself.
 */
import * as YAML from "yaml"

/** The core schema's non-string tags: a plain scalar they match would be read back as something else. */
const coreTags = (new YAML.Document().schema.tags as ReadonlyArray<{
  readonly default?: boolean | "key"
  readonly tag: string
  readonly test?: RegExp
}>).filter((t) => t.default !== undefined && t.default !== false && t.tag !== "tag:yaml.org,2002:str" && t.test)

/** What `yaml` refuses to write plain (its plainString's test, for single-line values). */
const NOT_PLAIN = /^[\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|:[ \t]|[\t ]#|[\t :]$/
/** Characters this writer leaves to `yaml`: controls, quotes that change the quoting style, escapes, surrogates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f"\\\u{D800}-\u{DFFF}]/u
/** A document marker at the start of a line makes `yaml` pick a block scalar or an extra indent. */
const MARKER = /^(?:---|\.\.\.)/

const GIVE_UP = Symbol("give up")

/** One string scalar as `yaml` writes it in block context, or GIVE_UP. */
const scalarString = (s: string, quote: boolean): string | typeof GIVE_UP => {
  if (UNSAFE.test(s) || MARKER.test(s)) return GIVE_UP
  if (quote) return `"${s}"`
  if (NOT_PLAIN.test(s)) return `"${s}"`
  for (const t of coreTags) if (t.test!.test(s)) return `"${s}"`
  return s
}

const scalar = (v: unknown, quote: boolean): string | typeof GIVE_UP => {
  if (typeof v === "string") return scalarString(v, quote)
  if (quote) return GIVE_UP
  if (v === null) return "null"
  if (typeof v === "boolean") return v ? "true" : "false"
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0) ? JSON.stringify(v) : GIVE_UP
  return GIVE_UP
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** YAML text of `value` (a map), or undefined when its shape is one this writer leaves to `yaml`. */
export const plainYaml = (value: unknown, quoted: ReadonlySet<string>): string | undefined => {
  if (!isPlainObject(value)) return undefined
  const out: Array<string> = []
  // Writes map `m`'s pairs; the first line goes after `first` (a "- " already written), the rest at `indent`.
  const map = (m: Record<string, unknown>, indent: string, first: string | undefined): boolean => {
    let lead = first
    for (const key of Object.keys(m)) {
      const v = m[key]
      if (v === undefined) return false
      const k = scalarString(key, false)
      if (k === GIVE_UP || k !== key) return false
      const prefix = lead ?? indent
      lead = undefined
      if (Array.isArray(v)) {
        if (v.length === 0) out.push(`${prefix}${k}: []`)
        else {
          out.push(`${prefix}${k}:`)
          if (!seq(v, `${indent}  `)) return false
        }
      } else if (v !== null && typeof v === "object") {
        if (!isPlainObject(v)) return false
        if (Object.keys(v).length === 0) out.push(`${prefix}${k}: {}`)
        else {
          out.push(`${prefix}${k}:`)
          if (!map(v, `${indent}  `, undefined)) return false
        }
      } else {
        const s = scalar(v, quoted.has(key))
        if (s === GIVE_UP) return false
        out.push(`${prefix}${k}: ${s}`)
      }
    }
    return true
  }
  const seq = (items: ReadonlyArray<unknown>, indent: string): boolean => {
    for (const item of items) {
      if (Array.isArray(item)) {
        if (item.length > 0) return false
        out.push(`${indent}- []`)
      } else if (item !== null && typeof item === "object") {
        if (!isPlainObject(item)) return false
        if (Object.keys(item).length === 0) out.push(`${indent}- {}`)
        else if (!map(item, `${indent}  `, `${indent}- `)) return false
      } else {
        const s = scalar(item, false)
        if (s === GIVE_UP) return false
        out.push(`${indent}- ${s}`)
      }
    }
    return true
  }
  if (Object.keys(value).length === 0) return undefined
  return map(value, "", undefined) ? `${out.join("\n")}\n` : undefined
}
