import { describe, expect, it } from "vitest"
import type { JsonSchema } from "../src/domain/compatibility.js"
import {
  bumpProblem,
  checkReadable,
  compareSchemas,
  invertChangeKind,
  isBumpSufficient,
  nextVersion,
  requiredBump
} from "../src/domain/compatibility.js"
import { diffValues, formatValueChange } from "../src/domain/valueDiff.js"

const stringArray = { type: "array", items: { type: "string" } }

// s3-permissions 1.4.0 from the accepted RFC, before `delete` was added.
const s3Before: JsonSchema = {
  type: "object",
  required: ["read"],
  properties: { read: stringArray, write: { ...stringArray, default: [] } }
}
const s3After: JsonSchema = {
  type: "object",
  required: ["read"],
  properties: { read: stringArray, write: { ...stringArray, default: [] }, delete: { ...stringArray, default: [] } }
}
const s3Value = {
  read: ["jobs/*/masks/*", "jobs/*/*/config.json", "training-runs/*", "training-metrics/*"],
  write: ["jobs/*/*/manifest.json", "training-metrics/*"]
}
const s3Promise = { backwards: true, forwards: false }

const kinds = (changes: ReadonlyArray<{ readonly path: string; readonly kind: string }>): Array<string> =>
  changes.map((c) => `${c.path}:${c.kind}`)

describe("the seed's s3-permissions contract", () => {
  it("adding an optional delete array to an open object: new data readable by old importers only", () => {
    const result = compareSchemas(s3Before, s3After)
    expect(result.backwards).toBe(true)
    expect(result.forwards).toBe(false)
    expect(result.changes).toEqual([
      {
        path: "delete",
        kind: "property-added",
        breaking: true,
        breaksBackwards: false,
        breaksForwards: true,
        detail: "property: delete"
      }
    ])
  })

  it("needs a minor bump under the contract's promise (backwards only)", () => {
    expect(requiredBump(s3Before, s3After, s3Value, { ...s3Value, delete: [] }, s3Promise)).toBe("minor")
  })

  it("would need a major bump if the contract also promised forwards compatibility", () => {
    expect(requiredBump(s3Before, s3After, s3Value, s3Value, { backwards: true, forwards: true })).toBe("major")
  })
})

describe("objects", () => {
  const open: JsonSchema = { type: "object", properties: { a: { type: "string" } } }
  const closed: JsonSchema = { ...open, additionalProperties: false }

  it("closing an open object breaks forwards only", () => {
    const result = compareSchemas(open, closed)
    expect([result.backwards, result.forwards]).toEqual([true, false])
    expect(kinds(result.changes)).toEqual(["*:additional-properties-closed"])
  })

  it("adding an optional property to a closed object breaks backwards only", () => {
    const result = compareSchemas(closed, { ...closed, properties: { a: { type: "string" }, b: { type: "number" } } })
    expect([result.backwards, result.forwards]).toEqual([false, true])
    expect(result.changes).toContainEqual(expect.objectContaining({ path: "b", kind: "property-added" }))
  })

  it("adding a required property without a default breaks forwards", () => {
    const result = compareSchemas(closed, { ...closed, properties: { a: { type: "string" } }, required: ["a"] })
    expect([result.backwards, result.forwards]).toEqual([true, false])
    expect(result.changes).toEqual([
      {
        path: "",
        kind: "required-added",
        breaking: true,
        breaksBackwards: false,
        breaksForwards: true,
        detail: "required: a"
      }
    ])
  })

  it("adding a required property with a valid default does not break forwards (readers fill it in)", () => {
    const withDefault = { type: "object", properties: { a: { type: "string", default: "x" } }, required: ["a"] }
    const result = compareSchemas({ type: "object", properties: { a: { type: "string" } } }, withDefault)
    expect([result.backwards, result.forwards]).toEqual([true, true])
    expect(result.changes).toEqual([
      {
        path: "",
        kind: "required-added",
        breaking: false,
        breaksBackwards: false,
        breaksForwards: false,
        detail: "required: a (default \"x\")"
      }
    ])
  })

  it("a default that the property's own schema rejects does not help", () => {
    const badDefault = { type: "object", properties: { a: { type: "string", default: 3 } }, required: ["a"] }
    expect(checkReadable({ type: "object", properties: { a: { type: "string" } } }, badDefault).compatible).toBe(false)
  })

  it("patternProperties cover a property removed from a closed object", () => {
    const before = { properties: { I_1: { type: "integer" } }, additionalProperties: false }
    const after = { patternProperties: { "^I_": { type: "number" } }, additionalProperties: false }
    expect(compareSchemas(before, after)).toMatchObject({ backwards: false, forwards: true })
  })
})

describe("enums and consts", () => {
  it("widening an enum breaks backwards, narrowing breaks forwards", () => {
    const small = { type: "string", enum: ["red", "green"] }
    const large = { type: "string", enum: ["red", "green", "blue"] }
    const widened = compareSchemas(small, large)
    expect([widened.backwards, widened.forwards]).toEqual([false, true])
    expect(widened.changes).toEqual([
      {
        path: "",
        kind: "enum-value-added",
        breaking: true,
        breaksBackwards: true,
        breaksForwards: false,
        detail: "value: \"blue\""
      }
    ])
    const narrowed = compareSchemas(large, small)
    expect([narrowed.backwards, narrowed.forwards]).toEqual([true, false])
    expect(kinds(narrowed.changes)).toEqual([":enum-value-removed"])
  })

  it("const is a one-value enum", () => {
    expect(compareSchemas({ const: "a" }, { enum: ["a", "b"] })).toMatchObject({ backwards: false, forwards: true })
  })

  it("a finite writer is checked value by value against any reader", () => {
    expect(checkReadable({ enum: ["ab", "cd"] }, { type: "string", maxLength: 2, pattern: "^[a-d]+$" }).compatible)
      .toBe(true)
    expect(checkReadable({ enum: ["ab", "cde"] }, { type: "string", maxLength: 2 }).changes).toEqual([
      { path: "", kind: "value-forbidden", breaking: true, detail: "value: \"cde\"" },
      { path: "", kind: "enum-removed", breaking: false, detail: "enum" }
    ])
  })
})

describe("types", () => {
  it("integer → number widens (backwards breaks), number → integer narrows (forwards breaks)", () => {
    const widened = compareSchemas({ type: "integer" }, { type: "number" })
    expect([widened.backwards, widened.forwards]).toEqual([false, true])
    expect(kinds(widened.changes)).toEqual([":type-widened"])
    const narrowed = compareSchemas({ type: "number" }, { type: "integer" })
    expect([narrowed.backwards, narrowed.forwards]).toEqual([true, false])
    expect(kinds(narrowed.changes)).toEqual([":type-narrowed"])
  })

  it("a number with an integral multipleOf is readable as an integer", () => {
    expect(checkReadable({ type: "number", multipleOf: 2 }, { type: "integer" }).compatible).toBe(true)
  })

  it("type arrays behave as unions", () => {
    const result = compareSchemas({ type: ["string"] }, { type: ["string", "null"] })
    expect([result.backwards, result.forwards]).toEqual([false, true])
    expect(checkReadable({ type: ["string", "integer"] }, { type: ["number", "string"] }).compatible).toBe(true)
  })

  it("anyOf branches: each writer branch must fit some reader branch", () => {
    const reader = { anyOf: [{ type: "string" }, { type: "integer" }] }
    expect(checkReadable({ type: ["string", "integer"] }, reader).compatible).toBe(true)
    expect(checkReadable({ type: ["string", "number"] }, reader).changes).toEqual([
      { path: "", kind: "type-narrowed", breaking: true, detail: "type: number → integer" }
    ])
  })

  it("oneOf needs the writer's values to match exactly one branch", () => {
    expect(checkReadable({ type: "integer" }, { oneOf: [{ type: "integer" }, { type: "string" }] }).compatible)
      .toBe(true)
    expect(checkReadable({ type: "integer" }, { oneOf: [{ type: "integer" }, { type: "number" }] }).compatible)
      .toBe(false)
  })

  it("boolean schemas and {}", () => {
    expect(checkReadable(true, {}).compatible).toBe(true)
    expect(checkReadable(false, { type: "string" }).compatible).toBe(true)
    expect(checkReadable({}, false).compatible).toBe(false)
    expect(checkReadable({ type: "string" }, true).compatible).toBe(true)
  })
})

describe("$ref", () => {
  it("follows #/definitions and #/$defs", () => {
    const viaDefinitions = { $ref: "#/definitions/s", definitions: { s: { type: "string" } } }
    const viaDefs = { $ref: "#/$defs/s", $defs: { s: { type: "string", maxLength: 4 } } }
    expect(compareSchemas(viaDefinitions, viaDefs)).toMatchObject({ backwards: true, forwards: false })
  })

  it("terminates on recursive schemas and still finds nested changes", () => {
    const tree = (maxLength: number): JsonSchema => ({
      $defs: {
        node: {
          type: "object",
          properties: {
            name: { type: "string", maxLength },
            children: { type: "array", items: { $ref: "#/$defs/node" } }
          }
        }
      },
      $ref: "#/$defs/node"
    })
    const result = compareSchemas(tree(5), tree(3))
    expect([result.backwards, result.forwards]).toEqual([true, false])
    expect(kinds(result.changes)).toEqual(["name:max-length-decreased"])
    expect(checkReadable({ $ref: "#" }, { $ref: "#" }).compatible).toBe(true)
  })

  it("treats an unresolvable reader $ref as breaking", () => {
    expect(checkReadable({ type: "string" }, { $ref: "https://example.com/other.json" }).changes).toEqual([
      { path: "", kind: "ref-unresolvable", breaking: true, detail: "$ref: https://example.com/other.json" }
    ])
  })
})

describe("constraints", () => {
  it("tightening string, number and array limits breaks forwards; loosening breaks backwards", () => {
    const loose = { type: "object", properties: { name: { type: "string", maxLength: 10 }, n: { minimum: 0 } } }
    const tight = { type: "object", properties: { name: { type: "string", maxLength: 5 }, n: { minimum: 1 } } }
    const tightened = compareSchemas(loose, tight)
    expect([tightened.backwards, tightened.forwards]).toEqual([true, false])
    expect(kinds(tightened.changes)).toEqual(["name:max-length-decreased", "n:minimum-increased"])
    const loosened = compareSchemas(tight, loose)
    expect([loosened.backwards, loosened.forwards]).toEqual([false, true])
    expect(kinds(loosened.changes)).toEqual(["name:max-length-increased", "n:minimum-decreased"])
  })

  it("draft-04 boolean exclusiveMinimum equals the numeric form", () => {
    const draft4 = { type: "number", minimum: 0, exclusiveMinimum: true }
    const modern = { type: "number", exclusiveMinimum: 0 }
    expect(compareSchemas(draft4, modern)).toMatchObject({ backwards: true, forwards: true, changes: [] })
  })

  it("over the integers an exclusive bound equals the next inclusive one", () => {
    expect(compareSchemas({ type: "integer", exclusiveMinimum: 0 }, { type: "integer", minimum: 1 }))
      .toMatchObject({ backwards: true, forwards: true })
  })

  it("multipleOf: a divisor of the old step is compatible, anything else is not", () => {
    expect(checkReadable({ type: "number", multipleOf: 10 }, { type: "number", multipleOf: 5 }).compatible).toBe(true)
    expect(checkReadable({ type: "number", multipleOf: 10 }, { type: "number", multipleOf: 4 }).compatible).toBe(false)
  })

  it("a different pattern or format is assumed to reject values", () => {
    expect(kinds(checkReadable({ type: "string", pattern: "^a" }, { type: "string", pattern: "^b" }).changes))
      .toEqual([":pattern-changed"])
    expect(kinds(checkReadable({ type: "string" }, { type: "string", format: "uuid" }).changes))
      .toEqual([":format-added"])
  })

  it("tuples: a closed tuple fits under a reader's maxItems", () => {
    const tuple = { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], items: false }
    expect(checkReadable(tuple, { type: "array", maxItems: 2, items: { type: ["string", "integer"] } }).compatible)
      .toBe(true)
    expect(checkReadable(tuple, { type: "array", maxItems: 1 }).compatible).toBe(false)
  })

  it("uniqueItems added breaks forwards", () => {
    expect(compareSchemas(stringArray, { ...stringArray, uniqueItems: true }))
      .toMatchObject({ backwards: true, forwards: false })
  })

  it("unknown keywords count as constraints; x- keywords are annotations", () => {
    expect(checkReadable({ type: "string" }, { type: "string", customRule: 1 }).compatible).toBe(false)
    expect(checkReadable({ type: "string", customRule: 1 }, { type: "string", customRule: 1 }).compatible).toBe(true)
    expect(checkReadable({ type: "string" }, { type: "string", "x-ui": "wide" }).compatible).toBe(true)
  })

  it("inverts kinds for the other direction", () => {
    expect(
      ["property-added", "max-length-increased", "type-narrowed", "additional-properties-closed"].map(invertChangeKind)
    )
      .toEqual(["property-removed", "max-length-decreased", "type-widened", "additional-properties-opened"])
  })
})

describe("value-level diff", () => {
  it("compares arrays as sets", () => {
    expect(diffValues({ read: ["a", "b"] }, { read: ["b", "c"] })).toEqual([
      { path: "read", kind: "removed", value: "a" },
      { path: "read", kind: "added", value: "c" }
    ])
    expect(diffValues({ read: ["a", "b"] }, { read: ["b", "a"] })).toEqual([])
  })

  it("compares objects key by key and scalars by equality", () => {
    expect(diffValues({ bucket: "x", limits: { max: 1 } }, { bucket: "y", limits: { max: 1 }, region: "eu" })).toEqual([
      { path: "bucket", kind: "changed", value: "y", previous: "x" },
      { path: "region", kind: "added", value: "eu" }
    ])
  })

  it("renders like the seed", () => {
    expect(formatValueChange({ path: "read", kind: "added", value: "training-metrics/experiments/*" }))
      .toBe("+ training-metrics/experiments/*")
    expect(formatValueChange({ path: "read", kind: "removed", value: "jobs/*/masks/*" })).toBe("- jobs/*/masks/*")
    expect(formatValueChange({ path: "bucket", kind: "changed", value: "new", previous: "old" })).toBe(
      "~ bucket: old → new"
    )
    expect(formatValueChange({ path: "read", kind: "added", value: "x" }, { withPath: true })).toBe("+ read: x")
  })

  it("removing an S3 path is major, adding one is minor, reordering is none", () => {
    const removed = { ...s3Value, read: s3Value.read.slice(1) }
    const added = { ...s3Value, read: [...s3Value.read, "training-metrics/experiments/*"] }
    const reordered = { ...s3Value, read: [...s3Value.read].reverse() }
    expect(requiredBump(s3Before, s3Before, s3Value, removed, s3Promise)).toBe("major")
    expect(requiredBump(s3Before, s3Before, s3Value, added, s3Promise)).toBe("minor")
    expect(requiredBump(s3Before, s3Before, s3Value, reordered, s3Promise)).toBe("none")
  })
})

describe("bumps", () => {
  const documented = { ...s3Before, description: "S3 paths aperture needs in fungal's account" }

  it("documentation-only schema changes are a patch", () => {
    expect(requiredBump(s3Before, documented, s3Value, s3Value, s3Promise)).toBe("patch")
  })

  it("an equivalent restructuring is a patch", () => {
    const viaRef: JsonSchema = { $ref: "#/$defs/p", $defs: { p: s3Before } }
    expect(requiredBump(s3Before, viaRef, s3Value, s3Value, { backwards: true, forwards: true })).toBe("patch")
  })

  it("checks sufficiency with semver", () => {
    expect(isBumpSufficient("1.4.0", "1.5.0", "minor")).toBe(true)
    expect(isBumpSufficient("1.4.0", "2.0.0", "minor")).toBe(true)
    expect(isBumpSufficient("1.4.0", "1.4.1", "minor")).toBe(false)
    expect(isBumpSufficient("1.4.0", "1.4.0", "none")).toBe(true)
    expect(isBumpSufficient("1.4.0", "2.0.0-rc.1", "major")).toBe(true)
  })

  it("explains insufficient bumps in one sentence", () => {
    expect(bumpProblem("1.4.0", "1.5.0", "major")).toBe(
      "The change needs a major bump but 1.4.0 → 1.5.0 is a minor bump; use 2.0.0 or later."
    )
    expect(bumpProblem("1.4.0", "1.4.0", "patch")).toBe(
      "The change needs a patch bump but the version stays 1.4.0; use 1.4.1."
    )
    expect(bumpProblem("1.4.0", "1.3.9", "patch")).toBe(
      "Version 1.3.9 is lower than 1.4.0; versions only move forward."
    )
    expect(bumpProblem("1.4", "1.5.0", "minor")).toBe("Version \"1.4\" is not valid semver (expected e.g. 1.4.0).")
  })

  it("computes the next version", () => {
    expect(["none", "patch", "minor", "major"].map((b) => nextVersion("1.4.0", b as "none")))
      .toEqual(["1.4.0", "1.4.1", "1.5.0", "2.0.0"])
    expect(nextVersion("not a version", "minor")).toBeUndefined()
  })
})
