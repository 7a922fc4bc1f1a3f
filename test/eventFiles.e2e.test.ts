/**
 * Audit findings through the real `blue` binary: an event file in the realm's history that Blue cannot read is named
 * in one plain sentence (file, commit, field, what was wrong) by every command, and `replay --verify` lists it as a
 * difference; `check --mode contract` says when a contract's version was lowered by hand.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { eventPathsOf } from "../src/engine/Realms.js"
import { APERTURE, FUNGAL, ok, S3, seedStory } from "./support/seed.js"
import { git, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

const workspaces: Array<Workspace> = []
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const SCHEMA = { type: "object", properties: { read: { type: "array", items: { type: "string" } } } }

/** The seed's realm; aperture publishes s3-permissions 1.0.0 and fungal imports it at ^1.0.0. */
const seeded = () => {
  const ws = makeWorkspace("blue-fixa")
  workspaces.push(ws)
  const s = seedStory(ws)
  fs.writeFileSync(path.join(s.aperture, "schema.json"), JSON.stringify(SCHEMA))
  ok(
    ws.blue(
      APERTURE,
      "realm",
      "export",
      "--name",
      S3,
      "--value",
      JSON.stringify({ read: ["a/*"] }),
      "--schema",
      "schema.json"
    ),
    "export"
  )
  ok(ws.blue(FUNGAL, "realm", "import", "--contract", S3, "--domain", "s3-access", "--version", "^1.0.0"), "import")
  return s
}

/** Everything a run printed. */
const said = (r: Run) => r.stdout + r.stderr

/**
 * Adds a realm commit (by hand, with git) carrying a copy of the last event file whose import range is
 * `"^1.0.0 \x1b[2J"`; returns the new file's path and the commit's short sha.
 */
const commitBadEvent = (realm: string) => {
  const envs = eventPathsOf(git(realm, "log", "-1", "--format=%B")).map((p) => ({
    path: p,
    env: JSON.parse(fs.readFileSync(path.join(realm, p), "utf8"))
  }))
  const { env, path: last } = envs.find((e) => e.env.type === "BindingDeclared")!
  const top = Math.max(...envs.map((e) => e.env.position as number))
  const id: string = env.id
  env.id = id.slice(0, -1) + (id.endsWith("Z") ? "Y" : "Z")
  env.position = top + 1
  env.event.binding.imports[0].version = "^1.0.0 \u001b[2J"
  const file = path.join(path.dirname(last), `${env.id}.json`)
  fs.writeFileSync(path.join(realm, file), JSON.stringify(env, null, 2) + "\n")
  git(realm, "add", file)
  git(realm, "commit", "-q", "-m", `hand-made\n\nBlue-Event: ${file}`)
  return { file, sha: git(realm, "rev-parse", "--short=8", "HEAD").trim() }
}

describe("an event file Blue cannot read in the realm's history", () => {
  it("every command names the file, the commit, the field and what was wrong, in one escaped sentence", () => {
    const s = seeded()
    const { file, sha } = commitBadEvent(s.realm)
    const sentence =
      `${file} in commit ${sha}: event.binding.imports[0].version: "^1.0.0 \\u001b[2J" is not a semver range (e.g. ^1.0.0); the realm's history holds an event Blue cannot read — remove or repair that commit (git reset --hard ${sha}~1 when it is the last, else an interactive rebase; a revert leaves it in the history) and run 'blue realm admin reindex'`
    for (
      const args of [
        ["status"],
        ["realm", "log"],
        ["realm", "check", "--mode", "realm"],
        ["realm", "admin", "reindex"]
      ]
    ) {
      const r = s.ws.blue(FUNGAL, ...args)
      expect(r.code, `${args.join(" ")}: ${said(r)}`).toBe(1)
      expect(said(r), args.join(" ")).toContain(sentence)
      expect(said(r)).not.toMatch(/└─|Encoded side|Expected |\u001b/)
      expect(said(r).trim().split("\n").length, `${args.join(" ")}: ${said(r)}`).toBeLessThanOrEqual(2)
    }
    // The advice works: without the commit and after a reindex, every command reads the realm again.
    git(s.realm, "reset", "-q", "--hard", `${sha}~1`)
    ok(s.ws.blue(FUNGAL, "realm", "admin", "reindex"), "reindex")
    ok(s.ws.blue(FUNGAL, "status"), "status after the repair")
    ok(s.ws.blue(FUNGAL, "realm", "replay", "--verify"), "replay --verify after the repair")
  })

  it("replay --verify lists it as a difference and exits 1", () => {
    const s = seeded()
    const { file, sha } = commitBadEvent(s.realm)
    const r = s.ws.blue(FUNGAL, "realm", "replay", "--verify", "--json")
    expect(r.code, said(r)).toBe(1)
    const doc = JSON.parse(r.stdout)
    expect(doc.differences[0]).toContain(`${file} in commit ${sha}: event.binding.imports[0].version:`)
    expect(r.stdout + r.stderr).not.toMatch(/└─|Encoded side|\u001b/)
  })
})

describe("check --mode contract on a contract whose version was lowered by hand", () => {
  it("says the version went backwards (version-backwards), not that the schema breaks", () => {
    const s = seeded()
    const file = path.join(s.realm, "domains/s3-access/contracts/s3-permissions.yaml")
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^version: .*$/m, "version: 0.9.0"))
    const run = s.ws.blue(APERTURE, "realm", "check", "--mode", "contract", "--json")
    expect(run.code, said(run)).toBe(1)
    const f = JSON.parse(run.stdout).findings.find((x: any) => x.contract === S3)
    expect(f).toMatchObject({
      level: "error",
      code: "version-backwards",
      message:
        `${S3}: version 0.9.0 in domains/s3-access/contracts/s3-permissions.yaml is lower than 1.0.0, the version the realm log records; versions only move forward (set it back to 1.0.0, or publish a higher one with 'blue realm export')`
    })
    const human = s.ws.blue(APERTURE, "realm", "check", "--mode", "contract")
    expect(human.code).toBe(1)
    expect(human.stdout).toContain(
      "version 0.9.0 in domains/s3-access/contracts/s3-permissions.yaml is lower than 1.0.0"
    )
    expect(human.stdout).not.toContain("()")
    const junit = s.ws.blue(APERTURE, "realm", "check", "--mode", "contract", "--format", "junit")
    expect(junit.stdout).toContain("type=\"version-backwards\"")
  })
})
