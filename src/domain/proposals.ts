/**
 * Contract proposals (SPEC §2.4, the accepted RFC's "Sync Protocol"): a change that affects importers waits on a
 * branch until its importers acknowledge it (or, for a compatible change, its grace period passes) and, when it
 * breaks them under `require_approval`, an approver approves it. Everything here is pure: the merge rule
 * (`mayMerge`) is a function of the folded log and a time the caller passes in, so it is tested with a fake clock.
 */
import { Either } from "effect"
import * as semver from "semver"
import { requireMember } from "./authorization.js"
import type { CommandMeta } from "./commands.js"
import { importersOfContract, type PublishPlan } from "./contracts.js"
import { type DomainError, RealmNotInitialized } from "./errors.js"
import {
  ContractBumped,
  ProposalAcknowledged,
  ProposalAmended,
  ProposalApproved,
  ProposalMerged,
  ProposalOpened,
  ProposalRejected,
  ProposalWithdrawn,
  type RealmEvent
} from "./events.js"
import type { ContractFile } from "./files.js"
import { NotApprover } from "./governanceErrors.js"
import { addDays, governanceOf, mayMerge, openProposalFor, openProposals, proposalIdentity } from "./mergeRule.js"
import { normalizeRange } from "./placeholder.js"
import {
  NotAffectedImporter,
  NotProposalOwner,
  ProposalClosed,
  ProposalConflict,
  ProposalNotFound,
  ProposalNotReady,
  ProposalRangeRejects
} from "./proposalErrors.js"
import type { ProposalState, RealmState } from "./state.js"
import { canonicalJson } from "./valueDiff.js"

export type { ProposalState, ProposalStatus } from "./state.js"

export {
  addDays,
  type Blocker,
  type EffectiveGovernance,
  governanceOf,
  mayMerge,
  openProposalFor,
  openProposals,
  proposalIdentity,
  proposalStamp,
  type Readiness
} from "./mergeRule.js"

/**
 * The events a contract change by its owner becomes when it affects importers: a new proposal, an amendment of the
 * contract's open one (none when it carries this very change already), or its withdrawal when the owner's
 * contract is back to main's. Undefined when the change lands directly (no importer, no open proposal, or the
 * first publish of a placeholder).
 */
export const proposeChange = (
  state: RealmState,
  meta: CommandMeta,
  owner: string,
  domain: string,
  current: ContractFile,
  plan: PublishPlan
): ReadonlyArray<RealmEvent> | undefined => {
  // The first publish of a placeholder lands directly: there is nothing an importer could have relied on.
  if (plan._tag === "Initial") return undefined
  const open = openProposalFor(state, domain, current.name)
  if (plan._tag === "Unchanged") {
    // The owner's contract is back where main has it: the open change is no longer what it exports.
    return open === undefined
      ? []
      : [
        new ProposalWithdrawn({
          id: open.id,
          by: meta.actor.user,
          reason: `${current.name} is back to ${current.version}`
        })
      ]
  }
  const importers = importersOfContract(state, domain, current.name)
    .map((i) => i.repo)
    .filter((r, i, all) => r !== owner && all.indexOf(r) === i)
  if (open === undefined && importers.length === 0) return undefined
  const bump = plan.bump === "none" ? "patch" as const : plan.bump
  const breaking = bump === "major"
  const changes = plan.contract.evolution.at(-1)?.changes ?? []
  const deadline = addDays(meta.time, governanceOf(state, domain).grace_period_days)
  if (open !== undefined) {
    if (open.from === current.version && canonicalJson(open.proposed) === canonicalJson(plan.contract)) return []
    return [
      new ProposalAmended({
        id: open.id,
        from: current.version,
        to: plan.contract.version,
        bump,
        breaking,
        changes,
        proposed: plan.contract,
        deadline
      })
    ]
  }
  const reviewers = importers
    .flatMap((r) => state.repos[r]?.maintainers ?? [])
    .filter((m, i, all) => all.indexOf(m) === i)
  const { branch, id } = proposalIdentity(state, owner, meta.time)
  return [
    new ProposalOpened({
      id,
      repo: owner,
      branch,
      domain,
      contract: current.name,
      from: current.version,
      to: plan.contract.version,
      bump,
      breaking,
      changes,
      proposed: plan.contract,
      importers,
      reviewers,
      deadline
    })
  ]
}

/** A proposal command, as `decide` hands it over. */
export type ProposalCommand =
  | { readonly _tag: "AcknowledgeProposal"; readonly id: string; readonly accept_breaking?: boolean | undefined }
  | { readonly _tag: "ApproveProposal"; readonly id: string }
  | { readonly _tag: "RejectProposal"; readonly id: string; readonly reason?: string | undefined }
  | { readonly _tag: "WithdrawProposal"; readonly id: string; readonly reason: string }
  | { readonly _tag: "MergeProposal"; readonly id: string }

const findProposal = (state: RealmState, id: string): Either.Either<ProposalState, ProposalNotFound> => {
  const p = (state.proposals ?? {})[id]
  return p === undefined
    ? Either.left(new ProposalNotFound({ id, open: openProposals(state).map((o) => o.id) }))
    : Either.right(p)
}

const requireOpen = (p: ProposalState): Either.Either<ProposalState, ProposalClosed> =>
  p.status === "open" ? Either.right(p) : Either.left(new ProposalClosed({ id: p.id, status: p.status }))

const requireApprover = (
  state: RealmState,
  p: ProposalState,
  user: string,
  verb: "approve" | "reject"
): Either.Either<void, NotApprover> => {
  const approvers = governanceOf(state, p.domain).approvers
  return approvers.includes(user)
    ? Either.void
    : Either.left(
      new NotApprover({ realm: state.realm?.name ?? "", actor: user, action: `${verb} proposal ${p.id}`, approvers })
    )
}

/** Decides a proposal command (see `decide`). */
export const decideProposal = (
  command: ProposalCommand,
  state: RealmState,
  meta: CommandMeta
): Either.Either<ReadonlyArray<RealmEvent>, DomainError> =>
  Either.gen(function*() {
    if (state.realm === undefined) return yield* Either.left(new RealmNotInitialized({ path: "" }))
    const realm = state.realm.name
    const proposal = yield* findProposal(state, command.id)
    switch (command._tag) {
      case "AcknowledgeProposal": {
        const actor = yield* requireMember(state, realm, meta.actor.repo)
        yield* requireOpen(proposal)
        if (!proposal.importers.includes(actor)) {
          return yield* Either.left(
            new NotAffectedImporter({ id: proposal.id, repo: actor, importers: proposal.importers })
          )
        }
        if (proposal.acks[actor] !== undefined) return []
        const entry = (state.domains[proposal.domain]?.bindings[actor]?.imports ?? []).find((i) =>
          i.contract === proposal.contract
        )
        if (entry === undefined) {
          return yield* Either.left(
            new NotAffectedImporter({ id: proposal.id, repo: actor, importers: proposal.importers })
          )
        }
        // A range the change breaks is never acknowledged silently: only an explicit ack ("I have seen it and will
        // adapt") records it, marked, and the importer's binding then reads broken after the merge until it re-imports.
        const covered = semver.satisfies(proposal.to, normalizeRange(entry.version))
        if (!covered && command.accept_breaking !== true) {
          return yield* Either.left(
            new ProposalRangeRejects({
              id: proposal.id,
              repo: actor,
              contract: proposal.contract,
              range: entry.version,
              version: proposal.to
            })
          )
        }
        return [
          new ProposalAcknowledged({
            id: proposal.id,
            repo: actor,
            version: proposal.to,
            ...(covered ? {} : { accepted_breaking: true as const })
          })
        ]
      }
      case "ApproveProposal": {
        yield* requireOpen(proposal)
        yield* requireApprover(state, proposal, meta.actor.user, "approve")
        if (meta.actor.user in proposal.approvals) return []
        return [new ProposalApproved({ id: proposal.id, by: meta.actor.user })]
      }
      case "RejectProposal": {
        yield* requireOpen(proposal)
        yield* requireApprover(state, proposal, meta.actor.user, "reject")
        return [
          new ProposalRejected({
            id: proposal.id,
            by: meta.actor.user,
            ...(command.reason === undefined ? {} : { reason: command.reason })
          })
        ]
      }
      case "WithdrawProposal": {
        const actor = yield* requireMember(state, realm, meta.actor.repo)
        yield* requireOpen(proposal)
        if (actor !== proposal.repo) {
          return yield* Either.left(new NotProposalOwner({ id: proposal.id, owner: proposal.repo, actor }))
        }
        return [new ProposalWithdrawn({ id: proposal.id, by: meta.actor.user, reason: command.reason })]
      }
      case "MergeProposal": {
        yield* requireOpen(proposal)
        const readiness = mayMerge(proposal, state, meta.time)
        if (!readiness.ready) {
          return yield* Either.left(
            new ProposalNotReady({ id: proposal.id, blockers: readiness.blockers.map((b) => b.text) })
          )
        }
        // Re-decided against main as it is now: a contract that moved since `from` is a conflict, not a rebase
        // (the importers acknowledged `from → to`; the owner's next publish amends the proposal against main).
        const current = state.domains[proposal.domain]?.contracts[proposal.contract]
        if (current === undefined || current.version !== proposal.from) {
          return yield* Either.left(
            new ProposalConflict({
              id: proposal.id,
              contract: proposal.contract,
              from: proposal.from,
              current: current?.version ?? "gone"
            })
          )
        }
        return [
          new ProposalMerged({ id: proposal.id }),
          new ContractBumped({
            domain: proposal.domain,
            from: proposal.from,
            bump: proposal.bump,
            contract: proposal.proposed
          })
        ]
      }
    }
  })
