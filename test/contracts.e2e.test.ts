/**
 * Contracts through the real bundled `blue` binary: `blue realm export` / `blue realm import`, change detection by
 * the extractors a repo declares in `.blue/config.yaml`, and what `status` shows exporters and importers. The
 * seed's daily-development story (aperture adds an S3 path in code, the export bumps 1.0.0 → 1.1.0, fungal's
 * import goes stale and is re-resolved; a removed path is a major bump that breaks it), hand-set versions,
 * ownership and the bad-input suite. Outcomes are asserted on the realm files, exit codes and `--json`.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { APERTURE, FUNGAL, ML, ok, readYaml, REALM, S3, seedStory, setExports } from "./support/seed.js"
import { landByGrace, landExplicitly } from "./support/sync.js"
import { dbFingerprint, fingerprint, git, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const workspaces: Array<Workspace> = []
const workspace = () => {
  const ws = makeWorkspace("blue-contracts")
  workspaces.push(ws)
  return ws
}

const CONTRACT_FILE = "domains/s3-access/contracts/s3-permissions.yaml"

interface Seeded {
  readonly ws: Workspace
  readonly realm: string
  readonly aperture: string
  readonly fungal: string
  readonly ml: string
}

/**
 * The seeds' realm: letemcook; aperture joins and creates s3-access (aperture → fungal, contract s3-permissions);
 * fungal and ml-infra join; fungal creates training-pipeline (fungal → ml-infra, contract job-schema).
 */
const seed = (): Seeded => {
  const ws = workspace()
  const { aperture, fungal, ml } = seedStory(ws)
  return { ws, realm: ws.path(REALM), aperture, fungal, ml }
}

/** The seed's extractor: S3 paths read by the Python models. */
const S3_PATTERN = {
  [S3]: {
    pattern: {
      files: ["models/**/*.py"],
      fields: { read: String.raw`read_path\("s3://[^/]+/([^"]+)"\)` }
    }
  }
}

const writeModels = (aperture: string, paths: ReadonlyArray<string>) => {
  fs.mkdirSync(path.join(aperture, "models"), { recursive: true })
  fs.writeFileSync(
    path.join(aperture, "models", "train.py"),
    paths.map((p, i) => `data_${i} = read_path("s3://letemcook-data/${p}")\n`).join("")
  )
}

const head = (dir: string) => git(dir, "rev-parse", "HEAD").trim()

/** The one contract view of `status --json` for s3-permissions. */
const s3View = (run: Run) => {
  const doc = run.json()
  const domain = doc.domains.find((d: any) => d.name === "s3-access")
  return domain.contracts.find((c: any) => c.name === S3)
}

/** Everything a refusal must leave as it was: the watched directories (.git included), daemon.db, the root. */
const snapshot = (ws: Workspace, watched: ReadonlyArray<string>) => ({
  dirs: Object.fromEntries(watched.map((d) => [d, Object.fromEntries(fingerprint(ws.path(d)))])),
  db: dbFingerprint(ws.home),
  root: fs.readdirSync(ws.root).sort()
})

interface Refusal {
  readonly tag: string
  /** what the one-sentence message must contain */
  readonly says?: ReadonlyArray<string>
  /** fields of the JSON error document */
  readonly fields?: Record<string, unknown>
}

/**
 * Runs a command that must be refused, in human mode (one "Error: …" line on stderr) and with --json (one
 * {"error": …} document on stdout): exit 1 both times, the same sentence, and nothing under `watched` changed.
 */
const expectRefused = (
  ws: Workspace,
  cwd: string,
  args: ReadonlyArray<string>,
  refusal: Refusal,
  watched: ReadonlyArray<string> = [REALM, cwd]
) => {
  const label = `blue ${args.join(" ")} (in ${cwd})`
  const before = snapshot(ws, watched)
  const human = ws.blue(cwd, ...args)
  expect.soft(human.code, `${label}: exit code\n${human.stderr}`).toBe(1)
  expect.soft(human.stdout, `${label}: stdout`).toBe("")
  expect.soft(human.stderr, `${label}: one "Error: " line on stderr`).toMatch(/^Error: [^\n]+\n$/)
  const message = human.stderr.replace(/^Error: /, "").trimEnd()
  expect.soft(message, `${label}: a sentence, not a dangling colon`).not.toMatch(/:$/)
  for (const s of refusal.says ?? []) expect.soft(message, `${label}: message`).toContain(s)
  const json = ws.blue(cwd, ...args, "--json")
  expect.soft(json.code, `${label} --json: exit code\n${json.stdout}`).toBe(1)
  expect.soft(json.stderr, `${label} --json: stderr`).toBe("")
  let doc: any
  try {
    doc = JSON.parse(json.stdout)
  } catch {
    doc = undefined
  }
  expect.soft(doc, `${label} --json: one JSON document on stdout, got:\n${json.stdout}`).toBeDefined()
  if (doc !== undefined) {
    expect.soft(Object.keys(doc), `${label} --json: document`).toEqual(["error"])
    expect.soft(doc.error?._tag, `${label} --json: _tag`).toBe(refusal.tag)
    expect.soft(doc.error?.message, `${label}: the same sentence in both modes`).toBe(message)
    for (const [k, v] of Object.entries(refusal.fields ?? {})) {
      expect.soft(doc.error?.[k], `${label} --json: field ${k}`).toEqual(v)
    }
  }
  expect.soft(snapshot(ws, watched), `${label}: nothing changed`).toEqual(before)
}

describe("the seed's daily development story", () => {
  let s: Seeded
  beforeAll(() => {
    s = seed()
    writeModels(s.aperture, ["jobs/*", "training-metrics/runs/*"])
    setExports(s.aperture, S3_PATTERN)
  })
  afterAll(() => s.ws.cleanup())

  it("status shows the paths detected in code as local changes, with the affected importer and its range", () => {
    const human = ok(s.ws.blue(APERTURE, "status"), "status")
    expect(human.stdout).toContain("s3-permissions has local changes")
    expect(human.stdout).toContain("+ jobs/* (read)")
    expect(human.stdout).toContain("+ training-metrics/runs/* (read)")
    expect(human.stdout).toContain("fungal-image-analysis (imports ^1.0.0)")
    const view = s3View(ok(s.ws.blue(APERTURE, "realm", "status", "--json"), "status --json"))
    expect(view).toMatchObject({ version: "1.0.0", owner: APERTURE })
    expect(view.local).toEqual({
      changes: ["+ jobs/* (read)", "+ training-metrics/runs/* (read)"],
      bump: "none",
      next_version: "1.0.0",
      affected: [{ repo: FUNGAL, range: "^1.0.0", after: "current" }]
    })
  })

  it("export --detect --source-files publishes the first value at 1.0.0 and records the source files", () => {
    const before = head(s.realm)
    const out = ok(
      s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect", "--source-files", "models/**/*.py", "--json"),
      "export"
    ).json()
    expect(out).toMatchObject({
      contract: S3,
      domain: "s3-access",
      changed: true,
      version: "1.0.0",
      bump: "initial",
      compatible: true,
      importers: [{ repo: FUNGAL, range: "^1.0.0", standing: "current" }]
    })
    expect(out.commit).toBe(head(s.realm))
    expect(out.commit).not.toBe(before)
    const contract = readYaml(path.join(s.realm, CONTRACT_FILE))
    expect(contract).toMatchObject({
      name: S3,
      version: "1.0.0",
      owner: APERTURE,
      value: { read: ["jobs/*", "training-metrics/runs/*"] }
    })
    expect(contract.evolution).toHaveLength(1)
    expect(contract.evolution[0]).toMatchObject({ version: "1.0.0", compatible: true })
    expect(readYaml(path.join(s.realm, "domains/s3-access/bindings/aperture.yaml"))).toEqual({
      repo: APERTURE,
      role: "provider",
      exports: [{ contract: S3, source_files: ["models/**/*.py"] }]
    })
    // code and contract agree now: no local change, and a second export publishes nothing
    expect(s3View(ok(s.ws.blue(APERTURE, "status", "--json"), "status")).local).toBeUndefined()
    const again = ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect", "--json"), "export again").json()
    expect(again).toMatchObject({ changed: false, version: "1.0.0", bump: "none", commit: null })
    expect(head(s.realm)).toBe(out.commit)
    const human = ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect"), "export again (human)")
    expect(human.stdout).toContain("code matches the contract (v1.0.0)")
    expect(head(s.realm)).toBe(out.commit)
  })

  it("a new path in code shows as `+ training-metrics/experiments/* (read)` and bumps 1.0.0 → 1.1.0 (minor)", () => {
    writeModels(s.aperture, ["jobs/*", "training-metrics/runs/*", "training-metrics/experiments/*"])
    const status = ok(s.ws.blue(APERTURE, "status"), "status").stdout
    expect(status).toContain("+ training-metrics/experiments/* (read)")
    expect(status).toContain("fungal-image-analysis (imports ^1.0.0)")
    expect(status).toContain("1.0.0 → 1.1.0 (minor)")
    expect(s3View(ok(s.ws.blue(APERTURE, "status", "--json"), "status")).local).toEqual({
      changes: ["+ training-metrics/experiments/* (read)"],
      bump: "minor",
      next_version: "1.1.0",
      affected: [{ repo: FUNGAL, range: "^1.0.0", after: "stale" }]
    })

    const out = ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect", "--json"), "export").json()
    expect(out).toMatchObject({
      changed: true,
      from: "1.0.0",
      version: "1.1.0",
      bump: "minor",
      compatible: true,
      changes: ["+ read: training-metrics/experiments/*"],
      importers: [{ repo: FUNGAL, range: "^1.0.0", standing: "stale" }]
    })
    // fungal imports it: the change is a proposal, which lands on main once its grace period has passed.
    expect(out.proposal).toMatchObject({ outcome: "opened", branch: expect.stringMatching(/^sync\/aperture\//) })
    landByGrace(s.ws, APERTURE)
    const text = fs.readFileSync(path.join(s.realm, CONTRACT_FILE), "utf8")
    expect(text).toMatch(/^version: "1\.1\.0"$/m)
    const contract = YAML.parse(text)
    expect(contract.value).toEqual({
      read: ["jobs/*", "training-metrics/experiments/*", "training-metrics/runs/*"]
    })
    expect(contract.evolution.at(-1)).toEqual({
      version: "1.1.0",
      changes: ["+ read: training-metrics/experiments/*"],
      compatible: true
    })
  })

  it("fungal's status shows its import as stale with the change; import re-resolves it to 1.1.0 (current)", () => {
    const view = s3View(ok(s.ws.blue(FUNGAL, "status", "--json"), "fungal status"))
    expect(view.version).toBe("1.1.0")
    expect(view.import).toMatchObject({
      version: "^1.0.0",
      standing: "stale",
      resolved_version: "1.0.0",
      changes: ["1.1.0: + read: training-metrics/experiments/*"]
    })
    expect(ok(s.ws.blue(FUNGAL, "status"), "fungal status").stdout).toContain("Stale import")
    const check = s.ws.blue(FUNGAL, "realm", "check", "--mode", "importer", "--json")
    expect(check.code).toBe(2)

    const out = ok(
      s.ws.blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", "^1.0.0", "--json"),
      "import"
    ).json()
    expect(out).toMatchObject({
      repo: FUNGAL,
      contract: S3,
      range: "^1.0.0",
      current: "1.1.0",
      status: "current",
      resolved_version: "1.1.0"
    })
    const binding = readYaml(path.join(s.realm, "domains/s3-access/bindings/fungal-image-analysis.yaml"))
    expect(binding.imports).toEqual([{
      contract: S3,
      version: "^1.0.0",
      status: "current",
      resolved_version: "1.1.0",
      resolved_at: expect.any(String)
    }])
    const after = s3View(ok(s.ws.blue(FUNGAL, "status", "--json"), "fungal status"))
    expect(after.import).toMatchObject({ standing: "current", resolved_version: "1.1.0", changes: [] })
    expect(s.ws.blue(FUNGAL, "realm", "check", "--mode", "importer").code).toBe(0)
  })

  it("a removed path is a major bump (2.0.0) that breaks fungal's ^1.0.0 import", () => {
    writeModels(s.aperture, ["jobs/*", "training-metrics/experiments/*"])
    const status = ok(s.ws.blue(APERTURE, "status", "--json"), "status")
    expect(s3View(status).local).toEqual({
      changes: ["- training-metrics/runs/* (read)"],
      bump: "major",
      next_version: "2.0.0",
      affected: [{ repo: FUNGAL, range: "^1.0.0", after: "broken" }]
    })
    const out = ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect", "--json"), "export").json()
    expect(out).toMatchObject({
      from: "1.1.0",
      version: "2.0.0",
      bump: "major",
      compatible: false,
      changes: ["- read: training-metrics/runs/*"],
      importers: [{ repo: FUNGAL, range: "^1.0.0", standing: "broken" }]
    })
    // A proposal: fungal's range rejects 2.0.0, so its sync reports it (exit 1, naming the explicit ack) and
    // acknowledges nothing; fungal acknowledges explicitly, the approver approves, it merges.
    const plain = s.ws.blue(FUNGAL, "realm", "sync")
    expect(plain.code).toBe(1)
    expect(plain.stdout).toContain(
      `To accept the break and adapt your code after the merge: blue realm ack ${out.proposal.id}`
    )
    expect(readYaml(path.join(s.realm, CONTRACT_FILE)).version).toBe("1.1.0")
    expect(landExplicitly(s.ws, APERTURE)).toEqual([out.proposal.id])
    expect(readYaml(path.join(s.realm, CONTRACT_FILE)).evolution.at(-1)).toEqual({
      version: "2.0.0",
      changes: ["- read: training-metrics/runs/*"],
      compatible: false
    })
    expect(s3View(ok(s.ws.blue(FUNGAL, "status", "--json"), "fungal status")).import).toMatchObject({
      standing: "broken",
      resolved_version: "1.1.0"
    })
    expect(ok(s.ws.blue(FUNGAL, "status"), "fungal status").stdout).toContain("Broken import")
    const check = s.ws.blue(FUNGAL, "realm", "check", "--mode", "importer", "--json")
    expect(check.code).toBe(1)
    expect(check.json().findings).toContainEqual(
      expect.objectContaining({ level: "error", code: "import-broken", contract: S3 })
    )
  })

  it("replay --verify stays clean and the log shows each ContractBumped with from → to", () => {
    const verify = ok(s.ws.blue(APERTURE, "realm", "replay", "--verify", "--json"), "replay --verify").json()
    expect(verify).toMatchObject({ verified: true, differences: [] })
    const log = ok(s.ws.blue(APERTURE, "realm", "log"), "log").stdout
    expect(log).toMatch(/ContractBumped\s+s3-access\/s3-permissions 1\.0\.0 → 1\.1\.0 \(minor\)/)
    expect(log).toMatch(/ContractBumped\s+s3-access\/s3-permissions 1\.1\.0 → 2\.0\.0 \(major\)/)
    const events = ok(s.ws.blue(APERTURE, "realm", "log", "--json"), "log --json").json().events as Array<any>
    const bumps = events.filter((e) => e.type === "ContractBumped").map((e) => [e.event.from, e.event.contract.version])
    expect(bumps).toEqual([["1.0.0", "1.1.0"], ["1.1.0", "2.0.0"]])
    expect(events.filter((e) => e.type === "ContractBumped").every((e) => e.actor.repo === APERTURE)).toBe(true)
  })
})

describe("blue realm export: value sources, schema and hand-set versions", () => {
  afterEach(() => {
    for (const ws of workspaces.splice(0)) ws.cleanup()
  })

  const SCHEMA = {
    type: "object",
    properties: { read: { type: "array", items: { type: "string" } } },
    required: ["read"]
  }

  it("--schema with --value, --file (YAML), then --version by hand: too small is refused, enough is used", () => {
    const { aperture, realm, ws } = seed()
    fs.writeFileSync(path.join(aperture, "schema.json"), JSON.stringify(SCHEMA))
    const first = ok(
      ws.blue(
        APERTURE,
        "realm",
        "export",
        "--name",
        S3,
        "--schema",
        "schema.json",
        "--value",
        `{"read":["a/*"]}`,
        "--json"
      ),
      "export --schema --value"
    ).json()
    expect(first).toMatchObject({ version: "1.0.0", bump: "initial" })
    expect(readYaml(path.join(realm, CONTRACT_FILE))).toMatchObject({
      version: "1.0.0",
      schema: SCHEMA,
      value: { read: ["a/*"] }
    })

    fs.writeFileSync(path.join(aperture, "value.yaml"), "read:\n  - a/*\n  - b/*\n")
    const second = ok(
      ws.blue(APERTURE, "realm", "export", "--name", S3, "--file", "value.yaml", "--json"),
      "export --file"
    ).json()
    expect(second).toMatchObject({ from: "1.0.0", version: "1.1.0", bump: "minor", changes: ["+ read: b/*"] })
    landByGrace(ws, APERTURE)
    expect(readYaml(path.join(realm, CONTRACT_FILE)).value).toEqual({ read: ["a/*", "b/*"] })

    expectRefused(
      ws,
      APERTURE,
      ["realm", "export", "--name", S3, "--value", `{"read":["a/*"]}`, "--version", "1.2.0"],
      {
        tag: "BumpTooSmall",
        says: ["1.2.0", "major"],
        fields: { contract: S3, from: "1.1.0", to: "1.2.0", required: "major" }
      }
    )

    const third = ok(
      ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["a/*"]}`, "--version", "3.0.0", "--json"),
      "export --version 3.0.0"
    ).json()
    expect(third).toMatchObject({ from: "1.1.0", version: "3.0.0", compatible: false })
    landExplicitly(ws, APERTURE)
    const contract = readYaml(path.join(realm, CONTRACT_FILE))
    expect(contract.version).toBe("3.0.0")
    expect(contract.evolution.map((e: any) => e.version)).toEqual(["1.0.0", "1.1.0", "3.0.0"])

    // a compatible change with a higher hand-set minor is accepted as given
    const fourth = ok(
      ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["a/*","c/*"]}`, "--version", "3.2.0"),
      "export --version 3.2.0"
    )
    expect(fourth.stdout).toContain("3.0.0 → 3.2.0")
    landByGrace(ws, APERTURE)
    expect(readYaml(path.join(realm, CONTRACT_FILE)).version).toBe("3.2.0")
  })

  it("a command extractor (prints JSON) and a file extractor (file + key path)", () => {
    const { aperture, realm, ws } = seed()
    setExports(aperture, {
      [S3]: { command: ["node", "-e", "console.log(JSON.stringify({read:['a']}))"] }
    })
    expect(s3View(ok(ws.blue(APERTURE, "status", "--json"), "status")).local).toMatchObject({
      changes: ["+ a (read)"],
      next_version: "1.0.0"
    })
    ok(ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect"), "export (command)")
    expect(readYaml(path.join(realm, CONTRACT_FILE))).toMatchObject({ version: "1.0.0", value: { read: ["a"] } })

    fs.mkdirSync(path.join(aperture, "config"))
    fs.writeFileSync(path.join(aperture, "config", "paths.yaml"), "s3:\n  read:\n    read: [a, b]\n")
    setExports(aperture, { [S3]: { file: "config/paths.yaml", key: "s3.read" } })
    expect(ok(ws.blue(APERTURE, "status"), "status").stdout).toContain("+ b (read)")
    const out = ok(ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect", "--json"), "export (file)").json()
    expect(out).toMatchObject({ from: "1.0.0", version: "1.1.0", bump: "minor", changes: ["+ read: b"] })
    landByGrace(ws, APERTURE)
    expect(readYaml(path.join(realm, CONTRACT_FILE)).value).toEqual({ read: ["a", "b"] })
  })
})

describe("ownership and bad input: one clear sentence, exit 1, nothing changed", () => {
  let s: Seeded
  beforeAll(() => {
    s = seed()
    fs.writeFileSync(
      path.join(s.aperture, "schema.json"),
      JSON.stringify({
        type: "object",
        properties: { read: { type: "array", items: { type: "string" } } },
        required: ["read"]
      })
    )
    ok(
      s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--schema", "schema.json", "--value", `{"read":["a/*"]}`),
      "export"
    )
  })
  afterAll(() => s.ws.cleanup())

  it("export from a repo that does not own the contract: NotContractOwner{contract, owner, actor}", () => {
    expectRefused(s.ws, FUNGAL, ["realm", "export", "--name", S3, "--value", `{"read":["mine/*"]}`], {
      tag: "NotContractOwner",
      says: [APERTURE, FUNGAL, S3],
      fields: { contract: S3, owner: APERTURE, actor: FUNGAL }
    })
  })

  it("export: --value that is not JSON, --file missing or not YAML, two sources at once", () => {
    expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--value", "{read"], {
      tag: "PathProblem",
      says: ["--value", "not JSON"]
    })
    expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--file", "nope.yaml"], {
      tag: "PathProblem",
      says: ["nope.yaml", "does not exist"]
    })
    fs.writeFileSync(path.join(s.aperture, "bad.yaml"), "read: [\n")
    expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--file", "bad.yaml"], {
      tag: "PathProblem",
      says: ["bad.yaml", "not JSON or YAML"]
    })
    expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--value", `{"read":[]}`, "--file", "bad.yaml"], {
      tag: "PathProblem",
      says: ["only one source"]
    })
  })

  it("export: a value that violates the schema, and an invalid schema (ContractValueInvalid)", () => {
    expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--value", `{"read":[1]}`], {
      tag: "ContractValueInvalid",
      says: [S3, "read"],
      fields: { contract: S3 }
    })
    expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--value", `{"paths":["a"]}`], {
      tag: "ContractValueInvalid",
      says: ["read"]
    })
    fs.writeFileSync(path.join(s.aperture, "badschema.json"), JSON.stringify({ type: "objectx" }))
    expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--schema", "badschema.json"], {
      tag: "ContractValueInvalid",
      says: ["schema"]
    })
  })

  it("export --detect: no extractor, an extractor with an invalid regex", () => {
    expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--detect"], {
      tag: "ExtractError",
      says: [S3, "exports.s3-permissions"]
    })
    setExports(s.aperture, { [S3]: { pattern: { files: ["**/*.py"], fields: { read: `read_path\\(("` } } } })
    try {
      expectRefused(s.ws, APERTURE, ["realm", "export", "--name", S3, "--detect"], {
        tag: "ExtractError",
        says: ["invalid regex"]
      })
    } finally {
      setExports(s.aperture, undefined)
    }
  })

  it("import: a bad range, an unknown contract, its own contract, a cycle, a missing --binding file", () => {
    const importArgs = (contract: string, domain: string, range: string) => [
      "realm",
      "import",
      "--contract",
      contract,
      "--domain",
      domain,
      "--version",
      range
    ]
    expectRefused(s.ws, ML, importArgs(S3, "s3-access", "banana"), {
      tag: "InvalidRange",
      says: ["\"banana\""],
      fields: { value: "banana" }
    })
    expectRefused(s.ws, ML, importArgs("nope", "s3-access", "^1.0.0"), {
      tag: "ContractNotFound",
      says: ["'nope'"],
      fields: { contract: "nope", domain: "s3-access" }
    })
    expectRefused(s.ws, APERTURE, importArgs(S3, "s3-access", "^1.0.0"), {
      tag: "RoleConflict",
      says: [APERTURE, S3],
      fields: { domain: "s3-access", repo: APERTURE }
    })
    expectRefused(s.ws, APERTURE, importArgs("job-schema", "training-pipeline", "^1.0.0"), {
      tag: "CycleDetected",
      says: [`${FUNGAL} → (training-pipeline) → ${APERTURE} → (s3-access) → ${FUNGAL}`],
      fields: {
        cycle: [
          { from: FUNGAL, domain: "training-pipeline", to: APERTURE },
          { from: APERTURE, domain: "s3-access", to: FUNGAL }
        ]
      }
    })
    expectRefused(s.ws, ML, [...importArgs(S3, "s3-access", "^1.0.0"), "--binding", "cdk/stack.py"], {
      tag: "PathProblem",
      says: ["cdk/stack.py", "--binding"]
    })
  })

  it("after all the refusals the realm still replays cleanly", () => {
    const verify = ok(s.ws.blue(APERTURE, "realm", "replay", "--verify", "--json"), "replay --verify").json()
    expect(verify).toMatchObject({ verified: true, differences: [] })
    const types = (ok(s.ws.blue(APERTURE, "realm", "log", "--json"), "log").json().events as Array<any>).map((e) =>
      e.type
    )
    expect(types.at(-1)).toBe("ContractPublished")
    expect(types.filter((t) => t === "ContractBumped")).toEqual([])
  })
})
