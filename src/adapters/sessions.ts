/**
 * Live sessions of this machine in daemon.db: who works where (repo, realm, client, pid, domains, what they
 * watch). Starting and ending a session are typed local events (src/events/session.ts), recorded with the session
 * change in one transaction and published on the event log's change stream once it commits.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Either, Layer, PubSub } from "effect"
import { monotonicFactory } from "ulid"
import type { NewSession, Session } from "../events/session.js"
import {
  decodeSessionEvent,
  encodeSessionEvent,
  SessionEnded,
  type SessionEvent,
  sessionSchemaVersions,
  SessionStarted
} from "../events/session.js"
import { readSql, type SessionDbRow, sessionOfRow } from "./daemonDb.js"
import { StoreError } from "./errors.js"
import { EventLog } from "./eventLog.js"

export { NewSession, Session } from "../events/session.js"

/** A session fact recorded in daemon.db, decoded (older untyped rows included). */
export interface LocalEvent {
  readonly id: string
  readonly time: string
  readonly event: SessionEvent
}

/** The session store port. */
export class Sessions extends Context.Tag("blue/Sessions")<Sessions, {
  /** Registers a session (and records SessionStarted). */
  readonly start: (s: NewSession, time: string) => Effect.Effect<Session, StoreError>
  /** Ends a session (and records SessionEnded); undefined when it is unknown or already ended. */
  readonly end: (id: string, reason: string, time: string) => Effect.Effect<Session | undefined, StoreError>
  /** Active sessions, optionally of one realm. */
  readonly active: (realm?: string) => Effect.Effect<ReadonlyArray<Session>, StoreError>
  /** The recorded session facts after `afterId` (a ULID), oldest first. */
  readonly history: (afterId?: string) => Effect.Effect<ReadonlyArray<LocalEvent>, StoreError>
}>() {}

const fail = (op: string) => (e: unknown) =>
  new StoreError({ op, detail: e instanceof Error ? e.message : String((e as { cause?: unknown }).cause ?? e) })

/** Sessions in daemon.db (the EventLog layer has applied the migrations). */
export const SessionsLive = Layer.effect(
  Sessions,
  Effect.gen(function*() {
    // The event log applies daemon.db's migrations, the sessions table included.
    const log = yield* EventLog
    const sql = yield* SqlClient.SqlClient
    const ulid = monotonicFactory()
    const byId = (id: string) =>
      Effect.map(
        sql.unsafe<SessionDbRow>(readSql.sessionById, [id]),
        (rows) => rows[0] === undefined ? undefined : sessionOfRow(rows[0])
      )
    const localEvent = (event: SessionEvent, time: string) =>
      sql`INSERT INTO local_events (id, type, time, payload)
          VALUES (${ulid(Date.parse(time))}, ${event._tag}, ${time}, ${
        JSON.stringify({ schemaVersion: sessionSchemaVersions[event._tag], ...(encodeSessionEvent(event) as object) })
      })`
    /** After the commit: the change stream carries the fact. */
    const published = (event: SessionEvent) => PubSub.publish(log.changes, { _tag: "Session", event })
    return {
      start: (s, time) =>
        Effect.gen(function*() {
          const id = ulid(Date.parse(time))
          yield* sql`INSERT INTO sessions (id, repo, realm, client_id, pid, started_at, last_activity, active_rfc,
                     active_domains, imports_watching, exports_modified)
                     VALUES (${id}, ${s.repo}, ${s.realm}, ${s.client_id}, ${s.pid ?? null}, ${time}, ${time},
                     ${s.active_rfc ?? null}, ${JSON.stringify(s.active_domains)}, ${
            JSON.stringify(s.imports_watching)
          },
                     ${JSON.stringify(s.exports_modified)})`
          const session = (yield* byId(id))!
          yield* localEvent(new SessionStarted({ session }), time)
          return session
        }).pipe(
          sql.withTransaction,
          Effect.mapError(fail("start session")),
          Effect.tap((session) => published(new SessionStarted({ session })))
        ),
      end: (id, reason, time) =>
        Effect.gen(function*() {
          yield* sql`UPDATE sessions SET ended_at = ${time}, end_reason = ${reason}, last_activity = ${time}
                     WHERE id = ${id} AND ended_at IS NULL`
          const s = yield* byId(id)
          if (s === undefined || s.ended_at !== time) return undefined
          yield* localEvent(new SessionEnded({ session: s, reason }), time)
          return s
        }).pipe(
          sql.withTransaction,
          Effect.mapError(fail("end session")),
          Effect.tap((s) => s === undefined ? Effect.void : published(new SessionEnded({ session: s, reason })))
        ),
      active: (realm) =>
        (realm === undefined
          ? sql.unsafe<SessionDbRow>(readSql.activeSessions)
          : sql.unsafe<SessionDbRow>(readSql.activeSessionsOf, [realm])).pipe(
            Effect.map((rows): Array<Session> => rows.map(sessionOfRow)),
            Effect.mapError(fail("list sessions"))
          ),
      history: (afterId) =>
        sql.unsafe<{ id: string; type: string; time: string; payload: string }>(readSql.localEventsAfter, [
          afterId ?? ""
        ]).pipe(
          Effect.mapError(fail("read session events")),
          Effect.flatMap((rows) =>
            Effect.forEach(rows, (r) =>
              Either.match(decodeSessionEvent(r.type, r.time, JSON.parse(r.payload)), {
                onLeft: (detail) => Effect.fail(new StoreError({ op: "read session events", detail })),
                onRight: (event) => Effect.succeed({ id: r.id, time: r.time, event })
              }))
          )
        )
    }
  })
)
