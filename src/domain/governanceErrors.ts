/**
 * Refusals of the governance commands and of declaring a new contract (issue 12), one `Schema.TaggedError` per
 * reason; they join the decider's `DomainError` union in `errors.ts`.
 */
import { Schema } from "effect"

const listOf = (emails: ReadonlyArray<string>) => emails.length === 0 ? "none is recorded" : emails.join(", ")

/** A governance action by someone who is not an approver. */
export class NotApprover extends Schema.TaggedError<NotApprover>()("NotApprover", {
  realm: Schema.String,
  actor: Schema.String,
  action: Schema.String,
  approvers: Schema.Array(Schema.String)
}) {
  override get message() {
    return this.approvers.length === 0
      ? `Only an approver of realm '${this.realm}' may ${this.action}, and it records none yet; add one first with 'blue realm admin governance --add-approver EMAIL'.`
      : `Only an approver of realm '${this.realm}' may ${this.action}; ${this.actor} is not one — ask ${
        this.approvers.join(" or ")
      }.`
  }
}

/** Removing the realm's last approver, which would leave nobody able to change governance. */
export class LastApprover extends Schema.TaggedError<LastApprover>()("LastApprover", {
  realm: Schema.String,
  approver: Schema.String
}) {
  override get message() {
    return `Cannot remove ${this.approver}: it is the last approver of realm '${this.realm}'; add another approver first (--add-approver EMAIL).`
  }
}

/** A governance change whose values cannot be recorded (an approver email, a grace period, a removal). */
export class InvalidGovernance extends Schema.TaggedError<InvalidGovernance>()("InvalidGovernance", {
  realm: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Cannot change the governance of realm '${this.realm}': ${this.detail}.`
  }
}

/** A domain name that names no domain of the realm. */
export class DomainNotFound extends Schema.TaggedError<DomainNotFound>()("DomainNotFound", {
  realm: Schema.String,
  domain: Schema.String,
  domains: Schema.Array(Schema.String)
}) {
  override get message() {
    return `No domain '${this.domain}' in realm '${this.realm}' (domains: ${
      this.domains.length === 0 ? "none yet" : this.domains.join(", ")
    }); create it with 'blue realm admin domain create'.`
  }
}

/** Approving or rejecting a join request that is not pending. */
export class JoinRequestNotFound extends Schema.TaggedError<JoinRequestNotFound>()("JoinRequestNotFound", {
  realm: Schema.String,
  id: Schema.String,
  pending: Schema.Array(Schema.String)
}) {
  override get message() {
    return `No pending join request '${this.id}' in realm '${this.realm}' (pending: ${
      this.pending.length === 0 ? "none" : this.pending.join(", ")
    }); see them with 'blue realm admin governance'.`
  }
}

/** A command that needs membership, run in a repo whose join request waits for an approver. */
export class JoinPending extends Schema.TaggedError<JoinPending>()("JoinPending", {
  realm: Schema.String,
  repo: Schema.String,
  id: Schema.String,
  approvers: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Repo '${this.repo}' is not a member of realm '${this.realm}' yet: its join request ${this.id} waits for an approver (${
      listOf(this.approvers)
    }) to run 'blue realm admin approve ${this.id}'.`
  }
}

/** Declaring a contract in a domain the acting repo does not provide. */
export class NotDomainProvider extends Schema.TaggedError<NotDomainProvider>()("NotDomainProvider", {
  domain: Schema.String,
  contract: Schema.String,
  repo: Schema.String,
  provides: Schema.Array(Schema.String)
}) {
  override get message() {
    return `'${this.repo}' cannot declare contract '${this.contract}' in domain '${this.domain}': only the domain's provider may, and '${this.repo}' provides ${
      this.provides.length === 0 ? "no domain" : `only ${this.provides.map((d) => `'${d}'`).join(", ")}`
    }.`
  }
}
