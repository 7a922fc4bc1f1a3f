/**
 * Records this machine's session changes on each realm's `blue/sessions/<machine>` branch (the typed session
 * events and the machine's current sessions), so that other machines see who works where. Fed by the event log's
 * change stream; changes are batched per realm. While sessions are live the snapshot is refreshed every third of
 * BLUE_SESSIONS_TTL_MS, so other machines can tell a live machine from one that stopped publishing.
 *
 * For a realm on a git server the branch is also pushed, with compare-and-swap: on a change as soon as the last
 * push is BLUE_SESSIONS_PUSH_INTERVAL_MS old (default 2 s; never on every heartbeat), and again after a push that
 * gave up. A failing push never fails anything else: it is a debug line in the daemon's log (BLUE_DEBUG shows it).
 */
import { Effect, Layer, Logger, LogLevel, PubSub, Queue, Schedule } from "effect"
import { EventLog, type RealmRow, Sessions } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { sessionsTtl } from "../engine/realms/sessions.js"
import { encodeSessionEvent, type SessionEvent, sessionSchemaVersions } from "../events/session.js"
import { DaemonConfig } from "./context.js"

/** The least time between two pushes of one realm's sessions branch (ms). */
export const DEFAULT_SESSIONS_PUSH_INTERVAL_MS = 2_000
/** How long after a push that gave up it is tried again, at the least (ms). */
const RETRY_AFTER_MS = 5_000
/** How often the pusher looks for work (ms). */
const PUSH_TICK_MS = 100

const pushInterval = Effect.sync(() => {
  const raw = Number(process.env["BLUE_SESSIONS_PUSH_INTERVAL_MS"])
  return process.env["BLUE_SESSIONS_PUSH_INTERVAL_MS"] !== undefined && Number.isFinite(raw) && raw >= 0
    ? raw
    : DEFAULT_SESSIONS_PUSH_INTERVAL_MS
})

const debug = (message: string) =>
  Effect.logDebug(message).pipe(
    Logger.withMinimumLogLevel(process.env["BLUE_DEBUG"] === undefined ? LogLevel.Info : LogLevel.Debug)
  )

const isRemote = (row: RealmRow) => row.url !== undefined && row.url !== null

/** Mirrors session changes to the realms (and pushes them to realms on git servers) until the scope closes. */
export const SessionMirrorLive = Layer.scopedDiscard(Effect.gen(function*() {
  const log = yield* EventLog
  const realms = yield* Realms
  const sessions = yield* Sessions
  const { machine } = yield* DaemonConfig
  const changes = yield* PubSub.subscribe(log.changes)
  const spacing = yield* pushInterval
  const ttl = yield* sessionsTtl
  const refreshEvery = Math.max(1_000, Math.floor(ttl / 3))
  // Per remote realm: whether the local branch may be ahead of the server's, when it may be pushed next, the last push.
  const pending = new Map<string, { dirty: boolean; dueAt: number; lastPushAt: number }>()
  const markDirty = (realm: string) => {
    const p = pending.get(realm) ?? { dirty: false, dueAt: 0, lastPushAt: 0 }
    pending.set(realm, { ...p, dirty: true, dueAt: Math.max(p.dueAt, p.lastPushAt + spacing) })
  }
  const rowOf = (realm: string) =>
    Effect.map(Effect.orElseSucceed(log.realms, () => []), (rows) => rows.find((r) => r.name === realm))

  /** One commit on the realm's sessions branch: the machine's live sessions now, and the events (if any). */
  const publish = (realm: string, events: ReadonlyArray<SessionEvent>) =>
    Effect.gen(function*() {
      const row = yield* rowOf(realm)
      if (row === undefined) return
      const now = new Date().toISOString()
      const active = yield* sessions.active(realm)
      yield* realms.publishSessions(
        row.localPath,
        machine,
        { machine, updated_at: now, ttl_ms: ttl, sessions: active },
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
      )
      if (isRemote(row)) markDirty(realm)
    }).pipe(Effect.ignore)

  const mirror = Effect.gen(function*() {
    const batch = yield* Queue.takeBetween(changes, 1, 1000)
    const byRealm = new Map<string, Array<SessionEvent>>()
    for (const c of batch) {
      if (c._tag !== "Session") continue
      const realm = c.event.session.realm
      byRealm.set(realm, [...(byRealm.get(realm) ?? []), c.event])
    }
    for (const [realm, events] of byRealm) yield* publish(realm, events)
  })

  // Live sessions are re-published before other machines would take them for stale.
  const refresh = Effect.gen(function*() {
    for (const row of yield* Effect.orElseSucceed(log.realms, () => [])) {
      const live = yield* Effect.orElseSucceed(sessions.active(row.name), () => [])
      if (live.length > 0) yield* publish(row.name, [])
    }
  })

  const push = Effect.gen(function*() {
    const now = Date.now()
    for (const [realm, p] of pending) {
      if (!p.dirty || now < p.dueAt) continue
      const row = yield* rowOf(realm)
      if (row === undefined || !isRemote(row)) {
        pending.delete(realm)
        continue
      }
      pending.set(realm, { ...p, dirty: false })
      const outcome = yield* Effect.either(realms.pushSessions(row.localPath, machine))
      // Only a push that reached the server counts for the spacing (nothing to push is no push).
      if (outcome._tag === "Left" || outcome.right._tag !== "UpToDate") {
        const q = pending.get(realm)!
        pending.set(realm, { ...q, dueAt: Math.max(q.dueAt, now + spacing), lastPushAt: now })
      }
      const reason = outcome._tag === "Left"
        ? String((outcome.left as { message?: unknown }).message ?? outcome.left)
        : outcome.right._tag === "GaveUp"
        ? outcome.right.reason
        : undefined
      if (reason !== undefined) {
        // Soft state: try again later (or at the next change), never fail anything else.
        const after = Date.now()
        pending.set(realm, { dirty: true, dueAt: after + Math.max(spacing, RETRY_AFTER_MS), lastPushAt: after })
        yield* debug(`sessions of realm '${realm}' not pushed (${machine}), trying again later: ${reason}`)
      }
    }
  }).pipe(Effect.ignore)

  // At start: a snapshot this machine left listing sessions (a daemon killed with SIGKILL) is replaced by the live
  // ones, and a sessions branch not pushed yet is pushed.
  yield* Effect.forkScoped(
    Effect.gen(function*() {
      for (const row of yield* Effect.orElseSucceed(log.realms, () => [])) {
        const live = yield* Effect.orElseSucceed(sessions.active(row.name), () => [])
        const mine = (yield* Effect.orElseSucceed(realms.machineSessions(row.localPath), () => [])).find((m) =>
          m.machine === machine
        )
        const listed = (mine?.snapshot as { sessions?: unknown } | null | undefined)?.sessions
        if (live.length > 0 || (Array.isArray(listed) && listed.length > 0)) yield* publish(row.name, [])
        else if (isRemote(row)) markDirty(row.name)
      }
    }).pipe(Effect.ignore)
  )
  yield* Effect.forkScoped(Effect.forever(Effect.ignore(mirror)))
  yield* Effect.forkScoped(refresh.pipe(Effect.repeat(Schedule.spaced(refreshEvery)), Effect.delay(refreshEvery)))
  yield* Effect.forkScoped(push.pipe(Effect.repeat(Schedule.spaced(PUSH_TICK_MS))))
}))
