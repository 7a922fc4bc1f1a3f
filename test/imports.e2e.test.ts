/**
 * Imports that stay true (issue #9), through the real `blue` binary on a real realm: re-importing without
 * `--binding` keeps the recorded binding; a contract bump re-renders the importers' binding files with `stale` or
 * `broken` in the same commit (and only theirs); a value-level break (a removed path) reads broken in `status`,
 * `check --mode importer` and `export` alike even when the importer's range still matches; replay stays clean.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { APERTURE, FUNGAL, ML, ok, readYaml, REALM, S3, seedStory } from "./support/seed.js"
import { landByGrace, landExplicitly } from "./support/sync.js"
import { git, makeWorkspace, type Workspace } from "./support/workspace.js"

const FUNGAL_BINDING = "domains/s3-access/bindings/fungal-image-analysis.yaml"
const ML_BINDING = "domains/training-pipeline/bindings/ml-infra.yaml"

/** A realm file as committed at the realm's HEAD (not the working tree). */
const committed = (realm: string, file: string) => YAML.parse(git(realm, "show", `HEAD:${file}`))
/** The paths the realm's HEAD commit changed (against its first parent: a proposal's merge is a merge commit). */
const headFiles = (realm: string) => git(realm, "diff", "--name-only", "HEAD^1", "HEAD").trim().split("\n").sort()

describe("imports stay true when the contract moves on", () => {
  let ws: Workspace
  let realm: string
  const blue = (cwd: string, ...args: Array<string>) => ws.blue(cwd, ...args)
  const s3Import = (cwd: string) =>
    ok(blue(cwd, "status", "--json"), "status").json().domains.find((d: any) => d.name === "s3-access").contracts
      .find((c: any) => c.name === S3).import

  beforeAll(() => {
    ws = makeWorkspace("blue-imports")
    const s = seedStory(ws)
    realm = s.realm
    fs.mkdirSync(path.join(s.fungal, "cdk"), { recursive: true })
    fs.writeFileSync(path.join(s.fungal, "cdk", "stack.py"), "# policy\n")
    ok(blue(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["jobs/*","runs/*"]}`), "first value")
  })
  afterAll(() => ws.cleanup())

  it("re-running import without --binding keeps the recorded binding", () => {
    const args = ["realm", "import", "--contract", S3, "--domain", "s3-access", "--version", ">=1.0.0"]
    ok(blue(FUNGAL, ...args, "--binding", "cdk/stack.py"), "import with binding")
    expect(readYaml(path.join(realm, FUNGAL_BINDING)).imports[0].binding).toBe("cdk/stack.py")
    ok(blue(FUNGAL, ...args), "import again without --binding")
    expect(committed(realm, FUNGAL_BINDING).imports).toEqual([{
      contract: S3,
      version: ">=1.0.0",
      binding: "cdk/stack.py",
      status: "current",
      resolved_version: "1.0.0",
      resolved_at: expect.any(String)
    }])
    expect(s3Import(FUNGAL)).toMatchObject({ binding: "cdk/stack.py", standing: "current" })
  })

  it("a compatible bump marks the importer's binding file stale in the same commit, and touches no other binding", () => {
    const mlBefore = git(realm, "show", `HEAD:${ML_BINDING}`)
    ok(
      blue(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["jobs/*","runs/*","experiments/*"]}`),
      "1.1"
    )
    // fungal imports it: a proposal, which lands (a merge commit) once its grace period has passed.
    landByGrace(ws, APERTURE)
    const files = headFiles(realm)
    expect(files.filter((f) => f.startsWith("proposals/"))).toHaveLength(1)
    expect(files.filter((f) => !f.startsWith("events/") && !f.startsWith("proposals/"))).toEqual([
      FUNGAL_BINDING,
      "domains/s3-access/contracts/s3-permissions.yaml"
    ])
    expect(committed(realm, FUNGAL_BINDING).imports[0]).toMatchObject({
      status: "stale",
      resolved_version: "1.0.0",
      binding: "cdk/stack.py"
    })
    expect(git(realm, "show", `HEAD:${ML_BINDING}`)).toBe(mlBefore)
    expect(s3Import(FUNGAL)).toMatchObject({ standing: "stale", status: "stale" })
    expect(blue(FUNGAL, "realm", "check", "--mode", "importer").code).toBe(2)
  })

  it("a removed path inside the importer's range reads broken in status, check --mode importer and export", () => {
    const exported = ok(
      blue(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["jobs/*","experiments/*"]}`, "--json"),
      "export 2.0.0"
    ).json()
    expect(exported).toMatchObject({
      version: "2.0.0",
      compatible: false,
      importers: [{ repo: FUNGAL, range: ">=1.0.0", standing: "broken" }]
    })
    // A breaking proposal: fungal acknowledges it explicitly (without re-resolving its binding, which a sync would
    // do), the approver approves it, and it merges.
    landExplicitly(ws, APERTURE)
    expect(committed(realm, FUNGAL_BINDING).imports[0]).toMatchObject({ status: "broken", resolved_version: "1.0.0" })
    expect(headFiles(realm)).toContain(FUNGAL_BINDING)

    expect(s3Import(FUNGAL)).toMatchObject({
      version: ">=1.0.0",
      status: "broken",
      standing: "broken",
      breaking_version: "2.0.0",
      changes: ["1.1.0: + read: experiments/*", "2.0.0: - read: runs/*"]
    })
    expect(ok(blue(FUNGAL, "status"), "status").stdout).toContain(
      "❌ Broken import in domain 's3-access': s3-permissions 2.0.0 changed incompatibly since your binding at 1.0.0 (your range >=1.0.0 still matches; it is at 2.0.0)"
    )
    const check = blue(FUNGAL, "realm", "check", "--mode", "importer", "--json")
    expect(check.code).toBe(1)
    expect(check.json().findings).toContainEqual({
      level: "error",
      code: "import-broken",
      contract: S3,
      domain: "s3-access",
      message:
        "s3-permissions: 2.0.0 changed the contract incompatibly since your binding at 1.0.0 (your range >=1.0.0 still matches, but what you rely on may be gone); update the binding and re-run 'blue realm import'"
    })
  })

  it("re-importing resolves it: current again, binding kept, in the file and in check", () => {
    ok(blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", ">=1.0.0"), "re-import")
    expect(committed(realm, FUNGAL_BINDING).imports[0]).toMatchObject({
      status: "current",
      resolved_version: "2.0.0",
      binding: "cdk/stack.py"
    })
    expect(s3Import(FUNGAL)).toMatchObject({ standing: "current", status: "current" })
    expect(blue(FUNGAL, "realm", "check", "--mode", "importer").code).toBe(0)
  })

  it("replay --verify is clean: the re-rendered binding files are the projection's", () => {
    const verify = ok(blue(APERTURE, "realm", "replay", "--verify", "--json"), "replay").json()
    expect(verify).toMatchObject({ verified: true, differences: [] })
    // The realm's own CI audit explains every file each commit changed, the re-rendered bindings included.
    const audit = blue(REALM, "realm", "check", "--mode", "realm", "--json")
    expect(audit.json().findings.filter((f: any) => f.level === "error")).toEqual([])
    expect(audit.code).toBe(0)
  })
})

describe("a breaking bump outside the range", () => {
  it("marks the binding file broken (range), with the same verdict in status", () => {
    const ws = makeWorkspace("blue-imports-range")
    try {
      const s = seedStory(ws)
      ok(ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["a/*","b/*"]}`), "first")
      ok(ws.blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", "^1.0.0"), "imp")
      ok(ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", `{"read":["a/*"]}`), "major")
      landExplicitly(ws, APERTURE)
      expect(committed(s.realm, FUNGAL_BINDING).imports[0]).toMatchObject({ status: "broken", version: "^1.0.0" })
      const view = ok(ws.blue(FUNGAL, "status", "--json"), "status").json()
      const imp = view.domains.find((d: any) => d.name === "s3-access").contracts[0].import
      expect(imp).toMatchObject({ standing: "broken", status: "broken" })
      expect(imp.breaking_version).toBeUndefined()
      expect(ws.blue(ML, "realm", "replay", "--verify").code).toBe(0)
    } finally {
      ws.cleanup()
    }
  })
})
