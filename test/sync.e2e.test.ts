/**
 * `blue realm sync` end to end, through the real binary on a local realm: the accepted RFC's Daily Development
 * (aperture's change becomes a proposal on its sync branch) and Consumer Response (fungal acknowledges, its binding
 * is updated, the proposal merges), printed as the seed prints them; the realm's git shape (the branch commit on
 * main's head, the merge commit, first-parent history); a dry run that writes nothing; two owners syncing at once;
 * an acknowledgement racing an amendment. `replay --verify` after each.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { APERTURE, FUNGAL, ML, ok, readYaml, S3, type Seeded, seedStory, setExports } from "./support/seed.js"
import { dbFingerprint, fingerprint, git, makeWorkspace } from "./support/workspace.js"

const S3_PATTERN = {
  [S3]: { pattern: { files: ["models/**/*.py"], fields: { read: String.raw`read_path\("s3://[^/]+/([^"]+)"\)` } } }
}
const JOB_PATTERN = {
  "job-schema": { pattern: { files: ["jobs/**/*.py"], fields: { queues: String.raw`queue\("([^"]+)"\)` } } }
}

const writeModels = (aperture: string, paths: ReadonlyArray<string>) => {
  fs.mkdirSync(path.join(aperture, "models"), { recursive: true })
  fs.writeFileSync(
    path.join(aperture, "models", "metrics_exporter.py"),
    paths.map((p, i) => `data_${i} = read_path("s3://bucket/${p}")\n`).join("")
  )
}

const writeJobs = (fungal: string, queues: ReadonlyArray<string>) => {
  fs.mkdirSync(path.join(fungal, "jobs"), { recursive: true })
  fs.writeFileSync(path.join(fungal, "jobs", "queues.py"), queues.map((q) => `queue("${q}")\n`).join(""))
}

const readYamlText = (text: string): any => YAML.parse(text)

const contractAt = (s: Seeded, ref: string, domain = "s3-access", name = S3) =>
  git(s.realm, "show", `${ref}:domains/${domain}/contracts/${name}.yaml`)

const verify = (s: Seeded, cwd = APERTURE) => {
  const v = ok(s.ws.blue(cwd, "realm", "replay", "--verify", "--json"), "replay --verify").json()
  expect(v.differences).toEqual([])
  expect(v.ok).toBe(true)
}

/** The seed with aperture's contract published at 1.4.0 from its code, and fungal resolved to it. */
const seeded = (label: string): Seeded => {
  const s = seedStory(makeWorkspace(label))
  writeModels(s.aperture, ["training-metrics/*", "training-data/*"])
  setExports(s.aperture, S3_PATTERN)
  ok(
    s.ws.blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", ">=1.0.0 <2.0.0"),
    "fungal's range"
  )
  // The placeholder's first value at 1.4.0 is a proposal (fungal imports it); fungal's sync merges it.
  ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--detect", "--version", "1.4.0"), "first publish")
  ok(s.ws.blue(FUNGAL, "realm", "sync"), "fungal acknowledges 1.4.0")
  return s
}

let current: Seeded | undefined
afterEach(() => {
  current?.ws.cleanup()
  current = undefined
})

describe("blue realm sync: Daily Development and Consumer Response", () => {
  it("aperture's change becomes a proposal on its branch; fungal acknowledges, its binding updates, it merges", () => {
    const s = current = seeded("blue-sync")
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*"])
    const mainBefore = git(s.realm, "rev-parse", "main").trim()

    const status = ok(s.ws.blue(APERTURE, "realm", "status"), "owner status").stdout
    expect(status).toContain("training-metrics/experiments/*")

    const sync = ok(s.ws.blue(APERTURE, "realm", "sync"), "owner sync")
    const lines = sync.stdout.split("\n")
    expect(lines[0]).toBe("📤 Syncing with realm 'letemcook'...")
    const branch = /^Creating branch: (sync\/aperture\/\d{8}-\d{6})$/m.exec(sync.stdout)?.[1]
    expect(branch, sync.stdout).toBeDefined()
    expect(sync.stdout).toContain("Contract update: s3-permissions 1.4.0 → 1.5.0 (compatible)")
    expect(sync.stdout).toContain("  + read: training-metrics/experiments/*")
    expect(sync.stdout).toContain(`Reviewers: ${FUNGAL} maintainers`)
    expect(sync.stdout).toContain("Waiting for acknowledgment or grace period (14 days for non-breaking).")
    const id = /^✓ Proposal (\S+) created for review$/m.exec(sync.stdout)?.[1]
    expect(id, sync.stdout).toBe(`aperture-${branch!.split("/")[2]}`)

    // The branch: one commit on main's head at open time, its tree main after the merge; main itself unchanged.
    expect(git(s.realm, "rev-parse", `${branch}^1`).trim()).toBe(mainBefore)
    expect(readYamlText(contractAt(s, branch!)).version).toBe("1.5.0")
    expect(readYamlText(contractAt(s, "main")).version).toBe("1.4.0")
    expect(git(s.realm, "diff", "--name-only", "main", branch!).trim().split("\n")).toContain(
      "domains/s3-access/contracts/s3-permissions.yaml"
    )
    // Written as git objects only: the realm's working tree and index show main.
    expect(git(s.realm, "status", "--porcelain")).toBe("")
    expect(readYaml(path.join(s.realm, "domains/s3-access/contracts/s3-permissions.yaml")).version).toBe("1.4.0")
    expect(git(s.realm, "log", "-1", "--format=%s", "main").trim()).toContain("1.4.0 → 1.5.0")
    verify(s)

    // Fungal sees the proposal and what it is asked to do.
    const fungalStatus = ok(s.ws.blue(FUNGAL, "realm", "status"), "importer status").stdout
    expect(fungalStatus).toContain(`${id}: s3-permissions 1.4.0 → 1.5.0 (compatible) by aperture on ${branch}`)
    expect(fungalStatus).toContain(`not yet: ${FUNGAL}`)
    expect(fungalStatus).toMatch(/merges in 14 days \(\d{4}-\d{2}-\d{2}\) unless/)
    expect(fungalStatus).toContain("→ you: your import (>=1.0.0 <2.0.0) accepts 1.5.0")
    const asJson = ok(s.ws.blue(FUNGAL, "realm", "status", "--json"), "status --json").json()
    // The start-up fast path (daemon.db caught up) and the full engine (--no-cache declines the fast path) agree.
    expect(ok(s.ws.blue(FUNGAL, "realm", "status", "--json", "--no-cache"), "full").json()).toEqual(asJson)
    expect(ok(s.ws.blue(FUNGAL, "realm", "status", "--no-cache"), "full").stdout).toBe(fungalStatus)
    expect(asJson.proposals).toEqual([
      expect.objectContaining({ id, branch, from: "1.4.0", to: "1.5.0", waiting: [FUNGAL], role: "importer" })
    ])

    const answer = ok(s.ws.blue(FUNGAL, "realm", "sync"), "consumer sync").stdout
    expect(answer.trimEnd().split("\n")).toEqual([
      "📤 Syncing with realm 'letemcook'...",
      "Binding updated: s3-permissions: resolved_version 1.4.0 → 1.5.0",
      `✓ Acknowledged proposal ${id}`,
      `✓ Merged proposal ${id}: s3-permissions 1.5.0 is on main`,
      "✓ Realm synced"
    ])
    // The merge: a commit on main whose second parent is the branch's head; main carries 1.5.0.
    const merge = git(s.realm, "log", "--merges", "-1", "--format=%H %P", "main").trim().split(" ")
    expect(merge).toHaveLength(3)
    expect(merge[2]).toBe(git(s.realm, "rev-parse", branch!).trim())
    expect(readYamlText(contractAt(s, "main")).version).toBe("1.5.0")
    const binding = readYaml(path.join(s.realm, `domains/s3-access/bindings/${FUNGAL}.yaml`))
    expect(binding.imports[0]).toMatchObject({ resolved_version: "1.5.0", status: "current" })
    // History is read along first parents: the branch's commit is no event commit.
    const firstParent = git(s.realm, "log", "--first-parent", "--format=%H", "main").trim().split("\n")
    expect(firstParent).not.toContain(merge[2])
    const log = ok(s.ws.blue(FUNGAL, "realm", "log", "--json"), "log").json().events.map((e: any) => e.type)
    expect(log).toEqual(expect.arrayContaining(["ProposalOpened", "ProposalAcknowledged", "ProposalMerged"]))
    expect(log.indexOf("ContractBumped")).toBe(log.indexOf("ProposalMerged") + 1)
    verify(s, FUNGAL)
    expect(ok(s.ws.blue(FUNGAL, "realm", "status", "--json"), "status").json().proposals).toBeUndefined()
    // Nothing left to do on either side.
    expect(ok(s.ws.blue(APERTURE, "realm", "sync"), "owner again").stdout).toContain("✓ Realm synced (nothing to do)")
  }, 120_000)

  it("--dry-run prints what sync would do and leaves realm, repo and daemon.db byte-identical", () => {
    const s = current = seeded("blue-sync-dry")
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*"])
    // Make the cache warm first: a dry run must not even count hits in .blue/cache.db.
    ok(s.ws.blue(APERTURE, "realm", "status"), "status")
    const realm = fingerprint(s.realm)
    const repo = fingerprint(s.aperture)
    const db = dbFingerprint(s.ws.home)
    const dbFile = fingerprint(s.ws.home)
    const run = ok(s.ws.blue(APERTURE, "realm", "sync", "--dry-run"), "dry run").stdout
    expect(run).toContain("📤 Dry run: would sync with realm 'letemcook'...")
    expect(run).toContain("Contract update: s3-permissions 1.4.0 → 1.5.0 (compatible)")
    expect(run).toMatch(/Creating branch: sync\/aperture\/\d{8}-\d{6}/)
    expect(run).toContain("Nothing written (--dry-run).")
    const json = ok(s.ws.blue(APERTURE, "realm", "sync", "--dry-run", "--json"), "dry run --json").json()
    expect(json.dry_run).toBe(true)
    expect(json.changes).toEqual([expect.objectContaining({ outcome: "proposal", from: "1.4.0", to: "1.5.0" })])
    expect(fingerprint(s.realm)).toEqual(realm)
    expect(fingerprint(s.aperture)).toEqual(repo)
    expect(dbFingerprint(s.ws.home)).toBe(db)
    expect(fingerprint(s.ws.home)).toEqual(dbFile)
    // The consumer's dry run: it would acknowledge nothing (nothing is open) and write nothing.
    const consumer = ok(s.ws.blue(FUNGAL, "realm", "sync", "--dry-run"), "consumer dry run").stdout
    expect(consumer).toContain("Nothing written (--dry-run).")
    expect(fingerprint(s.realm)).toEqual(realm)
  }, 120_000)

  it("a range the change breaks is reported and not acknowledged (exit 1)", () => {
    const s = current = seeded("blue-sync-broken")
    ok(s.ws.blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", "~1.4.0"), "pin")
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*"])
    ok(s.ws.blue(APERTURE, "realm", "sync"), "owner sync")
    const head = git(s.realm, "rev-parse", "main").trim()
    const run = s.ws.blue(FUNGAL, "realm", "sync")
    expect(run.code).toBe(1)
    expect(run.stdout).toContain("which your import (~1.4.0) does not accept; not acknowledged")
    expect(git(s.realm, "rev-parse", "main").trim()).toBe(head)
    verify(s, FUNGAL)
  }, 120_000)
})

describe("blue realm sync: amending", () => {
  it("a second change while the proposal is open moves its branch forward onto main's head; acks start again", () => {
    const s = current = seeded("blue-sync-amend-branch")
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*"])
    const first = ok(s.ws.blue(APERTURE, "realm", "sync", "--json"), "open").json().changes[0]
    const tip1 = git(s.realm, "rev-parse", first.branch).trim()
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*", "eval/*"])
    const again = ok(s.ws.blue(APERTURE, "realm", "sync"), "amend").stdout
    expect(again).toContain(`Updating branch: ${first.branch}`)
    expect(again).toContain(`✓ Proposal ${first.proposal} updated (acknowledgements start again)`)
    const tip2 = git(s.realm, "rev-parse", first.branch).trim()
    // One new commit: first parent main's head before the amendment, second the branch's previous head.
    const parents = git(s.realm, "log", "-1", "--format=%P", tip2).trim().split(" ")
    expect(parents).toEqual([git(s.realm, "rev-parse", "main~1").trim(), tip1])
    expect(readYamlText(contractAt(s, first.branch)).value.read).toContain("eval/*")
    expect(git(s.realm, "status", "--porcelain")).toBe("")
    // Nothing to do when the code still matches the proposal.
    const head = git(s.realm, "rev-parse", "main").trim()
    ok(s.ws.blue(APERTURE, "realm", "sync"), "again")
    expect(git(s.realm, "rev-parse", "main").trim()).toBe(head)
    verify(s)
  }, 120_000)
})

describe("blue realm sync: concurrency", () => {
  it("a new export the code has and the realm does not is declared by sync in the domain the repo provides", () => {
    const s = current = seeded("blue-sync-new-export")
    fs.mkdirSync(path.join(s.aperture, "lifecycle"), { recursive: true })
    fs.writeFileSync(path.join(s.aperture, "lifecycle", "rules.py"), "expire(\"scratch/*\")\n")
    setExports(s.aperture, {
      ...S3_PATTERN,
      "s3-lifecycle": { pattern: { files: ["lifecycle/**/*.py"], fields: { expire: String.raw`expire\("([^"]+)"\)` } } }
    })
    const r = ok(s.ws.blue(APERTURE, "realm", "sync", "--json"), "sync declares the new export").json()
    expect(r.changes.map((c: any) => [c.contract, c.outcome, c.domain])).toEqual([
      ["s3-lifecycle", "published", "s3-access"]
    ])
    const declared = readYamlText(contractAt(s, "main", "s3-access", "s3-lifecycle"))
    expect(declared).toMatchObject({ name: "s3-lifecycle", owner: APERTURE, value: { expire: ["scratch/*"] } })
    // Nothing new the second time.
    expect(ok(s.ws.blue(APERTURE, "realm", "sync", "--json"), "second sync").json().changes).toEqual([])
    verify(s)
  }, 120_000)

  it("two owners syncing changes to different contracts at once both open their proposals", async () => {
    const s = current = seeded("blue-sync-two")
    writeJobs(s.fungal, ["train"])
    setExports(s.fungal, JOB_PATTERN)
    ok(s.ws.blue(FUNGAL, "realm", "export", "--name", "job-schema", "--detect"), "job-schema first publish")
    writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*"])
    writeJobs(s.fungal, ["train", "evaluate"])
    const a = s.ws.spawnBlue(APERTURE, "realm", "sync", "--json")
    const b = s.ws.spawnBlue(FUNGAL, "realm", "sync", "--json")
    const [ra, rb] = await Promise.all([a.done, b.done])
    expect(ra.code, ra.stderr).toBe(0)
    expect(rb.code, rb.stderr).toBe(0)
    const opened = [...ra.json().changes, ...rb.json().changes].map((c: any) => [c.contract, c.outcome, c.importers])
    expect(opened.sort()).toEqual([["job-schema", "proposal", [ML]], [S3, "proposal", [FUNGAL]]])
    const branches = git(s.realm, "branch", "--list", "sync/*", "--format=%(refname:short)").trim().split("\n")
    for (const c of [...ra.json().changes, ...rb.json().changes]) expect(branches).toContain(c.branch)
    verify(s)
    // Each importer answers; both merge.
    ok(s.ws.blue(FUNGAL, "realm", "sync"), "fungal acknowledges s3")
    ok(s.ws.blue(ML, "realm", "sync"), "ml acknowledges job-schema")
    expect(readYamlText(contractAt(s, "main")).version).toBe("1.5.0")
    expect(readYamlText(contractAt(s, "main", "training-pipeline", "job-schema")).version).toBe("1.1.0")
    verify(s, ML)
  }, 120_000)

  it(
    "a consumer acknowledging while the owner amends its proposal ends consistent, and merges the amended change",
    async () => {
      const s = current = seeded("blue-sync-amend")
      writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*"])
      ok(s.ws.blue(APERTURE, "realm", "sync"), "owner opens")
      writeModels(s.aperture, ["training-metrics/*", "training-data/*", "training-metrics/experiments/*", "eval/*"])
      const amend = s.ws.spawnBlue(APERTURE, "realm", "sync", "--json")
      const ack = s.ws.spawnBlue(FUNGAL, "realm", "sync", "--json")
      const [ra, rb] = await Promise.all([amend.done, ack.done])
      expect(ra.code, ra.stderr).toBe(0)
      expect(rb.code, rb.stderr).toBe(0)
      verify(s)
      // Whichever went first, one more consumer sync lands the amended change (both new paths) on main: as 1.5.0 when
      // the amendment came first (the acknowledgement answered it, or was reset by it), as 1.6.0 when the first change
      // had merged already (the owner's sync then opened a new proposal on top of it).
      ok(s.ws.blue(FUNGAL, "realm", "sync"), "consumer again")
      const main = readYamlText(contractAt(s, "main"))
      expect(["1.5.0", "1.6.0"]).toContain(main.version)
      const amended = ra.json().changes[0]
      expect(amended.outcome).toBe(main.version === "1.5.0" ? "amended" : "proposal")
      expect(main.value.read).toEqual(expect.arrayContaining(["training-metrics/experiments/*", "eval/*"]))
      expect(readYaml(path.join(s.realm, `domains/s3-access/bindings/${FUNGAL}.yaml`)).imports[0]).toMatchObject({
        resolved_version: main.version,
        status: "current"
      })
      verify(s, FUNGAL)
    },
    120_000
  )
})
