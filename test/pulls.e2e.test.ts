/**
 * `blue realm pr` end to end (issue 14): the seed's three repos (aperture → fungal-image-analysis → ml-infra, two
 * domains) whose remotes are repos on the Forgejo fake (once on the GitHub fake, once plain bare repos on the
 * loopback git server: local PRs). worktree, edits in all three, commit, push, pr — then the PRs on the fake in merge
 * order, their Depends-On lines and native dependencies, the earlier bodies edited to say what needs them, the
 * realm's tracking file and status; refusals (not pushed, no token, no remote) in one sentence; and a kill-anywhere
 * loop: blue is SIGKILLed right after the fake applied its k-th request, for every k, and the same command resumes
 * with no duplicate PR and every link made. The CLI runs asynchronously: the fakes share this event loop.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type ForgejoFake, startForgejoFake } from "./support/forgejoFake.js"
import { type GitHubFake, startGitHubFake } from "./support/githubFake.js"
import { type GitServer, startGitServer } from "./support/gitServer.js"
import { APERTURE, FUNGAL, ML, readYaml, type Seeded, seedStory } from "./support/seed.js"
import { BLUE_BIN, git, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const BRANCH = "feat/training-metrics-v2"
const SLUG = "feat-training-metrics-v2"
const RFC = "training-metrics-v2"
const TITLE = "feat: training metrics v2"
const REPOS = [APERTURE, FUNGAL, ML] as const

const workspaces: Array<Workspace> = []
const fakes: Array<ForgejoFake | GitHubFake> = []
const servers: Array<GitServer> = []
afterEach(async () => {
  for (const f of fakes.splice(0)) {
    const violations = [...f.violations]
    await f.close()
    expect(violations).toEqual([])
  }
  for (const s of servers.splice(0)) await s.close()
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

type Blue = Run & { readonly signal: NodeJS.Signals | null }

/** Runs blue asynchronously; `started` gets the child (to kill it). */
const blue = (
  ws: Workspace,
  cwd: string,
  args: ReadonlyArray<string>,
  extra: NodeJS.ProcessEnv = {},
  started?: (child: ReturnType<typeof spawn>) => void
) =>
  new Promise<Blue>((resolve) => {
    const child = spawn(process.execPath, [BLUE_BIN, ...args], {
      cwd: path.resolve(ws.root, cwd),
      env: { ...ws.env, ...extra }
    })
    started?.(child)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json: () => {
          try {
            return JSON.parse(stdout)
          } catch {
            throw new Error(`not JSON (exit ${code}):\n${stdout}\n${stderr}`)
          }
        }
      }))
  })

const ok = <R extends Run>(r: R, what: string): R => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

const refused = (r: Run) => {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1)
  const text = r.stderr.trim()
  expect(text.split("\n")).toHaveLength(1)
  expect(text).toMatch(/^Error: .+\.$/)
  expect(text).not.toContain("tok-")
  return text
}

const gitAsync = (dir: string, ...args: Array<string>) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn("git", args, { cwd: dir })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(err))))
  })

const dirOf = (s: Seeded, repo: string) => (repo === APERTURE ? s.aperture : repo === FUNGAL ? s.fungal : s.ml)
const worktreeOf = (s: Seeded, repo: string) => path.join(dirOf(s, repo), ".worktrees", SLUG)
const tracking = (s: Seeded) => readYaml(path.join(s.realm, "worktrees", `${SLUG}.yaml`))

/**
 * The seed; each repo's origin is `remote(name)` with main pushed; then the change: worktree, an edit in every
 * repo, one coordinated commit, push.
 */
const setup = async (
  label: string,
  remote: (name: string) => Promise<string>,
  env: NodeJS.ProcessEnv
): Promise<Seeded> => {
  const ws = makeWorkspace(`blue-pr-${label}`)
  workspaces.push(ws)
  Object.assign(ws.env, env)
  const s = seedStory(ws)
  for (const name of REPOS) {
    git(dirOf(s, name), "remote", "add", "origin", await remote(name))
    await gitAsync(dirOf(s, name), "push", "--quiet", "origin", "main")
  }
  ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC]), "worktree")
  for (const name of REPOS) fs.writeFileSync(path.join(worktreeOf(s, name), "metrics.txt"), `${name} v2\n`)
  ok(await blue(ws, FUNGAL, ["realm", "commit", "-m", "feat: experiment metrics"]), "commit")
  ok(await blue(ws, FUNGAL, ["realm", "push"]), "push")
  return s
}

/** A Forgejo fake with blue/<repo> for each repo, and the environment that points blue at it. */
const forgejo = async () => {
  const fake = await startForgejoFake()
  fakes.push(fake)
  for (const name of REPOS) await fake.createRepo("blue", name)
  const u = new URL(fake.url)
  return {
    fake,
    remote: async (name: string) => `http://blue:tok-blue@${u.host}/blue/${name}.git`,
    env: { BLUE_FORGEJO_URL: fake.url, BLUE_FORGEJO_TOKEN: "tok-blue" }
  }
}

/** Every PR on the fake, per repo: number, body, state, dependencies (`repo#n`). */
const forgejoPulls = (fake: ForgejoFake) =>
  Object.fromEntries(REPOS.map((name) => [
    name,
    fake.items("blue", name).filter((i) => i.pull !== undefined).map((i) => ({
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      deps: i.deps.map((d) => `${d.repo}#${d.number}`)
    }))
  ]))

describe("blue realm pr on Forgejo", () => {
  it("opens one PR per repo in merge order, linked both ways, natively blocked; a re-run changes nothing", async () => {
    const { env, fake, remote } = await forgejo()
    const s = await setup("forgejo", remote, env)
    const { ws } = s
    const run = ok(await blue(ws, APERTURE, ["realm", "pr", "--title", TITLE]), "pr")
    expect(run.stdout).toContain(`✓ ${APERTURE} PR #1 (merge first - exports)`)
    expect(run.stdout).toContain(`✓ ${FUNGAL} PR #1 (merge second - imports, exports) Blocked by: ${APERTURE}#1`)
    expect(run.stdout).toContain(`✓ ${ML} PR #1 (merge third - imports) Blocked by: ${FUNGAL}#1`)
    expect(run.stdout).toContain(`Merge order: ${APERTURE}#1 → ${FUNGAL}#1 → ${ML}#1`)

    // Created in merge order, each create preceded by its lookup.
    const creates = fake.requests.filter((r) => r.operation === "repoCreatePullRequest").map((r) => r.path)
    expect(creates).toEqual(REPOS.map((n) => `/api/v1/repos/blue/${n}/pulls`))
    const pulls = forgejoPulls(fake)
    const url = (repo: string) => `${fake.url}/blue/${repo}/pulls/1`
    for (const name of REPOS) {
      expect(pulls[name]).toHaveLength(1)
      expect(pulls[name]![0]).toMatchObject({ number: 1, title: TITLE, state: "open" })
    }
    // Depends-On lines and native dependencies: fungal waits for aperture, ml-infra for fungal.
    expect(pulls[APERTURE]![0]!.body).not.toContain("Depends-On:")
    expect(pulls[FUNGAL]![0]!.body).toContain(`Depends-On: ${url(APERTURE)}`)
    expect(pulls[ML]![0]!.body).toContain(`Depends-On: ${url(FUNGAL)}`)
    expect(pulls[ML]![0]!.body).not.toContain(`Depends-On: ${url(APERTURE)}`)
    expect(pulls[FUNGAL]![0]!.deps).toEqual([`${APERTURE}#1`])
    expect(pulls[ML]![0]!.deps).toEqual([`${FUNGAL}#1`])
    expect(pulls[APERTURE]![0]!.deps).toEqual([])
    // Earlier bodies were edited afterwards: they name what needs them and link every PR.
    expect(pulls[APERTURE]![0]!.body).toContain(`Needed by: ${FUNGAL}#1`)
    expect(pulls[FUNGAL]![0]!.body).toContain(`Needed by: ${ML}#1`)
    for (const name of REPOS) for (const other of REPOS) expect(pulls[name]![0]!.body).toContain(url(other))

    const file = tracking(s)
    expect(file.coordination.merge_order).toEqual([APERTURE, FUNGAL, ML])
    expect(file.repos.map((r: any) => r.pr)).toEqual([
      { number: 1, url: url(APERTURE), state: "open", forge: "forgejo", base: "main" },
      { number: 1, url: url(FUNGAL), state: "open", forge: "forgejo", base: "main", blocked_by: [APERTURE] },
      { number: 1, url: url(ML), state: "open", forge: "forgejo", base: "main", blocked_by: [FUNGAL] }
    ])
    const status = ok(await blue(ws, ML, ["realm", "status", "--json"]), "status").json()
    expect(status.coordinated_changes[0]).toMatchObject({
      merge_order: [`${APERTURE}#1`, `${FUNGAL}#1`, `${ML}#1`],
      next_to_merge: `${APERTURE}#1`
    })
    const text = ok(await blue(ws, ML, ["realm", "status"]), "status text").stdout
    expect(text).toContain(`${FUNGAL}: 1 commit`)
    expect(text).toContain(`PR #1 open (blocked by ${APERTURE}#1)`)
    expect(text).toContain(`Merge order: ${APERTURE}#1 → ${FUNGAL}#1 → ${ML}#1; next to merge: ${APERTURE}#1`)

    // A re-run finds everything: no create, no edit, no realm commit.
    const before = fake.requests.length
    const again = ok(await blue(ws, FUNGAL, ["realm", "pr", "--title", TITLE, "--json"]), "pr again").json()
    expect(again.pulls.map((p: any) => p.action)).toEqual(["found", "found", "found"])
    expect(again.commit).toBeNull()
    expect(fake.requests.slice(before).every((r) => r.method === "GET")).toBe(true)

    // aperture merges on the forge; a re-run records it and fungal may merge next.
    const pr1 = fake.items("blue", APERTURE).find((i) => i.number === 1)!
    pr1.pull!.merged = true
    pr1.state = "closed"
    const refreshed = ok(await blue(ws, FUNGAL, ["realm", "pr", "--title", TITLE, "--json"]), "refresh").json()
    expect(refreshed.pulls[0]).toMatchObject({ repo: APERTURE, state: "merged" })
    expect(refreshed.next_to_merge).toBe(`${FUNGAL}#1`)
    ok(await blue(ws, FUNGAL, ["realm", "replay", "--verify"]), "replay --verify")
    ok(await blue(ws, "realm-letemcook", ["realm", "check", "--mode", "realm"]), "check --mode realm")
  })

  it("refuses, in one sentence, a branch not pushed, a missing or wrong token, a repo with no remote", async () => {
    const { env, fake, remote } = await forgejo()
    const s = await setup("refusals", remote, env)
    const { ws } = s
    // A new commit not pushed yet.
    fs.writeFileSync(path.join(worktreeOf(s, ML), "more.txt"), "more\n")
    ok(await blue(ws, ML, ["realm", "commit", "-m", "more"]), "commit more")
    expect(refused(await blue(ws, ML, ["realm", "pr", "--title", TITLE]))).toContain(
      `${ML} has commits of ${BRANCH} that are not pushed; run 'blue realm push' first`
    )
    ok(await blue(ws, ML, ["realm", "push"]), "push more")
    // No token, then a wrong one: refused before anything is created.
    const noToken = refused(await blue(ws, ML, ["realm", "pr", "--title", TITLE], { BLUE_FORGEJO_TOKEN: "" }))
    expect(noToken).toContain("needs a token")
    const wrong = refused(await blue(ws, ML, ["realm", "pr", "--title", TITLE], { BLUE_FORGEJO_TOKEN: "tok-nope" }))
    expect(wrong).toContain("refused the token")
    expect(fake.requests.filter((r) => r.method !== "GET")).toEqual([])
    // A repo without a remote.
    git(s.ml, "remote", "remove", "origin")
    expect(refused(await blue(ws, ML, ["realm", "pr", "--title", TITLE]))).toContain(`${ML} has no remote`)
    expect(fake.requests.filter((r) => r.method !== "GET")).toEqual([])
  })

  it("resumes after kill -9 after the k-th forge request, for every k: no duplicate PR, every link made", async () => {
    const { env, fake } = await forgejo()
    const u = new URL(fake.url)
    // Each round gets its own owner on the fake (o<k>/<repo>) and starts from the realm and home as they were.
    const remoteIn = (owner: string) => async (name: string) => `http://blue:tok-blue@${u.host}/${owner}/${name}.git`
    for (const name of REPOS) await fake.createRepo("o0", name)
    const s = await setup("kill", remoteIn("o0"), env)
    const { ws } = s
    const snapshot = ws.path("snapshot")
    fs.cpSync(s.realm, path.join(snapshot, "realm"), { recursive: true })
    fs.cpSync(ws.home, path.join(snapshot, "home"), { recursive: true })
    const round = async (owner: string) => {
      fs.rmSync(s.realm, { recursive: true, force: true })
      fs.rmSync(ws.home, { recursive: true, force: true })
      fs.cpSync(path.join(snapshot, "realm"), s.realm, { recursive: true })
      fs.cpSync(path.join(snapshot, "home"), ws.home, { recursive: true })
      for (const name of REPOS) {
        await fake.createRepo(owner, name)
        git(dirOf(s, name), "remote", "set-url", "origin", await remoteIn(owner)(name))
        await gitAsync(dirOf(s, name), "push", "--quiet", "origin", "main", BRANCH)
      }
    }
    const pullsOf = (owner: string) =>
      Object.fromEntries(REPOS.map((name) => [
        name,
        fake.items(owner, name).filter((i) => i.pull !== undefined).map((i) => ({
          body: i.body,
          deps: i.deps.map((d) => `${d.repo}#${d.number}`)
        }))
      ]))
    const converged = (owner: string) => {
      const pulls = pullsOf(owner)
      for (const name of REPOS) expect(pulls[name], `${owner} ${name}`).toHaveLength(1)
      expect(pulls[FUNGAL]![0]!.deps).toEqual([`${APERTURE}#1`])
      expect(pulls[ML]![0]!.deps).toEqual([`${FUNGAL}#1`])
      expect(pulls[APERTURE]![0]!.body).toContain(`Needed by: ${FUNGAL}#1`)
      expect(pulls[FUNGAL]![0]!.body).toContain(`Needed by: ${ML}#1`)
      expect(pulls[ML]![0]!.body).toContain(`Depends-On: ${fake.url}/${owner}/${FUNGAL}/pulls/1`)
      expect(tracking(s).repos.map((r: any) => [r.pr?.number, r.pr?.url])).toEqual(
        REPOS.map((n) => [1, `${fake.url}/${owner}/${n}/pulls/1`])
      )
    }

    // An uninterrupted run counts the requests: N.
    let n = fake.requests.length
    ok(await blue(ws, FUNGAL, ["realm", "pr", "--title", TITLE]), "pr (uninterrupted)")
    n = fake.requests.length - n
    converged("o0")
    expect(n).toBeGreaterThanOrEqual(9)

    // Every STRIDE-th request from a random first one (BLUE_KILL_STRIDE, default 2 here; 1 kills after each).
    const stride = Math.max(1, Number(process.env["BLUE_KILL_STRIDE"] ?? "2") || 2)
    for (let k = 1 + Math.floor(Math.random() * stride); k <= n; k += stride) {
      const owner = `o${k}`
      await round(owner)
      let child: ReturnType<typeof spawn> | undefined
      let seen = 0
      fake.onApplied(() => {
        if (++seen === k) child?.kill("SIGKILL")
      })
      const killed = await blue(ws, FUNGAL, ["realm", "pr", "--title", TITLE], {}, (c) => (child = c))
      fake.onApplied(undefined)
      expect(killed.signal, `k=${k}: ${killed.stdout}${killed.stderr}`).toBe("SIGKILL")
      ok(await blue(ws, FUNGAL, ["realm", "pr", "--title", TITLE]), `pr resumed after kill at request ${k}`)
      converged(owner)
    }
    ok(await blue(ws, FUNGAL, ["realm", "replay", "--verify"]), "replay --verify")
  }, 600_000)
})

describe("blue realm pr on GitHub and on plain git", () => {
  it("GitHub: the same order, Depends-On lines, blocked_by dependencies and edited bodies", async () => {
    const fake = await startGitHubFake()
    fakes.push(fake)
    for (const name of REPOS) await fake.createRepo("blue", name)
    const u = new URL(fake.apiUrl)
    const s = await setup(
      "github",
      async (name) => `http://blue:tok-blue@${u.host}/blue/${name}.git`,
      { BLUE_GITHUB_API_URL: fake.apiUrl, BLUE_REALM_TOKEN: "tok-blue" }
    )
    const run = ok(await blue(s.ws, ML, ["realm", "pr", "--title", TITLE, "--draft", "--json"]), "pr").json()
    expect(run.merge_order).toEqual([`${APERTURE}#1`, `${FUNGAL}#1`, `${ML}#1`])
    expect(run.pulls.map((p: any) => [p.repo, p.forge, p.action])).toEqual(REPOS.map((n) => [n, "github", "opened"]))
    const item = (repo: string) => fake.items("blue", repo).find((i) => i.pull !== undefined)!
    const url = (repo: string) => `${fake.origin}/blue/${repo}/pull/1`
    expect(item(FUNGAL).body).toContain(`Depends-On: ${url(APERTURE)}`)
    expect(item(ML).body).toContain(`Depends-On: ${url(FUNGAL)}`)
    expect(item(APERTURE).body).toContain(`Needed by: ${FUNGAL}#1`)
    expect(item(FUNGAL).blockedBy).toEqual([item(APERTURE).id])
    expect(item(ML).blockedBy).toEqual([item(FUNGAL).id])
    expect(item(APERTURE).pull!.draft).toBe(true)
    const again = ok(await blue(s.ws, ML, ["realm", "pr", "--title", TITLE, "--json"]), "again").json()
    expect(again.pulls.map((p: any) => p.action)).toEqual(["found", "found", "found"])
    expect(fake.items("blue", FUNGAL).filter((i) => i.pull !== undefined)).toHaveLength(1)
  })

  it("plain git remotes: local PRs recorded in the realm, numbered, in merge order, listed by status", async () => {
    const server = await startGitServer()
    servers.push(server)
    const s = await setup("local", async (name) => {
      await server.createBareRepo(name)
      return server.url(name)
    }, {})
    const run = ok(await blue(s.ws, APERTURE, ["realm", "pr", "--title", TITLE]), "pr")
    expect(run.stdout).toContain(`✓ ${APERTURE} local PR #1 (merge first - exports)`)
    expect(run.stdout).toContain(`✓ ${ML} local PR #1 (merge third - imports) Blocked by: ${FUNGAL}#1`)
    expect(tracking(s).repos.map((r: any) => r.pr)).toEqual([
      { number: 1, state: "open", forge: "local", base: "main" },
      { number: 1, state: "open", forge: "local", base: "main", blocked_by: [APERTURE] },
      { number: 1, state: "open", forge: "local", base: "main", blocked_by: [FUNGAL] }
    ])
    const again = ok(await blue(s.ws, FUNGAL, ["realm", "pr", "--title", TITLE, "--json"]), "again").json()
    expect(again.pulls.map((p: any) => [p.number, p.action, p.url])).toEqual([
      [1, "found", null],
      [1, "found", null],
      [1, "found", null]
    ])
    expect(again.commit).toBeNull()
    const text = ok(await blue(s.ws, ML, ["realm", "status"]), "status").stdout
    expect(text).toContain(`${ML}: 1 commit`)
    expect(text).toContain(`local PR #1 open (blocked by ${FUNGAL}#1)`)
    expect(text).toContain(`next to merge: ${APERTURE}#1`)
    const log = ok(await blue(s.ws, ML, ["realm", "log", "--json"]), "log").json()
    expect(log.events.map((e: any) => e.type).filter((t: string) => t === "WorktreePullsRecorded")).toHaveLength(1)
  })
})
