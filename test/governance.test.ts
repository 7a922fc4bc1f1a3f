/**
 * Decider specs for governance and new contracts (issue 12): given events / when command / then events or the
 * typed refusal. No IO.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { eventProblem, requireMember } from "../src/domain/authorization.js"
import type { Command, CommandMeta } from "../src/domain/commands.js"
import { decide } from "../src/domain/decide.js"
import type { ContractPublished } from "../src/domain/events.js"
import {
  GovernanceChanged,
  JoinApproved,
  JoinRejected,
  JoinRequested,
  type RealmEvent,
  RealmInitialized,
  RepoInvited,
  RepoJoined
} from "../src/domain/events.js"
import { defaultRealmFile } from "../src/domain/files.js"
import { effectiveGovernance, isApprover, pendingRequestOf } from "../src/domain/governance.js"
import { evolve, initialState, type RealmState } from "../src/domain/state.js"
import { renderAll, renderPath, touchedPaths } from "../src/projections/realmFiles.js"

const T = "2026-01-24T10:00:00.000Z"
const T2 = "2026-01-25T10:00:00.000Z"
const ADMIN = "admin@example.com"
const OTHER = "other@example.com"

const meta = (user: string, repo?: string, time = T): CommandMeta => ({
  time,
  actor: repo === undefined ? { user } : { repo, user }
})

const given = (...events: ReadonlyArray<RealmEvent>): RealmState =>
  events.reduce((s, e) => ({ ...evolve(s, e), position: s.position + 1 }), initialState)

const when = (state: RealmState, command: Command, user = ADMIN, repo?: string, time = T) =>
  decide(command, state, meta(user, repo, time))

const thenEvents = (result: Either.Either<ReadonlyArray<RealmEvent>, unknown>) => {
  if (Either.isLeft(result)) throw new Error(`expected events, got ${JSON.stringify(result.left)}`)
  return result.right
}
const thenError = (result: Either.Either<ReadonlyArray<RealmEvent>, unknown>) => {
  if (Either.isRight(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result.right)}`)
  return result.left as { _tag: string; message: string } & Record<string, unknown>
}

const realm = (admission: "open" | "approval" | "invite-only" = "open", approvers = [ADMIN]) =>
  new RealmInitialized({ realm: defaultRealmFile("letemcook", T, admission, approvers) })
const repoFile = (name: string, maintainer = "m@example.com") => ({
  name,
  path: `/src/${name}`,
  maintainers: [maintainer],
  joined_at: T
})
const joined = (name: string) => new RepoJoined({ repo: repoFile(name) })
const join = (repo: string): Command => ({
  _tag: "JoinRealm",
  repo,
  path: `/src/${repo}`,
  maintainers: ["m@example.com"]
})
const change = (fields: Partial<Extract<Command, { _tag: "ChangeGovernance" }>>): Command => ({
  _tag: "ChangeGovernance",
  addApprovers: [],
  removeApprovers: [],
  ...fields
})

describe("InitRealm records its user as the first approver", () => {
  it("given nothing, when eric inits, then realm.yaml's approvers are [eric]", () => {
    const [e] = thenEvents(when(initialState, { _tag: "InitRealm", name: "r", admission: "open", path: "/r" }))
    expect((e as RealmInitialized).realm.governance.approvers).toEqual([ADMIN])
  })
})

describe("ChangeGovernance", () => {
  it("given an approver, when she adds an approver and changes the policy, then one GovernanceChanged with the whole governance", () => {
    const events = thenEvents(when(
      given(realm()),
      change({ addApprovers: ["b@example.com"], admission: "approval", requireApproval: false, gracePeriodDays: 7 })
    ))
    expect(events).toEqual([
      new GovernanceChanged({
        governance: {
          admission: "approval",
          approvers: [ADMIN, "b@example.com"],
          breaking_changes: { require_approval: false, grace_period_days: 7 }
        },
        changes: [
          "approver added: b@example.com",
          "admission: open → approval",
          "breaking_changes.require_approval: true → false",
          "breaking_changes.grace_period_days: 14 → 7"
        ]
      })
    ])
    const after = given(realm(), ...events)
    expect(after.realm!.governance).toEqual({
      admission: "approval",
      approvers: [ADMIN, "b@example.com"],
      breaking_changes: { require_approval: false, grace_period_days: 7 }
    })
    expect(touchedPaths(given(realm()), events[0]!)).toEqual(["realm.yaml"])
    expect(renderPath(after, "realm.yaml")).toContain("  approvers:\n    - admin@example.com\n    - b@example.com\n")
  })

  it("given a non-approver, when he changes governance, then NotApprover names the approvers", () => {
    const err = thenError(when(given(realm()), change({ admission: "open" }), OTHER))
    expect(err).toMatchObject({ _tag: "NotApprover", actor: OTHER, approvers: [ADMIN] })
    expect(err.message).toContain(ADMIN)
    expect(err.message).toContain(OTHER)
  })

  it("given one approver, when she removes herself, then LastApprover", () => {
    const err = thenError(when(given(realm()), change({ removeApprovers: [ADMIN] })))
    expect(err).toMatchObject({ _tag: "LastApprover", approver: ADMIN })
  })

  it("given two approvers, when one is removed, then the other stays", () => {
    const s = given(realm("open", [ADMIN, OTHER]))
    const [e] = thenEvents(when(s, change({ removeApprovers: [ADMIN] }), OTHER))
    expect((e as GovernanceChanged).governance.approvers).toEqual([OTHER])
  })

  it("refuses removing someone who is not an approver, a bad email and a bad grace period", () => {
    const s = given(realm())
    expect(thenError(when(s, change({ removeApprovers: [OTHER] })))).toMatchObject({ _tag: "InvalidGovernance" })
    expect(thenError(when(s, change({ addApprovers: ["a b@x"] })))._tag).toBe("InvalidGovernance")
    expect(thenError(when(s, change({ addApprovers: ["<a@x>"] })))._tag).toBe("InvalidGovernance")
    expect(thenError(when(s, change({ gracePeriodDays: -1 })))._tag).toBe("InvalidGovernance")
    expect(thenError(when(s, change({ gracePeriodDays: 1.5 })))._tag).toBe("InvalidGovernance")
  })

  it("given the same values, when asked again, then no event", () => {
    expect(thenEvents(when(given(realm()), change({ admission: "open", addApprovers: [ADMIN] })))).toEqual([])
  })

  it("given a realm made before init recorded approvers, when a member adds one, then it may (and only that)", () => {
    const s = given(realm("open", []))
    const [e] = thenEvents(when(s, change({ addApprovers: [OTHER] }), OTHER))
    expect((e as GovernanceChanged).governance.approvers).toEqual([OTHER])
    expect(thenError(when(s, change({ admission: "approval" }), OTHER))._tag).toBe("NotApprover")
  })

  it("given a domain, when an approver overrides its governance, then domains/<d>/governance.yaml holds it", () => {
    const s = given(realm(), joined("aperture"), joined("fungal"))
    const created = thenEvents(when(s, { _tag: "CreateDomain", domain: "s3-access", repos: ["aperture", "fungal"] }))
    const s2 = given(realm(), joined("aperture"), joined("fungal"), ...created)
    const events = thenEvents(when(s2, change({ domain: "s3-access", addApprovers: [OTHER], gracePeriodDays: 3 })))
    expect(events).toEqual([
      new GovernanceChanged({
        domain: "s3-access",
        governance: { approvers: [OTHER], breaking_changes: { grace_period_days: 3 } },
        changes: ["approver added: other@example.com", "breaking_changes.grace_period_days: (realm's) → 3"]
      })
    ])
    expect(touchedPaths(s2, events[0]!)).toEqual(["domains/s3-access/governance.yaml"])
    const s3 = given(realm(), joined("aperture"), joined("fungal"), ...created, ...events)
    expect(renderPath(s3, "domains/s3-access/governance.yaml")).toBe(
      "approvers:\n  - other@example.com\nbreaking_changes:\n  grace_period_days: 3\n"
    )
    expect(renderAll(s3).has("domains/s3-access/governance.yaml")).toBe(true)
    expect(s3.realm!.governance.approvers).toEqual([ADMIN])
    expect(effectiveGovernance(s3, "s3-access")).toEqual({
      admission: "open",
      approvers: [ADMIN, OTHER],
      breaking_changes: { require_approval: true, grace_period_days: 3 }
    })
    expect(isApprover(s3, OTHER, "s3-access")).toBe(true)
    expect(isApprover(s3, OTHER)).toBe(false)
    // the domain's approver may change the domain's governance, not the realm's
    expect(thenEvents(when(s3, change({ domain: "s3-access", requireApproval: false }), OTHER))).toHaveLength(1)
    expect(thenError(when(s3, change({ requireApproval: false }), OTHER))._tag).toBe("NotApprover")
  })

  it("refuses a domain that does not exist, naming the domains", () => {
    const err = thenError(when(given(realm()), change({ domain: "nope", admission: "open" })))
    expect(err).toMatchObject({ _tag: "DomainNotFound", domain: "nope", domains: [] })
  })
})

describe("invite-only admission", () => {
  it("given no invitation, when a repo joins, then AdmissionRequired lists who may invite", () => {
    const err = thenError(when(given(realm("invite-only")), join("svc"), "m@example.com", "svc"))
    expect(err).toMatchObject({ _tag: "AdmissionRequired", admission: "invite-only", repo: "svc", approvers: [ADMIN] })
    expect(err.message).toContain("blue realm admin invite svc")
    expect(err.message).toContain(ADMIN)
  })

  it("given an approver, when she invites, then RepoInvited; the join succeeds and uses the invitation up", () => {
    const s = given(realm("invite-only"))
    const invited = thenEvents(when(s, { _tag: "InviteRepo", repo: "svc" }))
    expect(invited).toEqual([new RepoInvited({ repo: "svc", by: ADMIN })])
    const s2 = given(realm("invite-only"), ...invited)
    expect(s2.governance!.invitations["svc"]).toMatchObject({ repo: "svc", by: ADMIN })
    expect(thenEvents(when(s2, { _tag: "InviteRepo", repo: "svc" }))).toEqual([])
    const joins = thenEvents(when(s2, join("svc"), "m@example.com", "svc"))
    expect(joins).toEqual([new RepoJoined({ repo: { ...repoFile("svc"), joined_at: T } })])
    const s3 = given(realm("invite-only"), ...invited, ...joins)
    expect(s3.repos["svc"]).toBeDefined()
    expect(s3.governance!.invitations).toEqual({})
  })

  it("refuses an invitation by a non-approver, of a member, or of a bad name", () => {
    const s = given(realm("invite-only"), joined("aperture"))
    expect(thenError(when(s, { _tag: "InviteRepo", repo: "svc" }, OTHER))).toMatchObject({
      _tag: "NotApprover",
      approvers: [ADMIN]
    })
    expect(thenError(when(s, { _tag: "InviteRepo", repo: "aperture" }))._tag).toBe("AlreadyMember")
    expect(thenError(when(s, { _tag: "InviteRepo", repo: "../x" }))._tag).toBe("InvalidName")
  })
})

describe("approval admission: join requests", () => {
  const requested = () => {
    const s = given(realm("approval"))
    const events = thenEvents(when(s, join("svc"), "m@example.com", "svc"))
    return { s, events, after: given(realm("approval"), ...events) }
  }

  it("given an approval realm, when a repo joins, then JoinRequested with a join- id (not a member yet)", () => {
    const { after, events } = requested()
    expect(events).toEqual([new JoinRequested({ id: "join-2", repo: repoFile("svc") })])
    expect(after.repos["svc"]).toBeUndefined()
    expect(pendingRequestOf(after, "svc")).toMatchObject({ id: "join-2" })
    expect(touchedPaths(initialState, events[0]!)).toEqual([])
  })

  it("given a pending request, when the repo joins again, then no second request", () => {
    const { after } = requested()
    expect(thenEvents(when(after, join("svc"), "m@example.com", "svc"))).toEqual([])
  })

  it("given a pending request, when the repo acts as a member, then JoinPending names the request and approvers", () => {
    const { after } = requested()
    const r = requireMember(after, "letemcook", "svc")
    expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "JoinPending", id: "join-2", approvers: [ADMIN] })
    const err = thenError(
      when(after, { _tag: "AcknowledgeNotifications", ids: [], all: true }, "m@example.com", "svc")
    )
    expect(err._tag).toBe("JoinPending")
    expect(err.message).toContain("blue realm admin approve join-2")
  })

  it("given a pending request, when an approver approves, then JoinApproved and the repo is a member", () => {
    const { after } = requested()
    const events = thenEvents(
      when(after, { _tag: "ReviewJoin", id: "join-2", verdict: "approve" }, ADMIN, undefined, T2)
    )
    expect(events).toEqual([
      new JoinApproved({ id: "join-2", repo: { ...repoFile("svc"), joined_at: T2 }, by: ADMIN })
    ])
    expect(touchedPaths(after, events[0]!)).toEqual(["repos/svc.yaml"])
    const member = given(realm("approval"), ...requested().events, ...events)
    expect(member.repos["svc"]).toEqual({ ...repoFile("svc"), joined_at: T2 })
    expect(member.governance!.requests).toEqual({})
    expect(renderPath(member, "repos/svc.yaml")).toContain("name: svc")
  })

  it("given a pending request, when an approver rejects it, then JoinRejected with the reason; the repo may ask again", () => {
    const { after, events: asked } = requested()
    const events = thenEvents(
      when(after, { _tag: "ReviewJoin", id: "join-2", verdict: "reject", reason: "not ours" })
    )
    expect(events).toEqual([new JoinRejected({ id: "join-2", repo: "svc", by: ADMIN, reason: "not ours" })])
    const s = given(realm("approval"), ...asked, ...events)
    expect(s.repos["svc"]).toBeUndefined()
    expect(s.governance!.requests).toEqual({})
    expect(thenEvents(when(s, join("svc"), "m@example.com", "svc"))).toEqual([
      new JoinRequested({ id: "join-4", repo: repoFile("svc") })
    ])
  })

  it("refuses a review by a non-approver and of an unknown id (naming the pending ones)", () => {
    const { after } = requested()
    expect(thenError(when(after, { _tag: "ReviewJoin", id: "join-2", verdict: "approve" }, OTHER))).toMatchObject({
      _tag: "NotApprover",
      approvers: [ADMIN]
    })
    expect(thenError(when(after, { _tag: "ReviewJoin", id: "join-9", verdict: "reject" }))).toMatchObject({
      _tag: "JoinRequestNotFound",
      id: "join-9",
      pending: ["join-2 (svc)"]
    })
  })

  it("an invitation admits a repo directly even under approval", () => {
    const invited = new RepoInvited({ repo: "svc", by: ADMIN })
    expect(thenEvents(when(given(realm("approval"), invited), join("svc"), "m@example.com", "svc"))[0]!._tag).toBe(
      "RepoJoined"
    )
  })
})

describe("check --mode realm's rule for governance events", () => {
  it("a governance event needs an approver as author; a join request is the joining repo's", () => {
    const s = given(realm("approval"))
    const e = new RepoInvited({ repo: "svc", by: OTHER })
    expect(eventProblem(s, e, undefined, [e], ADMIN)).toBeUndefined()
    expect(eventProblem(s, e, undefined, [e], OTHER)).toContain(`author ${OTHER} is not one`)
    const r = new JoinRequested({ id: "join-2", repo: repoFile("svc") })
    expect(eventProblem(s, r, "svc", [r], "m@example.com")).toBeUndefined()
    expect(eventProblem(s, r, "other", [r], "m@example.com")).toContain("svc")
  })
})

describe("PublishContract declares a new contract in a domain the repo provides", () => {
  const seeded = () => {
    const base = [realm(), joined("aperture"), joined("fungal")]
    const created = thenEvents(
      when(given(...base), { _tag: "CreateDomain", domain: "s3-access", repos: ["aperture", "fungal"] })
    )
    return given(...base, ...created)
  }
  const publish = (fields: Partial<Extract<Command, { _tag: "PublishContract" }>>): Command => ({
    _tag: "PublishContract",
    contract: "bucket-names",
    domain: "s3-access",
    ...fields
  })

  it("given the provider, when it exports a new name, then ContractPublished at 1.0.0 owned by it and its binding exports it", () => {
    const s = seeded()
    const events = thenEvents(when(s, publish({ value: { buckets: ["a"] } }), "m@example.com", "aperture"))
    expect(events.map((e) => e._tag)).toEqual(["ContractPublished", "BindingDeclared"])
    const c = (events[0] as ContractPublished).contract
    expect(c).toMatchObject({ name: "bucket-names", version: "1.0.0", owner: "aperture", value: { buckets: ["a"] } })
    expect(c.evolution).toHaveLength(1)
    expect(c.evolution[0]).toMatchObject({ version: "1.0.0", compatible: true })
    const after = given(
      realm(),
      joined("aperture"),
      joined("fungal"),
      ...thenEvents(
        when(given(realm(), joined("aperture"), joined("fungal")), {
          _tag: "CreateDomain",
          domain: "s3-access",
          repos: ["aperture", "fungal"]
        })
      ),
      ...events
    )
    expect(after.domains["s3-access"]!.bindings["aperture"]!.exports!.map((x) => x.contract)).toEqual([
      "s3-access",
      "bucket-names"
    ])
    // nobody imports it yet: nothing to notify
    expect(Object.keys(after.pending)).toEqual([])
    // and a consumer can import it
    const imported = thenEvents(when(
      after,
      {
        _tag: "DeclareImport",
        contract: "bucket-names",
        domain: "s3-access",
        version: "^1.0.0"
      },
      "m@example.com",
      "fungal"
    ))
    expect(imported[0]).toMatchObject({ _tag: "BindingDeclared", binding: { repo: "fungal", role: "consumer" } })
  })

  it("takes a declared version", () => {
    const events = thenEvents(when(seeded(), publish({ value: {}, version: "2.1.0" }), "m@example.com", "aperture"))
    const c = (events[0] as ContractPublished).contract
    expect(c.version).toBe("2.1.0")
    expect(c.evolution.map((e) => e.version)).toEqual(["2.1.0"])
  })

  it("refuses a repo that does not provide the domain, saying which it provides", () => {
    const err = thenError(when(seeded(), publish({ value: {} }), "m@example.com", "fungal"))
    expect(err).toMatchObject({ _tag: "NotDomainProvider", domain: "s3-access", repo: "fungal", provides: [] })
    expect(err.message).toContain("provides no domain")
  })

  it("refuses an invalid name, an unknown domain and a contract another repo owns", () => {
    const s = seeded()
    expect(thenError(when(s, publish({ contract: "Bad Name" }), "m@example.com", "aperture"))._tag).toBe("InvalidName")
    expect(thenError(when(s, publish({ domain: "nope" }), "m@example.com", "aperture"))).toMatchObject({
      _tag: "DomainNotFound",
      domains: ["s3-access"]
    })
    expect(thenError(when(s, publish({ contract: "s3-access", value: { x: 1 } }), "m@example.com", "fungal")))
      .toMatchObject({ _tag: "NotContractOwner", owner: "aperture" })
  })
})
