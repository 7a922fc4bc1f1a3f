/**
 * Proposals mirrored on a forge, end to end with the bundled CLI against the validating fakes (zero API violations):
 * `init --forgejo`/`--github`, two joins (each records its origin URL and its token's `forge:<login>`), aperture's
 * export opens PR #1 with fungal's maintainer as reviewer and an issue in fungal's own repo; fungal's approval on
 * the forge acknowledges for fungal, Blue merges with its own append, the PR and the issue are closed, and nothing
 * was created twice however often the mirror runs.
 */
import { execFileSync, spawn } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { type ForgejoFake, startForgejoFake } from "./support/forgejoFake.js"
import { type GitHubFake, startGitHubFake } from "./support/githubFake.js"
import { BLUE_BIN, freePort, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

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

const blue = (ws: Workspace, cwd: string, ...args: Array<string>): Promise<Run> => ws.spawnBlue(cwd, ...args).done
const ok = (r: Run, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

type Kind = "forgejo" | "github"

const startFake = async (kind: Kind) => {
  const fake = kind === "forgejo" ? await startForgejoFake() : await startGitHubFake()
  fakes.push(fake)
  fake.addOrg("acme")
  fake.addUser("fungal-maintainer")
  fake.addUser("approver-bob")
  await fake.createRepo("acme", "aperture")
  await fake.createRepo("acme", "fungal-image-analysis")
  const machine = (label: string, token: string) => {
    const ws = makeWorkspace(`blue-mirror-${kind}-${label}`)
    ws.env["BLUE_REALM_TOKEN"] = token
    if (kind === "forgejo") ws.env["BLUE_FORGEJO_URL"] = fake.origin
    else ws.env["BLUE_GITHUB_API_URL"] = (fake as GitHubFake).apiUrl
    workspaces.push(ws)
    return ws
  }
  return { fake, machine }
}

describe.each(["forgejo", "github"] as const)("proposals mirrored on %s", (kind) => {
  it(
    "PR with fungal's maintainer as reviewer, an issue in fungal's repo; approval → acknowledged → merged",
    async () => {
      const { fake, machine } = await startFake(kind)
      const a = machine("a", "tok-blue")
      const b = machine("b", "tok-fungal-maintainer")
      const aperture = a.repo("aperture")
      const fungal = b.repo("fungal-image-analysis")
      execFileSync("git", ["-C", aperture, "remote", "add", "origin", `${fake.origin}/acme/aperture.git`])
      execFileSync("git", ["-C", fungal, "remote", "add", "origin", `${fake.origin}/acme/fungal-image-analysis.git`])
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
      const realmUrl = init.url as string
      ok(await blue(a, "aperture", "realm", "admin", "join", realmUrl), "join aperture")
      ok(await blue(b, "fungal-image-analysis", "realm", "join", realmUrl), "join fungal")
      const realmGit = (...args: Array<string>) => fake.git.git("acme/realm-demo", ...args)
      const repoFile = YAML.parse(await realmGit("show", "main:repos/fungal-image-analysis.yaml"))
      expect(repoFile).toMatchObject({
        url: `${fake.origin}/acme/fungal-image-analysis.git`,
        maintainers: [expect.any(String), "forge:fungal-maintainer"]
      })
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
          "aperture,fungal-image-analysis",
          "--contract",
          "s3-permissions"
        ),
        "domain"
      )
      const value = (read: Array<string>) => JSON.stringify({ read })
      ok(await blue(a, "aperture", "realm", "export", "--name", "s3-permissions", "--value", value(["a/*"])), "first")
      const proposed = ok(
        await blue(
          a,
          "aperture",
          "realm",
          "export",
          "--name",
          "s3-permissions",
          "--value",
          value(["a/*", "training-metrics/experiments/*"]),
          "--json"
        ),
        "export"
      ).json()
      const id = proposed.proposal.id as string
      const branch = proposed.proposal.branch as string

      // PR #1 from the proposal's branch, fungal's maintainer asked to review.
      const pulls = fake.items("acme", "realm-demo").filter((i) => i.pull !== undefined)
      expect(pulls).toHaveLength(1)
      expect(pulls[0]).toMatchObject({ number: 1, title: "aperture: s3-permissions 1.1.0", state: "open" })
      expect(pulls[0]!.pull!.head).toBe(branch)
      expect([...pulls[0]!.pull!.reviewers]).toEqual(["fungal-maintainer"])
      expect(pulls[0]!.body).toContain(`<!-- blue:proposal=${id} -->`)
      // One issue in fungal's own repo, found again by its marker.
      const issues = () => fake.items("acme", "fungal-image-analysis").filter((i) => i.pull === undefined)
      expect(issues()).toHaveLength(1)
      expect(issues()[0]!.title).toMatch(/^s3-permissions 1\.0\.0 → 1\.1\.0/)
      expect(issues()[0]!.body).toContain(`<!-- blue:proposal=${id} repo=fungal-image-analysis -->`)

      // Status shows the PR and its review state.
      const status = ok(await blue(a, "aperture", "realm", "status", "--json"), "status").json()
      expect(status.proposals[0].pull).toMatchObject({ number: 1, reviewers: ["fungal-maintainer"], approved: [] })
      expect(ok(await blue(a, "aperture", "realm", "status"), "status").stdout).toContain(
        `pull request: ${pulls[0]!.pull === undefined ? "" : status.proposals[0].pull.url}`
      )

      // Re-running the mirror creates nothing twice.
      ok(await blue(a, "aperture", "realm", "sync"), "sync again")
      expect(fake.items("acme", "realm-demo").filter((i) => i.pull !== undefined)).toHaveLength(1)
      expect(issues()).toHaveLength(1)

      // An approver (governance lists `forge:approver-bob`) approves on the forge: recorded as that approver's approval,
      // which does not stand in for fungal's acknowledgement.
      ok(await blue(a, "aperture", "realm", "admin", "governance", "--add-approver", "forge:approver-bob"), "approver")
      expect((await fake.review("acme", "realm-demo", 1, "approver-bob", "APPROVED")).status).toBeLessThan(300)
      ok(await blue(a, "aperture", "realm", "sync"), "sync after the approver")
      const approved = ok(await blue(a, "aperture", "realm", "status", "--json"), "status").json().proposals[0]
      expect(approved.approved_by.map((x: { by: string }) => x.by)).toEqual(["forge:approver-bob"])
      expect(approved.waiting).toEqual(["fungal-image-analysis"])
      expect(approved.pull.approved).toEqual(["approver-bob"])

      // fungal's maintainer approves on the forge: the next sync acknowledges for fungal, merges, closes PR and issue.
      const review = await fake.review("acme", "realm-demo", 1, "fungal-maintainer", "APPROVED")
      expect(review.status).toBeLessThan(300)
      const synced = ok(await blue(a, "aperture", "realm", "sync", "--json"), "sync after approval")
      expect(synced.code).toBe(0)
      const after = ok(await blue(a, "aperture", "realm", "status", "--json"), "status").json()
      expect(after.proposals ?? []).toEqual([])
      const history = await realmGit("log", "--format=%an <%ae>%n%B", "main")
      expect(history).toMatch(/ProposalAcknowledged|acknowledg/i)
      expect(history).toContain("forge:fungal-maintainer")
      const pr = fake.items("acme", "realm-demo").find((i) => i.number === 1)!
      expect(pr.state).toBe("closed")
      expect(issues()).toHaveLength(1)
      expect(issues()[0]!.state).toBe("closed")
      const main = await realmGit("show", "main:domains/s3-access/contracts/s3-permissions.yaml")
      expect(YAML.parse(main).version).toBe("1.1.0")
    },
    180_000
  )
})

describe("the daemon's forge poll", () => {
  it("reads an approval on Forgejo back, merges, and closes the PR and the issue with nobody syncing", async () => {
    const { fake, machine } = await startFake("forgejo")
    const a = machine("a", "tok-blue")
    const b = machine("b", "tok-fungal-maintainer")
    a.repo("aperture")
    const fungal = b.repo("fungal-image-analysis")
    execFileSync("git", ["-C", fungal, "remote", "add", "origin", `${fake.origin}/acme/fungal-image-analysis.git`])
    const init = ok(
      await blue(a, ".", "realm", "admin", "init", "--name", "demo", "--forgejo", fake.origin, "--json"),
      "init"
    ).json()
    ok(await blue(a, "aperture", "realm", "admin", "join", init.url), "join aperture")
    ok(await blue(b, "fungal-image-analysis", "realm", "join", init.url), "join fungal")
    const domain = ["domain", "create", "s3-access", "--repos", "aperture,fungal-image-analysis"]
    ok(await blue(a, "aperture", "realm", "admin", ...domain, "--contract", "s3-permissions"), "domain")
    const value = (read: Array<string>) => JSON.stringify({ read })
    const publish = ["realm", "export", "--name", "s3-permissions", "--value"]
    ok(await blue(a, "aperture", ...publish, value(["a/*"])), "first")
    ok(await blue(a, "aperture", ...publish, value(["a/*", "b/*"])), "proposal")
    const pr = () => fake.items("blue", "realm-demo").find((i) => i.pull !== undefined)!
    const issue = () => fake.items("acme", "fungal-image-analysis").find((i) => i.pull === undefined)!
    expect(pr().state).toBe("open")
    expect(issue().state).toBe("open")

    const port = await freePort()
    const daemon = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], {
      env: { ...a.env, BLUE_DAEMON_PORT: String(port), XDG_RUNTIME_DIR: a.path("run"), BLUE_FORGE_POLL_MS: "300" },
      stdio: "ignore"
    })
    try {
      expect((await fake.review("blue", "realm-demo", pr().number, "fungal-maintainer", "APPROVED")).status)
        .toBeLessThan(300)
      const deadline = Date.now() + 60_000
      while (pr().state !== "closed" || issue().state !== "closed") {
        if (Date.now() > deadline) throw new Error(`PR ${pr().state}, issue ${issue().state} after 60 s`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      const main = await fake.git.git("blue/realm-demo", "show", "main:domains/s3-access/contracts/s3-permissions.yaml")
      expect(YAML.parse(main).version).toBe("1.1.0")
      expect(fake.items("blue", "realm-demo").filter((i) => i.pull !== undefined)).toHaveLength(1)
      expect(fake.items("acme", "fungal-image-analysis").filter((i) => i.pull === undefined)).toHaveLength(1)
    } finally {
      daemon.kill("SIGTERM")
      await new Promise((resolve) => daemon.on("close", resolve))
    }
  }, 180_000)
})
