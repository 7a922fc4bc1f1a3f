/**
 * Refusals of the domain: one `Schema.TaggedError` per reason, carrying the data a person needs. They serialise
 * unchanged to `--json`, HTTP and the feed; `message` is the one sentence the CLI prints.
 */
import { Schema } from "effect"
import { type Bump, bumpProblem } from "./compatibility.js"
import type {
  DomainNotFound,
  InvalidGovernance,
  JoinPending,
  JoinRequestNotFound,
  LastApprover,
  NotApprover,
  NotDomainProvider
} from "./governanceErrors.js"
import type { ProposalError } from "./proposalErrors.js"

export {
  DomainNotFound,
  InvalidGovernance,
  JoinPending,
  JoinRequestNotFound,
  LastApprover,
  NotApprover,
  NotDomainProvider
} from "./governanceErrors.js"

/** A name that is not a kebab-case identifier (or would escape its directory). */
export class InvalidName extends Schema.TaggedError<InvalidName>()("InvalidName", {
  kind: Schema.String,
  value: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Invalid ${this.kind} name ${
      JSON.stringify(this.value)
    }: it ${this.reason}; use kebab-case (lowercase letters, digits and single hyphens, e.g. s3-access).`
  }
}

/** A command that needs an initialised realm ran against a directory that has none. */
export class RealmNotInitialized extends Schema.TaggedError<RealmNotInitialized>()("RealmNotInitialized", {
  path: Schema.String
}) {
  override get message() {
    return `${this.path} is not a Blue realm (no realm events in its git history); create one with 'blue realm admin init --name NAME'.`
  }
}

/** `init` on a realm that already exists. */
export class RealmAlreadyInitialized extends Schema.TaggedError<RealmAlreadyInitialized>()(
  "RealmAlreadyInitialized",
  { realm: Schema.String, path: Schema.String }
) {
  override get message() {
    return `Realm '${this.realm}' already exists at ${this.path}; pick another --name or --path.`
  }
}

/** A repo that is already registered tries to join again. */
export class AlreadyMember extends Schema.TaggedError<AlreadyMember>()("AlreadyMember", {
  realm: Schema.String,
  repo: Schema.String
}) {
  override get message() {
    return `Repo '${this.repo}' is already a member of realm '${this.realm}'; use --name to join under another name.`
  }
}

/** A repo that is not registered in the realm. */
export class RepoNotInRealm extends Schema.TaggedError<RepoNotInRealm>()("RepoNotInRealm", {
  realm: Schema.String,
  repo: Schema.String
}) {
  override get message() {
    return `Repo '${this.repo}' is not a member of realm '${this.realm}'; run 'blue realm admin join' in it first.`
  }
}

/** Joining an invite-only realm without an invitation (an `approval` realm files a join request instead). */
export class AdmissionRequired extends Schema.TaggedError<AdmissionRequired>()("AdmissionRequired", {
  realm: Schema.String,
  repo: Schema.String,
  admission: Schema.String,
  /** who may admit it (the realm's approvers) */
  approvers: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}) {
  override get message() {
    const who = this.approvers.length === 0
      ? "an approver"
      : `an approver (${this.approvers.join(", ")})`
    return this.admission === "invite-only"
      ? `Realm '${this.realm}' is invite-only: ${who} must run 'blue realm admin invite ${this.repo}' before '${this.repo}' can join.`
      : `Realm '${this.realm}' admits repos by approval: ${who} must approve the join request of '${this.repo}'.`
  }
}

/** A domain name that is taken. */
export class DomainExists extends Schema.TaggedError<DomainExists>()("DomainExists", {
  realm: Schema.String,
  domain: Schema.String
}) {
  override get message() {
    return `Domain '${this.domain}' already exists in realm '${this.realm}'; choose another name.`
  }
}

/** `--repos` that cannot form a domain (fewer than two, or a repo listed twice). */
export class InvalidDomainRepos extends Schema.TaggedError<InvalidDomainRepos>()("InvalidDomainRepos", {
  domain: Schema.String,
  repos: Schema.Array(Schema.String),
  reason: Schema.String
}) {
  override get message() {
    return `Cannot create domain '${this.domain}' with --repos ${this.repos.join(",")}: ${this.reason}.`
  }
}

/** One hop of a dependency cycle: `from` provides to `to` through `domain`. */
export const CycleStep = Schema.Struct({ from: Schema.String, domain: Schema.String, to: Schema.String })

/** A domain that would close a cycle in the provider → consumer graph. */
export class CycleDetected extends Schema.TaggedError<CycleDetected>()("CycleDetected", {
  domain: Schema.String,
  cycle: Schema.Array(CycleStep),
  /** what closes the cycle, when it is not a new domain (e.g. "Importing s3-permissions into fungal") */
  action: Schema.optional(Schema.String)
}) {
  override get message() {
    const path = this.cycle.map((s) => `${s.from} → (${s.domain})`).join(" → ")
    const start = this.cycle[0]?.from ?? ""
    return `${
      this.action ?? `Adding domain '${this.domain}'`
    } creates a cycle: ${path} → ${start}. Merge the domains, reverse a dependency, or use a hub-and-spoke layout.`
  }
}

/** One importer of a contract. */
export const Importer = Schema.Struct({ repo: Schema.String, domain: Schema.String, contract: Schema.String })

/** Leaving while other repos import contracts this repo owns. */
export class StillImported extends Schema.TaggedError<StillImported>()("StillImported", {
  repo: Schema.String,
  importers: Schema.Array(Importer)
}) {
  override get message() {
    const who = this.importers.map((i) => `${i.repo} (${i.domain}/${i.contract})`).join(", ")
    return `Repo '${this.repo}' cannot leave: ${who} still import its contracts; pass --force to leave anyway.`
  }
}

/** A realm, repo or domain file that does not parse or does not match its schema. */
export class FileInvalid extends Schema.TaggedError<FileInvalid>()("FileInvalid", {
  file: Schema.String,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.file}: ${this.path === "" ? "" : `${this.path}: `}${this.detail}`
  }
}

/** Every refusal `decide` can return. */
export type DomainError =
  | InvalidName
  | RealmNotInitialized
  | RealmAlreadyInitialized
  | AlreadyMember
  | RepoNotInRealm
  | AdmissionRequired
  | DomainExists
  | InvalidDomainRepos
  | CycleDetected
  | StillImported
  | ContractNotFound
  | NotContractOwner
  | BumpTooSmall
  | ContractValueInvalid
  | InvalidRange
  | InvalidVersion
  | ContractTooLarge
  | InvalidSourceFiles
  | RoleConflict
  | NotificationNotFound
  | ProposalError
  | NotApprover
  | LastApprover
  | InvalidGovernance
  | DomainNotFound
  | JoinRequestNotFound
  | JoinPending
  | NotDomainProvider

/** A contract name that matches no contract (or several, in different domains). */
export class ContractNotFound extends Schema.TaggedError<ContractNotFound>()("ContractNotFound", {
  contract: Schema.String,
  domain: Schema.String,
  candidates: Schema.Array(Schema.String)
}) {
  override get message() {
    if (this.candidates.length > 1) {
      return `Contract '${this.contract}' exists in several domains (${
        this.candidates.join(", ")
      }); name one with --domain.`
    }
    return `No contract '${this.contract}'${
      this.domain === "" ? "" : ` in domain '${this.domain}'`
    } in this realm; check the name with 'blue realm status'.`
  }
}

/** Only a contract's owner repo may change it. */
export class NotContractOwner extends Schema.TaggedError<NotContractOwner>()("NotContractOwner", {
  contract: Schema.String,
  owner: Schema.String,
  actor: Schema.String
}) {
  override get message() {
    return `Only '${this.owner}' may change contract '${this.contract}'; '${this.actor}' is not its owner (import it instead).`
  }
}

/** A version lower than the change requires. */
export class BumpTooSmall extends Schema.TaggedError<BumpTooSmall>()("BumpTooSmall", {
  contract: Schema.String,
  from: Schema.String,
  to: Schema.String,
  required: Schema.String
}) {
  override get message() {
    // bumpProblem already names both versions and the bump: say it once.
    const problem = bumpProblem(this.from, this.to, this.required as Bump) ??
      `the change from ${this.from} needs a ${this.required} bump; use a higher version than ${this.to}.`
    return `Contract '${this.contract}': ${problem.charAt(0).toLowerCase()}${problem.slice(1)}`
  }
}

/** A contract whose schema is not a valid JSON Schema, or whose value does not satisfy it. */
export class ContractValueInvalid extends Schema.TaggedError<ContractValueInvalid>()("ContractValueInvalid", {
  contract: Schema.String,
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Contract '${this.contract}' is invalid: ${this.problems.join("; ")}.`
  }
}

/** A source-files glob that is absolute or leaves the repo. */
export class InvalidSourceFiles extends Schema.TaggedError<InvalidSourceFiles>()("InvalidSourceFiles", {
  contract: Schema.String,
  glob: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Source files of '${this.contract}': ${
      JSON.stringify(this.glob)
    } ${this.reason}; give globs relative to the repo, inside it (e.g. src/**/*.ts).`
  }
}

/** A semver range that does not parse. */
export class InvalidRange extends Schema.TaggedError<InvalidRange>()("InvalidRange", {
  value: Schema.String
}) {
  override get message() {
    return `--version ${JSON.stringify(this.value)} is not a semver range (e.g. ^1.0.0 or ">=1.0.0, <2.0.0").`
  }
}

/** A version given by hand that is not semver. */
export class InvalidVersion extends Schema.TaggedError<InvalidVersion>()("InvalidVersion", {
  contract: Schema.String,
  value: Schema.String
}) {
  override get message() {
    return `--version ${
      JSON.stringify(this.value)
    } is not a valid semver version for contract '${this.contract}'; give MAJOR.MINOR.PATCH, e.g. 1.4.0.`
  }
}

/** A contract value or schema over its size limit (as canonical JSON). */
export class ContractTooLarge extends Schema.TaggedError<ContractTooLarge>()("ContractTooLarge", {
  contract: Schema.String,
  part: Schema.Literal("value", "schema"),
  size: Schema.String,
  limit: Schema.String
}) {
  override get message() {
    return `The new ${this.part} of contract '${this.contract}' is ${this.size} as JSON, over the ${this.limit} limit for a contract's ${this.part}; publish a smaller one.`
  }
}

/** A repo importing a contract it owns, or taking a second role in a domain. */
export class RoleConflict extends Schema.TaggedError<RoleConflict>()("RoleConflict", {
  domain: Schema.String,
  repo: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `'${this.repo}' cannot import in domain '${this.domain}': ${this.detail}.`
  }
}

/** Acknowledging a notification that is not pending for the repo. */
export class NotificationNotFound extends Schema.TaggedError<NotificationNotFound>()("NotificationNotFound", {
  id: Schema.String,
  repo: Schema.String
}) {
  override get message() {
    return `No unacknowledged notification #${this.id} for '${this.repo}'; list them with 'blue realm status'.`
  }
}

/** An acting identity (BLUE_USER, git's user.email, …) that could forge lines of a realm commit. */
export class InvalidIdentity extends Schema.TaggedError<InvalidIdentity>()("InvalidIdentity", {
  /** where the identity came from: BLUE_USER, GIT_AUTHOR_EMAIL, git config user.email, … */
  source: Schema.String,
  value: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.source} (${
      JSON.stringify(this.value)
    }) ${this.reason}; the acting identity must be one line without control characters, '<' or '>' (e.g. BLUE_USER=you@example.com).`
  }
}

/** A write would overwrite files edited by hand in the realm's working tree and not committed. */
export class UncommittedChanges extends Schema.TaggedError<UncommittedChanges>()("UncommittedChanges", {
  realm: Schema.String,
  files: Schema.Array(Schema.String)
}) {
  override get message() {
    const [first] = this.files
    const which = this.files.length === 1
      ? `${first} has`
      : `${this.files.slice(0, -1).join(", ")} and ${this.files[this.files.length - 1]} have`
    return `${which} uncommitted changes; commit or discard them (git checkout -- FILE) first.`
  }
}
