/**
 * Incremental tree building: a realm commit rewrites only the trees along its changed paths, from trees kept in
 * memory. After every step of a random sequence of writes and deletions, the commit's tree must be exactly the tree
 * of the same files built from scratch — by our own writer with no parent and by the git executable.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { makeRealmGit } from "../src/adapters/realmGit.js"
import { gitIn } from "./support/git.js"

const git = (dir: string, ...args: Array<string>) => gitIn(dir, ...args).trim()

/** A small deterministic PRNG (mulberry32), so a failure names its seed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const names = ["realm.yaml", "repos", "repos.yaml", "repos-a", "domains", "a", "b.yaml", "events", "z", "d-1", "d.1"]
const randomPath = (rand: () => number) => {
  const depth = 1 + Math.floor(rand() * 4)
  return Array.from({ length: depth }, () => names[Math.floor(rand() * names.length)]!).join("/")
}

const tmp = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-tree-")))

describe("incremental trees", () => {
  it.each([1, 2, 3, 4])("equal a from-scratch build after every step (seed %i)", async (seed) => {
    const rand = prng(seed)
    const dir = tmp()
    const scratch = tmp()
    const rg = makeRealmGit()
    await Effect.runPromise(rg.init(dir))
    await Effect.runPromise(rg.init(scratch))
    const files = new Map<string, string>()
    let parent: string | undefined
    for (let step = 0; step < 40; step++) {
      const writes = new Map<string, string | undefined>()
      for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) {
        const existing = [...files.keys()]
        if (existing.length > 0 && rand() < 0.35) {
          writes.set(existing[Math.floor(rand() * existing.length)]!, undefined)
          continue
        }
        const p = randomPath(rand)
        // a path cannot be both a file and a directory
        const clash = [...files.keys(), ...writes.keys()].some((f) => f.startsWith(`${p}/`) || p.startsWith(`${f}/`))
        if (!clash) writes.set(p, `content ${step} ${k} ${rand()}\n`)
      }
      for (const [p, c] of writes) {
        if (c === undefined) files.delete(p)
        else files.set(p, c)
      }
      const spec = { message: `step ${step}`, author: { name: "t", email: "t@x" }, time: 1769248800000 + step * 1000 }
      parent = await Effect.runPromise(rg.writeCommit(dir, { ...spec, parent, writes }))
      const fresh = await Effect.runPromise(
        rg.writeCommit(scratch, { ...spec, parent: undefined, writes: new Map(files) })
      )
      expect(git(dir, "rev-parse", `${parent}^{tree}`), `seed ${seed} step ${step}`).toBe(
        git(scratch, "rev-parse", `${fresh}^{tree}`)
      )
    }
    // …and the same tree as git builds from the files themselves
    const native = tmp()
    git(native, "init", "-q")
    for (const [p, c] of files) {
      fs.mkdirSync(path.dirname(path.join(native, p)), { recursive: true })
      fs.writeFileSync(path.join(native, p), c)
    }
    git(native, "add", "-A")
    expect(git(dir, "rev-parse", `${parent}^{tree}`)).toBe(git(native, "write-tree"))
    git(dir, "fsck", "--strict", "--no-progress")
  }, 60_000)
})
