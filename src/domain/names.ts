/**
 * Names of realms, repos, domains and contracts: kebab-case identifiers that are always safe as a single path
 * segment (no `/`, no `..`, no whitespace, no leading dot).
 */
import { Schema } from "effect"
import { nameProblem } from "./nameRules.js"

export { type NameKind, nameProblem, suggestName } from "./nameRules.js"

/** A kebab-case identifier. */
export const Name = Schema.String.pipe(
  Schema.filter((s) => {
    const problem = nameProblem(s)
    return problem === undefined ? true : `${JSON.stringify(s)} ${problem} (use kebab-case, e.g. s3-access)`
  })
)

/** A kebab-case identifier (validated where it enters: files, commands). */
export type Name = typeof Name.Type
