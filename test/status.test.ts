/**
 * The status projection's human text for sessions and acknowledgements, with a fixed clock: times read as the
 * seeds write them ("5 min ago"), the `--json` view keeps ISO times.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { activeRfc } from "../src/adapters/daemonClient.js"
import { initialState, type RealmState } from "../src/domain/state.js"
import { ago, renderStatus, statusView } from "../src/projections/status.js"

const T0 = "2026-01-24T10:00:00.000Z"
const at = (minutes: number) => Date.parse(T0) + minutes * 60_000

describe("ago", () => {
  it.each([
    [0.5, "just now"],
    [5, "5 min ago"],
    [59, "59 min ago"],
    [60 * 3 + 10, "3 h ago"],
    [60 * 24, "1 day ago"],
    [60 * 24 * 3, "3 days ago"]
  ])("%s minutes later → %s", (minutes, text) => {
    expect(ago(T0, at(minutes))).toBe(text)
  })
})

describe("renderStatus: sessions and the owner's acknowledgements", () => {
  const contract = {
    name: "s3-permissions",
    version: "1.4.0",
    owner: "aperture",
    compatibility: { backwards: true, forwards: false },
    schema: {},
    value: {},
    evolution: [{ version: "1.4.0", changes: [], compatible: true }]
  }
  const state: RealmState = {
    ...initialState,
    position: 9,
    realm: undefined,
    repos: {},
    domains: {
      "s3-access": {
        file: { name: "s3-access", description: "", created_at: T0, members: ["aperture", "fungal"] },
        contracts: { "s3-permissions": contract },
        bindings: {}
      }
    },
    changes: {
      "s3-access/s3-permissions": [{
        id: "7",
        domain: "s3-access",
        contract: "s3-permissions",
        version: "1.4.0",
        from_repo: "aperture",
        change_type: "updated",
        created_at: T0,
        importers: { fungal: "2026-01-24T10:05:00.000Z", "ml-infra": null }
      }]
    }
  }
  const session = (repo: string, active_rfc: string | null, pid: number) => ({
    repo,
    client_id: "mcp",
    pid,
    started_at: T0,
    last_activity: T0,
    active_rfc
  })

  it("shows the seed's shapes with relative times, and ISO times in the view", () => {
    const view = statusView(state, { path: "/r", head: "abcdef0123" }, "aperture", new Map(), [
      session("fungal", null, 11),
      session("aperture", "training-metrics-v2", 12),
      session("aperture", null, 99)
    ], 99)
    expect(view.sessions.map((x) => [x.repo, x.you, x.started_at])).toEqual([
      ["aperture", true, T0],
      ["fungal", false, T0]
    ])
    expect(view.acknowledgements).toEqual([{
      id: "7",
      domain: "s3-access",
      contract: "s3-permissions",
      version: "1.4.0",
      change_type: "updated",
      created_at: T0,
      acknowledged: [{ repo: "fungal", at: "2026-01-24T10:05:00.000Z" }],
      pending: ["ml-infra"]
    }])
    const text = renderStatus(view, at(10)).split("\n")
    const from = text.indexOf("Active sessions:")
    expect(text.slice(from, from + 6)).toEqual([
      "Active sessions:",
      "  • aperture (you) - working on training-metrics-v2 (mcp, pid 12, since 10 min ago)",
      "  • fungal - idle (mcp, pid 11, since 10 min ago)",
      "Notifications:",
      "  ✓ 5 min ago: fungal acknowledged s3-permissions 1.4.0",
      "  ⏳ ml-infra has not acknowledged s3-permissions 1.4.0 yet (sent 10 min ago)"
    ])
  })

  it("an importer's status does not show the owner's acknowledgements", () => {
    expect(statusView(state, { path: "/r", head: "abcdef0123" }, "fungal").acknowledgements).toEqual([])
  })
})

describe("activeRfc", () => {
  const made: Array<string> = []
  afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })))
  const repo = (head: string, linked = false) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "blue-rfc-"))
    made.push(root)
    const gitDir = linked ? path.join(root, "elsewhere", "worktrees", "wt") : path.join(root, ".git")
    fs.mkdirSync(gitDir, { recursive: true })
    fs.writeFileSync(path.join(gitDir, "HEAD"), head)
    if (linked) fs.writeFileSync(path.join(root, ".git"), `gitdir: ${gitDir}\n`)
    return root
  }
  it("is BLUE_RFC, else the feat/<rfc> branch of the repo (also in a linked worktree), else unknown", () => {
    const feat = repo("ref: refs/heads/feat/training-metrics-v2\n")
    expect(activeRfc(feat, {})).toBe("training-metrics-v2")
    expect(activeRfc(feat, { BLUE_RFC: "other" })).toBe("other")
    expect(activeRfc(repo("ref: refs/heads/feat/x\n", true), {})).toBe("x")
    expect(activeRfc(repo("ref: refs/heads/main\n"), {})).toBeUndefined()
    expect(activeRfc(repo("0123456789abcdef0123456789abcdef01234567\n"), {})).toBeUndefined()
  })
})
