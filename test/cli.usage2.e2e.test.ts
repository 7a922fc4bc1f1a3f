/**
 * Usage errors said one way: exit 64, one `Error: …` line and the --help hint (one UsageError document with
 * --json) for a missing argument (`realm ack` with nothing named), several missing options, an option given without
 * its value, and a value that is not of the option's type. A value the command itself reads stays a refusal (1).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, FUNGAL, seedStory } from "./support/seed.js"
import { dbFingerprint, fingerprint, makeWorkspace, type Workspace } from "./support/workspace.js"

let ws: Workspace
let realmDir: string
beforeAll(() => {
  ws = makeWorkspace("blue-usage2")
  realmDir = seedStory(ws).realm
})
afterAll(() => ws.cleanup())

describe("usage errors: exit 64, one line and the hint", () => {
  it.each([
    [
      ["realm", "ack"],
      "Error: name the notifications to acknowledge (their ids, as 'blue realm status' shows them), or pass --all",
      "blue realm ack"
    ],
    [
      ["realm", "import", "--contract", "d"],
      "Error: missing options '--domain' and '--version'",
      "blue realm import"
    ],
    [
      ["realm", "import"],
      "Error: missing options '--contract', '--domain' and '--version'",
      "blue realm import"
    ],
    [["realm", "export", "--name", "d", "--value"], "Error: option '--value' needs a value", "blue realm export"],
    [["realm", "export", "--value", "--name", "d"], "Error: option '--value' needs a value", "blue realm export"],
    [["realm", "check", "--mode"], "Error: option '--mode' needs a value", "blue realm check"],
    [["realm", "log", "--limit", "abc"], "Error: --limit \"abc\" is not an integer", "blue realm log"],
    [["realm", "log", "--limit=1.5"], "Error: --limit \"1.5\" is not an integer", "blue realm log"],
    [
      ["realm", "check", "--mode", "nope"],
      "Error: --mode \"nope\": expected one of exporter, importer, contract, compatibility, realm",
      "blue realm check"
    ]
  ])("blue %j", (args, message, at) => {
    const realm = fingerprint(realmDir)
    const db = dbFingerprint(ws.home)
    const run = ws.blue(FUNGAL, ...args)
    expect(run.code).toBe(64)
    expect(run.stdout).toBe("")
    expect(run.stderr).toBe(`${message}\nRun '${at} --help' for usage.\n`)
    expect(fingerprint(realmDir)).toEqual(realm)
    expect(dbFingerprint(ws.home)).toBe(db)
  })

  it("with --json: one UsageError document, its message one line", () => {
    const ack = ws.blue(FUNGAL, "realm", "ack", "--json")
    expect(ack.code).toBe(64)
    expect(ack.stderr).toBe("")
    expect(ack.json()).toEqual({
      error: {
        _tag: "UsageError",
        message: "name the notifications to acknowledge (their ids, as 'blue realm status' shows them), or pass --all",
        hint: "Run 'blue realm ack --help' for usage."
      }
    })
    const imp = ws.blue(FUNGAL, "realm", "import", "--contract", "d", "--json")
    expect(imp.code).toBe(64)
    expect(imp.json()).toEqual({
      error: {
        _tag: "UsageError",
        message: "missing options '--domain' and '--version'",
        hint: "Run 'blue realm import --help' for usage."
      }
    })
  })

  it("a value the command itself reads is a refusal (exit 1), not a usage error", () => {
    const value = ws.blue(APERTURE, "realm", "export", "--name", "d", "--value", "{")
    expect(value.code).toBe(1)
    expect(value.stderr).toMatch(/^Error: [^\n]*\n$/)
    expect(value.stderr).not.toContain("--help")
    const version = ws.blue(
      FUNGAL,
      "realm",
      "import",
      "--contract",
      "s3-permissions",
      "--domain",
      "s3-access",
      "--version",
      ""
    )
    expect(version.code).toBe(1)
    expect(version.stderr).toMatch(/^Error: [^\n]*\n$/)
    expect(version.stderr).not.toContain("--help")
  })
})
