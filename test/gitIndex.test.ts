/**
 * The in-place index update against the real git executable: after the same changes, `git add` and
 * updateIndexFile leave the same staged entries, git reads the patched index (its checksum holds) and sees no
 * unstaged change.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { type IndexChange, updateIndexFile } from "../src/adapters/gitIndex.js"
import { objectId } from "../src/adapters/gitObjects.js"
import { gitIn } from "./support/git.js"

const git = gitIn

const initial: Record<string, string> = {
  "realm.yaml": "name: x\n",
  "repos/.gitkeep": "",
  "repos/a.yaml": "name: a\n",
  "repos/c.yaml": "name: c\n",
  "domains/d/domain.yaml": "name: d\n",
  "domains/d/contracts/k.yaml": "version: \"1.0.0\"\n",
  [`events/2026-01-24/10/${"0".repeat(26)}.json`]: "{}\n"
}

/** Two identical repos with `initial` committed. */
const twins = () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "blue-index-"))
  const dirs = ["git", "blue"].map((n) => path.join(root, n))
  for (const dir of dirs) {
    fs.mkdirSync(dir)
    git(dir, "init", "-q")
    for (const [p, content] of Object.entries(initial)) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true })
      fs.writeFileSync(path.join(dir, p), content)
    }
    git(dir, "add", "-A")
    git(dir, "commit", "-qm", "init")
  }
  return dirs as [string, string]
}

const cases: Array<[string, Record<string, string | undefined>]> = [
  ["replace one entry", { "repos/a.yaml": "name: a\nmore: 1\n" }],
  ["insert before, between and after", { "a-first.yaml": "1\n", "repos/b.yaml": "b\n", "zzz/last.yaml": "z\n" }],
  ["delete and insert", {
    "repos/c.yaml": undefined,
    "domains/d/bindings/a.yaml": "repo: a\n",
    "realm.yaml": "name: y\n"
  }],
  ["a new event file beside an existing one", { [`events/2026-01-24/10/${"1".repeat(26)}.json`]: "{\"a\":1}\n" }],
  ["delete everything of a directory", { "domains/d/domain.yaml": undefined, "domains/d/contracts/k.yaml": undefined }]
]

describe("updateIndexFile", () => {
  it.each(cases)("stages what git add stages: %s", (_, change) => {
    const [byGit, byBlue] = twins()
    const changes = new Map<string, IndexChange>()
    for (const dir of [byGit, byBlue]) {
      for (const [p, content] of Object.entries(change)) {
        const file = path.join(dir, p)
        if (content === undefined) fs.rmSync(file)
        else {
          fs.mkdirSync(path.dirname(file), { recursive: true })
          fs.writeFileSync(file, content)
          if (dir === byBlue) {
            changes.set(p, { stat: fs.statSync(file, { bigint: true }), oid: objectId("blob", Buffer.from(content)) })
          }
        }
        if (content === undefined && dir === byBlue) changes.set(p, undefined)
      }
    }
    git(byGit, "add", "-A")
    expect(updateIndexFile(byBlue, changes, (f, b) => fs.writeFileSync(f, b))).toBe(true)
    expect(git(byBlue, "ls-files", "-s")).toBe(git(byGit, "ls-files", "-s"))
    expect(git(byBlue, "status", "--porcelain")).toBe(git(byGit, "status", "--porcelain"))
    // nothing unstaged: the stat data recorded matches the files
    expect(git(byBlue, "diff", "--name-only")).toBe("")
    // Blue stores the blobs with the commit; here git does, so that the patched index can be committed
    for (const [p, content] of Object.entries(change)) if (content !== undefined) git(byBlue, "hash-object", "-w", p)
    git(byBlue, "commit", "-qm", "next")
    git(byBlue, "fsck", "--strict", "--no-progress")
  })

  it("declines an index it does not handle, changing nothing", () => {
    const [, dir] = twins()
    git(dir, "update-index", "--index-version", "4")
    const before = fs.readFileSync(path.join(dir, ".git", "index"))
    const file = path.join(dir, "repos/a.yaml")
    fs.writeFileSync(file, "x\n")
    const changes = new Map([["repos/a.yaml", {
      stat: fs.statSync(file, { bigint: true }),
      oid: objectId("blob", Buffer.from("x\n"))
    }]])
    expect(updateIndexFile(dir, changes, (f, b) => fs.writeFileSync(f, b))).toBe(false)
    expect(fs.readFileSync(path.join(dir, ".git", "index")).equals(before)).toBe(true)
    expect(updateIndexFile(path.join(dir, "nowhere"), changes, () => {
      throw new Error("must not write")
    })).toBe(false)
  })
})
