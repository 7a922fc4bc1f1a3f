/**
 * Keeping a realm's .git packed: after enough appends the engine packs the loose objects (with the git executable,
 * or isomorphic-git without one), the repo stays valid for git and for Blue, and its loose objects stay bounded.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqliteEventLogLive } from "../src/adapters/eventLog.js"
import { RealmLockLive } from "../src/adapters/lock.js"
import { makeRealmGit, packFiles, RealmGit } from "../src/adapters/realmGit.js"
import { IdsCounter } from "../src/engine/ids.js"
import { Realms } from "../src/engine/Realms.js"

const tmp = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-maintain-")))
const git = (dir: string, ...args: Array<string>) => {
  const r = spawnSync("git", args, { cwd: dir, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`)
  return r.stdout
}
const countObjects = (dir: string) => {
  const out = git(dir, "count-objects", "-v")
  return {
    loose: Number(/^count: (\d+)/m.exec(out)![1]),
    packed: Number(/^in-pack: (\d+)/m.exec(out)![1]),
    packs: Number(/^packs: (\d+)/m.exec(out)![1])
  }
}
const user = { user: "eric@example.com" }

const engineWith = (root: string, options: Parameters<typeof makeRealmGit>[0]) =>
  Realms.Default.pipe(Layer.provide(Layer.mergeAll(
    SqliteEventLogLive(path.join(root, "daemon.db")),
    Layer.sync(RealmGit, () => makeRealmGit(options)),
    RealmLockLive,
    IdsCounter
  )))

/** A realm with `joins` repos joined, one command each. */
const build = (root: string, joins: number) =>
  Effect.gen(function*() {
    const realms = yield* Realms
    yield* TestClock.setTime(Date.parse("2026-01-24T10:00:00Z"))
    yield* realms.init(root, "packed", "open", user)
    const dir = path.join(root, "realm-packed")
    for (let i = 0; i < joins; i++) {
      yield* TestClock.adjust("1 minute")
      const repo = `svc-${String(i).padStart(3, "0")}`
      yield* realms.execute(dir, { _tag: "JoinRealm", repo, path: `/src/${repo}`, maintainers: ["m@x"] }, {
        repo,
        user: user.user
      })
    }
    return dir
  })

describe("RealmGit.maintain", () => {
  it.effect("packs loose objects as appends accumulate; git fsck stays clean and Blue reads the packed realm", () => {
    const root = tmp()
    return Effect.gen(function*() {
      const dir = yield* build(root, 120)
      const objects = countObjects(dir)
      // ~10 objects per append: unpacked, 120 appends leave over a thousand loose objects.
      expect(objects.packed).toBeGreaterThan(500)
      expect(objects.loose).toBeLessThan(400)
      expect(objects.packs).toBeLessThanOrEqual(4)
      git(dir, "fsck", "--strict", "--no-progress")
      expect(git(dir, "status", "--porcelain")).toBe("")
      const realms = yield* Realms
      const v = yield* realms.verify(dir)
      expect(v.differences).toEqual([])
      expect(v.events).toBe(121)
      expect(Object.keys((yield* realms.open(dir)).state.repos)).toHaveLength(120)
    }).pipe(Effect.provide(engineWith(root, { looseObjectLimit: 256, packLimit: 3 })))
  }, 120_000)

  it.effect("leaves a small realm alone with the default limits", () => {
    const root = tmp()
    return Effect.gen(function*() {
      const dir = yield* build(root, 5)
      expect(countObjects(dir).packs).toBe(0)
    }).pipe(Effect.provide(engineWith(root, {})))
  }, 60_000)

  it.effect("without a git executable, packs with isomorphic-git", () => {
    const root = tmp()
    return Effect.gen(function*() {
      const dir = yield* build(root, 10)
      const before = countObjects(dir)
      expect(before.loose).toBeGreaterThan(50)
      const saved = process.env.PATH
      const maintained = yield* Effect.acquireUseRelease(
        Effect.sync(() => {
          process.env.PATH = path.join(root, "no-bin")
        }),
        () => makeRealmGit({ looseObjectLimit: -1 }).maintain(dir),
        () =>
          Effect.sync(() => {
            process.env.PATH = saved
          })
      )
      expect(maintained.tool).toBe("isomorphic-git")
      expect(packFiles(dir)).toHaveLength(1)
      const after = countObjects(dir)
      expect(after.loose).toBe(0)
      expect(after.packed).toBe(before.loose)
      git(dir, "fsck", "--strict", "--no-progress")
      const v = yield* (yield* Realms).verify(dir)
      expect(v.differences).toEqual([])
    }).pipe(Effect.provide(engineWith(root, {})))
  }, 60_000)
})
