/**
 * The machine's index of realm events (daemon.db): realms it tracks, every realm event with the commit that
 * carries it, and projection snapshots; and its change stream (`changes`), on which every recorded event is published
 * once its transaction has committed. One port, two implementations (SQLite and memory) that pass the same contract
 * suite.
 */
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Context, Effect, Either, Layer, PubSub } from "effect"
import { SNAPSHOT_FORMAT } from "../domain/state.js"
import { decodePayload, encodeEvent, upcast } from "../events/codec.js"
import type { Envelope, Recorded } from "../events/envelope.js"
import type { SessionEvent } from "../events/session.js"
import {
  type FoldDbValues,
  type FoldItem,
  foldItemsOfValues,
  readSql,
  type RealmDbRow,
  realmOfRow,
  type RealmRow,
  type Snapshot,
  type SnapshotDbRow,
  snapshotOfRow
} from "./daemonDb.js"
import { StoreError } from "./errors.js"

export type { FoldItem, RealmRow, Snapshot } from "./daemonDb.js"

/**
 * What the log's change stream carries, in commit order:
 * - `Recorded`: an event, once the transaction that recorded it committed (exactly once per event in this process);
 * - `Rewound`: the realm's log went back to `position` (a re-index): what comes next starts after it;
 * - `Session`: a session of this machine started or ended (recorded in daemon.db's local events).
 */
export type Change =
  | { readonly _tag: "Recorded"; readonly realm: string; readonly recorded: Recorded }
  | { readonly _tag: "Rewound"; readonly realm: string; readonly position: number }
  | { readonly _tag: "Session"; readonly event: SessionEvent }

/** The event index port. */
export class EventLog extends Context.Tag("blue/EventLog")<EventLog, {
  /**
   * The change stream, like `EventJournal`'s `changes`: every event is published here right after the transaction
   * that recorded it commits (by `append` in this process, by `announce` for what other processes committed).
   * Subscribe with `PubSub.subscribe` (scoped).
   */
  readonly changes: PubSub.PubSub<Change>
  /**
   * Publishes the realm's events that other processes committed to the log since this log last published (and a
   * `Rewound` first when the realm's log now ends before that). Returns how many events it published.
   */
  readonly announce: (realm: string) => Effect.Effect<number, StoreError>
  /** Every tracked realm. */
  readonly realms: Effect.Effect<ReadonlyArray<RealmRow>, StoreError>
  /** Tracks a realm (or moves it to a new path). */
  readonly register: (name: string, localPath: string, url?: string) => Effect.Effect<void, StoreError>
  /**
   * Records events with their commits in one transaction, idempotent on event id, and moves the realm's head
   * checkpoint. A different event at a taken position is an error, never a silent skip.
   */
  readonly append: (
    realm: string,
    recorded: ReadonlyArray<Recorded>,
    head: { readonly commit: string; readonly position: number }
  ) => Effect.Effect<void, StoreError>
  /** Events after `position`, in order, with their commits. */
  readonly read: (realm: string, afterPosition: number) => Effect.Effect<ReadonlyArray<Recorded>, StoreError>
  /**
   * Events after `position` for folding only: payloads are upcast but not re-validated (they were decoded when
   * recorded, and daemon.db is written by Blue alone), which keeps replay fast. Use `read` to validate.
   */
  readonly readForFold: (realm: string, afterPosition: number) => Effect.Effect<ReadonlyArray<FoldItem>, StoreError>
  /** The latest snapshot of the realm projection, if any. */
  readonly snapshot: (realm: string) => Effect.Effect<Snapshot | undefined, StoreError>
  /** Saves a snapshot of the realm projection. */
  readonly saveSnapshot: (realm: string, snapshot: Snapshot) => Effect.Effect<void, StoreError>
  /**
   * Drops everything recorded for the realm (events, snapshots, its head checkpoint) in one transaction, keeping
   * its registration, so that the next catch-up re-indexes it from git alone.
   */
  readonly forget: (realm: string) => Effect.Effect<void, StoreError>
}>() {}

export { SNAPSHOT_FORMAT } from "../domain/state.js"

const storeError = (op: string) => (e: unknown) =>
  new StoreError({ op, detail: e instanceof Error ? e.message : String((e as { cause?: unknown }).cause ?? e) })

/** daemon.db schema, applied in order; the applied count is kept in `PRAGMA user_version`. */
export const migrations: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS realms (
     name TEXT PRIMARY KEY,
     url TEXT,
     local_path TEXT NOT NULL,
     last_sync TEXT,
     status TEXT NOT NULL DEFAULT 'active',
     head_commit TEXT,
     head_position INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE IF NOT EXISTS events (
     id TEXT PRIMARY KEY,
     realm TEXT NOT NULL,
     position INTEGER NOT NULL,
     type TEXT NOT NULL,
     schema_version INTEGER NOT NULL,
     time TEXT NOT NULL,
     actor TEXT NOT NULL,
     causation_id TEXT,
     correlation_id TEXT NOT NULL,
     payload TEXT NOT NULL,
     commit_id TEXT NOT NULL,
     UNIQUE (realm, position)
   );
   CREATE TABLE IF NOT EXISTS snapshots (
     realm TEXT NOT NULL,
     name TEXT NOT NULL,
     format INTEGER NOT NULL,
     position INTEGER NOT NULL,
     state TEXT NOT NULL,
     PRIMARY KEY (realm, name)
   );`,
  // Sessions (the accepted RFC's table, plus pid and end) and this machine's local events (session start/end).
  `CREATE TABLE IF NOT EXISTS sessions (
     id TEXT PRIMARY KEY,
     repo TEXT NOT NULL,
     realm TEXT NOT NULL,
     client_id TEXT,
     pid INTEGER,
     started_at TEXT,
     last_activity TEXT,
     active_rfc TEXT,
     active_domains JSON DEFAULT '[]',
     exports_modified JSON DEFAULT '[]',
     imports_watching JSON DEFAULT '[]',
     ended_at TEXT,
     end_reason TEXT
   );
   CREATE TABLE IF NOT EXISTS local_events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     type TEXT NOT NULL,
     time TEXT NOT NULL,
     payload TEXT NOT NULL
   );`
]

type EventRow = {
  id: string
  position: number
  type: string
  schema_version: number
  time: string
  actor: string
  causation_id: string | null
  correlation_id: string
  payload: string
  commit_id: string
}

const rowToRecorded = (realm: string, r: EventRow): Recorded => {
  const event = decodePayload(r.type, r.schema_version, JSON.parse(r.payload))
  if (Either.isLeft(event)) throw new Error(`event ${r.id} in daemon.db does not decode: ${event.left}`)
  const envelope: Envelope = {
    id: r.id,
    realm,
    position: r.position,
    type: event.right._tag,
    schemaVersion: r.schema_version,
    time: r.time,
    actor: JSON.parse(r.actor),
    ...(r.causation_id === null ? {} : { causationId: r.causation_id }),
    correlationId: r.correlation_id,
    event: event.right
  }
  return { envelope, commit: r.commit_id }
}

/** Applies pending migrations; safe when several processes open the database at once. */
export const migrate = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [{ user_version }] = yield* sql<{ user_version: number }>`PRAGMA user_version`
  if (user_version >= migrations.length) return
  // BEGIN IMMEDIATE takes the write lock up front, so two first starts cannot both migrate.
  yield* sql.unsafe("BEGIN IMMEDIATE")
  const run = Effect.gen(function*() {
    const [{ user_version: v }] = yield* sql<{ user_version: number }>`PRAGMA user_version`
    for (let i = v; i < migrations.length; i++) {
      for (const stmt of migrations[i]!.split(/;\s*$/m).map((s) => s.trim()).filter((s) => s.length > 0)) {
        yield* sql.unsafe(stmt)
      }
    }
    yield* sql.unsafe(`PRAGMA user_version = ${migrations.length}`)
  })
  yield* run.pipe(
    Effect.zipRight(sql.unsafe("COMMIT")),
    Effect.tapError(() => sql.unsafe("ROLLBACK").pipe(Effect.ignore))
  )
})

/** daemon.db through @effect/sql. */
export const makeSqliteEventLog = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe("PRAGMA busy_timeout = 10000")
  yield* sql.unsafe("PRAGMA synchronous = NORMAL")
  yield* migrate.pipe(Effect.mapError(storeError("migrate")))
  const changes = yield* PubSub.unbounded<Change>()
  const publishing = yield* Effect.makeSemaphore(1)
  /** The last position published per realm: what this log has seen committed (history is not replayed). */
  const published = new Map<string, number>()
  for (
    const r of yield* sql.unsafe<{ realm: string; p: number }>(readSql.lastPositions)
      .pipe(Effect.mapError(storeError("read events")))
  ) published.set(r.realm, r.p)

  const readRecorded = (realm: string, afterPosition: number) =>
    sql.unsafe<EventRow>(readSql.eventsAfter, [realm, afterPosition])
      .pipe(
        Effect.flatMap((rows) => Effect.try(() => rows.map((r) => rowToRecorded(realm, r)))),
        Effect.mapError(storeError("read events"))
      )

  /** Publishes `events` (sorted) and moves the mark; what lies between the mark and them is read back first. */
  const publishFrom = (realm: string, fresh: ReadonlyArray<Recorded>) =>
    Effect.gen(function*() {
      const mark = published.get(realm) ?? 0
      const after = fresh.filter((r) => r.envelope.position > mark)
      if (after.length === 0) return 0
      // Another process committed positions in between: publish them in order, from the log itself.
      const contiguous = after.every((r, i) => r.envelope.position === mark + 1 + i)
      const list = contiguous ? after : yield* readRecorded(realm, mark)
      if (list.length === 0) return 0
      published.set(realm, list.at(-1)!.envelope.position)
      yield* PubSub.publishAll(changes, list.map((recorded) => ({ _tag: "Recorded" as const, realm, recorded })))
      return list.length
    })

  const log: Context.Tag.Service<EventLog> = {
    changes,
    announce: (realm) =>
      publishing.withPermits(1)(Effect.gen(function*() {
        const mark = published.get(realm)
        const [top] = yield* sql.unsafe<{ p: number | null }>(readSql.lastPosition, [realm])
          .pipe(Effect.mapError(storeError("read events")))
        const head = top?.p ?? 0
        if (mark !== undefined && head < mark) {
          published.set(realm, head)
          yield* PubSub.publish(changes, { _tag: "Rewound", realm, position: head })
          return 0
        }
        if (head === (mark ?? 0)) return 0
        return yield* publishFrom(realm, yield* readRecorded(realm, mark ?? 0))
      })),
    realms: sql.unsafe<RealmDbRow>(readSql.realms).pipe(
      Effect.map((rows) => rows.map(realmOfRow)),
      Effect.mapError(storeError("read realms"))
    ),
    register: (name, localPath, url) =>
      sql`INSERT INTO realms (name, local_path, url) VALUES (${name}, ${localPath}, ${url ?? null})
          ON CONFLICT(name) DO UPDATE SET local_path = excluded.local_path, url = excluded.url`.pipe(
        Effect.asVoid,
        Effect.mapError(storeError("register realm"))
      ),
    append: (realm, recorded, head) =>
      publishing.withPermits(1)(Effect.gen(function*() {
        const fresh: Array<Recorded> = []
        yield* Effect.gen(function*() {
          // Write-first transaction: the first statement takes the write lock, so SQLite's busy timeout applies.
          // Never move the checkpoint back: a slower catch-up must not undo a faster one.
          yield* sql`UPDATE realms SET head_commit = ${head.commit}, head_position = ${head.position},
                   last_sync = ${new Date().toISOString()} WHERE name = ${realm} AND head_position <= ${head.position}`
          for (const r of recorded) {
            const e = r.envelope
            const inserted = yield* sql<{ id: string }>`INSERT INTO events (id, realm, position, type, schema_version,
                     time, actor, causation_id, correlation_id, payload, commit_id)
                     VALUES (${e.id}, ${realm}, ${e.position}, ${e.type}, ${e.schemaVersion}, ${e.time},
                     ${JSON.stringify(e.actor)}, ${e.causationId ?? null}, ${e.correlationId},
                     ${JSON.stringify(encodeEvent(e.event))}, ${r.commit})
                     ON CONFLICT(id) DO NOTHING RETURNING id`
            if (inserted.length > 0) fresh.push(r)
          }
        }).pipe(sql.withTransaction, Effect.mapError(storeError("append")))
        // Committed: publish what this append recorded (and what others committed before it), once.
        fresh.sort((a, b) => a.envelope.position - b.envelope.position)
        yield* publishFrom(realm, fresh)
      })),
    read: readRecorded,
    readForFold: (realm, afterPosition) =>
      sql.unsafe(readSql.eventsForFold, [realm, afterPosition]).values.pipe(
        Effect.map((rows) => foldItemsOfValues(rows as unknown as ReadonlyArray<FoldDbValues>, upcast)),
        Effect.mapError(storeError("read events"))
      ),
    snapshot: (realm) =>
      sql.unsafe<SnapshotDbRow>(readSql.snapshot, [realm]).pipe(
        Effect.map(([row]) => snapshotOfRow(row)),
        Effect.mapError(storeError("read snapshot"))
      ),
    saveSnapshot: (realm, s) =>
      sql`INSERT INTO snapshots (realm, name, format, position, state)
          VALUES (${realm}, 'realm', ${SNAPSHOT_FORMAT}, ${s.position}, ${JSON.stringify(s.state)})
          ON CONFLICT(realm, name) DO UPDATE SET format = excluded.format, position = excluded.position,
          state = excluded.state WHERE excluded.position >= snapshots.position`.pipe(
        Effect.asVoid,
        Effect.mapError(storeError("save snapshot"))
      ),
    forget: (realm) =>
      publishing.withPermits(1)(Effect.gen(function*() {
        yield* Effect.gen(function*() {
          yield* sql`UPDATE realms SET head_commit = NULL, head_position = 0 WHERE name = ${realm}`
          yield* sql`DELETE FROM events WHERE realm = ${realm}`
          yield* sql`DELETE FROM snapshots WHERE realm = ${realm}`
        }).pipe(sql.withTransaction, Effect.mapError(storeError("forget")))
        published.set(realm, 0)
        yield* PubSub.publish(changes, { _tag: "Rewound", realm, position: 0 })
      }))
  }
  return log
})

/** The event index in the SQLite file `filename`. */
export const SqliteEventLogLive = (filename: string) =>
  Layer.effect(EventLog, makeSqliteEventLog).pipe(
    // The SQL client stays available: other daemon.db stores (sessions) share the one connection.
    Layer.provideMerge(SqliteClient.layer({ filename })),
    Layer.mapError((e) => (e instanceof StoreError ? e : storeError("open")(e)))
  )

/** An honest in-memory event index (same contract, nothing persisted). */
export const makeMemoryEventLog: Effect.Effect<Context.Tag.Service<EventLog>> = Effect.gen(function*() {
  const realms = new Map<string, RealmRow>()
  const events = new Map<string, Array<Recorded>>()
  const ids = new Set<string>()
  const snapshots = new Map<string, Snapshot>()
  const changes = yield* PubSub.unbounded<Change>()
  const published = new Map<string, number>()
  /** Publishes the realm's events after the last published position, in order. */
  const publishNew = (realm: string) => {
    const mark = published.get(realm) ?? 0
    const list = (events.get(realm) ?? []).filter((r) => r.envelope.position > mark)
    if (list.length === 0) return Effect.succeed(0)
    published.set(realm, list.at(-1)!.envelope.position)
    return Effect.as(
      PubSub.publishAll(changes, list.map((recorded) => ({ _tag: "Recorded" as const, realm, recorded }))),
      list.length
    )
  }
  return {
    changes,
    // Nobody else writes this log: there is never anything to announce.
    announce: () => Effect.succeed(0),
    realms: Effect.sync(() => [...realms.values()].sort((a, b) => a.name.localeCompare(b.name))),
    register: (name, localPath, url) =>
      Effect.sync(() => {
        const old = realms.get(name)
        realms.set(name, {
          name,
          localPath,
          url,
          headCommit: old?.headCommit,
          headPosition: old?.headPosition ?? 0
        })
      }),
    append: (realm, recorded, head) =>
      Effect.suspend(() => {
        const list = events.get(realm) ?? []
        const fresh = recorded.filter((r) => !ids.has(r.envelope.id))
        for (const r of fresh) {
          if (list.some((x) => x.envelope.position === r.envelope.position)) {
            return Effect.fail(
              new StoreError({ op: "append", detail: "UNIQUE constraint failed: events.realm, events.position" })
            )
          }
        }
        for (const r of fresh) {
          ids.add(r.envelope.id)
          list.push(r)
        }
        list.sort((a, b) => a.envelope.position - b.envelope.position)
        events.set(realm, list)
        const row = realms.get(realm)
        if (row !== undefined && row.headPosition <= head.position) {
          realms.set(realm, { ...row, headCommit: head.commit, headPosition: head.position })
        }
        return Effect.asVoid(publishNew(realm))
      }),
    read: (realm, after) => Effect.sync(() => (events.get(realm) ?? []).filter((r) => r.envelope.position > after)),
    readForFold: (realm, after) =>
      Effect.sync(() =>
        (events.get(realm) ?? []).filter((r) => r.envelope.position > after).map(({ envelope: e }) => ({
          id: e.id,
          position: e.position,
          time: e.time,
          actor: e.actor,
          event: e.event
        }))
      ),
    snapshot: (realm) => Effect.sync(() => snapshots.get(realm)),
    saveSnapshot: (realm, s) =>
      Effect.sync(() => {
        const old = snapshots.get(realm)
        if (old === undefined || s.position >= old.position) snapshots.set(realm, s)
      }),
    forget: (realm) =>
      Effect.suspend(() => {
        for (const r of events.get(realm) ?? []) ids.delete(r.envelope.id)
        events.delete(realm)
        snapshots.delete(realm)
        const row = realms.get(realm)
        if (row !== undefined) realms.set(realm, { ...row, headCommit: undefined, headPosition: 0 })
        published.set(realm, 0)
        return PubSub.publish(changes, { _tag: "Rewound", realm, position: 0 })
      })
  }
})

/** The in-memory event index. */
export const MemoryEventLogLive = Layer.effect(EventLog, makeMemoryEventLog)
