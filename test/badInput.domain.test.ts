/**
 * The pure rules behind the bad-input corpus (test/corpus.*.e2e.test.ts), each with the inputs #9 found accepted:
 * import ranges, hand-set versions, numbers JSON cannot hold, size and depth limits, equivalent schemas, hook
 * paths, the environment and reading files that are not regular files.
 */
import { Either } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { readTextFileSync } from "../src/adapters/files.js"
import { environmentProblem, lockTimeoutFromEnv, remoteTimeoutFromEnv } from "../src/adapters/home.js"
import { normalizeSchema, planPublish, validationProblem } from "../src/domain/contracts.js"
import type { ContractFile } from "../src/domain/files.js"
import { MAX_FILE_BYTES, nestedTooDeep, nonFiniteAt } from "../src/domain/limits.js"
import { isValidRange } from "../src/domain/placeholder.js"
import { canonicalJson } from "../src/domain/valueDiff.js"

const SCHEMA = {
  type: "object",
  properties: { paths: { type: "array", items: { type: "string" } } },
  required: ["paths"]
}
const contract: ContractFile = {
  name: "s3-permissions",
  version: "1.2.0",
  owner: "aperture",
  compatibility: { backwards: true, forwards: false },
  schema: SCHEMA,
  value: { paths: ["a"] },
  evolution: [{ version: "1.0.0", changes: ["Initial version"], compatible: true }]
}
const refusal = (input: Parameters<typeof planPublish>[1]) => {
  const r = planPublish(contract, input)
  if (Either.isRight(r)) throw new Error(`expected a refusal, got ${r.right._tag}`)
  return r.left
}

describe("import ranges", () => {
  it("refuses what node-semver reads as 'any version'", () => {
    for (const r of ["", "\n", " ", ">=1.0.0,,", ",", "||", "^1.0.0 ||", "^", ">=", "^1.0.0\u0007", "x".repeat(300)]) {
      expect(isValidRange(r), JSON.stringify(r)).toBe(false)
    }
  })
  it("accepts real ranges, the seed's comma form included", () => {
    for (const r of ["^1.0.0", ">=1.0.0, <2.0.0", "~1.0", "1.x", "*", "1.0.0 || 2.0.0", "1.0.0 - 2.0.0"]) {
      expect(isValidRange(r), r).toBe(true)
    }
  })
})

describe("planPublish refuses before anything is planned", () => {
  it("a value with 1e999 (Infinity) names where it is", () => {
    expect(refusal({ value: { paths: ["a"], n: { m: [1, Infinity] } } }).message).toBe(
      "Contract 's3-permissions' is invalid: value n.m[1] is a number too large for JSON (such as 1e999, read as Infinity)."
    )
    expect(nonFiniteAt({ a: -Infinity })).toBe("a")
    expect(nonFiniteAt({ a: 1.5e300 })).toBeUndefined()
  })
  it("a value or schema over 1 MiB", () => {
    expect(refusal({ value: { paths: ["x".repeat(1024 * 1024)] } })).toMatchObject({
      _tag: "ContractTooLarge",
      part: "value",
      limit: "1 MiB"
    })
    expect(refusal({ schema: { ...SCHEMA, description: "d".repeat(1024 * 1024) } })).toMatchObject({
      _tag: "ContractTooLarge",
      part: "schema"
    })
  })
  it("a value nested deeper than 64 levels (without overflowing the stack)", () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    expect(nestedTooDeep(deep)).toBe(true)
    expect(refusal({ value: { paths: ["a"], deep } }).message).toContain("nested deeper than 64 levels")
  })
  it("hook paths that leave the repo, at publish", () => {
    expect(validationProblem({ exporter: "../../x.sh" })).toBe(
      "validation.exporter \"../../x.sh\" leaves the repo with '..'; name a script inside the repo, relative to its root"
    )
    expect(validationProblem({ importer: "/etc/passwd" })).toContain("is absolute")
    expect(validationProblem({ ci_only: ["ok.sh", "~/x.sh"] })).toContain("starts with '~'")
    expect(validationProblem({ exporter: 5 })).toBe("validation.exporter must be a script path, not a number")
    expect(validationProblem({ bogus: "x" })).toContain("validation.bogus is not a validation field")
    expect(validationProblem({ exporter: "scripts/check.sh", ci_only: ["ci/a.sh"] })).toBeUndefined()
    expect(refusal({ validation: { exporter: "../../x.sh" } })._tag).toBe("ContractValueInvalid")
  })
})

describe("equivalent schemas", () => {
  const equivalent = [
    { required: ["paths"], properties: { paths: { items: { type: "string" }, type: "array" } }, type: "object" },
    { ...SCHEMA, type: ["object"] },
    { ...SCHEMA, required: ["paths", "paths"], patternProperties: {} },
    { ...SCHEMA, properties: { paths: { type: ["array"], items: { type: "string" } } } }
  ]
  it("normalise to one spelling", () => {
    for (const s of equivalent) expect(canonicalJson(normalizeSchema(s))).toBe(canonicalJson(normalizeSchema(SCHEMA)))
    expect(canonicalJson(normalizeSchema({ ...SCHEMA, required: [] }))).not.toBe(canonicalJson(normalizeSchema(SCHEMA)))
  })
  it("publish as no change at all, keeping the recorded spelling", () => {
    for (const schema of equivalent) {
      const r = planPublish(contract, { schema })
      expect(Either.isRight(r) && r.right._tag).toBe("Unchanged")
    }
  })
  it("while a real change still bumps", () => {
    const r = planPublish(contract, {
      schema: { ...SCHEMA, properties: { ...SCHEMA.properties, n: { type: "number" } } }
    })
    expect(Either.isRight(r) && r.right._tag).toBe("Bumped")
  })
})

describe("the environment", () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-env-")))
  const file = path.join(dir, "f")
  fs.writeFileSync(file, "x")
  it("BLUE_HOME: empty, relative, a file or below a file, named in one sentence", () => {
    expect(environmentProblem({ BLUE_HOME: "" })?.message).toBe(
      "BLUE_HOME is set but empty; set it to a directory Blue may create, or unset it to use ~/.blue."
    )
    expect(environmentProblem({ BLUE_HOME: "rel" })?.message).toContain("BLUE_HOME \"rel\" is not an absolute path")
    expect(environmentProblem({ BLUE_HOME: file })?.message).toContain(`BLUE_HOME "${file}" is not a directory`)
    expect(environmentProblem({ BLUE_HOME: `${file}/sub` })?.message).toContain(`${file} is not a directory`)
    expect(environmentProblem({ BLUE_HOME: path.join(dir, "new", "home") })).toBeUndefined()
  })
  it("BLUE_REMOTE_TIMEOUT_MS: whole milliseconds from 1; unset or empty the default (30 s)", () => {
    for (const v of ["abc", "0", "-5", "1.5", " ", "1e3", "Infinity", "99999999999"]) {
      const problem = environmentProblem({ BLUE_REMOTE_TIMEOUT_MS: v })
      expect(problem?.variable, v).toBe("BLUE_REMOTE_TIMEOUT_MS")
      expect(problem?.message, v).toBe(
        `BLUE_REMOTE_TIMEOUT_MS ${
          JSON.stringify(v)
        } is not a whole number of milliseconds from 1 to 2147483647; set it to e.g. 30000, or unset it for the default (30 s).`
      )
      expect(remoteTimeoutFromEnv({ BLUE_REMOTE_TIMEOUT_MS: v })).toBeUndefined()
    }
    expect(remoteTimeoutFromEnv({})).toBe(30_000)
    expect(remoteTimeoutFromEnv({ BLUE_REMOTE_TIMEOUT_MS: "" })).toBe(30_000)
    expect(remoteTimeoutFromEnv({ BLUE_REMOTE_TIMEOUT_MS: "1500" })).toBe(1500)
    expect(environmentProblem({ BLUE_REMOTE_TIMEOUT_MS: "1500" })).toBeUndefined()
  })
  it("BLUE_LOCK_TIMEOUT_MS: whole milliseconds; empty means 0, unset the default", () => {
    for (const v of ["abc", "-5", "1.5", " ", "1e3", "Infinity", "99999999999"]) {
      expect(environmentProblem({ BLUE_LOCK_TIMEOUT_MS: v })?.variable, v).toBe("BLUE_LOCK_TIMEOUT_MS")
      expect(lockTimeoutFromEnv(v)).toBeUndefined()
    }
    expect(lockTimeoutFromEnv("")).toBe(0)
    expect(lockTimeoutFromEnv(undefined)).toBe(30_000)
    expect(lockTimeoutFromEnv("250")).toBe(250)
  })
})

describe("reading a file", () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-read-")))
  it("refuses a FIFO at once instead of blocking on it", () => {
    const fifo = path.join(dir, "pipe")
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
    expect(readTextFileSync(fifo, "(--file) ")).toEqual({
      problem: "(--file) is a FIFO, not a regular file; name a regular file"
    })
  })
  it("refuses a directory, a device, binary and oversized files; reads text", () => {
    expect(readTextFileSync(dir)).toMatchObject({ problem: expect.stringContaining("directory") })
    expect(readTextFileSync("/dev/zero")).toEqual({ problem: "is a device, not a regular file; name a regular file" })
    fs.writeFileSync(path.join(dir, "bin"), Buffer.from([0x7b, 0x00, 0x7d]))
    expect(readTextFileSync(path.join(dir, "bin"))).toMatchObject({ problem: expect.stringContaining("binary") })
    fs.writeFileSync(path.join(dir, "big"), Buffer.alloc(MAX_FILE_BYTES + 1, 0x20))
    expect(readTextFileSync(path.join(dir, "big"))).toEqual({
      problem: "is 4.0 MiB, over the 4 MiB limit for files Blue reads"
    })
    fs.writeFileSync(path.join(dir, "ok.json"), "{}")
    expect(readTextFileSync(path.join(dir, "ok.json"))).toEqual({ text: "{}" })
  })
})
