/**
 * The rules for names, as plain functions with no dependencies (the start-up fast path uses them too).
 */

const kebab = /^[a-z0-9]+(?:-[a-z0-9]+)*$/

/** What kind of thing a name names, used in messages. */
export type NameKind = "realm" | "repo" | "domain" | "contract"

/** Why `value` is not a valid name, or `undefined` when it is one. */
export const nameProblem = (value: string): string | undefined => {
  if (value.length === 0) return "is empty"
  if (value.length > 64) return "is longer than 64 characters"
  if (value.includes("/") || value.includes("\\")) return "contains a path separator"
  if (value.includes("..")) return "contains '..'"
  if (/\s/.test(value)) return "contains whitespace"
  if (value.startsWith(".")) return "starts with a dot"
  if (!kebab.test(value)) return "is not kebab-case"
  return undefined
}

/** Turns a directory name into a repo name suggestion (lowercase, hyphens), or undefined if nothing is left. */
export const suggestName = (raw: string): string | undefined => {
  const s = raw.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64)
  return s.length > 0 && nameProblem(s) === undefined ? s : undefined
}

/**
 * Why `glob` may not name an export's source files, or `undefined` when it may: source globs are relative to the
 * repo and stay inside it (they are recorded in the realm, where other orgs can write them).
 */
export const sourceGlobProblem = (glob: string): string | undefined => {
  if (glob.trim() === "") return "is empty"
  if (glob.includes("\0")) return "contains a NUL byte"
  if (glob.startsWith("/") || glob.startsWith("\\") || /^[A-Za-z]:/.test(glob)) return "is absolute"
  if (glob.startsWith("~")) return "starts with '~'"
  if (glob.split(/[\\/]/).includes("..")) return "leaves the repo with '..'"
  return undefined
}

/**
 * Why `value` may not be an acting identity (it lands in commit headers and trailers), or `undefined` when it may:
 * one line, no control characters, no `<` or `>`.
 */
export const identityProblem = (value: string): string | undefined => {
  if (value.trim().length === 0) return "is empty"
  for (const ch of value) {
    const code = ch.codePointAt(0)!
    if (ch === "\n") return "contains a newline"
    if (ch === "\r") return "contains a carriage return"
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
      return `contains the control character U+${code.toString(16).toUpperCase().padStart(4, "0")}`
    }
    if (ch === "<" || ch === ">") return `contains '${ch}'`
  }
  return undefined
}

/**
 * Why `path` may not name a validation hook script, or `undefined` when it may: hooks are relative to the repo and
 * stay inside it (they are recorded in the realm and run in every importer's checkout).
 */
export const hookPathProblem = (path: string): string | undefined => {
  if (path.trim() === "") return "is empty"
  if (path.includes("\0")) return "contains a NUL byte"
  if (path.startsWith("/") || path.startsWith("\\") || /^[A-Za-z]:/.test(path)) return "is absolute"
  if (path.startsWith("~")) return "starts with '~'"
  if (path.split(/[\\/]/).includes("..")) return "leaves the repo with '..'"
  return undefined
}
