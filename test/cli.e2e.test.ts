/**
 * The happy paths of the `blue` CLI through the real bundled binary: init, join, domain create, status (fast and
 * full path), graph, the refused cycle, leave, log, replay --verify, joining by tracked name and re-joining.
 * Every outcome is asserted on the files the realm holds, the git history and the JSON the CLI prints.
 */
import Database from "better-sqlite3"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { APERTURE, FUNGAL, ML, ok, readYaml, seedStory } from "./support/seed.js"
import { dbFingerprint, fingerprint, git, makeWorkspace, type Workspace } from "./support/workspace.js"

const workspaces: Array<Workspace> = []
const workspace = () => {
  const ws = makeWorkspace("blue-cli")
  workspaces.push(ws)
  return ws
}
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

/** Tracked files of a repo at HEAD, sorted. */
const lsFiles = (dir: string) => git(dir, "ls-files").split("\n").filter((l) => l.length > 0).sort()

/** Commits a change in `dir` with the real git binary (identity given inline, the test env has none). */
const commitAll = (dir: string, message: string) => {
  git(dir, "add", "-A")
  git(dir, "-c", "user.name=Hand", "-c", "user.email=hand@example.com", "commit", "-q", "-m", message)
}

/** What daemon.db records as the head of the realm at `realmDir`. */
const recordedHead = (ws: Workspace, realmDir: string): string | null => {
  const db = new Database(path.join(ws.home, "daemon.db"), { readonly: true })
  try {
    const row = db.prepare("SELECT head_commit FROM realms WHERE local_path = ?").get(realmDir) as
      | { head_commit: string | null }
      | undefined
    return row?.head_commit ?? null
  } finally {
    db.close()
  }
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "")

interface Seeded {
  readonly ws: Workspace
  readonly realm: string
  readonly aperture: string
  readonly fungal: string
  readonly ml: string
}

/**
 * The seeds' story: realm letemcook; aperture joins; s3-access (aperture → fungal) is created before fungal joins;
 * fungal and ml-infra join; training-pipeline (fungal → ml-infra, contract job-schema).
 */
const seed = (): Seeded => {
  const ws = workspace()
  const { aperture, fungal, ml } = seedStory(ws)
  return { ws, realm: ws.path("realm-letemcook"), aperture, fungal, ml }
}

const SEED_TYPES = [
  "RealmInitialized",
  "RepoJoined",
  "DomainCreated",
  "ContractPublished",
  "BindingDeclared",
  "BindingDeclared",
  "RepoJoined",
  "RepoJoined",
  "DomainCreated",
  "ContractPublished",
  "BindingDeclared",
  "BindingDeclared"
]

/**
 * Structural validation of Graphviz dot as `blue realm graph --format dot` writes it; returns the edges.
 */
const checkDot = (text: string, realm: string): Array<{ from: string; to: string; label: string }> => {
  const opens = (text.match(/\{/g) ?? []).length
  const closes = (text.match(/\}/g) ?? []).length
  expect(opens).toBe(closes)
  const lines = text.trimEnd().split("\n")
  expect(lines[0]).toBe(`digraph "${realm}" {`)
  expect(lines.at(-1)).toBe("}")
  const str = String.raw`"((?:[^"\\]|\\.)*)"`
  const edge = new RegExp(String.raw`^  ${str} -> ${str} \[label=${str}\];$`)
  const node = new RegExp(String.raw`^  ${str}( \[style=dashed\])?;$`)
  const edges: Array<{ from: string; to: string; label: string }> = []
  for (const line of lines.slice(1, -1)) {
    const e = edge.exec(line)
    if (e !== null) {
      edges.push({ from: e[1]!, to: e[2]!, label: e[3]! })
      continue
    }
    const known = line === "  rankdir=LR;" || line === "  node [shape=box];" || node.test(line)
    expect(known, `unexpected dot line: ${line}`).toBe(true)
  }
  return edges
}

describe("blue realm admin init", () => {
  it("creates exactly the SPEC §3 layout in one commit on main", () => {
    const ws = workspace()
    const started = Date.now()
    const run = ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook", "--json"), "init")
    const realm = ws.path("realm-letemcook")
    const out = run.json()
    expect(out).toMatchObject({ realm: "letemcook", path: realm, admission: "open", events: ["RealmInitialized"] })
    expect(run.stderr).toBe("")

    expect(fs.readdirSync(realm).sort()).toEqual([".git", "domains", "events", "realm.yaml", "repos"])
    const files = lsFiles(realm)
    expect(files.filter((f) => !f.startsWith("events/"))).toEqual(["domains/.gitkeep", "realm.yaml", "repos/.gitkeep"])
    const eventFiles = files.filter((f) => f.startsWith("events/"))
    expect(eventFiles).toHaveLength(1)
    expect(eventFiles[0]).toMatch(/^events\/.+\.json$/)

    const text = fs.readFileSync(path.join(realm, "realm.yaml"), "utf8")
    expect(text).toMatch(/^version: "1\.0\.0"$/m)
    const file = YAML.parse(text)
    expect(file).toEqual({
      name: "letemcook",
      version: "1.0.0",
      created_at: expect.stringMatching(ISO),
      governance: {
        admission: "open",
        approvers: ["tester@example.com"],
        breaking_changes: { require_approval: true, grace_period_days: 14 }
      },
      trust: {
        mode: "collaborative",
        require_signed_commits: false,
        permissions: {
          "repos/{repo}.yaml": ["repo_maintainers"],
          "domains/{domain}/domain.yaml": ["domain_owners"],
          "domains/{domain}/contracts/{name}.yaml": ["contract_owner"],
          "domains/{domain}/bindings/{repo}.yaml": ["repo_maintainers"]
        }
      }
    })
    const created = Date.parse(file.created_at)
    expect(created).toBeGreaterThanOrEqual(started - 1000)
    expect(created).toBeLessThanOrEqual(Date.now() + 1000)

    expect(git(realm, "symbolic-ref", "HEAD").trim()).toBe("refs/heads/main")
    expect(git(realm, "rev-list", "--count", "main").trim()).toBe("1")
    expect(git(realm, "rev-parse", "main").trim()).toBe(out.commit)
    const message = git(realm, "log", "-1", "--format=%B")
    expect(message).toContain(`Blue-Event: ${eventFiles[0]}`)
    expect(message).toMatch(/^Blue-Event: events\/\S+\.json$/m)
    expect(git(realm, "status", "--porcelain")).toBe("")
    git(realm, "fsck", "--strict")
  })

  it("records --admission approval and prints the next step", () => {
    const ws = workspace()
    const human = ok(ws.blue(".", "realm", "admin", "init", "--name", "guarded", "--admission", "approval"), "init")
    const realm = ws.path("realm-guarded")
    expect(human.stdout).toContain(`✓ Created realm 'guarded' at ${realm}`)
    expect(human.stdout).toContain("✓ Admission: approval")
    expect(human.stdout).toContain(`blue realm admin join ${realm}`)
    expect(readYaml(path.join(realm, "realm.yaml")).governance.admission).toBe("approval")
    expect(fs.readFileSync(path.join(realm, "realm.yaml"), "utf8")).toMatch(/^  admission: approval$/m)
    const status = ok(ws.blue("realm-guarded", "realm", "status", "--json"), "status").json()
    expect(status.realm).toMatchObject({ name: "guarded", admission: "approval", repos: 0, domains: 0, position: 1 })

    // --path names an existing directory (init never creates missing ones, #9)
    fs.mkdirSync(ws.path("nested"))
    ok(ws.blue(".", "realm", "admin", "init", "--name", "other", "--path", ws.path("nested"), "--json"), "init")
    expect(fs.existsSync(ws.path("nested", "realm-other", "realm.yaml"))).toBe(true)
  })
})

describe("the seed story", () => {
  it("joins, creates domains (one naming a repo that has not joined yet) and writes the §3 files", () => {
    const ws = workspace()
    const aperture = ws.repo(APERTURE)
    const fungal = ws.repo(FUNGAL)
    ws.repo(ML)
    ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
    const realm = ws.path("realm-letemcook")

    const joinA = ok(ws.blue(APERTURE, "realm", "admin", "join", "../realm-letemcook", "--json"), "join").json()
    expect(joinA).toEqual({
      realm: "letemcook",
      repo: APERTURE,
      path: aperture,
      commit: git(realm, "rev-parse", "main").trim(),
      alreadyMember: false,
      config: path.join(aperture, ".blue", "config.yaml"),
      detected: []
    })
    expect(readYaml(path.join(aperture, ".blue", "config.yaml"))).toEqual({
      realm: { name: "letemcook", path: "../realm-letemcook" },
      repo: APERTURE
    })
    expect(fs.existsSync(path.join(aperture, ".blue", ".gitignore"))).toBe(true)
    expect(fs.readFileSync(path.join(aperture, ".blue", ".gitignore"), "utf8")).toContain("cache.db")
    expect(readYaml(path.join(realm, "repos", "aperture.yaml"))).toEqual({
      name: APERTURE,
      path: aperture,
      maintainers: ["tester@example.com"],
      joined_at: expect.stringMatching(ISO)
    })

    const create = ok(
      ws.blue(
        APERTURE,
        "realm",
        "admin",
        "domain",
        "create",
        "s3-access",
        "--repos",
        `${APERTURE},${FUNGAL}`,
        "--contract",
        "s3-permissions"
      ),
      "domain create"
    )
    expect(create.stdout.trim().split("\n")).toEqual([
      "✓ Wrote domains/s3-access/bindings/aperture.yaml (provider)",
      "✓ Wrote domains/s3-access/bindings/fungal-image-analysis.yaml (consumer)",
      "✓ Wrote domains/s3-access/contracts/s3-permissions.yaml",
      "✓ Wrote domains/s3-access/domain.yaml"
    ])
    const dom = path.join(realm, "domains", "s3-access")
    expect(lsFiles(realm).filter((f) => f.startsWith("domains/s3-access/"))).toEqual([
      "domains/s3-access/bindings/aperture.yaml",
      "domains/s3-access/bindings/fungal-image-analysis.yaml",
      "domains/s3-access/contracts/s3-permissions.yaml",
      "domains/s3-access/domain.yaml"
    ])
    expect(readYaml(path.join(dom, "domain.yaml"))).toEqual({
      name: "s3-access",
      description: expect.any(String),
      created_at: expect.stringMatching(ISO),
      members: [APERTURE, FUNGAL]
    })
    const contractText = fs.readFileSync(path.join(dom, "contracts", "s3-permissions.yaml"), "utf8")
    expect(contractText).toMatch(/^version: "1\.0\.0"$/m)
    expect(YAML.parse(contractText)).toEqual({
      name: "s3-permissions",
      version: "1.0.0",
      owner: APERTURE,
      compatibility: { backwards: true, forwards: false },
      schema: { type: "object", properties: {} },
      value: {},
      evolution: [{ version: "1.0.0", changes: [expect.any(String)], compatible: true }]
    })
    expect(readYaml(path.join(dom, "bindings", "aperture.yaml"))).toEqual({
      repo: APERTURE,
      role: "provider",
      exports: [{ contract: "s3-permissions", source_files: [] }]
    })
    const consumerText = fs.readFileSync(path.join(dom, "bindings", "fungal-image-analysis.yaml"), "utf8")
    expect(consumerText).toMatch(/^    version: "\^1\.0\.0"$/m)
    expect(consumerText).toMatch(/^    resolved_version: "1\.0\.0"$/m)
    expect(YAML.parse(consumerText)).toEqual({
      repo: FUNGAL,
      role: "consumer",
      imports: [{
        contract: "s3-permissions",
        version: "^1.0.0",
        status: "current",
        resolved_version: "1.0.0",
        resolved_at: expect.stringMatching(ISO)
      }]
    })
    // fungal is named by the domain but has not joined yet
    expect(fs.existsSync(path.join(realm, "repos", "fungal-image-analysis.yaml"))).toBe(false)

    const joinF = ok(ws.blue(FUNGAL, "realm", "admin", "join", "../realm-letemcook"), "join fungal")
    expect(joinF.stdout).toContain("✓ Created repos/fungal-image-analysis.yaml in realm 'letemcook'")
    expect(joinF.stdout).toContain("✓ Detected import: s3-permissions in domain s3-access")
    expect(joinF.stdout).toContain("✓ Wrote .blue/config.yaml")
    expect(readYaml(path.join(fungal, ".blue", "config.yaml"))).toEqual({
      realm: { name: "letemcook", path: "../realm-letemcook" },
      repo: FUNGAL
    })
    // Joining again reports the same bindings, unless --no-detect-exports.
    const detected = [{ domain: "s3-access", contract: "s3-permissions", role: "import" }]
    const again = (...flags: Array<string>) =>
      ok(ws.blue(FUNGAL, "realm", "admin", "join", "../realm-letemcook", ...flags, "--json"), "join again").json()
    expect(again("--detect-exports")).toMatchObject({ alreadyMember: true, detected })
    expect(again("--no-detect-exports")).toMatchObject({ alreadyMember: true, detected: [] })

    const joinM = ok(ws.blue(ML, "realm", "admin", "join", "../realm-letemcook", "--json"), "join ml").json()
    expect(joinM).toMatchObject({ repo: ML, alreadyMember: false, detected: [] })
    const tp = ok(
      ws.blue(
        FUNGAL,
        "realm",
        "admin",
        "domain",
        "create",
        "training-pipeline",
        "--repos",
        `${FUNGAL},${ML}`,
        "--contract",
        "job-schema",
        "--description",
        "Jobs fungal submits to ml-infra",
        "--json"
      ),
      "domain create training-pipeline"
    ).json()
    expect(tp).toEqual({
      realm: "letemcook",
      domain: "training-pipeline",
      commit: git(realm, "rev-parse", "main").trim(),
      provider: FUNGAL,
      consumers: [ML],
      contracts: ["job-schema"],
      files: [
        "domains/training-pipeline/bindings/fungal-image-analysis.yaml",
        "domains/training-pipeline/bindings/ml-infra.yaml",
        "domains/training-pipeline/contracts/job-schema.yaml",
        "domains/training-pipeline/domain.yaml"
      ]
    })
    expect(readYaml(path.join(realm, "domains", "training-pipeline", "domain.yaml")).description).toBe(
      "Jobs fungal submits to ml-infra"
    )
    expect(readYaml(path.join(realm, "domains", "training-pipeline", "contracts", "job-schema.yaml")).owner).toBe(
      FUNGAL
    )

    // without --contract the contract is named after the domain
    ok(ws.blue(realm, "realm", "admin", "domain", "create", "metrics", "--repos", `${APERTURE},${ML}`), "metrics")
    expect(fs.existsSync(path.join(realm, "domains", "metrics", "contracts", "metrics.yaml"))).toBe(true)
    expect(readYaml(path.join(realm, "domains", "metrics", "bindings", "ml-infra.yaml")).imports[0].contract).toBe(
      "metrics"
    )

    expect(git(realm, "rev-list", "--count", "main").trim()).toBe("7")
    for (const sha of git(realm, "rev-list", "main").trim().split("\n")) {
      expect(git(realm, "log", "-1", "--format=%B", sha)).toMatch(/^Blue-Event: events\/\S+\.json$/m)
    }
    expect(git(realm, "status", "--porcelain")).toBe("")
    git(realm, "fsck", "--strict")
  })
})

describe("blue realm status", () => {
  it("shows each repo its domains, role, contracts and peers, and the realm repo the admin view", () => {
    const { aperture, fungal, ml, realm, ws } = seed()
    const head = git(realm, "rev-parse", "main").trim()
    const realmView = {
      name: "letemcook",
      path: realm,
      head,
      position: 12,
      admission: "open",
      repos: 3,
      domains: 2
    }
    const repos = [
      { name: APERTURE, path: aperture, joined_at: expect.stringMatching(ISO) },
      { name: FUNGAL, path: fungal, joined_at: expect.stringMatching(ISO) },
      { name: ML, path: ml, joined_at: expect.stringMatching(ISO) }
    ]

    const a = ok(ws.blue(APERTURE, "realm", "status", "--json"), "status aperture").json()
    expect(a).toEqual({
      realm: realmView,
      repo: { name: APERTURE, member: true },
      domains: [{
        name: "s3-access",
        role: "provider",
        contracts: [{ name: "s3-permissions", version: "1.0.0", owner: APERTURE }],
        peers: [{ repo: FUNGAL, role: "consumer", joined: true }]
      }],
      repos,
      notifications: [],
      sessions: [],
      acknowledgements: []
    })

    const f = ok(ws.blue(FUNGAL, "realm", "status", "--json"), "status fungal").json()
    expect(f.repo).toEqual({ name: FUNGAL, member: true })
    expect(f.domains).toEqual([
      {
        name: "s3-access",
        role: "consumer",
        contracts: [{
          name: "s3-permissions",
          version: "1.0.0",
          owner: APERTURE,
          import: { version: "^1.0.0", status: "current", standing: "current", resolved_version: "1.0.0", changes: [] }
        }],
        peers: [{ repo: APERTURE, role: "provider", joined: true }]
      },
      {
        name: "training-pipeline",
        role: "provider",
        contracts: [{ name: "job-schema", version: "1.0.0", owner: FUNGAL }],
        peers: [{ repo: ML, role: "consumer", joined: true }]
      }
    ])

    const m = ok(ws.blue(ML, "realm", "status", "--json"), "status ml").json()
    expect(m.domains).toEqual([{
      name: "training-pipeline",
      role: "consumer",
      contracts: [{
        name: "job-schema",
        version: "1.0.0",
        owner: FUNGAL,
        import: { version: "^1.0.0", status: "current", standing: "current", resolved_version: "1.0.0", changes: [] }
      }],
      peers: [{ repo: FUNGAL, role: "provider", joined: true }]
    }])

    const admin = ok(ws.blue("realm-letemcook", "realm", "status", "--json"), "status admin").json()
    expect(admin).toEqual({
      realm: realmView,
      repo: null,
      domains: [
        {
          name: "s3-access",
          role: "member",
          contracts: [{ name: "s3-permissions", version: "1.0.0", owner: APERTURE }],
          peers: [{ repo: APERTURE, role: "provider", joined: true }, { repo: FUNGAL, role: "consumer", joined: true }]
        },
        {
          name: "training-pipeline",
          role: "member",
          contracts: [{ name: "job-schema", version: "1.0.0", owner: FUNGAL }],
          peers: [{ repo: FUNGAL, role: "provider", joined: true }, { repo: ML, role: "consumer", joined: true }]
        }
      ],
      repos,
      notifications: [],
      sessions: [],
      acknowledgements: []
    })

    // `blue status` is `blue realm status`, in both renderings, also from a subdirectory of the repo
    fs.mkdirSync(path.join(aperture, "src", "deep"), { recursive: true })
    expect(ok(ws.blue(APERTURE, "status", "--json"), "blue status --json").json()).toEqual(a)
    expect(ok(ws.blue(path.join(aperture, "src", "deep"), "status", "--json"), "status in subdir").json()).toEqual(a)
    const human = ok(ws.blue(APERTURE, "realm", "status"), "status human")
    expect(ok(ws.blue(APERTURE, "status"), "blue status").stdout).toBe(human.stdout)
    expect(human.stdout).toContain("📊 aperture (in realm: letemcook)")
    expect(human.stdout).toContain("s3-access (provider)")
    expect(human.stdout).toContain("Contract: s3-permissions v1.0.0 (owner: aperture)")
    expect(human.stdout).toContain("Peers: fungal-image-analysis (consumer)")
    expect(human.stderr).toBe("")
  })

  it("prints the same status through the fast path (daemon.db caught up) and the full engine (behind)", () => {
    const { realm, ws } = seed()
    const cases: Array<readonly [cwd: string, args: ReadonlyArray<string>]> = [
      [APERTURE, ["status", "--json"]],
      [FUNGAL, ["realm", "status"]],
      ["realm-letemcook", ["realm", "status", "--json"]]
    ]
    cases.forEach(([cwd, args], i) => {
      // an unrelated commit made with real git: daemon.db is now behind the realm
      fs.mkdirSync(path.join(realm, "notes"), { recursive: true })
      fs.writeFileSync(path.join(realm, "notes", `note-${i}.md`), `note ${i}\n`)
      commitAll(realm, `notes ${i}`)
      const head = git(realm, "rev-parse", "main").trim()
      expect(recordedHead(ws, realm)).not.toBe(head)

      const full = ok(ws.blue(cwd, ...args), `full ${args.join(" ")}`)
      expect(recordedHead(ws, realm)).toBe(head)
      const fast = ok(ws.blue(cwd, ...args), `fast ${args.join(" ")}`)
      expect(fast.stdout, `${cwd}: ${args.join(" ")}`).toBe(full.stdout)
      expect(fast.stderr).toBe(full.stderr)
      if (args.includes("--json")) expect(full.json().realm.head).toBe(head)
      else expect(full.stdout).toContain(`@ ${head.slice(0, 8)}`)
    })
  })
})

describe("blue realm graph", () => {
  it("renders text, mermaid, valid Graphviz dot and JSON", () => {
    const { realm, ws } = seed()
    // a domain naming a repo that has not joined yet (a dashed node in dot)
    ok(ws.blue(ML, "realm", "admin", "domain", "create", "dashboards", "--repos", `${ML},grafana-boards`), "domain")

    const text = ok(ws.blue(APERTURE, "realm", "graph"), "graph text").stdout
    expect(text.trimEnd().split("\n")).toEqual([
      "Realm letemcook: 4 repos, 3 dependencies",
      "  aperture → fungal-image-analysis  (s3-access: s3-permissions)",
      "  fungal-image-analysis → ml-infra  (training-pipeline: job-schema)",
      "  ml-infra → grafana-boards  (dashboards: dashboards)",
      "  not joined yet: grafana-boards"
    ])
    expect(ok(ws.blue(APERTURE, "realm", "graph", "--format", "text"), "graph text").stdout).toBe(text)

    const mermaid = ok(ws.blue(APERTURE, "realm", "graph", "--format", "mermaid"), "graph mermaid").stdout
    const mlines = mermaid.trimEnd().split("\n")
    expect(mlines[0]).toBe("graph LR")
    expect(mlines).toContain("  r0 -->|\"s3-access: s3-permissions\"| r1")
    expect(mlines).toContain("  r1 -->|\"training-pipeline: job-schema\"| r3")
    expect(mlines).toContain("  r2[\"grafana-boards (not joined)\"]")

    const dot = ok(ws.blue("realm-letemcook", "realm", "graph", "--format", "dot"), "graph dot").stdout
    const edges = checkDot(dot, "letemcook")
    expect(edges).toEqual([
      { from: APERTURE, to: FUNGAL, label: "s3-access: s3-permissions" },
      { from: FUNGAL, to: ML, label: "training-pipeline: job-schema" },
      { from: ML, to: "grafana-boards", label: "dashboards: dashboards" }
    ])
    expect(dot).toContain("  \"grafana-boards\" [style=dashed];")
    const version = spawnSync("dot", ["-V"], { encoding: "utf8" })
    if (version.error === undefined && version.status === 0) {
      const svg = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8" })
      expect(svg.status, svg.stderr).toBe(0)
      expect(svg.stdout).toContain("<svg")
    }

    const json = ok(ws.blue(FUNGAL, "realm", "graph", "--format", "dot", "--json"), "graph json").json()
    expect(json).toEqual({
      realm: "letemcook",
      format: "dot",
      nodes: [
        { repo: APERTURE, joined: true },
        { repo: FUNGAL, joined: true },
        { repo: "grafana-boards", joined: false },
        { repo: ML, joined: true }
      ],
      edges: [
        { from: APERTURE, to: FUNGAL, domain: "s3-access", contracts: ["s3-permissions"] },
        { from: FUNGAL, to: ML, domain: "training-pipeline", contracts: ["job-schema"] },
        { from: ML, to: "grafana-boards", domain: "dashboards", contracts: ["dashboards"] }
      ],
      rendered: dot.trimEnd()
    })
    expect(git(realm, "status", "--porcelain")).toBe("")
  })
})

describe("cycles", () => {
  it("refuses the domain that closes a cycle, names it, and changes nothing", () => {
    const { ml, realm, ws } = seed()
    const before = { realm: fingerprint(realm), db: dbFingerprint(ws.home), repo: fingerprint(ml) }
    const args = ["realm", "admin", "domain", "create", "feedback-loop", "--repos", `${ML},${APERTURE}`]

    const human = ws.blue(ML, ...args)
    expect(human.code).toBe(1)
    expect(human.stdout).toBe("")
    expect(human.stderr).toMatch(/^Error: [^\n]+\n$/)
    expect(human.stderr).toContain(
      "ml-infra → (feedback-loop) → aperture → (s3-access) → fungal-image-analysis → (training-pipeline) → ml-infra"
    )
    expect(human.stderr).toContain("'feedback-loop'")

    const json = ws.blue(ML, ...args, "--json")
    expect(json.code).toBe(1)
    expect(json.json()).toEqual({
      error: {
        _tag: "CycleDetected",
        domain: "feedback-loop",
        cycle: [
          { from: ML, domain: "feedback-loop", to: APERTURE },
          { from: APERTURE, domain: "s3-access", to: FUNGAL },
          { from: FUNGAL, domain: "training-pipeline", to: ML }
        ],
        message: human.stderr.replace(/^Error: /, "").trimEnd()
      }
    })

    expect(fingerprint(realm)).toEqual(before.realm)
    expect(dbFingerprint(ws.home)).toBe(before.db)
    expect(fingerprint(ml)).toEqual(before.repo)
    expect(fs.existsSync(path.join(realm, "domains", "feedback-loop"))).toBe(false)
  })
})

describe("blue realm admin leave", () => {
  it("refuses while others import our contracts, leaves with --force, and lets pure importers leave", () => {
    const { aperture, fungal, ml, realm, ws } = seed()
    const before = { realm: fingerprint(realm), db: dbFingerprint(ws.home), repo: fingerprint(fungal) }

    const refused = ws.blue(FUNGAL, "realm", "admin", "leave")
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^Error: [^\n]+\n$/)
    expect(refused.stderr).toContain("ml-infra (training-pipeline/job-schema)")
    expect(refused.stderr).toContain("--force")
    const refusedJson = ws.blue(FUNGAL, "realm", "admin", "leave", "--json")
    expect(refusedJson.code).toBe(1)
    expect(refusedJson.json().error).toMatchObject({
      _tag: "StillImported",
      repo: FUNGAL,
      importers: [{ repo: ML, domain: "training-pipeline", contract: "job-schema" }]
    })
    expect(fingerprint(realm)).toEqual(before.realm)
    expect(dbFingerprint(ws.home)).toBe(before.db)
    expect(fingerprint(fungal)).toEqual(before.repo)

    const forced = ok(ws.blue(FUNGAL, "realm", "admin", "leave", "--force", "--json"), "leave --force").json()
    expect(forced).toEqual({
      realm: "letemcook",
      repo: FUNGAL,
      commit: git(realm, "rev-parse", "main").trim(),
      forced: true,
      files: [
        "domains/s3-access/bindings/fungal-image-analysis.yaml",
        "domains/s3-access/domain.yaml",
        "domains/training-pipeline/bindings/fungal-image-analysis.yaml",
        "domains/training-pipeline/domain.yaml",
        "repos/fungal-image-analysis.yaml"
      ]
    })
    expect(fs.existsSync(path.join(realm, "repos", "fungal-image-analysis.yaml"))).toBe(false)
    expect(fs.existsSync(path.join(realm, "domains", "s3-access", "bindings", "fungal-image-analysis.yaml"))).toBe(
      false
    )
    expect(
      fs.existsSync(path.join(realm, "domains", "training-pipeline", "bindings", "fungal-image-analysis.yaml"))
    ).toBe(false)
    expect(readYaml(path.join(realm, "domains", "s3-access", "domain.yaml")).members).toEqual([APERTURE])
    expect(readYaml(path.join(realm, "domains", "training-pipeline", "domain.yaml")).members).toEqual([ML])
    expect(fs.existsSync(path.join(fungal, ".blue", "config.yaml"))).toBe(false)
    expect(git(realm, "status", "--porcelain")).toBe("")
    expect(git(realm, "log", "-1", "--format=%B")).toMatch(/^Blue-Event: events\/\S+\.json$/m)

    const mlLeaves = ok(ws.blue(ML, "realm", "admin", "leave"), "ml-infra leaves")
    expect(mlLeaves.stdout).toContain("✓ ml-infra left realm 'letemcook'")
    expect(fs.existsSync(path.join(realm, "repos", "ml-infra.yaml"))).toBe(false)
    expect(fs.existsSync(path.join(ml, ".blue", "config.yaml"))).toBe(false)
    expect(readYaml(path.join(realm, "domains", "training-pipeline", "domain.yaml")).members).toEqual([])

    const status = ok(ws.blue(APERTURE, "status", "--json"), "status").json()
    expect(status.realm).toMatchObject({ repos: 1, domains: 2, position: 14 })
    expect(status.repos).toEqual([{ name: APERTURE, path: aperture, joined_at: expect.stringMatching(ISO) }])
    expect(status.domains[0].peers).toEqual([])
    expect(ok(ws.blue(APERTURE, "realm", "replay", "--verify", "--json"), "replay").json()).toMatchObject({
      ok: true,
      events: 14
    })
  })
})

describe("blue realm log and replay", () => {
  it("log lists every event in order with its commit (--limit keeps the last N); replay --verify catches hand edits", () => {
    const { realm, ws } = seed()
    const log = ok(ws.blue(APERTURE, "realm", "log", "--json"), "log").json().events as Array<any>
    expect(log.map((e) => e.position)).toEqual(SEED_TYPES.map((_, i) => i + 1))
    expect(log.map((e) => e.type)).toEqual(SEED_TYPES)
    expect(log.every((e) => e.realm === "letemcook" && e.event._tag === e.type && ISO.test(e.time))).toBe(true)
    const commits = [...new Set(log.map((e) => e.commit as string))]
    expect(commits).toHaveLength(6)
    expect(commits).toEqual(git(realm, "rev-list", "--reverse", "main").trim().split("\n"))
    for (const c of commits) expect(git(realm, "cat-file", "-t", c).trim()).toBe("commit")
    for (const e of log) expect(git(realm, "log", "-1", "--format=%B", e.commit)).toContain(`/${e.id}.json`)
    expect(log[1].actor).toEqual({ repo: APERTURE, user: "tester@example.com" })

    expect(ok(ws.blue("realm-letemcook", "realm", "log", "--json"), "log from realm").json().events).toEqual(log)
    const last3 = ok(ws.blue(ML, "realm", "log", "--limit", "3", "--json"), "log --limit").json().events as Array<any>
    expect(last3.map((e) => e.position)).toEqual([10, 11, 12])
    expect(last3).toEqual(log.slice(-3))

    const human = ok(ws.blue(APERTURE, "realm", "log"), "log human").stdout.trimEnd().split("\n")
    expect(human).toHaveLength(12)
    expect(human[0]).toMatch(/^#1 \S+ RealmInitialized +realm letemcook \(admission open\)/)
    expect(human[2]).toContain("s3-access: aperture, fungal-image-analysis")

    // replay --verify agrees until a realm file is edited by hand; status keeps working
    const good = ws.blue(APERTURE, "realm", "replay", "--verify", "--json")
    expect(good.code).toBe(0)
    expect(good.json()).toMatchObject({
      realm: "letemcook",
      ok: true,
      verified: true,
      events: 12,
      commits: 6,
      differences: []
    })
    const goodHuman = ok(ws.blue("realm-letemcook", "realm", "replay", "--verify"), "replay human")
    expect(goodHuman.stdout).toContain("✓ Replayed 12 events from 6 commits of realm 'letemcook'")

    const file = path.join(realm, "realm.yaml")
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("grace_period_days: 14", "grace_period_days: 7"))
    commitAll(realm, "shorter grace period")

    const bad = ws.blue(APERTURE, "realm", "replay", "--verify", "--json")
    expect(bad.code).toBe(1)
    const doc = bad.json()
    expect(doc).toMatchObject({ ok: false, verified: true, events: 12, commits: 7 })
    expect(doc.differences.length).toBeGreaterThan(0)
    expect(doc.differences.some((d: string) => d.includes("realm.yaml"))).toBe(true)
    const badHuman = ws.blue(APERTURE, "realm", "replay", "--verify")
    expect(badHuman.code).toBe(1)
    expect(badHuman.stdout).toContain("realm.yaml")

    const status = ws.blue(APERTURE, "status", "--json")
    expect(status.code).toBe(0)
    expect(status.json().realm).toMatchObject({ head: git(realm, "rev-parse", "main").trim(), position: 12 })
    expect(ws.blue(APERTURE, "status").code).toBe(0)

    // --limit 0 shows no events (checked last, so that a failure here hides none of the checks above)
    const none = ok(ws.blue(ML, "realm", "log", "--limit", "0", "--json"), "log --limit 0").json().events
    expect(none).toEqual([])
  })
})

describe("joining again", () => {
  it("joins by the name of a realm this machine tracks", () => {
    const ws = workspace()
    const svc = ws.repo("svc")
    ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
    const out = ok(ws.blue("svc", "realm", "admin", "join", "letemcook", "--json"), "join by name").json()
    expect(out).toMatchObject({ realm: "letemcook", repo: "svc", path: svc, alreadyMember: false })
    expect(readYaml(path.join(svc, ".blue", "config.yaml"))).toEqual({
      realm: { name: "letemcook", path: "../realm-letemcook" },
      repo: "svc"
    })
    expect(readYaml(ws.path("realm-letemcook", "repos", "svc.yaml"))).toMatchObject({ name: "svc", path: svc })
    expect(ok(ws.blue("svc", "status", "--json"), "status").json().repo).toEqual({ name: "svc", member: true })
  })

  it("re-joining from the same path restores the config; a name taken by another path is refused", () => {
    const ws = workspace()
    const svc = ws.repo("svc")
    const other = ws.repo("other")
    ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
    ok(ws.blue("svc", "realm", "admin", "join", "../realm-letemcook"), "join")
    const realm = ws.path("realm-letemcook")
    const config = path.join(svc, ".blue", "config.yaml")
    const original = fs.readFileSync(config, "utf8")

    // the same repo joining again changes nothing
    const before = { realm: fingerprint(realm), db: dbFingerprint(ws.home) }
    const again = ok(ws.blue("svc", "realm", "admin", "join", "../realm-letemcook", "--json"), "join again").json()
    expect(again).toMatchObject({ realm: "letemcook", repo: "svc", alreadyMember: true, commit: null })
    expect(fs.readFileSync(config, "utf8")).toBe(original)

    // a lost config is rewritten
    fs.rmSync(config)
    const rejoin = ok(ws.blue("svc", "realm", "admin", "join", "../realm-letemcook"), "rejoin")
    expect(rejoin.stdout).toContain("✓ svc is already a member of realm 'letemcook'")
    expect(fs.readFileSync(config, "utf8")).toBe(original)
    expect(fingerprint(realm)).toEqual(before.realm)
    expect(dbFingerprint(ws.home)).toBe(before.db)

    const otherBefore = fingerprint(other)
    const taken = ws.blue("other", "realm", "admin", "join", "../realm-letemcook", "--name", "svc", "--json")
    expect(taken.code).toBe(1)
    expect(taken.json().error).toMatchObject({ _tag: "AlreadyMember", realm: "letemcook", repo: "svc" })
    expect(taken.json().error.message).toContain("--name")
    expect(fingerprint(other)).toEqual(otherBefore)
    expect(fingerprint(realm)).toEqual(before.realm)
    expect(dbFingerprint(ws.home)).toBe(before.db)
  })
})

describe("the command line itself", () => {
  it("--help lists the commands; an unknown command fails", () => {
    const ws = workspace()
    const help = ws.blue(".", "--help")
    expect(help.code).toBe(0)
    const text = stripAnsi(help.stdout)
    for (const word of ["init", "join", "domain create", "leave", "status", "graph", "log", "replay", "mcp"]) {
      expect(text, word).toContain(word)
    }
    const adminHelp = ws.blue(".", "realm", "admin", "--help")
    expect(adminHelp.code).toBe(0)
    expect(stripAnsi(adminHelp.stdout)).toContain("blue realm admin init")
    const initHelp = ws.blue(".", "realm", "admin", "init", "--help")
    expect(stripAnsi(initHelp.stdout)).toContain("--admission")

    // usage errors exit 64 (EX_USAGE)
    const unknown = ws.blue(".", "frobnicate")
    expect(unknown.code).toBe(64)
    const unknownSub = ws.blue(".", "realm", "frobnicate")
    expect(unknownSub.code).toBe(64)
    expect(fs.readdirSync(ws.root).filter((e) => e !== ".blue-home")).toEqual([])
  })
})
