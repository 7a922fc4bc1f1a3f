/**
 * Contracts over time: finding one, planning a new version from a changed schema and value (semver bump from the
 * compatibility engine and the value diff), and where each import stands against the current version.
 */
import { Either, Schema } from "effect"
import * as semver from "semver"
import { type Bump, compareSchemas, type JsonSchema, nextVersion, requiredBump } from "./compatibility.js"
import { BumpTooSmall, ContractNotFound, ContractTooLarge, ContractValueInvalid, InvalidVersion } from "./errors.js"
import { type ContractFile, Validation } from "./files.js"
import {
  formatLimit,
  formatSize,
  MAX_DEPTH,
  MAX_SCHEMA_BYTES,
  MAX_VALUE_BYTES,
  nestedTooDeep,
  nonFiniteAt
} from "./limits.js"
import { hookPathProblem } from "./nameRules.js"
import { type ImportStanding, isPlaceholder, standingOf } from "./placeholder.js"

export { breakingSince, type ImportStanding, importStanding, standingOf } from "./placeholder.js"
import type { RealmState } from "./state.js"
import { validateContract } from "./validate.js"
import { canonicalJson, diffValues, formatValueChange, type ValueChange } from "./valueDiff.js"

const kindOf = (v: unknown) =>
  v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : `a ${typeof v}`

/**
 * Why `raw` is not a contract's validation hooks {exporter, importer, ci_only}, or undefined: each names a script
 * inside the repo (checked here, at publish, not only when a hook runs).
 */
export const validationProblem = (raw: unknown): string | undefined => {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return `validation must be an object {exporter, importer, ci_only}, not ${kindOf(raw)}`
  }
  const scriptProblem = (field: string, path: string) => {
    const reason = hookPathProblem(path)
    return reason === undefined
      ? undefined
      : `${field} ${JSON.stringify(path)} ${reason}; name a script inside the repo, relative to its root`
  }
  for (const [key, v] of Object.entries(raw)) {
    if (key === "exporter" || key === "importer") {
      if (typeof v !== "string") return `validation.${key} must be a script path, not ${kindOf(v)}`
      const problem = scriptProblem(`validation.${key}`, v)
      if (problem !== undefined) return problem
    } else if (key === "ci_only") {
      if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
        return "validation.ci_only must be a list of script paths"
      }
      for (const x of v as ReadonlyArray<string>) {
        const problem = scriptProblem("validation.ci_only", x)
        if (problem !== undefined) return problem
      }
    } else {
      return `validation.${key} is not a validation field (use exporter, importer or ci_only)`
    }
  }
  return undefined
}

const DATA_KEYS = new Set(["enum", "const", "default", "examples"])
const EMPTY_MEANS_ABSENT = new Set([
  "required",
  "properties",
  "patternProperties",
  "definitions",
  "$defs",
  "dependencies"
])

/**
 * A JSON Schema in one spelling, for telling an equivalent schema from a changed one: a one-type list becomes
 * the type, `required` and `type` lists are sorted and deduplicated, `enum` is sorted, empty `required`,
 * `properties`, `patternProperties`, `definitions`, `$defs` and `dependencies` are dropped. Key order is
 * canonicalJson's business.
 */
export const normalizeSchema = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(normalizeSchema)
  if (schema === null || typeof schema !== "object") return schema
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(schema)) {
    if (EMPTY_MEANS_ABSENT.has(key) && v !== null && typeof v === "object" && Object.keys(v).length === 0) continue
    if (key === "type" && Array.isArray(v)) {
      const types = [...new Set(v.map(String))].sort()
      out[key] = types.length === 1 ? types[0] : types
    } else if (key === "required" && Array.isArray(v)) {
      out[key] = [...new Set(v.map(String))].sort()
    } else if (key === "enum" && Array.isArray(v)) {
      out[key] = [...v].sort((a, b) => canonicalJson(a).localeCompare(canonicalJson(b)))
    } else {
      out[key] = DATA_KEYS.has(key) ? v : normalizeSchema(v)
    }
  }
  return out
}

/** A contract located in the realm. */
export interface Located {
  readonly domain: string
  readonly contract: ContractFile
}

/** Finds contract `name` (in `domain` when given); refuses an unknown or ambiguous name. */
export const findContract = (
  state: RealmState,
  name: string,
  domain?: string
): Either.Either<Located, ContractNotFound> => {
  const hits = Object.entries(state.domains)
    .filter(([d]) => domain === undefined || d === domain)
    .flatMap(([d, s]) => (s.contracts[name] === undefined ? [] : [{ domain: d, contract: s.contracts[name]! }]))
  if (hits.length === 1) return Either.right(hits[0]!)
  return Either.left(
    new ContractNotFound({
      contract: name,
      domain: domain ?? "",
      candidates: hits.map((h) => h.domain)
    })
  )
}

/** One importer of a contract and how a change affects it. */
export interface ImporterImpact {
  readonly repo: string
  readonly domain: string
  readonly range: string
  readonly resolved_version: string | undefined
  readonly before: ImportStanding
  readonly after: ImportStanding
  /** elements of the value it relied on that are gone (value-level breakage) */
  readonly removed: ReadonlyArray<string>
}

/** The importers of `contract` in `domain` with their ranges. */
export const importersOfContract = (state: RealmState, domain: string, contract: string) =>
  Object.values(state.domains[domain]?.bindings ?? {}).flatMap((b) =>
    (b.imports ?? []).filter((i) => i.contract === contract).map((i) => ({ repo: b.repo, import: i }))
  )

/** How moving `contract` from `before` to `after` affects each importer. */
export const impactOn = (
  state: RealmState,
  domain: string,
  before: ContractFile,
  after: ContractFile,
  valueChanges: ReadonlyArray<ValueChange> = diffValues(before.value, after.value)
): ReadonlyArray<ImporterImpact> => {
  const removed = valueChanges.filter((c) => c.kind !== "added").map((c) => formatValueChange(c))
  return importersOfContract(state, domain, before.name).map(({ import: i, repo }) => {
    const standingAfter = standingOf(i, after)
    return {
      repo,
      domain,
      range: i.version,
      resolved_version: i.resolved_version,
      before: standingOf(i, before),
      // A value element an importer relied on disappearing breaks it even when its range still matches.
      after: removed.length > 0 && standingAfter !== "broken" && after.version !== before.version
        ? "broken"
        : standingAfter,
      removed
    }
  })
}

/** What publishing a new schema/value would do to a contract. */
export type PublishPlan =
  | { readonly _tag: "Unchanged"; readonly contract: ContractFile }
  | {
    readonly _tag: "Initial" | "Bumped"
    readonly contract: ContractFile
    readonly previous: ContractFile
    readonly bump: Bump
    readonly changes: ReadonlyArray<string>
    readonly compatible: boolean
    readonly valueChanges: ReadonlyArray<ValueChange>
  }

/**
 * Plans a new version of `current` with `schema`/`value` (unchanged when omitted). The first real value replaces
 * the placeholder at 1.0.0; later changes get the bump the compatibility engine requires, or `version` when it is
 * given and sufficient.
 */
export const planPublish = (
  current: ContractFile,
  input: {
    readonly schema?: unknown
    readonly value?: unknown
    readonly validation?: unknown
    readonly version?: string
  }
): Either.Either<PublishPlan, BumpTooSmall | ContractValueInvalid | ContractTooLarge | InvalidVersion> =>
  Either.gen(function*() {
    if (input.version !== undefined && semver.valid(input.version) !== input.version) {
      return yield* Either.left(new InvalidVersion({ contract: current.name, value: input.version }))
    }
    for (
      const [part, given, limit] of [["value", input.value, MAX_VALUE_BYTES], [
        "schema",
        input.schema,
        MAX_SCHEMA_BYTES
      ]] as const
    ) {
      if (given === undefined) continue
      if (nestedTooDeep(given)) {
        return yield* Either.left(
          new ContractValueInvalid({
            contract: current.name,
            problems: [`the ${part} is nested deeper than ${MAX_DEPTH} levels of objects and lists`]
          })
        )
      }
      const infinite = nonFiniteAt(given)
      if (infinite !== undefined) {
        return yield* Either.left(
          new ContractValueInvalid({
            contract: current.name,
            problems: [`${part} ${infinite} is a number too large for JSON (such as 1e999, read as Infinity)`]
          })
        )
      }
      const size = new TextEncoder().encode(canonicalJson(given)).length
      if (size > limit) {
        return yield* Either.left(
          new ContractTooLarge({ contract: current.name, part, size: formatSize(size), limit: formatLimit(limit) })
        )
      }
    }
    if (
      input.schema !== undefined &&
      (input.schema === null || typeof input.schema !== "object" || Array.isArray(input.schema))
    ) {
      return yield* Either.left(
        new ContractValueInvalid({ contract: current.name, problems: ["schema: a JSON Schema must be a JSON object"] })
      )
    }
    // An equivalent schema (same meaning, another spelling or key order) is no change: the recorded one stays.
    const schema = (input.schema === undefined ||
        canonicalJson(normalizeSchema(input.schema)) === canonicalJson(normalizeSchema(current.schema))
      ? current.schema
      : input.schema) as Record<string, unknown>
    const value = input.value === undefined ? current.value : input.value
    let validation = current.validation
    if (input.validation !== undefined) {
      const problem = validationProblem(input.validation)
      if (problem !== undefined) {
        return yield* Either.left(new ContractValueInvalid({ contract: current.name, problems: [problem] }))
      }
      validation = Schema.decodeUnknownSync(Validation)(input.validation)
    }
    const validationChanged = canonicalJson(validation ?? null) !== canonicalJson(current.validation ?? null)
    const validity = validateContract(schema, value)
    if (validity._tag !== "Valid") {
      return yield* Either.left(
        new ContractValueInvalid({
          contract: current.name,
          problems: validity._tag === "SchemaInvalid" ? [`schema: ${validity.detail}`] : validity.errors
        })
      )
    }
    const valueChanges = diffValues(current.value, value)
    const schemaComparison = compareSchemas(current.schema as JsonSchema, schema as JsonSchema)
    const schemaBump = requiredBump(
      current.schema as JsonSchema,
      schema as JsonSchema,
      current.value,
      value,
      current.compatibility
    )
    // New validation hooks are metadata: a patch at least.
    const bump: Bump = schemaBump === "none" && validationChanged ? "patch" : schemaBump
    if (bump === "none" && input.version === undefined) return { _tag: "Unchanged", contract: current } as const
    const changes = [
      ...valueChanges.map((c) => formatValueChange(c, { withPath: true })),
      ...schemaComparison.changes.map((c) => `schema ${c.path === "" ? "(root)" : c.path}: ${c.detail}`),
      ...(validationChanged ? ["validation hooks changed"] : [])
    ]
    const withValidation = validation === undefined ? {} : { validation }
    if (isPlaceholder(current) && (input.version === undefined || input.version === current.version)) {
      const contract: ContractFile = {
        ...current,
        ...withValidation,
        schema,
        value,
        evolution: [{ version: "1.0.0", changes: ["Initial version", ...changes], compatible: true }]
      }
      return {
        _tag: "Initial",
        contract,
        previous: current,
        bump: "none",
        changes,
        compatible: true,
        valueChanges
      } as const
    }
    const required = nextVersion(current.version, bump === "none" ? "patch" : bump)!
    const version = input.version ?? required
    if (semver.valid(version) === null) {
      return yield* Either.left(
        new BumpTooSmall({ contract: current.name, from: current.version, to: version, required: bump })
      )
    }
    if (!semver.gte(version, required)) {
      return yield* Either.left(
        new BumpTooSmall({ contract: current.name, from: current.version, to: version, required: bump })
      )
    }
    const compatible = bump !== "major"
    const contract: ContractFile = {
      ...current,
      ...withValidation,
      version,
      schema,
      value,
      evolution: [...current.evolution, { version, changes: changes.length > 0 ? changes : ["No changes"], compatible }]
    }
    return { _tag: "Bumped", contract, previous: current, bump, changes, compatible, valueChanges } as const
  })
