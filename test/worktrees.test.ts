/**
 * Coordinated changes, the pure part: given events / when a worktree command / then events or the refusal; the scope
 * plan; the tracking file in the draft RFC's shape. No IO.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import * as YAML from "yaml"
import type { Command, CommandMeta } from "../src/domain/commands.js"
import { decide } from "../src/domain/decide.js"
import { type RealmEvent, RealmInitialized, RepoJoined } from "../src/domain/events.js"
import { defaultRealmFile } from "../src/domain/files.js"
import { evolve, initialState, type RealmState } from "../src/domain/state.js"
import { changesOf, planScope, type WorktreeRepo } from "../src/domain/worktrees.js"
import { renderAll, renderPath, touchedPaths } from "../src/projections/realmFiles.js"

const T = "2026-01-24T10:00:00.000Z"
const meta = (repo?: string): CommandMeta => ({
  time: T,
  actor: repo === undefined ? { user: "eric@example.com" } : { repo, user: "eric@example.com" }
})
const fold = (state: RealmState, events: ReadonlyArray<RealmEvent>) =>
  events.reduce((s, e) => ({ ...evolve(s, e), position: s.position + 1 }), state)
const events = (state: RealmState, command: Command, repo = "aperture") => {
  const r = decide(command, state, meta(repo))
  if (Either.isLeft(r)) throw new Error(`refused: ${r.left.message}`)
  return r.right
}
const refusal = (state: RealmState, command: Command, repo = "aperture") => {
  const r = decide(command, state, meta(repo))
  if (Either.isRight(r)) throw new Error(`expected a refusal, got ${JSON.stringify(r.right)}`)
  return r.left
}

const joined = (name: string) =>
  new RepoJoined({ repo: { name, path: `/src/${name}`, maintainers: ["eric@example.com"], joined_at: T } })

const seed = (): RealmState => {
  let s = fold(initialState, [
    new RealmInitialized({ realm: defaultRealmFile("letemcook", T, "open") }),
    joined("aperture"),
    joined("fungal-image-analysis"),
    joined("ml-infra")
  ])
  s = fold(
    s,
    events(s, { _tag: "CreateDomain", domain: "s3-access", repos: ["aperture", "fungal-image-analysis"] })
  )
  return fold(
    s,
    events(
      s,
      { _tag: "CreateDomain", domain: "training-pipeline", repos: ["fungal-image-analysis", "ml-infra"] },
      "fungal-image-analysis"
    )
  )
}

const BRANCH = "feat/training-metrics-v2"
const repo = (name: string): WorktreeRepo => ({
  name,
  path: `/src/${name}/.worktrees/feat-training-metrics-v2`,
  status: "active",
  commits: 0,
  base: "b".repeat(40)
})
const record: Command = {
  _tag: "RecordWorktree",
  name: BRANCH,
  rfc: "training-metrics-v2",
  domains: ["s3-access"],
  repos: [repo("aperture"), repo("fungal-image-analysis")]
}

describe("planScope", () => {
  it("spans every member of the domains the acting repo takes part in, or the domains and repos named", () => {
    const s = seed()
    expect(planScope(s, "aperture", {})).toEqual(
      Either.right({ domains: ["s3-access"], repos: ["aperture", "fungal-image-analysis"] })
    )
    expect(planScope(s, "fungal-image-analysis", {})).toEqual(
      Either.right({
        domains: ["s3-access", "training-pipeline"],
        repos: ["aperture", "fungal-image-analysis", "ml-infra"]
      })
    )
    expect(planScope(s, "aperture", { repos: ["ml-infra", "aperture"] })).toEqual(
      Either.right({ domains: ["s3-access"], repos: ["aperture", "ml-infra"] })
    )
    const unknown = planScope(s, "aperture", { domains: ["nope"] })
    expect(Either.isLeft(unknown) && unknown.left.message).toBe(
      "The realm has no domain 'nope' (it has s3-access, training-pipeline)."
    )
  })
})

describe("the coordinated change's events", () => {
  it("records a change once; the same record again is no event", () => {
    const s = seed()
    const created = events(s, record)
    expect(created.map((e) => e._tag)).toEqual(["WorktreeCreated"])
    const after = fold(s, created)
    expect(changesOf(after)[BRANCH]!.source_rfc).toBe("aperture:training-metrics-v2")
    expect(events(after, record)).toEqual([])
  })

  it("a repo set up on another machine stays so when this machine records it as elsewhere", () => {
    let s = fold(seed(), events(seed(), record))
    const fromOther: Command = {
      ...record,
      repos: [{ name: "aperture", status: "elsewhere", commits: 0 }, repo("fungal-image-analysis"), repo("ml-infra")]
    } as Command
    s = fold(s, events(s, fromOther, "ml-infra"))
    expect(changesOf(s)[BRANCH]!.repos.map((r) => [r.name, r.status])).toEqual([
      ["aperture", "active"],
      ["fungal-image-analysis", "active"],
      ["ml-infra", "active"]
    ])
    expect(changesOf(s)[BRANCH]!.source_rfc).toBe("aperture:training-metrics-v2")
  })

  it("links a commit once, counts it per repo, and marks pushes until the next commit", () => {
    let s = fold(seed(), events(seed(), record))
    const commit: Command = {
      _tag: "RecordWorktreeCommit",
      name: BRANCH,
      message: "feat: metrics",
      commits: { aperture: "a".repeat(40), "fungal-image-analysis": null },
      linked: true
    }
    s = fold(s, events(s, commit))
    expect(events(s, commit)).toEqual([])
    expect(changesOf(s)[BRANCH]!.repos.map((r) => r.commits)).toEqual([1, 0])
    s = fold(s, events(s, { _tag: "RecordWorktreePush", name: BRANCH, pushed: { aperture: "a".repeat(40) } }))
    expect(changesOf(s)[BRANCH]!.repos.map((r) => r.status)).toEqual(["pushed", "active"])
    expect(events(s, { _tag: "RecordWorktreePush", name: BRANCH, pushed: { aperture: "a".repeat(40) } })).toEqual([])
    s = fold(s, events(s, { ...commit, commits: { aperture: "c".repeat(40) } } as Command))
    expect(changesOf(s)[BRANCH]!.repos[0]).toMatchObject({ status: "active", commits: 2 })
  })

  it("renders worktrees/<branch with / → ->.yaml in the draft RFC's shape, and removes it with the change", () => {
    let s = fold(seed(), events(seed(), record))
    const created = events(s, {
      _tag: "RecordWorktreeCommit",
      name: BRANCH,
      message: "feat: metrics",
      commits: { aperture: "a".repeat(40), "fungal-image-analysis": null },
      linked: true
    })
    expect(touchedPaths(s, created[0]!)).toEqual(["worktrees/feat-training-metrics-v2.yaml"])
    s = fold(s, created)
    const file = YAML.parse(renderPath(s, "worktrees/feat-training-metrics-v2.yaml")!)
    expect(file).toEqual({
      name: BRANCH,
      created_at: T,
      source_rfc: "aperture:training-metrics-v2",
      domain: "s3-access",
      repos: [
        { name: "aperture", path: "/src/aperture/.worktrees/feat-training-metrics-v2", status: "active", commits: 1 },
        {
          name: "fungal-image-analysis",
          path: "/src/fungal-image-analysis/.worktrees/feat-training-metrics-v2",
          status: "active",
          commits: 0
        }
      ],
      coordination: {
        commits: [{ aperture: "a".repeat(40), "fungal-image-analysis": null, message: "feat: metrics", linked: true }]
      }
    })
    expect(renderAll(s).has("worktrees/feat-training-metrics-v2.yaml")).toBe(true)
    s = fold(s, events(s, { _tag: "RemoveWorktree", name: BRANCH }))
    expect(renderAll(s).has("worktrees/feat-training-metrics-v2.yaml")).toBe(false)
    expect(events(s, { _tag: "RemoveWorktree", name: BRANCH })).toEqual([])
  })

  it("refuses a non-member, a bad branch, a change not recorded, and a branch whose file another change has", () => {
    const s = fold(seed(), events(seed(), record))
    expect(refusal(s, record, "stranger")._tag).toBe("RepoNotInRealm")
    expect(refusal(s, { ...record, name: "feat/a..b" } as Command).message).toBe(
      "Invalid branch name \"feat/a..b\": it contains .., // or @{; use e.g. feat/training-metrics-v2."
    )
    expect(refusal(s, { _tag: "RecordWorktreePush", name: "feat/other", pushed: {} }).message).toBe(
      "No coordinated change 'feat/other' in the realm; the realm has 'feat/training-metrics-v2' (name one with --branch)."
    )
    expect(refusal(s, { ...record, name: "feat-training-metrics-v2" } as Command).message).toContain(
      "would share the tracking file worktrees/feat-training-metrics-v2.yaml with the change 'feat/training-metrics-v2'"
    )
  })
})
