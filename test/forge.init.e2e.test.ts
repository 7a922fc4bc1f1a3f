/**
 * `blue realm admin init --forgejo URL [--org O]` and `--github OWNER` end to end: the bundled CLI (daemon off)
 * against the validating fakes, which also serve the created repo over smart HTTP. The repo is looked up before it
 * is created, an existing empty one is used, a non-empty one is refused like `--remote`, and another machine joins
 * by the clone URL. The CLI is started asynchronously: the fakes share this process's event loop.
 */
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type ForgejoFake, startForgejoFake } from "./support/forgejoFake.js"
import { type GitHubFake, startGitHubFake } from "./support/githubFake.js"
import { makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

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

const machine = (label: string, token = "tok-blue") => {
  const ws = makeWorkspace(`blue-forge-${label}`)
  ws.env["BLUE_REALM_TOKEN"] = token
  workspaces.push(ws)
  return ws
}

const blue = (ws: Workspace, cwd: string, ...args: Array<string>): Promise<Run> => ws.spawnBlue(cwd, ...args).done

const ok = (r: Run, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

const refusedInOneSentence = (r: Run) => {
  expect(r.code).not.toBe(0)
  const text = r.stderr.trim()
  expect(text.split("\n")).toHaveLength(1)
  expect(text).not.toContain("tok-")
  return text
}

describe("init --forgejo", () => {
  it(
    "creates realm-<name> in the org through the API, publishes to it; a second machine joins by its URL",
    async () => {
      const fake = await startForgejoFake()
      fakes.push(fake)
      fake.addOrg("acme")
      const a = machine("a")
      a.repo("aperture")
      const init = ok(
        await blue(
          a,
          ".",
          "realm",
          "admin",
          "init",
          "--name",
          "demo",
          "--forgejo",
          fake.url,
          "--org",
          "acme",
          "--json"
        ),
        "init --forgejo"
      ).json()
      expect(init).toMatchObject({
        realm: "demo",
        path: path.join(a.home, "realms", "demo"),
        url: `${fake.url}/acme/realm-demo.git`,
        forge: { kind: "forgejo", repo: "acme/realm-demo", created: true, url: fake.url }
      })
      const creates = fake.requests.filter((r) => r.operation === "createOrgRepo")
      expect(creates).toHaveLength(1)
      // The lookup came first.
      const lookup = fake.requests.findIndex((r) => r.operation === "repoGet")
      expect(lookup).toBeGreaterThanOrEqual(0)
      expect(lookup).toBeLessThan(fake.requests.indexOf(creates[0]!))
      expect((await fake.git.refs("acme/realm-demo")).get("refs/heads/main")).toMatch(/^[0-9a-f]{40}$/)

      ok(await blue(a, "aperture", "realm", "admin", "join", init.url, "--json"), "join aperture")
      const b = machine("b")
      b.repo("fungal")
      ok(await blue(b, "fungal", "realm", "join", init.url, "--json"), "join fungal")

      // init on another machine: the repo exists and is no longer empty, so it is refused as --remote refuses it.
      const c = machine("c")
      const again = await blue(
        c,
        ".",
        "realm",
        "admin",
        "init",
        "--name",
        "demo",
        "--forgejo",
        fake.url,
        "--org",
        "acme"
      )
      expect(refusedInOneSentence(again)).toMatch(/not empty/)
      expect(fake.requests.filter((r) => r.operation === "createOrgRepo")).toHaveLength(1)
    },
    120_000
  )

  it("uses an existing empty repo under the token's user, and says so", async () => {
    const fake = await startForgejoFake()
    fakes.push(fake)
    await fake.createRepo("blue", "realm-ready")
    const a = machine("a")
    const r = ok(await blue(a, ".", "realm", "admin", "init", "--name", "ready", "--forgejo", fake.url), "init")
    expect(r.stdout).toContain("Using the empty repo blue/realm-ready on Forgejo")
    expect(fake.requests.filter((x) => x.method === "POST" && /\/repos$/.test(x.path))).toHaveLength(0)
  }, 60_000)

  it("refuses bad combinations and a refused token in one sentence, naming no token", async () => {
    const fake = await startForgejoFake()
    fakes.push(fake)
    const a = machine("a", "tok-wrong")
    expect(refusedInOneSentence(await blue(a, ".", "realm", "admin", "init", "--name", "x", "--forgejo", fake.url)))
      .toMatch(/refused the token/)
    expect(
      refusedInOneSentence(
        await blue(a, ".", "realm", "admin", "init", "--name", "x", "--forgejo", fake.url, "--github", "acme")
      )
    ).toMatch(/choose one/)
    expect(
      refusedInOneSentence(
        await blue(a, ".", "realm", "admin", "init", "--name", "x", "--forgejo", fake.url, "--remote", fake.url)
      )
    ).toMatch(/cannot go with --forgejo/)
  }, 60_000)
})

describe("init --github", () => {
  it("creates realm-<name> under the owner through the API (BLUE_GITHUB_API_URL) and publishes to it", async () => {
    const fake = await startGitHubFake()
    fakes.push(fake)
    fake.addOrg("acme")
    const a = machine("a")
    a.env["BLUE_GITHUB_API_URL"] = fake.apiUrl
    a.repo("aperture")
    const init = ok(
      await blue(a, ".", "realm", "admin", "init", "--name", "demo", "--github", "acme", "--json"),
      "init --github"
    ).json()
    expect(init).toMatchObject({
      realm: "demo",
      url: `${fake.origin}/acme/realm-demo.git`,
      forge: { kind: "github", repo: "acme/realm-demo", created: true }
    })
    expect(fake.requests.filter((r) => r.operation === "repos/create-in-org")).toHaveLength(1)
    expect((await fake.git.refs("acme/realm-demo")).get("refs/heads/main")).toMatch(/^[0-9a-f]{40}$/)
    ok(await blue(a, "aperture", "realm", "admin", "join", init.url, "--json"), "join aperture")
  }, 120_000)
})
