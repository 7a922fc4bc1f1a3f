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

const omit = <A>(record: Readonly<Record<string, A>>, key: string): Readonly<Record<string, A>> => {
  if (!(key in record)) return record
  const { [key]: _, ...rest } = record
  return rest
}

const withDomain = (
  state: RealmState,
  name: string,
  f: (domain: DomainState) => DomainState
): RealmState => {
  const domain = state.domains[name]
  return domain === undefined ? state : { ...state, domains: { ...state.domains, [name]: f(domain) } }
}

/** Folds one event into the state (pure; `position` is set by the caller's fold). */
export const evolve = (state: RealmState, event: RealmEvent): RealmState => {
  switch (event._tag) {
    case "RealmInitialized":
      return { ...state, realm: event.realm }
    case "RepoJoined":
      return { ...state, repos: { ...state.repos, [event.repo.name]: event.repo } }
    case "RepoLeft": {
      const domains: Record<string, DomainState> = {}
      for (const [name, domain] of Object.entries(state.domains)) {
        const touched = domain.file.members.includes(event.repo) || event.repo in domain.bindings
        domains[name] = touched
          ? {
            ...domain,
            file: { ...domain.file, members: domain.file.members.filter((m) => m !== event.repo) },
            bindings: omit(domain.bindings, event.repo)
          }
          : domain
      }
      return { ...state, repos: omit(state.repos, event.repo), domains }
    }
    case "DomainCreated":
      return {
        ...state,
        domains: { ...state.domains, [event.domain.name]: { file: event.domain, contracts: {}, bindings: {} } }
      }
    case "ContractPublished":
      return withDomain(state, event.domain, (d) => ({
        ...d,
        contracts: { ...d.contracts, [event.contract.name]: event.contract }
      }))
    case "BindingDeclared":
      return withDomain(state, event.domain, (d) => ({
        ...d,
        bindings: { ...d.bindings, [event.binding.repo]: event.binding }
      }))
  }
}
