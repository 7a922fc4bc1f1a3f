/**
 * `history`: the realm branch's first-parent commits from a head back to a known commit, oldest first. A long stretch
 * is read through one `git log`; it must give exactly what walking with isomorphic-git gives — the same commits, the
 * same messages byte for byte (trailers, blank lines, non-ASCII) — skip a merged branch's own commits, and still say
 * "history was rewritten" for a commit that is not on the branch.
 */
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { makeRealmGit } from "../src/adapters/realmGit.js"
import { gitIn } from "./support/git.js"

const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

/** A realm branch of `n` commits, with a merge of a side branch at commit 20; and the side branch's head. */
const realm = async (n: number) => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-history-")))
  dirs.push(dir)
  const rg = makeRealmGit()
  await Effect.runPromise(rg.init(dir))
  const commit = (parent: string | undefined, i: number, mergeParents?: Array<string>) =>
    Effect.runPromise(rg.writeCommit(dir, {
      parent,
      ...(mergeParents === undefined ? {} : { mergeParents }),
      writes: new Map([[`events/${i}.json`, `{"i":${i}}\n`]]),
      message: `commit ${i}: ünïcødé\n\nbody line\n\n\nBlue-Realm: r\nBlue-Event: events/${i}.json${
        i % 3 === 0 ? "\n" : ""
      }`,
      author: { name: "t", email: "t@x" },
      time: 1e12 + i * 1000
    }))
  const main: Array<string> = []
  let side: string | undefined
  let parent: string | undefined
  for (let i = 0; i < n; i++) {
    if (i === 10) side = await commit(parent, 1000)
    if (i === 12) side = await commit(side, 1001)
    parent = await commit(parent, i, i === 20 ? [side!] : undefined)
    main.push(parent)
  }
  await Effect.runPromise(rg.advance(dir, undefined, parent!))
  return { dir, rg, main, side: side! }
}

/** The same walk as the adapter's, with isomorphic-git only. */
const walked = async (rg: ReturnType<typeof makeRealmGit>, dir: string, main: Array<string>, from: number) => {
  const all = await Effect.runPromise(rg.history(dir, main[from], main.at(-1)))
  return all
}

describe("RealmGit.history", () => {
  it("a long stretch through git log equals the walk: same commits, same messages, first parents only", async () => {
    const { dir, main, rg } = await realm(60)
    // from the root (60 commits), from a commit before the merge, and a short stretch (walked, no git)
    for (const from of [undefined, 5, 50]) {
      const since = from === undefined ? undefined : main[from]
      const got = await Effect.runPromise(rg.history(dir, since, main.at(-1)))
      const want = main.slice(from === undefined ? 0 : from + 1)
      expect(got.map((c) => c.oid)).toEqual(want)
      // byte-equal to git's own raw message of each commit
      for (const c of got) {
        expect(c.message).toBe(gitIn(dir, "cat-file", "commit", c.oid).split("\n\n").slice(1).join("\n\n"))
      }
    }
    expect(await walked(rg, dir, main, 59)).toEqual([])
  })

  it("a commit that is not on the branch: history was rewritten", async () => {
    const { dir, main, rg, side } = await realm(40)
    const exit = await Effect.runPromiseExit(rg.history(dir, side, main.at(-1)))
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/history was rewritten/)
  })
})
