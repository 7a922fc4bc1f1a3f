/** The public comparisons: `checkReadable(writer, reader)` and `compareSchemas(old, new)` in both directions. */
import { dedupe, hasBreaking, invertChangeKind, type Raw, render } from "./findings.js"
import { node } from "./schema.js"
import { newCtx, sub } from "./subsumption.js"
import type { JsonSchema, Readability, SchemaComparison } from "./types.js"

export const readable = (writer: unknown, reader: unknown): Array<Raw> =>
  dedupe(sub([node(writer, writer)], node(reader, reader), "", newCtx()))

/** Is every value valid under `writer` accepted by `reader`? Changes describe writer → reader. */
export const checkReadable = (writer: JsonSchema, reader: JsonSchema): Readability => {
  const raws = readable(writer, reader)
  return {
    compatible: !hasBreaking(raws),
    changes: raws.map((r) => ({ path: r.path, kind: r.kind, breaking: r.breaking, detail: render(r) }))
  }
}

/**
 * Compares two versions of a schema. `backwards`: values valid under the new schema are accepted by the old one
 * (old importers read new data). `forwards`: values valid under the old schema are accepted by the new one.
 */
export const compareSchemas = (oldSchema: JsonSchema, newSchema: JsonSchema): SchemaComparison => {
  const forwardRaws = readable(oldSchema, newSchema)
  // Readability of new data by the old schema is computed new → old; flip each change to read old → new.
  const backwardRaws = readable(newSchema, oldSchema).map((r) => ({
    ...r,
    kind: invertChangeKind(r.kind),
    before: r.after,
    after: r.before
  }))
  const merged = new Map<string, { raw: Raw; forwards: boolean; backwards: boolean }>()
  for (const [list, direction] of [[forwardRaws, "forwards"], [backwardRaws, "backwards"]] as const) {
    for (const r of list) {
      const k = `${r.path}\u0000${r.kind}\u0000${r.key}`
      const entry = merged.get(k) ?? { raw: r, forwards: false, backwards: false }
      if (direction === "forwards") entry.forwards ||= r.breaking
      else entry.backwards ||= r.breaking
      merged.set(k, entry)
    }
  }
  return {
    backwards: !hasBreaking(backwardRaws),
    forwards: !hasBreaking(forwardRaws),
    changes: [...merged.values()].map(({ backwards, forwards, raw: r }) => ({
      path: r.path,
      kind: r.kind,
      breaking: backwards || forwards,
      breaksBackwards: backwards,
      breaksForwards: forwards,
      detail: render(r)
    }))
  }
}
