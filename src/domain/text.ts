/**
 * Plain-text helpers every human renderer shares: counting nouns and making realm content safe for a terminal.
 * Pure functions with no dependencies (the start-up fast path uses them too).
 */

/** `1 repo`, `2 repos`, `0 repos`: a count with its noun in the right number (`many` for irregular plurals). */
export const plural = (n: number, one: string, many: string = `${one}s`): string => `${n} ${n === 1 ? one : many}`

// C0 controls but \t and \n, DEL, C1 controls, and the bidirectional overrides/isolates that reorder what a reader
// sees ("Trojan Source").
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

const hex = (c: string) => {
  const code = c.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
}

// The same, and newlines and tabs too: for what must stay on one line.
const unsafeInLine = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/**
 * Text as a terminal may show it: control characters (ESC, BEL, CSI, CR, …) written as `\x1b`-style escapes, so
 * a peer's contract value, name or description cannot move the cursor, retitle the window or hide text. Newlines
 * and tabs stay, as the human output itself is laid out with them — unless `oneLine` is set, for a part of a
 * one-line message (a parse error's detail, a file name in an error), where they are written `\x0a` and `\x09`.
 */
export const escapeControls = (text: string, options?: { readonly oneLine?: boolean }): string =>
  text.replace(options?.oneLine === true ? unsafeInLine : unsafe, hex)

// JSON.stringify escapes only U+0000–U+001F; DEL, the C1 controls (U+009B is a one-byte CSI) and the bidi marks
// are written as \u escapes too, so a --json document piped to a terminal is as safe as the human output.
const unsafeInJson = /[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** `JSON.stringify(value, null, indent)` with every control character escaped (the same document once parsed). */
export const jsonText = (value: unknown, indent?: number): string =>
  (JSON.stringify(value, null, indent) ?? "null").replace(
    unsafeInJson,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
  )
