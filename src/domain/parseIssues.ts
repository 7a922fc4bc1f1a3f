/**
 * Schema parse errors as plain words: the field path as it reads in the document (`event.binding.imports[0].version`)
 * and what was wrong ("must be a string, not 42"), never the schema's own notation.
 */
import { ParseResult } from "effect"
import { escapeControls } from "./text.js"

/** A field path as written in the document: `a.b[0].c`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>) =>
  path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("")

/**
 * What a schema expected, in words ("an object", "a string", "\"open\" or \"approval\"") rather than the
 * schema's own notation.
 */
export const plainExpected = (expected: ReadonlyArray<string>): string => {
  const words = expected.flatMap((x) =>
    x.startsWith("{") ? ["an object"] : x.split(" | ").map((p) =>
      p === "undefined"
        ? ""
        : p.startsWith("ReadonlyArray<") || p.startsWith("readonly [")
        ? "a list"
        : p === "string" || p.startsWith("{ string") || p === "NonEmptyString"
        ? "a string"
        : p === "number" || p === "Int"
        ? "a number"
        : p === "boolean"
        ? "true or false"
        : p
    )
  ).filter((w) => w !== "")
  return [...new Set(words)].join(" or ") || "something else"
}

/**
 * The issue of a parse error that says most about what is wrong, as `{ path, detail }`: a failed check on a value
 * (a refinement, a missing key) before a union member's "expected undefined"; the alternatives of a union at the
 * same path said together ("must be a string or a number, not 42").
 */
export const plainIssue = (error: ParseResult.ParseError): { readonly path: string; readonly detail: string } => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const rank = (i: ParseResult.ArrayFormatterIssue) =>
    i._tag === "Refinement" ? 0 : /^Expected undefined,/.test(i.message) ? 3 : i._tag === "Missing" ? 2 : 1
  const first = [...issues].sort((a, b) => rank(a) - rank(b) || b.path.length - a.path.length)[0]
  if (first === undefined) return { path: "", detail: "does not match its schema" }
  const path = formatPath(first.path)
  const alternatives = issues
    .filter((i) => formatPath(i.path) === path)
    .map((i) => /^Expected (.+), actual (.+)$/s.exec(i.message))
  const detail = alternatives.length > 0 && alternatives.every((m) => m !== null)
    ? `must be ${plainExpected(alternatives.map((m) => m![1]))}, not ${alternatives[0]![2]}`
    : first.message
  return { path, detail: escapeControls(detail, { oneLine: true }) }
}
