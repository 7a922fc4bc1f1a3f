/**
 * Decider specs of contract proposals (SPEC §2.4): given a realm / when a command / then the events or the typed
 * refusal, with the state, notifications, owner's acknowledgement view and realm files that follow. No IO; time
 * arrives with each command.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { eventProblem } from "../src/domain/authorization.js"
import type { Command } from "../src/domain/commands.js"
import {
  ContractBumped,
  ProposalAcknowledged,
  ProposalAmended,
  ProposalApproved,
  ProposalMerged,
  ProposalOpened,
  ProposalRejected,
  ProposalWithdrawn,
  RealmInitialized
} from "../src/domain/events.js"
import { defaultRealmFile, ProposalFile, schemaForRealmPath } from "../src/domain/files.js"
import { effectiveGovernance } from "../src/domain/governance.js"
import { standingOf } from "../src/domain/placeholder.js"
import { addDays, governanceOf, mayMerge, proposalIdentity, proposalStamp } from "../src/domain/proposals.js"
import { initialState } from "../src/domain/state.js"
import { foldEnvelopes } from "../src/projections/fold.js"
import { notificationHistory } from "../src/projections/notifications.js"
import { proposalViews } from "../src/projections/proposals.js"
import { isManagedPath, renderAll, renderPath, touchedPaths } from "../src/projections/realmFiles.js"
import { statusView } from "../src/projections/status.js"
import { World } from "./support/proposals.js"

const T = "2026-01-24T10:00:00.000Z"
const APPROVER = "lead@example.com"
const APERTURE = "aperture"
const FUNGAL = "fungal-image-analysis"
const ML = "ml-infra"
const S3 = "s3-permissions"
const ID = "aperture-20260124-100000"
const later = (days: number, from = T) => addDays(from, days)

const maintainers: Record<string, ReadonlyArray<string>> = {
  [APERTURE]: ["aperture@example.com"],
  [FUNGAL]: ["fungal@example.com", "shared@example.com"],
  [ML]: ["ml@example.com", "shared@example.com"]
}

/** aperture provides s3-permissions (read: jobs/*) to fungal (^1.0.0) and ml-infra (^1.0.0); lead approves. */
const seed = (options: { approvers?: ReadonlyArray<string>; requireApproval?: boolean } = {}) => {
  const w = new World()
  const file = defaultRealmFile("letemcook", T, "open")
  w.append([
    new RealmInitialized({
      realm: {
        ...file,
        governance: {
          ...file.governance,
          approvers: options.approvers ?? [APPROVER],
          breaking_changes: { require_approval: options.requireApproval ?? true, grace_period_days: 14 }
        }
      }
    })
  ])
  for (const repo of [APERTURE, FUNGAL, ML]) {
    w.run({ _tag: "JoinRealm", repo, maintainers: maintainers[repo]! }, { repo })
  }
  w.run({ _tag: "CreateDomain", domain: "s3-access", repos: [APERTURE, FUNGAL, ML], contract: S3 }, { repo: APERTURE })
  w.run({ _tag: "PublishContract", contract: S3, value: { read: ["jobs/*"] } }, { repo: APERTURE })
  return w
}

const publish = (read: ReadonlyArray<string>): Command => ({ _tag: "PublishContract", contract: S3, value: { read } })
const ADD = publish(["jobs/*", "metrics/*"])
const REMOVE = publish([])

describe("opening a proposal", () => {
  it("a change that affects importers becomes ProposalOpened, not a bump on main", () => {
    const w = seed()
    const events = w.run(ADD, { repo: APERTURE })
    expect(events).toHaveLength(1)
    const e = events[0] as ProposalOpened
    expect(e).toBeInstanceOf(ProposalOpened)
    expect({ ...e, proposed: undefined }).toEqual({
      _tag: "ProposalOpened",
      id: ID,
      repo: APERTURE,
      branch: "sync/aperture/20260124-100000",
      domain: "s3-access",
      contract: S3,
      from: "1.0.0",
      to: "1.1.0",
      bump: "minor",
      breaking: false,
      changes: ["+ read: metrics/*"],
      proposed: undefined,
      importers: [FUNGAL, ML],
      reviewers: ["fungal@example.com", "shared@example.com", "ml@example.com"],
      deadline: "2026-02-07T10:00:00.000Z"
    })
    expect(e.proposed.version).toBe("1.1.0")
    expect(e.proposed.value).toEqual({ read: ["jobs/*", "metrics/*"] })
    // main's contract has not moved
    expect(w.state.domains["s3-access"]!.contracts[S3]!.version).toBe("1.0.0")
    expect(w.proposal(ID)).toMatchObject({ status: "open", acks: {}, approvals: {}, opened_at: T })
  })

  it("a breaking change is a major proposal marked breaking", () => {
    const w = seed()
    const e = w.run(REMOVE, { repo: APERTURE })[0] as ProposalOpened
    expect(e).toMatchObject({ from: "1.0.0", to: "2.0.0", bump: "major", breaking: true })
  })

  it("takes the grace period from the domain's governance.yaml override when the state has one", () => {
    const w = seed()
    w.run({
      _tag: "ChangeGovernance",
      domain: "s3-access",
      addApprovers: [],
      removeApprovers: [],
      gracePeriodDays: 3
    }, { user: APPROVER })
    const e = w.run(ADD, { repo: APERTURE })[0] as ProposalOpened
    expect(e.deadline).toBe(later(3))
  })

  it("a change no importer is affected by lands directly (ContractBumped), as does a placeholder's first value", () => {
    const w = seed()
    w.run({ _tag: "LeaveRealm", repo: FUNGAL, force: true }, { repo: FUNGAL })
    w.run({ _tag: "LeaveRealm", repo: ML, force: true }, { repo: ML })
    const events = w.run(ADD, { repo: APERTURE })
    expect(events.map((e) => e._tag)).toEqual(["ContractBumped"])
    expect(w.state.domains["s3-access"]!.contracts[S3]!.version).toBe("1.1.0")
    // the first value over domain create's placeholder: importers exist, and it still lands
    const fresh = new World()
    fresh.run({ _tag: "InitRealm", name: "r", admission: "open", path: "/r" })
    for (const repo of [APERTURE, FUNGAL]) fresh.run({ _tag: "JoinRealm", repo, maintainers: [] }, { repo })
    fresh.run({ _tag: "CreateDomain", domain: "d", repos: [APERTURE, FUNGAL], contract: S3 }, { repo: APERTURE })
    expect(fresh.run(publish(["a"]), { repo: APERTURE }).map((e) => e._tag)).toEqual(["ContractPublished"])
  })

  it("ids are unique for two proposals by the same repo in the same second (suffix), branches too", () => {
    const w = seed()
    w.run({ _tag: "CreateDomain", domain: "metrics", repos: [APERTURE, ML], contract: "metrics" }, { repo: APERTURE })
    w.run({ _tag: "PublishContract", contract: "metrics", value: { a: 1 } }, { repo: APERTURE })
    w.run(ADD, { repo: APERTURE })
    const second = w.run({ _tag: "PublishContract", contract: "metrics", value: { a: 1, b: 2 } }, { repo: APERTURE })
    expect(second[0]).toMatchObject({
      _tag: "ProposalOpened",
      id: `${ID}-2`,
      branch: "sync/aperture/20260124-100000-2",
      contract: "metrics",
      importers: [ML],
      reviewers: ["ml@example.com", "shared@example.com"]
    })
    expect(proposalIdentity(w.state, APERTURE, T)).toEqual({ id: `${ID}-3`, branch: "sync/aperture/20260124-100000-3" })
    expect(proposalStamp("2026-12-01T09:05:07.123Z")).toBe("20261201-090507")
  })

  it("the non-owner is refused (NotContractOwner), as before", () => {
    expect(seed().refusal(ADD, { repo: FUNGAL })).toMatchObject({ _tag: "NotContractOwner", owner: APERTURE })
  })

  it("notifies each importer with the proposal's id, and shows the owner who has answered", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    const pending = Object.values(w.state.pending).filter((n) => n.proposal === ID)
    expect(pending.map((n) => [n.repo, n.change_type, n.version, n.from_repo])).toEqual([
      [FUNGAL, "updated", "1.1.0", APERTURE],
      [ML, "updated", "1.1.0", APERTURE]
    ])
    const acks = statusView(w.state, { path: "/r", head: "0".repeat(40) }, APERTURE).acknowledgements
    expect(acks.at(-1)).toMatchObject({ proposal: ID, version: "1.1.0", pending: [FUNGAL, ML], acknowledged: [] })
  })
})

describe("amending a proposal", () => {
  it("a second change by the owner amends the open proposal; acks and approvals reset, importers are re-notified", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })
    expect(Object.keys(w.proposal(ID).acks)).toEqual([FUNGAL])
    const amended = w.run(publish(["jobs/*", "metrics/*", "logs/*"]), { repo: APERTURE, time: later(1) })
    expect(amended).toHaveLength(1)
    const e = amended[0] as ProposalAmended
    expect(e).toBeInstanceOf(ProposalAmended)
    expect({ ...e, proposed: undefined }).toEqual({
      _tag: "ProposalAmended",
      id: ID,
      from: "1.0.0",
      to: "1.1.0",
      bump: "minor",
      breaking: false,
      changes: ["+ read: metrics/*", "+ read: logs/*"],
      proposed: undefined,
      deadline: later(15)
    })
    expect(w.proposal(ID)).toMatchObject({ acks: {}, amended_at: later(1), deadline: later(15) })
    // one pending notification per importer, the amendment's
    const pending = Object.values(w.state.pending).filter((n) => n.proposal === ID)
    expect(pending.map((n) => [n.id, n.repo])).toEqual([[String(w.state.position), FUNGAL], [
      String(w.state.position),
      ML
    ]])
    expect(pending[0]!.changes).toEqual(["+ read: metrics/*", "+ read: logs/*"])
  })

  it("the same change again amends nothing; a change back to main's contract withdraws the proposal", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    expect(w.run(ADD, { repo: APERTURE })).toEqual([])
    const back = w.run(publish(["jobs/*"]), { repo: APERTURE })
    expect(back).toEqual([
      new ProposalWithdrawn({ id: ID, by: "aperture@example.com", reason: `${S3} is back to 1.0.0` })
    ])
    expect(w.proposal(ID).status).toBe("withdrawn")
    expect(Object.values(w.state.pending).filter((n) => n.proposal === ID)).toEqual([])
  })

  it("a breaking amendment of a compatible proposal becomes breaking", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    const e = w.run(REMOVE, { repo: APERTURE })[0] as ProposalAmended
    expect(e).toMatchObject({ _tag: "ProposalAmended", to: "2.0.0", bump: "major", breaking: true })
    expect(w.proposal(ID).breaking).toBe(true)
  })
})

describe("acknowledging a proposal", () => {
  it("an affected importer whose range accepts the new version acknowledges it; its notification clears", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    const events = w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL, time: later(1) })
    expect(events).toEqual([new ProposalAcknowledged({ id: ID, repo: FUNGAL, version: "1.1.0" })])
    expect(w.proposal(ID).acks).toEqual({ [FUNGAL]: later(1) })
    expect(Object.values(w.state.pending).filter((n) => n.repo === FUNGAL && n.proposal === ID)).toEqual([])
    const acks = statusView(w.state, { path: "/r", head: "0".repeat(40) }, APERTURE).acknowledgements
    expect(acks.at(-1)).toMatchObject({ proposal: ID, acknowledged: [{ repo: FUNGAL, at: later(1) }], pending: [ML] })
    // again: nothing more
    expect(w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })).toEqual([])
    // the notification history records who answered it
    const history = notificationHistory("letemcook", w.log)
    const fungal = history.find((n) => n.repo === FUNGAL && n.proposal === ID)!
    expect(fungal.acknowledged_by).toEqual([{ repo: FUNGAL, user: `${FUNGAL}@example.com`, at: later(1) }])
  })

  it("refuses a repo the proposal does not affect, naming who can", () => {
    const w = seed()
    w.run({ _tag: "JoinRealm", repo: "other", maintainers: [] }, { repo: "other" })
    w.run(ADD, { repo: APERTURE })
    const err = w.refusal({ _tag: "AcknowledgeProposal", id: ID }, { repo: "other" })
    expect(err).toMatchObject({ _tag: "NotAffectedImporter", id: ID, repo: "other", importers: [FUNGAL, ML] })
    expect(err.message).toContain(`${FUNGAL}, ${ML}`)
    expect(w.refusal({ _tag: "AcknowledgeProposal", id: ID }, { repo: APERTURE })._tag).toBe("NotAffectedImporter")
  })

  it("refuses an importer whose range does not accept the new version, naming the range and the version", () => {
    const w = seed()
    w.run(REMOVE, { repo: APERTURE })
    const err = w.refusal({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })
    expect(err).toMatchObject({ _tag: "ProposalRangeRejects", repo: FUNGAL, range: "^1.0.0", version: "2.0.0" })
    expect(err.message).toContain("\"^1.0.0\"")
    expect(err.message).toContain("2.0.0")
    // widening the range lets it acknowledge
    w.run({ _tag: "DeclareImport", contract: S3, domain: "s3-access", version: "^2.0.0" }, { repo: FUNGAL })
    expect(w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })).toHaveLength(1)
  })

  it("an explicit ack accepts a change the range does not cover: recorded as accepted_breaking; the binding breaks", () => {
    const w = seed()
    w.run(REMOVE, { repo: APERTURE })
    // plain: refused, naming the explicit way
    const err = w.refusal({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })
    expect(err).toMatchObject({ _tag: "ProposalRangeRejects", range: "^1.0.0", version: "2.0.0" })
    expect(err.message).toContain(`blue realm ack ${ID}`)
    // explicit: acknowledged, marked
    const events = w.run({ _tag: "AcknowledgeProposal", id: ID, accept_breaking: true }, {
      repo: FUNGAL,
      time: later(1)
    })
    expect(events).toEqual([
      new ProposalAcknowledged({ id: ID, repo: FUNGAL, version: "2.0.0", accepted_breaking: true })
    ])
    expect(w.proposal(ID).acks).toEqual({ [FUNGAL]: later(1) })
    // again: nothing more
    expect(w.run({ _tag: "AcknowledgeProposal", id: ID, accept_breaking: true }, { repo: FUNGAL })).toEqual([])
    // an explicit ack of a version the range does cover is a plain ack
    w.run({ _tag: "DeclareImport", contract: S3, domain: "s3-access", version: ">=1.0.0" }, { repo: ML })
    expect(w.run({ _tag: "AcknowledgeProposal", id: ID, accept_breaking: true }, { repo: ML })).toEqual([
      new ProposalAcknowledged({ id: ID, repo: ML, version: "2.0.0" })
    ])
    // the merge rule is unchanged: every importer acknowledged, the breaking change still needs an approver
    expect(w.refusal({ _tag: "MergeProposal", id: ID })).toMatchObject({ blockers: ["needs an approver's approval"] })
    w.run({ _tag: "ApproveProposal", id: ID }, { user: APPROVER })
    w.run({ _tag: "MergeProposal", id: ID })
    const d = w.state.domains["s3-access"]!
    const fungal = d.bindings[FUNGAL]!.imports!.find((i) => i.contract === S3)!
    // fungal's binding is broken (its range rejects 2.0.0) until it widens the range and re-imports
    expect(fungal).toMatchObject({ version: "^1.0.0", resolved_version: "1.0.0" })
    expect(standingOf(fungal, d.contracts[S3]!)).toBe("broken")
    w.run({ _tag: "DeclareImport", contract: S3, domain: "s3-access", version: "^2.0.0" }, { repo: FUNGAL })
    const widened = w.state.domains["s3-access"]!.bindings[FUNGAL]!.imports!.find((i) => i.contract === S3)!
    expect(standingOf(widened, d.contracts[S3]!)).toBe("current")
  })

  it("refuses an unknown id (listing the open ones), a non-member, and a closed proposal", () => {
    const w = seed()
    expect(w.refusal({ _tag: "AcknowledgeProposal", id: "nope" }, { repo: FUNGAL })).toMatchObject({
      _tag: "ProposalNotFound",
      open: []
    })
    w.run(ADD, { repo: APERTURE })
    const err = w.refusal({ _tag: "AcknowledgeProposal", id: "nope" }, { repo: FUNGAL })
    expect(err).toMatchObject({ _tag: "ProposalNotFound", id: "nope", open: [ID] })
    expect(err.message).toContain(ID)
    expect(w.refusal({ _tag: "AcknowledgeProposal", id: ID }, { repo: "stranger" })._tag).toBe("RepoNotInRealm")
    w.run({ _tag: "WithdrawProposal", id: ID, reason: "wrong" }, { repo: APERTURE })
    expect(w.refusal({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })).toMatchObject({
      _tag: "ProposalClosed",
      status: "withdrawn"
    })
  })

  it("a plain `realm ack` of a proposal's notification dismisses it without acknowledging the proposal", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    const [n] = Object.values(w.state.pending).filter((x) => x.repo === FUNGAL && x.proposal === ID)
    w.run({ _tag: "AcknowledgeNotifications", ids: [n!.id], all: false }, { repo: FUNGAL })
    expect(Object.values(w.state.pending).filter((x) => x.repo === FUNGAL && x.proposal === ID)).toEqual([])
    expect(w.proposal(ID).acks).toEqual({})
  })
})

describe("approving, rejecting, withdrawing", () => {
  it("an approver approves (once); a non-approver is refused, naming the approvers", () => {
    const w = seed()
    w.run(REMOVE, { repo: APERTURE })
    expect(w.run({ _tag: "ApproveProposal", id: ID }, { user: APPROVER, time: later(1) })).toEqual([
      new ProposalApproved({ id: ID, by: APPROVER })
    ])
    expect(w.proposal(ID).approvals).toEqual({ [APPROVER]: later(1) })
    expect(w.run({ _tag: "ApproveProposal", id: ID }, { user: APPROVER })).toEqual([])
    const err = w.refusal({ _tag: "ApproveProposal", id: ID }, { repo: FUNGAL, user: "fungal@example.com" })
    expect(err).toMatchObject({
      _tag: "NotApprover",
      actor: "fungal@example.com",
      action: `approve proposal ${ID}`,
      approvers: [APPROVER]
    })
    expect(err.message).toContain(APPROVER)
  })

  it("the domain's governance.yaml approvers approve its proposals too (added to the realm's), not others'", () => {
    const w = seed()
    w.run({ _tag: "CreateDomain", domain: "metrics", repos: [APERTURE, ML], contract: "metrics" }, { repo: APERTURE })
    w.run({ _tag: "PublishContract", contract: "metrics", value: { a: 1 } }, { repo: APERTURE })
    w.run({
      _tag: "ChangeGovernance",
      domain: "s3-access",
      addApprovers: ["domain@example.com"],
      removeApprovers: [],
      requireApproval: true
    }, { user: APPROVER })
    w.run(REMOVE, { repo: APERTURE })
    w.run({ _tag: "PublishContract", contract: "metrics", value: {} }, { repo: APERTURE })
    expect(w.run({ _tag: "ApproveProposal", id: ID }, { user: "domain@example.com" })).toHaveLength(1)
    expect(w.run({ _tag: "ApproveProposal", id: ID }, { user: APPROVER })).toHaveLength(1)
    expect(w.refusal({ _tag: "ApproveProposal", id: `${ID}-2` }, { user: "domain@example.com" })._tag).toBe(
      "NotApprover"
    )
  })

  it("an approver rejects (with or without a reason); a non-approver is refused; a rejected proposal is closed", () => {
    const w = seed()
    w.run(REMOVE, { repo: APERTURE })
    expect(w.refusal({ _tag: "RejectProposal", id: ID }, { user: "fungal@example.com" })._tag).toBe("NotApprover")
    expect(w.run({ _tag: "RejectProposal", id: ID, reason: "breaks ml" }, { user: APPROVER, time: later(2) }))
      .toEqual([new ProposalRejected({ id: ID, by: APPROVER, reason: "breaks ml" })])
    expect(w.proposal(ID)).toMatchObject({
      status: "rejected",
      closed_by: APPROVER,
      closed_at: later(2),
      reason: "breaks ml"
    })
    expect(Object.values(w.state.pending).filter((n) => n.proposal === ID)).toEqual([])
    expect(w.refusal({ _tag: "ApproveProposal", id: ID }, { user: APPROVER })).toMatchObject({
      _tag: "ProposalClosed",
      status: "rejected"
    })
    expect(w.refusal({ _tag: "MergeProposal", id: ID }, { time: later(100) })._tag).toBe("ProposalClosed")
    // the owner's next change opens a new proposal
    expect(w.run(ADD, { repo: APERTURE })[0]).toMatchObject({ _tag: "ProposalOpened", id: `${ID}-2` })
    const bare = seed()
    bare.run(REMOVE, { repo: APERTURE })
    expect(bare.run({ _tag: "RejectProposal", id: ID }, { user: APPROVER })).toEqual([
      new ProposalRejected({ id: ID, by: APPROVER })
    ])
  })

  it("the owner withdraws; another repo is refused (NotProposalOwner)", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    const err = w.refusal({ _tag: "WithdrawProposal", id: ID, reason: "mine" }, { repo: FUNGAL })
    expect(err).toMatchObject({ _tag: "NotProposalOwner", owner: APERTURE, actor: FUNGAL })
    expect(err.message).toContain(APERTURE)
    expect(w.run({ _tag: "WithdrawProposal", id: ID, reason: "not ready" }, { repo: APERTURE })).toEqual([
      new ProposalWithdrawn({ id: ID, by: "aperture@example.com", reason: "not ready" })
    ])
    expect(w.proposal(ID)).toMatchObject({ status: "withdrawn", reason: "not ready" })
    expect(w.refusal({ _tag: "WithdrawProposal", id: ID, reason: "again" }, { repo: APERTURE })._tag).toBe(
      "ProposalClosed"
    )
  })
})

describe("merging", () => {
  it("refuses a proposal that is not ready, saying what it waits for", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })
    const err = w.refusal({ _tag: "MergeProposal", id: ID }, { time: later(1) })
    expect(err).toMatchObject({
      _tag: "ProposalNotReady",
      id: ID,
      blockers: [`waiting for ${ML} to acknowledge`, "grace period ends 2026-02-07"]
    })
    expect(err.message).toContain(`waiting for ${ML} to acknowledge`)
  })

  it("merges once every importer acknowledged: ProposalMerged then the ContractBumped it carries", () => {
    const w = seed()
    const opened = w.run(ADD, { repo: APERTURE })[0] as ProposalOpened
    w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL, time: later(1) })
    w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: ML, time: later(2) })
    const pendingBefore = Object.keys(w.state.pending)
    const events = w.run({ _tag: "MergeProposal", id: ID }, { repo: ML, time: later(2) })
    expect(events).toEqual([
      new ProposalMerged({ id: ID }),
      new ContractBumped({ domain: "s3-access", from: "1.0.0", bump: "minor", contract: opened.proposed })
    ])
    expect(w.state.domains["s3-access"]!.contracts[S3]!.version).toBe("1.1.0")
    expect(w.proposal(ID)).toMatchObject({ status: "merged", closed_at: later(2) })
    // importers that acknowledged the proposal are not told again about the bump it landed
    expect(Object.keys(w.state.pending)).toEqual(pendingBefore)
    const acks = statusView(w.state, { path: "/r", head: "0".repeat(40) }, APERTURE).acknowledgements
    expect(acks.at(-1)).toMatchObject({ version: "1.1.0", pending: [] })
    expect(acks.at(-1)!.acknowledged.map((a) => a.repo)).toEqual([FUNGAL, ML])
    expect(acks.some((a) => a.proposal === ID)).toBe(false)
  })

  it("merging twice is refused (ProposalClosed: merged), so a lost race changes nothing", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    w.run({ _tag: "MergeProposal", id: ID }, { time: later(14) })
    const err = w.refusal({ _tag: "MergeProposal", id: ID }, { time: later(15) })
    expect(err).toMatchObject({ _tag: "ProposalClosed", id: ID, status: "merged" })
  })

  it("a compatible change merges after its grace period without every ack; those who did not ack are notified", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })
    expect(w.refusal({ _tag: "MergeProposal", id: ID }, { time: "2026-02-07T09:59:59.999Z" })._tag).toBe(
      "ProposalNotReady"
    )
    // merged by an importer (anyone may): the notification still comes from the owner
    const events = w.run({ _tag: "MergeProposal", id: ID }, { repo: FUNGAL, time: later(14) })
    expect(events.map((e) => e._tag)).toEqual(["ProposalMerged", "ContractBumped"])
    const bumpId = String(w.state.position)
    expect(
      Object.values(w.state.pending).filter((n) => n.id === bumpId).map((n) => [n.repo, n.proposal, n.from_repo])
    ).toEqual([[ML, undefined, APERTURE]])
  })

  it("a breaking change never merges by grace period, and needs an approver under require_approval", () => {
    const w = seed()
    w.run(REMOVE, { repo: APERTURE })
    expect(w.refusal({ _tag: "MergeProposal", id: ID }, { time: later(400) })).toMatchObject({
      blockers: [
        `waiting for ${FUNGAL} to acknowledge`,
        `waiting for ${ML} to acknowledge`,
        "needs an approver's approval"
      ]
    })
    for (const repo of [FUNGAL, ML]) {
      w.run({ _tag: "DeclareImport", contract: S3, domain: "s3-access", version: "^2.0.0" }, { repo })
      w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo })
    }
    expect(w.refusal({ _tag: "MergeProposal", id: ID })).toMatchObject({ blockers: ["needs an approver's approval"] })
    w.run({ _tag: "ApproveProposal", id: ID }, { user: APPROVER })
    expect(w.run({ _tag: "MergeProposal", id: ID }).map((e) => e._tag)).toEqual(["ProposalMerged", "ContractBumped"])
    expect(w.state.domains["s3-access"]!.contracts[S3]!.version).toBe("2.0.0")
    // without require_approval, the acks suffice
    const free = seed({ requireApproval: false })
    free.run(REMOVE, { repo: APERTURE })
    for (const repo of [FUNGAL, ML]) {
      free.run({ _tag: "DeclareImport", contract: S3, domain: "s3-access", version: "^2.0.0" }, { repo })
      free.run({ _tag: "AcknowledgeProposal", id: ID }, { repo })
    }
    expect(free.run({ _tag: "MergeProposal", id: ID })).toHaveLength(2)
  })

  it("refuses a proposal whose contract moved since it was opened (ProposalConflict), the owner amends it", () => {
    const w = seed()
    const opened = w.run(ADD, { repo: APERTURE })[0] as ProposalOpened
    // a change that landed on main meanwhile (e.g. from another machine's log)
    const moved = { ...opened.proposed, version: "1.0.1", value: { read: ["jobs/*", "x/*"] } }
    w.append([new ContractBumped({ domain: "s3-access", from: "1.0.0", bump: "patch", contract: moved })])
    for (const repo of [FUNGAL, ML]) w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo })
    const err = w.refusal({ _tag: "MergeProposal", id: ID })
    expect(err).toMatchObject({ _tag: "ProposalConflict", id: ID, from: "1.0.0", current: "1.0.1" })
    expect(err.message).toContain("1.0.1")
    const amended = w.run(ADD, { repo: APERTURE })[0] as ProposalAmended
    expect(amended).toMatchObject({ _tag: "ProposalAmended", from: "1.0.1" })
  })

  it("an importer that leaves no longer holds the proposal up", () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL })
    w.run({ _tag: "LeaveRealm", repo: ML, force: true }, { repo: ML })
    expect(w.proposal(ID).importers).toEqual([FUNGAL])
    expect(mayMerge(w.proposal(ID), w.state, T)).toEqual({ ready: true })
  })
})

describe("status data of proposals", () => {
  it("shows the owner what blocks it and the importer what it is asked to do", () => {
    const w = seed()
    w.run(REMOVE, { repo: APERTURE })
    const [owner] = proposalViews(w.state, APERTURE, later(1))
    expect(owner).toMatchObject({
      id: ID,
      role: "owner",
      waiting: [FUNGAL, ML],
      days_left: 13,
      ready: false,
      blockers: [
        `waiting for ${FUNGAL} to acknowledge`,
        `waiting for ${ML} to acknowledge`,
        "needs an approver's approval"
      ]
    })
    const [importer] = proposalViews(w.state, FUNGAL, later(1))
    expect(importer).toMatchObject({ role: "importer", asked: { action: "widen-range", range: "^1.0.0" } })
    expect(proposalViews(w.state, undefined, T).map((v) => v.role)).toEqual(["observer"])
  })
})

describe("realm files of proposals", () => {
  const story = () => {
    const w = seed()
    w.run(ADD, { repo: APERTURE })
    w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL, time: later(1) })
    w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: ML, time: later(2) })
    w.run({ _tag: "MergeProposal", id: ID }, { time: later(2) })
    w.run(REMOVE, { repo: APERTURE, time: later(3) })
    w.run({ _tag: "ApproveProposal", id: `aperture-20260127-100000` }, { user: APPROVER, time: later(3) })
    return w
  }

  it("renders proposals/<id>.yaml with snake_case fields, valid against ProposalFile", () => {
    const w = story()
    const text = renderPath(w.state, `proposals/${ID}.yaml`)!
    expect(text).toBe(
      [
        `id: ${ID}`,
        "branch: sync/aperture/20260124-100000",
        "status: merged",
        "repo: aperture",
        "domain: s3-access",
        "contract: s3-permissions",
        "from: 1.0.0",
        "to: 1.1.0",
        "bump: minor",
        "breaking: false",
        "changes:",
        "  - \"+ read: metrics/*\"",
        "importers:",
        `  - ${FUNGAL}`,
        `  - ${ML}`,
        "reviewers:",
        "  - fungal@example.com",
        "  - shared@example.com",
        "  - ml@example.com",
        "acknowledged_by:",
        `  - repo: ${FUNGAL}`,
        `    at: ${later(1)}`,
        `  - repo: ${ML}`,
        `    at: ${later(2)}`,
        "approved_by: []",
        `deadline: ${later(14)}`,
        `opened_at: ${T}`,
        `merged_at: ${later(2)}`,
        ""
      ].join("\n")
    )
    const schema = schemaForRealmPath(`proposals/${ID}.yaml`)
    expect(schema).toBe(ProposalFile)
    const open = renderPath(w.state, "proposals/aperture-20260127-100000.yaml")!
    expect(YAML.parse(open)).toMatchObject({
      status: "open",
      breaking: true,
      approved_by: [{ by: APPROVER, at: later(3) }]
    })
    expect(isManagedPath(`proposals/${ID}.yaml`)).toBe(true)
  })

  it("replay renders byte-identical files, and each proposal event touches its file", () => {
    const w = story()
    const replayed = foldEnvelopes(initialState, w.log)
    expect(renderAll(replayed)).toEqual(renderAll(w.state))
    expect([...renderAll(w.state).keys()].filter((p) => p.startsWith("proposals/"))).toEqual([
      `proposals/${ID}.yaml`,
      "proposals/aperture-20260127-100000.yaml"
    ])
    const opened = w.log.find((e) => e.event._tag === "ProposalOpened")!
    expect(touchedPaths(initialState, opened.event)).toEqual([`proposals/${ID}.yaml`])
  })
})

describe("who may author proposal events (check --mode realm)", () => {
  it("anyone may land a merged proposal's bump; only the owner opens or amends; only the importer acknowledges", () => {
    const w = seed()
    const opened = w.run(ADD, { repo: APERTURE })[0] as ProposalOpened
    const bump = new ContractBumped({ domain: "s3-access", from: "1.0.0", bump: "minor", contract: opened.proposed })
    expect(eventProblem(w.state, bump, ML, [new ProposalMerged({ id: ID }), bump])).toBeUndefined()
    expect(eventProblem(w.state, bump, ML, [bump])).toContain("owned by aperture")
    expect(eventProblem(w.state, opened, FUNGAL, [opened])).toContain("proposes a change")
    // what it proposes must be the contract it names, still owned by the proposer
    const hijack = new ProposalOpened({ ...opened, proposed: { ...opened.proposed, owner: FUNGAL } })
    expect(eventProblem(w.state, hijack, APERTURE, [hijack])).toContain("owned by fungal-image-analysis")
    const amend = new ProposalAmended({
      id: ID,
      from: "1.0.0",
      to: "1.1.0",
      bump: "minor",
      breaking: false,
      changes: [],
      proposed: { ...opened.proposed, name: "other" },
      deadline: T
    })
    expect(eventProblem(w.state, amend, APERTURE, [amend])).toContain("amends proposal")
    // a branch is a git ref: only sync/<repo>/<stamp> is a proposal's
    expect(() => new ProposalOpened({ ...opened, branch: "refs/heads/main" })).toThrow(/not a proposal branch/)
    expect(() => new ProposalOpened({ ...opened, branch: "sync/aperture/../../x" })).toThrow(/not a proposal branch/)
    expect(eventProblem(w.state, new ProposalAcknowledged({ id: ID, repo: FUNGAL, version: "1.1.0" }), ML, []))
      .toContain("acknowledges proposal")
    expect(eventProblem(w.state, new ProposalWithdrawn({ id: ID, by: "x", reason: "r" }), FUNGAL, [])).toContain(
      "withdraws"
    )
  })
})

describe("folding proposal events", () => {
  it("never changes an earlier state (every state of a whole story is frozen before the next event)", () => {
    const freeze = (v: unknown): void => {
      if (v === null || typeof v !== "object" || Object.isFrozen(v)) return
      Object.freeze(v)
      for (const x of Object.values(v)) freeze(x)
    }
    const w = seed()
    const step = (f: () => unknown) => {
      freeze(w.state)
      f()
    }
    step(() => w.run(ADD, { repo: APERTURE }))
    step(() => w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL }))
    step(() => w.run(publish(["jobs/*", "metrics/*", "x/*"]), { repo: APERTURE }))
    step(() => w.run({ _tag: "AcknowledgeProposal", id: ID }, { repo: FUNGAL }))
    step(() => w.run({ _tag: "AcknowledgeNotifications", ids: [], all: true }, { repo: ML }))
    step(() => w.run({ _tag: "MergeProposal", id: ID }, { time: later(30) }))
    step(() => w.run(REMOVE, { repo: APERTURE }))
    step(() => w.run({ _tag: "ApproveProposal", id: `${ID}-2` }, { user: APPROVER }))
    step(() => w.run({ _tag: "RejectProposal", id: `${ID}-2` }, { user: APPROVER }))
    step(() => w.run(ADD, { repo: APERTURE }))
    step(() => w.run({ _tag: "LeaveRealm", repo: ML, force: true }, { repo: ML }))
    step(() => w.run({ _tag: "WithdrawProposal", id: `${ID}-3`, reason: "r" }, { repo: APERTURE }))
    expect(Object.values(w.state.proposals).map((p) => p.status)).toEqual(["merged", "rejected", "withdrawn"])
    expect(renderAll(foldEnvelopes(initialState, w.log))).toEqual(renderAll(w.state))
  })
})

describe("the merge rule's footprint", () => {
  it("governanceOf reads the same governance as governance.ts's effectiveGovernance", () => {
    const w = seed()
    w.run({
      _tag: "ChangeGovernance",
      domain: "s3-access",
      addApprovers: ["domain@example.com"],
      removeApprovers: [],
      requireApproval: false,
      gracePeriodDays: 2
    }, { user: APPROVER })
    for (const domain of ["s3-access", "elsewhere"]) {
      const g = effectiveGovernance(w.state, domain)!
      expect(governanceOf(w.state, domain)).toEqual({
        approvers: g.approvers,
        require_approval: g.breaking_changes.require_approval,
        grace_period_days: g.breaking_changes.grace_period_days
      })
    }
  })

  it("loads without Effect (the status fast path shows proposals): mergeRule.ts and projections/proposals.ts", () => {
    const root = fileURLToPath(new URL("..", import.meta.url))
    const seen = new Set<string>()
    const visit = (file: string): Array<string> => {
      if (seen.has(file)) return []
      seen.add(file)
      const text = fs.readFileSync(file, "utf8")
      const specs = [...text.matchAll(/^import (?!type )[^;]*?from "([^"]+)"/gms)].map((m) => m[1]!)
      return specs.flatMap((spec) =>
        spec.startsWith(".")
          ? visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts")))
          : spec === "effect" || spec.startsWith("effect/") || spec.startsWith("@effect/")
          ? [`${path.relative(root, file)} imports ${spec}`]
          : []
      )
    }
    expect([
      ...visit(path.join(root, "src/domain/mergeRule.ts")),
      ...visit(path.join(root, "src/projections/proposals.ts"))
    ]).toEqual([])
  })
})
