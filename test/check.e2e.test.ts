/**
 * `blue realm check` through the real bundled binary: every mode's exit code (0 valid, 1 invalid, 2 warnings only)
 * and `--json` report, the JUnit and GitHub/Forgejo output formats, validation hooks and the trust store, and the
 * repo cache's statistics. Realms and repos are made in temp dirs; hand-made realm commits use the real git.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { APERTURE, FUNGAL, ML, ok, readYaml, REALM, S3, seedStory, setExports } from "./support/seed.js"
import { landByGrace, landExplicitly } from "./support/sync.js"
import { git, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const CONTRACT_FILE = "domains/s3-access/contracts/s3-permissions.yaml"
const MAINTAINER = "tester@example.com"
const MALLORY = "mallory@example.com"

const SCHEMA = {
  type: "object",
  properties: { read: { type: "array", items: { type: "string" } } },
  required: ["read"]
}

interface Seeded {
  readonly ws: Workspace
  readonly realm: string
  readonly aperture: string
  readonly fungal: string
  readonly ml: string
  /** `blue realm check …` in `cwd`; the exit code must be one of 0/1/2 */
  readonly check: (cwd: string, ...args: Array<string>) => Run
  /** aperture publishes s3-permissions with `value` (and the schema, the first time) */
  readonly publish: (value: unknown, ...extra: Array<string>) => any
}

/**
 * The seeds' realm (s3-access: aperture → fungal, training-pipeline: fungal → ml-infra); aperture publishes
 * s3-permissions 1.0.0 with a schema and `read: [a/*, b/*]`.
 */
const seed = (): Seeded => {
  const ws = makeWorkspace("blue-check")
  const { aperture, fungal, ml } = seedStory(ws)
  fs.writeFileSync(path.join(aperture, "schema.json"), JSON.stringify(SCHEMA))
  const publish = (value: unknown, ...extra: Array<string>) =>
    ok(
      ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", JSON.stringify(value), ...extra, "--json"),
      `export ${JSON.stringify(value)}`
    ).json()
  publish({ read: ["a/*", "b/*"] }, "--schema", "schema.json")
  const check = (cwd: string, ...args: Array<string>) => {
    const run = ws.blue(cwd, "realm", "check", ...args)
    expect([0, 1, 2], `check ${args.join(" ")}: exit ${run.code}\n${run.stdout}\n${run.stderr}`).toContain(run.code)
    return run
  }
  return { ws, realm: ws.path(REALM), aperture, fungal, ml, check, publish }
}

const S3_PATTERN = {
  [S3]: { pattern: { files: ["models/**/*.py"], fields: { read: String.raw`read_path\("s3://[^/]+/([^"]+)"\)` } } }
}

const writeModels = (aperture: string, paths: ReadonlyArray<string>) => {
  fs.mkdirSync(path.join(aperture, "models"), { recursive: true })
  fs.writeFileSync(
    path.join(aperture, "models", "train.py"),
    paths.map((p, i) => `data_${i} = read_path("s3://bucket/${p}")\n`).join("")
  )
}

/** The --json report of a check run, with its exit code matching `exit_code`. */
const reportOf = (run: Run) => {
  const doc = run.json()
  expect(doc.exit_code).toBe(run.code)
  expect(doc.ok).toBe(run.code === 0)
  for (const f of doc.findings) {
    expect(["ok", "warning", "error"]).toContain(f.level)
    expect(typeof f.code).toBe("string")
    expect(typeof f.message).toBe("string")
  }
  return doc
}

const codes = (doc: any) => (doc.findings as Array<any>).map((f) => `${f.level}:${f.code}`)

/** Runs real git in `dir` as `email` (ignoring any identity in the environment) and returns stdout. */
const gitAs = (dir: string, email: string, ...args: Array<string>): string => {
  const env = { ...process.env }
  for (const k of ["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"]) delete env[k]
  const r = spawnSync("git", ["-c", `user.email=${email}`, "-c", `user.name=${email.split("@")[0]}`, ...args], {
    cwd: dir,
    env,
    encoding: "utf8"
  })
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed in ${dir}: ${r.stderr}`)
  return r.stdout
}

/** Edits a YAML file of the realm checkout in place. */
const editYaml = (file: string, edit: (doc: any) => void) => {
  const doc = readYaml(file)
  edit(doc)
  fs.writeFileSync(file, YAML.stringify(doc))
}

/** Commits everything in the realm checkout by hand (no Blue event) as `email`; returns the commit id. */
const handCommit = (realm: string, email: string, message: string) => {
  gitAs(realm, email, "add", "-A")
  gitAs(realm, email, "commit", "-q", "-m", message)
  return git(realm, "rev-parse", "HEAD").trim()
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/**
 * Commits, with the real git and as `email`, a Blue event made by hand: a copy of the realm's last
 * ContractPublished/ContractBumped event of s3-permissions at the next position, changed by `edit`. No CLI command
 * sets `validation` on a contract (export takes only schema/value/version, and hand-edited contract files never
 * reach the folded state), so this is the only way to give a contract validation hooks.
 */
const commitEventByHand = (realm: string, email: string, edit: (contract: any) => void) => {
  const log = git(realm, "log", "--format=%B%x00")
  const paths = [...log.matchAll(/^Blue-Event: (.+)$/gm)].map((m) => m[1]!)
  const envelopes = paths.map((p) => JSON.parse(fs.readFileSync(path.join(realm, p), "utf8")))
  const last = envelopes.reduce((a, b) => (b.position > a.position ? b : a))
  const base = envelopes.filter((e) =>
    (e.type === "ContractPublished" || e.type === "ContractBumped") && e.event.contract.name === S3
  ).reduce((a, b) => (b.position > a.position ? b : a))
  const random = Array.from({ length: 16 }, () => CROCKFORD[Math.floor(Math.random() * 32)]).join("")
  const id = `${last.id.slice(0, 10)}${random}`
  const contract = structuredClone(base.event.contract)
  edit(contract)
  const envelope = {
    ...base,
    id,
    position: last.position + 1,
    causationId: id,
    correlationId: id,
    event: { ...base.event, contract }
  }
  const file = `events/${envelope.time.slice(0, 10)}/${envelope.time.slice(11, 13)}/${id}.json`
  fs.mkdirSync(path.dirname(path.join(realm, file)), { recursive: true })
  fs.writeFileSync(path.join(realm, file), JSON.stringify(envelope, null, 2) + "\n")
  gitAs(realm, email, "add", file)
  gitAs(
    realm,
    email,
    "commit",
    "-q",
    "-m",
    "1 events by aperture",
    "-m",
    `Blue-Realm: letemcook\nBlue-Actor: aperture (${MAINTAINER})\nBlue-Event: ${file}`
  )
  return git(realm, "rev-parse", "HEAD").trim()
}

interface XmlElement {
  readonly name: string
  readonly attrs: Record<string, string>
  readonly children: Array<XmlElement>
}

/** A small, strict XML reader: one declaration, one root, balanced tags, quoted attributes, known entities. */
const parseXml = (text: string): XmlElement => {
  const decl = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n?/
  expect(text).toMatch(decl)
  const body = text.replace(decl, "")
  const entity = /&(?!(?:amp|lt|gt|quot|apos);)/
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy
  const stack: Array<XmlElement> = []
  let root: XmlElement | undefined
  let m: RegExpExecArray | null
  let at = 0
  while (at < body.length && (m = token.exec(body)) !== null) {
    at = token.lastIndex
    const [, close, name, attrText, selfClose, textNode] = m
    if (textNode !== undefined) {
      expect(entity.test(textNode), `bare & in ${JSON.stringify(textNode)}`).toBe(false)
      if (stack.length === 0) expect(textNode.trim()).toBe("")
      continue
    }
    if (close === "/") {
      expect(stack.pop()?.name, `</${name}> closes the open element`).toBe(name)
      continue
    }
    const attrs: Record<string, string> = {}
    for (const a of attrText!.matchAll(/([\w:.-]+)="([^"]*)"/g)) {
      expect(entity.test(a[2]!), `bare & in attribute ${a[1]}`).toBe(false)
      expect(attrs[a[1]!], `attribute ${a[1]} given twice`).toBeUndefined()
      attrs[a[1]!] = a[2]!
    }
    const el: XmlElement = { name: name!, attrs, children: [] }
    if (stack.length === 0) {
      expect(root, "one root element").toBeUndefined()
      root = el
    } else stack.at(-1)!.children.push(el)
    if (selfClose !== "/") stack.push(el)
  }
  expect(at, `unparsable XML at ${JSON.stringify(body.slice(at, at + 40))}`).toBe(body.length)
  expect(stack.map((e) => e.name), "unclosed elements").toEqual([])
  expect(root).toBeDefined()
  return root!
}

const descendants = (el: XmlElement, name: string): Array<XmlElement> =>
  el.children.flatMap((c) => [...(c.name === name ? [c] : []), ...descendants(c, name)])

describe("--mode exporter and --mode importer", () => {
  let s: Seeded
  beforeAll(() => {
    s = seed()
    writeModels(s.aperture, ["a/*", "b/*"])
    setExports(s.aperture, S3_PATTERN)
  })
  afterAll(() => s.ws.cleanup())

  it("exporter: code matching the contract → 0", () => {
    const run = s.check(APERTURE, "--mode", "exporter", "--json")
    expect(run.code).toBe(0)
    const doc = reportOf(run)
    expect(doc.mode).toBe("exporter")
    expect(doc.findings).toEqual([
      expect.objectContaining({ level: "ok", code: "exporter-match", contract: S3, domain: "s3-access" })
    ])
  })

  it("exporter: code that drifted from the contract → 1, naming the difference and the bump", () => {
    writeModels(s.aperture, ["a/*", "c/*"])
    try {
      const run = s.check(APERTURE, "--mode", "exporter", "--json")
      expect(run.code).toBe(1)
      const [f] = reportOf(run).findings
      expect(f).toMatchObject({ level: "error", code: "exporter-drift", contract: S3 })
      expect(f.message).toContain("+ read: c/*")
      expect(f.message).toContain("- read: b/*")
      expect(f.message).toContain("major")
      const text = s.check(APERTURE, "--mode", "exporter")
      expect(text.code).toBe(1)
      expect(text.stdout).toContain("+ read: c/*")
    } finally {
      writeModels(s.aperture, ["a/*", "b/*"])
    }
  })

  it("exporter: no extractor declared → 2 (cannot compare); a repo owning nothing → 2", () => {
    setExports(s.aperture, undefined)
    try {
      const run = s.check(APERTURE, "--mode", "exporter", "--json")
      expect(run.code).toBe(2)
      expect(codes(reportOf(run))).toEqual(["warning:no-extractor"])
    } finally {
      setExports(s.aperture, S3_PATTERN)
    }
    const ml = s.check(ML, "--mode", "exporter", "--json")
    expect(ml.code).toBe(2)
    expect(codes(reportOf(ml))).toEqual(["warning:no-exports"])
  })

  it("importer: current → 0, stale → 2, broken → 1", () => {
    const current = s.check(FUNGAL, "--mode", "importer", "--json")
    expect(current.code).toBe(0)
    expect(reportOf(current)).toMatchObject({ mode: "importer", exit_code: 0 })
    expect(codes(current.json())).toEqual(["ok:import-current"])

    // Each change fungal imports is a proposal. This compatible one lands by its grace period, through a sync by
    // ml-infra (a sync in aperture would publish its code, which says otherwise, and fungal's would resolve it).
    s.publish({ read: ["a/*", "b/*", "c/*"] })
    landByGrace(s.ws, ML)
    const stale = s.check(FUNGAL, "--mode", "importer", "--json")
    expect(stale.code).toBe(2)
    const [w] = reportOf(stale).findings
    expect(w).toMatchObject({ level: "warning", code: "import-stale", contract: S3, domain: "s3-access" })
    expect(w.message).toContain("1.1.0")
    expect(w.message).toContain("^1.0.0")

    // This breaking one lands once fungal acknowledges it explicitly and the approver approves it.
    s.publish({ read: ["a/*", "c/*"] })
    landExplicitly(s.ws, APERTURE)
    const broken = s.check(FUNGAL, "--mode", "importer", "--json")
    expect(broken.code).toBe(1)
    const [e] = reportOf(broken).findings
    expect(e).toMatchObject({ level: "error", code: "import-broken", contract: S3 })
    expect(e.message).toContain("2.0.0")
    expect(e.message).toContain("^1.0.0")
    // and exporter mode in aperture still agrees with code only when code says the same
    writeModels(s.aperture, ["a/*", "c/*"])
    expect(s.check(APERTURE, "--mode", "exporter").code).toBe(0)
  })

  it("--format github: ::warning / ::error annotations and a ::notice summary", () => {
    const run = s.check(FUNGAL, "--mode", "importer", "--format", "github")
    expect(run.code).toBe(1)
    const lines = run.stdout.trimEnd().split("\n")
    expect(lines.filter((l) => l.startsWith("::error "))).toHaveLength(1)
    expect(lines[0]).toMatch(/^::error title=[^:]*::s3-permissions: the contract is at 2\.0\.0/)
    expect(lines.at(-1)).toMatch(/^::notice title=.*::1 error, 0 warnings, 0 ok$/)
    for (const l of lines) expect(l).toMatch(/^::(error|warning|notice) [^\n]*::/)

    ok(
      s.ws.blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", "^2.0.0"),
      "import ^2.0.0"
    )
    s.publish({ read: ["a/*", "c/*", "d/*"] })
    landByGrace(s.ws, ML)
    const warn = s.check(FUNGAL, "--mode", "importer", "--format", "github")
    expect(warn.code).toBe(2)
    const wl = warn.stdout.trimEnd().split("\n")
    expect(wl[0]).toMatch(/^::warning title=[^\n]*::s3-permissions: binding at 2\.0\.0, 2\.1\.0 is available/)
    expect(wl.at(-1)).toMatch(/^::notice title=.*::0 errors, 1 warning, 0 ok$/)
  })
})

describe("--mode contract (the realm checkout, edited by hand and not committed)", () => {
  let s: Seeded
  let file: string
  beforeAll(() => {
    s = seed()
    file = path.join(s.realm, CONTRACT_FILE)
  })
  afterAll(() => s.ws.cleanup())

  /** Edits the contract file, runs check --mode contract --json in aperture, restores the file. */
  const withEdit = (edit: (doc: any) => void) => {
    editYaml(file, edit)
    try {
      return s.check(APERTURE, "--mode", "contract", "--json")
    } finally {
      git(s.realm, "checkout", "--", CONTRACT_FILE)
    }
  }
  const s3Finding = (run: Run) => reportOf(run).findings.find((f: any) => f.contract === S3)

  it("every contract valid → 0", () => {
    const run = s.check(APERTURE, "--mode", "contract", "--json")
    expect(run.code).toBe(0)
    const doc = reportOf(run)
    expect(doc.mode).toBe("contract")
    expect(codes(doc).sort()).toEqual(["ok:contract-valid", "ok:contract-valid"])
    expect(s.check(ML, "--mode", "contract").code).toBe(0)
  })

  it("a value that violates the schema → 1", () => {
    const run = withEdit((c) => (c.value = { read: [1] }))
    expect(run.code).toBe(1)
    expect(s3Finding(run)).toMatchObject({ level: "error", code: "value-invalid", file: CONTRACT_FILE })
  })

  it("an owner change → 1", () => {
    const run = withEdit((c) => (c.owner = FUNGAL))
    expect(run.code).toBe(1)
    const f = s3Finding(run)
    expect(f).toMatchObject({ level: "error", code: "owner-changed" })
    expect(f.message).toContain(FUNGAL)
    expect(f.message).toContain(APERTURE)
  })

  it("a higher version with a compatible change → 2 (unpublished, bump OK)", () => {
    const run = withEdit((c) => {
      c.version = "1.1.0"
      c.value = { read: ["a/*", "b/*", "c/*"] }
    })
    expect(run.code).toBe(2)
    const f = s3Finding(run)
    expect(f).toMatchObject({ level: "warning", code: "unpublished", file: CONTRACT_FILE })
    expect(f.message).toContain("minor")
  })

  it("a breaking change with a version too small → 1", () => {
    const run = withEdit((c) => {
      c.version = "1.0.1"
      c.value = { read: ["a/*"] }
    })
    expect(run.code).toBe(1)
    const f = s3Finding(run)
    expect(f).toMatchObject({ level: "error", code: "bump-too-small" })
    expect(f.message).toContain("major")
  })

  it("an invalid schema → 1", () => {
    const run = withEdit((c) => (c.schema = { type: "objectx" }))
    expect(run.code).toBe(1)
    expect(s3Finding(run)).toMatchObject({ level: "error", code: "schema-invalid" })
  })

  it("--format junit: well-formed XML, one <testcase> per finding, <failure> for each error", () => {
    editYaml(file, (c) => (c.value = { read: [1] }))
    try {
      const json = reportOf(s.check(APERTURE, "--mode", "contract", "--json"))
      const run = s.check(APERTURE, "--mode", "contract", "--format", "junit")
      expect(run.code).toBe(1)
      expect(run.stdout.startsWith("<?xml")).toBe(true)
      const root = parseXml(run.stdout.trimEnd())
      expect(root.name).toBe("testsuites")
      const cases = descendants(root, "testcase")
      expect(cases).toHaveLength(json.findings.length)
      const failures = cases.filter((c) => c.children.some((x) => x.name === "failure"))
      expect(failures).toHaveLength(json.findings.filter((f: any) => f.level === "error").length)
      expect(failures).toHaveLength(1)
      expect(failures[0]!.children[0]!.attrs["type"]).toBe("value-invalid")
      expect(root.attrs["failures"]).toBe("1")
      expect(root.attrs["tests"]).toBe(String(cases.length))
    } finally {
      git(s.realm, "checkout", "--", CONTRACT_FILE)
    }
  })
})

describe("--mode compatibility", () => {
  let s: Seeded
  beforeAll(() => {
    s = seed()
    // 1.0.0 [a, b] → 2.0.0 [a] (b removed) → 2.1.0 [a, c], each landed through its proposal (fungal imports it):
    // the break once fungal acknowledges it explicitly and the approver approves, the next by its grace period.
    s.publish({ read: ["a/*"] })
    landExplicitly(s.ws, APERTURE)
    s.publish({ read: ["a/*", "c/*"] })
    landByGrace(s.ws, APERTURE)
  })
  afterAll(() => s.ws.cleanup())

  const write = (name: string, doc: unknown) => {
    const f = path.join(s.aperture, name)
    fs.writeFileSync(f, typeof doc === "string" ? doc : JSON.stringify(doc))
    return name
  }

  it("--from/--to over the realm's history: the fields, a breaking step, an unknown version", () => {
    const step = s.check(APERTURE, "--mode", "compatibility", "--from", "2.0.0", "--to", "2.1.0", "--json")
    expect(step.code).toBe(0)
    const doc = reportOf(step)
    expect(doc).toMatchObject({
      mode: "compatibility",
      exit_code: 0,
      backwards: true,
      forwards: true,
      bump: "minor",
      changes: [{ path: "read", kind: "value-added", breaking: false }]
    })
    expect(doc.compatibility).toHaveLength(1)
    expect(doc.compatibility[0]).toMatchObject({ from: "2.0.0", to: "2.1.0", made: "minor", sufficient: true })

    const breaking = reportOf(
      s.check(APERTURE, "--mode", "compatibility", "--name", S3, "--from", "1.0.0", "--to", "2.0.0", "--json")
    )
    expect(breaking).toMatchObject({ exit_code: 0, bump: "major" })
    expect(breaking.changes).toContainEqual(
      expect.objectContaining({ path: "read", kind: "value-removed", breaking: true })
    )
    expect(breaking.compatibility[0]).toMatchObject({ made: "major", sufficient: true })

    const unknown = s.check(APERTURE, "--mode", "compatibility", "--from", "1.5.0", "--to", "2.1.0", "--json")
    expect(unknown.code).toBe(1)
    expect(codes(reportOf(unknown))).toEqual(["error:version-unknown"])
    expect(unknown.json().findings[0].message).toContain("1.0.0, 2.0.0, 2.1.0")
  })

  it("--transitive compares the last version with every earlier one: it breaks 1.0.0 but not 2.0.0", () => {
    const direct = reportOf(s.check(APERTURE, "--mode", "compatibility", "--json"))
    expect(direct.compatibility.map((c: any) => [c.from, c.to])).toEqual([["2.0.0", "2.1.0"]])
    expect(direct.changes.some((c: any) => c.breaking)).toBe(false)

    const run = s.check(APERTURE, "--mode", "compatibility", "--transitive", "--json")
    const doc = reportOf(run)
    expect(doc.compatibility.map((c: any) => [c.from, c.to])).toEqual([["1.0.0", "2.1.0"], ["2.0.0", "2.1.0"]])
    const [fromFirst, fromSecond] = doc.compatibility
    expect(fromFirst).toMatchObject({ bump: "major", made: "major", sufficient: true })
    expect(fromFirst.changes).toContainEqual(
      expect.objectContaining({ path: "read", kind: "value-removed", breaking: true, detail: "- read: b/*" })
    )
    expect(fromSecond).toMatchObject({ bump: "minor", sufficient: true })
    // every step made a big enough bump, so the transitive check passes
    expect(run.code).toBe(0)
    const text = s.check(APERTURE, "--mode", "compatibility", "--transitive")
    expect(text.stdout).toContain("Checking s3-permissions 1.0.0 → 2.1.0")
    expect(text.stdout).toContain("- read: b/* - BREAKING")
  })

  it("--old/--new with two contract files: the versions must make the bump the change needs", () => {
    const contract = (version: string, read: Array<string>) =>
      YAML.stringify({
        name: S3,
        version,
        owner: APERTURE,
        compatibility: { backwards: true, forwards: false },
        schema: SCHEMA,
        value: { read },
        evolution: []
      })
    write("old.yaml", contract("1.0.0", ["a/*", "b/*"]))
    write("minor.yaml", contract("1.1.0", ["a/*"]))
    write("major.yaml", contract("2.0.0", ["a/*"]))
    write("added.yaml", contract("1.1.0", ["a/*", "b/*", "c/*"]))

    const tooSmall = s.check(APERTURE, "--mode", "compatibility", "--old", "old.yaml", "--new", "minor.yaml", "--json")
    expect(tooSmall.code).toBe(1)
    const bad = reportOf(tooSmall)
    expect(bad).toMatchObject({ bump: "major", compatibility: [{ from: "1.0.0", to: "1.1.0", made: "minor" }] })
    expect(bad.findings[0]).toMatchObject({ level: "error", code: "bump-too-small", contract: S3 })
    expect(bad.findings[0].message).toContain("major")

    const major = s.check(APERTURE, "--mode", "compatibility", "--old", "old.yaml", "--new", "major.yaml", "--json")
    expect(major.code).toBe(0)
    const added = s.check(APERTURE, "--mode", "compatibility", "--old", "old.yaml", "--new", "added.yaml", "--json")
    expect(added.code).toBe(0)
    expect(reportOf(added)).toMatchObject({
      bump: "minor",
      changes: [{ path: "read", kind: "value-added", breaking: false }]
    })
  })

  it("--old/--new with two bare JSON Schema files, judged against the default promise (backwards only)", () => {
    const open = write("open.json", { type: "object", properties: { a: { type: "string" } } })
    const closed = write("closed.json", {
      type: "object",
      properties: { a: { type: "string" } },
      additionalProperties: false
    })
    const closedRequired = write("closed-required.json", {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "integer" } },
      required: ["b"],
      additionalProperties: false
    })
    const openRequired = write("open-required.json", {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "integer" } },
      required: ["b"]
    })
    const compare = (a: string, b: string) =>
      s.check(APERTURE, "--mode", "compatibility", "--old", a, "--new", b, "--json")

    // closing an object: old values with extra fields are rejected by the new schema → not forwards
    const closing = compare(open, closed)
    expect(closing.code).toBe(0)
    expect(reportOf(closing)).toMatchObject({ backwards: true, forwards: false, bump: "minor" })
    expect(closing.json().changes).toContainEqual(expect.objectContaining({ breaking: false }))

    // adding a required field without default to a closed object: new values carry a field old readers reject
    const adding = compare(closed, closedRequired)
    expect(adding.code).toBe(1)
    const doc = reportOf(adding)
    expect(doc).toMatchObject({ backwards: false, bump: "major" })
    expect(doc.changes.some((c: any) => c.breaking)).toBe(true)
    expect(doc.findings[0]).toMatchObject({ level: "error", code: "bump-too-small" })
    expect(doc.findings[0].message).toContain("not backwards compatible")

    // on an open object the same addition only breaks forwards (old values lack b), which is not promised
    const openAdding = compare(open, openRequired)
    expect(openAdding.code).toBe(0)
    expect(reportOf(openAdding)).toMatchObject({ backwards: true, forwards: false, bump: "minor" })
    expect(openAdding.json().changes).toContainEqual(
      expect.objectContaining({ path: "", kind: "required-added", breaking: false })
    )
  })

  it("refuses --old without --new, a missing file, and a contract it cannot infer", () => {
    const one = s.ws.blue(APERTURE, "realm", "check", "--mode", "compatibility", "--old", "open.json", "--json")
    expect(one.code).toBe(1)
    expect(one.json().error._tag).toBe("PathProblem")
    const missing = s.ws.blue(
      APERTURE,
      "realm",
      "check",
      "--mode",
      "compatibility",
      "--old",
      "nope.json",
      "--new",
      "open.json"
    )
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^Error: .*nope\.json.*does not exist/)
    // ml-infra imports job-schema only, the realm dir itself owns nothing: --name is needed there
    const realm = s.ws.blue(REALM, "realm", "check", "--mode", "compatibility", "--json")
    expect(realm.code).toBe(1)
    expect(realm.json().error.message).toContain("--name")
  })
})

describe("--mode realm (the realm repo's own CI)", () => {
  let s: Seeded
  beforeAll(() => {
    s = seed()
  })
  afterAll(() => s.ws.cleanup())

  it("a history made by blue → 0", () => {
    const run = s.check(REALM, "--mode", "realm", "--json")
    expect(run.code).toBe(0)
    expect(codes(reportOf(run))).toEqual(["ok:realm-permissions"])
  })

  it("a hand commit by the owner's maintainer → 0; one by a non-maintainer → 1 naming commit and file", () => {
    editYaml(path.join(s.realm, CONTRACT_FILE), (c) => (c.value = { read: ["a/*", "b/*", "hand/*"] }))
    const byMaintainer = handCommit(s.realm, MAINTAINER, "hand edit by the owner's maintainer")
    expect(s.check(REALM, "--mode", "realm").code).toBe(0)

    editYaml(path.join(s.realm, CONTRACT_FILE), (c) => (c.value = { read: ["mallory/*"] }))
    const byMallory = handCommit(s.realm, MALLORY, "mallory was here")
    const run = s.check(REALM, "--mode", "realm", "--json")
    expect(run.code).toBe(1)
    const doc = reportOf(run)
    expect(doc.findings).toEqual([
      expect.objectContaining({ level: "error", code: "permission-denied", commit: byMallory, file: CONTRACT_FILE })
    ])
    expect(doc.findings[0].message).toContain(byMallory.slice(0, 8))
    expect(doc.findings[0].message).toContain(CONTRACT_FILE)
    expect(doc.findings[0].message).toContain(MALLORY)
    const github = s.check(REALM, "--mode", "realm", "--format", "github")
    expect(github.stdout).toMatch(new RegExp(`^::error file=${CONTRACT_FILE.replace(/[/.]/g, "\\$&")},title=`, "m"))

    // --since limits the range: after mallory's commit there is nothing to flag; from before it, there is
    expect(s.check(REALM, "--mode", "realm", "--since", byMallory).code).toBe(0)
    expect(s.check(REALM, "--mode", "realm", "--since", byMaintainer, "--json").json().findings).toEqual([
      expect.objectContaining({ commit: byMallory })
    ])
    const bad = s.ws.blue(REALM, "realm", "check", "--mode", "realm", "--since", "0000000")
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain("0000000")
  })

  it("a Blue event committed by a non-maintainer in the owner's name → 1", () => {
    const before = git(s.realm, "rev-parse", "HEAD").trim()
    const forged = commitEventByHand(s.realm, MALLORY, (c) => {
      c.value = { read: ["mallory/*"] }
    })
    const run = s.check(REALM, "--mode", "realm", "--since", before, "--json")
    expect(run.code, run.stdout).toBe(1)
    expect(reportOf(run).findings).toContainEqual(expect.objectContaining({ level: "error", commit: forged }))
  })
})

describe("validation hooks and trust", () => {
  let s: Seeded
  const marker = () => path.join(s.aperture, "hook-ran")
  const script = () => path.join(s.aperture, "scripts", "validate.sh")
  const writeScript = (extra = "") =>
    fs.writeFileSync(script(), `#!/bin/sh\ntouch hook-ran\necho "read paths are not allowed"\nexit 1\n${extra}`, {
      mode: 0o755
    })
  const trustList = () => ok(s.ws.blue(APERTURE, "realm", "trust", "--list", "--json"), "trust --list").json()

  beforeAll(() => {
    s = seed()
    // code agrees with the contract, so the hook is the only thing exporter mode can complain about
    fs.mkdirSync(path.join(s.aperture, "config"))
    fs.writeFileSync(path.join(s.aperture, "config", "paths.yaml"), "s3:\n  read: [a/*, b/*]\n")
    setExports(s.aperture, { [S3]: { file: "config/paths.yaml", key: "s3" } })
    fs.mkdirSync(path.join(s.aperture, "scripts"))
    writeScript()
    commitEventByHand(s.realm, MAINTAINER, (c) => {
      c.validation = { exporter: "scripts/validate.sh", ci_only: [] }
    })
  })
  afterAll(() => s.ws.cleanup())

  it("an untrusted hook is reported (hook-untrusted, exit 2) and never run", () => {
    const run = s.check(APERTURE, "--mode", "exporter", "--json")
    expect(run.code).toBe(2)
    const doc = reportOf(run)
    expect(codes(doc)).toEqual(["ok:exporter-match", "warning:hook-untrusted"])
    expect(doc.findings[1].message).toContain("blue realm trust scripts/validate.sh")
    expect(doc.hooks).toEqual([expect.objectContaining({ script: "scripts/validate.sh", outcome: "untrusted" })])
    expect(fs.existsSync(marker())).toBe(false)
    expect(trustList().scripts).toEqual([])
  })

  it("once trusted it runs; its exit 1 makes the check exit 1", () => {
    const trusted = ok(s.ws.blue(APERTURE, "realm", "trust", "scripts/validate.sh", "--json"), "trust").json()
    expect(trusted).toMatchObject({ action: "trust", scripts: [{ path: script(), was: "untrusted" }] })
    const run = s.check(APERTURE, "--mode", "exporter", "--json")
    expect(run.code).toBe(1)
    expect(fs.existsSync(marker())).toBe(true)
    const doc = reportOf(run)
    expect(doc.findings).toContainEqual(
      expect.objectContaining({ level: "error", code: "hook-invalid", file: "scripts/validate.sh" })
    )
    expect(doc.hooks).toEqual([expect.objectContaining({ outcome: "invalid", exit_code: 1 })])
    expect(doc.hooks[0].output).toContain("read paths are not allowed")
    fs.rmSync(marker())
  })

  it("an edited hook is not run until trusted again (hook-changed); --trust runs it without recording", () => {
    writeScript("# edited\n")
    const listed = trustList()
    expect(listed.scripts).toEqual([expect.objectContaining({ path: script(), now: "changed" })])

    const run = s.check(APERTURE, "--mode", "exporter", "--json")
    expect(run.code).toBe(2)
    expect(codes(reportOf(run))).toContain("warning:hook-changed")
    expect(fs.existsSync(marker())).toBe(false)

    const ci = s.check(APERTURE, "--mode", "exporter", "--trust", "--json")
    expect(ci.code).toBe(1)
    expect(fs.existsSync(marker())).toBe(true)
    expect(codes(reportOf(ci))).toContain("error:hook-invalid")
    expect(trustList()).toEqual(listed)
    fs.rmSync(marker())
  })
})

describe("blue realm admin cache", () => {
  let s: Seeded
  beforeAll(() => {
    s = seed()
    writeModels(s.aperture, ["a/*", "b/*"])
    setExports(s.aperture, S3_PATTERN)
  })
  afterAll(() => s.ws.cleanup())

  const stats = () => {
    const doc = ok(s.ws.blue(APERTURE, "realm", "admin", "cache", "stats", "--json"), "cache stats").json()
    return Object.fromEntries((doc.caches as Array<any>).map((c) => [c.cache, c]))
  }

  it("status reads exports through .blue/cache.db: a miss, then hits; an edit misses again; --no-cache bypasses", () => {
    ok(s.ws.blue(APERTURE, "realm", "admin", "cache", "clear"), "cache clear")
    expect(stats()["export"]).toMatchObject({ entries: 0, hits: 0, misses: 0, bypasses: 0, hit_rate: null })
    ok(s.ws.blue(APERTURE, "status"), "status 1")
    ok(s.ws.blue(APERTURE, "status"), "status 2")
    const warm = stats()["export"]
    expect(warm).toMatchObject({ entries: 1, hits: 1, misses: 1, hit_rate: 0.5 })

    writeModels(s.aperture, ["a/*", "b/*", "c/*"])
    const changed = ok(s.ws.blue(APERTURE, "status", "--json"), "status after an edit").json()
    expect(JSON.stringify(changed)).toContain("+ c/* (read)")
    expect(stats()["export"]).toMatchObject({ entries: 1, hits: 1, misses: 2 })

    ok(s.ws.blue(APERTURE, "status", "--no-cache"), "status --no-cache")
    expect(stats()["export"]).toMatchObject({ hits: 1, misses: 2, bypasses: 1 })

    const cleared = ok(s.ws.blue(APERTURE, "realm", "admin", "cache", "clear", "--json"), "cache clear").json()
    expect(cleared.removed).toMatchObject({ export: 1 })
    expect(stats()["export"]).toMatchObject({ entries: 0, hits: 0, misses: 0 })
  })

  it("outside a member repo the cache commands refuse with one sentence", () => {
    const run = s.ws.blue(".", "realm", "admin", "cache", "stats")
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^Error: [^\n]*member repo[^\n]*\n$/)
  })
})
