/**
 * Realm integrity through the real `blue` binary and real git: the acting identity cannot forge commit lines,
 * git's own locks are honoured, a rewritten history is named and repaired by `blue realm admin reindex`, hand edits
 * in the realm's working tree are never overwritten, and a half-made realm from a killed `init` can be finished.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { eventPathsOf } from "../src/engine/Realms.js"
import {
  BLUE_BIN,
  dbFingerprint,
  fingerprint,
  git,
  makeWorkspace,
  type Run,
  type Workspace
} from "./support/workspace.js"

const workspaces: Array<Workspace> = []
const workspace = () => {
  const ws = makeWorkspace("blue-integrity")
  workspaces.push(ws)
  return ws
}
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const REALM = "realm-letemcook"

/** Runs the binary with environment changes (`undefined` removes a variable). */
const blueWith = (ws: Workspace, extra: Record<string, string | undefined>, cwd: string, ...args: Array<string>) => {
  const env: NodeJS.ProcessEnv = { ...ws.env }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], { cwd: path.resolve(ws.root, cwd), env, encoding: "utf8" })
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    json: () => JSON.parse(r.stdout)
  } satisfies Run
}

const ok = (run: Run, what: string): Run => {
  if (run.code !== 0) throw new Error(`${what}: exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`)
  return run
}

/** A realm `letemcook` with `repos` joined. */
const setup = (repos: ReadonlyArray<string> = []) => {
  const ws = workspace()
  ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
  for (const r of repos) {
    ws.repo(r)
    ok(ws.blue(r, "realm", "admin", "join", `../${REALM}`), `join ${r}`)
  }
  return { ws, realm: ws.path(REALM) }
}

/** Everything a refusal must leave as it was. */
const state = (ws: Workspace, dirs: ReadonlyArray<string>) =>
  JSON.stringify({
    dirs: dirs.map((d) => [...fingerprint(ws.path(d))].sort()),
    db: dbFingerprint(ws.home),
    root: fs.readdirSync(ws.root).sort()
  })

describe("the acting identity", () => {
  it("refuses a newline in BLUE_USER in one sentence naming it, writing nothing", () => {
    const { ws } = setup(["aperture"])
    ws.repo("fungal")
    const before = state(ws, [REALM, "fungal"])
    const forged = "mallory@example.com\nBlue-Event: events/2020-01-01/00/01ARZ3NDEKTSV4RRFFQ69G5FAV.json"
    const r = blueWith(ws, { BLUE_USER: forged }, "fungal", "realm", "admin", "join", `../${REALM}`)
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe(
      `Error: BLUE_USER (${
        JSON.stringify(forged)
      }) contains a newline; the acting identity must be one line without control characters, '<' or '>' (e.g. BLUE_USER=you@example.com).\n`
    )
    expect(state(ws, [REALM, "fungal"])).toBe(before)
    const j = blueWith(
      ws,
      { BLUE_USER: "eve <eve@example.com>" },
      "fungal",
      "realm",
      "admin",
      "join",
      `../${REALM}`,
      "--json"
    )
    expect(j.code).toBe(1)
    expect(j.json().error).toMatchObject({ _tag: "InvalidIdentity", source: "BLUE_USER", reason: "contains '<'" })
    const c = blueWith(ws, { BLUE_USER: "tab\there" }, ".", "realm", "admin", "init", "--name", "other")
    expect(c.code).toBe(1)
    expect(c.stderr).toContain("BLUE_USER (\"tab\\there\") contains the control character U+0009;")
    expect(state(ws, [REALM, "fungal"])).toBe(before)
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify")
  })

  it("defaults to git config user.email: the repo's, then the global one", () => {
    const { ws, realm } = setup()
    ws.repo("aperture")
    ws.repo("fungal")
    fs.writeFileSync(ws.path(".gitconfig"), "[user]\n\tname = Global Person\n\temail = global@example.com\n")
    git(ws.path("aperture"), "config", "user.email", "local@example.com")
    const noEnv = { BLUE_USER: undefined, GIT_AUTHOR_EMAIL: undefined, EMAIL: undefined }
    ok(blueWith(ws, noEnv, "aperture", "realm", "admin", "join", `../${REALM}`), "join aperture")
    ok(blueWith(ws, noEnv, "fungal", "realm", "admin", "join", `../${REALM}`), "join fungal")
    expect(fs.readFileSync(path.join(realm, "repos", "aperture.yaml"), "utf8")).toContain("local@example.com")
    expect(fs.readFileSync(path.join(realm, "repos", "fungal.yaml"), "utf8")).toContain("global@example.com")
    expect(git(realm, "log", "-2", "--format=%ae").split("\n").filter(Boolean)).toEqual([
      "global@example.com",
      "local@example.com"
    ])
    // BLUE_USER still comes first.
    ws.repo("third")
    ok(blueWith(ws, { GIT_AUTHOR_EMAIL: undefined }, "third", "realm", "admin", "join", `../${REALM}`), "join third")
    expect(fs.readFileSync(path.join(realm, "repos", "third.yaml"), "utf8")).toContain("tester@example.com")
  })

  it("reads the git config files itself where there is no git executable", () => {
    const { realm, ws } = setup()
    ws.repo("aperture")
    ws.repo("fungal")
    fs.writeFileSync(ws.path(".gitconfig"), "[user]\n\tname = Global Person\n\temail = \"global@example.com\" # mine\n")
    git(ws.path("aperture"), "config", "user.email", "local@example.com")
    fs.mkdirSync(ws.path("empty-path"))
    const noGit = { BLUE_USER: undefined, GIT_AUTHOR_EMAIL: undefined, EMAIL: undefined, PATH: ws.path("empty-path") }
    ok(blueWith(ws, noGit, "aperture", "realm", "admin", "join", `../${REALM}`), "join aperture")
    ok(blueWith(ws, noGit, "fungal", "realm", "admin", "join", `../${REALM}`), "join fungal")
    expect(git(realm, "log", "-2", "--format=%ae").split("\n").filter(Boolean)).toEqual([
      "global@example.com",
      "local@example.com"
    ])
  })

  it("refuses a git config identity with '>' naming the key", () => {
    const { ws } = setup()
    ws.repo("aperture")
    git(ws.path("aperture"), "config", "user.email", "x>y@example.com")
    const before = state(ws, [REALM, "aperture"])
    const r = blueWith(
      ws,
      { BLUE_USER: undefined, GIT_AUTHOR_EMAIL: undefined },
      "aperture",
      "realm",
      "admin",
      "join",
      `../${REALM}`
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      "Error: git config user.email (\"x>y@example.com\") contains '>'; the acting identity must be one line without control characters, '<' or '>' (e.g. BLUE_USER=you@example.com).\n"
    )
    expect(state(ws, [REALM, "aperture"])).toBe(before)
  })

  it("reads events only from well-formed trailers in the message's last paragraph", () => {
    const real = "events/2026-11-30/11/01ARZ3NDEKTSV4RRFFQ69G5FAV.json"
    const forged = "events/2020-01-01/00/01BX5ZZKBKACTAV9WEVGEMMVRZ.json"
    expect(eventPathsOf(`title\n\nBlue-Event: ${forged}\nbody\n\nBlue-Realm: x\nBlue-Event: ${real}\n`)).toEqual([
      real
    ])
    expect(eventPathsOf(`title\n\nBlue-Event: ../../etc/passwd\nBlue-Event: ${real}`)).toEqual([real])
    expect(eventPathsOf(`Blue-Event: ${real}`)).toEqual([])
  })
})

/** The files git and Blue leave in `.git` while a write runs; none may survive a finished or refused command. */
const lockFiles = (realm: string) =>
  ["refs/heads/main.lock", "index.lock", "packed-refs.lock", "blue-git-locks.json"].filter((f) =>
    fs.existsSync(path.join(realm, ".git", f))
  )

const heldMessage = (file: string) =>
  new RegExp(
    `^Error: ${
      file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    } is held by another git process \\(waited \\d+\\.\\d s\\); if no git is running, remove it\\.\\n$`
  )

describe("git's own lock files", () => {
  it.each(["refs/heads/main.lock", "index.lock", "packed-refs.lock"])(
    "refuses a write while %s is held, naming it, and changes nothing",
    (lock) => {
      const { realm, ws } = setup(["aperture"])
      ws.repo("fungal")
      const file = path.join(realm, ".git", lock)
      fs.writeFileSync(file, "")
      const before = state(ws, [REALM, "fungal"])
      const started = Date.now()
      const r = blueWith(ws, { BLUE_LOCK_TIMEOUT_MS: "300" }, "fungal", "realm", "admin", "join", `../${REALM}`)
      expect(r.code).toBe(1)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(heldMessage(file))
      expect(Date.now() - started).toBeGreaterThanOrEqual(300)
      expect(state(ws, [REALM, "fungal"])).toBe(before)
      // Once git is done, the same command goes through and leaves no lock behind.
      fs.rmSync(file)
      ok(ws.blue("fungal", "realm", "admin", "join", `../${REALM}`), "join after the lock went")
      expect(lockFiles(realm)).toEqual([])
      ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify")
    }
  )

  it("lets a git commit that holds main.lock finish: Blue's write is neither lost nor corrupts the log", () => {
    const { realm, ws } = setup(["aperture"])
    ws.repo("fungal")
    // A git process mid-commit: its commit object is written and main.lock holds the new value.
    fs.writeFileSync(path.join(realm, "NOTES.md"), "hand-written notes\n")
    git(realm, "add", "NOTES.md")
    const tree = git(realm, "write-tree").trim()
    const parent = git(realm, "rev-parse", "HEAD").trim()
    const handCommit = git(realm, "commit-tree", tree, "-p", parent, "-m", "notes by hand").trim()
    const lock = path.join(realm, ".git", "refs", "heads", "main.lock")
    fs.writeFileSync(lock, `${handCommit}\n`)
    const waiting = ws.spawnBlue("fungal", "realm", "admin", "join", `../${REALM}`)
    // git finishes a moment later, as git does: the lock is renamed over the ref.
    // (Blue starts in well under 1.2 s and waits up to 2 s for a git lock.)
    setTimeout(() => fs.renameSync(lock, path.join(realm, ".git", "refs", "heads", "main")), 1200)
    return waiting.done.then((r) => {
      ok(r, "join while git commits")
      const log = git(realm, "log", "--format=%s").trim().split("\n")
      expect(log.slice(0, 2)).toEqual(["fungal joins the realm", "notes by hand"])
      expect(lockFiles(realm)).toEqual([])
      ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify")
      expect(ws.blue(REALM, "realm", "log", "--json").json().events.map((e: any) => e.type)).toEqual([
        "RealmInitialized",
        "RepoJoined",
        "RepoJoined"
      ])
      expect(git(realm, "status", "--porcelain")).toBe("")
    })
  })

  it("sweeps the git locks a SIGKILLed Blue writer left behind, and only those", () => {
    const { realm, ws } = setup(["aperture"])
    ws.repo("fungal")
    // What a writer killed between taking its locks and moving the ref leaves: the locks and Blue's record of them.
    const ref = path.join(realm, ".git", "refs", "heads", "main.lock")
    const index = path.join(realm, ".git", "index.lock")
    fs.writeFileSync(ref, "")
    fs.writeFileSync(index, "")
    const record = [ref, index].map((p) => ({ path: p, ino: fs.statSync(p).ino, pid: 999_999 }))
    fs.writeFileSync(path.join(realm, ".git", "blue-git-locks.json"), JSON.stringify(record))
    ok(ws.blue("fungal", "realm", "admin", "join", `../${REALM}`), "join after a killed writer")
    expect(lockFiles(realm)).toEqual([])
    // A lock git took later at the same path (another inode) is git's, not Blue's: it is honoured.
    fs.writeFileSync(index, "")
    const stale = { path: index, ino: fs.statSync(index).ino + 1, pid: 999_999 }
    fs.writeFileSync(path.join(realm, ".git", "blue-git-locks.json"), JSON.stringify([stale]))
    ws.repo("third")
    const r = blueWith(ws, { BLUE_LOCK_TIMEOUT_MS: "200" }, "third", "realm", "admin", "join", `../${REALM}`)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(heldMessage(index))
    expect(fs.existsSync(index)).toBe(true)
  })

  it("sweeps a git lock a Blue writer was killed with before it could record it (found by the crash suite)", () => {
    const { realm, ws } = setup(["aperture"])
    ws.repo("fungal")
    // Killed right after creating main.lock and before writing blue-git-locks.json: only the lock's content
    // (Blue's marker) tells it apart from git's.
    const ref = path.join(realm, ".git", "refs", "heads", "main.lock")
    fs.writeFileSync(ref, "blue-realms lock, pid 999999\n")
    ok(ws.blue("fungal", "realm", "admin", "join", `../${REALM}`), "join after a writer killed mid-lock")
    expect(lockFiles(realm)).toEqual([])
    // git's own lock (a ref value, or empty while git writes it) is still honoured.
    fs.writeFileSync(ref, "")
    ws.repo("third")
    const r = blueWith(ws, { BLUE_LOCK_TIMEOUT_MS: "200" }, "third", "realm", "admin", "join", `../${REALM}`)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(heldMessage(ref))
    expect(fs.existsSync(ref)).toBe(true)
  })
})

describe("a rewritten realm history", () => {
  it("is named, keeps the audit commands working on git, refuses writes, and reindex repairs daemon.db", () => {
    const { realm, ws } = setup(["aperture", "fungal"])
    const indexed = git(realm, "rev-parse", "HEAD").trim()
    git(realm, "reset", "-q", "--hard", "HEAD~1")
    const said = `The realm's main no longer contains commit ${
      indexed.slice(0, 8)
    } that this machine indexed up to position 3 — history was rewritten (reset or force-push); run 'blue realm admin reindex' in ${realm} to re-index this machine from git.`

    // The audit commands show what git holds.
    const log = ok(ws.blue(REALM, "realm", "log", "--json"), "log").json().events
    expect(log.map((e: any) => e.type)).toEqual(["RealmInitialized", "RepoJoined"])
    const replay = ws.blue(REALM, "realm", "replay", "--verify", "--json")
    expect(replay.code).toBe(1)
    expect(replay.json().differences[0]).toBe(said)
    expect(replay.json().differences).toContain("git carries 2 events, daemon.db 3")
    const status = ok(ws.blue("aperture", "realm", "status", "--json"), "status").json()
    expect(JSON.stringify(status)).toContain("aperture")
    ok(ws.blue("aperture", "realm", "check", "--mode", "realm"), "check --mode realm")

    // Writes refuse, naming the command, and change nothing.
    ws.repo("third")
    const before = state(ws, [REALM, "third"])
    const refused = ws.blue("third", "realm", "admin", "join", `../${REALM}`)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(`Error: ${said}\n`)
    expect(state(ws, [REALM, "third"])).toBe(before)

    // reindex rebuilds this machine's index from git alone.
    const re = ok(ws.blue("aperture", "realm", "admin", "reindex"), "reindex")
    expect(re.stdout).toBe(
      `✓ Re-indexed realm 'letemcook' from git: 2 events up to commit ${
        git(realm, "rev-parse", "HEAD").trim().slice(0, 8)
      }\n  (this machine had indexed 3 events up to commit ${indexed.slice(0, 8)})\n`
    )
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify after reindex")
    ok(ws.blue("third", "realm", "admin", "join", `../${REALM}`), "join after reindex")
    const after = ok(ws.blue(REALM, "realm", "log", "--json"), "log").json().events
    expect(after.map((e: any) => [e.position, e.type])).toEqual([[1, "RealmInitialized"], [2, "RepoJoined"], [
      3,
      "RepoJoined"
    ]])
    expect(after[2].actor.repo).toBe("third")
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify after the next write")
  })

  it("after a force-push that replaced commits, reindex records the new ones", () => {
    const { realm, ws } = setup(["aperture"])
    // Another clone rewrites the last commit (amend) and force-pushes; this clone fetches and resets to it.
    const rewritten = git(realm, "rev-parse", "HEAD").trim()
    const other = ws.path("other-clone")
    git(ws.root, "clone", "-q", realm, other)
    const amend = ["commit", "-q", "--amend", "--no-edit", "--reset-author"]
    git(other, "-c", "user.name=X", "-c", "user.email=x@example.com", ...amend)
    git(realm, "fetch", "-q", other, "main")
    git(realm, "reset", "-q", "--hard", "FETCH_HEAD")
    const replay = ws.blue(REALM, "realm", "replay", "--verify")
    expect(replay.code).toBe(1)
    expect(replay.stdout).toContain("history was rewritten (reset or force-push)")
    ok(ws.blue(REALM, "realm", "admin", "reindex", "--json"), "reindex")
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify after reindex")
    const log = ok(ws.blue(REALM, "realm", "log", "--json"), "log").json().events
    const head = git(realm, "rev-parse", "HEAD").trim()
    expect(head).not.toBe(rewritten)
    expect(log[1].commit).toBe(head)
  })
})

describe("hand edits in the realm's working tree", () => {
  it("are never overwritten: a write that touches an edited file refuses, naming it", () => {
    const { realm, ws } = setup(["aperture", "fungal"])
    const file = path.join(realm, "repos", "fungal.yaml")
    const edited = fs.readFileSync(file, "utf8") + "# note by hand\n"
    fs.writeFileSync(file, edited)
    const before = state(ws, [REALM, "fungal"])
    const r = ws.blue("fungal", "realm", "admin", "leave")
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `Error: ${REALM}/repos/fungal.yaml has uncommitted changes; commit or discard them (git checkout -- FILE) first.\n`
    )
    expect(state(ws, [REALM, "fungal"])).toBe(before)
    // An edit elsewhere does not stand in the way, and survives.
    git(realm, "checkout", "--", "repos/fungal.yaml")
    const other = path.join(realm, "repos", "aperture.yaml")
    const otherEdit = fs.readFileSync(other, "utf8") + "# aperture note\n"
    fs.writeFileSync(other, otherEdit)
    ok(ws.blue("fungal", "realm", "admin", "leave"), "leave once discarded")
    expect(fs.existsSync(file)).toBe(false)
    expect(fs.readFileSync(other, "utf8")).toBe(otherEdit)
  })

  it("committed by hand are no obstacle", () => {
    const { realm, ws } = setup(["aperture", "fungal"])
    const file = path.join(realm, "repos", "fungal.yaml")
    fs.writeFileSync(file, fs.readFileSync(file, "utf8") + "# note by hand\n")
    git(realm, "-c", "user.name=X", "-c", "user.email=x@example.com", "commit", "-qam", "note")
    ok(ws.blue("fungal", "realm", "admin", "leave"), "leave")
    expect(fs.existsSync(file)).toBe(false)
    expect(git(realm, "status", "--porcelain")).toBe("")
  })
})

describe("an init killed after its commit", () => {
  it("is finished by running init again", () => {
    const ws = workspace()
    ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
    const realm = ws.path(REALM)
    const commit = git(realm, "rev-parse", "HEAD").trim()
    // The half state: commit and branch in place, no files in the working tree or index, nothing in daemon.db.
    for (const e of fs.readdirSync(realm)) if (e !== ".git") fs.rmSync(path.join(realm, e), { recursive: true })
    fs.rmSync(path.join(realm, ".git", "index"))
    fs.rmSync(ws.home, { recursive: true })
    const again = ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook", "--json"), "init again").json()
    expect(again).toMatchObject({ realm: "letemcook", path: realm, commit, events: ["RealmInitialized"] })
    expect(fs.existsSync(path.join(realm, "realm.yaml"))).toBe(true)
    expect(git(realm, "status", "--porcelain")).toBe("")
    expect(git(realm, "rev-list", "--count", "HEAD").trim()).toBe("1")
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify")
    ws.repo("aperture")
    ok(ws.blue("aperture", "realm", "admin", "join", `../${REALM}`), "join the finished realm")
    // A finished realm is not made twice.
    const third = ws.blue(".", "realm", "admin", "init", "--name", "letemcook")
    expect(third.code).toBe(1)
    expect(third.stderr).toBe(`Error: Realm 'letemcook' already exists at ${realm}; pick another --name or --path.\n`)
  })

  it("with its materialize intent left behind is finished too", () => {
    const ws = workspace()
    ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
    const realm = ws.path(REALM)
    const commit = git(realm, "rev-parse", "HEAD").trim()
    const paths = git(realm, "ls-tree", "-r", "--name-only", "HEAD").trim().split("\n")
    fs.writeFileSync(path.join(realm, ".git", "blue-materialize.json"), JSON.stringify({ commit, paths }))
    for (const e of fs.readdirSync(realm)) if (e !== ".git") fs.rmSync(path.join(realm, e), { recursive: true })
    ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init again")
    expect(fs.existsSync(path.join(realm, ".git", "blue-materialize.json"))).toBe(false)
    expect(git(realm, "status", "--porcelain")).toBe("")
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify")
  })

  it("of another realm name is still refused", () => {
    const ws = workspace()
    ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
    const realm = ws.path(REALM)
    for (const e of fs.readdirSync(realm)) if (e !== ".git") fs.rmSync(path.join(realm, e), { recursive: true })
    fs.renameSync(realm, ws.path("realm-other"))
    const r = ws.blue(".", "realm", "admin", "init", "--name", "other")
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `Error: ${ws.path("realm-other")}: exists and is not empty; choose another --path or --name\n`
    )
  })
})
