/**
 * Records this machine's session changes on each realm's `blue/sessions/<machine>` branch (the typed session
 * events and the machine's current sessions), so that other machines see who works where. Fed by the event log's
 * change stream; changes are batched per realm.
 */
import { Effect, Layer, PubSub, Queue } from "effect"
import { EventLog, Sessions } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { encodeSessionEvent, type SessionEvent, sessionSchemaVersions } from "../events/session.js"
import { DaemonConfig } from "./context.js"

/** Mirrors session changes to the realms until the scope closes. */
export const SessionMirrorLive = Layer.scopedDiscard(Effect.gen(function*() {
  const log = yield* EventLog
  const realms = yield* Realms
  const sessions = yield* Sessions
  const { machine } = yield* DaemonConfig
  const changes = yield* PubSub.subscribe(log.changes)
  const mirror = Effect.gen(function*() {
    const batch = yield* Queue.takeBetween(changes, 1, 1000)
    const byRealm = new Map<string, Array<SessionEvent>>()
    for (const c of batch) {
      if (c._tag !== "Session") continue
      const realm = c.event.session.realm
      byRealm.set(realm, [...(byRealm.get(realm) ?? []), c.event])
    }
    for (const [realm, events] of byRealm) {
      const row = (yield* log.realms).find((r) => r.name === realm)
      if (row === undefined) continue
      const now = new Date().toISOString()
      const active = yield* sessions.active(realm)
      yield* realms.publishSessions(
        row.localPath,
        machine,
        { machine, updated_at: now, sessions: active },
        events.map((event) => ({
          id: `${event.session.id}-${event._tag === "SessionStarted" ? "started" : "ended"}`,
          time: now,
          payload: {
            id: `${event.session.id}-${event._tag === "SessionStarted" ? "started" : "ended"}`,
            type: event._tag,
            schemaVersion: sessionSchemaVersions[event._tag],
            time: now,
            machine,
            event: encodeSessionEvent(event)
          }
        }))
      ).pipe(Effect.ignore)
    }
  })
  yield* Effect.forkScoped(Effect.forever(Effect.ignore(mirror)))
}))
