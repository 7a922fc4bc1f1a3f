/**
 * The pure compatibility engine: JSON Schema inclusion ("is every value valid under the writer's schema accepted
 * by the reader's?"), field-level change lists, and the semver bump a contract change requires.
 *
 * The core is a sound but incomplete subsumption check: it answers "compatible" only when it can show that every
 * writer-valid value is reader-valid, and answers "incompatible" when it cannot (regex inclusion, unknown keywords,
 * unresolvable `$ref`s …). See docs/compatibility.md for the rules, the modules and the conformance status.
 */
export { requiredBump } from "./bump.js"
export { checkReadable, compareSchemas } from "./compare.js"
export { invertChangeKind } from "./findings.js"
export type {
  Bump,
  CompatibilityPromise,
  JsonSchema,
  Readability,
  SchemaChange,
  SchemaComparison,
  SchemaComparisonChange
} from "./types.js"
export { bumpBetween, bumpProblem, isBumpSufficient, nextVersion, valueBump } from "./versions.js"
