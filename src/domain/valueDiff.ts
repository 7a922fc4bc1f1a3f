/**
 * Value-level diff of contract values: arrays are sets (order-insensitive), objects are compared key by key and
 * scalars by equality. A schema registry only sees schemas; Blue also sees the value, so removing an S3 path an
 * importer relies on is detected even when the schema did not change.
 */

/** One difference between two contract values; `path` is a dotted data path (`read`, `limits.max`, "" for root). */
export interface ValueChange {
  readonly path: string
  readonly kind: "added" | "removed" | "changed"
  readonly value?: unknown
  readonly previous?: unknown
}

const isPlainObject = (u: unknown): u is { readonly [k: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** JSON with object keys sorted, so equal values always render to the same string (element identity in sets). */
export const canonicalJson = (value: unknown): string => {
  if (value === undefined) return "null"
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null"
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/

/** Appends an object key to a data path, quoting keys that are not plain identifiers (`a["x.y"]`). */
export const childPath = (path: string, key: string): string =>
  IDENTIFIER.test(key) ? (path === "" ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`

const diffAt = (path: string, before: unknown, after: unknown, out: Array<ValueChange>): void => {
  if (Array.isArray(before) && Array.isArray(after)) {
    // Sets, not sequences: reordering a list of S3 paths changes nothing an importer can rely on.
    const beforeKeys = new Map(before.map((v) => [canonicalJson(v), v] as const))
    const afterKeys = new Map(after.map((v) => [canonicalJson(v), v] as const))
    for (const [key, v] of beforeKeys) if (!afterKeys.has(key)) out.push({ path, kind: "removed", value: v })
    for (const [key, v] of afterKeys) if (!beforeKeys.has(key)) out.push({ path, kind: "added", value: v })
    return
  }
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const key of Object.keys(before)) {
      if (before[key] === undefined) continue
      const child = childPath(path, key)
      // A list that appears or disappears is reported element by element, like any other set change.
      if (after[key] === undefined) {
        if (Array.isArray(before[key])) diffAt(child, before[key], [], out)
        else out.push({ path: child, kind: "removed", value: before[key] })
      } else diffAt(child, before[key], after[key], out)
    }
    for (const key of Object.keys(after)) {
      if (after[key] !== undefined && before[key] === undefined) {
        if (Array.isArray(after[key])) diffAt(childPath(path, key), [], after[key], out)
        else out.push({ path: childPath(path, key), kind: "added", value: after[key] })
      }
    }
    return
  }
  if (canonicalJson(before) !== canonicalJson(after)) {
    out.push({ path, kind: "changed", value: after, previous: before })
  }
}

/** Differences from `oldValue` to `newValue`; empty when they are equal up to array order and key order. */
export const diffValues = (oldValue: unknown, newValue: unknown): ReadonlyArray<ValueChange> => {
  const out: Array<ValueChange> = []
  diffAt("", oldValue, newValue, out)
  return out
}

/** True when the change takes something away that an importer may rely on (a removal or a changed scalar). */
export const isBreakingValueChange = (change: ValueChange): boolean => change.kind !== "added"

const display = (value: unknown): string => typeof value === "string" ? value : canonicalJson(value)

/** Renders a change the way the CLI shows it: `+ training-metrics/*`, `- jobs/*`, `~ bucket: old → new`. */
export const formatValueChange = (change: ValueChange, options?: { readonly withPath?: boolean }): string => {
  const where = options?.withPath === true && change.path !== "" ? `${change.path}: ` : ""
  switch (change.kind) {
    case "added":
      return `+ ${where}${display(change.value)}`
    case "removed":
      return `- ${where}${display(change.value)}`
    case "changed":
      return `~ ${change.path === "" ? "(root)" : change.path}: ${display(change.previous)} → ${display(change.value)}`
  }
}
