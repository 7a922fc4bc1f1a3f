/**
 * kill -9 at any point loses and duplicates nothing (SPEC §2.1, §6): writers are SIGKILLed at random moments, and
 * the crash windows of the append protocol (committed but not recorded in daemon.db; committed but not shown in
 * the working tree) are also crafted precisely with real git and SQLite.
 */
import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
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

/** Runs the bundled binary synchronously with extra environment variables. */
const blueWith = (ws: Workspace, extra: NodeJS.ProcessEnv, cwd: string, ...args: Array<string>): Run => {
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
    cwd: path.resolve(ws.root, cwd),
    env: { ...ws.env, ...extra },
    encoding: "utf8"
  })
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    json: () => JSON.parse(r.stdout)
  }
}

const clip = (text: string) => (text.length > 600 ? `${text.slice(0, 600)}…` : text)
const describeRun = (label: string, r: Run) =>
  `${label}: exit ${r.code}\nstdout: ${clip(r.stdout)}\nstderr: ${clip(r.stderr)}`

const ok = (label: string, r: Run) => {
  expect(r.code, describeRun(label, r)).toBe(0)
  return r
}

interface LoggedEvent {
  readonly id: string
  readonly position: number
  readonly type: string
  readonly commit: string
  readonly causation_id?: string
  readonly event: any
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with BLUE_CRASH_SEED. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const fsck = (realmDir: string) =>
  spawnSync("git", ["fsck", "--strict", "--no-progress"], { cwd: realmDir, encoding: "utf8" })
const inHead = (realmDir: string, file: string) =>
  spawnSync("git", ["cat-file", "-e", `HEAD:${file}`], { cwd: realmDir }).status === 0
const commitExists = (realmDir: string, commit: string) =>
  spawnSync("git", ["cat-file", "-e", `${commit}^{commit}`], { cwd: realmDir }).status === 0

/** The log's shape: positions 1..N, unique ids, every commit present and on main, one commit per command. */
const logProblems = (realmDir: string, log: ReadonlyArray<LoggedEvent>): Array<string> => {
  const problems: Array<string> = []
  log.forEach((e, i) => {
    if (e.position !== i + 1) problems.push(`log entry ${i} has position ${e.position}, expected ${i + 1}`)
  })
  const ids = new Set<string>()
  for (const e of log) {
    if (ids.has(e.id)) problems.push(`event ${e.id} appears twice`)
    ids.add(e.id)
  }
  const onMain = new Set(git(realmDir, "rev-list", "main").trim().split("\n"))
  for (const c of new Set(log.map((e) => e.commit))) {
    if (!commitExists(realmDir, c)) problems.push(`commit ${c} named by the log does not exist`)
    else if (!onMain.has(c)) problems.push(`commit ${c} named by the log is not on main`)
  }
  for (const c of onMain) {
    if (!log.some((e) => e.commit === c)) problems.push(`commit ${c} on main carries no logged event`)
  }
  const byCommand = new Map<string, Array<LoggedEvent>>()
  for (const e of log) byCommand.set(e.causation_id ?? e.id, [...(byCommand.get(e.causation_id ?? e.id) ?? []), e])
  for (const [command, events] of byCommand) {
    if (new Set(events.map((e) => e.commit)).size !== 1) problems.push(`command ${command} spans several commits`)
  }
  return problems
}

/** Working tree = index = HEAD, nothing untracked, no pending intent, no corrupt objects. */
const repoProblems = (realmDir: string): Array<string> => {
  const problems: Array<string> = []
  const f = fsck(realmDir)
  if (f.status !== 0 || /error|corrupt|missing|broken/i.test(f.stderr)) {
    problems.push(`git fsck --strict (exit ${f.status}): ${f.stdout}${f.stderr}`)
  }
  const dirty = git(realmDir, "status", "--porcelain", "--untracked-files=all")
  if (dirty !== "") problems.push(`working tree is not clean:\n${dirty}`)
  if (fs.existsSync(path.join(realmDir, ".git", "blue-materialize.json"))) problems.push("intent file left behind")
  const merges = git(realmDir, "rev-list", "--merges", "main").trim()
  if (merges !== "") problems.push(`merge commits on main: ${merges}`)
  return problems
}

const setUpRealm = (ws: Workspace, name: string, repos: ReadonlyArray<string>) => {
  ok("init", ws.blue(".", "realm", "admin", "init", "--name", name, "--path", ws.root, "--json"))
  const realmDir = ws.path(`realm-${name}`)
  for (const r of repos) {
    ws.repo(r)
    ok(`join ${r}`, ws.blue(r, "realm", "admin", "join", realmDir, "--json"))
  }
  return realmDir
}

type Mode = "uniform" | "late" | "intent"

interface AttemptBase {
  readonly i: number
  readonly mode: Mode
  /** ms after spawn (uniform, late) or after the intent file appeared (intent) */
  readonly delay: number
  outcome?: "killed" | "completed" | "failed"
  /** a killed writer left the intent file behind (it died between writing the commit and the working tree) */
  leftIntent?: boolean
}
type Attempt =
  | AttemptBase & { readonly kind: "join"; readonly repo: string }
  | AttemptBase & { readonly kind: "domain"; readonly domain: string; readonly repos: readonly [string, string] }

const BASE = ["p0", "p1", "p2", "p3"]
const ITERATIONS = Number(process.env["BLUE_CRASH_ITERATIONS"] ?? 36)
const INTENT = "blue-materialize.json"

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

describe("kill -9 during writes", () => {
  it(`SIGKILLs ${ITERATIONS} writers at random points and loses or duplicates nothing`, async () => {
    const seed = Number(process.env["BLUE_CRASH_SEED"] ?? Date.now() % 1_000_000)
    const rand = prng(seed)
    const tag = `seed ${seed} (rerun with BLUE_CRASH_SEED=${seed})`
    const ws = workspace("blue-crash")
    ok("init", ws.blue(".", "realm", "admin", "init", "--name", "crash", "--path", ws.root, "--json"))
    const realmDir = ws.path("realm-crash")
    // The time one write takes on this machine right now (the box may be busy): kill delays scale with it.
    const durations: Array<number> = []
    for (const r of BASE) {
      ws.repo(r)
      const t0 = Date.now()
      ok(`join ${r}`, ws.blue(r, "realm", "admin", "join", realmDir, "--json"))
      durations.push(Date.now() - t0)
    }
    const attempts: Array<Attempt> = []
    const problems: Array<string> = []
    const started = Date.now()
    const gitDir = path.join(realmDir, ".git")

    for (let i = 0; i < ITERATIONS; i++) {
      const writeMs = median(durations)
      // uniform: anywhere from start-up to done; late: the lock/commit/ref/db/materialize end of the run;
      // intent: right after the intent file appears, i.e. around the ref update, the db insert and materialize
      const roll = rand()
      const mode: Mode = roll < 0.4 ? "uniform" : roll < 0.7 ? "late" : "intent"
      const delay = Math.floor(
        mode === "uniform" ? rand() * writeMs * 1.15 : mode === "late" ? writeMs * (0.6 + rand() * 0.8) : rand() * 40
      )
      let attempt: Attempt
      let running: ReturnType<Workspace["spawnBlue"]>
      if (i % 2 === 0) {
        const repo = `k${i}`
        ws.repo(repo)
        attempt = { kind: "join", i, mode, delay, repo }
        running = ws.spawnBlue(repo, "realm", "admin", "join", realmDir, "--json")
      } else {
        // provider has a lower number than its consumer: no set of these domains forms a cycle
        const a = Math.floor(rand() * BASE.length)
        let b = Math.floor(rand() * (BASE.length - 1))
        if (b >= a) b++
        const repos = [BASE[Math.min(a, b)]!, BASE[Math.max(a, b)]!] as const
        attempt = { kind: "domain", i, mode, delay, domain: `d${i}`, repos }
        running = ws.spawnBlue(repos[0], "realm", "admin", "domain", "create", `d${i}`, "--repos", repos.join(","))
      }
      attempts.push(attempt)
      const t0 = Date.now()
      const kill = () => running.child.kill("SIGKILL")
      let timer: ReturnType<typeof setTimeout> | undefined
      let watcher: fs.FSWatcher | undefined
      if (mode === "intent") {
        let armed = true
        watcher = fs.watch(gitDir, (_event, file) => {
          if (file !== INTENT || !armed) return
          armed = false
          if (delay === 0) kill()
          else timer = setTimeout(kill, delay)
        })
      } else {
        timer = setTimeout(kill, delay)
      }
      const run = await running.done
      clearTimeout(timer)
      watcher?.close()
      attempt.outcome = run.code === null ? "killed" : run.code === 0 ? "completed" : "failed"
      attempt.leftIntent = fs.existsSync(path.join(gitDir, INTENT))
      if (attempt.outcome === "completed") durations.push(Date.now() - t0)
      if (attempt.outcome === "failed") problems.push(describeRun(`iteration ${i} (${attempt.kind}, ${tag})`, run))
      if (rand() < 0.4) {
        const s = ws.blue(realmDir, "realm", "status", "--json")
        if (s.code !== 0) problems.push(describeRun(`status after iteration ${i} (${tag})`, s))
      }
    }
    const loopMs = Date.now() - started

    // One more write, with a short lock timeout: a killed writer must never leave the lock held.
    ws.repo("final")
    const final = blueWith(ws, { BLUE_LOCK_TIMEOUT_MS: "2000" }, "final", "realm", "admin", "join", realmDir, "--json")
    if (final.code !== 0) problems.push(describeRun(`final join (${tag})`, final))

    const count = (p: (a: Attempt) => boolean) => attempts.filter(p).length
    const killed = (a: Attempt) => a.outcome === "killed"
    console.log(
      `${tag}: ${ITERATIONS} iterations in ${loopMs} ms (one write took ~${median(durations)} ms);` +
        ` killed ${count(killed)} (uniform ${count((a) => killed(a) && a.mode === "uniform")},` +
        ` late ${count((a) => killed(a) && a.mode === "late")}, after intent ${
          count((a) => killed(a) && a.mode === "intent")
        }), completed ${count((a) => a.outcome === "completed")}, failed ${count((a) => a.outcome === "failed")};` +
        ` killed with the intent file left behind ${count((a) => killed(a) && a.leftIntent === true)}`
    )

    const logRun = ws.blue(realmDir, "realm", "log", "--json")
    expect(logRun.code, describeRun(`log (${tag})`, logRun)).toBe(0)
    const log: Array<LoggedEvent> = logRun.json().events
    problems.push(...logProblems(realmDir, log))

    let killedLanded = 0
    for (const a of attempts) {
      const label = `iteration ${a.i} (${a.kind}, ${a.mode} kill after ${a.delay} ms, ${a.outcome}; ${tag})`
      if (a.kind === "join") {
        const events = log.filter((e) => e.type === "RepoJoined" && e.event.repo.name === a.repo)
        const file = `repos/${a.repo}.yaml`
        if (events.length > 1) problems.push(`${label}: ${a.repo} joined ${events.length} times`)
        if (a.outcome === "completed" && events.length !== 1) problems.push(`${label}: completed but did not land`)
        const landed = events.length === 1
        if (landed && killed(a)) killedLanded++
        if (inHead(realmDir, file) !== landed) problems.push(`${label}: ${file} in HEAD is ${!landed}`)
        if (fs.existsSync(path.join(realmDir, file)) !== landed) {
          problems.push(`${label}: ${file} on disk is ${!landed}`)
        }
        if (landed && !commitExists(realmDir, events[0]!.commit)) problems.push(`${label}: commit missing`)
      } else {
        const created = log.filter((e) => e.type === "DomainCreated" && e.event.domain.name === a.domain)
        const related = log.filter((e) => e.event?.domain === a.domain || e.event?.domain?.name === a.domain)
        if (created.length > 1) problems.push(`${label}: ${a.domain} created ${created.length} times`)
        if (a.outcome === "completed" && created.length !== 1) problems.push(`${label}: completed but did not land`)
        const landed = created.length === 1
        if (landed && killed(a)) killedLanded++
        const files = [
          `domains/${a.domain}/domain.yaml`,
          `domains/${a.domain}/contracts/${a.domain}.yaml`,
          `domains/${a.domain}/bindings/${a.repos[0]}.yaml`,
          `domains/${a.domain}/bindings/${a.repos[1]}.yaml`
        ]
        if (landed) {
          const command = created[0]!.causation_id
          const mine = log.filter((e) => e.causation_id === command)
          const types = mine.map((e) => e.type)
          if (
            JSON.stringify(types) !==
              JSON.stringify(["DomainCreated", "ContractPublished", "BindingDeclared", "BindingDeclared"])
          ) {
            problems.push(`${label}: partial or duplicated command events ${types.join(", ")}`)
          }
          if (related.length !== 4) problems.push(`${label}: ${related.length} events name the domain, expected 4`)
        } else if (related.length > 0) {
          problems.push(`${label}: not created, yet ${related.length} events name it`)
        }
        for (const f of files) {
          if (inHead(realmDir, f) !== landed) problems.push(`${label}: ${f} in HEAD is ${!landed}`)
          if (fs.existsSync(path.join(realmDir, f)) !== landed) problems.push(`${label}: ${f} on disk is ${!landed}`)
        }
      }
    }
    if (final.code === 0 && log.filter((e) => e.type === "RepoJoined" && e.event.repo.name === "final").length !== 1) {
      problems.push(`the final join is not in the log exactly once (${tag})`)
    }
    console.log(`${tag}: killed writers whose command landed anyway: ${killedLanded}`)

    problems.push(...repoProblems(realmDir).map((p) => `${p} (${tag})`))
    const v = ws.blue(realmDir, "realm", "replay", "--verify", "--json")
    if (v.code !== 0 || v.json().ok !== true) problems.push(describeRun(`replay --verify (${tag})`, v))
    const garbage = /garbage: (\d+)/.exec(git(realmDir, "count-objects", "-v"))?.[1]
    console.log(`${tag}: ${log.length} events, ${garbage ?? "?"} leftover temp files in .git/objects`)
    expect(problems).toEqual([])
  }, 180_000)
})

describe("crafted crash windows", () => {
  it("a realm commit daemon.db has not seen (another home) is ingested by the next read, and writes go on", () => {
    const ws = workspace("blue-catchup")
    const realmDir = setUpRealm(ws, "gap", ["a", "b"])
    const homeB = ws.path(".blue-home-b")
    const asB = { BLUE_HOME: homeB }

    // B has never seen the realm: a read ingests everything git holds
    const logA: Array<LoggedEvent> = ok("log on A", ws.blue(realmDir, "realm", "log", "--json")).json().events
    const status = ok("status on B", blueWith(ws, asB, realmDir, "realm", "status", "--json")).json()
    expect(status.realm.position).toBe(logA.length)
    const logB: Array<LoggedEvent> = ok("log on B", blueWith(ws, asB, realmDir, "realm", "log", "--json")).json().events
    expect(logB).toEqual(logA)

    // B writes; A has not seen that commit and catches up on its next write (then both have everything once)
    ws.repo("c")
    ok("join c on B", blueWith(ws, asB, "c", "realm", "admin", "join", realmDir, "--json"))
    ok("domain on A", ws.blue("a", "realm", "admin", "domain", "create", "ab", "--repos", "a,c", "--json"))
    const finalA: Array<LoggedEvent> = ok("log on A", ws.blue(realmDir, "realm", "log", "--json")).json().events
    const finalB: Array<LoggedEvent> =
      ok("log on B", blueWith(ws, asB, realmDir, "realm", "log", "--json")).json().events
    expect(logProblems(realmDir, finalA)).toEqual([])
    expect(finalB).toEqual(finalA)
    expect(finalA.filter((e) => e.type === "RepoJoined").map((e) => e.event.repo.name)).toEqual(["a", "b", "c"])
    expect(finalA.filter((e) => e.type === "DomainCreated")).toHaveLength(1)
    expect(repoProblems(realmDir)).toEqual([])
    for (const env of [{}, asB]) {
      const v = blueWith(ws, env, realmDir, "realm", "replay", "--verify", "--json")
      expect(v.json(), describeRun("verify", v)).toMatchObject({ ok: true, differences: [] })
    }
  }, 60_000)

  it("daemon.db restored to before a write (crash after the ref moved, before the insert) loses nothing", () => {
    const ws = workspace("blue-dbgap")
    const realmDir = setUpRealm(ws, "dbgap", ["a", "b", "c"])
    const dbFile = path.join(ws.home, "daemon.db")
    const saved = ws.path("daemon-before.db")
    const db = new Database(dbFile)
    db.exec(`VACUUM INTO '${saved}'`)
    db.close()
    const before = git(realmDir, "rev-parse", "main").trim()

    ok("domain create", ws.blue("a", "realm", "admin", "domain", "create", "s3", "--repos", "a,b", "--json"))
    ws.repo("d")
    ok("join d", ws.blue("d", "realm", "admin", "join", realmDir, "--json"))
    const written: Array<LoggedEvent> = ok("log", ws.blue(realmDir, "realm", "log", "--json")).json().events
    expect(git(realmDir, "rev-list", "--count", `${before}..main`).trim()).toBe("2")

    // the machine forgets both writes: only git has them now
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(dbFile + suffix, { force: true })
    fs.copyFileSync(saved, dbFile)
    const check = new Database(dbFile, { readonly: true })
    const rows = check.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }
    check.close()
    expect(rows.n).toBe(written.length - 5)

    // the next write catches up first, then appends after the forgotten events
    ok("domain create after restore", ws.blue("b", "realm", "admin", "domain", "create", "bc", "--repos", "b,c"))
    const log: Array<LoggedEvent> = ok("log", ws.blue(realmDir, "realm", "log", "--json")).json().events
    expect(logProblems(realmDir, log)).toEqual([])
    expect(log.slice(0, written.length)).toEqual(written)
    expect(log).toHaveLength(written.length + 4)
    expect(log.filter((e) => e.type === "DomainCreated").map((e) => e.event.domain.name)).toEqual(["s3", "bc"])
    expect(log.filter((e) => e.type === "RepoJoined").map((e) => e.event.repo.name)).toEqual(["a", "b", "c", "d"])
    expect(repoProblems(realmDir)).toEqual([])
    expect(ok("verify", ws.blue(realmDir, "realm", "replay", "--verify", "--json")).json()).toMatchObject({
      ok: true,
      differences: []
    })
  }, 60_000)

  it("an intent file left by a crash after the ref moved makes the next write repair the working tree", () => {
    const ws = workspace("blue-intent")
    const realmDir = setUpRealm(ws, "intent", ["a", "b", "c"])
    ok("domain", ws.blue("a", "realm", "admin", "domain", "create", "s3", "--repos", "a,b,c", "--json"))
    // c leaves: domain.yaml changes (older content exists), repos/c.yaml and bindings/c.yaml go away
    const left = ok("leave", ws.blue("c", "realm", "admin", "leave", "--json")).json()
    const head = git(realmDir, "rev-parse", "main").trim()
    expect(left.commit).toBe(head)
    const changed = git(realmDir, "diff", "--name-only", "HEAD~1", "HEAD").trim().split("\n")
    expect(changed).toEqual(expect.arrayContaining(["domains/s3/domain.yaml", "repos/c.yaml"]))

    // put the working tree and the index back to HEAD~1 for those paths: HEAD moved, the tree did not follow
    const modified = git(realmDir, "diff", "--name-only", "--diff-filter=M", "HEAD~1", "HEAD").trim().split("\n")
    const deleted = git(realmDir, "diff", "--name-only", "--diff-filter=D", "HEAD~1", "HEAD").trim().split("\n")
    const added = git(realmDir, "diff", "--name-only", "--diff-filter=A", "HEAD~1", "HEAD").trim().split("\n")
    expect(modified).toContain("domains/s3/domain.yaml")
    expect(deleted).toContain("repos/c.yaml")
    git(realmDir, "reset", "-q", "HEAD~1", "--", ...modified, ...deleted, ...added.filter((p) => p !== ""))
    git(realmDir, "checkout", "--", ...modified, ...deleted)
    for (const p of added.filter((x) => x !== "")) fs.rmSync(path.join(realmDir, p), { force: true })
    fs.writeFileSync(
      path.join(realmDir, ".git", "blue-materialize.json"),
      JSON.stringify({ commit: head, paths: changed })
    )
    expect(git(realmDir, "status", "--porcelain")).not.toBe("")
    expect(fs.readFileSync(path.join(realmDir, "domains/s3/domain.yaml"), "utf8")).toBe(
      git(realmDir, "show", "HEAD~1:domains/s3/domain.yaml")
    )

    // a read does not need to write; the next write repairs before it decides
    ok("status", ws.blue(realmDir, "realm", "status", "--json"))
    ws.repo("d")
    ok("join d", ws.blue("d", "realm", "admin", "join", realmDir, "--json"))
    expect(repoProblems(realmDir)).toEqual([])
    expect(fs.existsSync(path.join(realmDir, "repos/c.yaml"))).toBe(false)
    expect(fs.readFileSync(path.join(realmDir, "domains/s3/domain.yaml"), "utf8")).toBe(
      git(realmDir, "show", "HEAD:domains/s3/domain.yaml")
    )
    const log: Array<LoggedEvent> = ok("log", ws.blue(realmDir, "realm", "log", "--json")).json().events
    expect(logProblems(realmDir, log)).toEqual([])
    expect(ok("verify", ws.blue(realmDir, "realm", "replay", "--verify", "--json")).json().ok).toBe(true)
  }, 60_000)

  it("an intent file for a commit that never became HEAD (crash before the ref moved) is dropped", () => {
    const ws = workspace("blue-intent-stale")
    const realmDir = setUpRealm(ws, "stale", ["a"])
    const before = git(realmDir, "rev-parse", "main").trim()
    // a commit object that was written but never made HEAD, as a writer killed before the compare-and-swap leaves
    const orphan = git(realmDir, "commit-tree", "-p", before, "-m", "orphan", `${before}^{tree}`).trim()
    fs.writeFileSync(
      path.join(realmDir, ".git", "blue-materialize.json"),
      JSON.stringify({ commit: orphan, paths: ["repos/a.yaml"] })
    )
    ws.repo("b")
    ok("join b", ws.blue("b", "realm", "admin", "join", realmDir, "--json"))
    expect(repoProblems(realmDir)).toEqual([])
    expect(git(realmDir, "rev-list", "main").trim().split("\n")).not.toContain(orphan)
    expect(ok("verify", ws.blue(realmDir, "realm", "replay", "--verify", "--json")).json().ok).toBe(true)
  }, 60_000)

  it("an empty intent file (kill -9 between creating it and writing it) does not wedge the realm", () => {
    const ws = workspace("blue-intent-torn")
    const realmDir = setUpRealm(ws, "torn", ["a"])
    // writeFileSync opens with O_TRUNC, then writes: a SIGKILL in between leaves an empty file
    fs.writeFileSync(path.join(realmDir, ".git", "blue-materialize.json"), "")
    ws.repo("b")
    const join = ws.blue("b", "realm", "admin", "join", realmDir, "--json")
    expect(join.code, describeRun("join b after a torn intent file", join)).toBe(0)
    expect(repoProblems(realmDir)).toEqual([])
    expect(ok("verify", ws.blue(realmDir, "realm", "replay", "--verify", "--json")).json().ok).toBe(true)
  }, 60_000)
})
