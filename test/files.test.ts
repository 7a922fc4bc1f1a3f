/**
 * Reading realm and member files: a bad file fails with the file, the field path and what was expected.
 */
import { Either, type Schema } from "effect"
import { describe, expect, it } from "vitest"
import { decodeYaml } from "../src/adapters/files.js"
import { BindingFile, ContractFile, LocalConfig, RealmFile, RepoFile, schemaForRealmPath } from "../src/domain/files.js"
import { defaultRealmFile } from "../src/domain/files.js"
import { toYaml } from "../src/projections/realmFiles.js"

const problem = (schema: Schema.Schema<any, any>, text: string, file = "f.yaml") => {
  const r = decodeYaml(schema, text, file)
  if (Either.isRight(r)) throw new Error("expected a FileInvalid")
  return r.left.message
}

const contract = (version: string) =>
  [
    "name: s3-permissions",
    `version: ${version}`,
    "owner: aperture",
    "compatibility: { backwards: true, forwards: false }",
    "schema: { type: object }",
    "value: {}",
    "evolution: []"
  ].join("\n")

describe("file schemas", () => {
  it("names file, field and expectation for an invalid semver version", () => {
    expect(problem(ContractFile, contract("\"1.4\""), "domains/s3-access/contracts/s3-permissions.yaml")).toBe(
      "domains/s3-access/contracts/s3-permissions.yaml: version: \"1.4\" is not a semver version (e.g. 1.4.0)"
    )
    expect(Either.isRight(decodeYaml(ContractFile, contract("\"1.4.0\""), "c.yaml"))).toBe(true)
  })

  it("reports a number where a version string belongs", () => {
    expect(problem(ContractFile, contract("1.4"))).toBe("f.yaml: version: must be a string, not 1.4")
  })

  it("reports malformed YAML with line and column", () => {
    expect(problem(LocalConfig, "realm:\n  name: [unclosed\nrepo: x\n", ".blue/config.yaml")).toMatch(
      /^\.blue\/config\.yaml: malformed YAML at line \d+, column \d+/
    )
  })

  it("reports wrong types, bad enums, missing keys and bad names with their paths", () => {
    expect(problem(LocalConfig, "realm: { name: letemcook, path: ../r }\nrepo: 42\n")).toBe(
      "f.yaml: repo: must be a string, not 42"
    )
    expect(problem(LocalConfig, "realm: { name: Lets Cook, path: ../r }\nrepo: a\n")).toContain(
      "f.yaml: realm.name: \"Lets Cook\" contains whitespace"
    )
    expect(problem(LocalConfig, "repo: a\n")).toBe("f.yaml: realm: is missing")
    const realm = toYaml(defaultRealmFile("letemcook", "2026-01-24T10:00:00.000Z")).replace(
      "admission: open",
      "admission: opne"
    )
    expect(problem(RealmFile, realm, "realm.yaml")).toBe(
      "realm.yaml: governance.admission: must be \"open\" or \"approval\" or \"invite-only\", not \"opne\""
    )
    expect(problem(RepoFile, "name: a\nmaintainers: []\njoined_at: yesterday\n")).toContain(
      "joined_at: \"yesterday\" is not an ISO-8601 UTC timestamp"
    )
    expect(
      problem(
        BindingFile,
        "repo: fungal\nrole: consumer\nimports:\n  - contract: s3-permissions\n    version: banana\n    status: current\n"
      )
    ).toBe("f.yaml: imports[0].version: \"banana\" is not a semver range (e.g. ^1.0.0)")
  })

  it("accepts the seed's comma range and its realm.yaml", () => {
    const binding =
      "repo: fungal-image-analysis\nrole: consumer\nimports:\n  - contract: s3-permissions\n    version: \">=1.0.0, <2.0.0\"\n    binding: cdk/stack.py\n    status: current\n    resolved_version: \"1.4.0\"\n    resolved_at: 2026-01-24T12:00:00Z\n"
    expect(Either.isRight(decodeYaml(BindingFile, binding, "b.yaml"))).toBe(true)
    const seedRealm = [
      "name: letemcook",
      "version: \"1.0.0\"",
      "created_at: 2026-01-24T10:00:00Z",
      "governance:",
      "  admission: approval",
      "  approvers:",
      "    - eric@example.com",
      "  breaking_changes:",
      "    require_approval: true",
      "    grace_period_days: 14",
      "trust:",
      "  mode: collaborative",
      "  require_signed_commits: false",
      "  permissions:",
      "    repos/{repo}.yaml: [repo_maintainers]",
      "    domains/{domain}/contracts/{name}.yaml: [contract_owner]"
    ].join("\n")
    expect(Either.isRight(decodeYaml(RealmFile, seedRealm, "realm.yaml"))).toBe(true)
  })

  it("maps every realm path to its schema", () => {
    expect(schemaForRealmPath("realm.yaml")).toBe(RealmFile)
    expect(schemaForRealmPath("domains/s3-access/contracts/s3-permissions.yaml")).toBe(ContractFile)
    expect(schemaForRealmPath("domains/s3-access/bindings/aperture.yaml")).toBe(BindingFile)
    expect(schemaForRealmPath("events/2026-01-24/x.json")).toBeUndefined()
  })
})
