/**
 * Who may do what in a realm, in one place: the decider refuses a command with these rules, and
 * `check --mode realm` judges recorded commits (Blue commits by their events, hand-made ones by the files they
 * touch under trust.permissions) with the same ones. Pure: no IO.
 */
import { Either } from "effect"
import { AdmissionRequired, JoinPending, NotContractOwner, RepoNotInRealm } from "./errors.js"
import type { RealmEvent } from "./events.js"
import type { RealmFile } from "./files.js"
import { approversOf, mayGovern, pendingRequestOf } from "./governance.js"
import type { RealmState } from "./state.js"

/** The maintainers (emails) recorded for a member repo; none for a repo that is not a member. */
export const maintainersOf = (state: RealmState, repo: string): ReadonlyArray<string> =>
  state.repos[repo]?.maintainers ?? []

/** Whether `repo` is a member of the realm. */
export const isMember = (state: RealmState, repo: string): boolean => repo in state.repos

/**
 * The acting repo when it is a member, or why it may not act (no repo, not a member, or a member-to-be whose join
 * request waits for an approver).
 */
export const requireMember = (
  state: RealmState,
  realm: string,
  repo: string | undefined
): Either.Either<string, RepoNotInRealm | JoinPending> => {
  if (repo !== undefined && isMember(state, repo)) return Either.right(repo)
  const request = repo === undefined ? undefined : pendingRequestOf(state, repo)
  if (repo !== undefined && request !== undefined) {
    return Either.left(new JoinPending({ realm, repo, id: request.id, approvers: [...approversOf(state)] }))
  }
  return Either.left(new RepoNotInRealm({ realm, repo: repo ?? "(no repo: run this inside a member repo)" }))
}

/** Whether a repo may join by itself: only under open admission (otherwise an approver admits it). */
export const requireOpenAdmission = (realm: RealmFile, repo: string): Either.Either<void, AdmissionRequired> =>
  realm.governance.admission === "open"
    ? Either.void
    : Either.left(new AdmissionRequired({ realm: realm.name, repo, admission: realm.governance.admission }))

/** Whether `actor` may publish or bump a contract: only its owner may. */
export const mayChangeContract = (owner: string, actor: string | undefined): boolean => actor === owner

/** The owner-only rule of export as the decider's refusal. */
export const requireContractOwner = (
  contract: { readonly name: string; readonly owner: string },
  actor: string
): Either.Either<void, NotContractOwner> =>
  mayChangeContract(contract.owner, actor)
    ? Either.void
    : Either.left(new NotContractOwner({ contract: contract.name, owner: contract.owner, actor }))

/** Whether `actor` may act for `repo` (join or leave it, change its binding, acknowledge its notifications). */
export const mayActFor = (actor: string | undefined, repo: string): boolean => actor === repo

/** Who may write a realm path by hand (commits without Blue events), following trust.permissions' roles. */
export const mayTouchPath = (state: RealmState, path: string, email: string): boolean => {
  const approvers = state.realm?.governance.approvers ?? []
  if (approvers.includes(email)) return true
  let m = /^repos\/([^/]+)\.yaml$/.exec(path)
  if (m !== null) return maintainersOf(state, m[1]!).includes(email)
  m = /^domains\/([^/]+)\/contracts\/([^/]+)\.yaml$/.exec(path)
  if (m !== null) {
    const owner = state.domains[m[1]!]?.contracts[m[2]!]?.owner
    return owner !== undefined && maintainersOf(state, owner).includes(email)
  }
  m = /^domains\/([^/]+)\/bindings\/([^/]+)\.yaml$/.exec(path)
  if (m !== null) return maintainersOf(state, m[2]!).includes(email)
  m = /^domains\/([^/]+)\/(domain|governance)\.yaml$/.exec(path)
  if (m !== null) return (state.domains[m[1]!]?.file.members ?? []).some((r) => maintainersOf(state, r).includes(email))
  return false
}

/**
 * The emails that may author a Blue commit claiming to act for `actor`: that repo's maintainers (including those
 * a joining repo brings in the same commit), or, with no actor, the approvers and every member's maintainers.
 */
export const mayAuthorFor = (
  state: RealmState,
  actor: string | undefined,
  events: ReadonlyArray<RealmEvent>
): ReadonlyArray<string> => {
  if (actor === undefined) {
    return [
      ...(state.realm?.governance.approvers ?? []),
      ...Object.values(state.repos).flatMap((r) => r.maintainers)
    ]
  }
  const joining = events.flatMap((e) => (e._tag === "RepoJoined" || e._tag === "JoinRequested" ? [e.repo] : []))
  return [...maintainersOf(state, actor), ...joining.filter((r) => r.name === actor).flatMap((r) => r.maintainers)]
}

/**
 * Why the actor of a Blue commit may not emit `event`, given the state before it and the commit's other events
 * (`siblings`), or undefined when it may. `email` is the commit's author: governance events need an approver.
 */
export const eventProblem = (
  state: RealmState,
  event: RealmEvent,
  actor: string | undefined,
  siblings: ReadonlyArray<RealmEvent>,
  email?: string
): string | undefined => {
  // Creating a domain declares its first contract and bindings for repos other than the actor.
  const createsDomain = (d: string) => siblings.some((e) => e._tag === "DomainCreated" && e.domain.name === d)
  switch (event._tag) {
    case "RealmInitialized":
      return state.realm === undefined ? undefined : "initialises a realm that exists"
    case "RepoJoined":
      return mayActFor(actor, event.repo.name)
        ? undefined
        : `registers ${event.repo.name} but was made by ${actor ?? "no repo"}`
    case "RepoLeft":
      return mayActFor(actor, event.repo) ? undefined : `removes ${event.repo} but was made by ${actor ?? "no repo"}`
    case "DomainCreated":
      return actor === undefined || isMember(state, actor) ? undefined : `creates a domain from ${actor}, not a member`
    case "ContractPublished":
    case "ContractBumped": {
      const before = state.domains[event.domain]?.contracts[event.contract.name]
      if (before !== undefined && before.owner !== event.contract.owner) {
        return `changes the owner of ${event.contract.name} from ${before.owner} to ${event.contract.owner}`
      }
      if (createsDomain(event.domain)) return undefined
      // Whoever merges a ready proposal lands its bump (the merge rule, not the owner, is the gate).
      const merges = siblings.some((e) =>
        e._tag === "ProposalMerged" && state.proposals?.[e.id]?.contract === event.contract.name &&
        state.proposals[e.id]?.domain === event.domain
      )
      if (merges) return undefined
      return mayChangeContract(event.contract.owner, actor)
        ? undefined
        : `changes contract ${event.contract.name} owned by ${event.contract.owner} but was made by ${
          actor ?? "no repo"
        }`
    }
    case "NotificationAcknowledged":
      return mayActFor(actor, event.repo)
        ? undefined
        : `acknowledges for ${event.repo} but was made by ${actor ?? "no repo"}`
    case "BindingDeclared":
      return mayActFor(actor, event.binding.repo) || createsDomain(event.domain)
        ? undefined
        : `changes the binding of ${event.binding.repo} but was made by ${actor ?? "no repo"}`
    case "ProposalOpened":
      if (event.proposed.name !== event.contract || event.proposed.owner !== event.repo) {
        return `proposes ${event.proposed.name} owned by ${event.proposed.owner} as a change to ${event.contract} of ${event.repo}`
      }
      return mayChangeContract(event.repo, actor) &&
          state.domains[event.domain]?.contracts[event.contract]?.owner === event.repo
        ? undefined
        : `proposes a change to ${event.contract} for ${event.repo} but was made by ${actor ?? "no repo"}`
    case "ProposalAmended": {
      const before = state.proposals?.[event.id]
      const owner = before?.repo
      if (before !== undefined && (event.proposed.name !== before.contract || event.proposed.owner !== owner)) {
        return `amends proposal ${event.id} of ${before.contract} with ${event.proposed.name} owned by ${event.proposed.owner}`
      }
      return owner !== undefined && mayChangeContract(owner, actor)
        ? undefined
        : `amends proposal ${event.id} of ${owner ?? "nobody"} but was made by ${actor ?? "no repo"}`
    }
    case "ProposalAcknowledged":
      return mayActFor(actor, event.repo)
        ? undefined
        : `acknowledges proposal ${event.id} for ${event.repo} but was made by ${actor ?? "no repo"}`
    case "ProposalWithdrawn": {
      // The daemon records a forge PR closed by hand without a repo.
      const owner = state.proposals?.[event.id]?.repo
      return actor === undefined || (owner !== undefined && mayActFor(actor, owner))
        ? undefined
        : `withdraws proposal ${event.id} of ${owner ?? "nobody"} but was made by ${actor}`
    }
    case "ProposalApproved":
    case "ProposalRejected":
    case "ProposalMerged":
      // Approvers are people, not repos (their email is the commit's author); anyone may merge a ready proposal.
      return undefined
    case "JoinRequested":
      return mayActFor(actor, event.repo.name)
        ? undefined
        : `asks to join as ${event.repo.name} but was made by ${actor ?? "no repo"}`
    case "GovernanceChanged":
    case "RepoInvited":
    case "JoinApproved":
    case "JoinRejected":
      return email === undefined || mayGovern(state, email, event)
        ? undefined
        : `needs an approver, but its author ${email} is not one`
    case "WorktreeCreated":
    case "WorktreeCommitted":
    case "WorktreePushed":
    case "WorktreePullsRecorded":
    case "WorktreeRemoved":
      // Any member may coordinate a change across the repos it works on; the git work is in those repos.
      return actor !== undefined && isMember(state, actor)
        ? undefined
        : `records a coordinated change from ${actor ?? "no repo"}, not a member`
  }
}
