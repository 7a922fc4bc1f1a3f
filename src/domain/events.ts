/**
 * The facts of a realm, past tense, one `Schema.TaggedClass` each. Payloads embed the file-shaped records of
 * `files.ts`, so an event carries exactly what its realm file will show. The envelope (id, position, time,
 * actor …) lives in `src/events`.
 */
import { Schema } from "effect"
import { BindingFile, ContractFile, DomainFile, RealmFile, RepoFile } from "./files.js"
import { GovernanceChanged, JoinApproved, JoinRejected, JoinRequested, RepoInvited } from "./governanceEvents.js"
import { Name } from "./names.js"
import {
  WorktreeCommitted,
  WorktreeCreated,
  WorktreePullsRecorded,
  WorktreePushed,
  WorktreeRemoved
} from "./worktrees.js"

export {
  WorktreeCommitted,
  WorktreeCreated,
  WorktreePullsRecorded,
  WorktreePushed,
  WorktreeRemoved
} from "./worktrees.js"

/** A realm was created with its governance and trust settings. */
export class RealmInitialized extends Schema.TaggedClass<RealmInitialized>()("RealmInitialized", {
  realm: RealmFile
}) {}

/** A repo registered itself in the realm. */
export class RepoJoined extends Schema.TaggedClass<RepoJoined>()("RepoJoined", {
  repo: RepoFile
}) {}

/** A repo left the realm; its bindings and memberships go with it, contracts it owned stay. */
export class RepoLeft extends Schema.TaggedClass<RepoLeft>()("RepoLeft", {
  repo: Name,
  forced: Schema.Boolean
}) {}

/** A coordination domain (an edge between repos) was created. */
export class DomainCreated extends Schema.TaggedClass<DomainCreated>()("DomainCreated", {
  domain: DomainFile
}) {}

/** A contract was published into a domain (first version or a replacement of the whole document). */
export class ContractPublished extends Schema.TaggedClass<ContractPublished>()("ContractPublished", {
  domain: Name,
  contract: ContractFile
}) {}

/** The owner published a new version of a contract; the new evolution entry says what changed. */
export class ContractBumped extends Schema.TaggedClass<ContractBumped>()("ContractBumped", {
  domain: Name,
  from: Schema.String,
  bump: Schema.Literal("patch", "minor", "major"),
  contract: ContractFile
}) {}

/** A repo declared how it takes part in a domain (its exports or imports). */
export class BindingDeclared extends Schema.TaggedClass<BindingDeclared>()("BindingDeclared", {
  domain: Name,
  binding: BindingFile
}) {}

/** An importing repo acknowledged a contract change (notification `id` = the position of that change). */
export class NotificationAcknowledged extends Schema.TaggedClass<NotificationAcknowledged>()(
  "NotificationAcknowledged",
  { id: Schema.String, repo: Name, contract: Name, version: Schema.String }
) {}

/** A proposal's id (`<repo>-<YYYYMMDD-HHMMSS>[-n]`): it names the proposal's realm file, so it stays a plain name. */
export const ProposalId = Schema.String.pipe(
  Schema.filter((s) =>
    /^[a-z0-9][a-z0-9-]{0,199}$/.test(s)
      ? true
      : `${JSON.stringify(s)} is not a proposal id (e.g. aperture-20260124-100000)`
  )
)

/** A proposal's branch, `sync/<repo>/<YYYYMMDD-HHMMSS>[-n]`: it names a git ref, so nothing else is accepted. */
export const ProposalBranch = Schema.String.pipe(
  Schema.filter((s) =>
    /^sync\/[a-z0-9][a-z0-9-]{0,99}\/\d{8}-\d{6}(-\d{1,4})?$/.test(s)
      ? true
      : `${JSON.stringify(s)} is not a proposal branch (e.g. sync/aperture/20260124-100000)`
  )
)

/** The size of a contract change, as semver names it. */
export const ChangeBump = Schema.Literal("patch", "minor", "major")

/**
 * A contract change that affects importers was proposed instead of landing on `main` (SPEC §2.4): `proposed` is
 * the contract as it will be after the merge, `from`/`to` the versions, `importers` the repos that must answer it,
 * `reviewers` their maintainers, `deadline` the end of the grace period (opened + grace_period_days).
 */
export class ProposalOpened extends Schema.TaggedClass<ProposalOpened>()("ProposalOpened", {
  id: ProposalId,
  repo: Name,
  branch: ProposalBranch,
  domain: Name,
  contract: Name,
  from: Schema.String,
  to: Schema.String,
  bump: ChangeBump,
  breaking: Schema.Boolean,
  changes: Schema.Array(Schema.String),
  proposed: ContractFile,
  importers: Schema.Array(Name),
  reviewers: Schema.Array(Schema.String),
  deadline: Schema.String
}) {}

/**
 * The owner changed the contract again while its proposal was open: the proposal now carries this change, planned
 * against main's contract (`from`). Every acknowledgement and approval is reset (they answered another change) and
 * the grace period starts again (`deadline`).
 */
export class ProposalAmended extends Schema.TaggedClass<ProposalAmended>()("ProposalAmended", {
  id: ProposalId,
  from: Schema.String,
  to: Schema.String,
  bump: ChangeBump,
  breaking: Schema.Boolean,
  changes: Schema.Array(Schema.String),
  proposed: ContractFile,
  deadline: Schema.String
}) {}

/** An affected importer acknowledged a proposal at version `version` (its range accepts it). */
export class ProposalAcknowledged extends Schema.TaggedClass<ProposalAcknowledged>()("ProposalAcknowledged", {
  id: ProposalId,
  repo: Name,
  version: Schema.String,
  /**
   * true when the importer's range does not accept `version` and it acknowledged explicitly (`blue realm ack
   * <proposal>`: "I have seen it and will adapt"); its binding reads broken after the merge until it re-imports
   */
  accepted_breaking: Schema.optional(Schema.Literal(true))
}) {}

/** An approver approved a proposal (`by` is the approver's user/email). */
export class ProposalApproved extends Schema.TaggedClass<ProposalApproved>()("ProposalApproved", {
  id: ProposalId,
  by: Schema.String
}) {}

/** An approver rejected a proposal: it will never merge. */
export class ProposalRejected extends Schema.TaggedClass<ProposalRejected>()("ProposalRejected", {
  id: ProposalId,
  by: Schema.String,
  reason: Schema.optional(Schema.String)
}) {}

/** The owner withdrew its proposal (also recorded when a forge PR is closed by hand): it will never merge. */
export class ProposalWithdrawn extends Schema.TaggedClass<ProposalWithdrawn>()("ProposalWithdrawn", {
  id: ProposalId,
  by: Schema.String,
  reason: Schema.String
}) {}

/** A proposal merged; the ContractBumped that follows it in the same commit lands its change on `main`. */
export class ProposalMerged extends Schema.TaggedClass<ProposalMerged>()("ProposalMerged", {
  id: ProposalId
}) {}

export { GovernanceChanged, JoinApproved, JoinRejected, JoinRequested, RepoInvited } from "./governanceEvents.js"

/** Every realm event. */
export const RealmEvent = Schema.Union(
  RealmInitialized,
  RepoJoined,
  RepoLeft,
  DomainCreated,
  ContractPublished,
  ContractBumped,
  BindingDeclared,
  NotificationAcknowledged,
  ProposalOpened,
  ProposalAmended,
  ProposalAcknowledged,
  ProposalApproved,
  ProposalRejected,
  ProposalWithdrawn,
  ProposalMerged,
  GovernanceChanged,
  RepoInvited,
  JoinRequested,
  JoinApproved,
  JoinRejected,
  WorktreeCreated,
  WorktreeCommitted,
  WorktreePushed,
  WorktreePullsRecorded,
  WorktreeRemoved
)
/** Every realm event. */
export type RealmEvent = typeof RealmEvent.Type

/** The `_tag` of every realm event. */
export type RealmEventType = RealmEvent["_tag"]
