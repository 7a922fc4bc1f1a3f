import Ajv from "ajv"
import fc from "fast-check"
import { it } from "vitest"
import { checkReadable } from "../src/domain/compatibility.js"

const leaf = fc.oneof(
  fc.constant({}),
  fc.constant(true),
  fc.constant(false),
  fc.record({ type: fc.constantFrom("string", "integer", "number", "boolean", "null", "array", "object") }),
  fc.record({ type: fc.constant("string"), maxLength: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ type: fc.constant("string"), minLength: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ minimum: fc.integer({ min: -2, max: 2 }) }),
  fc.record({ exclusiveMaximum: fc.integer({ min: -2, max: 2 }) }),
  fc.record({ multipleOf: fc.constantFrom(1, 2, 0.5, 3) }),
  fc.record({
    enum: fc.array(fc.constantFrom(0, 1, 1.5, "a", "ab", null, true, [], {}), { minLength: 1, maxLength: 3 })
  }),
  fc.record({ const: fc.constantFrom(0, 1, "a", null, false) }),
  fc.record({ type: fc.constant(["string", "integer"]) })
)
const schema: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  s: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.record({ anyOf: fc.array(tie("s"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ oneOf: fc.array(tie("s"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ allOf: fc.array(tie("s"), { minLength: 1, maxLength: 2 }) }),
    fc.record({ not: tie("s") }),
    fc.record({ type: fc.constant("array"), items: tie("s"), maxItems: fc.constantFrom(undefined, 1, 2) }, {
      requiredKeys: ["type", "items"]
    }),
    fc.record({ items: fc.array(tie("s"), { maxLength: 2 }), additionalItems: tie("s") }),
    fc.record({ uniqueItems: fc.boolean(), minItems: fc.integer({ min: 0, max: 2 }) }),
    fc.record({
      properties: fc.dictionary(fc.constantFrom("a", "b", "x_1"), tie("s"), { maxKeys: 2 }),
      required: fc.subarray(["a", "b"]),
      additionalProperties: fc.oneof(fc.constant(undefined), fc.constant(false), tie("s")),
      patternProperties: fc.oneof(fc.constant(undefined), fc.record({ "^x_": tie("s") }))
    }, { requiredKeys: ["properties"] }),
    fc.record({ dependencies: fc.oneof(fc.constant({ a: ["b"] }), fc.record({ a: tie("s") })) }),
    fc.record({ propertyNames: fc.record({ maxLength: fc.integer({ min: 0, max: 1 }) }) }),
    fc.record({ contains: tie("s") })
  )
})).s
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(0, 1, 2, -1, 1.5, 0.5, 3, 4, "", "a", "ab", "abc", "abcd", null, true, false),
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("a", "b", "x_1", "c", "x_2"), tie("v"), { maxKeys: 3 })
  )
})).v

it("is sound against ajv", () => {
  const ajv = new (Ajv as any)({ strict: false, allErrors: false })
  let compat = 0, total = 0
  fc.assert(
    fc.property(schema, schema, fc.array(value, { minLength: 30, maxLength: 30 }), (w, r, vs) => {
      const W = JSON.parse(JSON.stringify(w)), R = JSON.parse(JSON.stringify(r))
      let vw, vr
      try {
        vw = ajv.compile(W)
        vr = ajv.compile(R)
      } catch {
        return true
      }
      total++
      const res = checkReadable(W, R)
      if (!res.compatible) return true
      compat++
      for (const v of vs) {
        if (vw(v) && !vr(v)) {
          throw new Error(
            `UNSOUND W=${JSON.stringify(W)} R=${JSON.stringify(R)} v=${JSON.stringify(v)} ${
              JSON.stringify(res.changes)
            }`
          )
        }
      }
      return true
    }),
    { numRuns: 30000, seed: Number(process.env.SEED ?? 1) }
  )
  console.log("compatible", compat, "of", total)
}, 600_000)
