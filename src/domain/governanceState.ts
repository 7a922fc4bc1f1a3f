/**
 * The governance part of the folded realm state and its fold, kept free of Effect (types only from the rest of the
 * domain): `state.ts` folds through it, and the status fast path (src/cli/fastStatus.ts) loads `state.ts` without
 * Effect.
 */
import type { RealmEvent } from "./events.js"
import type { DomainGovernanceFile, Governance as GovernanceSchema, RepoFile } from "./files.js"
import type { GovernanceEvent } from "./governanceEvents.js"

type Governance = typeof GovernanceSchema.Type

/** A join request waiting for an approver. */
export interface JoinRequest {
  readonly id: string
  readonly repo: RepoFile
  readonly requested_at: string
}

/** An invitation not yet used by a join. */
export interface Invitation {
  readonly repo: string
  readonly by: string
  readonly invited_at: string
}

/** The governance a realm's events add to its files: invitations, join requests, per-domain overrides. */
export interface GovernanceState {
  /** unused invitations, by repo name */
  readonly invitations: Readonly<Record<string, Invitation>>
  /** pending join requests, by id */
  readonly requests: Readonly<Record<string, JoinRequest>>
  /** domains/<domain>/governance.yaml, by domain */
  readonly domains: Readonly<Record<string, DomainGovernanceFile>>
}

/** The governance state before any governance event. */
export const emptyGovernance: GovernanceState = { invitations: {}, requests: {}, domains: {} }

/** Folds a governance event (or a join, which uses up an invitation) into the governance state. */
export const foldGovernance = (
  gov: GovernanceState | undefined,
  event: GovernanceEvent | Extract<RealmEvent, { _tag: "RepoJoined" }>,
  time: string
): GovernanceState => {
  const g = gov ?? emptyGovernance
  const without = <T>(record: Readonly<Record<string, T>>, key: string) => {
    const { [key]: _gone, ...rest } = record
    return rest
  }
  switch (event._tag) {
    case "GovernanceChanged":
      return event.domain === undefined ? g : { ...g, domains: { ...g.domains, [event.domain]: event.governance } }
    case "RepoInvited":
      return {
        ...g,
        invitations: { ...g.invitations, [event.repo]: { repo: event.repo, by: event.by, invited_at: time } }
      }
    case "JoinRequested":
      return { ...g, requests: { ...g.requests, [event.id]: { id: event.id, repo: event.repo, requested_at: time } } }
    case "JoinApproved":
      return { ...g, requests: without(g.requests, event.id), invitations: without(g.invitations, event.repo.name) }
    case "JoinRejected":
      return { ...g, requests: without(g.requests, event.id) }
    case "RepoJoined":
      return event.repo.name in g.invitations ? { ...g, invitations: without(g.invitations, event.repo.name) } : g
  }
}

/** realm.yaml's governance after a realm-wide GovernanceChanged. */
export const mergeGovernance = (current: Governance, next: DomainGovernanceFile): Governance => ({
  admission: next.admission ?? current.admission,
  approvers: next.approvers ?? current.approvers,
  breaking_changes: {
    require_approval: next.breaking_changes?.require_approval ?? current.breaking_changes.require_approval,
    grace_period_days: next.breaking_changes?.grace_period_days ?? current.breaking_changes.grace_period_days
  }
})
