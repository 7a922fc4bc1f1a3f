/**
 * The human-readable realm files (SPEC §3) as a projection of the state: which paths an event touches and what
 * each path contains. Rendering goes through the file schemas' encoders so that the same state always gives
 * byte-identical YAML, whichever log it was folded from.
 */
import { Schema } from "effect"
import * as YAML from "yaml"
import type { RealmEvent } from "../domain/events.js"
import {
  BindingFile,
  ContractFile,
  DomainFile,
  DomainGovernanceFile,
  ProposalFile,
  RealmFile,
  RepoFile
} from "../domain/files.js"
import { type ProposalState, type RealmState, restatedBindings } from "../domain/state.js"
import { changesOf, worktreeDocument, worktreeFilePath } from "../domain/worktrees.js"
import { plainYaml } from "./yamlText.js"

/** Placeholder files that keep the empty top-level directories in git. */
export const keepFiles = ["repos/.gitkeep", "domains/.gitkeep"] as const

const quoted = new Set(["version", "resolved_version"])

/** YAML text of a document, with versions double-quoted as the seeds write them. */
export const toYaml = (value: unknown): string => plainYaml(value, quoted) ?? genericYaml(value)

/** YAML text of a document through `yaml` itself (what toYaml gives for every shape). */
export const genericYaml = (value: unknown): string => {
  const doc = new YAML.Document(value)
  YAML.visit(doc, {
    Pair(_, pair) {
      if (YAML.isScalar(pair.key) && quoted.has(String(pair.key.value)) && YAML.isScalar(pair.value)) {
        pair.value.type = "QUOTE_DOUBLE"
      }
    }
  })
  return doc.toString({ lineWidth: 0 })
}

const encoders = {
  realm: Schema.encodeSync(RealmFile),
  repo: Schema.encodeSync(RepoFile),
  domain: Schema.encodeSync(DomainFile),
  contract: Schema.encodeSync(ContractFile),
  binding: Schema.encodeSync(BindingFile),
  governance: Schema.encodeSync(DomainGovernanceFile),
  proposal: Schema.encodeSync(ProposalFile)
}

/** The realm file of a proposal (what `proposals/<id>.yaml` shows). */
export const proposalFile = (p: ProposalState): ProposalFile => ({
  id: p.id,
  branch: p.branch,
  status: p.status,
  repo: p.repo,
  domain: p.domain,
  contract: p.contract,
  from: p.from,
  to: p.to,
  bump: p.bump,
  breaking: p.breaking,
  changes: p.changes,
  importers: p.importers,
  reviewers: p.reviewers,
  acknowledged_by: Object.entries(p.acks).map(([repo, at]) => ({ repo, at })),
  approved_by: Object.entries(p.approvals).map(([by, at]) => ({ by, at })),
  deadline: p.deadline,
  opened_at: p.opened_at,
  ...(p.amended_at === undefined ? {} : { amended_at: p.amended_at }),
  ...(p.status === "merged" && p.closed_at !== undefined ? { merged_at: p.closed_at } : {}),
  ...(p.status === "rejected" || p.status === "withdrawn"
    ? {
      ...(p.closed_at === undefined ? {} : { closed_at: p.closed_at }),
      ...(p.closed_by === undefined ? {} : { closed_by: p.closed_by }),
      ...(p.reason === undefined ? {} : { reason: p.reason })
    }
    : {})
})

/** The path of a proposal's realm file. */
export const proposalPath = (id: string) => `proposals/${id}.yaml`

/** The content of a realm path in `state`, or undefined when the state has no such file. */
export const renderPath = (state: RealmState, path: string): string | undefined => {
  if (path === "realm.yaml") return state.realm === undefined ? undefined : toYaml(encoders.realm(state.realm))
  if ((keepFiles as ReadonlyArray<string>).includes(path)) return state.realm === undefined ? undefined : ""
  const parts = path.split("/")
  if (parts[0] === "repos" && parts.length === 2) {
    const repo = state.repos[parts[1]!.replace(/\.yaml$/, "")]
    return repo === undefined ? undefined : toYaml(encoders.repo(repo))
  }
  if (parts[0] === "proposals" && parts.length === 2) {
    const p = (state.proposals ?? {})[parts[1]!.replace(/\.yaml$/, "")]
    return p === undefined ? undefined : toYaml(encoders.proposal(proposalFile(p)))
  }
  if (parts[0] === "worktrees" && parts.length === 2) {
    const change = Object.values(changesOf(state)).find((c) => worktreeFilePath(c.name) === path)
    return change === undefined ? undefined : toYaml(worktreeDocument(change))
  }
  if (parts[0] === "domains" && parts.length >= 3) {
    const domain = state.domains[parts[1]!]
    if (domain === undefined) return undefined
    if (parts.length === 3 && parts[2] === "domain.yaml") return toYaml(encoders.domain(domain.file))
    if (parts.length === 3 && parts[2] === "governance.yaml") {
      const override = state.governance?.domains[parts[1]!]
      return override === undefined ? undefined : toYaml(encoders.governance(override))
    }
    if (parts.length === 4) {
      const name = parts[3]!.replace(/\.yaml$/, "")
      if (parts[2] === "contracts") {
        const c = domain.contracts[name]
        return c === undefined ? undefined : toYaml(encoders.contract(c))
      }
      if (parts[2] === "bindings") {
        const b = domain.bindings[name]
        return b === undefined ? undefined : toYaml(encoders.binding(b))
      }
    }
  }
  return undefined
}

/** Every realm file of `state` with its content, sorted by path. */
export const renderAll = (state: RealmState): Map<string, string> => {
  const paths: Array<string> = state.realm === undefined ? [] : ["realm.yaml", ...keepFiles]
  for (const repo of Object.keys(state.repos)) paths.push(`repos/${repo}.yaml`)
  for (const [name, d] of Object.entries(state.domains)) {
    paths.push(`domains/${name}/domain.yaml`)
    if (state.governance?.domains[name] !== undefined) paths.push(`domains/${name}/governance.yaml`)
    for (const c of Object.keys(d.contracts)) paths.push(`domains/${name}/contracts/${c}.yaml`)
    for (const b of Object.keys(d.bindings)) paths.push(`domains/${name}/bindings/${b}.yaml`)
  }
  for (const id of Object.keys(state.proposals ?? {})) paths.push(proposalPath(id))
  for (const name of Object.keys(changesOf(state))) paths.push(worktreeFilePath(name))
  paths.sort()
  return new Map(paths.map((p) => [p, renderPath(state, p)!]))
}

/** The realm paths an event may change, given the state before it. */
export const touchedPaths = (before: RealmState, event: RealmEvent): ReadonlyArray<string> => {
  switch (event._tag) {
    case "RealmInitialized":
      return ["realm.yaml", ...keepFiles]
    case "RepoJoined":
      return [`repos/${event.repo.name}.yaml`]
    case "RepoLeft":
      return [
        `repos/${event.repo}.yaml`,
        ...Object.entries(before.domains).flatMap(([name, d]) => [
          ...(d.file.members.includes(event.repo) ? [`domains/${name}/domain.yaml`] : []),
          ...(event.repo in d.bindings ? [`domains/${name}/bindings/${event.repo}.yaml`] : [])
        ])
      ]
    case "DomainCreated":
      return [`domains/${event.domain.name}/domain.yaml`]
    case "ContractPublished":
    case "ContractBumped":
      // Only the importers of this contract whose binding status the new version changes are re-rendered.
      return [
        `domains/${event.domain}/contracts/${event.contract.name}.yaml`,
        ...restatedBindings(before.domains[event.domain]?.bindings ?? {}, event.contract).map((b) =>
          `domains/${event.domain}/bindings/${b.repo}.yaml`
        )
      ]
    case "NotificationAcknowledged":
    case "RepoInvited":
    case "JoinRequested":
    case "JoinRejected":
      // Recorded in the event log only: no realm file shows invitations or pending requests.
      return []
    case "ProposalOpened":
    case "ProposalAmended":
    case "ProposalAcknowledged":
    case "ProposalApproved":
    case "ProposalRejected":
    case "ProposalWithdrawn":
    case "ProposalMerged":
      return [proposalPath(event.id)]
    case "GovernanceChanged":
      return [event.domain === undefined ? "realm.yaml" : `domains/${event.domain}/governance.yaml`]
    case "JoinApproved":
      return [`repos/${event.repo.name}.yaml`]
    case "BindingDeclared":
      return [
        `domains/${event.domain}/bindings/${event.binding.repo}.yaml`,
        ...(before.domains[event.domain]?.file.members.includes(event.binding.repo) === false
          ? [`domains/${event.domain}/domain.yaml`]
          : [])
      ]
    case "WorktreeCreated":
      return [worktreeFilePath(event.change.name)]
    case "WorktreeCommitted":
    case "WorktreePushed":
    case "WorktreePullsRecorded":
    case "WorktreeRemoved":
      return [worktreeFilePath(event.name)]
  }
}

/** True for paths the realm files projection owns (everything but events and foreign files). */
export const isManagedPath = (path: string): boolean =>
  path === "realm.yaml" || (keepFiles as ReadonlyArray<string>).includes(path) ||
  /^repos\/[^/]+\.yaml$/.test(path) || /^proposals\/[^/]+\.yaml$/.test(path) || /^worktrees\/[^/]+\.yaml$/.test(path) ||
  /^domains\/[^/]+\/(domain\.yaml|contracts\/[^/]+\.yaml|bindings\/[^/]+\.yaml)$/
    .test(path)
