/**
 * Governance (issue 12), pure: who the approvers are, how a repo gets into a realm (open, by invitation, by an
 * approved join request), and the decisions of the approver-only commands. `decide.ts` hands these commands here
 * and `state.ts` folds their events with `foldGovernance`; the same `mayGovern` rule serves the decider and
 * `check --mode realm`.
 */
import { Either } from "effect"
import type { CommandMeta } from "./commands.js"
import { AdmissionRequired, AlreadyMember, InvalidName, RealmNotInitialized } from "./errors.js"
import { type RealmEvent, RepoJoined } from "./events.js"
import type { DomainGovernanceFile, Governance as GovernanceSchema, RealmFile, RepoFile } from "./files.js"
import type { ChangeGovernance, InviteRepo, ReviewJoin } from "./governanceCommands.js"
import {
  DomainNotFound,
  InvalidGovernance,
  JoinRequestNotFound,
  LastApprover,
  NotApprover
} from "./governanceErrors.js"
import {
  GovernanceChanged,
  type GovernanceEvent,
  JoinApproved,
  JoinRejected,
  JoinRequested,
  RepoInvited
} from "./governanceEvents.js"
import type { JoinRequest } from "./governanceState.js"
import { identityProblem } from "./nameRules.js"
import { nameProblem } from "./names.js"
import type { RealmState } from "./state.js"

/** realm.yaml's governance. */
export type Governance = typeof GovernanceSchema.Type

export {
  emptyGovernance,
  foldGovernance,
  type GovernanceState,
  type Invitation,
  type JoinRequest,
  mergeGovernance
} from "./governanceState.js"

/** The prefix of every join request id, which keeps them apart from contract proposals. */
export const JOIN_ID_PREFIX = "join-"

const uniq = (xs: ReadonlyArray<string>) => xs.filter((x, i) => xs.indexOf(x) === i)

/** The realm's approvers, plus those of `domain`'s override when one is named. */
export const approversOf = (state: RealmState, domain?: string): ReadonlyArray<string> =>
  uniq([
    ...(state.realm?.governance.approvers ?? []),
    ...(domain === undefined ? [] : state.governance?.domains[domain]?.approvers ?? [])
  ])

/** Whether `email` approves in the realm (or in `domain`, whose override may add approvers). */
export const isApprover = (state: RealmState, email: string, domain?: string): boolean =>
  approversOf(state, domain).includes(email)

/** The governance that applies in `domain` (its governance.yaml over realm.yaml), or the realm's. */
export const effectiveGovernance = (state: RealmState, domain?: string): Governance | undefined => {
  const realm = state.realm?.governance
  if (realm === undefined) return undefined
  const o = domain === undefined ? undefined : state.governance?.domains[domain]
  if (o === undefined) return realm
  return {
    admission: o.admission ?? realm.admission,
    approvers: approversOf(state, domain),
    breaking_changes: {
      require_approval: o.breaking_changes?.require_approval ?? realm.breaking_changes.require_approval,
      grace_period_days: o.breaking_changes?.grace_period_days ?? realm.breaking_changes.grace_period_days
    }
  }
}

/** The pending join request of repo `name`, if any. */
export const pendingRequestOf = (state: RealmState, name: string): JoinRequest | undefined =>
  Object.values(state.governance?.requests ?? {}).find((r) => r.repo.name === name)

/**
 * Whether the governance event may be made by `email`: approvers may make every one; while a realm records no
 * approver (realms made before `init` recorded its user), the one change that adds approvers is open to its members.
 */
export const mayGovern = (state: RealmState, email: string, event: GovernanceEvent): boolean => {
  const domain = event._tag === "GovernanceChanged" ? event.domain : undefined
  if (isApprover(state, email, domain)) return true
  return approversOf(state).length === 0 && event._tag === "GovernanceChanged" && event.domain === undefined &&
    (event.governance.approvers ?? []).length > 0
}

/**
 * How a repo that is not a member gets in: under `open`, or with an invitation, it joins; under `approval` it
 * files a join request (none when one is already pending: asking again is idempotent); under `invite-only`
 * without an invitation it is refused, naming who may invite.
 */
export const decideJoin = (
  state: RealmState,
  realm: RealmFile,
  repo: RepoFile
): Either.Either<ReadonlyArray<RealmEvent>, AdmissionRequired> => {
  const admission = realm.governance.admission
  if (admission === "open" || repo.name in (state.governance?.invitations ?? {})) {
    return Either.right([new RepoJoined({ repo })])
  }
  if (admission === "approval") {
    if (pendingRequestOf(state, repo.name) !== undefined) return Either.right([])
    return Either.right([new JoinRequested({ id: `${JOIN_ID_PREFIX}${state.position + 1}`, repo })])
  }
  return Either.left(
    new AdmissionRequired({ realm: realm.name, repo: repo.name, admission, approvers: [...approversOf(state)] })
  )
}

const requireRealm = (state: RealmState): Either.Either<RealmFile, RealmNotInitialized> =>
  state.realm === undefined ? Either.left(new RealmNotInitialized({ path: "" })) : Either.right(state.realm)

const requireApprover = (state: RealmState, realm: RealmFile, meta: CommandMeta, action: string, domain?: string) =>
  isApprover(state, meta.actor.user, domain)
    ? Either.void
    : Either.left(
      new NotApprover({ realm: realm.name, actor: meta.actor.user, action, approvers: [...approversOf(state, domain)] })
    )

/** The longest grace period an approver may set (ten years). */
export const MAX_GRACE_PERIOD_DAYS = 3650

/** Why `email` cannot be recorded as an approver, or undefined. */
const approverProblem = (email: string): string | undefined => {
  if (email.trim() === "") return "is empty"
  if (/[\s,]/.test(email)) return "contains whitespace or a comma"
  return identityProblem(email)
}

/** Decides `blue realm admin governance`: one GovernanceChanged with the scope's whole new governance, or none. */
export const decideChangeGovernance = (
  command: typeof ChangeGovernance.Type,
  state: RealmState,
  meta: CommandMeta
): Either.Either<ReadonlyArray<RealmEvent>, DomainErrorOfGovernance> =>
  Either.gen(function*() {
    const realm = yield* requireRealm(state)
    const invalid = (detail: string) => Either.left(new InvalidGovernance({ realm: realm.name, detail }))
    const domain = command.domain
    if (domain !== undefined) {
      const reason = nameProblem(domain)
      if (reason !== undefined) return yield* Either.left(new InvalidName({ kind: "domain", value: domain, reason }))
      if (!(domain in state.domains)) {
        return yield* Either.left(
          new DomainNotFound({ realm: realm.name, domain, domains: Object.keys(state.domains).sort() })
        )
      }
    }
    for (const email of [...command.addApprovers, ...command.removeApprovers]) {
      const problem = approverProblem(email)
      if (problem !== undefined) return yield* invalid(`approver ${JSON.stringify(email)} ${problem}`)
    }
    const days = command.gracePeriodDays
    if (days !== undefined && (!Number.isInteger(days) || days < 0 || days > MAX_GRACE_PERIOD_DAYS)) {
      return yield* invalid(`the grace period must be a whole number of days from 0 to ${MAX_GRACE_PERIOD_DAYS}`)
    }
    const bootstrap = approversOf(state).length === 0 && domain === undefined && command.addApprovers.length > 0
    if (!bootstrap) {
      yield* requireApprover(
        state,
        realm,
        meta,
        domain === undefined ? "change its governance" : `change the governance of domain '${domain}'`,
        domain
      )
    }
    const current: DomainGovernanceFile = domain === undefined
      ? realm.governance
      : state.governance?.domains[domain] ?? {}
    const changes: Array<string> = []
    const before = current.approvers ?? []
    for (const email of command.removeApprovers) {
      if (!before.includes(email)) {
        return yield* invalid(
          `${email} is not an approver ${domain === undefined ? "of the realm" : `of domain '${domain}'`} (approvers: ${
            before.length === 0 ? "none" : before.join(", ")
          })`
        )
      }
    }
    const approvers = uniq([...before.filter((a) => !command.removeApprovers.includes(a)), ...command.addApprovers])
    if (domain === undefined && approvers.length === 0 && before.length > 0) {
      return yield* Either.left(new LastApprover({ realm: realm.name, approver: before.at(-1)! }))
    }
    for (const a of approvers) if (!before.includes(a)) changes.push(`approver added: ${a}`)
    for (const a of before) if (!approvers.includes(a)) changes.push(`approver removed: ${a}`)
    const admission = command.admission ?? current.admission
    if (admission !== current.admission) changes.push(`admission: ${current.admission ?? "(realm's)"} → ${admission}`)
    const bc = current.breaking_changes
    const requireApproval = command.requireApproval ?? bc?.require_approval
    if (requireApproval !== bc?.require_approval) {
      changes.push(`breaking_changes.require_approval: ${bc?.require_approval ?? "(realm's)"} → ${requireApproval}`)
    }
    const grace = days ?? bc?.grace_period_days
    if (grace !== bc?.grace_period_days) {
      changes.push(`breaking_changes.grace_period_days: ${bc?.grace_period_days ?? "(realm's)"} → ${grace}`)
    }
    if (changes.length === 0) return []
    const breaking = {
      ...(requireApproval === undefined ? {} : { require_approval: requireApproval }),
      ...(grace === undefined ? {} : { grace_period_days: grace })
    }
    const governance: DomainGovernanceFile = {
      ...(admission === undefined ? {} : { admission }),
      ...(approvers.length === 0 && domain !== undefined ? {} : { approvers }),
      ...(Object.keys(breaking).length === 0 ? {} : { breaking_changes: breaking })
    }
    return [new GovernanceChanged({ ...(domain === undefined ? {} : { domain }), governance, changes })]
  })

/** Decides `blue realm admin invite <repo>`: a RepoInvited, or nothing when the invitation exists. */
export const decideInvite = (
  command: typeof InviteRepo.Type,
  state: RealmState,
  meta: CommandMeta
): Either.Either<ReadonlyArray<RealmEvent>, DomainErrorOfGovernance> =>
  Either.gen(function*() {
    const realm = yield* requireRealm(state)
    const reason = nameProblem(command.repo)
    if (reason !== undefined) {
      return yield* Either.left(new InvalidName({ kind: "repo", value: command.repo, reason }))
    }
    yield* requireApprover(state, realm, meta, "invite repos")
    if (command.repo in state.repos) {
      return yield* Either.left(new AlreadyMember({ realm: realm.name, repo: command.repo }))
    }
    if (command.repo in (state.governance?.invitations ?? {})) return []
    return [new RepoInvited({ repo: command.repo, by: meta.actor.user })]
  })

/** Decides `blue realm admin approve|reject <join-id>`. */
export const decideReviewJoin = (
  command: typeof ReviewJoin.Type,
  state: RealmState,
  meta: CommandMeta
): Either.Either<ReadonlyArray<RealmEvent>, DomainErrorOfGovernance> =>
  Either.gen(function*() {
    const realm = yield* requireRealm(state)
    const requests = state.governance?.requests ?? {}
    const request = requests[command.id]
    if (request === undefined) {
      return yield* Either.left(
        new JoinRequestNotFound({
          realm: realm.name,
          id: command.id,
          pending: Object.values(requests).map((r) => `${r.id} (${r.repo.name})`)
        })
      )
    }
    yield* requireApprover(state, realm, meta, `${command.verdict} join requests`)
    if (command.verdict === "reject") {
      return [
        new JoinRejected({
          id: request.id,
          repo: request.repo.name,
          by: meta.actor.user,
          ...(command.reason === undefined || command.reason.trim() === "" ? {} : { reason: command.reason })
        })
      ]
    }
    if (request.repo.name in state.repos) {
      return yield* Either.left(new AlreadyMember({ realm: realm.name, repo: request.repo.name }))
    }
    return [new JoinApproved({ id: request.id, repo: { ...request.repo, joined_at: meta.time }, by: meta.actor.user })]
  })

/** Every refusal of the governance deciders. */
export type DomainErrorOfGovernance =
  | RealmNotInitialized
  | InvalidName
  | AlreadyMember
  | NotApprover
  | LastApprover
  | InvalidGovernance
  | DomainNotFound
  | JoinRequestNotFound
