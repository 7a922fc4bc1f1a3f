/**
 * The realm engine: the append protocol of SPEC §2.1 over the realm repo (git) and the machine's event index
 * (daemon.db). Every write runs under the realm's lock: recover → catch up → decide → one commit → compare-and-swap
 * the branch → record in daemon.db → update the working tree. Reads catch up first, so a crash between any two
 * steps, a hand-made commit or another machine's writes are always folded in.
 *
 * The service is assembled from one module per concern under `realms/`: the log reads everything builds on
 * (`history`), the write path (`writes`), the reads (`reads`), the audits (`audit`) and the session mirror
 * (`sessions`).
 */
import { Effect, Layer, Option } from "effect"
import * as nodePath from "node:path"
import { writeFileAtomic } from "../adapters/atomicFs.js"
import { GitError, StoreError } from "../adapters/errors.js"
import { EventLog } from "../adapters/eventLog.js"
import { RealmLock } from "../adapters/lock.js"
import { RealmGit } from "../adapters/realmGit.js"
import { RemoteGit } from "../adapters/remoteGit.js"
import { escapeControls } from "../domain/text.js"
import { ago } from "../projections/status.js"
import { Ids } from "./ids.js"
import { Invocation } from "./invocation.js"
import { makeAudit } from "./realms/audit.js"
import { makeHistory } from "./realms/history.js"
import { makeReads } from "./realms/reads.js"
import { isStale, lastSync, makeRemoteSync, syncInterval } from "./realms/remote.js"
import { makeSessionMirror } from "./realms/sessions.js"
import type { Ports } from "./realms/shared.js"
import { makeWrites } from "./realms/writes.js"

export { eventPathsOf } from "./realms/shared.js"
export type { Appended, OpenRealm, RealmError, Verification } from "./realms/shared.js"

/** The realm engine. */
export class Realms extends Effect.Service<Realms>()("blue/Realms", {
  effect: Effect.gen(function*() {
    const ports: Ports = {
      git: yield* RealmGit,
      log: yield* EventLog,
      locks: yield* RealmLock,
      ids: yield* Ids,
      remote: Option.getOrUndefined(yield* Effect.serviceOption(RemoteGit))
    }
    const history = makeHistory(ports)
    const remoteSync = makeRemoteSync(ports)
    const { cloneRemote, execute, init, initRemote, queuedWrites, reindex, syncRemote } = makeWrites(
      ports,
      history,
      remoteSync
    )
    const reads = makeReads(ports, history)
    /** The remote realm tracked at `dir`, if it is one. */
    const remoteRow = (dir: string) =>
      Effect.map(
        Effect.orElseSucceed(ports.log.realms, () => []),
        (rows) => rows.find((r) => r.localPath === dir && r.url !== undefined && r.url !== null)
      )
    /**
     * Keeps a remote realm's clone fresh for reads: fetches when it is older than BLUE_REALM_SYNC_INTERVAL_MS. A
     * server that cannot be reached is no failure for a read (the clone answers; status says how old it is).
     */
    const freshen = (dir: string, force = false, sayOffline = false) =>
      Effect.gen(function*() {
        const row = yield* remoteRow(dir)
        if (row === undefined) return
        if (!force && !isStale(dir, yield* syncInterval)) return
        const synced = yield* Effect.either(syncRemote(dir, row.name, row.url!))
        // The log's own reads (`realm log`, `replay`; not the daemon's poll, not a write's or status's `open`) say,
        // on stderr, that they answer from an older copy. A command that opened the realm first has already
        // recorded the failed fetch, so its later reads are not stale and print nothing (check, for one).
        if (sayOffline && synced._tag === "Left") {
          const last = lastSync(dir)?.lastOkAt
          const invocation = yield* Invocation
          invocation.stderr(
            `blue: ${
              escapeControls(synced.left.message, { oneLine: true }).replace(/\.$/, "")
            }; answering from this machine's copy of realm '${
              escapeControls(row.name, { oneLine: true })
            }', last synced ${last === undefined ? "never" : ago(last)}\n`
          )
        }
      })
    /** When a remote realm's clone last fetched, whether the server answered (undefined for a local realm). */
    const remoteStatus = (dir: string) =>
      Effect.map(remoteRow(dir), (row) => {
        if (row === undefined) return undefined
        const s = lastSync(dir)
        return {
          url: row.url!,
          lastSyncAt: s?.at ?? null,
          lastOkAt: s?.lastOkAt ?? null,
          reachable: s?.ok ?? false,
          error: s?.error ?? null
        }
      })
    // `open` serves writes (decided at the head it reads) and status (which shows the clone's age itself): no note.
    const open = (dir: string) => Effect.zipRight(freshen(dir), reads.open(dir))
    const events = (dir: string, afterPosition?: number) =>
      Effect.zipRight(freshen(dir, false, true), reads.events(dir, afterPosition))
    const foldItems = (dir: string) => Effect.zipRight(freshen(dir, false, true), reads.foldItems(dir))
    const audit = makeAudit(ports, history)
    const verify = (dir: string) => Effect.zipRight(freshen(dir, false, true), audit.verify(dir))
    const auditTrail = (dir: string, since?: string) =>
      Effect.zipRight(freshen(dir, false, true), audit.auditTrail(dir, since))
    const { machineSessions, publishSessions, pushSessions } = makeSessionMirror(ports)
    return {
      init,
      initRemote,
      cloneRemote,
      syncRemote,
      freshen,
      remoteStatus,
      reindex,
      execute,
      queuedWrites,
      open,
      events,
      foldItems,
      verify,
      catchUp: history.catchUp,
      stateOf: history.stateOf,
      auditTrail,
      publishSessions,
      pushSessions,
      machineSessions
    } as const
  })
}) {}

/** The engine with its ports provided by `ports`. */
export const layerWith = <E, R>(ports: Layer.Layer<RealmGit | EventLog | RealmLock | Ids, E, R>) =>
  Realms.Default.pipe(Layer.provide(ports))

/** Writes a file in a realm's working tree (used by tests to simulate hand edits). */
export const writeRealmFile = (dir: string, path: string, content: string) =>
  writeFileAtomic(nodePath.join(dir, path), content)

export { GitError, StoreError }
