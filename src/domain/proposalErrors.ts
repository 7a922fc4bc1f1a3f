/**
 * Refusals of the proposal commands (acknowledge, approve, reject, withdraw, merge): one `Schema.TaggedError` per
 * reason, like `errors.ts`, kept apart so that governance and proposals can grow without touching each other. A
 * non-approver approving or rejecting gets governance's `NotApprover`.
 */
import { Schema } from "effect"

/** A proposal id that names no proposal of the realm. */
export class ProposalNotFound extends Schema.TaggedError<ProposalNotFound>()("ProposalNotFound", {
  id: Schema.String,
  open: Schema.Array(Schema.String)
}) {
  override get message() {
    return this.open.length === 0
      ? `No proposal '${this.id}' in this realm, and none is open.`
      : `No proposal '${this.id}' in this realm; open proposals: ${this.open.join(", ")}.`
  }
}

/** A command that needs an open proposal on one that merged, was rejected or was withdrawn. */
export class ProposalClosed extends Schema.TaggedError<ProposalClosed>()("ProposalClosed", {
  id: Schema.String,
  status: Schema.String
}) {
  override get message() {
    return `Proposal '${this.id}' is already ${this.status}; nothing more can happen to it.`
  }
}

/** A repo acknowledging a proposal that does not affect it. */
export class NotAffectedImporter extends Schema.TaggedError<NotAffectedImporter>()("NotAffectedImporter", {
  id: Schema.String,
  repo: Schema.String,
  importers: Schema.Array(Schema.String)
}) {
  override get message() {
    return `'${this.repo}' is not an importer affected by proposal '${this.id}'; only ${
      this.importers.length === 0 ? "its importers" : this.importers.join(", ")
    } can acknowledge it.`
  }
}

/** An importer acknowledging a proposal whose new version its range does not accept. */
export class ProposalRangeRejects extends Schema.TaggedError<ProposalRangeRejects>()("ProposalRangeRejects", {
  id: Schema.String,
  repo: Schema.String,
  contract: Schema.String,
  range: Schema.String,
  version: Schema.String
}) {
  override get message() {
    return `'${this.repo}' imports ${this.contract} as ${
      JSON.stringify(this.range)
    }, which does not accept ${this.version}; widen the range with 'blue realm import' before acknowledging proposal '${this.id}', or accept the break explicitly with 'blue realm ack ${this.id}'.`
  }
}

/** Withdrawing a proposal from a repo other than the contract owner that opened it. */
export class NotProposalOwner extends Schema.TaggedError<NotProposalOwner>()("NotProposalOwner", {
  id: Schema.String,
  owner: Schema.String,
  actor: Schema.String
}) {
  override get message() {
    return `Only '${this.owner}' may withdraw proposal '${this.id}'; '${this.actor}' did not open it.`
  }
}

/** Merging a proposal that the merge rule does not allow yet. */
export class ProposalNotReady extends Schema.TaggedError<ProposalNotReady>()("ProposalNotReady", {
  id: Schema.String,
  blockers: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Proposal '${this.id}' cannot merge yet: ${this.blockers.join("; ")}.`
  }
}

/** Merging a proposal whose contract moved on since it was opened (another change landed first). */
export class ProposalConflict extends Schema.TaggedError<ProposalConflict>()("ProposalConflict", {
  id: Schema.String,
  contract: Schema.String,
  from: Schema.String,
  current: Schema.String
}) {
  override get message() {
    return `Proposal '${this.id}' changes ${this.contract} from ${this.from}, but ${this.contract} is now ${this.current}; publish again from the owner to amend it against ${this.current}, or withdraw it.`
  }
}

/** Every refusal of a proposal command. */
export type ProposalError =
  | ProposalNotFound
  | ProposalClosed
  | NotAffectedImporter
  | ProposalRangeRejects
  | NotProposalOwner
  | ProposalNotReady
  | ProposalConflict
