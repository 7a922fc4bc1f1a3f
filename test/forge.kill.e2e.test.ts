/**
 * Kill anywhere: the bundled CLI is SIGKILLed (its whole process group, git children included) at the k-th request
 * it makes to the fake forge — API or git smart HTTP, either before the request is applied (the fake drops it) or
 * after it was applied and before the answer. Seven steps against each fake: export (proposal opened: branch, PR,
 * reviewers, an issue in each of two importers), export again (amended: branch moved, issues updated), sync after
 * the reviewer's approval on the forge (acknowledgements, Blue's merge, PR and issues closed), a second export whose
 * PR is then closed by hand and a sync (withdrawn), a third export and a sync once its grace period is over (merged by
 * the time alone). After every kill the same command runs again, killed a stride later, until a run makes fewer
 * requests than that; then once unkilled. After every step nothing exists twice: one sync branch, one PR and one
 * issue per importer per proposal, one event of each kind in the realm log, and no request the API document forbids.
 *
 * Cost: every kill point is a CLI run (~1 s). BLUE_KILL_STRIDE (default 9) kills at every stride-th request; the full
 * harness (BLUE_KILL_STRIDE=1) is documented in docs/forges.md with the count of kill points it ran.
 */
import { spawn } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import type { RequestEvent } from "./support/forgeFake.js"
import { type ForgejoFake, startForgejoFake } from "./support/forgejoFake.js"
import { type GitHubFake, startGitHubFake } from "./support/githubFake.js"
import { BLUE_BIN, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const STRIDE = Math.max(1, Number(process.env["BLUE_KILL_STRIDE"] ?? "9") || 9)

const workspaces: Array<Workspace> = []
const fakes: Array<ForgejoFake | GitHubFake> = []
afterEach(async () => {
  for (const f of fakes.splice(0)) {
    const violations = [...f.violations]
    await f.close()
    expect(violations).toEqual([])
  }
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const ok = (r: Run, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

type Kind = "forgejo" | "github"

/** Runs the CLI in its own process group; `kill` SIGKILLs the group. */
const spawnGroup = (ws: Workspace, cwd: string, args: ReadonlyArray<string>) => {
  const child = spawn(process.execPath, [BLUE_BIN, ...args], {
    cwd: ws.path(cwd),
    env: ws.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d) => (stdout += d))
  child.stderr.on("data", (d) => (stderr += d))
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((
    resolve
  ) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })))
  const kill = () => {
    try {
      process.kill(-child.pid!, "SIGKILL")
    } catch {
      // already gone
    }
  }
  return { done, kill }
}

describe.each(["forgejo", "github"] as const)("kill anywhere against the %s fake", (kind: Kind) => {
  it("every re-run after a kill converges: nothing created twice", async () => {
    const fake = kind === "forgejo" ? await startForgejoFake() : await startGitHubFake()
    fakes.push(fake)
    fake.addOrg("acme")
    fake.addUser("fungal-maintainer")
    await fake.createRepo("acme", "fungal-image-analysis")
    await fake.createRepo("acme", "training-dashboard")
    const machine = (label: string, token: string) => {
      const ws = makeWorkspace(`blue-kill-${kind}-${label}`)
      ws.env["BLUE_REALM_TOKEN"] = token
      if (kind === "forgejo") ws.env["BLUE_FORGEJO_URL"] = fake.origin
      else ws.env["BLUE_GITHUB_API_URL"] = (fake as GitHubFake).apiUrl
      // Orphan proposal branches (a run killed between its branch push and its main push) are deleted at once.
      ws.env["BLUE_FORGE_ORPHAN_GRACE_MS"] = "0"
      workspaces.push(ws)
      return ws
    }
    const a = machine("a", "tok-blue")
    const b = machine("b", "tok-fungal-maintainer")
    a.repo("aperture")
    // Two importers on the other machine (one maintainer's forge account): a PR reviewer, an issue in each repo.
    const importers = ["fungal-image-analysis", "training-dashboard"]
    for (const name of importers) {
      const dir = b.repo(name)
      await new Promise<void>((resolve, reject) =>
        spawn("git", ["-C", dir, "remote", "add", "origin", `${fake.origin}/acme/${name}.git`])
          .on("close", (c) => (c === 0 ? resolve() : reject(new Error("git remote add failed"))))
      )
    }
    const blue = async (ws: Workspace, cwd: string, ...args: Array<string>) => {
      const r = await spawnGroup(ws, cwd, args).done
      return { ...r, json: () => JSON.parse(r.stdout) } as Run
    }
    const init = ok(
      await blue(
        a,
        ".",
        "realm",
        "admin",
        "init",
        "--name",
        "demo",
        ...(kind === "forgejo" ? ["--forgejo", fake.origin, "--org", "acme"] : ["--github", "acme"]),
        "--json"
      ),
      "init"
    ).json()
    ok(await blue(a, "aperture", "realm", "admin", "join", init.url), "join aperture")
    for (const name of importers) ok(await blue(b, name, "realm", "join", init.url), `join ${name}`)
    ok(
      await blue(
        a,
        "aperture",
        "realm",
        "admin",
        "domain",
        "create",
        "s3-access",
        "--repos",
        ["aperture", ...importers].join(","),
        "--contract",
        "s3-permissions"
      ),
      "domain"
    )
    const value = (read: Array<string>) => JSON.stringify({ read })
    ok(await blue(a, "aperture", "realm", "export", "--name", "s3-permissions", "--value", value(["a/*"])), "first")

    const realmGit = (...args: Array<string>) => fake.git.git("acme/realm-demo", ...args)
    let killPoints = 0
    /**
     * Runs `args` killed at request k — dropped unapplied, then applied with its answer lost — for k = 1, 1+STRIDE, …
     * until a run makes fewer than k requests; then once more, unkilled.
     */
    const killLoop = async (what: string, args: ReadonlyArray<string>) => {
      for (let k = 1;; k += STRIDE) {
        let reached = false
        for (const phase of ["arrived", "applied"] as const) {
          const run = spawnGroup(a, "aperture", args)
          let killed = false
          fake.setRequestHook((e: RequestEvent) => {
            if (process.env["BLUE_KILL_DEBUG"]) process.stderr.write(`${what} k=${k} ${phase}: ${JSON.stringify(e)}\n`)
            if (e.n >= k) reached = true
            if (killed || e.n !== k || e.phase !== phase) return
            killed = true
            run.kill()
            return phase === "arrived" ? "drop" : undefined
          })
          const r = await run.done
          fake.setRequestHook(undefined)
          if (killed) killPoints++
          else if (r.code !== 0) throw new Error(`${what} failed unkilled (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
        }
        if (!reached) break
      }
      // The run that completes converges whatever the kills left.
      ok(await blue(a, "aperture", ...args), `${what} after the kills`)
    }

    const eventsOf = async (type: string) =>
      ((await realmGit("grep", "-l", "-F", `"${type}"`, "main", "--", "events").catch(() => "")) || "")
        .split("\n").filter((l) => l.trim() !== "").length
    const invariants = async (expected: { pulls: number; events: Record<string, number> }) => {
      const pulls = fake.items("acme", "realm-demo").filter((i) => i.pull !== undefined)
      expect(pulls).toHaveLength(expected.pulls)
      for (const name of importers) {
        expect(fake.items("acme", name).filter((i) => i.pull === undefined)).toHaveLength(expected.pulls)
      }
      const issues = fake.items("acme", "fungal-image-analysis").filter((i) => i.pull === undefined)
      const branches = (await realmGit("for-each-ref", "--format=%(refname)", "refs/heads/sync/")).split("\n")
        .filter((l) => l.trim() !== "")
      expect(branches).toHaveLength(expected.pulls)
      for (const [type, n] of Object.entries(expected.events)) expect([type, await eventsOf(type)]).toEqual([type, n])
      return { pull: pulls.at(-1)!, issue: issues.at(-1)! }
    }

    const exportArgs = (read: Array<string>) =>
      ["realm", "export", "--name", "s3-permissions", "--value", value(read)] as const
    await killLoop("export (open)", exportArgs(["a/*", "training-metrics/experiments/*"]))
    let seen = await invariants({ pulls: 1, events: { ProposalOpened: 1, ProposalAmended: 0 } })
    expect(seen.pull.state).toBe("open")
    expect([...seen.pull.pull!.reviewers]).toEqual(["fungal-maintainer"])
    expect(seen.issue.title).toContain("1.1.0")

    await killLoop("export (amend)", exportArgs(["a/*", "training-metrics/experiments/*", "training-metrics/runs/*"]))
    seen = await invariants({ pulls: 1, events: { ProposalOpened: 1, ProposalAmended: 1 } })
    expect(seen.issue.state).toBe("open")

    const review = await fake.review("acme", "realm-demo", seen.pull.number, "fungal-maintainer", "APPROVED")
    expect(review.status).toBeLessThan(300)
    await killLoop("sync (ack, merge, close)", ["realm", "sync"])
    const merged = { ProposalOpened: 1, ProposalAmended: 1, ProposalAcknowledged: 2, ProposalMerged: 1 }
    seen = await invariants({ pulls: 1, events: merged })
    expect(seen.pull.state).toBe("closed")
    expect(seen.issue.state).toBe("closed")
    const contract = YAML.parse(await realmGit("show", "main:domains/s3-access/contracts/s3-permissions.yaml"))
    expect(contract.version).toBe("1.1.0")

    // A second proposal whose PR is closed by hand on the forge: the next sync withdraws it and closes its issue.
    await killLoop("export (second proposal)", exportArgs(["b/*"]))
    seen = await invariants({ pulls: 2, events: { ...merged, ProposalOpened: 2 } })
    expect(seen.pull.state).toBe("open")
    const closeUrl = kind === "forgejo"
      ? `${fake.origin}/api/v1/repos/acme/realm-demo/pulls/${seen.pull.number}`
      : `${(fake as GitHubFake).apiUrl}/repos/acme/realm-demo/pulls/${seen.pull.number}`
    const closed = await fetch(closeUrl, {
      method: "PATCH",
      headers: { authorization: "token tok-fungal-maintainer", "content-type": "application/json" },
      body: JSON.stringify({ state: "closed" })
    })
    expect(closed.status).toBeLessThan(300)
    await killLoop("sync (withdraw)", ["realm", "sync"])
    seen = await invariants({ pulls: 2, events: { ...merged, ProposalOpened: 2, ProposalWithdrawn: 1 } })
    expect(seen.issue.state).toBe("closed")

    // A third, compatible proposal nobody answers: once its grace period is over (BLUE_NOW), sync merges it and the mirror closes
    // its PR and its issues.
    const landed = ["a/*", "training-metrics/experiments/*", "training-metrics/runs/*"]
    await killLoop("export (third proposal)", exportArgs([...landed, "c/*"]))
    const third = { ...merged, ProposalOpened: 3, ProposalWithdrawn: 1 }
    seen = await invariants({ pulls: 3, events: third })
    expect(seen.issue.state).toBe("open")
    a.env["BLUE_NOW"] = "+15d"
    await killLoop("sync (grace period over)", ["realm", "sync"])
    seen = await invariants({ pulls: 3, events: { ...third, ProposalMerged: 2 } })
    expect(seen.pull.state).toBe("closed")
    for (const name of importers) expect(fake.items("acme", name).every((i) => i.state === "closed")).toBe(true)
    process.stderr.write(`kill points against the ${kind} fake (stride ${STRIDE}): ${killPoints}\n`)
    expect(killPoints).toBeGreaterThan(0)
  }, 600_000)
})
