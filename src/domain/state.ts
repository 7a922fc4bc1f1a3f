/**
 * The realm as the events describe it: the write model that `decide` reads and the source every realm file is
 * rendered from. Plain JSON-compatible records so that snapshots are `JSON.stringify` away.
 */
import type { RealmEvent } from "./events.js"
import type { BindingFile, ContractFile, DomainFile, RealmFile, RepoFile } from "./files.js"

/** One domain with its contracts and bindings. */
export interface DomainState {
  readonly file: DomainFile
  readonly contracts: Readonly<Record<string, ContractFile>>
  readonly bindings: Readonly<Record<string, BindingFile>>
}

/** The folded realm. `position` is the position of the last event folded in (0 before any). */
export interface RealmState {
  readonly realm: RealmFile | undefined
  readonly position: number
  readonly repos: Readonly<Record<string, RepoFile>>
  readonly domains: Readonly<Record<string, DomainState>>
}

/** The state before the first event. */
export const initialState: RealmState = { realm: undefined, position: 0, repos: {}, domains: {} }

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type DraftDomain = Mutable<DomainState> & {
  contracts: Record<string, ContractFile>
  bindings: Record<string, BindingFile>
}

/** A working copy that a fold may mutate: containers are copied, file records are shared and never mutated. */
export interface Draft {
  realm: RealmFile | undefined
  position: number
  repos: Record<string, RepoFile>
  domains: Record<string, DraftDomain>
}

/** Copies the containers of `state` so that `apply` can mutate them without touching `state`. */
export const draftOf = (state: RealmState): Draft => {
  const domains: Record<string, DraftDomain> = {}
  for (const name in state.domains) {
    const d = state.domains[name]!
    domains[name] = { file: d.file, contracts: { ...d.contracts }, bindings: { ...d.bindings } }
  }
  return { realm: state.realm, position: state.position, repos: { ...state.repos }, domains }
}

/**
 * Applies one event to a draft in place. Records taken from events (repo, domain, contract, binding files) are
 * stored as they are and replaced, never edited, so events and earlier states stay untouched.
 */
export const apply = (draft: Draft, event: RealmEvent): void => {
  switch (event._tag) {
    case "RealmInitialized":
      draft.realm = event.realm
      return
    case "RepoJoined":
      draft.repos[event.repo.name] = event.repo
      return
    case "RepoLeft": {
      delete draft.repos[event.repo]
      for (const name in draft.domains) {
        const domain = draft.domains[name]!
        if (domain.file.members.includes(event.repo)) {
          domain.file = { ...domain.file, members: domain.file.members.filter((m) => m !== event.repo) }
        }
        delete domain.bindings[event.repo]
      }
      return
    }
    case "DomainCreated":
      draft.domains[event.domain.name] = { file: event.domain, contracts: {}, bindings: {} }
      return
    case "ContractPublished":
    case "ContractBumped": {
      const domain = draft.domains[event.domain]
      if (domain !== undefined) domain.contracts[event.contract.name] = event.contract
      return
    }
    case "BindingDeclared": {
      const domain = draft.domains[event.domain]
      if (domain === undefined) return
      domain.bindings[event.binding.repo] = event.binding
      // Declaring a binding makes the repo a member of the domain.
      if (!domain.file.members.includes(event.binding.repo)) {
        domain.file = { ...domain.file, members: [...domain.file.members, event.binding.repo] }
      }
      return
    }
  }
}

/** Folds one event into the state (pure: the input state is not changed; `position` is the caller's). */
export const evolve = (state: RealmState, event: RealmEvent): RealmState => {
  const draft = draftOf(state)
  apply(draft, event)
  return draft
}
