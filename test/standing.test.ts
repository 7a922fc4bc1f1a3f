/**
 * Where an import stands against a contract's history (`standingOf`, the verdict status, check, export and the
 * realm's binding files share), the fold keeping the importers' recorded `status` true (`restatedBindings`), and the
 * decider keeping a recorded binding when an import is re-declared without one.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { decide } from "../src/domain/decide.js"
import { type BindingDeclared, type RealmEvent, RealmInitialized, RepoJoined } from "../src/domain/events.js"
import { type BindingFile, type ContractFile, defaultRealmFile } from "../src/domain/files.js"
import { breakingSince, standingOf } from "../src/domain/placeholder.js"
import { evolve, initialState, type RealmState, restatedBindings } from "../src/domain/state.js"

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
