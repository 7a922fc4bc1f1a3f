/**
 * The realm engine in-process, on real git repos and real SQLite files in temp dirs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { EventLog } from "../src/adapters/eventLog.js"
import { MemoryEventLogLive, SqliteEventLogLive } from "../src/adapters/eventLog.js"
import { RealmLockLive } from "../src/adapters/lock.js"
import { Published } from "../src/adapters/published.js"
import { RealmGitLive } from "../src/adapters/realmGit.js"
import { IdsCounter } from "../src/engine/ids.js"
import { Realms } from "../src/engine/Realms.js"
import { gitIn } from "./support/git.js"

const tmp = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-engine-")))
const git = gitIn

const engine = (log: Layer.Layer<EventLog, unknown>) =>
  Realms.Default.pipe(Layer.provide(Layer.mergeAll(log, RealmGitLive, RealmLockLive, IdsCounter)))
const sqlite = (dir: string) => engine(SqliteEventLogLive(path.join(dir, "daemon.db")))

const actor = (
  repo?: string
) => (repo === undefined ? { user: "eric@example.com" } : { repo, user: "eric@example.com" })

/** The seed: realm, three joins, two domains. */
const seedStory = (root: string) =>
  Effect.gen(function*() {
    const realms = yield* Realms
    yield* TestClock.setTime(Date.parse("2026-01-24T10:00:00Z"))
    const init = yield* realms.init(root, "letemcook", "open", actor())
    const dir = path.join(root, "realm-letemcook")
    for (const repo of ["aperture", "fungal-image-analysis", "ml-infra"]) {
      yield* TestClock.adjust("1 minute")
      yield* realms.execute(dir, { _tag: "JoinRealm", repo, path: `/src/${repo}`, maintainers: ["m@x"] }, actor(repo))
    }
    yield* realms.execute(dir, {
      _tag: "CreateDomain",
      domain: "s3-access",
      repos: ["aperture", "fungal-image-analysis"],
      contract: "s3-permissions"
    }, actor("aperture"))
    const last = yield* realms.execute(dir, {
      _tag: "CreateDomain",
      domain: "training-pipeline",
      repos: ["fungal-image-analysis", "ml-infra"],
      contract: "job-schema"
    }, actor("fungal-image-analysis"))
    return { dir, first: init.commit, last: last.commit }
  })

describe("Realms engine", () => {
  it.effect("runs the seed story: one commit per command, clean working tree, verify agrees", () =>
    Effect.gen(function*() {
      const root = tmp()
      const { dir } = yield* seedStory(root)
      expect(git(dir, "rev-list", "--count", "main").trim()).toBe("6")
      expect(git(dir, "status", "--porcelain")).toBe("")
      git(dir, "fsck", "--strict")
      expect(fs.readFileSync(path.join(dir, "domains/s3-access/contracts/s3-permissions.yaml"), "utf8")).toContain(
        "owner: aperture"
      )
      const v = yield* (yield* Realms).verify(dir)
      expect(v).toMatchObject({ realm: "letemcook", events: 12, commits: 6, differences: [] })
    }).pipe(Effect.provide(sqlite(tmp()))))

  it.effect("replaying the same commands with the same clock and ids reproduces the same commit SHAs", () =>
    Effect.gen(function*() {
      const a = yield* seedStory(tmp()).pipe(Effect.provide(sqlite(tmp())))
      const b = yield* seedStory(tmp()).pipe(Effect.provide(sqlite(tmp())))
      expect(a.first).toBe(b.first)
      expect(a.last).toBe(b.last)
    }))

  it.effect("a machine whose daemon.db never saw the realm ingests everything from git alone", () =>
    Effect.gen(function*() {
      const root = tmp()
      const { dir } = yield* seedStory(root).pipe(Effect.provide(sqlite(tmp())))
      const fresh = Effect.gen(function*() {
        const realms = yield* Realms
        const open = yield* realms.open(dir)
        expect(open.state.position).toBe(12)
        expect(Object.keys(open.state.domains).sort()).toEqual(["s3-access", "training-pipeline"])
        return yield* realms.verify(dir)
      })
      const v = yield* fresh.pipe(Effect.provide(engine(MemoryEventLogLive)))
      expect(v.differences).toEqual([])
    }))

  it.effect("a crash after the git commit but before the daemon.db insert loses nothing", () =>
    Effect.gen(function*() {
      const root = tmp()
      const home = tmp()
      const { dir } = yield* seedStory(root).pipe(Effect.provide(sqlite(home)))
      const before = fs.readFileSync(path.join(home, "daemon.db"))
      // Another writer (a second machine) appends; then this machine's daemon.db is behind by one commit.
      yield* Effect.gen(function*() {
        const realms = yield* Realms
        yield* realms.execute(dir, { _tag: "LeaveRealm", repo: "ml-infra", force: false }, actor("ml-infra"))
      }).pipe(Effect.provide(sqlite(tmp())))
      expect(fs.readFileSync(path.join(home, "daemon.db")).equals(before)).toBe(true)
      const after = yield* Effect.gen(function*() {
        const realms = yield* Realms
        const open = yield* realms.open(dir)
        const events = yield* realms.events(dir)
        return {
          position: open.state.position,
          types: events.map((e) => e.envelope.type),
          v: yield* realms.verify(dir)
        }
      }).pipe(Effect.provide(sqlite(home)))
      expect(after.position).toBe(13)
      expect(after.types.at(-1)).toBe("RepoLeft")
      expect(after.v.differences).toEqual([])
    }))

  it.effect("verify reports a realm file edited by hand and committed with plain git", () =>
    Effect.gen(function*() {
      const root = tmp()
      const { dir } = yield* seedStory(root)
      const file = path.join(dir, "realm.yaml")
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("grace_period_days: 14", "grace_period_days: 3"))
      git(dir, "commit", "-qam", "hand edit")
      const realms = yield* Realms
      const v = yield* realms.verify(dir)
      expect(v.differences).toEqual(["realm.yaml: differs from the projection (edited by hand?)"])
      // A hand-made commit carries no events: the next command still lands on top of it.
      yield* realms.execute(dir, { _tag: "LeaveRealm", repo: "ml-infra", force: false }, actor("ml-infra"))
      expect(git(dir, "log", "-1", "--format=%s")).toBe("ml-infra leaves the realm\n")
    }).pipe(Effect.provide(sqlite(tmp()))))

  it.effect("finishes a write whose working tree update was interrupted (intent file)", () =>
    Effect.gen(function*() {
      const root = tmp()
      const { dir } = yield* seedStory(root)
      const file = path.join(dir, "repos/ml-infra.yaml")
      const good = fs.readFileSync(file, "utf8")
      fs.writeFileSync(file, "torn")
      fs.writeFileSync(
        path.join(dir, ".git/blue-materialize.json"),
        JSON.stringify({ commit: git(dir, "rev-parse", "HEAD").trim(), paths: ["repos/ml-infra.yaml"] })
      )
      yield* (yield* Realms).execute(dir, { _tag: "LeaveRealm", repo: "aperture", force: true }, actor("aperture"))
      expect(fs.readFileSync(file, "utf8")).toBe(good)
      expect(fs.existsSync(path.join(dir, ".git/blue-materialize.json"))).toBe(false)
      expect(git(dir, "status", "--porcelain")).toBe("")
    }).pipe(Effect.provide(sqlite(tmp()))))

  it.effect("a refused command writes nothing", () =>
    Effect.gen(function*() {
      const root = tmp()
      const { dir } = yield* seedStory(root)
      const head = git(dir, "rev-parse", "HEAD")
      const realms = yield* Realms
      const err = yield* Effect.flip(realms.execute(dir, {
        _tag: "CreateDomain",
        domain: "feedback-loop",
        repos: ["ml-infra", "aperture"]
      }, actor("ml-infra")))
      expect(err._tag).toBe("CycleDetected")
      expect(git(dir, "rev-parse", "HEAD")).toBe(head)
      expect(git(dir, "status", "--porcelain")).toBe("")
      expect((yield* realms.events(dir)).length).toBe(12)
    }).pipe(Effect.provide(sqlite(tmp()))))

  it.effect("publishing is the append's last step: once per append that recorded events, never for a refusal", () =>
    Effect.gen(function*() {
      const told: Array<string> = []
      const publisher = { published: (realm: string) => Effect.sync(() => void told.push(realm)) }
      const root = tmp()
      const { dir } = yield* Effect.provideService(seedStory(root), Published, publisher)
      // init, three joins, two domain creates: six appends, six publications, all after their commit.
      expect(told).toEqual(Array(6).fill("letemcook"))
      const realms = yield* Realms
      const refused = realms.execute(dir, {
        _tag: "CreateDomain",
        domain: "feedback-loop",
        repos: ["ml-infra", "aperture"]
      }, actor("ml-infra"))
      expect((yield* Effect.flip(Effect.provideService(refused, Published, publisher)))._tag).toBe("CycleDetected")
      expect(told.length).toBe(6)
      // Without a Published service (a library user) the append publishes to nobody and still succeeds.
      yield* realms.execute(dir, { _tag: "JoinRealm", repo: "late", path: "/src/late", maintainers: [] }, actor("late"))
      expect(told.length).toBe(6)
    }).pipe(Effect.provide(sqlite(tmp()))))

  it.effect("history rewritten under daemon.db is named; reads show git, writes refuse until reindex", () =>
    Effect.gen(function*() {
      const root = tmp()
      const { dir, last } = yield* seedStory(root)
      const realms = yield* Realms
      git(dir, "reset", "-q", "--hard", "HEAD~2")
      git(dir, "commit", "-q", "--allow-empty", "-m", "diverge")
      const opened = yield* realms.open(dir)
      expect(Object.keys(opened.state.repos).sort()).toEqual(["aperture", "fungal-image-analysis", "ml-infra"])
      expect(opened.state.domains).toEqual({})
      const err = yield* Effect.flip(
        realms.execute(dir, { _tag: "LeaveRealm", repo: "ml-infra", force: false }, actor("ml-infra"))
      )
      expect(err._tag).toBe("HistoryRewritten")
      expect(err.message).toContain(`no longer contains commit ${last.slice(0, 8)}`)
      expect(err.message).toContain("blue realm admin reindex")
      const re = yield* realms.reindex(dir)
      expect(re.events).toBe(4)
      expect((yield* realms.verify(dir)).differences).toEqual([])
      yield* realms.execute(dir, { _tag: "LeaveRealm", repo: "ml-infra", force: false }, actor("ml-infra"))
    }).pipe(Effect.provide(sqlite(tmp()))))
})

describe("Realms engine: verify reads the realm files against their schemas", () => {
  it.effect("a committed realm file that no longer matches its schema is named with its field", () =>
    Effect.gen(function*() {
      const { dir } = yield* seedStory(tmp())
      const file = path.join(dir, "domains/s3-access/contracts/s3-permissions.yaml")
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("version: \"1.0.0\"", "version: \"1.4\""))
      git(dir, "commit", "-qam", "bad version")
      const v = yield* (yield* Realms).verify(dir)
      expect(v.differences).toContain(
        "domains/s3-access/contracts/s3-permissions.yaml: version: \"1.4\" is not a semver version (e.g. 1.4.0)"
      )
    }).pipe(Effect.provide(sqlite(tmp()))))
})
