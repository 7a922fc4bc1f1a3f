/**
 * Live sessions of this machine in daemon.db: who works where (repo, realm, client, pid, domains, what they
 * watch). Starting and ending a session are local events, recorded with the session change in one transaction.
 */
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Schema } from "effect"
import { monotonicFactory } from "ulid"
import { readSql, type SessionDbRow, sessionOfRow } from "./daemonDb.js"
import { StoreError } from "./errors.js"
import { EventLog } from "./eventLog.js"

/** A session as the API shows it. */
export const Session = Schema.Struct({
  id: Schema.String,
  repo: Schema.String,
  realm: Schema.String,
  client_id: Schema.String,
  pid: Schema.NullOr(Schema.Number),
  started_at: Schema.String,
  last_activity: Schema.String,
  active_rfc: Schema.NullOr(Schema.String),
  active_domains: Schema.Array(Schema.String),
  imports_watching: Schema.Array(Schema.String),
  exports_modified: Schema.Array(Schema.String),
  ended_at: Schema.NullOr(Schema.String),
  end_reason: Schema.NullOr(Schema.String)
})
/** A session. */
export type Session = typeof Session.Type

/** What a client registers. */
export const NewSession = Schema.Struct({
  repo: Schema.String,
  realm: Schema.String,
  client_id: Schema.optionalWith(Schema.String, { default: () => "cli" }),
  pid: Schema.optional(Schema.Int),
  active_rfc: Schema.optional(Schema.String),
  active_domains: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  imports_watching: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  exports_modified: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})
/** What a client registers. */
export type NewSession = typeof NewSession.Type

/** The session store port. */
export class Sessions extends Context.Tag("blue/Sessions")<Sessions, {
  /** Registers a session (and records SessionStarted). */
  readonly start: (s: NewSession, time: string) => Effect.Effect<Session, StoreError>
  /** Ends a session (and records SessionEnded); undefined when it is unknown or already ended. */
  readonly end: (id: string, reason: string, time: string) => Effect.Effect<Session | undefined, StoreError>
  /** Active sessions, optionally of one realm. */
  readonly active: (realm?: string) => Effect.Effect<ReadonlyArray<Session>, StoreError>
}>() {}

const fail = (op: string) => (e: unknown) =>
  new StoreError({ op, detail: e instanceof Error ? e.message : String((e as { cause?: unknown }).cause ?? e) })

/** Sessions in daemon.db (the EventLog layer has applied the migrations). */
export const SessionsLive = Layer.effect(
  Sessions,
  Effect.gen(function*() {
    // The event log applies daemon.db's migrations, the sessions table included.
    yield* EventLog
    const sql = yield* SqlClient.SqlClient
    const ulid = monotonicFactory()
    const byId = (id: string) =>
      Effect.map(
        sql<SessionDbRow>`SELECT * FROM sessions WHERE id = ${id}`,
        (rows) => rows[0] === undefined ? undefined : sessionOfRow(rows[0])
      )
    const localEvent = (type: string, time: string, payload: unknown) =>
      sql`INSERT INTO local_events (id, type, time, payload)
          VALUES (${ulid(Date.parse(time))}, ${type}, ${time}, ${JSON.stringify(payload)})`
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
          yield* localEvent("SessionStarted", time, {
            session: id,
            repo: s.repo,
            realm: s.realm,
            client_id: s.client_id
          })
          return (yield* byId(id))!
        }).pipe(sql.withTransaction, Effect.mapError(fail("start session"))),
      end: (id, reason, time) =>
        Effect.gen(function*() {
          yield* sql`UPDATE sessions SET ended_at = ${time}, end_reason = ${reason}, last_activity = ${time}
                     WHERE id = ${id} AND ended_at IS NULL`
          const s = yield* byId(id)
          if (s === undefined || s.ended_at !== time) return undefined
          yield* localEvent("SessionEnded", time, { session: id, repo: s.repo, realm: s.realm, reason })
          return s
        }).pipe(sql.withTransaction, Effect.mapError(fail("end session"))),
      active: (realm) =>
        (realm === undefined
          ? sql.unsafe<SessionDbRow>(readSql.activeSessions)
          : sql.unsafe<SessionDbRow>(readSql.activeSessionsOf, [realm])).pipe(
            Effect.map((rows): Array<Session> => rows.map(sessionOfRow)),
            Effect.mapError(fail("list sessions"))
          )
    }
  })
)
