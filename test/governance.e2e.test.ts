/**
 * Governance end to end (issue 12), through the real `blue` binary on real realms: a join into an `approval` realm
 * becomes a join request an approver approves (the repo's files appear) or rejects; an `invite-only` realm admits
 * an invited repo and refuses one without an invitation, naming who may invite; a non-approver cannot change
 * governance; a provider declares a second contract that a consumer imports, and `check --mode importer` warns
 * (exit 2) when that binding goes stale.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, FUNGAL, ok, readYaml, REALM, S3, seedStory } from "./support/seed.js"
import { landByGrace, landExplicitly } from "./support/sync.js"
import { BLUE_BIN, fingerprint, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const APPROVER = "tester@example.com"
const STRANGER = "stranger@example.com"

/** Runs `blue` as another person (BLUE_USER). */
const blueAs = (ws: Workspace, user: string, cwd: string, ...args: Array<string>): Run => {
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
    cwd: path.resolve(ws.root, cwd),
    env: { ...ws.env, BLUE_USER: user, GIT_AUTHOR_EMAIL: user },
    encoding: "utf8"
  })
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    json: () => JSON.parse(r.stdout)
  }
}

const eventTypes = (ws: Workspace, cwd: string): Array<string> =>
  ok(ws.blue(cwd, "realm", "log", "--json"), "log").json().events.map((e: { type: string }) => e.type)

describe("a join into an approval realm", () => {
  let ws: Workspace
  beforeAll(() => {
    ws = makeWorkspace("blue-gov-approval")
    ws.repo("newcomer")
    ws.repo("unwanted")
    ok(ws.blue(".", "realm", "admin", "init", "--name", "guarded", "--admission", "approval"), "init")
  })
  afterAll(() => ws.cleanup())

  it("init records its user as the realm's first approver", () => {
    expect(readYaml(ws.path("realm-guarded", "realm.yaml")).governance.approvers).toEqual([APPROVER])
  })

  it("join records a request (exit 0) and says who must approve it; joining again adds no second request", () => {
    const first = ok(ws.blue("newcomer", "realm", "admin", "join", "../realm-guarded"), "join")
    expect(first.stdout).toContain(
      `Join request join-2 recorded; an approver (${APPROVER}) must run 'blue realm admin approve join-2'`
    )
    expect(fs.existsSync(ws.path("realm-guarded", "repos", "newcomer.yaml"))).toBe(false)
    expect(readYaml(ws.path("newcomer", ".blue", "config.yaml"))).toMatchObject({ repo: "newcomer" })
    const again = ok(ws.blue("newcomer", "realm", "admin", "join", "../realm-guarded", "--json"), "join again").json()
    expect(again.join_request).toEqual({ id: "join-2", pending_already: true, approvers: [APPROVER] })
    expect(eventTypes(ws, "realm-guarded").filter((t) => t === "JoinRequested")).toHaveLength(1)
    const status = ok(ws.blue("newcomer", "realm", "status", "--json"), "status").json()
    expect(status.repo).toMatchObject({ name: "newcomer", member: false, join_request: "join-2" })
    const listed = ok(ws.blue("realm-guarded", "realm", "admin", "governance", "--json"), "governance").json()
    expect(listed.join_requests).toMatchObject([{ id: "join-2", repo: "newcomer", maintainers: [APPROVER] }])
  })

  it("a non-approver's approve is refused and changes nothing", () => {
    const before = fingerprint(ws.path("realm-guarded"))
    const r = blueAs(ws, STRANGER, "realm-guarded", "realm", "admin", "approve", "join-2")
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`${STRANGER} is not one — ask ${APPROVER}`)
    expect(fingerprint(ws.path("realm-guarded"))).toEqual(before)
  })

  it("an approver's approve admits the repo: repos/newcomer.yaml appears and the repo works as a member", () => {
    const r = ok(ws.blue("realm-guarded", "realm", "admin", "approve", "join-2"), "approve")
    expect(r.stdout).toContain("✓ Approved join-2: newcomer joined realm 'guarded'")
    expect(readYaml(ws.path("realm-guarded", "repos", "newcomer.yaml"))).toMatchObject({
      name: "newcomer",
      maintainers: [APPROVER]
    })
    const status = ok(ws.blue("newcomer", "realm", "status", "--json"), "status").json()
    expect(status.repo).toEqual({ name: "newcomer", member: true })
    ok(ws.blue("realm-guarded", "realm", "replay", "--verify"), "replay --verify")
    expect(ok(ws.blue("realm-guarded", "realm", "check", "--mode", "realm"), "check realm").code).toBe(0)
  })

  it("a rejected request leaves no member file; the id is used up", () => {
    ok(ws.blue("unwanted", "realm", "admin", "join", "../realm-guarded"), "join unwanted")
    const id = ok(ws.blue("unwanted", "realm", "status", "--json"), "status").json().repo.join_request as string
    expect(id).toMatch(/^join-\d+$/)
    const r = ok(
      ws.blue("realm-guarded", "realm", "admin", "reject", id, "--reason", "not ours", "--json"),
      "reject"
    ).json()
    expect(r).toMatchObject({ id, verdict: "reject", repo: "unwanted", reason: "not ours" })
    expect(fs.existsSync(ws.path("realm-guarded", "repos", "unwanted.yaml"))).toBe(false)
    expect(eventTypes(ws, "realm-guarded").at(-1)).toBe("JoinRejected")
    const again = ws.blue("realm-guarded", "realm", "admin", "approve", id)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`No pending join request '${id}'`)
  })

  it("over MCP, blue_realm_approve and blue_realm_reject take a join request's id too (the CLI's dispatch)", async () => {
    const requested = (repo: string) => {
      ws.repo(repo)
      ok(ws.blue(repo, "realm", "admin", "join", "../realm-guarded"), `join ${repo}`)
      return ok(ws.blue(repo, "realm", "status", "--json"), "status").json().repo.join_request as string
    }
    const welcome = requested("welcome")
    const turned = requested("turned-away")
    const client = new Client({ name: "blue-e2e", version: "1.0.0" })
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BLUE_BIN, "mcp"],
        cwd: ws.path("realm-guarded"),
        env: ws.env as Record<string, string>,
        stderr: "ignore"
      })
    )
    try {
      const approved = await client.callTool({ name: "blue_realm_approve", arguments: { id: welcome } })
      expect(approved.isError, JSON.stringify(approved.structuredContent)).toBe(false)
      expect(approved.structuredContent).toMatchObject({ id: welcome, verdict: "approve", repo: "welcome" })
      expect((approved.content as Array<{ text: string }>)[0]!.text).toContain(
        `✓ Approved ${welcome}: welcome joined realm 'guarded'`
      )
      const rejected = await client.callTool({
        name: "blue_realm_reject",
        arguments: { id: turned, reason: "not ours" }
      })
      expect(rejected.structuredContent).toMatchObject({ id: turned, verdict: "reject", reason: "not ours" })
    } finally {
      await client.close()
    }
    expect(readYaml(ws.path("realm-guarded", "repos", "welcome.yaml"))).toMatchObject({ name: "welcome" })
    expect(fs.existsSync(ws.path("realm-guarded", "repos", "turned-away.yaml"))).toBe(false)
    expect(eventTypes(ws, "realm-guarded").slice(-2)).toEqual(["JoinApproved", "JoinRejected"])
  })
})

describe("an invite-only realm", () => {
  let ws: Workspace
  beforeAll(() => {
    ws = makeWorkspace("blue-gov-invite")
    ws.repo("svc")
    ok(ws.blue(".", "realm", "admin", "init", "--name", "closed", "--admission", "invite-only"), "init")
  })
  afterAll(() => ws.cleanup())

  it("refuses a join without an invitation, naming the approvers who can invite, and writes nothing", () => {
    const before = fingerprint(ws.path("realm-closed"))
    const r = ws.blue("svc", "realm", "admin", "join", "../realm-closed")
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `Error: Realm 'closed' is invite-only: an approver (${APPROVER}) must run 'blue realm admin invite svc' before 'svc' can join.\n`
    )
    expect(fingerprint(ws.path("realm-closed"))).toEqual(before)
    expect(fs.existsSync(ws.path("svc", ".blue"))).toBe(false)
  })

  it("refuses an invitation by a non-approver", () => {
    const r = blueAs(ws, STRANGER, "realm-closed", "realm", "admin", "invite", "svc")
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("Only an approver of realm 'closed' may invite repos")
  })

  it("admits an invited repo, once", () => {
    ok(ws.blue("realm-closed", "realm", "admin", "invite", "svc"), "invite")
    const r = ok(ws.blue("svc", "realm", "admin", "join", "../realm-closed"), "join")
    expect(r.stdout).toContain("✓ Created repos/svc.yaml in realm 'closed'")
    expect(fs.existsSync(ws.path("realm-closed", "repos", "svc.yaml"))).toBe(true)
    const g = ok(ws.blue("realm-closed", "realm", "admin", "governance", "--json"), "governance").json()
    expect(g.invitations).toEqual([])
    expect(eventTypes(ws, "realm-closed")).toEqual(["RealmInitialized", "RepoInvited", "RepoJoined"])
  })
})

describe("governance changes and a second contract", () => {
  let ws: Workspace
  let realm: string
  beforeAll(() => {
    ws = makeWorkspace("blue-gov-change")
    realm = seedStory(ws).realm
  })
  afterAll(() => ws.cleanup())

  it("a non-approver's governance change is refused and the realm is unchanged", () => {
    const before = fingerprint(realm)
    const r = blueAs(ws, STRANGER, REALM, "realm", "admin", "governance", "--admission", "approval")
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`Error: Only an approver of realm 'letemcook' may change its governance; ${STRANGER}`)
    expect(fingerprint(realm)).toEqual(before)
  })

  it("an approver changes realm.yaml and a domain's governance.yaml; the last approver cannot be removed", () => {
    ok(
      ws.blue(
        REALM,
        "realm",
        "admin",
        "governance",
        "--add-approver",
        "b@example.com",
        "--require-approval",
        "false",
        "--grace-period-days",
        "7"
      ),
      "governance"
    )
    expect(readYaml(path.join(realm, "realm.yaml")).governance).toEqual({
      admission: "open",
      approvers: [APPROVER, "b@example.com"],
      breaking_changes: { require_approval: false, grace_period_days: 7 }
    })
    const same = ok(ws.blue(REALM, "realm", "admin", "governance", "--grace-period-days", "7", "--json"), "same").json()
    expect(same).toMatchObject({ asked: true, changed: false, commit: null, changes: [] })
    ok(ws.blue(REALM, "realm", "admin", "governance", "--remove-approver", "b@example.com"), "remove b")
    const last = ws.blue(REALM, "realm", "admin", "governance", "--remove-approver", APPROVER)
    expect(last.code).toBe(1)
    expect(last.stderr).toContain(`Cannot remove ${APPROVER}: it is the last approver`)
    ok(ws.blue(APERTURE, "realm", "admin", "governance", "--domain", "s3-access", "--grace-period-days", "3"), "domain")
    expect(readYaml(path.join(realm, "domains", "s3-access", "governance.yaml"))).toEqual({
      breaking_changes: { grace_period_days: 3 }
    })
    expect(eventTypes(ws, APERTURE).slice(-3)).toEqual(["GovernanceChanged", "GovernanceChanged", "GovernanceChanged"])
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify")
    expect(ok(ws.blue(REALM, "realm", "check", "--mode", "realm"), "check realm").code).toBe(0)
  })

  it("the provider declares a second contract, a consumer imports it, and a stale binding warns (exit 2)", () => {
    const notProvider = ws.blue(
      FUNGAL,
      "realm",
      "export",
      "--name",
      "bucket-names",
      "--domain",
      "s3-access",
      "--value",
      "{}"
    )
    expect(notProvider.code).toBe(1)
    expect(notProvider.stderr).toContain(
      "only the domain's provider may, and 'fungal-image-analysis' provides only 'training-pipeline'"
    )
    const declared = ok(
      ws.blue(
        APERTURE,
        "realm",
        "export",
        "--name",
        "bucket-names",
        "--domain",
        "s3-access",
        "--value",
        `{"buckets":["training-data"]}`,
        "--json"
      ),
      "declare"
    ).json()
    expect(declared).toMatchObject({ contract: "bucket-names", domain: "s3-access", version: "1.0.0", bump: "initial" })
    expect(readYaml(path.join(realm, "domains", "s3-access", "contracts", "bucket-names.yaml"))).toMatchObject({
      name: "bucket-names",
      version: "1.0.0",
      owner: APERTURE,
      value: { buckets: ["training-data"] }
    })
    expect(readYaml(path.join(realm, "domains", "s3-access", "bindings", `${APERTURE}.yaml`)).exports).toEqual([
      { contract: S3, source_files: [] },
      { contract: "bucket-names", source_files: [] }
    ])
    ok(
      ws.blue(FUNGAL, "realm", "import", "--contract", "bucket-names", "--domain", "s3-access", "--version", "^1.0.0"),
      "import"
    )
    expect(ok(ws.blue(FUNGAL, "realm", "check", "--mode", "importer"), "check current").code).toBe(0)
    ok(
      ws.blue(APERTURE, "realm", "export", "--name", "bucket-names", "--value", `{"buckets":["training-data","runs"]}`),
      "bump"
    )
    // fungal imports it: the bump is a proposal, landed once its grace period has passed.
    landByGrace(ws, APERTURE)
    const stale = ws.blue(FUNGAL, "realm", "check", "--mode", "importer", "--json")
    expect(stale.code).toBe(2)
    expect(stale.json().findings).toContainEqual(
      expect.objectContaining({ level: "warning", code: "import-stale", contract: "bucket-names", domain: "s3-access" })
    )
    ok(ws.blue(APERTURE, "realm", "export", "--name", "bucket-names", "--value", `{"buckets":["runs"]}`), "break")
    // A breaking proposal: fungal acknowledges it explicitly (its ^1.0.0 rejects 2.0.0); the realm no longer requires
    // an approval, so that ack merges it, and fungal's binding is broken until it widens its range.
    landExplicitly(ws, APERTURE)
    const broken = ws.blue(FUNGAL, "realm", "check", "--mode", "importer", "--json")
    expect(broken.code).toBe(1)
    expect(broken.json().findings).toContainEqual(
      expect.objectContaining({ level: "error", code: "import-broken", contract: "bucket-names" })
    )
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify")
  })
})
