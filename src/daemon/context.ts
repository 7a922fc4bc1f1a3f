/**
 * What every part of the running daemon shares: where it lives, the port and token it serves with, this machine's
 * name and when it started; and `Ingest`, the one way a realm's new commits get into the event log (whose append
 * then publishes them on the change stream).
 */
import { Context, Effect, Layer, Schedule } from "effect"
import { DaemonHost, EventLog, type RealmRow } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { syncInterval } from "../engine/realms/remote.js"

/** How the daemon was started. */
export interface DaemonOptions {
  readonly home: string
  readonly port: number
  readonly token: string
}

/** The daemon's settings, as its Layers read them. */
export class DaemonConfig extends Context.Tag("blue/daemon/DaemonConfig")<DaemonConfig, {
  readonly home: string
  readonly port: number
  readonly token: string
  readonly machine: string
  readonly startedAt: string
}>() {}

/** The settings for `options`, stamped with the start time. */
export const DaemonConfigLive = (options: DaemonOptions) =>
  Layer.effect(
    DaemonConfig,
    Effect.map(Effect.flatMap(DaemonHost, (host) => host.machineName(options.home)), (machine) => ({
      ...options,
      machine,
      startedAt: new Date().toISOString()
    }))
  )

/** Gets realm commits into the event log: a catch-up (git → daemon.db) and an announce of what others recorded. */
export class Ingest extends Context.Tag("blue/daemon/Ingest")<Ingest, {
  /**
   * Catches the realm up and publishes every event that is new to this daemon (those its catch-up appended, and
   * those another process appended to daemon.db); returns how many it published.
   */
  readonly realm: (row: RealmRow) => Effect.Effect<number, unknown>
  /** Every tracked realm, each on its own (one failing does not stop the others). */
  readonly all: Effect.Effect<void>
}>() {}

/** Ingest through the engine's catch-up and the log's announce. */
export const IngestLive = Layer.scoped(
  Ingest,
  Effect.gen(function*() {
    const realms = yield* Realms
    const log = yield* EventLog
    // One ingest per realm at a time: the ref watcher, the poll and POST …/sync may all ask at once.
    const locks = new Map<string, Effect.Semaphore>()
    const lockOf = (name: string) => {
      let lock = locks.get(name)
      if (lock === undefined) locks.set(name, lock = Effect.unsafeMakeSemaphore(1))
      return lock
    }
    const realm = (row: RealmRow) =>
      lockOf(row.name).withPermits(1)(Effect.gen(function*() {
        const before = (yield* log.realms).find((r) => r.name === row.name)?.headPosition ?? 0
        // A realm on a git server: fetch (and fast-forward the clone) when the last fetch is older than
        // BLUE_REALM_SYNC_INTERVAL_MS; an unreachable server leaves the clone as it is (status says so).
        if (row.url !== undefined && row.url !== null) yield* realms.freshen(row.localPath)
        const { row: after } = yield* realms.catchUp(row.localPath)
        // What catch-up appended was published by the append; the rest another process appended.
        const announced = yield* log.announce(row.name)
        return Math.max(0, after.headPosition - before) + announced
      }))
    // Realms on a git server are fetched every BLUE_REALM_SYNC_INTERVAL_MS (the refs watcher sees nothing until a
    // fetch, and the fallback poll is slower), so another machine's change — and the notification it raises — is
    // here within the interval; an unreachable server is tried again at the next tick.
    const intervalMs = Math.max(100, yield* syncInterval)
    yield* Effect.forkScoped(
      Effect.flatMap(
        Effect.orElseSucceed(log.realms, () => []),
        (rows) =>
          Effect.forEach(rows.filter((r) => r.url !== undefined && r.url !== null), (r) => Effect.ignore(realm(r)), {
            discard: true
          })
      ).pipe(Effect.repeat(Schedule.spaced(intervalMs)), Effect.delay(intervalMs))
    )
    return {
      realm,
      all: Effect.flatMap(
        Effect.orElseSucceed(log.realms, () => []),
        (rows) => Effect.forEach(rows, (r) => Effect.ignore(realm(r)), { discard: true })
      )
    }
  })
)
