import Database from "better-sqlite3"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { type FoldDbValues, foldItemOfRow, foldItemsOfValues, openDaemonDbReader } from "../src/adapters/daemonDb.js"
import { migrations } from "../src/adapters/eventLog.js"
import { SNAPSHOT_FORMAT } from "../src/domain/state.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blue-daemondb-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** A daemon.db with the engine's migrations applied and `setup` run on it. */
const dbWith = (name: string, setup: (db: Database.Database) => void): string => {
  const file = path.join(dir, name)
  const db = new Database(file)
  for (const m of migrations) db.exec(m)
  setup(db)
  db.close()
  return file
}

const event = (id: string, position: number) => [
  id,
  "acme",
  position,
  "RepoJoined",
  1,
  "2026-01-01T00:00:00.000Z",
  JSON.stringify({ user: "u", repo: "api" }),
  "c",
  JSON.stringify({ _tag: "RepoJoined", repo: "api" }),
  "abc"
]

describe("openDaemonDbReader", () => {
  const file = dbWith("a.db", (db) => {
    db.prepare("INSERT INTO realms (name, local_path, head_commit, head_position) VALUES (?, ?, ?, ?)")
      .run("acme", "/r/acme", "abc", 2)
    const insert = db.prepare(
      "INSERT INTO events (id, realm, position, type, schema_version, time, actor, correlation_id, payload, commit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    insert.run(...event("e2", 2))
    insert.run(...event("e1", 1))
    db.prepare(
      "INSERT INTO sessions (id, repo, realm, client_id, pid, started_at, last_activity, active_domains, imports_watching, exports_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ).run("s1", "api", "acme", null, null, "t1", "t1", "[\"d\"]", "[]", "[]")
  })

  it("reads the realm at a path, its events in order after a position, and its open sessions", () => {
    const r = openDaemonDbReader(file)
    try {
      expect(r.realmAt("/r/acme")).toEqual({
        name: "acme",
        localPath: "/r/acme",
        url: undefined,
        headCommit: "abc",
        headPosition: 2
      })
      expect(r.realmAt("/elsewhere")).toBeUndefined()
      expect(r.readForFold("acme", 0).map((e) => e.id)).toEqual(["e1", "e2"])
      expect(r.readForFold("acme", 1)[0]).toMatchObject({ id: "e2", actor: { repo: "api" }, event: { repo: "api" } })
      expect(r.snapshot("acme")).toBeUndefined()
      // A session registered without a client id is the CLI's.
      expect(r.activeSessions("acme")).toMatchObject([{ id: "s1", client_id: "cli", active_domains: ["d"] }])
      expect(r.activeSessions("other")).toEqual([])
    } finally {
      r.close()
    }
  })

  it("ignores a snapshot saved in another format", () => {
    const snap = (format: number) =>
      dbWith(
        `snap${format}.db`,
        (db) =>
          db.prepare("INSERT INTO snapshots (realm, name, format, position, state) VALUES ('acme', 'realm', ?, 3, ?)")
            .run(format, JSON.stringify({ position: 3 }))
      )
    const current = openDaemonDbReader(snap(SNAPSHOT_FORMAT))
    const old = openDaemonDbReader(snap(SNAPSHOT_FORMAT - 1))
    expect(current.snapshot("acme")).toEqual({ position: 3, state: { position: 3 } })
    expect(old.snapshot("acme")).toBeUndefined()
    current.close()
    old.close()
  })

  it("refuses a daemon.db that does not exist rather than creating it", () => {
    expect(() => openDaemonDbReader(path.join(dir, "missing.db"))).toThrow()
    expect(fs.existsSync(path.join(dir, "missing.db"))).toBe(false)
  })
})

describe("foldItemOfRow", () => {
  it("upcasts the payload only when given an upcast", () => {
    const row = {
      id: "e",
      position: 1,
      type: "T",
      schema_version: 1,
      time: "t",
      actor: "{\"user\":\"u\"}",
      payload: "{\"a\":1}"
    }
    expect(foldItemOfRow(row).event).toEqual({ a: 1 })
    expect(foldItemOfRow(row, (type, v, p) => ({ ...p, type, v })).event).toEqual({ a: 1, type: "T", v: 1 })
  })
})

describe("foldItemsOfValues", () => {
  it("reads value rows as foldItemOfRow reads row objects, upcasting only when given an upcast", () => {
    const rows: Array<FoldDbValues> = [
      ["e1", 1, "T", 1, "t1", "{\"user\":\"u\"}", "{\"a\":1}"],
      ["e2", 2, "U", 2, "t2", "{\"user\":\"u\",\"repo\":\"r\"}", "{\"b\":[2]}"],
      ["e3", 3, "T", 1, "t3", "{\"user\":\"u\"}", "{\"a\":3}"]
    ]
    const asRow = ([id, position, type, schema_version, time, actor, payload]: FoldDbValues) => ({
      id,
      position,
      type,
      schema_version,
      time,
      actor,
      payload
    })
    const up = (type: string, v: number, p: Record<string, unknown>) => ({ ...p, type, v })
    expect(foldItemsOfValues(rows)).toEqual(rows.map((r) => foldItemOfRow(asRow(r))))
    expect(foldItemsOfValues(rows, up)).toEqual(rows.map((r) => foldItemOfRow(asRow(r), up)))
  })
})
