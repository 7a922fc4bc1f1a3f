/**
 * The governance commands (issue 12), joined into the realm's command union in `commands.ts`. Time and actor arrive
 * with the command, as for every other one: the acting user's email is who approves.
 */
import { Schema } from "effect"
import { Admission } from "./files.js"

/** Change the realm's governance (or, with `domain`, that domain's governance.yaml override); approvers only. */
export const ChangeGovernance = Schema.TaggedStruct("ChangeGovernance", {
  domain: Schema.optional(Schema.String),
  addApprovers: Schema.Array(Schema.String),
  removeApprovers: Schema.Array(Schema.String),
  admission: Schema.optional(Admission),
  requireApproval: Schema.optional(Schema.Boolean),
  gracePeriodDays: Schema.optional(Schema.Number)
})

/** Invite a repo into the realm (approvers only): its next join is admitted. */
export const InviteRepo = Schema.TaggedStruct("InviteRepo", {
  repo: Schema.String
})

/** Approve or reject a pending join request (approvers only). */
export const ReviewJoin = Schema.TaggedStruct("ReviewJoin", {
  id: Schema.String,
  verdict: Schema.Literal("approve", "reject"),
  reason: Schema.optional(Schema.String)
})
