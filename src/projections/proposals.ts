/**
 * The proposals a repo sees in its status (SPEC §2.4): the change, who has answered and who has not, the grace
 * deadline, what blocks the merge and, for an importer, what it is asked to do. Pure: `now` comes from the caller,
 * so the same log and time always give the same view.
 */
import satisfies from "semver/functions/satisfies.js"
import { mayMerge } from "../domain/mergeRule.js"
import { normalizeRange } from "../domain/placeholder.js"
import type { ProposalState, ProposalStatus, RealmState } from "../domain/state.js"

/** One proposal as status shows it (also its `--json`). */
export interface ProposalView {
  readonly id: string
  readonly branch: string
  readonly status: ProposalStatus
  readonly repo: string
  readonly domain: string
  readonly contract: string
  readonly from: string
  readonly to: string
  readonly bump: "patch" | "minor" | "major"
  readonly breaking: boolean
  readonly changes: ReadonlyArray<string>
  /** how the viewing repo takes part: it opened it, must answer it, or only watches (admin view) */
  readonly role: "owner" | "importer" | "observer"
  readonly acknowledged: ReadonlyArray<{ readonly repo: string; readonly at: string }>
  readonly waiting: ReadonlyArray<string>
  readonly approved_by: ReadonlyArray<{ readonly by: string; readonly at: string }>
  readonly reviewers: ReadonlyArray<string>
  readonly deadline: string
  /** whole days until the grace period ends (0 once it has) */
  readonly days_left: number
  readonly ready: boolean
  readonly blockers: ReadonlyArray<string>
  /**
   * for an affected importer that has not answered: acknowledge it (its range accepts `to`), or widen its range
   * first (it does not)
   */
  readonly asked?: { readonly action: "acknowledge" | "widen-range"; readonly range: string }
  /** on a forge realm: its pull request as this machine last mirrored it (operations/forgeMirror.ts) */
  readonly pull?: {
    readonly number: number
    readonly url: string
    readonly state: string
    readonly reviewers: ReadonlyArray<string>
    readonly approved: ReadonlyArray<string>
    readonly changes_requested: ReadonlyArray<string>
  }
}

/** Days from `now` until `deadline`, rounded up, never negative. */
export const daysLeft = (deadline: string, now: string): number =>
  Math.max(0, Math.ceil((Date.parse(deadline) - Date.parse(now)) / 86_400_000))

/** The view of one proposal for `repo` (undefined: the admin view) at `now`. */
export const proposalView = (
  state: RealmState,
  p: ProposalState,
  repo: string | undefined,
  now: string
): ProposalView => {
  const readiness = mayMerge(p, state, now)
  const role = repo === p.repo ? "owner" : repo !== undefined && p.importers.includes(repo) ? "importer" : "observer"
  const range = repo === undefined
    ? undefined
    : (state.domains[p.domain]?.bindings[repo]?.imports ?? []).find((i) => i.contract === p.contract)?.version
  const asked = role === "importer" && p.status === "open" && !(repo! in p.acks) && range !== undefined
    ? { action: satisfies(p.to, normalizeRange(range)) ? "acknowledge" as const : "widen-range" as const, range }
    : undefined
  return {
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
    role,
    acknowledged: Object.entries(p.acks).map(([r, at]) => ({ repo: r, at })),
    waiting: p.importers.filter((r) => !(r in p.acks)),
    approved_by: Object.entries(p.approvals).map(([by, at]) => ({ by, at })),
    reviewers: p.reviewers,
    deadline: p.deadline,
    days_left: daysLeft(p.deadline, now),
    ready: readiness.ready,
    blockers: readiness.ready ? [] : readiness.blockers.map((b) => b.text),
    ...(asked === undefined ? {} : { asked })
  }
}

/**
 * The open proposals `repo` takes part in (it opened them or must answer them), or every open one for the admin
 * view (`repo` undefined), oldest first.
 */
export const proposalViews = (state: RealmState, repo: string | undefined, now: string): ReadonlyArray<ProposalView> =>
  Object.values(state.proposals ?? {})
    .filter((p) => p.status === "open" && (repo === undefined || p.repo === repo || p.importers.includes(repo)))
    .map((p) => proposalView(state, p, repo, now))
