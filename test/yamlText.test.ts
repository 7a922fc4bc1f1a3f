import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { genericYaml, toYaml } from "../src/projections/realmFiles.js"
import { plainYaml } from "../src/projections/yamlText.js"

const quoted = new Set(["version", "resolved_version"])

// Strings built from the characters that decide YAML's quoting: indicators, spaces, colons, digits, words that read
// as other types, document markers, quotes, escapes, controls and non-ASCII.
const pieces = [
  "a",
  "Z",
  "0",
  "1",
  "9",
  ".",
  "-",
  "+",
  "_",
  "/",
  "*",
  "?",
  ":",
  " ",
  "#",
  "@",
  "`",
  "%",
  "&",
  "!",
  "|",
  ">",
  "'",
  "\"",
  "\\",
  "[",
  "]",
  "{",
  "}",
  ",",
  "\t",
  "\n",
  "~",
  "=",
  "(",
  ")",
  "é",
  "→",
  "\u0085",
  "\u0007",
  "true",
  "null",
  "No",
  "yes",
  "0x1F",
  "0o7",
  ".inf",
  "-.Inf",
  ".NaN",
  "1e5",
  "---",
  "...",
  "1.0.0",
  "^1.0.0",
  "2026-11-30T14:58:14Z"
]
const str = fc.array(fc.constantFrom(...pieces), { maxLength: 5 }).map((p) => p.join(""))
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("version", "resolved_version", "name", "schema", "a-b", "x/{y}.yaml") },
  { weight: 1, arbitrary: str }
)
const scalarArb = fc.oneof(
  str,
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined)
)
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalarArb,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(key, tie("value"), { maxKeys: 4 })
  )
}))

describe("plainYaml", () => {
  it("writes exactly what yaml writes whenever it writes anything", () => {
    let written = 0
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), (doc) => {
        const fast = plainYaml(doc, quoted)
        if (fast !== undefined) {
          written++
          expect(fast).toBe(genericYaml(doc))
        }
      }),
      { numRuns: 5000 }
    )
    expect(written).toBeGreaterThan(250)
  })

  it("writes the realm files' usual shapes itself", () => {
    const contract = {
      name: "dom-0002",
      version: "1.0.0",
      owner: "svc-0001",
      compatibility: { backwards: true, forwards: false },
      schema: {
        type: "object",
        properties: { read: { type: "array", items: { type: "string" } } },
        required: ["read"]
      },
      value: { read: ["bucket-2/in/0/*", "bucket-2/in/1/*"], write: [], n: 14, ratio: 0.5, none: null, empty: {} },
      evolution: [{ version: "1.0.0", changes: ["Initial version", "+ read: bucket-2/in/0/*"], compatible: true }],
      created_at: "2026-11-30T14:58:14.267Z",
      description: "Coordinates dom-0002 between svc-0001 (provider) and svc-0002 (consumer)",
      permissions: { "repos/{repo}.yaml": ["repo_maintainers"] }
    }
    const fast = plainYaml(contract, quoted)
    expect(fast).toBeDefined()
    expect(fast).toBe(genericYaml(contract))
    expect(toYaml(contract)).toBe(fast)
  })

  it("leaves other shapes to yaml", () => {
    for (const doc of [{ a: "two\nlines" }, { a: [[1]] }, { a: "say \"hi\"" }, { a: undefined }, { "1": 1 }]) {
      expect(plainYaml(doc, quoted)).toBeUndefined()
      expect(toYaml(doc)).toBe(genericYaml(doc))
    }
  })
})
