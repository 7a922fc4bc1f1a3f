/**
 * Who works where, as operations ask it: the sessions the machine's daemon knows (started if needed), this
 * machine's live sessions recorded in daemon.db, and the member repo around a directory as a session names it.
 */
import { Context, Effect, Layer } from "effect"
import { publishedSessions, type RemoteSession } from "../events/session.js"
import {
  callApi,
  type Connection,
  daemonNeeded,
  type DaemonNotStarted,
  DaemonUnavailable,
  memberHere
} from "./daemonClient.js"
import { liveOnly } from "./daemonDb.js"
import { type Session, Sessions } from "./sessions.js"

/** The sessions a daemon knows: its machine's, and the live ones other machines published. */
export interface KnownSessions {
  readonly sessions: ReadonlyArray<Session>
  readonly remote: ReadonlyArray<RemoteSession>
}

/** The sessions the daemon at `conn` knows, in one realm or all (other machines' stale snapshots hidden). */
export const listSessions = (conn: Connection, realm: string | undefined) =>
  callApi(conn, (client) => client.sessions.list({ urlParams: realm === undefined ? {} : { realm } })).pipe(
    Effect.map((r): KnownSessions => ({
      sessions: r.sessions,
      remote: r.machines.flatMap((m) => {
        const machine = typeof m["machine"] === "string" ? m["machine"] : undefined
        if (machine === undefined || machine === r.machine) return []
        const seen = typeof m["updated_at"] === "string" ? m["updated_at"] : null
        return publishedSessions(machine, m["snapshot"], seen)
      })
    })),
    Effect.catchIf(
      (e) => e._tag !== "DaemonUnavailable",
      (e) => Effect.fail(new DaemonUnavailable({ detail: `GET /sessions answered ${e._tag}: ${e.message}` }))
    )
  )

/** The presence port. */
export class Presence extends Context.Tag("blue/Presence")<Presence, {
  /** The sessions the machine's daemon knows (in one realm or all), the daemon started when auto-start allows. */
  readonly daemonSessions: (
    realm: string | undefined
  ) => Effect.Effect<KnownSessions, DaemonUnavailable | DaemonNotStarted>
  /** This machine's sessions in `realm` whose process is alive, from daemon.db (none when it cannot tell). */
  readonly localSessions: (realm: string) => Effect.Effect<ReadonlyArray<Session>>
  /** The member repo around `cwd` and its realm, read loosely from `.blue/config.yaml`; undefined outside one. */
  readonly memberAt: (cwd: string) => Effect.Effect<{ readonly repo: string; readonly realm: string } | undefined>
}>() {}

/** Presence through the machine's daemon and daemon.db (`Sessions`). */
export const PresenceLive = Layer.effect(
  Presence,
  Effect.map(Sessions, (sessions) => ({
    daemonSessions: (realm: string | undefined) => Effect.flatMap(daemonNeeded, (conn) => listSessions(conn, realm)),
    localSessions: (realm: string) =>
      sessions.active(realm).pipe(
        Effect.map((all): ReadonlyArray<Session> => liveOnly(all)),
        Effect.orElseSucceed((): ReadonlyArray<Session> => [])
      ),
    memberAt: (cwd: string) => Effect.sync(() => memberHere(cwd))
  }))
)
