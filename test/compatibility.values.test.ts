/**
 * Concrete values against schemas inside the compatibility engine (enum members, defaults, property names): ajv
 * validates them, in the reader's strict view or the writer's lenient one, with compiled validators cached.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { checkReadable, compareSchemas, type JsonSchema } from "../src/domain/compatibility.js"
import { accepts, compiledValidators } from "../src/domain/compatibility/instance.js"
import { canonicalJson } from "../src/domain/valueDiff.js"

const at = (s: unknown, root: unknown = s) => ({ s, root })
const both = (value: unknown, schema: unknown): [boolean, boolean] => [
  accepts(value, at(schema), true),
  accepts(value, at(schema), false)
]
const forbidden = (writer: JsonSchema, reader: JsonSchema) =>
  checkReadable(writer, reader).changes.filter((c) => c.breaking).map((c) => `${c.path}:${c.kind} ${c.detail}`)

describe("values the reader rejects", () => {
  it("a format: a date-time with month 13 is not a date-time", () => {
    const reader = { type: "string", format: "date-time" }
    expect(both("2026-11-30T14:00:00Z", reader)).toEqual([true, true])
    expect(forbidden({ enum: ["2026-11-30T14:00:00Z", "2026-13-45T00:00:00Z"] }, reader))
      .toEqual([":value-forbidden value: \"2026-13-45T00:00:00Z\""])
  })

  it("a pattern", () => {
    expect(forbidden({ enum: ["ab", "xy"] }, { type: "string", pattern: "^a" }))
      .toEqual([":value-forbidden value: \"xy\""])
  })

  it("additionalProperties: false", () => {
    const reader = { type: "object", properties: { a: { type: "integer" } }, additionalProperties: false }
    expect(forbidden({ enum: [{ a: 1 }, { a: 1, b: 2 }] }, reader))
      .toEqual([":value-forbidden value: {\"a\":1,\"b\":2}"])
  })

  it("a nested, recursive $ref", () => {
    const tree = {
      $defs: {
        node: {
          type: "object",
          properties: {
            name: { type: "string", maxLength: 1 },
            children: { type: "array", items: { $ref: "#/$defs/node" } }
          }
        }
      },
      $ref: "#/$defs/node"
    }
    const deep = { name: "a", children: [{ name: "b", children: [{ name: "too long" }] }] }
    expect(both({ name: "a", children: [{ name: "b", children: [] }] }, tree)).toEqual([true, true])
    expect(both(deep, tree)).toEqual([false, false])
    expect(forbidden({ const: deep }, tree)).toEqual([`:value-forbidden value: ${canonicalJson(deep)}`])
  })

  it("a default the property's schema rejects through additionalProperties: false does not cover required", () => {
    const closed = { type: "object", properties: { c: { type: "string" } }, additionalProperties: false }
    const reader = (fallback: unknown) => ({
      type: "object",
      properties: { a: { ...closed, default: fallback } },
      required: ["a"]
    })
    expect(checkReadable({ type: "object", properties: { a: closed } }, reader({ c: "x" })).compatible).toBe(true)
    expect(checkReadable({ type: "object", properties: { a: closed } }, reader({ c: "x", d: 1 })).compatible)
      .toBe(false)
  })

  it("multipleOf is exact for large values (1e10 is not a multiple of 11)", () => {
    expect(both(1e10, { type: "number", multipleOf: 11 })).toEqual([false, false])
    expect(checkReadable({ enum: [1e10] }, { type: "number", multipleOf: 11 }).compatible).toBe(false)
    expect(checkReadable({ enum: [11e9] }, { type: "number", multipleOf: 11 }).compatible).toBe(true)
  })

  it("draft-04 boolean exclusiveMinimum and array-form items", () => {
    const draft4 = { $schema: "http://json-schema.org/draft-04/schema#", minimum: 0, exclusiveMinimum: true }
    expect([both(0, draft4), both(1, draft4)]).toEqual([[false, false], [true, true]])
    const tuple = { items: [{ type: "string" }], additionalItems: false }
    expect([both(["a"], tuple), both(["a", "b"], tuple), both([1], tuple)]).toEqual([[true, true], [false, false], [
      false,
      false
    ]])
  })
})

describe("what cannot be decided: rejected in the reader's view, accepted in the writer's", () => {
  it("unknown keywords, unknown formats, patterns that are not regexes, unresolvable $refs", () => {
    expect(both("a", { type: "string", customRule: 1 })).toEqual([false, true])
    expect(both("a", { type: "string", format: "no-such-format" })).toEqual([false, true])
    expect(both("a", { type: "string", pattern: "(" })).toEqual([false, true])
    expect(both(5, { pattern: "(" })).toEqual([true, true])
    expect(both("a", { $ref: "https://example.com/other.json" })).toEqual([false, true])
  })

  it("the views swap under not, and oneOf and if count sure and possible matches", () => {
    expect(both("a", { not: { customRule: 1 } })).toEqual([false, true])
    expect(both("a", { not: { type: "number" } })).toEqual([true, true])
    const oneOf = { oneOf: [{ type: "string", customRule: 1 }, { type: "string", maxLength: 1 }] }
    expect(both("a", oneOf)).toEqual([false, true])
    expect(both("ab", oneOf)).toEqual([false, true])
    expect(both(1, oneOf)).toEqual([false, false])
    const conditional = { if: { type: "string", customRule: 2 }, then: { maxLength: 1 }, else: { type: "number" } }
    expect([both("a", conditional), both("ab", conditional), both(1, conditional)]).toEqual([[false, true], [
      false,
      false
    ], [true, true]])
  })

  it("an unknown reader keyword still makes a finite writer unreadable", () => {
    expect(forbidden({ enum: ["a"] }, { type: "string", customRule: 1 })).toContain(":value-forbidden value: \"a\"")
  })
})

describe("compiled validators", () => {
  it("are compiled once per schema: equal schemas in fresh objects reuse the validator", () => {
    const schema = () => ({ type: "object", properties: { id: { type: "string", format: "uuid", pattern: "^0" } } })
    const value = { id: "00000000-0000-4000-8000-000000000000" }
    expect(accepts(value, at(schema()), true)).toBe(true)
    const after = compiledValidators()
    for (let i = 0; i < 20; i++) {
      expect(accepts(value, at(schema()), true)).toBe(true)
      expect(accepts({ id: "x" }, at(schema()), true)).toBe(false)
    }
    expect(compiledValidators()).toBe(after)
  })

  it("repeated comparisons of the same schemas compile nothing new", () => {
    const before = { type: "object", properties: { kind: { enum: ["a", "b"] }, at: { format: "date" } } }
    const after = { type: "object", properties: { kind: { enum: ["a", "b", "c"] }, at: { format: "date" } } }
    const first = compareSchemas(structuredClone(before), structuredClone(after))
    const count = compiledValidators()
    for (let i = 0; i < 5; i++) {
      expect(compareSchemas(structuredClone(before), structuredClone(after))).toEqual(first)
    }
    expect(compiledValidators()).toBe(count)
  })
})

describe("the start-up fast path", () => {
  it("versions.ts (imported by the status projection) reaches neither ajv nor the schema engine", () => {
    const seen = new Set<string>()
    const visit = (url: URL): void => {
      if (seen.has(url.href)) return
      seen.add(url.href)
      const source = readFileSync(url, "utf8")
      for (const [, spec] of source.matchAll(/^import (?!type )[^"]*"([^"]+)"/gm)) {
        expect(spec, `${url.pathname} imports ${spec}`).not.toMatch(/^ajv/)
        if (spec!.startsWith(".")) visit(new URL(spec!.replace(/\.js$/, ".ts"), url))
      }
    }
    visit(new URL("../src/domain/compatibility/versions.ts", import.meta.url))
    visit(new URL("../src/projections/status.ts", import.meta.url))
    expect([...seen].filter((f) => /compatibility\/(instance|compare|subsumption)\.ts$/.test(f))).toEqual([])
  })
})
