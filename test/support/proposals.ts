/**
 * Landing a contract proposal in decider specs, the way the protocol does it: every importer whose range rejects
 * the new version widens it, every importer acknowledges, an approver approves a breaking change, then the
 * proposal merges (ProposalMerged + ContractBumped). Pure: decide and fold are the spec's own.
 */
import { Either } from "effect"
import * as semver from "semver"
import type { Command } from "../../src/domain/commands.js"
import { decide } from "../../src/domain/decide.js"
import type { ContractBumped, ProposalOpened, RealmEvent } from "../../src/domain/events.js"
import { normalizeRange } from "../../src/domain/placeholder.js"
import { initialState, type RealmState } from "../../src/domain/state.js"
import type { Envelope } from "../../src/events/envelope.js"
import { foldEnvelopes } from "../../src/projections/fold.js"

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

type Envelopes = Array<Pick<Envelope, "id" | "position" | "event" | "time" | "actor">>

/** A realm as a log: commands are decided against its state and their events appended with time and actor. */
export class World {
  state: RealmState = initialState
  readonly log: Envelopes = []
  /** the time commands and appended events get unless they say otherwise */
  now = "2026-01-24T10:00:00.000Z"

  decide(command: Command, as: { repo?: string; user?: string; time?: string } = {}) {
    const actor = { ...(as.repo === undefined ? {} : { repo: as.repo }), user: as.user ?? `${as.repo}@example.com` }
    return decide(command, this.state, { time: as.time ?? this.now, actor })
  }

  /** Decides and appends; throws on a refusal. */
  run(command: Command, as: { repo?: string; user?: string; time?: string } = {}): ReadonlyArray<RealmEvent> {
    const result = this.decide(command, as)
    if (Either.isLeft(result)) throw new Error(`${command._tag} refused: ${result.left.message}`)
    this.append(result.right, as)
    return result.right
  }

  /** Appends events as they are (for givens no command produces). */
  append(events: ReadonlyArray<RealmEvent>, as: { repo?: string; user?: string; time?: string } = {}) {
    const actor = { ...(as.repo === undefined ? {} : { repo: as.repo }), user: as.user ?? `${as.repo}@example.com` }
    const envs = events.map((event, i) => ({
      id: `E${this.state.position + i + 1}`,
      position: this.state.position + i + 1,
      time: as.time ?? this.now,
      actor,
      event
    }))
    this.state = foldEnvelopes(this.state, envs)
    this.log.push(...envs)
  }

  /** The refusal of a command (throws when it is accepted). */
  refusal(command: Command, as: { repo?: string; user?: string; time?: string } = {}) {
    const result = this.decide(command, as)
    if (Either.isRight(result)) throw new Error(`expected a refusal, got ${result.right.map((e) => e._tag)}`)
    return result.left as unknown as { _tag: string; message: string } & Record<string, unknown>
  }

  /** The proposal `id` (which must exist). */
  proposal(id: string) {
    return this.state.proposals[id]!
  }
}
