/**
 * Schemas of every file in a realm and a member repo (SPEC §3), with the seeds' exact field names. The realm
 * files are a projection of the event log; these schemas read them back (verification, read-only status) and
 * encode them for writing.
 */
import { Schema } from "effect"
import * as semver from "semver"
import { Name } from "./names.js"
import { normalizeRange } from "./placeholder.js"

export { normalizeRange } from "./placeholder.js"

/** An ISO-8601 UTC timestamp such as 2026-01-24T10:00:00Z. */
export const Timestamp = Schema.String.pipe(
  Schema.filter((s) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s))
      ? true
      : `${JSON.stringify(s)} is not an ISO-8601 UTC timestamp (e.g. 2026-01-24T10:00:00Z)`
  )
)

/** A semver version such as 1.4.0. */
export const SemverVersion = Schema.String.pipe(
  Schema.filter((s) => semver.valid(s) === s ? true : `${JSON.stringify(s)} is not a semver version (e.g. 1.4.0)`)
)

/**
 * A semver range such as ^1.0.0 or ">=1.0.0, <2.0.0" (the seed's comma form is accepted). Recorded files and
 * events keep node-semver's lenient reading, so realms written before #9 still load; new imports are held to
 * isValidRange by the decider.
 */
export const SemverRange = Schema.String.pipe(
  Schema.filter((s) =>
    semver.validRange(normalizeRange(s)) !== null ? true : `${JSON.stringify(s)} is not a semver range (e.g. ^1.0.0)`
  )
)

/** How new repos get in. */
export const Admission = Schema.Literal("open", "approval", "invite-only")
/** How new repos get in. */
export type Admission = typeof Admission.Type

/** realm.yaml → governance. */
export const Governance = Schema.Struct({
  admission: Admission,
  approvers: Schema.Array(Schema.String),
  breaking_changes: Schema.Struct({
    require_approval: Schema.Boolean,
    grace_period_days: Schema.Int.pipe(Schema.nonNegative())
  })
})

/** realm.yaml → trust. */
export const Trust = Schema.Struct({
  mode: Schema.Literal("collaborative", "vendor-customer", "federation"),
  require_signed_commits: Schema.Boolean,
  permissions: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.String) })
})

/** realm.yaml */
export const RealmFile = Schema.Struct({
  name: Name,
  version: SemverVersion,
  created_at: Timestamp,
  governance: Governance,
  trust: Trust
})
/** realm.yaml */
export type RealmFile = typeof RealmFile.Type

/** repos/<repo>.yaml */
export const RepoFile = Schema.Struct({
  name: Name,
  org: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String),
  url: Schema.optional(Schema.String),
  maintainers: Schema.Array(Schema.String),
  joined_at: Timestamp
})
/** repos/<repo>.yaml */
export type RepoFile = typeof RepoFile.Type

/** domains/<domain>/domain.yaml */
export const DomainFile = Schema.Struct({
  name: Name,
  description: Schema.String,
  created_at: Timestamp,
  members: Schema.Array(Name)
})
/** domains/<domain>/domain.yaml */
export type DomainFile = typeof DomainFile.Type

/** domains/<domain>/governance.yaml: an optional per-domain override of the realm's governance. */
export const DomainGovernanceFile = Schema.Struct({
  admission: Schema.optional(Admission),
  approvers: Schema.optional(Schema.Array(Schema.String)),
  breaking_changes: Schema.optional(Schema.Struct({
    require_approval: Schema.optional(Schema.Boolean),
    grace_period_days: Schema.optional(Schema.Int.pipe(Schema.nonNegative()))
  }))
})
/** domains/<domain>/governance.yaml */
export type DomainGovernanceFile = typeof DomainGovernanceFile.Type

/** A JSON value as found in YAML (schema and value of a contract). */
export const Json: Schema.Schema<unknown> = Schema.Unknown

/** contracts → evolution[] */
export const EvolutionEntry = Schema.Struct({
  version: SemverVersion,
  changes: Schema.Array(Schema.String),
  compatible: Schema.Boolean
})

/** contracts → validation */
export const Validation = Schema.Struct({
  exporter: Schema.optional(Schema.String),
  importer: Schema.optional(Schema.String),
  ci_only: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})

/** domains/<domain>/contracts/<contract>.yaml */
export const ContractFile = Schema.Struct({
  name: Name,
  version: SemverVersion,
  owner: Name,
  compatibility: Schema.Struct({ backwards: Schema.Boolean, forwards: Schema.Boolean }),
  schema: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  value: Json,
  validation: Schema.optional(Validation),
  evolution: Schema.Array(EvolutionEntry)
})
/** domains/<domain>/contracts/<contract>.yaml */
export type ContractFile = typeof ContractFile.Type

/** bindings → exports[] */
export const ExportBinding = Schema.Struct({
  contract: Name,
  source_files: Schema.Array(Schema.String)
})

/** Where an import stands against the contract's current version. */
export const ImportStatus = Schema.Literal("current", "stale", "broken")

/** bindings → imports[] */
export const ImportBinding = Schema.Struct({
  contract: Name,
  version: SemverRange,
  binding: Schema.optional(Schema.String),
  status: ImportStatus,
  resolved_version: Schema.optional(SemverVersion),
  resolved_at: Schema.optional(Timestamp)
})

/** A repo's role in one domain. */
export const Role = Schema.Literal("provider", "consumer")
/** A repo's role in one domain. */
export type Role = typeof Role.Type

/** domains/<domain>/bindings/<repo>.yaml */
export const BindingFile = Schema.Struct({
  repo: Name,
  role: Role,
  exports: Schema.optional(Schema.Array(ExportBinding)),
  imports: Schema.optional(Schema.Array(ImportBinding))
})
/** domains/<domain>/bindings/<repo>.yaml */
export type BindingFile = typeof BindingFile.Type

/**
 * proposals/<id>.yaml: a contract proposal as the realm's `main` shows it (its change lives on `branch` until it
 * merges). Rendered from the state; `merged_at` only once merged, `closed_at`/`closed_by`/`reason` once
 * rejected or withdrawn.
 */
export const ProposalFile = Schema.Struct({
  id: Schema.String,
  branch: Schema.String,
  status: Schema.Literal("open", "merged", "rejected", "withdrawn"),
  repo: Name,
  domain: Name,
  contract: Name,
  from: SemverVersion,
  to: SemverVersion,
  bump: Schema.Literal("patch", "minor", "major"),
  breaking: Schema.Boolean,
  changes: Schema.Array(Schema.String),
  importers: Schema.Array(Name),
  reviewers: Schema.Array(Schema.String),
  acknowledged_by: Schema.Array(Schema.Struct({ repo: Name, at: Timestamp })),
  approved_by: Schema.Array(Schema.Struct({ by: Schema.String, at: Timestamp })),
  deadline: Timestamp,
  opened_at: Timestamp,
  amended_at: Schema.optional(Timestamp),
  merged_at: Schema.optional(Timestamp),
  closed_at: Schema.optional(Timestamp),
  closed_by: Schema.optional(Schema.String),
  reason: Schema.optional(Schema.String)
})
/** proposals/<id>.yaml */
export type ProposalFile = typeof ProposalFile.Type

/** An extractor that runs regexes over source files: each field's captures (group 1) become that field's list. */
export const PatternExtractor = Schema.Struct({
  pattern: Schema.Struct({
    /** globs relative to the repo root; default: the export binding's source_files */
    files: Schema.optional(Schema.Array(Schema.String)),
    fields: Schema.Record({ key: Schema.String, value: Schema.String })
  })
})

/** An extractor that runs a command in the repo and reads the value it prints (JSON or YAML). */
export const CommandExtractor = Schema.Struct({
  command: Schema.Union(Schema.String, Schema.Array(Schema.String)),
  timeout_ms: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/** An extractor that reads a JSON/YAML file of the repo, optionally at a dotted key path. */
export const FileExtractor = Schema.Struct({
  file: Schema.String,
  key: Schema.optional(Schema.String)
})

/** How the current value of one export is detected from the repo's code. */
export const Extractor = Schema.Union(PatternExtractor, CommandExtractor, FileExtractor)
/** How the current value of one export is detected from the repo's code. */
export type Extractor = typeof Extractor.Type

/** <repo>/.blue/config.yaml: membership, and how this repo's exports are detected from its code. */
export const LocalConfig = Schema.Struct({
  realm: Schema.Struct({
    name: Name,
    path: Schema.optional(Schema.String),
    url: Schema.optional(Schema.String)
  }),
  repo: Name,
  exports: Schema.optional(Schema.Record({ key: Name, value: Extractor }))
})
/** <repo>/.blue/config.yaml */
export type LocalConfig = typeof LocalConfig.Type

/**
 * The accepted RFC's governance and trust, with admission `open` so a local realm works out of the box; `init` passes
 * its user as the first approver.
 */
export const defaultRealmFile = (
  name: Name,
  createdAt: string,
  admission: Admission = "open",
  approvers: ReadonlyArray<string> = []
): RealmFile => ({
  name,
  version: "1.0.0",
  created_at: createdAt,
  governance: {
    admission,
    approvers: [...approvers],
    breaking_changes: { require_approval: true, grace_period_days: 14 }
  },
  trust: {
    mode: "collaborative",
    require_signed_commits: false,
    permissions: {
      "repos/{repo}.yaml": ["repo_maintainers"],
      "domains/{domain}/domain.yaml": ["domain_owners"],
      "domains/{domain}/contracts/{name}.yaml": ["contract_owner"],
      "domains/{domain}/bindings/{repo}.yaml": ["repo_maintainers"]
    }
  }
})

/** The schema of a realm file by its path, or undefined for paths that are not realm files. */
export const schemaForRealmPath = (path: string): Schema.Schema<any, any> | undefined => {
  if (path === "realm.yaml") return RealmFile
  if (/^repos\/[^/]+\.yaml$/.test(path)) return RepoFile
  if (/^domains\/[^/]+\/domain\.yaml$/.test(path)) return DomainFile
  if (/^domains\/[^/]+\/governance\.yaml$/.test(path)) return DomainGovernanceFile
  if (/^domains\/[^/]+\/contracts\/[^/]+\.yaml$/.test(path)) return ContractFile
  if (/^domains\/[^/]+\/bindings\/[^/]+\.yaml$/.test(path)) return BindingFile
  if (/^proposals\/[^/]+\.yaml$/.test(path)) return ProposalFile
  return undefined
}
