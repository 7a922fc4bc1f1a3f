/**
 * Authorization specs: given a realm / when someone acts / then whether they may. The decider and
 * `check --mode realm` both ask these rules; decide.test.ts and check.e2e.test.ts cover them in place.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import {
  eventProblem,
  mayAuthorFor,
  mayTouchPath,
  requireContractOwner,
  requireMember,
  requireOpenAdmission
} from "../src/domain/authorization.js"
import { decide } from "../src/domain/decide.js"
import { type RealmEvent, RealmInitialized, RepoJoined, RepoLeft } from "../src/domain/events.js"
import { defaultRealmFile } from "../src/domain/files.js"
import { evolve, initialState, type RealmState } from "../src/domain/state.js"

const T = "2026-01-24T10:00:00.000Z"

const given = (...events: ReadonlyArray<RealmEvent>): RealmState =>
  events.reduce((s, e) => ({ ...evolve(s, e), position: s.position + 1 }), initialState)

const realm = (admission: "open" | "approval" | "invite-only" = "open", approvers: Array<string> = []) => {
  const file = defaultRealmFile("letemcook", T, admission)
  return new RealmInitialized({ realm: { ...file, governance: { ...file.governance, approvers } } })
}
const joined = (name: string, maintainer = `${name}@example.com`) =>
  new RepoJoined({ repo: { name, path: `/src/${name}`, maintainers: [maintainer], joined_at: T } })

/** aperture provides s3-permissions in s3-access to fungal; alice@ approves. */
const seed = () => {
  const s = given(realm("open", ["alice@example.com"]), joined("aperture"), joined("fungal"))
  const events = decide(
    { _tag: "CreateDomain", domain: "s3-access", repos: ["aperture", "fungal"], contract: "s3-permissions" },
    s,
    {
      time: T,
      actor: { repo: "aperture", user: "aperture@example.com" }
    }
  )
  if (Either.isLeft(events)) throw new Error(events.left.message)
  return {
    state: given(realm("open", ["alice@example.com"]), joined("aperture"), joined("fungal"), ...events.right),
    events: events.right
  }
}

describe("membership and admission", () => {
  it("given a member, when it acts, then it may; a stranger or no repo is refused", () => {
    const { state } = seed()
    expect(requireMember(state, "letemcook", "aperture")).toEqual(Either.right("aperture"))
    const stranger = requireMember(state, "letemcook", "ghost")
    expect(Either.isLeft(stranger) && stranger.left).toMatchObject({ _tag: "RepoNotInRealm", repo: "ghost" })
    expect(Either.isLeft(requireMember(state, "letemcook", undefined))).toBe(true)
  })
  it("given admission other than open, when a repo joins by itself, then it needs admission", () => {
    expect(Either.isRight(requireOpenAdmission(given(realm("open")).realm!, "x"))).toBe(true)
    for (const admission of ["approval", "invite-only"] as const) {
      const r = requireOpenAdmission(given(realm(admission)).realm!, "x")
      expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "AdmissionRequired", repo: "x", admission })
    }
  })
})

describe("contract ownership", () => {
  it("given a contract, when its owner exports, then it may; anyone else is refused", () => {
    const c = { name: "s3-permissions", owner: "aperture" }
    expect(Either.isRight(requireContractOwner(c, "aperture"))).toBe(true)
    const r = requireContractOwner(c, "fungal")
    expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "NotContractOwner", owner: "aperture", actor: "fungal" })
  })
})

describe("hand-made changes under trust.permissions", () => {
  it("given maintainers per repo, when they touch realm files, then only their own", () => {
    const { state } = seed()
    const may = (path: string, email: string) => mayTouchPath(state, path, email)
    expect(may("repos/aperture.yaml", "aperture@example.com")).toBe(true)
    expect(may("repos/aperture.yaml", "fungal@example.com")).toBe(false)
    expect(may("domains/s3-access/contracts/s3-permissions.yaml", "aperture@example.com")).toBe(true)
    expect(may("domains/s3-access/contracts/s3-permissions.yaml", "fungal@example.com")).toBe(false)
    expect(may("domains/s3-access/contracts/unknown.yaml", "aperture@example.com")).toBe(false)
    expect(may("domains/s3-access/bindings/fungal.yaml", "fungal@example.com")).toBe(true)
    expect(may("domains/s3-access/bindings/fungal.yaml", "aperture@example.com")).toBe(false)
    expect(may("domains/s3-access/domain.yaml", "fungal@example.com")).toBe(true)
    expect(may("domains/s3-access/governance.yaml", "mallory@example.com")).toBe(false)
    expect(may("realm.yaml", "aperture@example.com")).toBe(false)
  })
  it("given an approver, when they touch any realm file, then they may", () => {
    const { state } = seed()
    expect(mayTouchPath(state, "realm.yaml", "alice@example.com")).toBe(true)
    expect(mayTouchPath(state, "repos/fungal.yaml", "alice@example.com")).toBe(true)
  })
})

describe("Blue commits", () => {
  it("given a claimed actor, then its maintainers (and a joining repo's own) may author the commit", () => {
    const { state } = seed()
    expect(mayAuthorFor(state, "aperture", [])).toEqual(["aperture@example.com"])
    expect(mayAuthorFor(state, "newbie", [joined("newbie")])).toEqual(["newbie@example.com"])
    expect(mayAuthorFor(state, undefined, [])).toEqual([
      "alice@example.com",
      "aperture@example.com",
      "fungal@example.com"
    ])
  })
  it("given events, when an actor emits them, then only what it may act for passes", () => {
    const { events, state } = seed()
    const before = given(realm(), joined("aperture"), joined("fungal"))
    // Creating a domain declares the other repos' bindings and the contract in the same commit.
    for (const e of events) expect(eventProblem(before, e, "aperture", events)).toBeUndefined()
    expect(eventProblem(state, new RepoLeft({ repo: "fungal", forced: false }), "aperture", [])).toBe(
      "removes fungal but was made by aperture"
    )
    expect(eventProblem(state, new RepoLeft({ repo: "fungal", forced: false }), "fungal", [])).toBeUndefined()
    expect(eventProblem(state, realm(), undefined, [])).toBe("initialises a realm that exists")
    const published = events.find((e) => e._tag === "ContractPublished")!
    expect(eventProblem(state, published, "fungal", [])).toBe(
      "changes contract s3-permissions owned by aperture but was made by fungal"
    )
  })
})
