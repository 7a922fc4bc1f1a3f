/**
 * Realm integrity in the engine, in-process on real git and SQLite: an acting identity that could add lines to a
 * commit is refused by the engine itself (the daemon and the MCP server call it directly), before anything is
 * written.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqliteEventLogLive } from "../src/adapters/eventLog.js"
import { RealmLockLive } from "../src/adapters/lock.js"
import { RealmGitLive } from "../src/adapters/realmGit.js"
import { identityProblem } from "../src/domain/nameRules.js"
import { IdsCounter } from "../src/engine/ids.js"
import { Realms } from "../src/engine/Realms.js"

const tmp = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-integrity-")))
const git = (dir: string, ...args: Array<string>) => spawnSync("git", args, { cwd: dir, encoding: "utf8" }).stdout

const engine = (dir: string) =>
  Realms.Default.pipe(
    Layer.provide(
      Layer.mergeAll(SqliteEventLogLive(path.join(dir, "daemon.db")), RealmGitLive, RealmLockLive, IdsCounter)
    )
  )

describe("identityProblem", () => {
  it("accepts one-line identities and names what is wrong with the others", () => {
    expect(identityProblem("eric@example.com")).toBeUndefined()
    expect(identityProblem("Éric Dupont")).toBeUndefined()
    expect(identityProblem("a\nb")).toBe("contains a newline")
    expect(identityProblem("a\rb")).toBe("contains a carriage return")
    expect(identityProblem("a\u0000b")).toBe("contains the control character U+0000")
    expect(identityProblem("a\u2028b")).toBe("contains the control character U+2028")
    expect(identityProblem("Eric <e@x>")).toBe("contains '<'")
    expect(identityProblem("  ")).toBe("is empty")
  })
})

describe("the engine and the acting identity", () => {
  it.effect("refuses a forging actor before writing anything", () =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const root = tmp()
      yield* realms.init(root, "letemcook", "open", { user: "eric@example.com" })
      const dir = path.join(root, "realm-letemcook")
      const head = git(dir, "rev-parse", "HEAD")
      const forged = "eve@example.com\n\nBlue-Event: events/2020-01-01/00/01BX5ZZKBKACTAV9WEVGEMMVRZ.json"
      const err = yield* Effect.flip(
        realms.execute(dir, { _tag: "JoinRealm", repo: "aperture", path: "/src/aperture", maintainers: [] }, {
          repo: "aperture",
          user: forged
        })
      )
      expect(err._tag).toBe("InvalidIdentity")
      expect(err.message).toBe(
        `the acting user (${
          JSON.stringify(forged)
        }) contains a newline; the acting identity must be one line without control characters, '<' or '>' (e.g. BLUE_USER=you@example.com).`
      )
      expect(git(dir, "rev-parse", "HEAD")).toBe(head)
      expect(git(dir, "status", "--porcelain")).toBe("")
      expect((yield* realms.verify(dir)).differences).toEqual([])
    }).pipe(Effect.provide(engine(tmp()))))
})
