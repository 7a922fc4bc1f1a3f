/**
 * Bad input through the real `blue` binary: every refusal is one sentence naming the file/field/value at fault and
 * what to do (or, with --json, one {"error": {_tag, message, …}} document on stdout), exits non-zero, and leaves the
 * realm (its .git included), the repo and daemon.db exactly as they were.
 */
import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { BLUE_BIN, dbFingerprint, fingerprint, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const workspaces: Array<Workspace> = []
const workspace = () => {
  const ws = makeWorkspace("blue-bad")
  workspaces.push(ws)
  return ws
}
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const APERTURE = "aperture"
const FUNGAL = "fungal-image-analysis"
const REALM = "realm-letemcook"

/** Fails with the run's whole output unless it exited 0. */
const ok = (run: Run, what: string): Run => {
  if (run.code !== 0) throw new Error(`${what}: exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`)
  return run
}

/** A realm `letemcook` and the code repos `joined` (joined) and `others` (not joined). */
const setup = (joined: ReadonlyArray<string> = [], others: ReadonlyArray<string> = []) => {
  const ws = workspace()
  ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
  for (const r of [...joined, ...others]) ws.repo(r)
  for (const r of joined) ok(ws.blue(r, "realm", "admin", "join", `../${REALM}`), `join ${r}`)
  return { ws, realm: ws.path(REALM) }
}

/** Everything a refusal must leave as it was: the watched directories (byte for byte), daemon.db, the root. */
const snapshot = (ws: Workspace, watched: ReadonlyArray<string>) => ({
  dirs: Object.fromEntries(watched.map((d) => [d, Object.fromEntries(fingerprint(ws.path(d)))])),
  db: dbFingerprint(ws.home),
  root: fs.readdirSync(ws.root).sort()
})

interface Refusal {
  /** the error's _tag (any tag when omitted) */
  readonly tag?: string
  /** what the one-sentence message must contain */
  readonly says?: ReadonlyArray<string>
  /** fields of the JSON error document */
  readonly fields?: Record<string, unknown>
}

/**
 * Runs a command that must be refused: in human mode (one "Error: …" line on stderr, nothing on stdout) and/or with
 * --json (one error document on stdout), exit code 1 each time, and nothing under `watched` changed.
 */
const expectRefused = (
  ws: Workspace,
  cwd: string,
  args: ReadonlyArray<string>,
  refusal: Refusal,
  watched: ReadonlyArray<string>,
  modes: ReadonlyArray<"human" | "json"> = ["human", "json"]
) => {
  const label = `blue ${args.join(" ")} (in ${cwd})`
  const before = snapshot(ws, watched)
  let humanMessage: string | undefined
  if (modes.includes("human")) {
    const r = ws.blue(cwd, ...args)
    expect.soft(r.code, `${label}: exit code\n${r.stderr}`).toBe(1)
    expect.soft(r.stdout, `${label}: stdout`).toBe("")
    expect.soft(r.stderr, `${label}: one "Error: " line on stderr`).toMatch(/^Error: [^\n]+\n$/)
    humanMessage = r.stderr.replace(/^Error: /, "").trimEnd()
    expect.soft(humanMessage, `${label}: a sentence, not a dangling colon`).not.toMatch(/:$/)
    for (const s of refusal.says ?? []) expect.soft(humanMessage, `${label}: message`).toContain(s)
  }
  if (modes.includes("json")) {
    const r = ws.blue(cwd, ...args, "--json")
    expect.soft(r.code, `${label} --json: exit code\n${r.stdout}`).toBe(1)
    expect.soft(r.stderr, `${label} --json: stderr`).toBe("")
    let doc: any
    try {
      doc = JSON.parse(r.stdout)
    } catch {
      doc = undefined
    }
    expect.soft(doc, `${label} --json: one JSON document on stdout, got:\n${r.stdout}`).toBeDefined()
    if (doc !== undefined) {
      expect.soft(Object.keys(doc), `${label} --json: document`).toEqual(["error"])
      const error = doc.error ?? {}
      expect.soft(typeof error.message, `${label} --json: message`).toBe("string")
      expect.soft(String(error.message).trimEnd(), `${label} --json: a sentence, not a dangling colon`).not.toMatch(
        /:$/
      )
      if (refusal.tag !== undefined) expect.soft(error._tag, `${label} --json: _tag`).toBe(refusal.tag)
      else expect.soft(typeof error._tag, `${label} --json: _tag`).toBe("string")
      for (const [k, v] of Object.entries(refusal.fields ?? {})) {
        expect.soft(error[k], `${label} --json: field ${k}`).toEqual(v)
      }
      for (const s of refusal.says ?? []) expect.soft(String(error.message), `${label} --json: message`).toContain(s)
      if (humanMessage !== undefined) {
        expect.soft(error.message, `${label}: same sentence in both modes`).toBe(humanMessage)
      }
    }
  }
  expect.soft(snapshot(ws, watched), `${label}: nothing changed`).toEqual(before)
}

/** Names that are not kebab-case identifiers, with what the message must say about each. */
const BAD_NAMES: ReadonlyArray<readonly [value: string, why: string]> = [
  ["a/b", "path separator"],
  ["..", "'..'"],
  ["team a", "whitespace"],
  [".hidden", "starts with a dot"],
  ["Aperture", "kebab-case"],
  ["", "empty"]
]

/** Checks every bad name in one place with --json; `human` also runs the first in human mode (and compares). */
const eachBadName = (
  ws: Workspace,
  cwd: string,
  kind: string,
  argsFor: (value: string) => ReadonlyArray<string>,
  watched: ReadonlyArray<string>,
  human = false
) =>
  BAD_NAMES.forEach(([value, why], i) =>
    expectRefused(
      ws,
      cwd,
      argsFor(value),
      {
        tag: "InvalidName",
        says: [`Invalid ${kind} name ${JSON.stringify(value)}`, why],
        fields: { kind, value }
      },
      watched,
      human && i === 0 ? ["human", "json"] : ["json"]
    )
  )

describe("invalid names", () => {
  it("init --name: refused, no directory created", () => {
    const { ws } = setup()
    eachBadName(ws, ".", "realm", (v) => ["realm", "admin", "init", "--name", v], [REALM], true)
    expect(fs.readdirSync(ws.root).sort()).toEqual([".blue-home", REALM])
  })

  it("join --name: refused, the repo gets no .blue", () => {
    const { ws } = setup([], ["newcomer"])
    eachBadName(ws, "newcomer", "repo", (v) => ["realm", "admin", "join", `../${REALM}`, "--name", v], [
      REALM,
      "newcomer"
    ])
    expect(fs.existsSync(ws.path("newcomer", ".blue"))).toBe(false)
  })

  it("domain create D: refused", () => {
    const { ws } = setup([APERTURE])
    eachBadName(ws, APERTURE, "domain", (v) => [
      "realm",
      "admin",
      "domain",
      "create",
      v,
      "--repos",
      `${APERTURE},${FUNGAL}`
    ], [REALM, APERTURE])
  })

  it("domain create --contract: refused", () => {
    const { ws } = setup([APERTURE])
    eachBadName(ws, APERTURE, "contract", (v) => [
      "realm",
      "admin",
      "domain",
      "create",
      "s3-access",
      "--repos",
      `${APERTURE},${FUNGAL}`,
      "--contract",
      v
    ], [REALM, APERTURE])
  })

  it("domain create --repos entries (an empty entry included): refused", () => {
    const { ws } = setup([APERTURE])
    eachBadName(ws, APERTURE, "repo", (v) => [
      "realm",
      "admin",
      "domain",
      "create",
      "s3-access",
      "--repos",
      `${APERTURE},${v},${FUNGAL}`
    ], [REALM, APERTURE])
  })
})

describe("init", () => {
  it("refuses an existing realm, a non-empty directory, a code repo and a name tracked elsewhere", () => {
    const { ws } = setup()
    const watched = [REALM]
    expectRefused(ws, ".", ["realm", "admin", "init", "--name", "letemcook"], {
      tag: "RealmAlreadyInitialized",
      says: ["'letemcook'", ws.path(REALM), "already exists", "--name or --path"],
      fields: { realm: "letemcook", path: ws.path(REALM) }
    }, watched)

    fs.mkdirSync(ws.path("realm-scratch"))
    fs.writeFileSync(ws.path("realm-scratch", "notes.txt"), "mine\n")
    expectRefused(
      ws,
      ".",
      ["realm", "admin", "init", "--name", "scratch"],
      {
        tag: "PathProblem",
        says: [ws.path("realm-scratch"), "not empty", "--path"]
      },
      [...watched, "realm-scratch"],
      ["json"]
    )

    // a code repo with history that happens to have the realm's directory name is not a realm
    ws.repo("realm-code")
    expectRefused(
      ws,
      ".",
      ["realm", "admin", "init", "--name", "code"],
      {
        tag: "PathProblem",
        says: [ws.path("realm-code"), "not empty"]
      },
      [...watched, "realm-code"],
      ["json"]
    )

    // (--path must exist: init never creates missing parents, #9)
    fs.mkdirSync(ws.path("elsewhere"))
    expectRefused(
      ws,
      ".",
      ["realm", "admin", "init", "--name", "letemcook", "--path", ws.path("elsewhere")],
      {
        tag: "PathProblem",
        says: ["already tracks a realm named 'letemcook'", ws.path(REALM), "--name"]
      },
      watched,
      ["json"]
    )
    expect(fs.readdirSync(ws.path("elsewhere"))).toEqual([])
  })
})

describe("join", () => {
  it("refuses from outside a git repo, a missing path, a code repo that is not a realm, and the realm itself", () => {
    const { realm, ws } = setup([], ["newcomer", "other-code"])
    fs.mkdirSync(ws.path("plain"))
    fs.writeFileSync(ws.path("plain", "notes.txt"), "not a repo\n")

    expectRefused(ws, "plain", ["realm", "admin", "join", `../${REALM}`], {
      tag: "PathProblem",
      says: [ws.path("plain"), "not inside a git repository", "git init"]
    }, [REALM, "plain"])

    expectRefused(
      ws,
      "newcomer",
      ["realm", "admin", "join", "../no-such-realm"],
      {
        tag: "PathProblem",
        says: [ws.path("no-such-realm"), "does not exist"]
      },
      [REALM, "newcomer"],
      ["json"]
    )

    expectRefused(
      ws,
      "newcomer",
      ["realm", "admin", "join", "../other-code"],
      {
        tag: "RealmNotInitialized",
        says: [ws.path("other-code"), "not a Blue realm", "blue realm admin init"]
      },
      [REALM, "newcomer", "other-code"],
      ["json"]
    )

    // the realm repo is a git repo too, but it cannot be a member of itself
    expectRefused(ws, REALM, ["realm", "admin", "join", "."], {}, [REALM], ["json"])
    expect(fs.existsSync(path.join(realm, "repos", "realm-letemcook.yaml"))).toBe(false)
  })

  it("respects admission approval and invite-only", () => {
    const ws = workspace()
    ws.repo("newcomer")
    ok(ws.blue(".", "realm", "admin", "init", "--name", "guarded", "--admission", "approval"), "init guarded")
    ok(ws.blue(".", "realm", "admin", "init", "--name", "closed", "--admission", "invite-only"), "init closed")

    expectRefused(
      ws,
      "newcomer",
      ["realm", "admin", "join", "../realm-closed", "--name", "svc"],
      {
        tag: "AdmissionRequired",
        says: ["'closed'", "invite-only", "'svc'", "invite"],
        fields: { realm: "closed", repo: "svc", admission: "invite-only" }
      },
      ["realm-closed", "newcomer"],
      ["json"]
    )
    expect(fs.existsSync(ws.path("newcomer", ".blue"))).toBe(false)

    // approval: the join becomes a join request an approver must accept (issue 12), not a member
    const asked = ok(ws.blue("newcomer", "realm", "admin", "join", "../realm-guarded"), "join guarded")
    expect(asked.stdout).toContain("must run 'blue realm admin approve join-2'")
    expect(fs.existsSync(ws.path("realm-guarded", "repos", "newcomer.yaml"))).toBe(false)
  })
})

describe("domain create", () => {
  it("refuses one repo, a repo listed twice, a taken name, and repos that are not members", () => {
    const { realm, ws } = setup([APERTURE, "ghost"], ["stranger"])
    ok(
      ws.blue(APERTURE, "realm", "admin", "domain", "create", "s3-access", "--repos", `${APERTURE},${FUNGAL}`),
      "domain"
    )
    ok(ws.blue("ghost", "realm", "admin", "leave"), "ghost leaves")
    // a repo that never joined, with a config written by hand (or copied from another repo)
    fs.mkdirSync(ws.path("stranger", ".blue"))
    fs.writeFileSync(
      ws.path("stranger", ".blue", "config.yaml"),
      `realm:\n  name: letemcook\n  path: ../${REALM}\nrepo: stranger\n`
    )
    const create = (...args: Array<string>) => ["realm", "admin", "domain", "create", ...args]

    expectRefused(ws, APERTURE, create("metrics", "--repos", APERTURE), {
      tag: "InvalidDomainRepos",
      says: ["'metrics'", `--repos ${APERTURE}`, "provider and at least one consumer"],
      fields: { domain: "metrics", repos: [APERTURE] }
    }, [REALM, APERTURE])

    expectRefused(
      ws,
      APERTURE,
      create("metrics", "--repos", `${APERTURE},${FUNGAL},${APERTURE}`),
      {
        tag: "InvalidDomainRepos",
        says: ["'aperture' is listed more than once"]
      },
      [REALM, APERTURE],
      ["json"]
    )

    expectRefused(
      ws,
      APERTURE,
      create("s3-access", "--repos", `${APERTURE},ghost`),
      {
        tag: "DomainExists",
        says: ["'s3-access'", "already exists", "'letemcook'", "another name"],
        fields: { realm: "letemcook", domain: "s3-access" }
      },
      [REALM, APERTURE],
      ["json"]
    )

    // the repo that left has no config any more: it is told to join first
    expectRefused(ws, "ghost", create("metrics", "--repos", `ghost,${APERTURE}`), {
      tag: "PathProblem",
      says: [ws.path("ghost"), "blue realm admin join"]
    }, [REALM, "ghost"])

    // a config naming a repo the realm does not know: the realm says it is not a member
    expectRefused(
      ws,
      "stranger",
      create("metrics", "--repos", `stranger,${APERTURE}`),
      {
        tag: "RepoNotInRealm",
        says: ["'stranger'", "'letemcook'", "blue realm admin join"],
        fields: { realm: "letemcook", repo: "stranger" }
      },
      [REALM, "stranger"],
      ["json"]
    )
    expect(fs.existsSync(path.join(realm, "domains", "metrics"))).toBe(false)
  })
})

describe("commands outside a member repo or realm", () => {
  it("tell the user to join first (and leave, to run in the member repo)", () => {
    const { ws } = setup([], ["newcomer"])
    fs.mkdirSync(ws.path("plain"))
    const commands: ReadonlyArray<ReadonlyArray<string>> = [
      ["status"],
      ["realm", "status"],
      ["realm", "graph", "--format", "dot"],
      ["realm", "log"],
      ["realm", "replay", "--verify"],
      ["realm", "admin", "domain", "create", "metrics", "--repos", `${APERTURE},newcomer`],
      ["realm", "admin", "leave"]
    ]
    commands.forEach((args, i) =>
      expectRefused(
        ws,
        "plain",
        args,
        {
          tag: "PathProblem",
          says: [ws.path("plain"), "blue realm admin join"]
        },
        [REALM, "plain"],
        i === 0 ? ["human", "json"] : ["json"]
      )
    )
    // a git repo that has not joined is no different
    expectRefused(
      ws,
      "newcomer",
      ["status"],
      {
        tag: "PathProblem",
        says: [ws.path("newcomer"), "blue realm admin join"]
      },
      [REALM, "newcomer"],
      ["json"]
    )
    expectRefused(
      ws,
      REALM,
      ["realm", "admin", "leave"],
      {
        tag: "PathProblem",
        says: ["member repo"]
      },
      [REALM],
      ["json"]
    )
  })
})

describe("a malformed .blue/config.yaml", () => {
  const config = (realmPart: string, repo = "repo: aperture\n") => `realm:\n${realmPart}${repo}`
  const cases: ReadonlyArray<{
    readonly name: string
    readonly text: string
    readonly field: string
    readonly says: ReadonlyArray<string>
    /** false when the case may be reported by another tag than FileInvalid */
    readonly fileInvalid?: boolean
  }> = [
    {
      name: "broken YAML",
      text: config("  name: letemcook\n  path: [unclosed\n"),
      field: "",
      says: ["line 4", "column 1"]
    },
    {
      name: "repo is a number",
      text: config(`  name: letemcook\n  path: ../${REALM}\n`, "repo: 42\n"),
      field: "repo",
      says: ["repo", "42"]
    },
    { name: "realm is a string", text: "realm: letemcook\nrepo: aperture\n", field: "realm", says: ["realm"] },
    {
      name: "invalid repo name",
      text: config(`  name: letemcook\n  path: ../${REALM}\n`, "repo: Bad/Name\n"),
      field: "repo",
      says: ["repo", "Bad/Name"]
    },
    {
      name: "invalid realm name",
      text: config(`  name: Let Em Cook\n  path: ../${REALM}\n`),
      field: "realm.name",
      says: ["realm.name", "Let Em Cook"]
    },
    { name: "missing realm.path", text: config("  name: letemcook\n"), field: "realm.path", says: ["realm.path"] },
    {
      name: "realm.path that leads nowhere",
      text: config("  name: letemcook\n  path: ../realm-gone\n"),
      field: "realm.path",
      says: ["realm.path", "realm-gone"],
      fileInvalid: false
    }
  ]

  it("names the file and the field, from status (fast path included) and from a write command", () => {
    const { ws } = setup([APERTURE])
    const file = ws.path(APERTURE, ".blue", "config.yaml")
    cases.forEach((c, i) => {
      fs.writeFileSync(file, c.text)
      const refusal: Refusal = c.fileInvalid === false
        ? { says: [file, ...c.says] }
        : { tag: "FileInvalid", says: [file, ...c.says], fields: { file, path: c.field } }
      // `blue status` and `blue status --json` are what the fast path handles
      expectRefused(ws, APERTURE, ["status"], refusal, [REALM, APERTURE])
      // and a write command refuses before touching anything
      if (i < 3) {
        expectRefused(
          ws,
          APERTURE,
          ["realm", "admin", "domain", "create", "metrics", "--repos", `${APERTURE},${FUNGAL}`],
          refusal,
          [REALM, APERTURE],
          ["json"]
        )
      }
    })
  })
})

describe("the realm's write lock", () => {
  it("times out with LockTimeout while another process holds it, changes nothing, then succeeds", () => {
    const { realm, ws } = setup()
    const args = ["realm", "admin", "domain", "create", "s3-access", "--repos", `${APERTURE},${FUNGAL}`]
    const run = (...extra: Array<string>): Run => {
      const r = spawnSync(process.execPath, [BLUE_BIN, ...args, ...extra], {
        cwd: realm,
        env: { ...ws.env, BLUE_LOCK_TIMEOUT_MS: "500" },
        encoding: "utf8"
      })
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) }
    }
    const lockFile = path.join(realm, ".git", "blue-write.lock")
    // Fingerprint before taking the lock and after releasing it: reading the lock file from this process while it
    // holds the lock would close a descriptor of that file, and POSIX then drops every lock the process holds on it.
    const before = snapshot(ws, [REALM])
    const holder = new Database(lockFile)
    let json: Run
    let human: Run
    let statusWhileLocked: Run
    try {
      holder.exec("BEGIN EXCLUSIVE")
      json = run("--json")
      human = run()
      // readers do not wait for the lock
      statusWhileLocked = ws.blue(REALM, "status", "--json")
    } finally {
      holder.exec("ROLLBACK")
      holder.close()
    }
    expect(json.code, json.stdout).toBe(1)
    expect(json.json().error).toMatchObject({ _tag: "LockTimeout", path: lockFile })
    expect(json.json().error.message).toContain("Another blue process holds the write lock")
    expect(human.code).toBe(1)
    expect(human.stdout).toBe("")
    expect(human.stderr).toMatch(/^Error: Another blue process holds the write lock [^\n]+\n$/)
    expect(human.stderr).toContain(lockFile)
    expect(human.stderr).toContain("retry")
    expect(ok(statusWhileLocked, "status while locked").json().realm.domains).toBe(0)
    expect(snapshot(ws, [REALM])).toEqual(before)

    const after = run("--json")
    expect(after.code, after.stdout).toBe(0)
    expect(after.json()).toMatchObject({ domain: "s3-access", provider: APERTURE })
    expect(fs.existsSync(path.join(realm, "domains", "s3-access", "domain.yaml"))).toBe(true)
  })
})

describe("usage errors", () => {
  it("name the option and the bad value, answer --json with a document, and change nothing", () => {
    const { ws } = setup()
    const cases: ReadonlyArray<readonly [args: ReadonlyArray<string>, says: ReadonlyArray<string>]> = [
      [["realm", "graph", "--format", "svg"], ["--format", "svg"]],
      [["realm", "admin", "init", "--name", "other", "--admission", "sometimes"], ["--admission", "sometimes"]],
      [["realm", "log", "--limit", "-1"], ["--limit", "-1"]]
    ]
    for (const [args, says] of cases) {
      const label = `blue ${args.join(" ")}`
      const before = snapshot(ws, [REALM])
      const human = ws.blue(REALM, ...args)
      expect.soft(human.code, `${label}: exit code`).not.toBe(0)
      for (const s of says) expect.soft(human.stderr, `${label}: stderr`).toContain(s)
      const json = ws.blue(REALM, ...args, "--json")
      expect.soft(json.code, `${label} --json: exit code`).not.toBe(0)
      let doc: any
      try {
        doc = JSON.parse(json.stdout)
      } catch {
        doc = undefined
      }
      expect.soft(doc?.error?._tag, `${label} --json: an error document on stdout, got:\n${json.stdout}`).toEqual(
        expect.any(String)
      )
      expect.soft(snapshot(ws, [REALM]), `${label}: nothing changed`).toEqual(before)
    }
    expect(fs.existsSync(ws.path(REALM, "realm-other"))).toBe(false)
  })
})
