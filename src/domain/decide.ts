/**
 * The decider: `decide(command, state, meta)` returns the events a command produces or the typed reason it is
 * refused. Pure: no IO, no clock, no ids.
 */
import { Either } from "effect"
import * as semver from "semver"
import { isMember, requireContractOwner, requireMember } from "./authorization.js"
import type { Command, CommandMeta } from "./commands.js"
import { findContract, planPublish } from "./contracts.js"
import {
  AlreadyMember,
  CycleDetected,
  type DomainError,
  DomainExists,
  InvalidDomainRepos,
  InvalidName,
  InvalidRange,
  InvalidSourceFiles,
  NotificationNotFound,
  RealmAlreadyInitialized,
  RealmNotInitialized,
  RepoNotInRealm,
  RoleConflict,
  StillImported
} from "./errors.js"
import {
  BindingDeclared,
  ContractBumped,
  ContractPublished,
  DomainCreated,
  NotificationAcknowledged,
  type RealmEvent,
  RealmInitialized,
  RepoLeft
} from "./events.js"
import { defaultRealmFile, type RealmFile } from "./files.js"
import { decideChangeGovernance, decideInvite, decideJoin, decideReviewJoin } from "./governance.js"
import { cycleClosedBy, domainEdges, realmGraph } from "./graph.js"
import { sourceGlobProblem } from "./nameRules.js"
import { type Name, type NameKind, nameProblem } from "./names.js"
import { decideDeclareContract } from "./newContracts.js"
import { isValidRange, normalizeRange, PLACEHOLDER_SCHEMA } from "./placeholder.js"
import { decideProposal, proposeChange } from "./proposals.js"
import { pendingKey, type RealmState } from "./state.js"
import { decideWorktree } from "./worktrees.js"

/** Checks a name before anything is touched. */
export const validateName = (kind: NameKind, value: string): Either.Either<Name, InvalidName> => {
  const reason = nameProblem(value)
  return reason === undefined ? Either.right(value as Name) : Either.left(new InvalidName({ kind, value, reason }))
}

const requireRealm = (state: RealmState, path: string): Either.Either<RealmFile, RealmNotInitialized> =>
  state.realm === undefined ? Either.left(new RealmNotInitialized({ path })) : Either.right(state.realm)

/** The repos that import contracts owned by `repo`. */
export const importersOf = (state: RealmState, repo: string) =>
  Object.entries(state.domains).flatMap(([domain, d]) =>
    Object.values(d.contracts)
      .filter((c) => c.owner === repo)
      .flatMap((c) =>
        Object.values(d.bindings)
          .filter((b) => b.repo !== repo && (b.imports ?? []).some((i) => i.contract === c.name))
          .map((b) => ({ repo: b.repo, domain, contract: c.name }))
      )
  )

/** Decides a command against the current state. */
export const decide = (
  command: Command,
  state: RealmState,
  meta: CommandMeta
): Either.Either<ReadonlyArray<RealmEvent>, DomainError> =>
  Either.gen(function*() {
    switch (command._tag) {
      case "InitRealm": {
        const name = yield* validateName("realm", command.name)
        if (state.realm !== undefined) {
          return yield* Either.left(new RealmAlreadyInitialized({ realm: state.realm.name, path: command.path }))
        }
        // Its user is the first approver: someone must be able to change governance and approve.
        return [
          new RealmInitialized({ realm: defaultRealmFile(name, meta.time, command.admission, [meta.actor.user]) })
        ]
      }
      case "JoinRealm": {
        const name = yield* validateName("repo", command.repo)
        const realm = yield* requireRealm(state, "")
        if (isMember(state, name)) return yield* Either.left(new AlreadyMember({ realm: realm.name, repo: name }))
        return yield* decideJoin(state, realm, {
          name,
          ...(command.org !== undefined ? { org: command.org } : {}),
          ...(command.path !== undefined ? { path: command.path } : {}),
          ...(command.url !== undefined ? { url: command.url } : {}),
          maintainers: command.maintainers,
          joined_at: meta.time
        })
      }
      case "CreateDomain": {
        const domain = yield* validateName("domain", command.domain)
        const contract = yield* validateName("contract", command.contract ?? command.domain)
        const repos: Array<Name> = []
        for (const r of command.repos) repos.push(yield* validateName("repo", r))
        const realm = yield* requireRealm(state, "")
        const actor = meta.actor.repo
        if (actor !== undefined && !isMember(state, actor)) {
          return yield* Either.left(new RepoNotInRealm({ realm: realm.name, repo: actor }))
        }
        if (domain in state.domains) return yield* Either.left(new DomainExists({ realm: realm.name, domain }))
        if (repos.length < 2) {
          return yield* Either.left(
            new InvalidDomainRepos({ domain, repos, reason: "a domain needs a provider and at least one consumer" })
          )
        }
        const duplicate = repos.find((r, i) => repos.indexOf(r) !== i)
        if (duplicate !== undefined) {
          return yield* Either.left(
            new InvalidDomainRepos({ domain, repos, reason: `'${duplicate}' is listed more than once` })
          )
        }
        const [provider, ...consumers] = repos as [Name, ...Array<Name>]
        const cycle = cycleClosedBy(realmGraph(state).edges, domainEdges(domain, [provider], consumers, [contract]))
        if (cycle !== undefined) {
          return yield* Either.left(
            new CycleDetected({ domain, cycle: cycle.map((e) => ({ from: e.from, domain: e.domain, to: e.to })) })
          )
        }
        const description = command.description ??
          `Coordinates ${contract} between ${provider} (provider) and ${consumers.join(", ")} (${
            consumers.length === 1 ? "consumer" : "consumers"
          })`
        return [
          new DomainCreated({ domain: { name: domain, description, created_at: meta.time, members: repos } }),
          new ContractPublished({
            domain,
            contract: {
              name: contract,
              version: "1.0.0",
              owner: provider,
              compatibility: { backwards: true, forwards: false },
              schema: PLACEHOLDER_SCHEMA,
              value: {},
              evolution: [{ version: "1.0.0", changes: ["Initial version"], compatible: true }]
            }
          }),
          new BindingDeclared({
            domain,
            binding: { repo: provider, role: "provider", exports: [{ contract, source_files: [] }] }
          }),
          ...consumers.map((repo) =>
            new BindingDeclared({
              domain,
              binding: {
                repo,
                role: "consumer",
                imports: [{
                  contract,
                  version: "^1.0.0",
                  status: "current",
                  resolved_version: "1.0.0",
                  resolved_at: meta.time
                }]
              }
            })
          )
        ]
      }
      case "PublishContract": {
        const realm = yield* requireRealm(state, "")
        const actor = yield* requireMember(state, realm.name, meta.actor.repo)
        yield* validateName("contract", command.contract)
        if (command.domain !== undefined) yield* validateName("domain", command.domain)
        const found = findContract(state, command.contract, command.domain)
        // A contract its domain does not have yet: the domain's provider declares it (issue 12).
        if (Either.isLeft(found) && command.domain !== undefined && found.left.candidates.length === 0) {
          return yield* decideDeclareContract(command, command.domain, state, actor)
        }
        const { contract, domain } = yield* found
        yield* requireContractOwner(contract, actor)
        for (const glob of command.sourceFiles ?? []) {
          const reason = sourceGlobProblem(glob)
          if (reason !== undefined) {
            return yield* Either.left(new InvalidSourceFiles({ contract: contract.name, glob, reason }))
          }
        }
        const plan = yield* planPublish(contract, {
          ...(command.schema === undefined ? {} : { schema: command.schema }),
          ...(command.value === undefined ? {} : { value: command.value }),
          ...(command.validation === undefined ? {} : { validation: command.validation }),
          ...(command.version === undefined ? {} : { version: command.version })
        })
        const events: Array<RealmEvent> = []
        // A change that affects importers becomes (or amends) a proposal instead of landing on main.
        const proposed = proposeChange(state, meta, actor, domain, contract, plan)
        if (proposed !== undefined) events.push(...proposed)
        else if (plan._tag === "Initial") events.push(new ContractPublished({ domain, contract: plan.contract }))
        else if (plan._tag === "Bumped") {
          events.push(
            new ContractBumped({
              domain,
              from: contract.version,
              bump: plan.bump === "none" ? "patch" : plan.bump,
              contract: plan.contract
            })
          )
        }
        const binding = state.domains[domain]!.bindings[actor]
        if (command.sourceFiles !== undefined && binding !== undefined) {
          const exports = binding.exports ?? []
          const current = exports.find((x) => x.contract === contract.name)
          if (current === undefined || current.source_files.join("\n") !== command.sourceFiles.join("\n")) {
            events.push(
              new BindingDeclared({
                domain,
                binding: {
                  ...binding,
                  exports: [
                    ...exports.filter((x) => x.contract !== contract.name),
                    { contract: contract.name, source_files: command.sourceFiles }
                  ]
                }
              })
            )
          }
        }
        return events
      }
      case "DeclareImport": {
        const realm = yield* requireRealm(state, "")
        const actor = yield* requireMember(state, realm.name, meta.actor.repo)
        const domain = yield* validateName("domain", command.domain)
        yield* validateName("contract", command.contract)
        const { contract } = yield* findContract(state, command.contract, domain)
        const range = normalizeRange(command.version)
        if (!isValidRange(command.version)) return yield* Either.left(new InvalidRange({ value: command.version }))
        if (contract.owner === actor) {
          return yield* Either.left(new RoleConflict({ domain, repo: actor, detail: `it owns '${contract.name}'` }))
        }
        const existing = state.domains[domain]!.bindings[actor]
        if (existing !== undefined && existing.role !== "consumer") {
          return yield* Either.left(
            new RoleConflict({ domain, repo: actor, detail: `it is the domain's ${existing.role}` })
          )
        }
        if (existing === undefined) {
          const cycle = cycleClosedBy(
            realmGraph(state).edges,
            domainEdges(domain, [contract.owner], [actor], [contract.name])
          )
          if (cycle !== undefined) {
            return yield* Either.left(
              new CycleDetected({
                domain,
                cycle: cycle.map((e) => ({ from: e.from, domain: e.domain, to: e.to })),
                action: `Importing ${contract.name} into ${actor}`
              })
            )
          }
        }
        const satisfied = semver.satisfies(contract.version, range)
        const imports = existing?.imports ?? []
        // Re-importing without a binding keeps the one recorded: only --binding changes it.
        const binding = command.binding ?? imports.find((i) => i.contract === contract.name)?.binding
        const entry = {
          contract: contract.name,
          version: command.version,
          ...(binding === undefined ? {} : { binding }),
          status: satisfied ? "current" as const : "broken" as const,
          ...(satisfied ? { resolved_version: contract.version, resolved_at: meta.time } : {})
        }
        // Resolving to the current version answers the notifications about this contract.
        const answered = satisfied
          ? Object.values(state.pending).filter((n) =>
            n.repo === actor && n.domain === domain && n.contract === contract.name && n.proposal === undefined
          )
          : []
        return [
          new BindingDeclared({
            domain,
            binding: {
              repo: actor,
              role: "consumer",
              imports: [...imports.filter((i) => i.contract !== contract.name), entry]
            }
          }),
          ...answered.map((n) =>
            new NotificationAcknowledged({ id: n.id, repo: actor, contract: n.contract, version: n.version })
          )
        ]
      }
      case "AcknowledgeNotifications": {
        const realm = yield* requireRealm(state, "")
        const actor = yield* requireMember(state, realm.name, meta.actor.repo)
        const mine = Object.values(state.pending).filter((n) => n.repo === actor)
        const chosen = command.all ? mine : []
        if (!command.all) {
          for (const id of command.ids) {
            const n = state.pending[pendingKey(id, actor)]
            if (n === undefined) return yield* Either.left(new NotificationNotFound({ id, repo: actor }))
            chosen.push(n)
          }
        }
        return chosen.map((n) =>
          new NotificationAcknowledged({ id: n.id, repo: actor, contract: n.contract, version: n.version })
        )
      }
      case "AcknowledgeProposal":
      case "ApproveProposal":
      case "RejectProposal":
      case "WithdrawProposal":
      case "MergeProposal":
        return yield* decideProposal(command, state, meta)
      case "LeaveRealm": {
        const repo = yield* validateName("repo", command.repo)
        const realm = yield* requireRealm(state, "")
        if (!isMember(state, repo)) return yield* Either.left(new RepoNotInRealm({ realm: realm.name, repo }))
        const importers = importersOf(state, repo)
        if (importers.length > 0 && !command.force) {
          return yield* Either.left(new StillImported({ repo, importers }))
        }
        return [new RepoLeft({ repo, forced: command.force && importers.length > 0 })]
      }
      case "ChangeGovernance":
        return yield* decideChangeGovernance(command, state, meta)
      case "InviteRepo":
        return yield* decideInvite(command, state, meta)
      case "ReviewJoin":
        return yield* decideReviewJoin(command, state, meta)
      case "RecordWorktree":
      case "RecordWorktreeCommit":
      case "RecordWorktreePush":
      case "RecordWorktreePulls":
      case "RemoveWorktree":
        return yield* decideWorktree(command, state, meta)
    }
  })
