/**
 * Where an import stands against a contract's history (`standingOf`, the verdict status, check, export and the
 * realm's binding files share), the fold keeping the importers' recorded `status` true (`restatedBindings`), and the
 * decider keeping a recorded binding when an import is re-declared without one.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { decide } from "../src/domain/decide.js"
import {
  type BindingDeclared,
  ContractBumped,
  NotificationAcknowledged,
  type RealmEvent,
  RealmInitialized,
  RepoJoined
} from "../src/domain/events.js"
import { type BindingFile, type ContractFile, defaultRealmFile } from "../src/domain/files.js"
import { breakingSince, standingOf } from "../src/domain/placeholder.js"
import { evolve, initialState, KEPT_CHANGES, type RealmState, restatedBindings } from "../src/domain/state.js"
import { foldEnvelopes } from "../src/projections/fold.js"

const history = (...steps: ReadonlyArray<readonly [string, boolean]>) => ({
  version: steps.at(-1)![0],
  evolution: steps.map(([version, compatible]) => ({ version, changes: [], compatible }))
})

describe("standingOf", () => {
  it.each(
    [
      [">=1.0.0", "1.0.0", history(["1.0.0", true]), "current", undefined],
      [">=1.0.0", "1.0.0", history(["1.0.0", true], ["1.1.0", true]), "stale", undefined],
      // a removed path (an incompatible step) after the resolved version breaks it although the range matches
      [">=1.0.0", "1.0.0", history(["1.0.0", true], ["1.1.0", true], ["2.0.0", false]), "broken", "2.0.0"],
      [">=1.0.0", "1.0.0", history(["1.0.0", true], ["2.0.0", false], ["2.1.0", true]), "broken", "2.0.0"],
      // resolved past the break: only later steps count
      [">=1.0.0", "2.0.0", history(["1.0.0", true], ["2.0.0", false], ["2.1.0", true]), "stale", undefined],
      ["^1.0.0", "1.1.0", history(["1.0.0", true], ["1.1.0", true], ["2.0.0", false]), "broken", "2.0.0"],
      [">=1.0.0", undefined, history(["1.0.0", true], ["2.0.0", false]), "stale", undefined]
    ] as const
  )("range %s resolved at %s → %s", (version, resolved, contract, standing, since) => {
    const imp = { version, ...(resolved === undefined ? {} : { resolved_version: resolved }) }
    expect(standingOf(imp, contract)).toBe(standing)
    expect(breakingSince(imp, contract)).toBe(since)
  })
})

describe("restatedBindings", () => {
  const contract = (version: string, compatible: boolean): ContractFile => ({
    name: "c",
    version,
    owner: "a",
    compatibility: { backwards: true, forwards: false },
    schema: {},
    value: {},
    evolution: [{ version: "1.0.0", changes: [], compatible: true }, { version, changes: [], compatible }]
  })
  const consumer = (repo: string, range: string): BindingFile => ({
    repo,
    role: "consumer",
    imports: [{ contract: "c", version: range, binding: "x.py", status: "current", resolved_version: "1.0.0" }]
  })
  const bindings = {
    a: { repo: "a", role: "provider", exports: [{ contract: "c", source_files: [] }] } as BindingFile,
    b: consumer("b", ">=1.0.0"),
    d: consumer("d", "~1.0.0")
  }

  it("re-records only the importers whose status changes, keeping the rest of each import", () => {
    expect(restatedBindings(bindings, contract("1.0.1", true))).toEqual([
      { ...bindings.b, imports: [{ ...bindings.b.imports![0]!, status: "stale" }] },
      { ...bindings.d, imports: [{ ...bindings.d.imports![0]!, status: "stale" }] }
    ])
    expect(restatedBindings(bindings, contract("2.0.0", false)).map((b) => [b.repo, b.imports![0]!.status])).toEqual([
      ["b", "broken"],
      ["d", "broken"]
    ])
    expect(restatedBindings(bindings, contract("1.0.0", true))).toEqual([])
  })
})

describe("DeclareImport keeps the recorded binding", () => {
  const T = "2026-01-24T10:00:00.000Z"
  const meta = { time: T, actor: { repo: "fungal", user: "eric@example.com" } }
  const setup = (): RealmState => {
    const events: Array<RealmEvent> = [
      new RealmInitialized({ realm: defaultRealmFile("letemcook", T, "open") }),
      new RepoJoined({ repo: { name: "aperture", maintainers: [], joined_at: T } }),
      new RepoJoined({ repo: { name: "fungal", maintainers: [], joined_at: T } })
    ]
    let s = events.reduce((st, e) => ({ ...evolve(st, e), position: st.position + 1 }), initialState)
    const created = decide({ _tag: "CreateDomain", domain: "s3", repos: ["aperture", "fungal"], contract: "c" }, s, {
      ...meta,
      actor: { repo: "aperture", user: "eric@example.com" }
    })
    for (const e of Either.getOrThrow(created)) s = { ...evolve(s, e), position: s.position + 1 }
    return s
  }
  const declare = (s: RealmState, binding?: string) =>
    Either.getOrThrow(decide(
      {
        _tag: "DeclareImport",
        contract: "c",
        domain: "s3",
        version: ">=1.0.0",
        ...(binding === undefined ? {} : { binding })
      },
      s,
      meta
    ))
  const importOf = (events: ReadonlyArray<RealmEvent>) =>
    (events.find((e) => e._tag === "BindingDeclared") as BindingDeclared).binding.imports![0]!

  it("given an import with a binding, when re-declared without one, then the binding is kept; --binding replaces it", () => {
    let s = setup()
    for (const e of declare(s, "cdk/stack.py")) s = { ...evolve(s, e), position: s.position + 1 }
    expect(importOf(declare(s))).toMatchObject({ version: ">=1.0.0", binding: "cdk/stack.py", status: "current" })
    expect(importOf(declare(s, "cdk/other.py")).binding).toBe("cdk/other.py")
  })
})

describe("the owner's acknowledgement view in the fold", () => {
  const T = "2026-01-24T10:00:00.000Z"
  const fold = (s: RealmState, events: ReadonlyArray<RealmEvent>) =>
    foldEnvelopes(
      s,
      events.map((event, i) => ({ id: `e${s.position + i + 1}`, position: s.position + i + 1, time: T, event }))
    )
  const setup = () => {
    let s = fold(initialState, [
      new RealmInitialized({ realm: defaultRealmFile("letemcook", T, "open") }),
      new RepoJoined({ repo: { name: "aperture", maintainers: [], joined_at: T } }),
      new RepoJoined({ repo: { name: "fungal", maintainers: [], joined_at: T } })
    ])
    s = fold(
      s,
      Either.getOrThrow(
        decide({ _tag: "CreateDomain", domain: "s3", repos: ["aperture", "fungal"], contract: "c" }, s, {
          time: T,
          actor: { repo: "aperture", user: "eric@example.com" }
        })
      )
    )
    return s
  }
  const bump = (s: RealmState, minor: number) => {
    const c = s.domains["s3"]!.contracts["c"]!
    const version = `1.${minor}.0`
    return new ContractBumped({
      domain: "s3",
      from: c.version,
      bump: "minor",
      contract: { ...c, version, evolution: [...c.evolution, { version, changes: [], compatible: true }] }
    })
  }

  it("keeps the latest change and at most KEPT_CHANGES still waiting; an ack records its time; answered ones give way", () => {
    let s = setup()
    for (let m = 1; m <= 12; m++) s = fold(s, [bump(s, m)])
    const kept = s.changes["s3/c"]!
    expect(kept).toHaveLength(KEPT_CHANGES)
    expect(kept.map((c) => c.version)).toEqual(Array.from({ length: 10 }, (_, i) => `1.${i + 3}.0`))
    expect(kept.every((c) => c.importers["fungal"] === null)).toBe(true)
    // the importer's own pending notifications are all still there
    expect(Object.values(s.pending).filter((n) => n.repo === "fungal")).toHaveLength(12)

    const last = kept.at(-1)!
    s = fold(s, [new NotificationAcknowledged({ id: last.id, repo: "fungal", contract: "c", version: last.version })])
    expect(s.changes["s3/c"]!.at(-1)!.importers).toEqual({ fungal: T })
    // a new change drops the fully answered one, and keeps those still waiting
    s = fold(s, [bump(s, 13)])
    expect(s.changes["s3/c"]!.map((c) => c.version)).not.toContain("1.12.0")
    expect(s.changes["s3/c"]!.at(-1)!.version).toBe("1.13.0")
  })
})
