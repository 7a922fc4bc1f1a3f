/**
 * The open proposals as `blue realm status` prints them (the data is `proposalViews`, projections/proposals.ts):
 * the change, who acknowledged and who not yet, when the grace period merges it, what blocks the merge, and — in an
 * importer — what this repo is asked to do.
 */
import type { ProposalView } from "./proposals.js"

/** The status lines of the open proposals (none when there are none). */
export const renderProposals = (list: ReadonlyArray<ProposalView>): ReadonlyArray<string> => {
  if (list.length === 0) return []
  const lines = ["", "Proposals:"]
  for (const p of list) {
    lines.push(
      `  ${p.id}: ${p.contract} ${p.from} → ${p.to} (${
        p.breaking ? "BREAKING" : "compatible"
      }) by ${p.repo} on ${p.branch}`
    )
    for (const c of p.changes) lines.push(`      ${c}`)
    if (p.pull !== undefined) {
      const review = p.pull.approved.length > 0
        ? `approved by ${p.pull.approved.join(", ")}`
        : p.pull.changes_requested.length > 0
        ? `changes requested by ${p.pull.changes_requested.join(", ")}`
        : p.pull.reviewers.length > 0
        ? `review requested from ${p.pull.reviewers.join(", ")}`
        : "no review yet"
      lines.push(`    pull request: ${p.pull.url} (${review})`)
    }
    const acked = p.acknowledged.map((a) => a.repo)
    lines.push(
      `    acknowledged: ${acked.length === 0 ? "nobody yet" : acked.join(", ")}${
        p.waiting.length === 0 ? "" : ` · not yet: ${p.waiting.join(", ")}`
      }`
    )
    if (p.ready) lines.push("    ready to merge: the next 'blue realm sync' or the daemon merges it")
    else if (!p.breaking && p.waiting.length > 0) {
      lines.push(
        p.days_left === 0
          ? "    the grace period is over: merges at the next sync unless it is rejected or withdrawn"
          : `    merges in ${p.days_left} day${p.days_left === 1 ? "" : "s"} (${
            p.deadline.slice(0, 10)
          }) unless it is rejected or withdrawn — sooner once everyone acknowledges`
      )
    }
    const blockers = p.blockers.filter((b) => !b.startsWith("grace period") && !b.startsWith("waiting for"))
    if (blockers.length > 0) lines.push(`    blocked: ${blockers.join("; ")}`)
    if (p.asked !== undefined) {
      lines.push(
        p.asked.action === "acknowledge"
          ? `    → you: your import (${p.asked.range}) accepts ${p.to}: update your code if needed, then run 'blue realm sync' to acknowledge`
          : `    → you: your import (${p.asked.range}) does not accept ${p.to}: widen it ('blue realm import --version …'), accept the break and adapt ('blue realm ack ${p.id}'), or ask ${p.repo} to change course`
      )
    }
  }
  return lines
}
