/**
 * What a user asks of a realm. Time and actor arrive with the command (never read inside `decide`), so deciding
 * is a pure function of command and state.
 */
import { Schema } from "effect"
import { Admission } from "./files.js"
import { ChangeGovernance, InviteRepo, ReviewJoin } from "./governanceCommands.js"

export { ChangeGovernance, InviteRepo, ReviewJoin } from "./governanceCommands.js"
import {
  RecordWorktree,
  RecordWorktreeCommit,
  RecordWorktreePulls,
  RecordWorktreePush,
  RemoveWorktree
} from "./worktrees.js"

/** Who acts: the member repo the command runs in (if any) and the person. */
export const Actor = Schema.Struct({
  repo: Schema.optional(Schema.String),
  user: Schema.String
})
/** Who acts. */
export type Actor = typeof Actor.Type

/** Create a realm. */
export const InitRealm = Schema.TaggedStruct("InitRealm", {
  name: Schema.String,
  admission: Admission,
  path: Schema.String
})

/** Register a repo in the realm. */
export const JoinRealm = Schema.TaggedStruct("JoinRealm", {
  repo: Schema.String,
  path: Schema.optional(Schema.String),
  url: Schema.optional(Schema.String),
  org: Schema.optional(Schema.String),
  maintainers: Schema.Array(Schema.String)
})

/** Create a domain: the first repo provides (exports), the rest consume (import). */
export const CreateDomain = Schema.TaggedStruct("CreateDomain", {
  domain: Schema.String,
  repos: Schema.Array(Schema.String),
  contract: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String)
})

/** Remove a repo from the realm. */
export const LeaveRealm = Schema.TaggedStruct("LeaveRealm", {
  repo: Schema.String,
  force: Schema.Boolean
})

/** Publish a contract's new schema and/or value (owner only); the version follows from the change. */
export const PublishContract = Schema.TaggedStruct("PublishContract", {
  contract: Schema.String,
  domain: Schema.optional(Schema.String),
  schema: Schema.optional(Schema.Unknown),
  value: Schema.optional(Schema.Unknown),
  validation: Schema.optional(Schema.Unknown),
  version: Schema.optional(Schema.String),
  sourceFiles: Schema.optional(Schema.Array(Schema.String))
})

/** Declare (or change) an import of a contract by the acting repo. */
export const DeclareImport = Schema.TaggedStruct("DeclareImport", {
  contract: Schema.String,
  domain: Schema.String,
  version: Schema.String,
  binding: Schema.optional(Schema.String)
})

/** Acknowledge notifications addressed to the acting repo: some by id, or all of them. */
export const AcknowledgeNotifications = Schema.TaggedStruct("AcknowledgeNotifications", {
  ids: Schema.Array(Schema.String),
  all: Schema.Boolean
})

/**
 * Acknowledge an open proposal for the acting repo (an affected importer). Its range must accept the new version
 * unless `accept_breaking` says it accepts, explicitly, a change its range does not cover.
 */
export const AcknowledgeProposal = Schema.TaggedStruct("AcknowledgeProposal", {
  id: Schema.String,
  accept_breaking: Schema.optional(Schema.Boolean)
})

/** Approve an open proposal (an approver only). */
export const ApproveProposal = Schema.TaggedStruct("ApproveProposal", {
  id: Schema.String
})

/** Reject an open proposal (an approver only). */
export const RejectProposal = Schema.TaggedStruct("RejectProposal", {
  id: Schema.String,
  reason: Schema.optional(Schema.String)
})

/** Withdraw an open proposal (its owner repo only). */
export const WithdrawProposal = Schema.TaggedStruct("WithdrawProposal", {
  id: Schema.String,
  reason: Schema.String
})

/** Merge a proposal that `mayMerge` says is ready at the command's time (anyone; the rule is the gate). */
export const MergeProposal = Schema.TaggedStruct("MergeProposal", {
  id: Schema.String
})

/** Every realm command. */
export const Command = Schema.Union(
  InitRealm,
  JoinRealm,
  CreateDomain,
  LeaveRealm,
  PublishContract,
  DeclareImport,
  AcknowledgeNotifications,
  AcknowledgeProposal,
  ApproveProposal,
  RejectProposal,
  WithdrawProposal,
  MergeProposal,
  ChangeGovernance,
  InviteRepo,
  ReviewJoin,
  RecordWorktree,
  RecordWorktreeCommit,
  RecordWorktreePush,
  RecordWorktreePulls,
  RemoveWorktree
)
/** Every realm command. */
export type Command = typeof Command.Type

/** The context a command is decided in. */
export interface CommandMeta {
  readonly time: string
  readonly actor: Actor
}
