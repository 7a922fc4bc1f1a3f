/**
 * Coordinated pull requests, the pure part: the merge order (exporters before importers, ties by name, a cycle
 * named), the bodies (Depends-On, Blocked by, Needed by), what may merge next, the PR record's decider and the
 * tracking file; and which forge a remote URL is on. No IO.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import * as YAML from "yaml"
import type { Command, CommandMeta } from "../src/domain/commands.js"
import { decide } from "../src/domain/decide.js"
import { type RealmEvent, RealmInitialized, RepoJoined } from "../src/domain/events.js"
import { defaultRealmFile } from "../src/domain/files.js"
import { evolve, initialState, type RealmState } from "../src/domain/state.js"
import {
  changesOf,
  mergeOrder,
  nextLocalPullNumber,
  nextToMerge,
  pullBody,
  type WorktreePull
} from "../src/domain/worktrees.js"
import { pullTargetOf } from "../src/operations/pulls.js"
import { renderPath } from "../src/projections/realmFiles.js"

const A = "aperture"
const F = "fungal-image-analysis"
const M = "ml-infra"
const edges = [{ from: A, to: F }, { from: F, to: M }]

describe("mergeOrder", () => {
  it("puts exporters before importers, ties by name, and keeps only edges among the change's repos", () => {
    const order = Either.getOrThrow(mergeOrder("feat/x", edges, [M, F, A]))
    expect(order).toEqual([
      { repo: A, blockedBy: [], neededBy: [F] },
      { repo: F, blockedBy: [A], neededBy: [M] },
      { repo: M, blockedBy: [F], neededBy: [] }
    ])
    // without fungal, aperture and ml-infra are unrelated: by name
    expect(Either.getOrThrow(mergeOrder("feat/x", edges, [M, A])).map((s) => s.repo)).toEqual([A, M])
    expect(Either.getOrThrow(mergeOrder("feat/x", [{ from: "z", to: "b" }], ["b", "c", "z"])).map((s) => s.repo))
      .toEqual(["c", "z", "b"])
  })

  it("names a cycle instead of dropping it", () => {
    const r = mergeOrder("feat/x", [...edges, { from: M, to: A }], [A, F, M, "zeta"])
    expect(Either.isLeft(r) && r.left.cycle).toEqual([A, F, M])
    expect(Either.isLeft(r) && r.left.message).toBe(
      `The pull requests of feat/x have no merge order: ${A} → ${F} → ${M} → ${A} import from each other (a dependency cycle); reverse one of those bindings or split the change.`
    )
  })
})

describe("pullBody", () => {
  const order = Either.getOrThrow(mergeOrder("feat/x", edges, [A, F, M]))
  const pulls = {
    [A]: { number: 45, url: "https://f/acme/aperture/pulls/45" },
    [F]: { number: 23, url: "https://f/acme/fungal/pulls/23" },
    [M]: { number: 7 }
  }
  const body = (repo: string, known: Record<string, { number: number; url?: string }>) =>
    pullBody({ branch: "feat/x", rfc: "x", title: "T", template: "{title} in {repo}", repo, order, pulls: known })

  it("says what blocks it with Depends-On lines, what it is needed by, and links every PR known", () => {
    const f = body(F, pulls)
    expect(f.split("\n")[0]).toBe(`T in ${F}`)
    expect(f).toContain(`1. ${A}#45 https://f/acme/aperture/pulls/45`)
    expect(f).toContain(`2. ${F}#23 https://f/acme/fungal/pulls/23 ← this PR`)
    expect(f).toContain(`3. ${M}#7 (local, recorded in the realm)`)
    expect(f).toContain(`Blocked by: ${A}#45 (merge first)`)
    expect(f).toContain(`Needed by: ${M}#7`)
    expect(f).toContain("Depends-On: https://f/acme/aperture/pulls/45")
    expect(body(M, pulls)).toContain(`Depends-On: ${F}`.replace(F, "https://f/acme/fungal/pulls/23"))
    expect(body(A, pulls)).not.toContain("Depends-On:")
    // at creation, only the earlier PRs are known
    const early = body(F, { [A]: pulls[A] })
    expect(early).toContain("Depends-On: https://f/acme/aperture/pulls/45")
    expect(early).not.toContain("Needed by")
  })
})

describe("nextToMerge", () => {
  const pr = (state: WorktreePull["state"], blocked_by: Array<string> = []): WorktreePull => ({
    number: 1,
    state,
    forge: "local",
    base: "main",
    blocked_by,
    linked: true
  })
  const change = (a: WorktreePull, f: WorktreePull) => ({
    name: "feat/x",
    created_at: "2026-01-24T10:00:00.000Z",
    source_rfc: "a:x",
    domain: "d",
    repos: [
      { name: A, status: "pushed" as const, commits: 1, pr: a },
      { name: F, status: "pushed" as const, commits: 1, pr: f }
    ],
    coordination: { commits: [], merge_order: [A, F] }
  })
  it("is the first open PR in merge order whose blockers merged", () => {
    expect(nextToMerge(change(pr("open"), pr("open", [A])))).toBe(A)
    expect(nextToMerge(change(pr("merged"), pr("open", [A])))).toBe(F)
    expect(nextToMerge(change(pr("closed"), pr("open", [A])))).toBeUndefined()
    expect(nextToMerge(change(pr("merged"), pr("merged", [A])))).toBeUndefined()
  })
})

describe("pullTargetOf", () => {
  const env = { BLUE_FORGEJO_URL: "https://code.example.org", BLUE_GITHUB_API_URL: "https://ghe.example.com/api/v3" }
  it("finds Forgejo under BLUE_FORGEJO_URL, GitHub by github.com or BLUE_GITHUB_API_URL's host, else none", () => {
    expect(pullTargetOf("https://tok@code.example.org/acme/aperture.git", env)).toEqual({
      location: { kind: "forgejo", url: "https://code.example.org" },
      ref: { owner: "acme", repo: "aperture" }
    })
    expect(pullTargetOf("git@code.example.org:acme/aperture.git", env)?.location.kind).toBe("forgejo")
    expect(pullTargetOf("git@github.com:acme/fungal.git", {})).toEqual({
      location: { kind: "github", apiUrl: "https://api.github.com" },
      ref: { owner: "acme", repo: "fungal" }
    })
    expect(pullTargetOf("https://ghe.example.com/acme/ml-infra", env)).toEqual({
      location: { kind: "github", apiUrl: "https://ghe.example.com/api/v3" },
      ref: { owner: "acme", repo: "ml-infra" }
    })
    expect(pullTargetOf("https://git.example.net/acme/aperture.git", env)).toBeUndefined()
    expect(pullTargetOf("/srv/git/aperture.git", env)).toBeUndefined()
    expect(pullTargetOf("file:///srv/git/aperture.git", env)).toBeUndefined()
    // another port on the same host is another server
    expect(pullTargetOf("http://127.0.0.1:9/acme/a.git", { BLUE_FORGEJO_URL: "http://127.0.0.1:8" })).toBeUndefined()
  })
})

describe("RecordWorktreePulls", () => {
  const T = "2026-01-24T10:00:00.000Z"
  const meta: CommandMeta = { time: T, actor: { repo: A, user: "eric@example.com" } }
  const fold = (state: RealmState, events: ReadonlyArray<RealmEvent>) =>
    events.reduce((s, e) => ({ ...evolve(s, e), position: s.position + 1 }), state)
  const run = (state: RealmState, command: Command) => {
    const r = decide(command, state, meta)
    if (Either.isLeft(r)) throw new Error(r.left.message)
    return r.right
  }
  const joined = (name: string) =>
    new RepoJoined({ repo: { name, path: `/src/${name}`, maintainers: ["eric@example.com"], joined_at: T } })
  const base = fold(initialState, [
    new RealmInitialized({ realm: defaultRealmFile("letemcook", T, "open") }),
    joined(A),
    joined(F)
  ])
  const withChange = fold(
    base,
    run(base, {
      _tag: "RecordWorktree",
      name: "feat/x",
      rfc: "x",
      domains: [],
      repos: [{ name: A, path: "/w/a", status: "active", commits: 1 }, {
        name: F,
        path: "/w/f",
        status: "active",
        commits: 1
      }]
    })
  )
  const pull = (n: number, blocked_by: Array<string>, linked: boolean): WorktreePull => ({
    number: n,
    url: `https://f/${n}`,
    state: "open",
    forge: "forgejo",
    base: "main",
    blocked_by,
    linked
  })
  const command = (linked: boolean): Command => ({
    _tag: "RecordWorktreePulls",
    name: "feat/x",
    order: [A, F],
    pulls: { [A]: pull(45, [], linked), [F]: pull(23, [A], linked) }
  })

  it("records what changed only; the same record again is no event; renders pr and merge_order", () => {
    const first = run(withChange, command(false))
    expect(first.map((e) => e._tag)).toEqual(["WorktreePullsRecorded"])
    let s = fold(withChange, first)
    expect(run(s, command(false))).toEqual([])
    s = fold(s, run(s, command(true)))
    expect(changesOf(s)["feat/x"]!.repos.map((r) => r.pr?.linked)).toEqual([true, true])
    const file = YAML.parse(renderPath(s, "worktrees/feat-x.yaml")!)
    expect(file.repos.map((r: any) => r.pr)).toEqual([
      { number: 45, url: "https://f/45", state: "open", forge: "forgejo", base: "main" },
      { number: 23, url: "https://f/23", state: "open", forge: "forgejo", base: "main", blocked_by: [A] }
    ])
    expect(file.coordination.merge_order).toEqual([A, F])
    // recording the worktree again keeps the PRs
    s = fold(
      s,
      run(s, {
        _tag: "RecordWorktree",
        name: "feat/x",
        rfc: "x",
        domains: [],
        repos: [{ name: A, path: "/w/a2", status: "active", commits: 0 }]
      })
    )
    expect(changesOf(s)["feat/x"]!.repos[0]!.pr?.number).toBe(45)
    expect(nextLocalPullNumber(s, A)).toBe(1)
  })
})
