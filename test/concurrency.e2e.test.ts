/**
 * Several `blue` processes (and several machines, i.e. BLUE_HOMEs) appending to one local realm at once: every
 * command lands exactly once, the history stays linear, git and every daemon.db agree, and readers never fail.
 */
import Database from "better-sqlite3"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { BLUE_BIN, git, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const workspaces: Array<Workspace> = []
const workspace = (label: string) => {
  const ws = makeWorkspace(label)
  workspaces.push(ws)
  return ws
}
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const toRun = (code: number | null, stdout: string, stderr: string): Run => ({
  code,
  stdout,
  stderr,
  json: () => {
    try {
      return JSON.parse(stdout)
    } catch {
      throw new Error(`stdout is not one JSON document (exit ${code}):\n${stdout}\nstderr:\n${stderr}`)
    }
  }
})

/** Runs the bundled binary with another environment (another "machine"), asynchronously. */
const spawnWith = (env: NodeJS.ProcessEnv, cwd: string, ...args: Array<string>): Promise<Run> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [BLUE_BIN, ...args], { cwd, env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => resolve(toRun(code, stdout, stderr)))
  })

/** Runs the bundled binary with another environment, synchronously. */
const blueWith = (env: NodeJS.ProcessEnv, cwd: string, ...args: Array<string>): Run => {
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], { cwd, env, encoding: "utf8" })
  return toRun(r.status, r.stdout, r.stderr)
}

const describeRun = (label: string, r: Run) => `${label}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`

/** Fails with every failed run's output, not just the first. */
const expectAllOk = (runs: ReadonlyArray<readonly [string, Run]>) => {
  const failed = runs.filter(([, r]) => r.code !== 0).map(([label, r]) => describeRun(label, r))
  expect(failed).toEqual([])
}

interface LoggedEvent {
  readonly id: string
  readonly position: number
  readonly type: string
  readonly commit: string
  readonly causation_id?: string
  readonly event: any
}

/** Checks the log's shape: positions 1..N, unique ids, every commit on the realm branch. */
const expectWellFormedLog = (realmDir: string, log: ReadonlyArray<LoggedEvent>) => {
  expect(log.map((e) => e.position)).toEqual(log.map((_, i) => i + 1))
  expect(new Set(log.map((e) => e.id)).size).toBe(log.length)
  const onBranch = new Set(git(realmDir, "rev-list", "main").trim().split("\n"))
  const commits = new Set(log.map((e) => e.commit))
  for (const c of commits) expect(onBranch.has(c), `commit ${c} of the log is on main`).toBe(true)
  // Every realm commit carries events, so the log names every commit of the branch.
  expect(commits.size).toBe(onBranch.size)
  // All events of one command sit in one commit, at consecutive positions.
  const byCommand = new Map<string, Array<LoggedEvent>>()
  for (const e of log) {
    const key = e.causation_id ?? e.id
    byCommand.set(key, [...(byCommand.get(key) ?? []), e])
  }
  for (const [command, events] of byCommand) {
    expect(new Set(events.map((e) => e.commit)).size, `command ${command} spans one commit`).toBe(1)
    const first = events[0]!.position
    expect(events.map((e) => e.position), `command ${command} is contiguous`).toEqual(events.map((_, i) => first + i))
  }
}

/** Checks the realm repo itself: linear history of the expected length, fsck-clean, working tree = HEAD. */
const expectHealthyRealm = (realmDir: string, commits: number) => {
  expect(Number(git(realmDir, "rev-list", "--count", "main").trim())).toBe(commits)
  expect(git(realmDir, "rev-list", "--merges", "main").trim()).toBe("")
  const fsck = spawnSync("git", ["fsck", "--strict", "--no-progress"], { cwd: realmDir, encoding: "utf8" })
  expect(fsck.status, `git fsck --strict:\n${fsck.stdout}${fsck.stderr}`).toBe(0)
  expect(fsck.stderr).not.toMatch(/error|corrupt|missing|broken/i)
  expect(git(realmDir, "status", "--porcelain", "--untracked-files=all")).toBe("")
  expect(fs.existsSync(path.join(realmDir, ".git", "blue-materialize.json"))).toBe(false)
}

const countBy = (log: ReadonlyArray<LoggedEvent>, type: string, name: (e: LoggedEvent) => string) => {
  const out = new Map<string, number>()
  for (const e of log.filter((x) => x.type === type)) out.set(name(e), (out.get(name(e)) ?? 0) + 1)
  return Object.fromEntries([...out].sort(([a], [b]) => a.localeCompare(b)))
}
const joinedRepos = (log: ReadonlyArray<LoggedEvent>) => countBy(log, "RepoJoined", (e) => e.event.repo.name)
const createdDomains = (log: ReadonlyArray<LoggedEvent>) => countBy(log, "DomainCreated", (e) => e.event.domain.name)
const once = (names: ReadonlyArray<string>) => Object.fromEntries([...names].sort().map((n) => [n, 1]))

/** daemon.db's events as (position, id, commit), read directly. */
const dbEvents = (home: string) => {
  const db = new Database(path.join(home, "daemon.db"), { readonly: true })
  try {
    return db.prepare("SELECT position, id, commit_id AS 'commit', type FROM events ORDER BY position").all()
  } finally {
    db.close()
  }
}

const initRealm = (ws: Workspace, name: string) => {
  const r = ws.blue(".", "realm", "admin", "init", "--name", name, "--path", ws.root, "--json")
  expect(r.code, describeRun("init", r)).toBe(0)
  return ws.path(`realm-${name}`)
}

// provider → consumers; every edge goes from a lower to a higher repo number, so no set of them forms a cycle
const DOMAINS: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["s3-access", ["r1", "r2"]],
  ["billing", ["r1", "r3"]],
  ["metrics", ["r2", "r4", "r5"]],
  ["auth", ["r3", "r6"]],
  ["search", ["r4", "r7"]],
  ["alerts", ["r5", "r8"]]
]

describe("concurrent writers on one realm", () => {
  it("8 concurrent joins then 6 concurrent domain creates all land exactly once, linearly", async () => {
    const ws = workspace("blue-conc")
    const realmDir = initRealm(ws, "conc")
    const repos = Array.from({ length: 8 }, (_, i) => `r${i + 1}`)
    for (const r of repos) ws.repo(r)

    const started = Date.now()
    const joins = await Promise.all(
      repos.map(async (r) => [r, await ws.spawnBlue(r, "realm", "admin", "join", realmDir, "--json").done] as const)
    )
    expectAllOk(joins)
    for (const [r, run] of joins) expect(run.json().repo).toBe(r)
    const joinMs = Date.now() - started

    const create = (d: string, members: ReadonlyArray<string>) =>
      ws.spawnBlue(members[0]!, "realm", "admin", "domain", "create", d, "--repos", members.join(","), "--json").done
    const creates = await Promise.all(DOMAINS.map(async ([d, members]) => [d, await create(d, members)] as const))
    expectAllOk(creates)
    const totalMs = Date.now() - started
    console.log(`8 concurrent joins: ${joinMs} ms; + 6 concurrent domain creates: ${totalMs} ms`)

    // Each commit must be a distinct one, each on top of the previous.
    const commits = [...joins, ...creates].map(([, r]) => r.json().commit as string)
    expect(new Set(commits).size).toBe(commits.length)

    const log: Array<LoggedEvent> = ws.blue(realmDir, "realm", "log", "--json").json().events
    expectWellFormedLog(realmDir, log)
    expect(joinedRepos(log)).toEqual(once(repos))
    expect(createdDomains(log)).toEqual(once(DOMAINS.map(([d]) => d)))
    expect(log.filter((e) => e.type === "RealmInitialized")).toHaveLength(1)
    // per domain: DomainCreated + ContractPublished + one BindingDeclared per member
    const expectedEvents = 1 + repos.length + DOMAINS.reduce((n, [, members]) => n + 2 + members.length, 0)
    expect(log).toHaveLength(expectedEvents)
    for (const c of commits) expect(log.some((e) => e.commit === c), `commit ${c} is in the log`).toBe(true)

    expectHealthyRealm(realmDir, 1 + repos.length + DOMAINS.length)
    for (const r of repos) expect(fs.existsSync(path.join(realmDir, "repos", `${r}.yaml`))).toBe(true)
    for (const [d] of DOMAINS) expect(fs.existsSync(path.join(realmDir, "domains", d, "domain.yaml"))).toBe(true)

    const verify = ws.blue(realmDir, "realm", "replay", "--verify", "--json")
    expect(verify.code, describeRun("verify", verify)).toBe(0)
    expect(verify.json()).toMatchObject({ ok: true, events: expectedEvents, differences: [] })
  }, 120_000)

  it("two machines (BLUE_HOMEs) appending to one local realm at once end with the same full log", async () => {
    const ws = workspace("blue-machines")
    const realmDir = initRealm(ws, "shared")
    const envA = ws.env
    // machine B starts with a fresh BLUE_HOME: its first commands race to create its daemon.db
    const homeB = ws.path(".blue-home-b")
    const envB: NodeJS.ProcessEnv = { ...ws.env, BLUE_HOME: homeB, BLUE_USER: "b@example.com" }
    const aRepos = ["a1", "a2", "a3", "a4"]
    const bRepos = ["b1", "b2", "b3", "b4"]
    for (const r of [...aRepos, ...bRepos]) ws.repo(r)

    const join = (env: NodeJS.ProcessEnv, r: string) =>
      spawnWith(env, ws.path(r), "realm", "admin", "join", realmDir, "--json").then((run) => [r, run] as const)
    const joins = await Promise.all([...aRepos.map((r) => join(envA, r)), ...bRepos.map((r) => join(envB, r))])
    expectAllOk(joins)

    // second wave, again from both machines; edges a→b only, so no cycle
    const domains: ReadonlyArray<readonly [NodeJS.ProcessEnv, string, string, string]> = [
      [envA, "da1", "a1", "b1"],
      [envA, "da2", "a2", "b2"],
      [envA, "da3", "a3", "b3"],
      [envB, "db1", "a1", "b2"],
      [envB, "db2", "a4", "b4"],
      [envB, "db3", "a2", "b3"]
    ]
    const creates = await Promise.all(
      domains.map(([env, d, p, c]) =>
        spawnWith(env, ws.path(env === envA ? p : c), "realm", "admin", "domain", "create", d, "--repos", `${p},${c}`)
          .then((run) => [d, run] as const)
      )
    )
    expectAllOk(creates)

    // a status on each machine catches its daemon.db up with git
    for (const [label, env] of [["A", envA], ["B", envB]] as const) {
      const s = blueWith(env, realmDir, "realm", "status", "--json")
      expect(s.code, describeRun(`status on ${label}`, s)).toBe(0)
      expect(s.json().realm.repos).toBe(8)
      expect(s.json().realm.domains).toBe(6)
    }

    const logA: Array<LoggedEvent> = blueWith(envA, realmDir, "realm", "log", "--json").json().events
    const logB: Array<LoggedEvent> = blueWith(envB, realmDir, "realm", "log", "--json").json().events
    expectWellFormedLog(realmDir, logA)
    expect(logB).toEqual(logA)
    expect(joinedRepos(logA)).toEqual(once([...aRepos, ...bRepos]))
    expect(createdDomains(logA)).toEqual(once(domains.map(([, d]) => d)))
    expect(logA).toHaveLength(1 + 8 + 6 * 4)

    // the two daemon.db files hold exactly the same rows, which are exactly git's events
    const rowsA = dbEvents(ws.home)
    const rowsB = dbEvents(homeB)
    expect(rowsB).toEqual(rowsA)
    expect(rowsA).toEqual(logA.map((e) => ({ position: e.position, id: e.id, commit: e.commit, type: e.type })))

    expectHealthyRealm(realmDir, 1 + 8 + 6)
    for (const [label, env] of [["A", envA], ["B", envB]] as const) {
      const v = blueWith(env, realmDir, "realm", "replay", "--verify", "--json")
      expect(v.code, describeRun(`verify on ${label}`, v)).toBe(0)
      expect(v.json()).toMatchObject({ ok: true, events: logA.length, differences: [] })
    }
  }, 120_000)

  it("readers (status, log) running while writers append never see an error or go backwards", async () => {
    const ws = workspace("blue-readers")
    const realmDir = initRealm(ws, "busy")
    ws.repo("r0")
    const first = ws.blue("r0", "realm", "admin", "join", realmDir, "--json")
    expect(first.code, describeRun("join r0", first)).toBe(0)
    const writers = Array.from({ length: 6 }, (_, i) => `w${i + 1}`)
    for (const r of writers) ws.repo(r)

    let writing = true
    const failures: Array<string> = []
    const reader = async (label: string, cwd: string, args: Array<string>, measure: (json: any) => number) => {
      let last = 0
      let runs = 0
      // at least two runs, and keep going until the writers are done
      while (writing || runs < 2) {
        const r = await ws.spawnBlue(cwd, ...args).done
        runs++
        if (r.code !== 0) {
          failures.push(describeRun(`${label} #${runs}`, r))
          continue
        }
        let seen: number
        try {
          seen = measure(r.json())
        } catch (e) {
          failures.push(`${label} #${runs}: ${e instanceof Error ? e.message : String(e)}`)
          continue
        }
        if (seen < last) failures.push(`${label} #${runs}: went back from ${last} to ${seen}`)
        last = seen
      }
      return runs
    }
    const logLength = (log: Array<LoggedEvent>) => {
      const positions = log.map((e) => e.position)
      if (positions.some((p, i) => p !== i + 1)) throw new Error(`log positions not 1..N: ${positions.join(",")}`)
      return log.length
    }
    const readers = [
      reader("status in realm", realmDir, ["realm", "status", "--json"], (j) => j.realm.position),
      reader("status in member", ws.path("r0"), ["status", "--json"], (j) => j.realm.position),
      reader("log", realmDir, ["realm", "log", "--json"], (j) => logLength(j.events))
    ]
    const writes = Promise.all(
      writers.map(async (r) => [r, await ws.spawnBlue(r, "realm", "admin", "join", realmDir, "--json").done] as const)
    ).finally(() => (writing = false))
    const [joins, ...readerRuns] = await Promise.all([writes, ...readers])
    console.log(`reader runs while 6 writers appended: ${readerRuns.join(", ")}`)

    expectAllOk(joins)
    expect(failures).toEqual([])
    const log: Array<LoggedEvent> = ws.blue(realmDir, "realm", "log", "--json").json().events
    expectWellFormedLog(realmDir, log)
    expect(joinedRepos(log)).toEqual(once(["r0", ...writers]))
    expectHealthyRealm(realmDir, 2 + writers.length)
    const v = ws.blue(realmDir, "realm", "replay", "--verify", "--json")
    expect(v.code, describeRun("verify", v)).toBe(0)
    expect(v.json().ok).toBe(true)
  }, 120_000)
})
