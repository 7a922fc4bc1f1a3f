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
import { syncInterval } from "../engine/realms/remote.js"
import { sessionsTtl } from "../engine/realms/sessions.js"
import {
  encodeSessionEvent,
  publishedSessions,
  type RemoteSession,
  type SessionEvent,
  sessionSchemaVersions
} from "../events/session.js"
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

/** Another machine's session that appeared in or left a realm's listing. */
export interface RemoteSessionChange {
  readonly realm: string
  readonly change: "started" | "ended"
  readonly session: RemoteSession
}

/**
 * How often the other machines' sessions are compared with the last listing: a quarter of the sync interval, 0.1–1 s
 * (a read of local refs and one blob per machine, no request), so a fetch's news reach the feed soon after it.
 */
const remoteSessionsTick = Effect.map(syncInterval, (ms) => Math.min(1_000, Math.max(100, Math.floor(ms / 4))))

/**
 * Follows the sessions other machines published on each realm's `blue/sessions/*` branches (as `GET /sessions`
 * lists them) and hands `emit` what changed since the last look, by machine and session id: a session a fetch
 * brought is "started"; one its machine ended, one whose snapshot went stale past its TTL, one whose branch was
 * pruned is "ended" (as it was last listed; a fetch in flight does not end them: see `machineSessions`). The first
 * look at a realm only takes note; a realm that cannot be read this round keeps its last listing. Runs until
 * interrupted.
 */
export const followRemoteSessions = (
  emit: (changes: ReadonlyArray<RemoteSessionChange>) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    const realms = yield* Realms
    const { machine } = yield* DaemonConfig
    const tick = yield* remoteSessionsTick
    /** realm → machine + session id → the session as last listed */
    const known = new Map<string, Map<string, RemoteSession>>()
    const round = Effect.gen(function*() {
      const rows = yield* Effect.orElseSucceed(log.realms, () => [])
      const changes: Array<RemoteSessionChange> = []
      for (const row of rows) {
        const read = yield* Effect.either(realms.machineSessions(row.localPath))
        if (read._tag === "Left") continue
        const now = new Map<string, RemoteSession>()
        for (const m of read.right) {
          if (m.machine === machine) continue
          for (const s of publishedSessions(m.machine, m.snapshot, m.updated_at)) {
            now.set(`${m.machine}\u0000${s.id}`, s)
          }
        }
        const before = known.get(row.name)
        known.set(row.name, now)
        if (before === undefined) continue
        for (const [key, session] of before) {
          if (!now.has(key)) changes.push({ realm: row.name, change: "ended", session })
        }
        for (const [key, session] of now) {
          if (!before.has(key)) changes.push({ realm: row.name, change: "started", session })
        }
      }
      for (const name of [...known.keys()]) if (!rows.some((r) => r.name === name)) known.delete(name)
      if (changes.length > 0) yield* emit(changes)
    })
    return yield* Effect.ignore(round).pipe(Effect.repeat(Schedule.spaced(tick)), Effect.asVoid)
  })
