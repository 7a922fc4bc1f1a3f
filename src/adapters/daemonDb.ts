/**
 * The one reader of daemon.db: the SQL of its reads and the mapping of their rows, with a plain better-sqlite3
 * reader (no Effect) that the start-up fast path of `blue status` uses. The engine's @effect/sql stores
 * (eventLog.ts, sessions.ts) run the same statements through their shared connection and map rows with the same
 * functions, so both paths see daemon.db alike.
 */
import Database from "better-sqlite3"
import type { RealmEvent } from "../domain/events.js"
import { type RealmState, SNAPSHOT_FORMAT } from "../domain/state.js"
import type { Session } from "../events/session.js"
import { isAlive } from "./daemonPresence.js"

/** A realm this machine tracks. */
export interface RealmRow {
  readonly name: string
  readonly localPath: string
  readonly url: string | undefined
  /** last realm commit whose events are recorded here */
  readonly headCommit: string | undefined
  readonly headPosition: number
}

/** What a fold needs of an event. */
export interface FoldItem {
  readonly id: string
  readonly position: number
  readonly time: string
  readonly actor: { readonly repo?: string | undefined; readonly user: string }
  readonly event: RealmEvent
}

/** A saved projection state. */
export interface Snapshot {
  readonly position: number
  readonly state: RealmState
}

/** A session as daemon.db holds it, its lists decoded: the `Session` of the feed and the API (src/events/session.ts). */
export type SessionRecord = Session

/** A row of `realms`. */
export interface RealmDbRow {
  name: string
  local_path: string
  url: string | null
  head_commit: string | null
  head_position: number
}

/** A row of `snapshots`. */
export interface SnapshotDbRow {
  position: number
  state: string
  format: number
}

/** A row of `events` as read for folding. */
export interface FoldDbRow {
  id: string
  position: number
  type: string
  schema_version: number
  time: string
  actor: string
  payload: string
}

/** A row of `sessions`. */
export interface SessionDbRow {
  id: string
  repo: string
  realm: string
  client_id: string | null
  pid: number | null
  started_at: string
  last_activity: string
  active_rfc: string | null
  active_domains: string
  imports_watching: string
  exports_modified: string
  ended_at: string | null
  end_reason: string | null
}

/**
 * The reads of daemon.db, with `?` placeholders in argument order: every SELECT on daemon.db is here, whichever
 * module runs it.
 */
export const readSql = {
  realms: "SELECT name, local_path, url, head_commit, head_position FROM realms ORDER BY name",
  realmAt: "SELECT name, local_path, url, head_commit, head_position FROM realms WHERE local_path = ?",
  snapshot: "SELECT position, state, format FROM snapshots WHERE realm = ? AND name = 'realm'",
  eventsForFold:
    "SELECT id, position, type, schema_version, time, actor, payload FROM events WHERE realm = ? AND position > ? ORDER BY position",
  activeSessions: "SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY started_at",
  activeSessionsOf: "SELECT * FROM sessions WHERE ended_at IS NULL AND realm = ? ORDER BY started_at",
  /** the last recorded position of every realm (`realm`, `p`) */
  lastPositions: "SELECT realm, MAX(position) AS p FROM events GROUP BY realm",
  /** the last recorded position of one realm (`p`, null when it has none) */
  lastPosition: "SELECT MAX(position) AS p FROM events WHERE realm = ?",
  /** whole events after a position, with their commits (the event log's `Recorded`) */
  eventsAfter:
    "SELECT id, position, type, schema_version, time, actor, causation_id, correlation_id, payload, commit_id FROM events WHERE realm = ? AND position > ? ORDER BY position",
  sessionById: "SELECT * FROM sessions WHERE id = ?",
  /** the recorded session facts after an id (a ULID), oldest first */
  localEventsAfter: "SELECT id, type, time, payload FROM local_events WHERE id > ? ORDER BY id"
} as const

/** A `realms` row as a RealmRow. */
export const realmOfRow = (r: RealmDbRow): RealmRow => ({
  name: r.name,
  localPath: r.local_path,
  url: r.url ?? undefined,
  headCommit: r.head_commit ?? undefined,
  headPosition: r.head_position
})

/** The realm projection's snapshot, or undefined when there is none or it was saved in another format. */
export const snapshotOfRow = (r: SnapshotDbRow | undefined): Snapshot | undefined =>
  r === undefined || r.format !== SNAPSHOT_FORMAT ? undefined : { position: r.position, state: JSON.parse(r.state) }

/** Brings a stored payload up to its type's current version (the codec's `upcast`). */
export type Upcast = (type: string, version: number, payload: Record<string, unknown>) => Record<string, unknown>

/**
 * An `events` row for folding. Rows were validated against the event schemas when they were recorded, so the
 * payload is only upcast, not decoded again; without `upcast` (the fast path, which must not load the codec's
 * Effect Schema) it is taken as stored.
 */
export const foldItemOfRow = (r: FoldDbRow, upcast?: Upcast): FoldItem => {
  const payload = JSON.parse(r.payload)
  return {
    id: r.id,
    position: r.position,
    time: r.time,
    actor: JSON.parse(r.actor),
    event: (upcast === undefined ? payload : upcast(r.type, r.schema_version, payload)) as RealmEvent
  }
}

/** An `events` row as read for folding, as values in `readSql.eventsForFold`'s column order. */
export type FoldDbValues = readonly [
  id: string,
  position: number,
  type: string,
  schema_version: number,
  time: string,
  actor: string,
  payload: string
]

/**
 * Rows read as values (no per-row column objects), for folding as foldItemOfRow reads one. An actor's JSON repeats
 * across a log: each distinct one is parsed once and its object shared (fold items are read, never mutated).
 */
export const foldItemsOfValues = (rows: ReadonlyArray<FoldDbValues>, upcast?: Upcast): Array<FoldItem> => {
  const actors = new Map<string, FoldItem["actor"]>()
  const out = new Array<FoldItem>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const [id, position, type, version, time, actorJson, payloadJson] = rows[i]!
    let actor = actors.get(actorJson)
    if (actor === undefined) {
      actor = JSON.parse(actorJson) as FoldItem["actor"]
      actors.set(actorJson, actor)
    }
    const payload = JSON.parse(payloadJson)
    out[i] = {
      id,
      position,
      time,
      actor,
      event: (upcast === undefined ? payload : upcast(type, version, payload)) as RealmEvent
    }
  }
  return out
}

/** A `sessions` row as a SessionRecord (a session registered without a client id is the CLI's). */
export const sessionOfRow = (r: SessionDbRow): SessionRecord => ({
  id: r.id,
  repo: r.repo,
  realm: r.realm,
  client_id: r.client_id ?? "cli",
  pid: r.pid,
  started_at: r.started_at,
  last_activity: r.last_activity,
  active_rfc: r.active_rfc,
  active_domains: JSON.parse(r.active_domains),
  imports_watching: JSON.parse(r.imports_watching),
  exports_modified: JSON.parse(r.exports_modified),
  ended_at: r.ended_at,
  end_reason: r.end_reason
})

/** The sessions whose process is alive, or whose process is not known (no pid). */
export const liveOnly = <S extends { readonly pid: number | null }>(sessions: ReadonlyArray<S>): Array<S> =>
  sessions.filter((x) => x.pid === null || isAlive(x.pid))

/** daemon.db opened read-only with plain better-sqlite3; `close` when done. */
export interface DaemonDbReader {
  /** The realm tracked at `localPath`, if any. */
  readonly realmAt: (localPath: string) => RealmRow | undefined
  /** The realm projection's latest snapshot, if any in the current format. */
  readonly snapshot: (realm: string) => Snapshot | undefined
  /** Events after `afterPosition`, in order, for folding (payloads as stored). */
  readonly readForFold: (realm: string, afterPosition: number) => Array<FoldItem>
  /** Sessions not ended, of one realm. */
  readonly activeSessions: (realm: string) => Array<SessionRecord>
  readonly close: () => void
}

/** Opens the daemon.db at `file` read-only (it must exist). */
export const openDaemonDbReader = (file: string): DaemonDbReader => {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  return {
    realmAt: (localPath) => {
      const row = db.prepare(readSql.realmAt).get(localPath) as RealmDbRow | undefined
      return row === undefined ? undefined : realmOfRow(row)
    },
    snapshot: (realm) => snapshotOfRow(db.prepare(readSql.snapshot).get(realm) as SnapshotDbRow | undefined),
    readForFold: (realm, afterPosition) =>
      foldItemsOfValues(db.prepare(readSql.eventsForFold).raw(true).all(realm, afterPosition) as Array<FoldDbValues>),
    activeSessions: (realm) =>
      (db.prepare(readSql.activeSessionsOf).all(realm) as Array<SessionDbRow>).map(sessionOfRow),
    close: () => db.close()
  }
}
