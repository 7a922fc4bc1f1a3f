/**
 * Conformance with the JSON Schema compatibility cases of Confluent's schema registry (shared/data/conformance).
 * Each case asks whether data written with `original_schema` can be read with `update_schema`, which is our
 * `compareSchemas(original, update).forwards`.
 */
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describe, expect, it } from "vitest"
import type { JsonSchema } from "../src/domain/compatibility.js"
import { compareSchemas } from "../src/domain/compatibility.js"

/** A case we deliberately answer differently from the registry, and why. */
export interface KnownDifference {
  readonly file: string
  readonly description: string
  readonly reason: string
}

/** Cases where our answer deliberately differs from the expected one; also listed in docs/compatibility.md. */
export const KNOWN_DIFFERENCES: ReadonlyArray<KnownDifference> = [
  ...["diff-schema-examples.json", "diff-schema-examples-2020-12.json"].flatMap((file) => [
    {
      file,
      description: "Detect changes to validation criteria in composed schema type",
      reason: "`{oneOf: [{type: string}]}` and `{allOf: [{type: string}]}` accept exactly the same values (both are " +
        "`{type: string}`), so old data is readable. The registry flags the keyword change at the root but accepts " +
        "the identical change one level down (diff-combined-schema-examples.json, \"from oneOf to allOf schema\")."
    },
    {
      file,
      description: "Detect required array to be changed",
      reason: "The update requires `bar`, which the original neither declares nor requires, so the old-valid value " +
        "`{\"foo\": \"x\"}` is rejected by the update. The registry ignores required names that are not declared " +
        "properties; a validator does not."
    }
  ]),
  {
    file: "diff-schema-examples.json",
    description: "Detect removed boolean additional items",
    reason: "Without a tuple-form `items`, `additionalItems` is ignored (draft-04 §5.3.1, draft-07 §6.4.2), so both " +
      "schemas accept every value; the registry compares the inert keyword."
  },
  {
    file: "diff-schema-examples.json",
    description: "Detect changes to additional items schema",
    reason: "Without a tuple-form `items`, `additionalItems` is ignored (draft-04 §5.3.1, draft-07 §6.4.2), so both " +
      "schemas accept every value; the registry compares the inert keyword."
  },
  ...[
    "Detect reserved property removed",
    "Detect property conflict with reserved property",
    "Detect reserved property removed and property conflict with reserved property",
    "Add new reserved fields with conflict",
    "Update reserved fields with null metadata"
  ].map((description) => ({
    file: "diff-schema-examples.json",
    description,
    reason: "Decided by the registry's `confluent:reserved` metadata, which lives outside the JSON Schema; the " +
      "schemas themselves are compatible and Blue contracts have no reserved-name metadata."
  }))
]

interface ConformanceCase {
  readonly description?: string
  readonly original_schema: unknown
  readonly update_schema: unknown
  readonly compatible: boolean
}

// BLUE_CONFORMANCE_DIR points elsewhere when the checkout is not next to shared/ (a git worktree).
const directory = process.env.BLUE_CONFORMANCE_DIR === undefined
  ? new URL("../../shared/data/conformance/", import.meta.url)
  : pathToFileURL(`${process.env.BLUE_CONFORMANCE_DIR.replace(/\/$/, "")}/`)

const parseSchema = (schema: unknown): JsonSchema =>
  (typeof schema === "string" ? JSON.parse(schema) : schema) as JsonSchema

const files = readdirSync(fileURLToPath(directory)).filter((f) => f.endsWith(".json")).sort()

describe("JSON Schema compatibility conformance", () => {
  it("finds the conformance data", () => {
    expect(files.length).toBeGreaterThan(0)
  })
  for (const file of files) {
    const cases = JSON.parse(readFileSync(new URL(file, directory), "utf8")) as ReadonlyArray<ConformanceCase>
    describe(file, () => {
      cases.forEach((c, index) => {
        const description = c.description ?? `case ${index}`
        const known = KNOWN_DIFFERENCES.find((k) => k.file === file && k.description === description)
        const name = `#${index} ${description} → ${c.compatible ? "compatible" : "incompatible"}`
        it(known === undefined ? name : `${name} (known difference)`, () => {
          const result = compareSchemas(parseSchema(c.original_schema), parseSchema(c.update_schema))
          expect(result.forwards).toBe(known === undefined ? c.compatible : !c.compatible)
        })
      })
    })
  }
})
