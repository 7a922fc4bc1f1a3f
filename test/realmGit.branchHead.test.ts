/**
 * `branchHead` of a remote realm's clone: which commit a proposal branch is built on. The server's branch (the
 * remote-tracking ref) wins only when it moved past ours — a killed write whose branch push landed before `main`
 * did, or another machine's amendment — so that the next push of the branch is a fast-forward; ours ahead of it (pushed,
 * not fetched since) or beside it stays ours. Before this rule, a re-run after such a kill lost the race on the
 * branch again and again (found by test/remote.kill.e2e.test.ts at a random kill point).
 */
import { Effect } from "effect"
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

const BRANCH = "sync/web/20261130T200000Z"

/** A clone with main (root) and commits a → b → c on the proposal branch, and d beside b (a's other child). */
const clone = async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-branchhead-")))
  dirs.push(dir)
  const rg = makeRealmGit()
  await Effect.runPromise(rg.init(dir))
  const commit = (parent: string | undefined, name: string, i: number) =>
    Effect.runPromise(
      rg.writeCommit(dir, {
        parent,
        writes: new Map([[`proposals/${name}.yaml`, `step: ${name}\n`]]),
        message: name,
        author: { name: "t", email: "t@x" },
        time: 1e12 + i
      })
    )
  const root = await commit(undefined, "root", 0)
  await Effect.runPromise(rg.advance(dir, undefined, root))
  const a = await commit(root, "a", 1)
  const b = await commit(a, "b", 2)
  const c = await commit(b, "c", 3)
  const d = await commit(a, "d", 4)
  const set = async (local: string | undefined, remote: string | undefined) => {
    for (const [ref, oid] of [[`refs/heads/${BRANCH}`, local], [`refs/remotes/origin/${BRANCH}`, remote]] as const) {
      if (oid === undefined) gitIn(dir, "update-ref", "-d", ref)
      else gitIn(dir, "update-ref", ref, oid)
    }
    return Effect.runPromise(rg.branchHead(dir, BRANCH))
  }
  return { a, b, c, d, set }
}

describe("RealmGit.branchHead", () => {
  it("builds on the server's branch when it moved past ours, else on ours", async () => {
    const { a, b, c, d, set } = await clone()
    expect(await set(undefined, undefined)).toBeUndefined()
    expect(await set(b, undefined)).toBe(b) // never pushed
    expect(await set(undefined, b)).toBe(b) // another machine's branch, fetched
    expect(await set(b, b)).toBe(b)
    // the server moved past ours: a killed write's push landed, or an amendment elsewhere
    expect(await set(a, b)).toBe(b)
    expect(await set(a, c)).toBe(c)
    // ours ahead of the server's (pushed, not fetched since): ours
    expect(await set(c, a)).toBe(c)
    // beside each other: ours (the push's compare-and-swap decides)
    expect(await set(b, d)).toBe(b)
    expect(await set(d, c)).toBe(d)
  })
})
