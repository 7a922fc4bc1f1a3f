/**
 * Coordinated changes end to end (issue 14): the seed's three repos (aperture → fungal-image-analysis → ml-infra, two
 * domains), each with a bare remote on the loopback git server; `blue realm worktree`, edits in two repos,
 * `blue realm commit`, `blue realm push`, checked against `git worktree list`, the branches on the remotes and the
 * realm's tracking file; idempotent re-runs; kill -9 between steps (a `git` on PATH that SIGKILLs blue right after
 * a chosen git command) resumed by the same command; and the refusals, one sentence each. The CLI is always started
 * asynchronously: the server shares this process's event loop.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type GitServer, startGitServer } from "./support/gitServer.js"
import { APERTURE, FUNGAL, ML, readYaml, type Seeded, seedStory } from "./support/seed.js"
import { BLUE_BIN, freePort, git, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const BRANCH = "feat/training-metrics-v2"
const SLUG = "feat-training-metrics-v2"
const RFC = "training-metrics-v2"

const workspaces: Array<Workspace> = []
const servers: Array<GitServer> = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

/** Runs blue asynchronously in `cwd` (relative to the workspace) with extra environment variables. */
const blue = (ws: Workspace, cwd: string, args: ReadonlyArray<string>, extra: NodeJS.ProcessEnv = {}) =>
  new Promise<Run & { signal: NodeJS.Signals | null }>((resolve) => {
    const child = spawn(process.execPath, [BLUE_BIN, ...args], {
      cwd: path.resolve(ws.root, cwd),
      env: { ...ws.env, ...extra }
    })
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

/** One sentence on stderr and exit 1. */
const refused = (r: Run) => {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1)
  const text = r.stderr.trim()
  expect(text.split("\n")).toHaveLength(1)
  expect(text).toMatch(/^Error: .+\.$/)
  return text
}

/** The seed with a bare remote per code repo on the loopback git server (the repos' `origin`). */
const setup = async (): Promise<Seeded & { server: GitServer }> => {
  const ws = makeWorkspace("blue-worktrees")
  workspaces.push(ws)
  const seeded = seedStory(ws)
  const server = await startGitServer()
  servers.push(server)
  for (const [name, dir] of [[APERTURE, seeded.aperture], [FUNGAL, seeded.fungal], [ML, seeded.ml]] as const) {
    await server.createBareRepo(name)
    git(dir, "remote", "add", "origin", server.url(name))
  }
  return { ...seeded, server }
}

/** git over the network from the test itself: asynchronous, since the git server shares this event loop. */
const gitAsync = (dir: string, ...args: Array<string>) =>
  new Promise<string>((resolve, reject) =>
    execFile(
      "git",
      args,
      { cwd: dir },
      (e, stdout, stderr) => (e === null ? resolve(stdout) : reject(new Error(stderr)))
    )
  )

const worktreeOf = (repo: string) => path.join(repo, ".worktrees", SLUG)

/** `git worktree list --porcelain` of a repo: path → branch. */
const worktreeList = (repo: string): Map<string, string | undefined> => {
  const out = new Map<string, string | undefined>()
  for (const block of git(repo, "worktree", "list", "--porcelain").split(/\n\n+/)) {
    const p = /^worktree (.+)$/m.exec(block)?.[1]
    if (p !== undefined) out.set(p, /^branch refs\/heads\/(.+)$/m.exec(block)?.[1])
  }
  return out
}

const tracking = (s: Seeded) => readYaml(path.join(s.realm, "worktrees", `${SLUG}.yaml`))

const eventTypes = async (s: Seeded) =>
  (ok(await blue(s.ws, FUNGAL, ["realm", "log", "--json"]), "log").json().events as Array<{ type: string }>)
    .map((e) => e.type)
    .filter((t) => t.startsWith("Worktree"))

/** A `git` for PATH that runs the real one, then SIGKILLs its parent (blue) after the `at`-th call matching `after`. */
const killingGit = (ws: Workspace, after: string, at: number): NodeJS.ProcessEnv => {
  const dir = ws.path("killing-git")
  fs.mkdirSync(dir, { recursive: true })
  const real = spawnGit()
  const counter = path.join(dir, "count")
  fs.writeFileSync(
    path.join(dir, "git"),
    `#!/bin/sh
"${real}" "$@"
status=$?
case " $* " in
  *" ${after} "*)
    n=$(cat "${counter}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${counter}"
    if [ "$n" -eq ${at} ]; then kill -9 $PPID; fi;;
esac
exit $status
`,
    { mode: 0o755 }
  )
  return { PATH: `${dir}:${process.env["PATH"]}` }
}

const spawnGit = (): string => {
  for (const dir of (process.env["PATH"] ?? "").split(":")) {
    const candidate = path.join(dir, "git")
    if (dir !== "" && fs.existsSync(candidate)) return candidate
  }
  throw new Error("no git on PATH")
}

describe("blue realm worktree / commit / push", () => {
  it("sets up one branch and a linked worktree in every repo, links the commits, pushes; re-runs change nothing", async () => {
    const s = await setup()
    const { ws } = s
    // fungal takes part in both domains: the change spans all three repos.
    const made = ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--json"]), "worktree").json()
    expect(made.name).toBe(BRANCH)
    expect(made.repos.map((r: any) => [r.name, r.action])).toEqual([
      [APERTURE, "created"],
      [FUNGAL, "created"],
      [ML, "created"]
    ])
    for (const repo of [s.aperture, s.fungal, s.ml]) {
      expect(worktreeList(repo).get(worktreeOf(repo))).toBe(BRANCH)
      // the worktrees do not show up as untracked files of the repo itself
      expect(git(repo, "status", "--porcelain", "--untracked-files=all")).not.toContain(".worktrees")
    }
    const file = tracking(s)
    expect(file).toMatchObject({
      name: BRANCH,
      source_rfc: `${FUNGAL}:${RFC}`,
      domain: "s3-access",
      domains: ["s3-access", "training-pipeline"],
      repos: [
        { name: APERTURE, path: worktreeOf(s.aperture), status: "active", commits: 0 },
        { name: FUNGAL, path: worktreeOf(s.fungal), status: "active", commits: 0 },
        { name: ML, path: worktreeOf(s.ml), status: "active", commits: 0 }
      ],
      coordination: { commits: [] }
    })
    expect(Date.parse(file.created_at)).not.toBeNaN()

    // Idempotent: the same command again finds everything there and records nothing.
    const again = ok(
      await blue(ws, APERTURE, ["realm", "worktree", "--rfc", RFC, "--repos", `${APERTURE},${FUNGAL},${ML}`, "--json"]),
      "again"
    ).json()
    expect(again.repos.map((r: any) => r.action)).toEqual(["existing", "existing", "existing"])
    expect(again.commit).toBeNull()
    expect(await eventTypes(s)).toEqual(["WorktreeCreated"])

    // Edits in two repos, one coordinated commit.
    fs.writeFileSync(
      path.join(worktreeOf(s.aperture), "metrics_exporter.py"),
      "EXPERIMENTS = 's3://b/training-metrics/experiments/*'\n"
    )
    fs.writeFileSync(path.join(worktreeOf(s.fungal), "stack.py"), "READ = ['training-metrics/experiments/*']\n")
    const message = "feat: add experiment metrics with IAM support"
    const committed = ok(await blue(ws, APERTURE, ["realm", "commit", "-m", message, "--json"]), "commit").json()
    const ids = Object.fromEntries(committed.repos.map((r: any) => [r.name, r.commit]))
    expect(ids[ML]).toBeNull()
    expect(ids[APERTURE]).toBe(git(s.aperture, "rev-parse", `refs/heads/${BRANCH}`).trim())
    expect(ids[FUNGAL]).toBe(git(s.fungal, "rev-parse", `refs/heads/${BRANCH}`).trim())
    expect(git(s.aperture, "log", "-1", "--format=%s", BRANCH).trim()).toBe(message)
    expect(tracking(s).coordination.commits).toEqual([
      { [APERTURE]: ids[APERTURE], [FUNGAL]: ids[FUNGAL], [ML]: null, message, linked: true }
    ])
    expect(tracking(s).repos.map((r: any) => r.commits)).toEqual([1, 1, 0])
    const nothing = ok(await blue(ws, APERTURE, ["realm", "commit", "-m", message]), "commit again")
    expect(nothing.stdout).toContain("Nothing to commit")

    // Push every branch; the remotes get it; a second push sends nothing.
    const pushed = ok(await blue(ws, FUNGAL, ["realm", "push", "--json"]), "push").json()
    expect(pushed.repos.map((r: any) => [r.name, r.result])).toEqual([
      [APERTURE, "pushed"],
      [FUNGAL, "pushed"],
      [ML, "pushed"]
    ])
    for (const [name, dir] of [[APERTURE, s.aperture], [FUNGAL, s.fungal], [ML, s.ml]] as const) {
      expect((await s.server.refs(name)).get(`refs/heads/${BRANCH}`)).toBe(
        git(dir, "rev-parse", `refs/heads/${BRANCH}`).trim()
      )
    }
    expect(tracking(s).repos.map((r: any) => r.status)).toEqual(["pushed", "pushed", "pushed"])
    const repush = ok(await blue(ws, FUNGAL, ["realm", "push", "--json"]), "push again").json()
    expect(repush.repos.map((r: any) => r.result)).toEqual(["up-to-date", "up-to-date", "up-to-date"])
    expect(repush.commit).toBeNull()
    expect(await eventTypes(s)).toEqual(["WorktreeCreated", "WorktreeCommitted", "WorktreePushed"])

    // status shows the change; replay agrees with the realm files.
    const status = ok(await blue(ws, APERTURE, ["realm", "status", "--json"]), "status").json()
    expect(status.coordinated_changes).toEqual([expect.objectContaining({
      name: BRANCH,
      commits: 1,
      repos: [
        expect.objectContaining({ name: APERTURE, commits: 1, head: ids[APERTURE], pushed: true }),
        expect.objectContaining({ name: FUNGAL, commits: 1, head: ids[FUNGAL], pushed: true }),
        expect.objectContaining({ name: ML, commits: 0, head: null, pushed: true })
      ]
    })])
    const text = ok(await blue(ws, ML, ["realm", "status"]), "status text").stdout
    expect(text).toContain(`🔀 Coordinated change ${BRANCH}`)
    expect(text).toContain(`${APERTURE}: 1 commit (${ids[APERTURE].slice(0, 7)}), pushed`)
    ok(await blue(ws, FUNGAL, ["realm", "replay", "--verify"]), "replay --verify")
    ok(await blue(ws, "realm-letemcook", ["realm", "check", "--mode", "contract"]), "check --mode contract")
    // every commit's files are explained by its events, made by a member
    ok(await blue(ws, "realm-letemcook", ["realm", "check", "--mode", "realm"]), "check --mode realm")
  })

  it("--remove refuses while a worktree holds uncommitted work, naming the repo and files; then tears down", async () => {
    const s = await setup()
    const { ws } = s
    ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC]), "worktree")
    fs.writeFileSync(path.join(worktreeOf(s.ml), "wip.py"), "x = 1\n")
    const text = refused(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--remove"]))
    expect(text).toContain(`${ML} has uncommitted work`)
    expect(text).toContain("wip.py")
    for (const repo of [s.aperture, s.fungal, s.ml]) expect(worktreeList(repo).get(worktreeOf(repo))).toBe(BRANCH)
    expect(fs.existsSync(path.join(s.realm, "worktrees", `${SLUG}.yaml`))).toBe(true)

    fs.rmSync(path.join(worktreeOf(s.ml), "wip.py"))
    ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--remove"]), "remove")
    for (const repo of [s.aperture, s.fungal, s.ml]) {
      expect(worktreeList(repo).has(worktreeOf(repo))).toBe(false)
      expect(fs.existsSync(worktreeOf(repo))).toBe(false)
      // the branch stays
      expect(git(repo, "branch", "--list", BRANCH).trim()).toContain(BRANCH)
    }
    expect(fs.existsSync(path.join(s.realm, "worktrees", `${SLUG}.yaml`))).toBe(false)
    expect(await eventTypes(s)).toEqual(["WorktreeCreated", "WorktreeRemoved"])
    // Re-created later, it attaches to the branches that stayed.
    const back = ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--json"]), "again").json()
    expect(back.repos.map((r: any) => r.action)).toEqual(["attached", "attached", "attached"])
    // A worktree directory deleted by hand (git still lists it until pruned) is set up again.
    fs.rmSync(worktreeOf(s.aperture), { recursive: true, force: true })
    const healed = ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--json"]), "heal").json()
    expect(healed.repos.map((r: any) => r.action)).toEqual(["attached", "existing", "existing"])
    expect(worktreeList(s.aperture).get(worktreeOf(s.aperture))).toBe(BRANCH)
  })

  it("a kill -9 between steps is resumed by the same command without duplicating branches or commits", async () => {
    const s = await setup()
    const { ws } = s
    // worktree: killed right after the second `git worktree add`.
    const killed = await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC], killingGit(ws, "worktree add", 2))
    expect(killed.signal).toBe("SIGKILL")
    expect(worktreeList(s.ml).has(worktreeOf(s.ml))).toBe(false)
    expect(fs.existsSync(path.join(s.realm, "worktrees", `${SLUG}.yaml`))).toBe(false)
    // (--remove at this point would find the two unrecorded worktrees; see the next test.)
    const resumed = ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--json"]), "resume worktree").json()
    expect(resumed.repos.map((r: any) => r.action)).toEqual(["existing", "existing", "created"])
    for (const repo of [s.aperture, s.fungal, s.ml]) {
      expect(worktreeList(repo).get(worktreeOf(repo))).toBe(BRANCH)
      expect(git(repo, "branch", "--list", "feat/*").trim().split("\n")).toHaveLength(1)
    }
    expect(await eventTypes(s)).toEqual(["WorktreeCreated"])

    // commit: killed right after the first repo's `git commit`.
    fs.writeFileSync(path.join(worktreeOf(s.aperture), "a.py"), "a = 1\n")
    fs.writeFileSync(path.join(worktreeOf(s.fungal), "f.py"), "f = 1\n")
    const message = "feat: coordinated"
    fs.rmSync(ws.path("killing-git"), { recursive: true, force: true })
    const cut = await blue(ws, APERTURE, ["realm", "commit", "-m", message], killingGit(ws, "commit", 1))
    expect(cut.signal, `${cut.stdout}\n${cut.stderr}`).toBe("SIGKILL")
    const first = git(s.aperture, "rev-parse", `refs/heads/${BRANCH}`).trim()
    expect(git(s.fungal, "status", "--porcelain", "--untracked-files=all")).not.toContain(".worktrees")
    expect(git(worktreeOf(s.fungal), "status", "--porcelain").trim()).toBe("?? f.py")
    const done = ok(await blue(ws, APERTURE, ["realm", "commit", "-m", message, "--json"]), "resume commit").json()
    const ids = Object.fromEntries(done.repos.map((r: any) => [r.name, r.commit]))
    expect(ids[APERTURE]).toBe(first)
    for (const repo of [s.aperture, s.fungal]) {
      expect(git(repo, "rev-list", "--count", `main..${BRANCH}`).trim()).toBe("1")
    }
    expect(tracking(s).coordination.commits).toEqual([
      { [APERTURE]: first, [FUNGAL]: ids[FUNGAL], [ML]: null, message, linked: true }
    ])

    // push: killed right after the first `git push`.
    fs.rmSync(ws.path("killing-git"), { recursive: true, force: true })
    const stopped = await blue(ws, FUNGAL, ["realm", "push"], killingGit(ws, "push", 1))
    expect(stopped.signal).toBe("SIGKILL")
    expect((await s.server.refs(APERTURE)).get(`refs/heads/${BRANCH}`)).toBe(first)
    expect((await s.server.refs(FUNGAL)).has(`refs/heads/${BRANCH}`)).toBe(false)
    const finished = ok(await blue(ws, FUNGAL, ["realm", "push", "--json"]), "resume push").json()
    expect(finished.repos.map((r: any) => r.result)).toEqual(["up-to-date", "pushed", "pushed"])
    expect((await s.server.refs(FUNGAL)).get(`refs/heads/${BRANCH}`)).toBe(ids[FUNGAL])
    expect(await eventTypes(s)).toEqual(["WorktreeCreated", "WorktreeCommitted", "WorktreePushed"])
    ok(await blue(ws, FUNGAL, ["realm", "replay", "--verify"]), "replay --verify")
  })

  it("--remove after a run killed before it recorded anything removes the worktrees it made", async () => {
    const s = await setup()
    const { ws } = s
    const killed = await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC], killingGit(ws, "worktree add", 2))
    expect(killed.signal).toBe("SIGKILL")
    fs.rmSync(ws.path("killing-git"), { recursive: true, force: true })
    const removed = ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--remove", "--json"]), "remove")
      .json()
    expect(removed.repos.map((r: any) => [r.name, r.action])).toEqual([[APERTURE, "removed"], [FUNGAL, "removed"]])
    expect(removed.commit).toBeNull()
    for (const repo of [s.aperture, s.fungal, s.ml]) expect(worktreeList(repo).has(worktreeOf(repo))).toBe(false)
    expect(await eventTypes(s)).toEqual([])
    const none = refused(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--remove"]))
    expect(none).toContain(`No coordinated change '${BRANCH}' in the realm`)
  })

  it("refuses in one sentence: no git on PATH, a branch with other content, a missing remote, dirty work to push, not a git repo", async () => {
    const s = await setup()
    const { ws } = s
    const noGit = refused(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC], { PATH: "/nonexistent" }))
    expect(noGit).toContain("need the git executable and none was found on PATH")

    // ml-infra already has the branch, at other content: nothing is created anywhere.
    git(s.ml, "checkout", "-q", "-b", BRANCH)
    fs.writeFileSync(path.join(s.ml, "other.txt"), "other\n")
    git(s.ml, "add", "other.txt")
    git(s.ml, "commit", "-q", "-m", "other work")
    git(s.ml, "checkout", "-q", "main")
    const taken = refused(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC]))
    expect(taken).toContain(`${ML}: a branch ${BRANCH} already exists`)
    expect(fs.existsSync(worktreeOf(s.aperture))).toBe(false)
    expect(git(s.aperture, "branch", "--list", BRANCH)).toBe("")

    // Without ml-infra, it goes ahead; a repo without a remote cannot be pushed.
    ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC, "--repos", `${APERTURE},${FUNGAL}`]), "worktree")
    git(s.aperture, "remote", "remove", "origin")
    expect(refused(await blue(ws, FUNGAL, ["realm", "push"]))).toContain(
      `${APERTURE} has no remote to push ${BRANCH} to`
    )
    git(s.aperture, "remote", "add", "origin", s.server.url(APERTURE))
    fs.writeFileSync(path.join(worktreeOf(s.fungal), "wip.py"), "x = 1\n")
    const dirty = refused(await blue(ws, FUNGAL, ["realm", "push"]))
    expect(dirty).toContain(`${FUNGAL} has uncommitted work`)
    expect((await s.server.refs(APERTURE)).has(`refs/heads/${BRANCH}`)).toBe(false)

    // A member whose directory is not a git repo.
    fs.rmSync(path.join(s.ml, ".git"), { recursive: true, force: true })
    const notGit = refused(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", "other-change"]))
    expect(notGit).toContain(`${ML} at ${s.ml} is not a git repository`)
  })

  it("a push the remote refuses is reported for its repo (exit 1) while the others land; the next push resumes", async () => {
    const s = await setup()
    const { ws } = s
    ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC]), "worktree")
    // Someone else put other work on ml-infra's remote branch: a push of ours is not a fast-forward.
    const tree = git(s.ml, "rev-parse", "HEAD^{tree}").trim()
    const other = git(s.ml, "commit-tree", tree, "-p", "HEAD", "-m", "someone else's work").trim()
    await gitAsync(s.ml, "push", "-q", "origin", `${other}:refs/heads/${BRANCH}`)
    fs.writeFileSync(path.join(worktreeOf(s.ml), "m.py"), "m = 1\n")
    ok(await blue(ws, FUNGAL, ["realm", "commit", "-m", "feat: m"]), "commit")
    const r = await blue(ws, FUNGAL, ["realm", "push", "--json"])
    expect(r.code).toBe(1)
    const doc = r.json()
    expect(doc.repos.map((x: any) => [x.name, x.result])).toEqual([
      [APERTURE, "pushed"],
      [FUNGAL, "pushed"],
      [ML, "failed"]
    ])
    expect(doc.repos[2].error).toContain("rejected")
    expect((await s.server.refs(ML)).get(`refs/heads/${BRANCH}`)).toBe(other)
    expect(tracking(s).repos.map((x: any) => x.status)).toEqual(["pushed", "pushed", "active"])
    const human = await blue(ws, FUNGAL, ["realm", "status"])
    expect(human.stdout).toContain(`${ML}: 1 commit`)
    expect(human.stdout).toContain("not pushed")
    // Once the branch is reconciled (here: the other work dropped from the remote), the same push finishes.
    await gitAsync(s.ml, "push", "-q", "origin", `:refs/heads/${BRANCH}`)
    const again = ok(await blue(ws, FUNGAL, ["realm", "push", "--json"]), "push again").json()
    expect(again.repos.map((x: any) => x.result)).toEqual(["up-to-date", "up-to-date", "pushed"])
  })

  it("a repo not on this machine is listed as to be set up there", async () => {
    const s = await setup()
    const { ws } = s
    fs.renameSync(s.ml, ws.path("ml-infra-moved"))
    const made = ok(await blue(ws, FUNGAL, ["realm", "worktree", "--rfc", RFC]), "worktree")
    expect(made.stdout).toContain(`⧗ ${ML}: to be set up there`)
    expect(tracking(s).repos[2]).toEqual({ name: ML, status: "elsewhere", commits: 0 })
    const status = ok(await blue(ws, FUNGAL, ["realm", "status"]), "status").stdout
    expect(status).toContain(`${ML}: to be set up there`)
  })

  it.each([["in the MCP server's process", false], ["handed to the daemon (one writer)", true]])(
    "the MCP tools blue_realm_worktree, blue_realm_commit, blue_realm_push and blue_realm_pr, %s",
    async (_label, daemon) => {
      const s = await setup()
      const { ws } = s
      const env: NodeJS.ProcessEnv = { ...ws.env, BLUE_DEBUG_PATH: "1" }
      if (daemon) {
        fs.mkdirSync(ws.path("xdg"), { mode: 0o700 })
        Object.assign(env, {
          BLUE_DAEMON_PORT: String(await freePort()),
          XDG_RUNTIME_DIR: ws.path("xdg"),
          BLUE_DAEMON: "auto"
        })
        ok(await blue(ws, ".", ["daemon", "start"], env), "daemon start")
      }
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [BLUE_BIN, "mcp"],
        cwd: s.fungal,
        env: env as Record<string, string>,
        stderr: "pipe"
      })
      let stderr = ""
      transport.stderr?.on("data", (d) => (stderr += d))
      const client = new Client({ name: "blue-worktrees-e2e", version: "1.0.0" })
      await client.connect(transport)
      try {
        const call = async (name: string, args: Record<string, unknown>) => {
          const r = await client.callTool({ name, arguments: args }) as CallToolResult
          if (r.isError === true) throw new Error(`${name}: ${JSON.stringify(r.structuredContent)}`)
          return r.structuredContent as any
        }
        const made = await call("blue_realm_worktree", { rfc: RFC, repos: [APERTURE, FUNGAL] })
        expect(made.repos.map((r: any) => [r.name, r.action])).toEqual([[APERTURE, "created"], [FUNGAL, "created"]])
        fs.writeFileSync(path.join(worktreeOf(s.aperture), "a.py"), "a = 1\n")
        fs.writeFileSync(path.join(worktreeOf(s.fungal), "f.py"), "f = 1\n")
        const committed = await call("blue_realm_commit", { message: "feat: via mcp" })
        expect(committed.repos.every((r: any) => typeof r.commit === "string")).toBe(true)
        const pushed = await call("blue_realm_push", {})
        expect(pushed.repos.map((r: any) => r.result)).toEqual(["pushed", "pushed"])
        expect((await s.server.refs(FUNGAL)).get(`refs/heads/${BRANCH}`)).toBe(
          committed.repos.find((r: any) => r.name === FUNGAL).commit
        )
        // Plain git remotes: local PRs, in merge order.
        const prs = await call("blue_realm_pr", { title: "feat: via mcp" })
        expect(prs.pulls.map((p: any) => [p.repo, p.forge, p.number])).toEqual([
          [APERTURE, "local", 1],
          [FUNGAL, "local", 1]
        ])
        expect(prs.merge_order).toEqual([`${APERTURE}#1`, `${FUNGAL}#1`])
        // A refusal is a tool result with the tagged error.
        fs.writeFileSync(path.join(worktreeOf(s.fungal), "wip.py"), "x = 1\n")
        const refusedCall = await client.callTool({
          name: "blue_realm_worktree",
          arguments: { rfc: RFC, remove: true }
        }) as CallToolResult
        expect(refusedCall.isError).toBe(true)
        expect((refusedCall.structuredContent as any).error._tag).toBe("WorktreeDirty")
        expect(stderr).toContain(daemon ? "path=daemon" : "path=in-process")
      } finally {
        await client.close()
        if (daemon) await blue(ws, ".", ["daemon", "stop"], env)
      }
    }
  )
})
