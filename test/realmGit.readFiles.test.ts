/**
 * `readFiles`: many files, each at its own commit, in one `git cat-file --batch` — the answers must be exactly what
 * `readFile` gives for each (content, or undefined for a missing path or commit), also for paths cat-file cannot be
 * asked about, for a directory, for non-ASCII content, from packed objects, and without the git executable.
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

const tmp = () => {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-readfiles-")))
  dirs.push(d)
  return d
}

/** A repo of `n` commits, commit i adding events/<i>.json (and rewriting realm.yaml). */
const repoOf = async (n: number) => {
  const dir = tmp()
  const rg = makeRealmGit()
  await Effect.runPromise(rg.init(dir))
  const commits: Array<string> = []
  let parent: string | undefined
  for (let i = 0; i < n; i++) {
    const writes = new Map<string, string | undefined>([
      [`events/${String(i).padStart(3, "0")}.json`, `{"i":${i},"text":"ünïcødé ✓ ${"x".repeat(i)}"}\n`],
      ["realm.yaml", `name: r\nstep: ${i}\n`]
    ])
    parent = await Effect.runPromise(
      rg.writeCommit(dir, { parent, writes, message: `c${i}`, author: { name: "t", email: "t@x" }, time: 1e12 + i })
    )
    commits.push(parent)
  }
  await Effect.runPromise(rg.advance(dir, undefined, parent!))
  return { dir, rg, commits }
}

const requests = (commits: ReadonlyArray<string>) => [
  ...commits.map((commit, i) => ({ commit, path: `events/${String(i).padStart(3, "0")}.json` })),
  ...commits.map((commit) => ({ commit, path: "realm.yaml" })),
  // missing: a later commit's file, an unknown commit
  { commit: commits[0]!, path: `events/${String(commits.length - 1).padStart(3, "0")}.json` },
  { commit: "0".repeat(40), path: "realm.yaml" },
  // paths cat-file would read differently (relative, empty segments)
  { commit: commits[2]!, path: "./realm.yaml" },
  { commit: commits[2]!, path: "events//000.json" }
]

/** Each request through `readFile`: its content, undefined, or the error's tag. */
const oneByOne = (rg: ReturnType<typeof makeRealmGit>, dir: string, reqs: ReturnType<typeof requests>) =>
  Effect.runPromise(
    Effect.forEach(reqs, (r) => rg.readFile(dir, r.commit, r.path).pipe(Effect.catchAll((e) => Effect.succeed(e._tag))))
  )

const batched = (rg: ReturnType<typeof makeRealmGit>, dir: string, reqs: ReturnType<typeof requests>) =>
  Effect.runPromise(
    rg.readFiles(dir, reqs).pipe(
      Effect.map((xs): Array<string | undefined> => [...xs]),
      Effect.catchAll((e) => Effect.succeed(e._tag))
    )
  )

describe("readFiles", () => {
  it("answers as readFile does, for each request (loose and packed objects)", async () => {
    const { commits, dir, rg } = await repoOf(24)
    const reqs = requests(commits)
    const expected = await oneByOne(rg, dir, reqs)
    expect(expected.slice(0, 24).every((x) => typeof x === "string" && x.includes("ünïcødé ✓"))).toBe(true)
    expect(expected.slice(48, 50)).toEqual([undefined, undefined])
    expect(await batched(rg, dir, reqs)).toEqual(expected)
    // Without the unsafe paths, so the batch does go through git cat-file.
    const safe = reqs.filter((r) => !r.path.includes("./") && !r.path.includes("//"))
    expect(await batched(rg, dir, safe)).toEqual(await oneByOne(rg, dir, safe))
    // Packed by the git executable: the same answers.
    gitIn(dir, "gc", "-q")
    expect(fs.readdirSync(path.join(dir, ".git", "objects", "pack")).some((f) => f.endsWith(".pack"))).toBe(true)
    expect(await batched(rg, dir, safe)).toEqual(expected.filter((_, i) => safe.includes(reqs[i]!)))
  })

  it.each(["events", "realm.yaml/x"])(
    "fails as readFile does for %s (a directory, a path through a file)",
    async (p) => {
      const { commits, dir, rg } = await repoOf(20)
      const reqs = requests(commits).slice(0, 20).concat([{ commit: commits[2]!, path: p }])
      const alone = await oneByOne(rg, dir, [{ commit: commits[2]!, path: p }])
      expect(alone[0]).toBe("GitError")
      expect(await batched(rg, dir, reqs)).toBe("GitError")
    }
  )

  it("reads with isomorphic-git when there is no git executable", async () => {
    const { commits, dir, rg } = await repoOf(20)
    const reqs = requests(commits).filter((r) =>
      r.path !== "events" && !r.path.includes("./") && !r.path.includes("//")
    )
    const expected = await oneByOne(rg, dir, reqs)
    const saved = process.env["PATH"]
    process.env["PATH"] = tmp()
    try {
      expect(await batched(rg, dir, reqs)).toEqual(expected)
    } finally {
      process.env["PATH"] = saved
    }
  })
})

describe("loose object writes", () => {
  it("make a fan-out directory again when packing removed it after this process wrote into it", async () => {
    const { commits, dir, rg } = await repoOf(20)
    gitIn(dir, "gc", "-q")
    gitIn(dir, "prune-packed")
    const objects = path.join(dir, ".git", "objects")
    for (const d of fs.readdirSync(objects)) {
      if (/^[0-9a-f]{2}$/.test(d)) fs.rmSync(path.join(objects, d), { recursive: true, force: true })
    }
    // The same process writes again: every object's fan-out directory is gone, though it made them before.
    let parent = commits.at(-1)!
    for (let i = 0; i < 20; i++) {
      const writes = new Map([[`more/${i}.json`, `{"more":${i}}\n`]])
      const next = await Effect.runPromise(
        rg.writeCommit(dir, { parent, writes, message: `m${i}`, author: { name: "t", email: "t@x" }, time: 2e12 + i })
      )
      await Effect.runPromise(rg.advance(dir, parent, next))
      parent = next
    }
    expect(gitIn(dir, "fsck", "--strict").trim()).toBe("")
    expect(await Effect.runPromise(rg.readFile(dir, parent, "more/19.json"))).toBe(`{"more":19}\n`)
  })
})
