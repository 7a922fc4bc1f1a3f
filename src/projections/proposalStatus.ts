/**
 * The open proposals as `blue realm status` shows them (both the full engine and the start-up fast path): the
 * change, who acknowledged and who not yet, when the grace period merges it, what blocks the merge, and — in an
 * importer — what this repo is asked to do. Pure: the time comes from the caller.
 */
import * as semver from "semver"
import { normalizeRange } from "../domain/placeholder.js"
import { governanceOf, mayMerge, openProposals } from "../domain/proposals.js"
import type { RealmState } from "../domain/state.js"

/** One open proposal as status shows it. */
export interface ProposalView {
  readonly id: string
  readonly branch: string
  readonly repo: string
  readonly domain: string
  readonly contract: string
  readonly from: string
  readonly to: string
  readonly bump: string
  readonly breaking: boolean
  readonly changes: ReadonlyArray<string>
  readonly acknowledged: ReadonlyArray<string>
  readonly waiting_for: ReadonlyArray<string>
  readonly approved_by: ReadonlyArray<string>
  readonly needs_approval: boolean
  readonly deadline: string
  /** whole days until the grace period ends (0 when it has), for a compatible change; null for a breaking one */
  readonly merges_in_days: number | null
  readonly ready: boolean
  readonly blockers: ReadonlyArray<string>
  /** this repo's part in it: owner, importer, or none */
  readonly role: "owner" | "importer" | "none"
  /** what this repo is asked to do, or null */
  readonly asked: string | null
}

const DAY = 86_400_000

/** The realm's open proposals, those that concern `repo` first (all of them when `repo` is undefined). */
export const proposalsView = (state: RealmState, repo: string | undefined, now: string): ReadonlyArray<ProposalView> =>
  openProposals(state).map((p): ProposalView => {
    const readiness = mayMerge(p, state, now)
    const role = p.repo === repo ? "owner" as const : repo !== undefined && p.importers.includes(repo)
      ? "importer" as const
      : "none" as const
    let asked: string | null = null
    if (role === "importer" && repo !== undefined && p.acks[repo] === undefined) {
      const entry = (state.domains[p.domain]?.bindings[repo]?.imports ?? []).find((i) => i.contract === p.contract)
      asked = entry === undefined
        ? null
        : semver.satisfies(p.to, normalizeRange(entry.version))
        ? `your import (${entry.version}) accepts ${p.to}: update your code if needed, then run 'blue realm sync' to acknowledge`
        : `your import (${entry.version}) does not accept ${p.to}: widen it ('blue realm import --version …') or ask ${p.repo} to change course`
    }
    const left = Date.parse(p.deadline) - Date.parse(now)
    return {
      id: p.id,
      branch: p.branch,
      repo: p.repo,
      domain: p.domain,
      contract: p.contract,
      from: p.from,
      to: p.to,
      bump: p.bump,
      breaking: p.breaking,
      changes: p.changes,
      acknowledged: p.importers.filter((r) => p.acks[r] !== undefined),
      waiting_for: p.importers.filter((r) => p.acks[r] === undefined),
      approved_by: Object.keys(p.approvals),
      needs_approval: p.breaking && governanceOf(state, p.domain).require_approval,
      deadline: p.deadline,
      merges_in_days: p.breaking ? null : Math.max(0, Math.ceil(left / DAY)),
      ready: readiness.ready,
      blockers: readiness.ready ? [] : readiness.blockers.map((b) => b.text),
      role,
      asked
    }
  }).sort((a, b) => (a.role === "none" ? 1 : 0) - (b.role === "none" ? 1 : 0) || a.id.localeCompare(b.id))

/** The status lines of the open proposals (none when there are none). */
export const renderProposals = (list: ReadonlyArray<ProposalView>): ReadonlyArray<string> => {
  if (list.length === 0) return []
  const lines = ["", "Proposals:"]
  for (const p of list) {
    lines.push(
      `  ${p.id}: ${p.contract} ${p.from} → ${p.to} (${p.breaking ? "BREAKING" : "compatible"}) by ${p.repo} on ${p.branch}`
    )
    for (const c of p.changes) lines.push(`      ${c}`)
    lines.push(
      `    acknowledged: ${p.acknowledged.length === 0 ? "nobody yet" : p.acknowledged.join(", ")}${
        p.waiting_for.length === 0 ? "" : ` · not yet: ${p.waiting_for.join(", ")}`
      }`
    )
    if (p.ready) lines.push("    ready to merge: the next 'blue realm sync' or the daemon merges it")
    else if (p.merges_in_days !== null && p.waiting_for.length > 0) {
      lines.push(
        p.merges_in_days === 0
          ? `    the grace period is over: merges at the next sync unless it is rejected or withdrawn`
          : `    merges in ${p.merges_in_days} day${p.merges_in_days === 1 ? "" : "s"} (${
            p.deadline.slice(0, 10)
          }) unless it is rejected or withdrawn — sooner once everyone acknowledges`
      )
    }
    const blockers = p.blockers.filter((b) => !b.startsWith("grace period") && !b.startsWith("waiting for"))
    if (blockers.length > 0) lines.push(`    blocked: ${blockers.join("; ")}`)
    if (p.asked !== null) lines.push(`    → you: ${p.asked}`)
  }
  return lines
}
