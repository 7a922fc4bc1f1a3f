/**
 * Decider specs: given events / when command / then events or the typed refusal. No IO.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import type { Command, CommandMeta } from "../src/domain/commands.js"
import { decide } from "../src/domain/decide.js"
import type { BindingDeclared, ContractPublished, DomainCreated } from "../src/domain/events.js"
import { type RealmEvent, RealmInitialized, RepoJoined, RepoLeft } from "../src/domain/events.js"
import { defaultRealmFile } from "../src/domain/files.js"
import { evolve, initialState, type RealmState } from "../src/domain/state.js"

const T = "2026-01-24T10:00:00.000Z"
const meta = (repo?: string): CommandMeta => ({
  time: T,
  actor: repo === undefined ? { user: "eric@example.com" } : { repo, user: "eric@example.com" }
})

const given = (...events: ReadonlyArray<RealmEvent>): RealmState =>
  events.reduce((s, e) => ({ ...evolve(s, e), position: s.position + 1 }), initialState)

const when = (state: RealmState, command: Command, repo?: string) => decide(command, state, meta(repo))

const thenEvents = (result: Either.Either<ReadonlyArray<RealmEvent>, unknown>) => {
  if (Either.isLeft(result)) throw new Error(`expected events, got ${JSON.stringify(result.left)}`)
  return result.right
}
const thenError = (result: Either.Either<ReadonlyArray<RealmEvent>, unknown>) => {
  if (Either.isRight(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result.right)}`)
  return result.left as { _tag: string; message: string } & Record<string, unknown>
}

const realm = (admission: "open" | "approval" | "invite-only" = "open") =>
  new RealmInitialized({ realm: defaultRealmFile("letemcook", T, admission) })
const joined = (name: string) =>
  new RepoJoined({ repo: { name, path: `/src/${name}`, maintainers: ["eric@example.com"], joined_at: T } })
const domainOf = (
  name: string,
  provider: string,
  consumers: Array<string>,
  contract = name
): ReadonlyArray<RealmEvent> =>
  thenEvents(when(
    given(realm(), joined(provider), ...consumers.map(joined)),
    { _tag: "CreateDomain", domain: name, repos: [provider, ...consumers], contract },
    provider
  ))

const seed = () =>
  given(
    realm(),
    joined("aperture"),
    joined("fungal-image-analysis"),
    joined("ml-infra"),
    ...domainOf("s3-access", "aperture", ["fungal-image-analysis"], "s3-permissions"),
    ...domainOf("training-pipeline", "fungal-image-analysis", ["ml-infra"], "job-schema")
  )

describe("InitRealm", () => {
  it("creates the realm with the accepted RFC's governance and trust, admission open by default", () => {
    const events = thenEvents(
      when(initialState, { _tag: "InitRealm", name: "letemcook", admission: "open", path: "/r" })
    )
    expect(events).toEqual([
      new RealmInitialized({ realm: defaultRealmFile("letemcook", T, "open", ["eric@example.com"]) })
    ])
    const r = (events[0] as RealmInitialized).realm
    expect(r.version).toBe("1.0.0")
    expect(r.created_at).toBe(T)
    expect(r.governance).toEqual({
      admission: "open",
      approvers: ["eric@example.com"],
      breaking_changes: { require_approval: true, grace_period_days: 14 }
    })
    expect(r.trust.mode).toBe("collaborative")
    expect(Object.keys(r.trust.permissions)).toEqual([
      "repos/{repo}.yaml",
      "domains/{domain}/domain.yaml",
      "domains/{domain}/contracts/{name}.yaml",
      "domains/{domain}/bindings/{repo}.yaml"
    ])
  })

  it("records the admission policy it is given", () => {
    const [e] = thenEvents(when(initialState, { _tag: "InitRealm", name: "r", admission: "invite-only", path: "/r" }))
    expect((e as RealmInitialized).realm.governance.admission).toBe("invite-only")
  })

  it("refuses a realm that exists", () => {
    const err = thenError(when(given(realm()), { _tag: "InitRealm", name: "other", admission: "open", path: "/r" }))
    expect(err._tag).toBe("RealmAlreadyInitialized")
  })

  it.each(["a/b", "..", "../x", "has space", ".hidden", "Upper", "", "trailing-", "a--b"])(
    "refuses the name %j before anything else",
    (name) => {
      const err = thenError(when(initialState, { _tag: "InitRealm", name, admission: "open", path: "/r" }))
      expect(err._tag).toBe("InvalidName")
      expect(err.message).toContain(JSON.stringify(name))
    }
  )
})

describe("JoinRealm", () => {
  const join = (repo: string): Command => ({ _tag: "JoinRealm", repo, path: `/src/${repo}`, maintainers: ["m@x"] })

  it("registers the repo with its path, maintainers and join time", () => {
    expect(thenEvents(when(given(realm()), join("aperture")))).toEqual([
      new RepoJoined({ repo: { name: "aperture", path: "/src/aperture", maintainers: ["m@x"], joined_at: T } })
    ])
  })

  it("refuses a repo that is already a member", () => {
    const err = thenError(when(given(realm(), joined("aperture")), join("aperture")))
    expect(err).toMatchObject({ _tag: "AlreadyMember", realm: "letemcook", repo: "aperture" })
  })

  it("refuses without a realm", () => {
    expect(thenError(when(initialState, join("aperture")))._tag).toBe("RealmNotInitialized")
  })

  it("enforces admission invite-only", () => {
    const err = thenError(when(given(realm("invite-only")), join("aperture")))
    expect(err).toMatchObject({ _tag: "AdmissionRequired", admission: "invite-only", repo: "aperture" })
  })

  it("under admission approval, files a join request instead of joining (test/governance.test.ts)", () => {
    expect(thenEvents(when(given(realm("approval")), join("aperture"))).map((e) => e._tag)).toEqual(["JoinRequested"])
  })

  it("refuses an invalid repo name", () => {
    expect(thenError(when(given(realm()), join("../etc")))._tag).toBe("InvalidName")
  })
})

describe("CreateDomain", () => {
  const create = (domain: string, repos: Array<string>, contract?: string): Command => ({
    _tag: "CreateDomain",
    domain,
    repos,
    ...(contract === undefined ? {} : { contract })
  })

  it("creates domain, contract (owner = first repo) and one binding per repo", () => {
    const state = given(realm(), joined("aperture"), joined("fungal-image-analysis"))
    const events = thenEvents(
      when(state, create("s3-access", ["aperture", "fungal-image-analysis"], "s3-permissions"), "aperture")
    )
    expect(events.map((e) => e._tag)).toEqual([
      "DomainCreated",
      "ContractPublished",
      "BindingDeclared",
      "BindingDeclared"
    ])
    const [d, c, p, cons] = events as [DomainCreated, ContractPublished, BindingDeclared, BindingDeclared]
    expect(d.domain).toMatchObject({ name: "s3-access", members: ["aperture", "fungal-image-analysis"], created_at: T })
    expect(c.contract).toMatchObject({
      name: "s3-permissions",
      version: "1.0.0",
      owner: "aperture",
      schema: { type: "object", properties: {} },
      value: {},
      evolution: [{ version: "1.0.0", changes: ["Initial version"], compatible: true }]
    })
    expect(p.binding).toEqual({
      repo: "aperture",
      role: "provider",
      exports: [{ contract: "s3-permissions", source_files: [] }]
    })
    expect(cons.binding).toEqual({
      repo: "fungal-image-analysis",
      role: "consumer",
      imports: [{
        contract: "s3-permissions",
        version: "^1.0.0",
        status: "current",
        resolved_version: "1.0.0",
        resolved_at: T
      }]
    })
  })

  it("names the contract after the domain when --contract is omitted", () => {
    const events = thenEvents(when(given(realm(), joined("a")), create("feed", ["a", "b"])))
    expect((events[1] as ContractPublished).contract.name).toBe("feed")
  })

  it("accepts members that have not joined yet (the seed creates s3-access before fungal joins)", () => {
    const events = thenEvents(
      when(given(realm(), joined("aperture")), create("s3-access", ["aperture", "fungal"]), "aperture")
    )
    expect((events[0] as DomainCreated).domain.members).toEqual(["aperture", "fungal"])
  })

  it("refuses the domain that closes a cycle, naming it repo by repo", () => {
    const err = thenError(when(seed(), create("feedback-loop", ["ml-infra", "aperture"]), "ml-infra"))
    expect(err._tag).toBe("CycleDetected")
    expect(err["cycle"]).toEqual([
      { from: "ml-infra", domain: "feedback-loop", to: "aperture" },
      { from: "aperture", domain: "s3-access", to: "fungal-image-analysis" },
      { from: "fungal-image-analysis", domain: "training-pipeline", to: "ml-infra" }
    ])
    expect(err.message).toContain(
      "ml-infra → (feedback-loop) → aperture → (s3-access) → fungal-image-analysis → (training-pipeline) → ml-infra"
    )
  })

  it("refuses a two-repo cycle", () => {
    const err = thenError(when(seed(), create("back", ["fungal-image-analysis", "aperture"]), "aperture"))
    expect(err.message).toContain("fungal-image-analysis → (back) → aperture → (s3-access) → fungal-image-analysis")
  })

  it("allows a second edge in the same direction and a diamond", () => {
    thenEvents(when(seed(), create("more-s3", ["aperture", "fungal-image-analysis"]), "aperture"))
    thenEvents(when(seed(), create("direct", ["aperture", "ml-infra"]), "aperture"))
  })

  it("refuses an existing domain, too few repos, duplicates and a non-member actor", () => {
    expect(thenError(when(seed(), create("s3-access", ["aperture", "ml-infra"]), "aperture"))._tag).toBe("DomainExists")
    expect(thenError(when(seed(), create("x", ["aperture"]), "aperture"))).toMatchObject({
      _tag: "InvalidDomainRepos",
      reason: "a domain needs a provider and at least one consumer"
    })
    expect(thenError(when(seed(), create("x", ["aperture", "ml-infra", "aperture"]), "aperture"))._tag).toBe(
      "InvalidDomainRepos"
    )
    expect(thenError(when(seed(), create("x", ["aperture", "ml-infra"]), "stranger"))).toMatchObject({
      _tag: "RepoNotInRealm",
      repo: "stranger"
    })
  })

  it.each([["domain", "a/b", undefined], ["contract", "ok", "../c"], ["repo", "ok", undefined]] as const)(
    "refuses an invalid %s name",
    (kind, domain, contract) => {
      const repos = kind === "repo" ? ["aperture", "Bad Name"] : ["aperture", "ml-infra"]
      const err = thenError(when(seed(), create(domain, repos, contract), "aperture"))
      expect(err).toMatchObject({ _tag: "InvalidName", kind })
    }
  )
})

describe("LeaveRealm", () => {
  it("refuses while others import a contract the repo owns, naming them", () => {
    const err = thenError(when(seed(), { _tag: "LeaveRealm", repo: "fungal-image-analysis", force: false }))
    expect(err).toMatchObject({
      _tag: "StillImported",
      importers: [{ repo: "ml-infra", domain: "training-pipeline", contract: "job-schema" }]
    })
  })

  it("leaves with --force, marking the leave as forced", () => {
    expect(thenEvents(when(seed(), { _tag: "LeaveRealm", repo: "fungal-image-analysis", force: true }))).toEqual([
      new RepoLeft({ repo: "fungal-image-analysis", forced: true })
    ])
  })

  it("lets a pure importer leave, and evolve drops its bindings and memberships", () => {
    const events = thenEvents(when(seed(), { _tag: "LeaveRealm", repo: "ml-infra", force: false }))
    expect(events).toEqual([new RepoLeft({ repo: "ml-infra", forced: false })])
    const after = events.reduce(evolve, seed())
    expect(after.repos["ml-infra"]).toBeUndefined()
    expect(after.domains["training-pipeline"]!.file.members).toEqual(["fungal-image-analysis"])
    expect(after.domains["training-pipeline"]!.bindings["ml-infra"]).toBeUndefined()
    expect(after.domains["training-pipeline"]!.contracts["job-schema"]).toBeDefined()
  })

  it("refuses a repo that is not a member", () => {
    expect(thenError(when(seed(), { _tag: "LeaveRealm", repo: "ghost", force: false }))._tag).toBe("RepoNotInRealm")
  })
})
