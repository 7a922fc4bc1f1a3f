/**
 * Governance operations (issue 12): show or change the realm's (or a domain's) governance, invite a repo, and
 * review a join request. The approver is the acting user's email; the decider refuses everyone else.
 */
import { Effect, Schema } from "effect"
import { Admission } from "../domain/files.js"
import { approversOf, effectiveGovernance, JOIN_ID_PREFIX } from "../domain/governance.js"
import { DomainNotFound } from "../domain/governanceErrors.js"
import type { RealmState } from "../domain/state.js"
import { Realms } from "../engine/Realms.js"
import { operation, optionalString } from "./operation.js"
import { here } from "./where.js"

/** A list argument given as one string (comma-separated) or as a list. */
const emails = (description: string) =>
  Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String)).annotations({ description }))

const listOf = (v: string | ReadonlyArray<string> | undefined): Array<string> =>
  (v === undefined ? [] : typeof v === "string" ? [v] : [...v]).flatMap((s) => s.split(",")).map((s) => s.trim())
    .filter((s) => s !== "")

/** The governance view of a realm: its governance (or a domain's), pending join requests and invitations. */
const view = (state: RealmState, domain: string | undefined) => ({
  governance: effectiveGovernance(state, domain) ?? null,
  override: domain === undefined ? null : state.governance?.domains[domain] ?? null,
  approvers: [...approversOf(state, domain)],
  join_requests: Object.values(state.governance?.requests ?? {}).map((r) => ({
    id: r.id,
    repo: r.repo.name,
    path: r.repo.path ?? r.repo.url ?? null,
    maintainers: r.repo.maintainers,
    requested_at: r.requested_at
  })),
  invitations: Object.values(state.governance?.invitations ?? {}).map((i) => ({
    repo: i.repo,
    by: i.by,
    invited_at: i.invited_at
  }))
})

/** `blue realm admin governance`: show the governance, or change it (approvers only) with a GovernanceChanged. */
export const changeGovernance = operation({
  tool: "blue_realm_governance",
  description:
    "Show the realm's governance (approvers, admission, breaking-change policy, pending join requests, invitations), or change it: approvers only. With domain, the domain's governance.yaml override.",
  readOnly: false,
  args: Schema.Struct({
    domain: optionalString("Change the governance.yaml override of this domain instead of realm.yaml"),
    add_approver: emails("Approver emails to add"),
    remove_approver: emails("Approver emails to remove (never the realm's last one)"),
    admission: Schema.optional(Admission.annotations({ description: "How repos get in: open, approval, invite-only" })),
    require_approval: Schema.optional(
      Schema.Boolean.annotations({ description: "Whether a breaking change needs an approver's approval" })
    ),
    grace_period_days: Schema.optional(
      Schema.Number.annotations({ description: "Days after which a non-breaking change may merge without every ack" })
    )
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* here(at.cwd)
      const add = listOf(args.add_approver)
      const remove = listOf(args.remove_approver)
      const asks = add.length > 0 || remove.length > 0 || args.admission !== undefined ||
        args.require_approval !== undefined || args.grace_period_days !== undefined
      if (!asks) {
        const open = yield* realms.open(h.realmDir)
        if (args.domain !== undefined && !(args.domain in open.state.domains)) {
          return yield* new DomainNotFound({
            realm: open.name,
            domain: args.domain,
            domains: Object.keys(open.state.domains).sort()
          })
        }
        return {
          realm: open.name,
          domain: args.domain ?? null,
          asked: false,
          changed: false,
          changes: [] as Array<string>,
          commit: null as string | null,
          ...view(open.state, args.domain)
        }
      }
      const out = yield* realms.execute(h.realmDir, {
        _tag: "ChangeGovernance",
        ...(args.domain === undefined ? {} : { domain: args.domain }),
        addApprovers: add,
        removeApprovers: remove,
        ...(args.admission === undefined ? {} : { admission: args.admission }),
        ...(args.require_approval === undefined ? {} : { requireApproval: args.require_approval }),
        ...(args.grace_period_days === undefined ? {} : { gracePeriodDays: args.grace_period_days })
      }, h.actor)
      const changed = out.events.find((e) => e.event._tag === "GovernanceChanged")
      return {
        realm: out.realm,
        domain: args.domain ?? null,
        asked: true,
        changed: changed !== undefined,
        changes: changed?.event._tag === "GovernanceChanged" ? [...changed.event.changes] : [],
        commit: changed === undefined ? null : out.commit,
        ...view(out.state, args.domain)
      }
    }),
  summary: (r) => {
    const g = r.governance
    const where = r.domain === null ? `realm '${r.realm}'` : `domain '${r.domain}' of realm '${r.realm}'`
    const file = r.domain === null ? "realm.yaml" : `domains/${r.domain}/governance.yaml`
    return [
      ...(r.commit === null
        ? (r.asked ? [`✓ The governance of ${where} is already as asked; nothing was recorded`] : [])
        : [`✓ Changed the governance of ${where} (${file})`, ...r.changes.map((c) => `  ${c}`)]),
      ...(g === null ? [] : [
        `Governance of ${where}:`,
        `  admission: ${g.admission}`,
        `  approvers: ${g.approvers.length === 0 ? "(none)" : g.approvers.join(", ")}`,
        `  breaking changes: ${
          g.breaking_changes.require_approval ? "need an approver's approval" : "need no approval"
        }, grace period ${g.breaking_changes.grace_period_days} days`
      ]),
      ...(r.join_requests.length === 0 ? [] : [
        "Join requests waiting for an approver:",
        ...r.join_requests.map((j) =>
          `  ${j.id}: ${j.repo}${j.path === null ? "" : ` (${j.path})`}, by ${
            j.maintainers.join(", ")
          } — 'blue realm admin approve ${j.id}' or 'reject ${j.id}'`
        )
      ]),
      ...(r.invitations.length === 0 ? [] : [
        "Invitations not used yet:",
        ...r.invitations.map((i) => `  ${i.repo} (invited by ${i.by})`)
      ])
    ].join("\n")
  }
})

/** `blue realm admin invite <repo>`: an approver invites a repo, whose next join is admitted. */
export const inviteRepo = operation({
  tool: "blue_realm_invite",
  description:
    "Invite a repo into the realm (approvers only): its next 'join' is admitted, even in an invite-only realm.",
  readOnly: false,
  args: Schema.Struct({
    repo: Schema.String.annotations({ description: "The repo name it will join under (kebab-case)" })
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* here(at.cwd)
      const out = yield* realms.execute(h.realmDir, { _tag: "InviteRepo", repo: args.repo }, h.actor)
      return {
        realm: out.realm,
        repo: args.repo,
        by: h.actor.user,
        already_invited: out.events.length === 0,
        commit: out.events.length === 0 ? null : out.commit
      }
    }),
  summary: (r) =>
    [
      r.already_invited
        ? `✓ ${r.repo} was already invited to realm '${r.realm}'`
        : `✓ Invited ${r.repo} to realm '${r.realm}'`,
      `Next: in that repo, run 'blue realm admin join <realm> --name ${r.repo}'`
    ].join("\n")
})

/** Whether `id` names a join request (rather than a contract proposal): the lead's approve/reject dispatch on it. */
export const isJoinRequestId = (id: string): boolean => id.startsWith(JOIN_ID_PREFIX)

/**
 * `blue realm admin approve|reject <join-id>`: an approver admits the repo of a join request (it joins, its
 * repos/<repo>.yaml is written) or turns it down.
 */
export const reviewJoin = operation({
  tool: "blue_realm_review_join",
  description:
    "Approve or reject a pending join request (approvers only); an approved repo joins the realm as if it had joined itself.",
  readOnly: false,
  args: Schema.Struct({
    id: Schema.String.annotations({ description: "The join request's id (join-…), as 'admin governance' lists them" }),
    verdict: Schema.Literal("approve", "reject").annotations({ description: "approve or reject" }),
    reason: optionalString("Why (recorded with a rejection)")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* here(at.cwd)
      const out = yield* realms.execute(h.realmDir, {
        _tag: "ReviewJoin",
        id: args.id,
        verdict: args.verdict,
        ...(args.reason === undefined ? {} : { reason: args.reason })
      }, h.actor)
      const event = out.events[0]?.event
      const repo = event?._tag === "JoinApproved"
        ? event.repo.name
        : event?._tag === "JoinRejected"
        ? event.repo
        : ""
      return {
        realm: out.realm,
        id: args.id,
        verdict: args.verdict,
        repo,
        reason: args.reason ?? null,
        commit: out.commit,
        files: out.files
      }
    }),
  summary: (r) =>
    r.verdict === "approve"
      ? [`✓ Approved ${r.id}: ${r.repo} joined realm '${r.realm}'`, ...r.files.map((f) => `✓ Wrote ${f}`)].join("\n")
      : `✓ Rejected ${r.id}: ${r.repo} did not join realm '${r.realm}'${r.reason === null ? "" : ` (${r.reason})`}`
})
