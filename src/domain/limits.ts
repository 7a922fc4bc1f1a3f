/**
 * Size limits on what Blue reads and records (documented in the README): a file read for a command, and a
 * contract's value and schema as recorded in the realm (their canonical JSON).
 */

const MiB = 1024 * 1024

/** The largest file a command reads (a --file/--schema/--validation document, .blue/config.yaml). */
export const MAX_FILE_BYTES = 4 * MiB

/** The largest contract value, as canonical JSON. */
export const MAX_VALUE_BYTES = 1 * MiB

/** The largest contract schema, as canonical JSON. */
export const MAX_SCHEMA_BYTES = 1 * MiB

/** How deep objects and lists may nest in a contract's value or schema. */
export const MAX_DEPTH = 64

/** True when `value` nests objects/lists deeper than MAX_DEPTH (checked without recursion). */
export const nestedTooDeep = (value: unknown): boolean => {
  const stack: Array<readonly [unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (v === null || typeof v !== "object") continue
    if (depth > MAX_DEPTH) return true
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}

/** "4 MiB" for a limit in bytes. */
export const formatLimit = (bytes: number): string =>
  bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${Math.round(bytes / 1024)} KiB`

/** "2.3 MiB" for a size in bytes. */
export const formatSize = (bytes: number): string =>
  bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`

/**
 * Where in a JSON-like value a number is not finite (JSON.parse reads 1e999 as Infinity, which JSON cannot
 * write back), as a path such as `a.b[2]` (`(root)` for the value itself); undefined when every number is finite.
 */
export const nonFiniteAt = (value: unknown, path = ""): string | undefined => {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : path === "" ? "(root)" : path
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nonFiniteAt(value[i], `${path}[${i}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const found = nonFiniteAt(v, path === "" ? k : `${path}.${k}`)
      if (found !== undefined) return found
    }
  }
  return undefined
}
