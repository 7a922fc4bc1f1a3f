import { it } from "vitest"
import { checkReadable, compareSchemas, requiredBump } from "../src/domain/compatibility.js"
it("scratch", () => {
  const v14 = {
    type: "object",
    required: ["read"],
    properties: {
      read: { type: "array", items: { type: "string" } },
      write: { type: "array", items: { type: "string" }, default: [] }
    }
  }
  const v15 = {
    ...v14,
    properties: { ...v14.properties, delete: { type: "array", items: { type: "string" }, default: [] } }
  }
  console.log(JSON.stringify(compareSchemas(v14, v15), null, 1))
  console.log(
    requiredBump(v14, v15, { read: ["a"] }, { read: ["a"], delete: [] }, { backwards: true, forwards: false })
  )
  const closed = { ...v14, additionalProperties: false }
  console.log(JSON.stringify(compareSchemas(v14, closed), null, 1))
  console.log(
    JSON.stringify(compareSchemas({ type: "string", enum: ["a", "b"] }, { type: "string", enum: ["b", "c"] }), null, 1)
  )
  console.log(
    JSON.stringify(compareSchemas({ type: "integer", minimum: 0 }, { type: "number", exclusiveMinimum: 0 }), null, 1)
  )
  console.log(
    JSON.stringify(
      checkReadable({ type: ["string", "number"] }, { anyOf: [{ type: "string" }, { type: "integer" }] }),
      null,
      1
    )
  )
  const tree = {
    $defs: {
      node: {
        type: "object",
        properties: {
          children: { type: "array", items: { $ref: "#/$defs/node" } },
          name: { type: "string", maxLength: 5 }
        }
      }
    },
    $ref: "#/$defs/node"
  }
  const tree2 = {
    $defs: {
      node: {
        type: "object",
        properties: {
          children: { type: "array", items: { $ref: "#/$defs/node" } },
          name: { type: "string", maxLength: 3 }
        }
      }
    },
    $ref: "#/$defs/node"
  }
  console.log(JSON.stringify(compareSchemas(tree, tree2), null, 1))
})
