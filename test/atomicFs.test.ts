import * as fs from "node:fs"
import * as os from "node:os"
import * as nodePath from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { linkNewFileSync, tmpDirFor, writeFileAtomicSync } from "../src/adapters/atomicFs.js"

const dirs: Array<string> = []
const tmp = () => {
  const d = fs.mkdtempSync(nodePath.join(os.tmpdir(), "blue-atomic-"))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

describe("atomicFs", () => {
  it("keeps temporary files of a git repo in .git/blue-tmp, and others beside the file", () => {
    expect(tmpDirFor(nodePath.join("/r", ".git", "refs", "heads", "main"))).toBe(
      nodePath.join("/r", ".git", "blue-tmp")
    )
    expect(tmpDirFor(nodePath.join("/home", "x", "f.json"))).toBe(nodePath.join("/home", "x"))
  })

  it("writeFileAtomicSync replaces the file, with the mode asked for, leaving no temporary file", () => {
    const d = tmp()
    const file = nodePath.join(d, "unit")
    fs.writeFileSync(file, "old")
    writeFileAtomicSync(file, "new", { mode: 0o600 })
    expect(fs.readFileSync(file, "utf8")).toBe("new")
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(fs.readdirSync(d)).toEqual(["unit"])
  })

  it("writeFileAtomicSync writes its temporary file into tmpDir and cleans up when the rename fails", () => {
    const d = tmp()
    const tmpDir = nodePath.join(d, "t")
    const target = nodePath.join(d, "dir")
    fs.mkdirSync(nodePath.join(target, "busy"), { recursive: true })
    expect(() => writeFileAtomicSync(target, "x", { tmpDir })).toThrow()
    expect(fs.readdirSync(tmpDir)).toEqual([])
  })

  it("linkNewFileSync creates a new file but never replaces one (EEXIST), leaving no temporary file", () => {
    const d = tmp()
    const file = nodePath.join(d, "pid")
    linkNewFileSync(file, "1\n", { mode: 0o600 })
    expect(fs.readFileSync(file, "utf8")).toBe("1\n")
    expect(fs.statSync(file).mode & 0o777).toBe(0o600)
    expect(() => linkNewFileSync(file, "2\n")).toThrow(expect.objectContaining({ code: "EEXIST" }))
    expect(fs.readFileSync(file, "utf8")).toBe("1\n")
    expect(fs.readdirSync(d)).toEqual(["pid"])
  })
})
