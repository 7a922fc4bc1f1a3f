/**
 * Our git object encoding against the real git executable: same ids for blobs, trees and commits.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { encodeCommit, encodeTree, makeObject } from "../src/adapters/gitObjects.js"

const repo = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blue-objects-"))
  spawnSync("git", ["init", "-q"], { cwd: dir })
  return dir
}
const git = (dir: string, args: Array<string>, input?: string) => {
  const r = spawnSync("git", args, {
    cwd: dir,
    input,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "aperture",
      GIT_AUTHOR_EMAIL: "eric@example.com",
      GIT_AUTHOR_DATE: "1769248800 +0000",
      GIT_COMMITTER_NAME: "aperture",
      GIT_COMMITTER_EMAIL: "eric@example.com",
      GIT_COMMITTER_DATE: "1769248800 +0000"
    }
  })
  if (r.status !== 0) throw new Error(r.stderr)
  return r.stdout.trim()
}
const enc = new TextEncoder()

describe("git objects", () => {
  it("hashes blobs as git hash-object does", () => {
    const dir = repo()
    for (const content of ["", "name: letemcook\n", "ünïcode ✓\n"]) {
      expect(makeObject("blob", enc.encode(content)).oid).toBe(git(dir, ["hash-object", "--stdin"], content))
    }
  })

  it("orders and encodes trees as git mktree does, subtrees sorting as name + '/'", () => {
    const dir = repo()
    const blob = git(dir, ["hash-object", "-w", "--stdin"], "x\n")
    const sub = git(dir, ["mktree"], `100644 blob ${blob}\tleaf\n`)
    const entries = [
      { mode: "100644", path: "realm.yaml", oid: blob, type: "blob" as const },
      { mode: "040000", path: "repos", oid: sub, type: "tree" as const },
      { mode: "100644", path: "repos.yaml", oid: blob, type: "blob" as const },
      { mode: "100644", path: "repos-a", oid: blob, type: "blob" as const },
      { mode: "040000", path: "domains", oid: sub, type: "tree" as const },
      { mode: "100644", path: ".gitkeep", oid: blob, type: "blob" as const }
    ]
    const mktree = entries.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}`).join("\n") + "\n"
    expect(makeObject("tree", encodeTree(entries)).oid).toBe(git(dir, ["mktree"], mktree))
    expect(makeObject("tree", encodeTree([])).oid).toBe(git(dir, ["mktree"], ""))
  })

  it("encodes a large tree, given in order or not, and non-ASCII names, as git mktree does", () => {
    const dir = repo()
    const blob = git(dir, ["hash-object", "-w", "--stdin"], "x\n")
    const sub = git(dir, ["mktree"], `100644 blob ${blob}\tleaf\n`)
    const sorted = Array.from({ length: 1200 }, (_, i) => ({
      mode: i % 3 === 0 ? "040000" : "100644",
      path: `dom-${String(i).padStart(4, "0")}${i % 3 === 0 ? "" : ".yaml"}`,
      oid: i % 3 === 0 ? sub : blob,
      type: i % 3 === 0 ? "tree" as const : "blob" as const
    }))
    const shuffled = [...sorted].reverse()
    const accented = [...sorted.slice(0, 5), {
      mode: "100644",
      path: "ünïcode-✓.yaml",
      oid: blob,
      type: "blob" as const
    }]
    for (const entries of [sorted, shuffled, accented]) {
      const mktree = entries.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}`).join("\n") + "\n"
      expect(makeObject("tree", encodeTree(entries)).oid).toBe(git(dir, ["mktree"], mktree))
    }
  })

  it("encodes commits as git commit-tree does", () => {
    const dir = repo()
    const tree = git(dir, ["mktree"], "")
    const root = git(dir, ["commit-tree", tree, "-m", "Initialize realm letemcook"])
    const who = { name: "aperture", email: "eric@example.com", timestamp: 1769248800 }
    expect(
      makeObject(
        "commit",
        encodeCommit({ tree, parents: [], author: who, committer: who, message: "Initialize realm letemcook" })
      )
        .oid
    ).toBe(root)
    const child = git(dir, ["commit-tree", tree, "-p", root, "-m", "second\n\nBlue-Event: events/x.json"])
    expect(
      makeObject(
        "commit",
        encodeCommit({
          tree,
          parents: [root],
          author: who,
          committer: who,
          message: "second\n\nBlue-Event: events/x.json"
        })
      ).oid
    ).toBe(child)
  })
})
