/**
 * Proposals on a realm on a git server (a real `git http-backend` on loopback), two BLUE_HOMEs as two machines:
 * aperture's export becomes a proposal whose branch reaches the server before the event on main; fungal's machine
 * fetches the branch, acknowledges, and merges with a merge commit the server accepts; both machines replay exactly.
 */
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { type GitServer, startGitServer } from "./support/gitServer.js"
import { makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const TOKEN = "s3cret-token-value"
const workspaces: Array<Workspace> = []
const servers: Array<GitServer> = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const machine = (label: string) => {
  const ws = makeWorkspace(`blue-sync-remote-${label}`)
  ws.env["BLUE_REALM_TOKEN"] = TOKEN
  workspaces.push(ws)
  return ws
}
const blue = (ws: Workspace, cwd: string, ...args: Array<string>): Promise<Run> => ws.spawnBlue(cwd, ...args).done
const ok = (r: Run, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

describe("proposals on a remote realm", () => {
  it("a proposal opened on one machine is acknowledged and merged on another", async () => {
    const srv = await startGitServer({ auth: { token: TOKEN } })
    servers.push(srv)
    await srv.createBareRepo("letemcook")
    const url = srv.url("letemcook")
    const a = machine("a")
    const b = machine("b")
    a.repo("aperture")
    b.repo("fungal")
    ok(await blue(a, ".", "realm", "admin", "init", "--name", "letemcook", "--remote", url), "init")
    ok(await blue(a, "aperture", "realm", "admin", "join", url), "join aperture")
    ok(await blue(b, "fungal", "realm", "join", url), "join fungal")
    ok(
      await blue(a, "aperture", "realm", "admin", "domain", "create", "s3-access", "--repos", "aperture,fungal"),
      "domain"
    )
    const value = (read: Array<string>) => JSON.stringify({ read })
    ok(await blue(a, "aperture", "realm", "export", "--name", "s3-access", "--value", value(["a/*"])), "first value")

    // The export that affects fungal is a proposal: its branch is on the server, main carries only the event.
    const proposed = ok(
      await blue(a, "aperture", "realm", "export", "--name", "s3-access", "--value", value(["a/*", "b/*"]), "--json"),
      "export"
    ).json()
    expect(proposed.proposal).toMatchObject({ outcome: "opened", branch: expect.stringMatching(/^sync\/aperture\//) })
    const branch = proposed.proposal.branch as string
    const tip = (await srv.git("letemcook", "rev-parse", branch)).trim()
    const contract = async (ref: string) =>
      YAML.parse(await srv.git("letemcook", "show", `${ref}:domains/s3-access/contracts/s3-access.yaml`))
    expect((await contract(branch)).version).toBe("1.1.0")
    expect((await contract("main")).version).toBe("1.0.0")
    expect((await srv.git("letemcook", "rev-parse", `${branch}^1`)).trim()).toBe(
      (await srv.git("letemcook", "rev-parse", "main~1")).trim()
    )

    // The other machine fetches, acknowledges and merges: the merge commit's second parent is the branch's head.
    const synced = ok(await blue(b, "fungal", "realm", "sync"), "fungal sync").stdout
    expect(synced).toContain(`✓ Acknowledged proposal ${proposed.proposal.id}`)
    expect(synced).toContain("Binding updated: s3-access: resolved_version 1.0.0 → 1.1.0")
    expect((await contract("main")).version).toBe("1.1.0")
    const merge = (await srv.git("letemcook", "log", "--merges", "-1", "--format=%P", "main")).trim().split(" ")
    expect(merge).toHaveLength(2)
    expect(merge[1]).toBe(tip)
    expect(await srv.git("letemcook", "fsck", "--strict")).toBeDefined()
    for (const [ws, repo] of [[a, "aperture"], [b, "fungal"]] as const) {
      const v = ok(await blue(ws, repo, "realm", "replay", "--verify", "--json"), "verify").json()
      expect(v.differences).toEqual([])
    }
    expect(path.basename(url)).toContain("letemcook")
  }, 120_000)
})
