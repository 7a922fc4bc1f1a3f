/**
 * Contract specs, in process and without IO: PublishContract and DeclareImport through the decider
 * (given events / when command / then events or the typed refusal), and the contract rules they rest on —
 * planPublish (first value, semver bump from the change, hand-set versions), importStanding and impactOn.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import type { Command, CommandMeta } from "../src/domain/commands.js"
import { impactOn, importStanding, planPublish, type PublishPlan } from "../src/domain/contracts.js"
import { decide } from "../src/domain/decide.js"
import type { ContractBumped } from "../src/domain/events.js"
import {
  BindingDeclared,
  ContractPublished,
  DomainCreated,
  type RealmEvent,
  RealmInitialized,
  RepoJoined
} from "../src/domain/events.js"
import { type ContractFile, defaultRealmFile } from "../src/domain/files.js"
import { PLACEHOLDER_SCHEMA } from "../src/domain/placeholder.js"
import { evolve, initialState, type RealmState } from "../src/domain/state.js"
import { landProposal, openedBy, type Spec } from "./support/proposals.js"

const T = "2026-01-24T10:00:00.000Z"
const meta = (repo?: string): CommandMeta => ({
  time: T,
  actor: repo === undefined ? { user: "eric@example.com" } : { repo, user: "eric@example.com" }
})

const given = (...events: ReadonlyArray<RealmEvent>): RealmState =>
  events.reduce((s, e) => ({ ...evolve(s, e), position: s.position + 1 }), initialState)

/** The state after `events` on top of `state`. */
const andThen = (state: RealmState, events: ReadonlyArray<RealmEvent>): RealmState =>
  events.reduce((s, e) => ({ ...evolve(s, e), position: s.position + 1 }), state)

const when = (state: RealmState, command: Command, repo?: string) => decide(command, state, meta(repo))

const thenEvents = (result: Either.Either<ReadonlyArray<RealmEvent>, unknown>) => {
  if (Either.isLeft(result)) throw new Error(`expected events, got ${JSON.stringify(result.left)}`)
  return result.right
}
const thenError = (result: Either.Either<ReadonlyArray<RealmEvent>, unknown>) => {
  if (Either.isRight(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result.right)}`)
  return result.left as { _tag: string; message: string } & Record<string, unknown>
}

const APERTURE = "aperture"
const FUNGAL = "fungal-image-analysis"
const ML = "ml-infra"
const S3 = "s3-permissions"

const APPROVER = "eric@example.com"
const realm = () => {
  const file = defaultRealmFile("letemcook", T, "open")
  return new RealmInitialized({ realm: { ...file, governance: { ...file.governance, approvers: [APPROVER] } } })
}
const joined = (name: string) =>
  new RepoJoined({ repo: { name, path: `/src/${name}`, maintainers: ["eric@example.com"], joined_at: T } })
const domainOf = (name: string, provider: string, consumers: Array<string>, contract = name) =>
  thenEvents(when(
    given(realm(), joined(provider), ...consumers.map(joined)),
    { _tag: "CreateDomain", domain: name, repos: [provider, ...consumers], contract },
    provider
  ))

/** The seeds' realm: s3-access (aperture → fungal, s3-permissions), training-pipeline (fungal → ml-infra). */
const seed = () =>
  given(
    realm(),
    joined(APERTURE),
    joined(FUNGAL),
    joined(ML),
    ...domainOf("s3-access", APERTURE, [FUNGAL], S3),
    ...domainOf("training-pipeline", FUNGAL, [ML], "job-schema")
  )

const publish = (fields: Omit<Extract<Command, { _tag: "PublishContract" }>, "_tag" | "contract">): Command => ({
  _tag: "PublishContract",
  contract: S3,
  ...fields
})

const declareImport = (
  fields: Omit<Extract<Command, { _tag: "DeclareImport" }>, "_tag" | "contract" | "domain"> & {
    contract?: string
    domain?: string
  }
): Command => ({ _tag: "DeclareImport", contract: S3, domain: "s3-access", ...fields })

/** The seed after aperture published its first value (1.0.0, read: jobs/*, training-metrics/runs/*). */
const published = () => {
  const s = seed()
  return andThen(
    s,
    thenEvents(when(s, publish({ value: { read: ["jobs/*", "training-metrics/runs/*"] } }), APERTURE))
  )
}

const spec: Spec = {
  decide: (state, command, repo, user) =>
    decide(command, state, { time: T, actor: repo === undefined ? { user } : { repo, user } }),
  fold: andThen
}

/**
 * A change by the owner that affects importers: it opens a proposal (its only event), which then lands (answers,
 * approval, merge); `events` are the merge's (ProposalMerged, ContractBumped).
 */
const landed = (state: RealmState, command: Command, repo: string) => {
  const opened = thenEvents(when(state, command, repo))
  expect(opened.map((e) => e._tag)).toEqual(["ProposalOpened"])
  const merge = landProposal(spec, andThen(state, opened), openedBy(opened).id, APPROVER)
  expect(merge.events.map((e) => e._tag)).toEqual(["ProposalMerged", "ContractBumped"])
  return { opened: openedBy(opened), events: [merge.bumped], state: merge.state }
}

const contractIn = (state: RealmState, name = S3, domain = "s3-access") => state.domains[domain]!.contracts[name]!

const S3_SCHEMA = {
  type: "object",
  properties: { read: { type: "array", items: { type: "string" } } },
  required: ["read"]
}

/** A contract file as a test fixture (not a placeholder unless asked). */
const contract = (fields: Partial<ContractFile> = {}): ContractFile => ({
  name: S3,
  version: "1.0.0",
  owner: APERTURE,
  compatibility: { backwards: true, forwards: false },
  schema: S3_SCHEMA,
  value: { read: ["jobs/*"] },
  evolution: [{ version: "1.0.0", changes: ["Initial version"], compatible: true }],
  ...fields
})

const plan = (result: Either.Either<PublishPlan, unknown>): PublishPlan => {
  if (Either.isLeft(result)) throw new Error(`expected a plan, got ${JSON.stringify(result.left)}`)
  return result.right
}
const planError = (result: Either.Either<PublishPlan, unknown>) => {
  if (Either.isRight(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result.right)}`)
  return result.left as { _tag: string; message: string } & Record<string, unknown>
}

describe("PublishContract", () => {
  it("publishes the first value over the placeholder at 1.0.0 (ContractPublished, not a bump)", () => {
    const events = thenEvents(
      when(seed(), publish({ value: { read: ["jobs/*", "training-metrics/runs/*"] } }), APERTURE)
    )
    expect(events.map((e) => e._tag)).toEqual(["ContractPublished"])
    const e = events[0] as ContractPublished
    expect(e.domain).toBe("s3-access")
    expect(e.contract).toEqual({
      name: S3,
      version: "1.0.0",
      owner: APERTURE,
      compatibility: { backwards: true, forwards: false },
      schema: PLACEHOLDER_SCHEMA,
      value: { read: ["jobs/*", "training-metrics/runs/*"] },
      evolution: [{
        version: "1.0.0",
        changes: ["Initial version", "+ read: jobs/*", "+ read: training-metrics/runs/*"],
        compatible: true
      }]
    })
    const after = andThen(seed(), events)
    expect(contractIn(after)).toEqual(e.contract)
  })

  it("records the export's source_files in the provider binding", () => {
    const events = thenEvents(
      when(seed(), publish({ value: { read: ["jobs/*"] }, sourceFiles: ["models/**/*.py"] }), APERTURE)
    )
    expect(events.map((e) => e._tag)).toEqual(["ContractPublished", "BindingDeclared"])
    expect((events[1] as BindingDeclared).binding).toEqual({
      repo: APERTURE,
      role: "provider",
      exports: [{ contract: S3, source_files: ["models/**/*.py"] }]
    })
    const after = andThen(seed(), events)
    expect(after.domains["s3-access"]!.bindings[APERTURE]!.exports).toEqual([
      { contract: S3, source_files: ["models/**/*.py"] }
    ])
    // the same source files again change nothing
    expect(thenEvents(when(after, publish({ sourceFiles: ["models/**/*.py"] }), APERTURE))).toEqual([])
  })

  it("bumps minor for value additions and appends the evolution entry (through a proposal: fungal imports it)", () => {
    const { events, state } = landed(
      published(),
      publish({ value: { read: ["jobs/*", "training-metrics/runs/*", "training-metrics/experiments/*"] } }),
      APERTURE
    )
    expect(events.map((e) => e._tag)).toEqual(["ContractBumped"])
    const e = events[0] as ContractBumped
    expect(e).toMatchObject({ domain: "s3-access", from: "1.0.0", bump: "minor" })
    expect(e.contract.version).toBe("1.1.0")
    expect(e.contract.evolution).toHaveLength(2)
    expect(e.contract.evolution[1]).toEqual({
      version: "1.1.0",
      changes: ["+ read: training-metrics/experiments/*"],
      compatible: true
    })
    expect(contractIn(state).version).toBe("1.1.0")
  })

  it("bumps major for a removed value element (value-level breakage), marked incompatible", () => {
    const e = landed(published(), publish({ value: { read: ["jobs/*"] } }), APERTURE).events[0] as ContractBumped
    expect(e).toMatchObject({ from: "1.0.0", bump: "major" })
    expect(e.contract.version).toBe("2.0.0")
    expect(e.contract.evolution.at(-1)).toEqual({
      version: "2.0.0",
      changes: ["- read: training-metrics/runs/*"],
      compatible: false
    })
  })

  it("bumps major for a schema change that breaks the backwards promise (opening a closed object)", () => {
    const closed = { ...S3_SCHEMA, additionalProperties: false }
    const s0 = published()
    const s1 = landed(s0, publish({ schema: closed }), APERTURE).state
    expect(contractIn(s1).version).toBe("1.1.0") // closing: backwards holds, forwards (not promised) does not
    const e = landed(s1, publish({ schema: S3_SCHEMA }), APERTURE).events[0] as ContractBumped
    expect(e).toMatchObject({ from: "1.1.0", bump: "major" })
    expect(e.contract.version).toBe("2.0.0")
    expect(e.contract.evolution.at(-1)!.compatible).toBe(false)
  })

  it("bumps major for a schema tightening when the contract also promises forwards compatibility", () => {
    const strict = contract({ compatibility: { backwards: true, forwards: true } })
    const s = andThen(seed(), [new ContractPublished({ domain: "s3-access", contract: strict })])
    const e = landed(s, publish({ schema: { ...S3_SCHEMA, additionalProperties: false } }), APERTURE)
      .events[0] as ContractBumped
    expect(e.bump).toBe("major")
    expect(e.contract.version).toBe("2.0.0")
    expect(e.contract.compatibility).toEqual({ backwards: true, forwards: true })
  })

  it("refuses a hand-set version below the required bump, naming it", () => {
    const err = thenError(when(published(), publish({ value: { read: ["jobs/*"] }, version: "1.1.0" }), APERTURE))
    expect(err).toMatchObject({ _tag: "BumpTooSmall", contract: S3, from: "1.0.0", to: "1.1.0", required: "major" })
    expect(err.message).toContain("major")
    expect(err.message).toContain("2.0.0")
  })

  it("uses a hand-set version that is at least the required bump", () => {
    const { events } = landed(
      published(),
      publish({ value: { read: ["jobs/*", "training-metrics/runs/*", "x/*"] }, version: "1.5.0" }),
      APERTURE
    )
    const e = events[0] as ContractBumped
    expect(e.contract.version).toBe("1.5.0")
    expect(e.contract.evolution.at(-1)).toMatchObject({ version: "1.5.0", compatible: true })
  })

  it("produces no events when nothing changed", () => {
    expect(thenEvents(when(published(), publish({ value: { read: ["training-metrics/runs/*", "jobs/*"] } }), APERTURE)))
      .toEqual([])
    expect(thenEvents(when(published(), publish({}), APERTURE))).toEqual([])
  })

  it("refuses a repo that is not the owner: NotContractOwner{contract, owner, actor}", () => {
    const err = thenError(when(published(), publish({ value: { read: ["mine/*"] } }), FUNGAL))
    expect(err).toMatchObject({ _tag: "NotContractOwner", contract: S3, owner: APERTURE, actor: FUNGAL })
    expect(err.message).toContain(APERTURE)
    expect(err.message).toContain(FUNGAL)
  })

  it("refuses source globs that are absolute or leave the repo: InvalidSourceFiles{contract, glob, reason}", () => {
    for (
      const [glob, reason] of [
        ["/etc/passwd", "is absolute"],
        ["../other/**", "leaves the repo with '..'"],
        ["src/../../x", "leaves the repo with '..'"],
        ["~/.ssh/*", "starts with '~'"],
        ["", "is empty"]
      ]
    ) {
      const err = thenError(when(published(), publish({ sourceFiles: ["src/**", glob!] }), APERTURE))
      expect(err).toMatchObject({ _tag: "InvalidSourceFiles", contract: S3, glob, reason })
    }
    expect(thenEvents(when(published(), publish({ sourceFiles: ["src/..x/*.ts", ".config/*.json"] }), APERTURE)))
      .toHaveLength(1)
  })

  it("refuses a value the schema rejects and an invalid schema (ContractValueInvalid)", () => {
    const s0 = seed()
    const s = andThen(s0, thenEvents(when(s0, publish({ schema: S3_SCHEMA, value: { read: ["a"] } }), APERTURE)))
    const bad = thenError(when(s, publish({ value: { read: [1] } }), APERTURE))
    expect(bad._tag).toBe("ContractValueInvalid")
    expect(bad.message).toContain("read")
    const invalid = thenError(when(s, publish({ schema: { type: "objectx" } }), APERTURE))
    expect(invalid._tag).toBe("ContractValueInvalid")
    expect(String(invalid["problems"])).toContain("schema")
  })

  it("refuses an unknown contract, an ambiguous one without --domain, and a non-member", () => {
    expect(thenError(when(seed(), { _tag: "PublishContract", contract: "nope" }, APERTURE))).toMatchObject({
      _tag: "ContractNotFound",
      contract: "nope"
    })
    const twice = andThen(seed(), domainOf("more-s3", APERTURE, [ML], S3).slice(0, 2))
    const err = thenError(when(twice, publish({ value: { read: ["a"] } }), APERTURE))
    expect(err).toMatchObject({ _tag: "ContractNotFound", candidates: ["s3-access", "more-s3"] })
    expect(thenEvents(when(twice, publish({ domain: "more-s3", value: { read: ["a"] } }), APERTURE))).toHaveLength(1)
    expect(thenError(when(seed(), publish({ value: {} }), "stranger"))._tag).toBe("RepoNotInRealm")
  })
})

describe("DeclareImport", () => {
  it("declares a satisfied range as current, resolved at the contract's version", () => {
    const events = thenEvents(when(published(), declareImport({ version: "^1.0.0", binding: "jobs/loader.py" }), ML))
    expect(events).toEqual([
      new BindingDeclared({
        domain: "s3-access",
        binding: {
          repo: ML,
          role: "consumer",
          imports: [{
            contract: S3,
            version: "^1.0.0",
            binding: "jobs/loader.py",
            status: "current",
            resolved_version: "1.0.0",
            resolved_at: T
          }]
        }
      })
    ])
  })

  it("makes the importer a member of the domain (evolve adds it to domain.yaml's members)", () => {
    const s = published()
    expect(s.domains["s3-access"]!.file.members).toEqual([APERTURE, FUNGAL])
    const after = andThen(s, thenEvents(when(s, declareImport({ version: "^1.0.0" }), ML)))
    expect(after.domains["s3-access"]!.file.members).toEqual([APERTURE, FUNGAL, ML])
    expect(after.domains["s3-access"]!.bindings[ML]!.role).toBe("consumer")
  })

  it("declares an unsatisfiable range as broken, without a resolved version", () => {
    const [e] = thenEvents(when(published(), declareImport({ version: "^2.0.0" }), ML)) as Array<BindingDeclared>
    expect(e!.binding.imports).toEqual([{ contract: S3, version: "^2.0.0", status: "broken" }])
  })

  it("accepts the seed's range spelling \">=1.0.0, <2.0.0\" and keeps it as written", () => {
    const [e] = thenEvents(when(published(), declareImport({ version: ">=1.0.0, <2.0.0" }), ML)) as Array<
      BindingDeclared
    >
    expect(e!.binding.imports![0]).toMatchObject({ version: ">=1.0.0, <2.0.0", status: "current" })
  })

  it("re-resolves an existing import after a bump, replacing it (one entry per contract)", () => {
    const s0 = published()
    const s1 = landed(s0, publish({ value: { read: ["jobs/*", "training-metrics/runs/*", "x/*"] } }), APERTURE).state
    expect(contractIn(s1).version).toBe("1.1.0")
    const [e] = thenEvents(when(s1, declareImport({ version: "^1.0.0" }), FUNGAL)) as Array<BindingDeclared>
    expect(e!.binding).toEqual({
      repo: FUNGAL,
      role: "consumer",
      imports: [{ contract: S3, version: "^1.0.0", status: "current", resolved_version: "1.1.0", resolved_at: T }]
    })
  })

  it("refuses the owner importing its own contract (RoleConflict)", () => {
    expect(thenError(when(published(), declareImport({ version: "^1.0.0" }), APERTURE))).toMatchObject({
      _tag: "RoleConflict",
      domain: "s3-access",
      repo: APERTURE
    })
  })

  it("refuses a range that is not semver (InvalidRange)", () => {
    const err = thenError(when(published(), declareImport({ version: "banana" }), ML))
    expect(err).toMatchObject({ _tag: "InvalidRange", value: "banana" })
    expect(err.message).toContain("\"banana\"")
  })

  it("refuses an import that closes a cycle, naming it", () => {
    const err = thenError(
      when(
        published(),
        declareImport({ contract: "job-schema", domain: "training-pipeline", version: "^1.0.0" }),
        APERTURE
      )
    )
    expect(err._tag).toBe("CycleDetected")
    expect(err["cycle"]).toEqual([
      { from: FUNGAL, domain: "training-pipeline", to: APERTURE },
      { from: APERTURE, domain: "s3-access", to: FUNGAL }
    ])
    expect(err.message).toContain(`${FUNGAL} → (training-pipeline) → ${APERTURE} → (s3-access) → ${FUNGAL}`)
  })

  it("refuses an unknown contract or a contract looked up in the wrong domain", () => {
    expect(thenError(when(published(), declareImport({ contract: "nope", version: "^1.0.0" }), ML))).toMatchObject({
      _tag: "ContractNotFound",
      contract: "nope",
      domain: "s3-access"
    })
    expect(
      thenError(when(published(), declareImport({ contract: "job-schema", version: "^1.0.0" }), ML))._tag
    ).toBe("ContractNotFound")
    expect(thenError(when(published(), declareImport({ domain: "../x", version: "^1.0.0" }), ML))._tag).toBe(
      "InvalidName"
    )
  })
})

describe("planPublish", () => {
  const placeholder = contract({ schema: PLACEHOLDER_SCHEMA, value: {} })

  it("keeps a contract unchanged when neither schema nor value change", () => {
    const c = contract()
    expect(plan(planPublish(c, {}))).toEqual({ _tag: "Unchanged", contract: c })
    expect(plan(planPublish(c, { value: { read: ["jobs/*"] }, schema: S3_SCHEMA }))._tag).toBe("Unchanged")
  })

  it("turns the placeholder into the first version at 1.0.0", () => {
    const p = plan(planPublish(placeholder, { schema: S3_SCHEMA, value: { read: ["a"] } }))
    expect(p._tag).toBe("Initial")
    if (p._tag === "Unchanged") return
    expect(p.contract.version).toBe("1.0.0")
    expect(p.contract.evolution).toHaveLength(1)
    expect(p.contract.evolution[0]!.changes[0]).toBe("Initial version")
    expect(p.compatible).toBe(true)
  })

  it("accepts 1.0.0 set by hand for the first value (the version Blue itself would pick)", () => {
    const p = plan(planPublish(placeholder, { value: { read: ["a"] }, version: "1.0.0" }))
    expect(p.contract.version).toBe("1.0.0")
  })

  it.each(
    [
      ["an added element", "minor", { read: ["jobs/*", "b/*"] }, "1.1.0", true],
      ["an added key", "minor", { read: ["jobs/*"], bucket: "x" }, "1.1.0", true],
      ["a removed element", "major", { read: [] }, "2.0.0", false]
    ] as const
  )("plans %s as a %s bump", (_, bump, value, version, compatible) => {
    const p = plan(planPublish(contract(), { value }))
    expect(p).toMatchObject({ _tag: "Bumped", bump, compatible })
    expect(p.contract.version).toBe(version)
    expect(p.contract.evolution.at(-1)).toMatchObject({ version, compatible })
  })

  it("plans a changed scalar as a major bump", () => {
    const p = plan(planPublish(contract({ value: { read: ["jobs/*"], bucket: "x" } }), {
      value: { read: ["jobs/*"], bucket: "y" }
    }))
    expect(p).toMatchObject({ _tag: "Bumped", bump: "major", compatible: false })
    expect(p.contract.evolution.at(-1)!.changes).toEqual(["~ bucket: x → y"])
  })

  it("plans a metadata-only schema change as a patch", () => {
    const p = plan(planPublish(contract(), { schema: { ...S3_SCHEMA, description: "S3 paths" } }))
    expect(p).toMatchObject({ _tag: "Bumped", bump: "patch" })
    expect(p.contract.version).toBe("1.0.1")
  })

  it("refuses a hand-set version lower than required, or not semver", () => {
    expect(planError(planPublish(contract(), { value: { read: [] }, version: "1.9.0" }))).toMatchObject({
      _tag: "BumpTooSmall",
      required: "major",
      from: "1.0.0",
      to: "1.9.0"
    })
    expect(planError(planPublish(contract(), { value: { read: ["jobs/*", "b"] }, version: "1.0.0" }))).toMatchObject({
      _tag: "BumpTooSmall",
      required: "minor"
    })
    // Not semver at all is its own refusal (#9: "--version 1" is not a valid version, not "needs a major bump").
    for (const version of ["banana", "1", "v2.0.0", " 2.0.0"]) {
      const e = planError(planPublish(contract(), { value: { read: ["jobs/*", "b"] }, version }))
      expect(e).toMatchObject({ _tag: "InvalidVersion", value: version })
      expect(e.message).toBe(
        `--version ${
          JSON.stringify(version)
        } is not a valid semver version for contract '${contract().name}'; give MAJOR.MINOR.PATCH, e.g. 1.4.0.`
      )
    }
  })
})

describe("importStanding", () => {
  it.each(
    [
      ["^1.0.0", "1.0.0", "1.0.0", "current"],
      ["^1.0.0", "1.0.0", "1.1.0", "stale"],
      ["^1.0.0", "1.1.0", "2.0.0", "broken"],
      ["^1.0.0", undefined, "1.0.0", "stale"],
      [">=1.0.0, <2.0.0", "1.0.0", "1.4.2", "stale"],
      [">=1.0.0, <2.0.0", "1.0.0", "2.0.0", "broken"],
      ["^2.0.0", undefined, "1.0.0", "broken"]
    ] as const
  )("range %s resolved at %s, contract at %s → %s", (range, resolved, current, standing) => {
    expect(importStanding(range, resolved, current)).toBe(standing)
  })
})

describe("impactOn", () => {
  const withImporters = () => {
    const s0 = published()
    const s1 = andThen(s0, thenEvents(when(s0, declareImport({ version: "~1.0.0" }), ML)))
    return s1
  }
  const before = () => contractIn(withImporters())

  it("an addition leaves in-range importers stale and out-of-range ones broken", () => {
    const b = before()
    const after = { ...b, version: "1.1.0", value: { read: [...(b.value as { read: Array<string> }).read, "x/*"] } }
    const impact = impactOn(withImporters(), "s3-access", b, after)
    expect(impact).toEqual([
      {
        repo: FUNGAL,
        domain: "s3-access",
        range: "^1.0.0",
        resolved_version: "1.0.0",
        before: "current",
        after: "stale",
        removed: []
      },
      {
        repo: ML,
        domain: "s3-access",
        range: "~1.0.0",
        resolved_version: "1.0.0",
        before: "current",
        after: "broken",
        removed: []
      }
    ])
  })

  it("a removed element breaks every importer that relied on it, even when its range still matches", () => {
    const b = before()
    const after = { ...b, version: "1.0.1", value: { read: ["jobs/*"] } }
    const impact = impactOn(withImporters(), "s3-access", b, after)
    expect(impact.map((i) => [i.repo, i.after])).toEqual([[FUNGAL, "broken"], [ML, "broken"]])
    expect(impact[0]!.removed).toEqual(["- training-metrics/runs/*"])
  })

  it("a contract without importers affects nobody", () => {
    const b = contractIn(withImporters(), "job-schema", "training-pipeline")
    const s = andThen(withImporters(), [
      new DomainCreated({ domain: { name: "lonely", description: "", created_at: T, members: [APERTURE] } }),
      new ContractPublished({ domain: "lonely", contract: { ...b, name: "alone", owner: APERTURE } })
    ])
    const c = contractIn(s, "alone", "lonely")
    expect(impactOn(s, "lonely", c, { ...c, version: "2.0.0", value: { x: 1 } })).toEqual([])
  })
})
