/**
 * The merge rule of contract proposals and the small pure helpers around it (ids, deadlines, the governance that
 * applies), without Effect: `proposals.ts` decides with them, and the status projection (also on the start-up fast
 * path, which does not load Effect) shows what blocks a proposal. `now` always comes from the caller.
 */
import type { ProposalState, RealmState } from "./state.js"

/** The governance that applies in a domain: its governance.yaml override (when the state has one) over realm.yaml. */
export interface EffectiveGovernance {
  readonly approvers: ReadonlyArray<string>
  readonly require_approval: boolean
  readonly grace_period_days: number
}

/**
 * The governance of `domain`: the domain's governance.yaml override field by field over realm.yaml, its approvers
 * added to the realm's (what governance.ts's `effectiveGovernance` gives, read here without loading Effect).
 */
export const governanceOf = (state: RealmState, domain: string): EffectiveGovernance => {
  const realm = state.realm?.governance
  const own = state.governance?.domains[domain]
  const approvers = [...(realm?.approvers ?? []), ...(own?.approvers ?? [])]
  return {
    approvers: approvers.filter((a, i) => approvers.indexOf(a) === i),
    require_approval: own?.breaking_changes?.require_approval ?? realm?.breaking_changes.require_approval ?? true,
    grace_period_days: own?.breaking_changes?.grace_period_days ?? realm?.breaking_changes.grace_period_days ?? 14
  }
}

/** `2026-01-24T10:00:00.000Z` → `20260124-100000` (UTC), the stamp of a proposal's branch and id. */
export const proposalStamp = (time: string): string => {
  const d = new Date(time)
  const p = (n: number) => String(n).padStart(2, "0")
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${
    p(d.getUTCMinutes())
  }${p(d.getUTCSeconds())}`
}

/**
 * The id and branch of a new proposal by `repo` at `time`: `<repo>-<YYYYMMDD-HHMMSS>` and
 * `sync/<repo>/<YYYYMMDD-HHMMSS>`, with `-2`, `-3` … appended to both when the repo already opened one in that
 * second (ids and branches stay unique and typeable).
 */
export const proposalIdentity = (
  state: RealmState,
  repo: string,
  time: string
): { readonly id: string; readonly branch: string } => {
  const stamp = proposalStamp(time)
  const proposals = state.proposals ?? {}
  for (let n = 1;; n++) {
    const tail = n === 1 ? stamp : `${stamp}-${n}`
    const id = `${repo}-${tail}`
    if (!(id in proposals)) return { id, branch: `sync/${repo}/${tail}` }
  }
}

/** `time` plus `days` whole days, as an ISO timestamp. */
export const addDays = (time: string, days: number): string =>
  new Date(Date.parse(time) + days * 86_400_000).toISOString()

/** The open proposal of a contract, if any (at most one is open per contract: a later change amends it). */
export const openProposalFor = (state: RealmState, domain: string, contract: string): ProposalState | undefined =>
  Object.values(state.proposals ?? {}).find((p) =>
    p.status === "open" && p.domain === domain && p.contract === contract
  )

/** The open proposals of the realm, oldest first. */
export const openProposals = (state: RealmState): ReadonlyArray<ProposalState> =>
  Object.values(state.proposals ?? {}).filter((p) => p.status === "open")

/** Why a proposal cannot merge yet; `text` is the sentence status and refusals print. */
export type Blocker =
  | { readonly kind: "closed"; readonly status: string; readonly text: string }
  | { readonly kind: "acknowledgement"; readonly repo: string; readonly text: string }
  | { readonly kind: "grace_period"; readonly until: string; readonly text: string }
  | { readonly kind: "approval"; readonly text: string }

/** Whether a proposal may merge at `now`, and if not, everything that blocks it. */
export type Readiness =
  | { readonly ready: true }
  | { readonly ready: false; readonly blockers: ReadonlyArray<Blocker> }

/** Whether it was approved (only an approver, at the time, can record an approval). */
const approved = (proposal: ProposalState) => Object.keys(proposal.approvals).length > 0

/**
 * The merge rule, pure: a proposal is ready iff it is open, AND (every affected importer acknowledged OR (it is
 * not breaking AND `now` ≥ its deadline)), AND (it is not breaking OR its domain does not require approval OR an
 * approver approved it).
 */
export const mayMerge = (proposal: ProposalState, state: RealmState, now: string): Readiness => {
  if (proposal.status !== "open") {
    return { ready: false, blockers: [{ kind: "closed", status: proposal.status, text: `it is ${proposal.status}` }] }
  }
  const blockers: Array<Blocker> = []
  const waiting = proposal.importers.filter((r) => !(r in proposal.acks))
  const graceOver = !proposal.breaking && Date.parse(now) >= Date.parse(proposal.deadline)
  if (waiting.length > 0 && !graceOver) {
    for (const repo of waiting) {
      blockers.push({ kind: "acknowledgement", repo, text: `waiting for ${repo} to acknowledge` })
    }
    if (!proposal.breaking) {
      blockers.push({
        kind: "grace_period",
        until: proposal.deadline,
        text: `grace period ends ${proposal.deadline.slice(0, 10)}`
      })
    }
  }
  if (proposal.breaking && governanceOf(state, proposal.domain).require_approval && !approved(proposal)) {
    blockers.push({ kind: "approval", text: "needs an approver's approval" })
  }
  return blockers.length === 0 ? { ready: true } : { ready: false, blockers }
}
