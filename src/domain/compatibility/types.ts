/** The public vocabulary of the compatibility engine: schemas, changes, comparisons, promises and bumps. */

/** A JSON Schema document or subschema (draft-04 … 2020-12) as parsed JSON; `true`/`false` are boolean schemas. */
export type JsonSchema = boolean | { readonly [k: string]: unknown }

/** One field-level difference; `path` is a data path (`read[]`, `limits.max`, `[0]`, `meta.*`), "" for the root. */
export interface SchemaChange {
  readonly path: string
  readonly kind: string
  readonly breaking: boolean
  readonly detail: string
}

/** A change in an old → new comparison, with the direction(s) it breaks; `breaking` is their disjunction. */
export interface SchemaComparisonChange extends SchemaChange {
  readonly breaksBackwards: boolean
  readonly breaksForwards: boolean
}

/** Result of `checkReadable`: whether the reader accepts everything the writer may produce, and why not. */
export interface Readability {
  readonly compatible: boolean
  readonly changes: ReadonlyArray<SchemaChange>
}

/** Result of `compareSchemas`: both directions plus the merged old → new change list. */
export interface SchemaComparison {
  readonly backwards: boolean
  readonly forwards: boolean
  readonly changes: ReadonlyArray<SchemaComparisonChange>
}

/** The directions a contract promises to keep (`compatibility.backwards/forwards` in the contract file). */
export interface CompatibilityPromise {
  readonly backwards: boolean
  readonly forwards: boolean
}

/** The smallest semver increment a change requires. */
export type Bump = "none" | "patch" | "minor" | "major"
