/**
 * Property tests of the merge rule with a fake clock: random sequences of what owners, importers and approvers
 * may do (change the contract, widen a range, acknowledge, approve, reject, withdraw, merge) and of time passing,
 * decided one by one against the folded log. Whatever happens, a merge only happens when the rule allows it.
 */
import { Either } from "effect"
import fc from "fast-check"
import * as semver from "semver"
import { describe, expect, it } from "vitest"
import type { Command } from "../src/domain/commands.js"
import { RealmInitialized } from "../src/domain/events.js"
import { defaultRealmFile } from "../src/domain/files.js"
import { normalizeRange } from "../src/domain/placeholder.js"
import { addDays, mayMerge } from "../src/domain/proposals.js"
import type { ProposalState } from "../src/domain/state.js"
import { World } from "./support/proposals.js"

const T = "2026-01-24T10:00:00.000Z"
const APPROVER = "lead@example.com"
const OWNER = "aperture"
const IMPORTERS = ["fungal", "ml"] as const
const S3 = "s3"

const world = (requireApproval: boolean, grace: number) => {
  const w = new World()
  w.now = T
  const file = defaultRealmFile("r", T, "open")
  w.append([
    new RealmInitialized({
      realm: {
        ...file,
        governance: {
          ...file.governance,
          approvers: [APPROVER],
          breaking_changes: { require_approval: requireApproval, grace_period_days: grace }
        }
      }
    })
  ])
  for (const repo of [OWNER, ...IMPORTERS]) w.run({ _tag: "JoinRealm", repo, maintainers: [`${repo}@x`] }, { repo })
  w.run({ _tag: "CreateDomain", domain: "d", repos: [OWNER, ...IMPORTERS], contract: S3 }, { repo: OWNER })
  w.run({ _tag: "PublishContract", contract: S3, value: { read: ["a"] } }, { repo: OWNER })
  return w
}

/** The values an owner may publish: compatible additions, a removal (breaking), and back to the first value. */
const VALUES = [["a"], ["a", "b"], ["b"], [], ["a", "c"]]

type Action =
  | { readonly kind: "publish"; readonly value: number }
  | { readonly kind: "widen"; readonly repo: number; readonly major: number }
  | { readonly kind: "ack"; readonly repo: number }
  | { readonly kind: "accept"; readonly repo: number }
  | { readonly kind: "sync"; readonly repo: number }
  | { readonly kind: "approve"; readonly approver: boolean }
  | { readonly kind: "reject"; readonly approver: boolean }
  | { readonly kind: "withdraw"; readonly owner: boolean }
  | { readonly kind: "merge" }
  | { readonly kind: "wait"; readonly hours: number }

// Weighted so that whole stories happen often: a change, its answers, an approval, a merge.
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("publish" as const), value: fc.nat(VALUES.length - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("widen" as const),
      repo: fc.nat(1),
      major: fc.integer({ min: 1, max: 3 })
    })
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("ack" as const), repo: fc.nat(1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("accept" as const), repo: fc.nat(1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("sync" as const), repo: fc.nat(1) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("approve" as const), approver: fc.constantFrom(true, true, false) })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reject" as const), approver: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), owner: fc.boolean() }) },
  { weight: 4, arbitrary: fc.constant({ kind: "merge" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("wait" as const), hours: fc.integer({ min: 1, max: 24 * 20 }) })
  }
)

const later = (time: string, hours: number) => new Date(Date.parse(time) + hours * 3_600_000).toISOString()

/** The latest proposal of the contract (the one actions address). */
const latest = (w: World): ProposalState | undefined => Object.values(w.state.proposals).at(-1)

/** Applies one action to `w` (refusals change nothing); returns the merge it made, with the proposal before it. */
const step = (w: World, a: Action): { readonly merged: ProposalState } | undefined => {
  const p = latest(w)
  const attempt = (command: Command, as: { repo?: string; user?: string }) => {
    const result = w.decide(command, as)
    if (Either.isRight(result)) w.append(result.right, as)
    return result
  }
  switch (a.kind) {
    case "publish":
      attempt({ _tag: "PublishContract", contract: S3, value: { read: VALUES[a.value] } }, { repo: OWNER })
      return undefined
    case "widen":
      attempt(
        { _tag: "DeclareImport", contract: S3, domain: "d", version: `>=1.0.0 <${a.major + 1}.0.0` },
        { repo: IMPORTERS[a.repo]! }
      )
      return undefined
    case "wait":
      w.now = later(w.now, a.hours)
      return undefined
  }
  if (p === undefined) return undefined
  switch (a.kind) {
    case "ack":
      attempt({ _tag: "AcknowledgeProposal", id: p.id }, { repo: IMPORTERS[a.repo]! })
      return undefined
    case "accept":
      // The importer's explicit ack (`blue realm ack <proposal>`), also of a change its range does not cover.
      attempt({ _tag: "AcknowledgeProposal", id: p.id, accept_breaking: true }, { repo: IMPORTERS[a.repo]! })
      return undefined
    case "sync": {
      // What a consumer's sync does: take the new major into its range, then acknowledge.
      const repo = IMPORTERS[a.repo]!
      attempt({ _tag: "DeclareImport", contract: S3, domain: "d", version: `^${p.to.split(".")[0]}.0.0` }, { repo })
      attempt({ _tag: "AcknowledgeProposal", id: p.id }, { repo })
      return undefined
    }
    case "approve":
      attempt({ _tag: "ApproveProposal", id: p.id }, { user: a.approver ? APPROVER : "fungal@x" })
      return undefined
    case "reject":
      attempt({ _tag: "RejectProposal", id: p.id }, { user: a.approver ? APPROVER : "fungal@x" })
      return undefined
    case "withdraw":
      attempt({ _tag: "WithdrawProposal", id: p.id, reason: "r" }, { repo: a.owner ? OWNER : IMPORTERS[0] })
      return undefined
    case "merge": {
      // Every proposal, closed ones included, is tried: only a ready one may merge.
      for (const q of Object.values(w.state.proposals)) {
        const before = q
        const result = attempt({ _tag: "MergeProposal", id: q.id }, { repo: IMPORTERS[1] })
        if (Either.isRight(result)) return { merged: before }
      }
      return undefined
    }
  }
}

const scenario = fc.record({
  requireApproval: fc.boolean(),
  grace: fc.integer({ min: 0, max: 15 }),
  actions: fc.array(action, { minLength: 1, maxLength: 60, size: "max" })
})

describe("the merge rule (property tests, fake clock)", () => {
  it("a merge only happens to an open proposal that every importer acknowledged or whose compatible change outlived its grace period, and a breaking one under require_approval only with an approval", () => {
    const merged = { compatible: 0, breaking: 0, early: 0 }
    fc.assert(
      fc.property(scenario, ({ actions, grace, requireApproval }) => {
        const w = world(requireApproval, grace)
        for (const a of actions) {
          const before = w.now
          const outcome = step(w, a)
          if (outcome === undefined) continue
          const p = outcome.merged
          merged[p.breaking ? "breaking" : "compatible"]++
          if (Date.parse(before) < Date.parse(p.deadline)) merged.early++
          const everyAck = p.importers.every((r) => r in p.acks)
          expect(p.status).toBe("open")
          if (p.breaking) expect(everyAck).toBe(true)
          if (p.breaking && requireApproval) expect(Object.keys(p.approvals).length).toBeGreaterThan(0)
          if (Date.parse(before) < Date.parse(p.deadline)) expect(everyAck).toBe(true)
          // the merge landed exactly the proposed contract, and a second merge is refused
          expect(w.state.domains["d"]!.contracts[S3]).toEqual(p.proposed)
          const again = w.decide({ _tag: "MergeProposal", id: p.id }, { repo: OWNER })
          expect(Either.isLeft(again) && again.left._tag).toBe("ProposalClosed")
        }
      }),
      { numRuns: 300 }
    )
    // the runs did exercise the rule: compatible and breaking merges, some before the deadline
    expect(merged.compatible).toBeGreaterThan(0)
    expect(merged.breaking).toBeGreaterThan(0)
    expect(merged.early).toBeGreaterThan(0)
  })

  it("an ack of a version the importer's range rejects is only ever explicit, and always marked accepted_breaking", () => {
    const acks = { covered: 0, breaking: 0 }
    fc.assert(
      fc.property(scenario, ({ actions, grace, requireApproval }) => {
        const w = world(requireApproval, grace)
        for (const a of actions) {
          const p = latest(w)
          const repo = a.kind === "ack" || a.kind === "accept" ? IMPORTERS[a.repo]! : undefined
          const range = repo === undefined || p === undefined
            ? undefined
            : w.state.domains["d"]!.bindings[repo]?.imports?.find((i) => i.contract === S3)?.version
          const position = w.state.position
          step(w, a)
          // (a consumer's sync widens its range first; its ack is checked by the range it then has)
          if (range === undefined) continue
          const recorded = w.log.slice(position).flatMap((e) =>
            e.event._tag === "ProposalAcknowledged" ? [e.event] : []
          )
          for (const e of recorded) {
            const covered = semver.satisfies(e.version, normalizeRange(range))
            acks[covered ? "covered" : "breaking"]++
            if (!covered) expect(a.kind).toBe("accept")
            expect(e.accepted_breaking === true).toBe(!covered)
          }
        }
      }),
      { numRuns: 200 }
    )
    expect(acks.covered).toBeGreaterThan(0)
    expect(acks.breaking).toBeGreaterThan(0)
  })

  it("a rejected or withdrawn proposal never merges, whatever happens after", () => {
    fc.assert(
      fc.property(scenario, ({ actions, grace, requireApproval }) => {
        const w = world(requireApproval, grace)
        for (const a of actions) {
          step(w, a)
          for (const p of Object.values(w.state.proposals)) {
            if (p.status !== "rejected" && p.status !== "withdrawn") continue
            const at = addDays(w.now, 1000)
            expect(Either.isLeft(w.decide({ _tag: "MergeProposal", id: p.id }, { time: at }))).toBe(true)
            expect(mayMerge(p, w.state, at).ready).toBe(false)
          }
        }
      }),
      { numRuns: 200 }
    )
  })

  it("readiness is monotone in time for a fixed log: once ready, later is ready too", () => {
    fc.assert(
      fc.property(
        scenario,
        fc.integer({ min: 0, max: 24 * 30 }),
        fc.integer({ min: 0, max: 24 * 30 }),
        ({ actions, grace, requireApproval }, h1, dh) => {
          const w = world(requireApproval, grace)
          for (const a of actions) step(w, a)
          for (const p of Object.values(w.state.proposals)) {
            const t1 = later(w.now, h1 - 24 * 15)
            const t2 = later(t1, dh)
            if (mayMerge(p, w.state, t1).ready) expect(mayMerge(p, w.state, t2).ready).toBe(true)
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it("nothing merges before its deadline without every acknowledgement (the clock alone never suffices early)", () => {
    fc.assert(
      fc.property(scenario, ({ actions, grace, requireApproval }) => {
        const w = world(requireApproval, grace)
        for (const a of actions) step(w, a)
        for (const p of Object.values(w.state.proposals)) {
          if (p.status !== "open" || p.importers.every((r) => r in p.acks)) continue
          const justBefore = new Date(Date.parse(p.deadline) - 1).toISOString()
          expect(mayMerge(p, w.state, justBefore).ready).toBe(false)
          expect(Either.isLeft(w.decide({ _tag: "MergeProposal", id: p.id }, { time: justBefore }))).toBe(true)
        }
      }),
      { numRuns: 200 }
    )
  })
})
