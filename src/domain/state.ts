/**
 * The realm as the events describe it: the write model that `decide` reads and the source every realm file is
 * rendered from. Plain JSON-compatible records so that snapshots are `JSON.stringify` away.
 */
import type { ContractBumped, ContractPublished, RealmEvent } from "./events.js"
import type { BindingFile, ContractFile, DomainFile, RealmFile, RepoFile } from "./files.js"
import { foldGovernance, type GovernanceState, mergeGovernance } from "./governanceState.js"
import { standingOf } from "./placeholder.js"
import { type CoordinatedChange, evolveWorktrees } from "./worktrees.js"

/** One domain with its contracts and bindings. */
export interface DomainState {
  readonly file: DomainFile
  readonly contracts: Readonly<Record<string, ContractFile>>
  readonly bindings: Readonly<Record<string, BindingFile>>
}

/**
 * A contract change waiting for one importing repo to acknowledge it. Its id is the position of the event that
 * changed the contract; each importer has its own.
 */
export interface PendingNotification {
  readonly id: string
  readonly repo: string
  readonly domain: string
  readonly contract: string
  readonly version: string
  readonly from_repo: string
  readonly change_type: "updated" | "breaking" | "new"
  readonly changes: ReadonlyArray<string>
  readonly created_at: string
  /** the proposal this notification asks the importer to answer (absent for a change that landed on main) */
  readonly proposal?: string
}

/**
 * One contract change and how its importers answered it, for the owner's status: `importers` maps each importing
 * repo to the time it acknowledged (null while it is still pending). Kept for each contract's latest change and
 * for older ones until every importer has answered (at most `KEPT_CHANGES` per contract).
 */
export interface ChangeAcks {
  readonly id: string
  readonly domain: string
  readonly contract: string
  readonly version: string
  readonly from_repo: string
  readonly change_type: "updated" | "breaking" | "new"
  readonly created_at: string
  readonly importers: Readonly<Record<string, string | null>>
  /** the proposal whose acknowledgements these are (absent for a change that landed on main) */
  readonly proposal?: string
}

/** Where a proposal stands. */
export type ProposalStatus = "open" | "merged" | "rejected" | "withdrawn"

/**
 * A contract proposal (see `proposals.ts`): the change it carries (as last opened or amended), who must answer it,
 * who did (`acks`: repo → time, `approvals`: approver → time) and how it ended.
 */
export interface ProposalState {
  readonly id: string
  readonly repo: string
  readonly branch: string
  readonly domain: string
  readonly contract: string
  readonly from: string
  readonly to: string
  readonly bump: "patch" | "minor" | "major"
  readonly breaking: boolean
  readonly changes: ReadonlyArray<string>
  readonly proposed: ContractFile
  readonly importers: ReadonlyArray<string>
  readonly reviewers: ReadonlyArray<string>
  readonly deadline: string
  readonly status: ProposalStatus
  readonly acks: Readonly<Record<string, string>>
  readonly approvals: Readonly<Record<string, string>>
  readonly opened_at: string
  readonly amended_at?: string
  readonly closed_at?: string
  readonly closed_by?: string
  readonly reason?: string
}

/** How many changes of one contract the owner's acknowledgement view keeps (the latest and those still waiting). */
export const KEPT_CHANGES = 10

/** The folded realm. `position` is the position of the last event folded in (0 before any). */
export interface RealmState {
  readonly realm: RealmFile | undefined
  readonly position: number
  readonly repos: Readonly<Record<string, RepoFile>>
  readonly domains: Readonly<Record<string, DomainState>>
  /** unacknowledged notifications, keyed `<id>:<repo>` */
  readonly pending: Readonly<Record<string, PendingNotification>>
  /** contract changes with their acknowledgements, per contract (keyed `<domain>/<contract>`), oldest first */
  readonly changes: Readonly<Record<string, ReadonlyArray<ChangeAcks>>>
  /** every proposal ever opened, by id, in the order they were opened */
  readonly proposals: Readonly<Record<string, ProposalState>>
  /** invitations, join requests and domain governance overrides (absent until the first governance event) */
  readonly governance?: GovernanceState
  /** coordinated changes by branch (absent before the first, so older snapshots stay valid) */
  readonly worktrees?: Readonly<Record<string, CoordinatedChange>>
}

/** Bump when RealmState changes shape: older snapshots are ignored and rebuilt from the log. */
export const SNAPSHOT_FORMAT = 4

/** The state before the first event. */
export const initialState: RealmState = {
  realm: undefined,
  position: 0,
  repos: {},
  domains: {},
  pending: {},
  changes: {},
  proposals: {}
}

/** The key of a pending notification. */
export const pendingKey = (id: string, repo: string) => `${id}:${repo}`

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
  pending: Record<string, PendingNotification>
  changes: Record<string, ReadonlyArray<ChangeAcks>>
  proposals: Record<string, ProposalState>
  governance?: GovernanceState
  worktrees?: Readonly<Record<string, CoordinatedChange>>
}

/** The domains a draft has copied for writing (the others are still shared with the state it came from). */
const ownDomains = new WeakMap<Draft, Set<string>>()

/** The top-level maps a draft has copied for writing (the others are still the state's). */
type TopLevel = "repos" | "domains" | "pending" | "changes" | "proposals"
const ownMaps = new WeakMap<Draft, Set<TopLevel>>()

/**
 * A draft over `state` that `apply` can mutate without touching `state`. Its maps are the state's until an event
 * writes to one (`writable`), and a domain's own containers are copied only when an event writes to that domain
 * (`writableDomain`): copying them all made every fold, and so every append, cost time in proportion to the realm.
 */
export const draftOf = (state: RealmState): Draft => {
  const draft: Draft = {
    realm: state.realm,
    position: state.position,
    repos: state.repos as Record<string, RepoFile>,
    domains: state.domains as Record<string, DraftDomain>,
    pending: (state.pending ?? {}) as Record<string, PendingNotification>,
    changes: (state.changes ?? {}) as Record<string, ReadonlyArray<ChangeAcks>>,
    proposals: (state.proposals ?? {}) as Record<string, ProposalState>,
    ...(state.governance === undefined ? {} : { governance: state.governance }),
    ...(state.worktrees === undefined ? {} : { worktrees: state.worktrees })
  }
  ownDomains.set(draft, new Set())
  ownMaps.set(draft, new Set())
  return draft
}

/** The draft's own copy of one of its top-level maps, made on the first write to it. */
const writable = <K extends TopLevel>(draft: Draft, key: K): Draft[K] => {
  let own = ownMaps.get(draft)
  if (own === undefined) ownMaps.set(draft, own = new Set())
  if (!own.has(key)) {
    draft[key] = { ...draft[key] }
    own.add(key)
  }
  return draft[key]
}

/** The domain `name` of `draft`, copied on its first write so that the state the draft came from stays untouched. */
const writableDomain = (draft: Draft, name: string): DraftDomain | undefined => {
  const domain = draft.domains[name]
  if (domain === undefined) return undefined
  let own = ownDomains.get(draft)
  if (own === undefined) ownDomains.set(draft, own = new Set())
  if (own.has(name)) return domain
  const copy: DraftDomain = {
    file: domain.file,
    contracts: { ...domain.contracts },
    bindings: { ...domain.bindings }
  }
  writable(draft, "domains")[name] = copy
  own.add(name)
  return copy
}

/** One change to tell importers about: a pending notification for each importer not in `answered`. */
interface Raised {
  readonly id: string
  readonly domain: string
  readonly contract: string
  readonly version: string
  readonly from_repo: string
  readonly change_type: "updated" | "breaking" | "new"
  readonly changes: ReadonlyArray<string>
  readonly created_at: string
  readonly importers: ReadonlyArray<string>
  /** importers that already answered this change (repo → time): no notification, acknowledged in ChangeAcks */
  readonly answered?: Readonly<Record<string, string>>
  readonly proposal?: string
}

/**
 * Raises the notifications of one change (keyed by `id`, the position of the event) and records it in the owner's
 * acknowledgement view.
 */
const raise = (draft: Draft, r: Raised) => {
  const { answered, importers: repos, ...common } = r
  const importers: Record<string, string | null> = {}
  for (const repo of repos) {
    const at = answered?.[repo]
    importers[repo] = at ?? null
    if (at !== undefined) continue
    const { created_at, proposal, ...rest } = common
    writable(draft, "pending")[pendingKey(r.id, repo)] = {
      ...rest,
      repo,
      created_at,
      ...(proposal === undefined ? {} : { proposal })
    }
  }
  if (Object.keys(importers).length === 0) return
  const key = `${r.domain}/${r.contract}`
  // Older changes of this contract that every importer has answered make way for this one; of those still waiting,
  // the last few stay in the owner's view (each importer keeps all of its own as pending notifications).
  const waiting = (draft.changes[key] ?? []).slice(-(KEPT_CHANGES - 1)).filter((c) =>
    Object.values(c.importers).some((t) => t === null)
  )
  writable(draft, "changes")[key] = [...waiting, {
    id: r.id,
    domain: r.domain,
    contract: r.contract,
    version: r.version,
    from_repo: r.from_repo,
    change_type: r.change_type,
    created_at: r.created_at,
    importers,
    ...(r.proposal === undefined ? {} : { proposal: r.proposal })
  }]
}

/**
 * The notifications a contract event raises, one per importing repo of the contract in its domain (the bindings
 * of `draft` before the event). `position` becomes the id. The bump a merged proposal lands does not notify the
 * importers that acknowledged that proposal (they already answered this very change).
 */
const notify = (
  draft: Draft,
  event: ContractPublished | ContractBumped,
  position: number,
  time: string,
  actor?: string
) => {
  const domain = draft.domains[event.domain]
  if (domain === undefined) return
  const before = domain.contracts[event.contract.name]
  // The placeholder `domain create` writes announces nothing; its first real value is "new".
  const changeType = event._tag === "ContractPublished"
    ? (before === undefined ? undefined : "new" as const)
    : event.bump === "major"
    ? "breaking" as const
    : "updated" as const
  if (changeType === undefined) return
  const merged = event._tag === "ContractBumped" ? mergedProposalOf(draft, event) : undefined
  raise(draft, {
    id: String(position),
    domain: event.domain,
    contract: event.contract.name,
    version: event.contract.version,
    // A merge may be made by any repo: the change is still the owner's.
    from_repo: merged?.repo ?? actor ?? event.contract.owner,
    change_type: changeType,
    changes: event.contract.evolution.at(-1)?.changes ?? [],
    created_at: time,
    importers: Object.values(domain.bindings)
      .filter((b) => (b.imports ?? []).some((i) => i.contract === event.contract.name))
      .map((b) => b.repo),
    ...(merged === undefined ? {} : { answered: merged.acks })
  })
}

/** The merged proposal whose change `event` lands (a contract reaches each version once, so `to` identifies it). */
const mergedProposalOf = (draft: Draft, event: ContractBumped): ProposalState | undefined =>
  Object.values(draft.proposals).find((p) =>
    p.status === "merged" && p.domain === event.domain && p.contract === event.contract.name &&
    p.to === event.contract.version
  )

/** Raises the notifications of an opened or amended proposal for each of its importers. */
const notifyProposal = (draft: Draft, p: ProposalState, position: number, time: string) =>
  raise(draft, {
    id: String(position),
    domain: p.domain,
    contract: p.contract,
    version: p.to,
    from_repo: p.repo,
    change_type: p.breaking ? "breaking" : "updated",
    changes: p.changes,
    created_at: time,
    importers: p.importers,
    proposal: p.id
  })

/** Clears the pending notifications of proposal `id` (for `repo` only, when given). */
const clearProposalNotifications = (draft: Draft, id: string, repo?: string) => {
  for (const [key, n] of Object.entries(draft.pending)) {
    if (n.proposal === id && (repo === undefined || n.repo === repo)) delete writable(draft, "pending")[key]
  }
}

/** Drops proposal `p`'s entries from the owner's acknowledgement view (it was amended, merged or closed). */
const dropProposalChanges = (draft: Draft, p: ProposalState) => {
  const key = `${p.domain}/${p.contract}`
  const list = draft.changes[key]
  if (list === undefined || !list.some((c) => c.proposal === p.id)) return
  const rest = list.filter((c) => c.proposal !== p.id)
  if (rest.length === 0) delete writable(draft, "changes")[key]
  else writable(draft, "changes")[key] = rest
}

/** Replaces proposal `id` with `change(it)`, when it exists. */
const updateProposal = (draft: Draft, id: string, change: (p: ProposalState) => ProposalState) => {
  const p = draft.proposals[id]
  if (p !== undefined) writable(draft, "proposals")[id] = change(p)
  return draft.proposals[id]
}

/**
 * The importers' bindings whose recorded `status` no longer matches `contract` (new records; the others are left
 * alone), so the realm's binding files stay true when the contract moves on.
 */
export const restatedBindings = (
  bindings: Readonly<Record<string, BindingFile>>,
  contract: ContractFile
): ReadonlyArray<BindingFile> =>
  Object.values(bindings).flatMap((b) => {
    let changed = false
    const imports = (b.imports ?? []).map((i) => {
      if (i.contract !== contract.name) return i
      const status = standingOf(i, contract)
      if (status === i.status) return i
      changed = true
      return { ...i, status }
    })
    return changed ? [{ ...b, imports }] : []
  })

/**
 * Applies one event to a draft in place. Records taken from events (repo, domain, contract, binding files) are
 * stored as they are and replaced, never edited, so events and earlier states stay untouched.
 */
export const apply = (
  draft: Draft,
  event: RealmEvent,
  meta: { readonly position: number; readonly time: string; readonly actor?: string } = {
    position: draft.position + 1,
    time: ""
  }
): void => {
  switch (event._tag) {
    case "RealmInitialized":
      draft.realm = event.realm
      return
    case "RepoJoined":
      writable(draft, "repos")[event.repo.name] = event.repo
      if (draft.governance !== undefined) draft.governance = foldGovernance(draft.governance, event, meta.time)
      return
    case "RepoLeft": {
      delete writable(draft, "repos")[event.repo]
      for (const key of Object.keys(draft.pending)) {
        if (draft.pending[key]!.repo === event.repo) delete writable(draft, "pending")[key]
      }
      for (const key of Object.keys(draft.changes)) {
        if (!draft.changes[key]!.some((change) => event.repo in change.importers)) continue
        writable(draft, "changes")[key] = draft.changes[key]!.map((change) => {
          if (!(event.repo in change.importers)) return change
          const { [event.repo]: _gone, ...rest } = change.importers
          return { ...change, importers: rest }
        })
      }
      for (const [id, p] of Object.entries(draft.proposals)) {
        if (p.status !== "open" || !p.importers.includes(event.repo)) continue
        const { [event.repo]: _ack, ...acks } = p.acks
        writable(draft, "proposals")[id] = { ...p, importers: p.importers.filter((r) => r !== event.repo), acks }
      }
      for (const name in draft.domains) {
        const seen = draft.domains[name]!
        if (!seen.file.members.includes(event.repo) && !(event.repo in seen.bindings)) continue
        const domain = writableDomain(draft, name)!
        if (domain.file.members.includes(event.repo)) {
          domain.file = { ...domain.file, members: domain.file.members.filter((m) => m !== event.repo) }
        }
        delete domain.bindings[event.repo]
      }
      return
    }
    case "DomainCreated":
      writable(draft, "domains")[event.domain.name] = { file: event.domain, contracts: {}, bindings: {} }
      ownDomains.get(draft)?.add(event.domain.name)
      return
    case "ContractPublished":
    case "ContractBumped": {
      notify(draft, event, meta.position, meta.time, meta.actor)
      const domain = writableDomain(draft, event.domain)
      if (domain === undefined) return
      domain.contracts[event.contract.name] = event.contract
      for (const b of restatedBindings(domain.bindings, event.contract)) domain.bindings[b.repo] = b
      return
    }
    case "NotificationAcknowledged": {
      const pending = draft.pending[pendingKey(event.id, event.repo)]
      if (pendingKey(event.id, event.repo) in draft.pending) {
        delete writable(draft, "pending")[pendingKey(event.id, event.repo)]
      }
      const key = `${pending?.domain}/${event.contract}`
      const list = draft.changes[key]
      // Dismissing a proposal's notification is not acknowledging the proposal (ProposalAcknowledged is).
      if (pending === undefined || list === undefined || pending.proposal !== undefined) return
      writable(draft, "changes")[key] = list.map((c) =>
        c.id === event.id && c.importers[event.repo] === null
          ? { ...c, importers: { ...c.importers, [event.repo]: meta.time } }
          : c
      )
      return
    }
    case "ProposalOpened": {
      const { _tag, ...fields } = event
      const p: ProposalState = { ...fields, status: "open", acks: {}, approvals: {}, opened_at: meta.time }
      writable(draft, "proposals")[event.id] = p
      notifyProposal(draft, p, meta.position, meta.time)
      return
    }
    case "ProposalAmended": {
      const before = draft.proposals[event.id]
      if (before === undefined) return
      clearProposalNotifications(draft, event.id)
      dropProposalChanges(draft, before)
      const { _tag, id: _id, ...fields } = event
      const p = updateProposal(draft, event.id, (p) => ({
        ...p,
        ...fields,
        acks: {},
        approvals: {},
        amended_at: meta.time
      }))!
      notifyProposal(draft, p, meta.position, meta.time)
      return
    }
    case "ProposalAcknowledged": {
      const p = updateProposal(draft, event.id, (p) => ({ ...p, acks: { ...p.acks, [event.repo]: meta.time } }))
      if (p === undefined) return
      clearProposalNotifications(draft, event.id, event.repo)
      const key = `${p.domain}/${p.contract}`
      const list = draft.changes[key]
      if (list === undefined) return
      writable(draft, "changes")[key] = list.map((c) =>
        c.proposal === event.id && c.importers[event.repo] === null
          ? { ...c, importers: { ...c.importers, [event.repo]: meta.time } }
          : c
      )
      return
    }
    case "ProposalApproved":
      updateProposal(draft, event.id, (p) => ({ ...p, approvals: { ...p.approvals, [event.by]: meta.time } }))
      return
    case "ProposalRejected":
    case "ProposalWithdrawn":
    case "ProposalMerged": {
      const status = event._tag === "ProposalRejected"
        ? "rejected" as const
        : event._tag === "ProposalWithdrawn"
        ? "withdrawn" as const
        : "merged" as const
      const p = updateProposal(draft, event.id, (p) => ({
        ...p,
        status,
        closed_at: meta.time,
        ...(event._tag === "ProposalMerged" ? {} : { closed_by: event.by }),
        ...(event._tag === "ProposalMerged" || event.reason === undefined ? {} : { reason: event.reason })
      }))
      if (p === undefined) return
      clearProposalNotifications(draft, event.id)
      dropProposalChanges(draft, p)
      return
    }
    case "BindingDeclared": {
      const domain = writableDomain(draft, event.domain)
      if (domain === undefined) return
      domain.bindings[event.binding.repo] = event.binding
      // Declaring a binding makes the repo a member of the domain.
      if (!domain.file.members.includes(event.binding.repo)) {
        domain.file = { ...domain.file, members: [...domain.file.members, event.binding.repo] }
      }
      return
    }
    case "GovernanceChanged":
      if (event.domain === undefined) {
        if (draft.realm !== undefined) {
          draft.realm = { ...draft.realm, governance: mergeGovernance(draft.realm.governance, event.governance) }
        }
        return
      }
      draft.governance = foldGovernance(draft.governance, event, meta.time)
      return
    case "JoinApproved":
      writable(draft, "repos")[event.repo.name] = event.repo
      draft.governance = foldGovernance(draft.governance, event, meta.time)
      return
    case "RepoInvited":
    case "JoinRequested":
    case "JoinRejected":
      draft.governance = foldGovernance(draft.governance, event, meta.time)
      return
    case "WorktreeCreated":
    case "WorktreeCommitted":
    case "WorktreePushed":
    case "WorktreePullsRecorded":
    case "WorktreeRemoved":
      draft.worktrees = evolveWorktrees(draft.worktrees ?? {}, event)
      return
  }
}

/** Folds one event into the state (pure: the input state is not changed; `position` is the caller's). */
export const evolve = (state: RealmState, event: RealmEvent): RealmState => {
  const draft = draftOf(state)
  apply(draft, event)
  return draft
}
