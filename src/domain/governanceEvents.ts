/**
 * The governance facts of a realm (issue 12): who approves, how repos get in, invitations and join requests. One
 * `Schema.TaggedClass` each, joined into the realm's event union in `events.ts`.
 */
import { Schema } from "effect"
import { DomainGovernanceFile, RepoFile } from "./files.js"
import { Name } from "./names.js"

/**
 * An approver changed the governance of the realm (`domain` absent: realm.yaml's) or of one domain (its
 * governance.yaml override). `governance` is the whole new governance of that scope; `changes` says what moved.
 */
export class GovernanceChanged extends Schema.TaggedClass<GovernanceChanged>()("GovernanceChanged", {
  domain: Schema.optional(Name),
  governance: DomainGovernanceFile,
  changes: Schema.Array(Schema.String)
}) {}

/** An approver invited a repo: its next join is admitted whatever the admission policy (once). */
export class RepoInvited extends Schema.TaggedClass<RepoInvited>()("RepoInvited", {
  repo: Name,
  by: Schema.String
}) {}

/** A repo asked to join a realm that admits by approval; `id` (`join-<position>`) names the request. */
export class JoinRequested extends Schema.TaggedClass<JoinRequested>()("JoinRequested", {
  id: Schema.String,
  repo: RepoFile
}) {}

/** An approver accepted a join request: the repo is a member from here on, as if it had joined itself. */
export class JoinApproved extends Schema.TaggedClass<JoinApproved>()("JoinApproved", {
  id: Schema.String,
  repo: RepoFile,
  by: Schema.String
}) {}

/** An approver turned a join request down; the repo may ask again. */
export class JoinRejected extends Schema.TaggedClass<JoinRejected>()("JoinRejected", {
  id: Schema.String,
  repo: Name,
  by: Schema.String,
  reason: Schema.optional(Schema.String)
}) {}

/** Every governance event. */
export type GovernanceEvent = GovernanceChanged | RepoInvited | JoinRequested | JoinApproved | JoinRejected
