/**
 * What the ports buy: the realm operations run against test layers — member configs and extractors in memory, a
 * fixed identity, a hook runner that must not be called — on a real realm (git and the engine). Nothing of the
 * member repos' own files is read or written: their configs live in a Map, their values come from a table.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { MemoryRepoCachesLive } from "../src/adapters/cache.js"
import { MemoryEventLogLive } from "../src/adapters/eventLog.js"
import { RealmLockLive } from "../src/adapters/lock.js"
import { RealmGitLive } from "../src/adapters/realmGit.js"
import { TrustStoreMemory } from "../src/adapters/trust.js"
import { WorkspaceLive } from "../src/adapters/workspace.js"
import type { LocalConfig } from "../src/domain/files.js"
import { ExtractError, PathProblem } from "../src/engine/errors.js"
import { IdsCounter } from "../src/engine/ids.js"
import { Extractors, Forges, Home, HookRunner, Identity, MemberConfig, Presence } from "../src/engine/ports.js"
import { Realms } from "../src/engine/Realms.js"
import { createDomain, initRealm, joinRealm } from "../src/operations/admin.js"
import { check } from "../src/operations/check.js"
import { exportContract } from "../src/operations/contracts.js"
import { runOperation } from "../src/operations/operation.js"
import { realmStatus } from "../src/operations/status.js"

const tmp = () => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-ports-")))

/** Member configs in a Map: `find` walks up from a directory as the real one does. */
const memoryMemberConfig = () => {
  const configs = new Map<string, LocalConfig>()
  const layer = Layer.succeed(MemberConfig, {
    find: (cwd) =>
      Effect.sync(() =>
        [...configs.keys()].filter((r) => cwd === r || cwd.startsWith(r + path.sep)).sort((a, b) =>
          b.length - a.length
        )[0]
      ),
    read: (root) => {
      const config = configs.get(root)
      return config === undefined
        ? Effect.fail(new PathProblem({ path: root, detail: "has no config in memory" }))
        : Effect.succeed({ root, config, realmDir: path.resolve(root, config.realm.path ?? ".") })
    },
    write: (root, config) => Effect.sync(() => void configs.set(root, { ...configs.get(root), ...config })),
    remove: (root) => Effect.sync(() => void configs.delete(root))
  })
  return { configs, layer }
}

/** Extractors answering from a table, recording which contracts were asked for. */
const tableExtractors = (values: Record<string, unknown>) => {
  const asked: Array<string> = []
  const layer = Layer.succeed(Extractors, {
    detect: (o) => {
      asked.push(o.contract)
      return o.contract in values
        ? Effect.succeed(values[o.contract])
        : Effect.fail(new ExtractError({ contract: o.contract, detail: "not in the test table" }))
    }
  })
  return { asked, layer }
}

const testLayer = (home: string, members: Layer.Layer<MemberConfig>, extractors: Layer.Layer<Extractors>) => {
  const ports = Layer.mergeAll(
    members,
    extractors,
    WorkspaceLive,
    MemoryRepoCachesLive,
    TrustStoreMemory,
    Layer.succeed(Identity, {
      acting: () => Effect.succeed("tester@example.com"),
      current: () => Effect.succeed("tester@example.com")
    }),
    Layer.succeed(Home, { dir: Effect.succeed(home), machine: Effect.succeed("test-machine") }),
    Layer.succeed(HookRunner, {
      run: (o) => Effect.dieMessage(`no hook may run here (asked for ${o.script})`),
      resolve: (_root, script) => Effect.dieMessage(`no hook may be resolved here (asked for ${script})`)
    }),
    Layer.succeed(Presence, {
      daemonSessions: () => Effect.dieMessage("no daemon here"),
      localSessions: () => Effect.succeed([]),
      memberAt: () => Effect.succeed(undefined)
    }),
    Layer.succeed(Forges, { open: () => Effect.dieMessage("no forge here") })
  )
  const engine = Realms.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(MemoryEventLogLive, RealmGitLive, RealmLockLive, IdsCounter))
  )
  return Layer.merge(engine, ports)
}

describe("operations over test ports", () => {
  it.live("join, export --detect, status and check run with member configs and extractors in memory", () => {
    const root = tmp()
    const api = path.join(root, "api")
    const web = path.join(root, "web")
    // The workspace is the real file system: the member repos are git work trees (nothing else of them is read).
    for (const dir of [api, web]) fs.mkdirSync(path.join(dir, ".git"), { recursive: true })
    const members = memoryMemberConfig()
    const value = { paths: ["s3://bucket/a", "s3://bucket/b"] }
    const table: Record<string, unknown> = { paths: value }
    const extractors = tableExtractors(table)
    return Effect.gen(function*() {
      const init = yield* runOperation(initRealm, { name: "r" }, { cwd: root })
      expect(init.realm).toBe("r")
      const realmDir = path.join(root, "realm-r")
      for (const cwd of [api, web]) {
        const joined = yield* runOperation(joinRealm, { realm_path: realmDir }, { cwd })
        expect(joined).toMatchObject({ realm: "r", repo: path.basename(cwd), alreadyMember: false })
      }
      // join wrote the configs through the port: in the Map, not on disk.
      expect(members.configs.get(api)).toEqual({ realm: { name: "r", path: "../realm-r" }, repo: "api" })
      expect(fs.existsSync(path.join(api, ".blue"))).toBe(false)

      yield* runOperation(createDomain, { name: "storage", repos: "api,web", contract: "paths" }, { cwd: api })
      members.configs.set(api, { ...members.configs.get(api)!, exports: { paths: { file: "paths.json" } } })

      // export --detect asks the extractor port (paths.json does not exist: the live extractor would fail).
      const exported = yield* runOperation(exportContract, { name: "paths", detect: true }, { cwd: api })
      expect(exported).toMatchObject({ contract: "paths", domain: "storage", changed: true })
      expect(extractors.asked).toEqual(["paths"])
      const realm = yield* (yield* Realms).open(realmDir)
      expect(realm.state.domains["storage"]!.contracts["paths"]!.value).toEqual(value)

      // status and the exporter check see the code unchanged, through the same port.
      const status = yield* runOperation(realmStatus, {}, { cwd: api })
      expect(JSON.stringify(status)).not.toContain("\"local\"")
      const checked = yield* runOperation(check, { exports: true }, { cwd: api })
      expect(checked.exit_code).toBe(0)
      expect(checked.findings.map((f) => f.code)).toContain("exporter-match")
      // The code changes (the table does): status shows the local change the extractor reports.
      table["paths"] = { paths: [...value.paths, "s3://bucket/c"] }
      const changed = yield* runOperation(realmStatus, {}, { cwd: api })
      expect(JSON.stringify(changed)).toContain("\"local\":{\"changes\":[")
      expect(extractors.asked).toEqual(["paths", "paths", "paths", "paths"])
    }).pipe(Effect.provide(testLayer(path.join(root, "home"), members.layer, extractors.layer)))
  })
})
