/**
 * The command tree as help and completion read it, and the text helpers every human renderer shares.
 */
import { describe, expect, it } from "vitest"
import { blue } from "../src/cli/commands.js"
import { commandTree, leaves, nearest, usageLine } from "../src/cli/usage.js"
import { BumpTooSmall } from "../src/domain/errors.js"
import { escapeControls, jsonText, plural } from "../src/domain/text.js"

const tree = commandTree(blue)

describe("the command tree", () => {
  it("every command, option and argument says what it is for", () => {
    const missing: Array<string> = []
    const walk = (node: typeof tree) => {
      if (node.description === "") missing.push(node.path.join(" "))
      for (const o of node.options) if (o.description === "") missing.push(`${node.path.join(" ")} --${o.name}`)
      for (const a of node.args) if (a.description === "") missing.push(`${node.path.join(" ")} <${a.name}>`)
      node.children.forEach(walk)
    }
    walk(tree)
    expect(missing).toEqual([])
  })

  it("lists each command once, by its full path", () => {
    const paths = leaves(tree).map((c) => c.path.join(" "))
    expect(new Set(paths).size).toBe(paths.length)
    expect(paths).toContain("blue realm admin domain create")
    expect(paths.every((p) => p.startsWith("blue "))).toBe(true)
    for (const leaf of leaves(tree)) expect(usageLine(leaf).startsWith(leaf.path.join(" "))).toBe(true)
  })

  it("knows the fixed values of choice options", () => {
    const check = leaves(tree).find((c) => c.path.join(" ") === "blue realm check")!
    expect(check.options.find((o) => o.name === "format")?.values).toEqual(["text", "json", "junit", "github"])
    expect(check.options.find((o) => o.name === "json")?.takesValue).toBe(false)
  })

  it("suggests the nearest word only when it is close", () => {
    expect(nearest("stauts", ["status", "stop"])).toBe("status")
    expect(nearest("grph", ["graph", "log"])).toBe("graph")
    expect(nearest("xyzzy", ["status", "graph"])).toBeUndefined()
  })
})

describe("text helpers", () => {
  it("plural counts nouns", () => {
    expect(plural(1, "error")).toBe("1 error")
    expect(plural(0, "error")).toBe("0 errors")
    expect(plural(2, "dependency", "dependencies")).toBe("2 dependencies")
  })

  it("BumpTooSmall says what is wrong once", () => {
    const small = new BumpTooSmall({ contract: "s3-permissions", from: "1.4.0", to: "1.5.0", required: "major" })
    expect(small.message).toBe(
      "Contract 's3-permissions': the change needs a major bump but 1.4.0 → 1.5.0 is a minor bump; use 2.0.0 or later."
    )
    const lower = new BumpTooSmall({ contract: "perms", from: "1.0.0", to: "0.0.1", required: "major" })
    expect(lower.message).toBe("Contract 'perms': version 0.0.1 is lower than 1.0.0; versions only move forward.")
  })

  it("escapeControls writes C0, C1, DEL and bidi controls as escapes and keeps newlines and tabs", () => {
    expect(escapeControls("a\u001b]0;PWNED\u0007b")).toBe("a\\x1b]0;PWNED\\x07b")
    expect(escapeControls("\u009b2J\u007f\r\u202e")).toBe("\\x9b2J\\x7f\\x0d\\u202e")
    expect(escapeControls("line\n\tindented")).toBe("line\n\tindented")
    // For a part of a one-line message, newlines and tabs too, in the same style.
    expect(escapeControls("line\n\tindented\u001b", { oneLine: true })).toBe("line\\x0a\\x09indented\\x1b")
    expect(escapeControls("ünïcode ✓ → 🔔")).toBe("ünïcode ✓ → 🔔")
  })

  it("jsonText escapes what JSON.stringify leaves raw and parses back to the same value", () => {
    const value = { a: "\u001b[31m", b: "\u009b2J\u007f\u202e", c: "✓" }
    const text = jsonText(value, 2)
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/)
    expect(text).toContain("\\u009b2J\\u007f\\u202e")
    expect(JSON.parse(text)).toEqual(value)
  })
})
