/**
 * Landing a contract proposal in decider specs, the way the protocol does it: every importer whose range rejects
 * the new version widens it, every importer acknowledges, an approver approves a breaking change, then the
 * proposal merges (ProposalMerged + ContractBumped). Pure: decide and fold are the spec's own.
 */
import { Either } from "effect"
import * as semver from "semver"
import type { Command } from "../../src/domain/commands.js"
import type { ContractBumped, ProposalOpened, RealmEvent } from "../../src/domain/events.js"
import { normalizeRange } from "../../src/domain/placeholder.js"
import type { RealmState } from "../../src/domain/state.js"

/** How a spec decides a command (as `repo`, or as no repo, by `user`) and folds events. */
export interface Spec {
  readonly decide: (
    state: RealmState,
    command: Command,
    repo: string | undefined,
    user: string
  ) => Either.Either<ReadonlyArray<RealmEvent>, unknown>
  readonly fold: (state: RealmState, events: ReadonlyArray<RealmEvent>) => RealmState
}

const run = (spec: Spec, state: RealmState, command: Command, repo: string | undefined, user: string) => {
  const result = spec.decide(state, command, repo, user)
  if (Either.isLeft(result)) throw new Error(`${command._tag} refused: ${JSON.stringify(result.left)}`)
  return { events: result.right, state: spec.fold(state, result.right) }
}

/**
 * Lands proposal `id` (answers, approval, merge) and returns the merge's events, the bump it landed and the
 * state after it.
 */
export const landProposal = (
  spec: Spec,
  state: RealmState,
  id: string,
  approver: string
): { readonly events: ReadonlyArray<RealmEvent>; readonly bumped: ContractBumped; readonly state: RealmState } => {
  let s = state
  const p = s.proposals[id]
  if (p === undefined) throw new Error(`no proposal ${id}`)
  for (const repo of p.importers) {
    const entry = (s.domains[p.domain]!.bindings[repo]!.imports ?? []).find((i) => i.contract === p.contract)!
    if (!semver.satisfies(p.to, normalizeRange(entry.version))) {
      const command: Command = {
        _tag: "DeclareImport",
        contract: p.contract,
        domain: p.domain,
        version: `^${semver.major(p.to)}.0.0`
      }
      s = run(spec, s, command, repo, approver).state
    }
    s = run(spec, s, { _tag: "AcknowledgeProposal", id }, repo, approver).state
  }
  if (p.breaking) s = run(spec, s, { _tag: "ApproveProposal", id }, undefined, approver).state
  const merged = run(spec, s, { _tag: "MergeProposal", id }, undefined, approver)
  if (merged.events.map((e) => e._tag).join() !== "ProposalMerged,ContractBumped") {
    throw new Error(`merge gave ${merged.events.map((e) => e._tag).join()}`)
  }
  return { events: merged.events, bumped: merged.events[1] as ContractBumped, state: merged.state }
}

/** The proposal a publish opened (its only event), or an error naming what it gave instead. */
export const openedBy = (events: ReadonlyArray<RealmEvent>): ProposalOpened => {
  if (events.length !== 1 || events[0]!._tag !== "ProposalOpened") {
    throw new Error(`expected one ProposalOpened, got ${events.map((e) => e._tag).join()}`)
  }
  return events[0] as ProposalOpened
}
