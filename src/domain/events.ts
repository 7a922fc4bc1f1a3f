/**
 * The facts of a realm, past tense, one `Schema.TaggedClass` each. Payloads embed the file-shaped records of
 * `files.ts`, so an event carries exactly what its realm file will show. The envelope (id, position, time,
 * actor …) lives in `src/events`.
 */
import { Schema } from "effect"
import { BindingFile, ContractFile, DomainFile, RealmFile, RepoFile } from "./files.js"
import { Name } from "./names.js"
import { WorktreeCommitted, WorktreeCreated, WorktreePushed, WorktreeRemoved } from "./worktrees.js"

export { WorktreeCommitted, WorktreeCreated, WorktreePushed, WorktreeRemoved } from "./worktrees.js"

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
  WorktreeCreated,
  WorktreeCommitted,
  WorktreePushed,
  WorktreeRemoved
)
/** Every realm event. */
export type RealmEvent = typeof RealmEvent.Type

/** The `_tag` of every realm event. */
export type RealmEventType = RealmEvent["_tag"]
