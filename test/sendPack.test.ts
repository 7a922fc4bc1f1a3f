/**
 * The send-pack client's object walk and pack (src/adapters/sendPack.ts) against the git executable: on a history
 * with branches, merges, nested trees, renames and a file moved back, the objects it sends for `tip --not haves`
 * include every object `git rev-list --objects` names and nothing outside the tip's history; the pack it builds is
 * one `git index-pack` accepts, and a repo holding only the haves' history plus that pack passes `git fsck` at tip.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  buildPack,
  descendsFrom,
  objectsToSend,
  parseReportStatus,
  readRawObject,
  receivePackRequest
} from "../src/adapters/sendPack.js"

let tmp: string
let repo: string
const env = {
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  HOME: os.tmpdir(),
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "T",
  GIT_AUTHOR_EMAIL: "t@example.com",
  GIT_COMMITTER_NAME: "T",
  GIT_COMMITTER_EMAIL: "t@example.com"
}
const git = (cwd: string, ...args: Array<string>) =>
  execFileSync("git", args, { cwd, env, encoding: "utf8", maxBuffer: 1 << 26, stdio: ["pipe", "pipe", "pipe"] }).trim()
let clock = 1_700_000_000
const commit = (message: string, files: Record<string, string | null>) => {
  for (const [f, content] of Object.entries(files)) {
    const p = path.join(repo, f)
    if (content === null) fs.rmSync(p, { force: true })
    else {
      fs.mkdirSync(path.dirname(p), { recursive: true })
      fs.writeFileSync(p, content)
    }
  }
  git(repo, "add", "-A")
  const date = `${clock++} +0000`
  execFileSync("git", ["commit", "-q", "--allow-empty", "-m", message], {
    cwd: repo,
    env: { ...env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }
  })
  return git(repo, "rev-parse", "HEAD")
}
/** Reads through the loose file, or `git cat-file` for a packed object (as isomorphic-git would). */
const read = (oid: string) =>
  readRawObject(repo, oid, async (o) => {
    const type = git(repo, "cat-file", "-t", o) as "commit" | "tree" | "blob" | "tag"
    return { type, content: execFileSync("git", ["cat-file", type, o], { cwd: repo, env, stdio: "pipe" }) }
  })
const revList = (tip: string, haves: ReadonlyArray<string>) =>
  new Set(
    git(repo, "rev-list", "--objects", tip, ...haves.map((h) => `^${h}`)).split("\n").filter(Boolean).map((l) =>
      l.split(" ")[0]!
    )
  )
const reachable = (tip: string) => revList(tip, [])

const points: Record<string, string> = {}

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-sendpack-")))
  repo = path.join(tmp, "repo")
  fs.mkdirSync(repo)
  git(repo, "init", "-q", "-b", "main")
  points.root = commit("root", { "realm.yaml": "name: r\n", "domains/s3/domain.yaml": "name: s3\n" })
  points.m1 = commit("m1", { "events/2026-11-30/20/A.json": "{}\n", "domains/s3/contracts/c.yaml": "v: 1\n" })
  points.m2 = commit("m2", { "events/2026-11-30/20/B.json": "{}\n", "domains/s3/contracts/c.yaml": "v: 2\n" })
  git(repo, "checkout", "-q", "-b", "sync/web/1")
  points.p1 = commit("p1", { "proposals/p.yaml": "id: p\n", "domains/s3/contracts/c.yaml": "v: 3\n" })
  points.p2 = commit("p2", { "proposals/p.yaml": "id: p\nacks: 1\n" })
  git(repo, "checkout", "-q", "main")
  points.m3 = commit("m3", { "events/2026-11-30/21/C.json": "{}\n", "realm.yaml": "name: r\nv: 2\n" })
  execFileSync("git", ["merge", "-q", "--no-ff", "-m", "merge", "sync/web/1"], {
    cwd: repo,
    env: { ...env, GIT_AUTHOR_DATE: `${clock} +0000`, GIT_COMMITTER_DATE: `${clock++} +0000` }
  })
  points.merge = git(repo, "rev-parse", "HEAD")
  // a file moved back to content an older commit had, a subtree deleted, and an empty commit
  points.m4 = commit("m4", { "domains/s3/contracts/c.yaml": "v: 1\n", "proposals/p.yaml": null })
  points.m5 = commit("m5", {})
  // an unrelated branch (a session branch) with its own root
  git(repo, "checkout", "-q", "--orphan", "blue/sessions/a")
  git(repo, "rm", "-q", "-rf", ".")
  points.s1 = commit("s1", { "sessions.json": "[]\n" })
  points.s2 = commit("s2", { "sessions.json": "[1]\n" })
  git(repo, "checkout", "-q", "main")
  // pack part of the history, as a clone would hold it
  git(repo, "repack", "-q", "-d")
  commit("after-repack", { "events/2026-11-30/22/D.json": "{}\n" })
  points.m6 = git(repo, "rev-parse", "HEAD")
})

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("send-pack's object walk", () => {
  const cases: Array<[string, string, ReadonlyArray<string>]> = [
    ["a linear append", "m6", ["m5"]],
    ["several commits", "m6", ["m2"]],
    ["a merge of a proposal branch", "merge", ["m3", "p2"]],
    ["a merge whose branch the server lacks", "merge", ["m3"]],
    ["a new branch from an old main", "p2", ["m6"]],
    ["a file moved back and a subtree deleted", "m4", ["merge"]],
    ["an empty commit", "m5", ["m4"]],
    ["everything, to an empty repo", "m6", []],
    ["unrelated haves (another machine's sessions)", "m6", ["s2", "m1"]],
    ["a session branch's next commit", "s2", ["s1", "m6"]],
    ["a have this repo lacks", "m6", ["m5", "0123456789abcdef0123456789abcdef01234567"]]
  ]
  for (const [what, tip, haves] of cases) {
    it(`${what}: every object git would send, none outside the tip's history`, async () => {
      const ours = new Set(await objectsToSend(read, points[tip]!, haves.map((h) => points[h] ?? h)))
      const needed = revList(points[tip]!, haves.filter((h) => points[h] !== undefined).map((h) => points[h]!))
      for (const oid of needed) expect(ours, `missing ${git(repo, "cat-file", "-t", oid)} ${oid}`).toContain(oid)
      const all = reachable(points[tip]!)
      for (const oid of ours) expect(all.has(oid), `${oid} is not in ${tip}'s history`).toBe(true)
      // The walk stays near the change: a linear append sends its commit and the trees and blobs on its path (a
      // blob whose content another path already holds is sent again; git leaves it out).
      if (what === "a linear append") expect(ours.size).toBeLessThanOrEqual(needed.size + 1)
    })
  }

  it("a pack of them is one git accepts: index-pack takes it and fsck is clean at the tip", async () => {
    for (const [tip, have] of [["m6", "m2"], ["merge", "m3"], ["m6", undefined]] as const) {
      const target = path.join(tmp, `target-${tip}-${have ?? "none"}`)
      git(tmp, "init", "-q", "--bare", target)
      if (have !== undefined) git(repo, "push", "-q", target, `${points[have]}:refs/heads/main`)
      const objects = await objectsToSend(read, points[tip]!, have === undefined ? [] : [points[have]!])
      const pack = await buildPack(read, objects)
      execFileSync("git", ["index-pack", "--stdin", "--strict"], { cwd: target, env, input: pack, stdio: "pipe" })
      git(target, "update-ref", "refs/heads/main", points[tip]!)
      git(target, "fsck", "--strict", "--no-dangling")
      expect(git(target, "rev-parse", "main^{tree}")).toBe(git(repo, "rev-parse", `${points[tip]}^{tree}`))
    }
  })

  it("descendsFrom: a fast-forward, not a sideways move or a step back", async () => {
    expect(await descendsFrom(read, points.m6!, points.m5!)).toBe(true)
    expect(await descendsFrom(read, points.merge!, points.p1!)).toBe(true)
    expect(await descendsFrom(read, points.m6!, points.root!)).toBe(true)
    expect(await descendsFrom(read, points.m5!, points.m6!)).toBe(false)
    expect(await descendsFrom(read, points.p2!, points.m3!)).toBe(false)
    expect(await descendsFrom(read, points.s2!, points.m1!)).toBe(false)
  })
})

describe("the receive-pack exchange", () => {
  it("the request is git's: `git receive-pack` moves the branch from the old commit and reports it", async () => {
    const target = path.join(tmp, "target-rp")
    git(tmp, "init", "-q", "--bare", target)
    git(repo, "push", "-q", target, `${points.m2}:refs/heads/main`)
    const pack = await buildPack(read, await objectsToSend(read, points.m6!, [points.m2!]))
    const update = { oldOid: points.m2!, newOid: points.m6!, ref: "refs/heads/main" }
    const answer = execFileSync("git", ["receive-pack", "--stateless-rpc", target], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
      input: receivePackRequest(update, ["report-status"], pack)
    })
    expect(parseReportStatus(answer)).toEqual({ unpack: "ok", refs: new Map([["refs/heads/main", undefined]]) })
    expect(git(target, "rev-parse", "main")).toBe(points.m6)

    // A stale old commit (the branch moved meanwhile): the server refuses, compare-and-swap.
    const stale = execFileSync("git", ["receive-pack", "--stateless-rpc", target], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
      input: receivePackRequest({ oldOid: points.m2!, newOid: points.m6!, ref: "refs/heads/other" }, [
        "report-status"
      ], await buildPack(read, []))
    })
    const report = parseReportStatus(stale)
    expect(report.unpack).toBe("ok")
    expect(report.refs.get("refs/heads/other")).toMatch(/failed|lock|expected|stale/i)
    expect(git(target, "for-each-ref", "--format=%(refname)")).toBe("refs/heads/main")
  })

  it("an answer that is not report-status is an error, not a success", () => {
    expect(() => parseReportStatus(Buffer.from("hello"))).toThrow(/report-status/)
    expect(() => parseReportStatus(Buffer.from("0000"))).toThrow(/report-status/)
  })
})
