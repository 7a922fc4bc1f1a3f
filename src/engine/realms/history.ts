/**
 * The engine's view of the log: catching daemon.db up with the realm branch, the realm's name and row, the events a
 * commit carries, and the folded state from the latest snapshot plus the events after it.
 */
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { type GitError, HistoryRewritten, LogCorrupt, PathProblem } from "../../adapters/errors.js"
import type { FoldItem, RealmRow } from "../../adapters/eventLog.js"
import type { RealmCommit } from "../../adapters/realmGit.js"
import { RealmNotInitialized } from "../../domain/errors.js"
import { initialState, type RealmState } from "../../domain/state.js"
import { escapeControls } from "../../domain/text.js"
import { envelopeFromJson } from "../../events/codec.js"
import type { Recorded } from "../../events/envelope.js"
import { foldEnvelopes, PositionGap } from "../../projections/fold.js"
import { eventPathsOf, type Ports, type RealmError } from "./shared.js"

const SNAPSHOT_EVERY = 50

/** The log reads the other parts of the engine build on. */
export const makeHistory = ({ git, log }: Ports) => {
  const corrupt = (realm: string, detail: string) => new LogCorrupt({ realm, detail })
  /** Rewritten histories already detected, by realm dir, branch head and checkpoint. */
  const rewrittenSeen = new Map<string, HistoryRewritten>()

  /** The envelope in `text`, the content of `path` in commit `c` (undefined: the commit lacks it). */
  const parseEvent = (realm: string, c: RealmCommit, path: string, text: string | undefined) => {
    if (text === undefined) return Effect.fail(corrupt(realm, `commit ${c.oid} names ${path}, which it lacks`))
    const env = envelopeFromJson(text)
    return Either.isLeft(env)
      ? Effect.fail(
        corrupt(
          realm,
          `${escapeControls(path, { oneLine: true })} in commit ${
            c.oid.slice(0, 8)
          }: ${env.left}; the realm's history holds an event Blue cannot read — remove or repair that commit (git reset --hard ${
            c.oid.slice(0, 8)
          }~1 when it is the last, else an interactive rebase; a revert leaves it in the history) and run 'blue realm admin reindex'`
        )
      )
      : Effect.succeed(env.right)
  }

  /** Reads the envelopes a commit carries, in position order. */
  const eventsOfCommit = (dir: string, realm: string, c: RealmCommit) =>
    Effect.forEach(
      eventPathsOf(c.message),
      (path) => Effect.flatMap(git.readFile(dir, c.oid, path), (text) => parseEvent(realm, c, path, text))
    )

  /** The event files of each commit (path and content, as `eventsOfCommit` reads them), read in one batch. */
  const eventFilesOf = (dir: string, commits: ReadonlyArray<RealmCommit>) =>
    Effect.gen(function*() {
      const reads = commits.flatMap((c) => eventPathsOf(c.message).map((path) => ({ c, path })))
      const texts = yield* git.readFiles(dir, reads.map(({ c, path }) => ({ commit: c.oid, path })))
      const out = new Map<RealmCommit, Array<{ path: string; text: string | undefined }>>(commits.map((c) => [c, []]))
      reads.forEach(({ c, path }, i) => out.get(c)!.push({ path, text: texts[i] }))
      return commits.map((c) => out.get(c)!)
    })

  /** The name of the realm in `dir`, from its first event. */
  const realmNameAt = (dir: string) =>
    Effect.gen(function*() {
      const history = yield* git.history(dir, undefined)
      const first = history[0]
      if (first === undefined) return yield* new RealmNotInitialized({ path: dir })
      const [env] = yield* eventsOfCommit(dir, "?", first)
      if (env === undefined || env.event._tag !== "RealmInitialized") {
        return yield* new RealmNotInitialized({ path: dir })
      }
      return env.event.realm.name
    })

  /** Finds (or registers) the tracked realm for `dir`. */
  const rowFor = (dir: string): Effect.Effect<RealmRow, RealmError> =>
    Effect.gen(function*() {
      const rows = yield* log.realms
      const byPath = rows.find((r) => r.localPath === dir)
      if (byPath !== undefined) return byPath
      const name = yield* realmNameAt(dir)
      const other = rows.find((r) => r.name === name)
      if (other !== undefined && fs.existsSync(nodePath.join(other.localPath, ".git"))) {
        return yield* new PathProblem({
          path: dir,
          detail:
            `this machine already tracks a realm named '${name}' at ${other.localPath}; one BLUE_HOME tracks one realm per name (use another BLUE_HOME, or remove the other realm)`
        })
      }
      yield* log.register(name, dir)
      return {
        name,
        localPath: dir,
        url: undefined,
        headCommit: other?.headCommit,
        headPosition: other?.headPosition ?? 0
      }
    })

  /** Records in daemon.db every realm commit it has not seen yet. Returns the realm row after catching up. */
  const catchUp = (dir: string) =>
    Effect.gen(function*() {
      if ((yield* git.head(dir)) === undefined) return yield* new RealmNotInitialized({ path: dir })
      // The checkpoint first, the branch second: writers move the branch before they record the checkpoint, so
      // a checkpoint read first is always the head read after it or one of its ancestors.
      const row = yield* rowFor(dir)
      const head = (yield* git.head(dir))!
      if (row.headCommit === head) return { row, head }
      // Walk from the head read above: another writer may move the branch meanwhile, and the checkpoint must
      // pair a commit with the position of exactly the events up to it.
      // A rewritten history stays so until reindex: the daemon's poll must not walk all of it every time.
      const key = `${dir}\0${head}\0${row.headCommit}`
      const known = rewrittenSeen.get(key)
      if (known !== undefined) return yield* Effect.fail(known)
      const commits = yield* git.history(dir, row.headCommit, head).pipe(
        Effect.catchTag("GitError", (e) =>
          row.headCommit === undefined ? Effect.fail(e) : Effect.flatMap(
            // The walk missed the checkpoint: either the branch no longer contains it (reset, force-push) or
            // the history cannot be read.
            Effect.either(git.history(dir, undefined, head)),
            (all): Effect.Effect<never, GitError | LogCorrupt | HistoryRewritten> =>
              Either.isRight(all) && !all.right.some((c) => c.oid === row.headCommit)
                ? Effect.fail(
                  new HistoryRewritten({
                    realm: row.name,
                    path: dir,
                    commit: row.headCommit!,
                    position: row.headPosition
                  })
                )
                : Effect.fail(corrupt(row.name, e.detail))
          )),
        Effect.tapErrorTag("HistoryRewritten", (e) => Effect.sync(() => rewrittenSeen.set(key, e)))
      )
      let position = row.headPosition
      let batch: Array<Recorded> = []
      // Read in chunks: one batch of file reads (one `git cat-file`) per 5,000 commits — each batch starts a process —
      // and one daemon.db transaction per 500 events or so.
      const CHUNK = 5000
      for (let from = 0; from < commits.length; from += CHUNK) {
        const chunk = commits.slice(from, from + CHUNK)
        const files = yield* eventFilesOf(dir, chunk)
        for (let k = 0; k < chunk.length; k++) {
          const c = chunk[k]!
          for (const { path, text } of files[k]!) {
            const envelope = yield* parseEvent(row.name, c, path, text)
            if (envelope.position !== position + 1) {
              return yield* corrupt(
                row.name,
                `commit ${c.oid.slice(0, 8)} carries event ${envelope.id} at position ${envelope.position}, expected ${
                  position + 1
                }`
              )
            }
            position = envelope.position
            batch.push({ envelope, commit: c.oid })
          }
          if (batch.length >= 500) {
            yield* log.append(row.name, batch, { commit: c.oid, position })
            batch = []
          }
        }
      }
      yield* log.append(row.name, batch, { commit: head, position })
      return { row: { ...row, headCommit: head, headPosition: position }, head }
    })

  /** Every event the realm branch carries, read from git alone (position order). */
  const recordedInGit = (dir: string, realm: string) =>
    Effect.gen(function*() {
      const out: Array<Recorded> = []
      for (const c of yield* git.history(dir, undefined)) {
        for (const envelope of yield* eventsOfCommit(dir, realm, c)) out.push({ envelope, commit: c.oid })
      }
      return out
    })

  /**
   * What read-only commands show: daemon.db after catching up or, when the branch was rewritten under this
   * machine's index, what git holds (daemon.db is left alone until `reindex`).
   */
  const readView = (dir: string) =>
    catchUp(dir).pipe(
      Effect.map(({ head, row }) => ({ name: row.name, head, rewritten: undefined, fromGit: undefined })),
      Effect.catchTag("HistoryRewritten", (rewritten) =>
        Effect.gen(function*() {
          const head = yield* git.head(dir)
          if (head === undefined) return yield* new RealmNotInitialized({ path: dir })
          const fromGit = yield* recordedInGit(dir, rewritten.realm)
          return { name: rewritten.realm, head, rewritten, fromGit }
        }))
    )

  /**
   * The last state folded or appended in this process, by realm, with the id of the event at its position: a
   * long-lived process (the daemon, the MCP server) folds only the events after it instead of parsing the whole
   * snapshot again, which made every append cost more as the realm grew. The id is checked against daemon.db
   * before use, so a re-index or another writer is noticed and the state is rebuilt from the snapshot.
   */
  const lastState = new Map<
    string,
    { readonly state: RealmState; readonly lastId: string | undefined; readonly snapshotAt: number }
  >()

  /** Records the state just appended (its last event's id) as the one to fold on from. */
  const remember = (realm: string, state: RealmState, lastId: string) => {
    const before = lastState.get(realm)
    lastState.set(realm, { state, lastId, snapshotAt: before?.snapshotAt ?? 0 })
  }

  const fold = (realm: string, base: RealmState, rest: ReadonlyArray<FoldItem>) =>
    rest.length === 0 ? Effect.succeed(base) : Effect.try({
      try: () => foldEnvelopes(base, rest),
      catch: (e) => corrupt(realm, e instanceof PositionGap ? `daemon.db: ${e.message}` : String(e))
    })

  /** The folded state of a tracked realm from its snapshot (or this process's last state) and the events after it. */
  const stateOf = (realm: string) =>
    Effect.gen(function*() {
      const known = lastState.get(realm)
      if (known !== undefined && known.state.position > 0) {
        // The event at the known position comes first: it must still be the one the state was folded with.
        const rows = yield* log.readForFold(realm, known.state.position - 1)
        if (rows[0]?.id === known.lastId && rows[0]?.position === known.state.position) {
          const rest = rows.slice(1)
          const state = yield* fold(realm, known.state, rest)
          let snapshotAt = known.snapshotAt
          if (state.position - snapshotAt >= SNAPSHOT_EVERY) {
            yield* log.saveSnapshot(realm, { position: state.position, state })
            snapshotAt = state.position
          }
          lastState.set(realm, { state, lastId: rest.at(-1)?.id ?? known.lastId, snapshotAt })
          return state
        }
        lastState.delete(realm)
      }
      const snap = yield* log.snapshot(realm)
      const base = snap?.state ?? initialState
      const rows = yield* log.readForFold(realm, Math.max(0, base.position - 1))
      const rest = base.position === 0 ? rows : rows.slice(1)
      const state = yield* fold(realm, base, rest)
      let snapshotAt = base.position
      if (state.position - base.position >= SNAPSHOT_EVERY) {
        yield* log.saveSnapshot(realm, { position: state.position, state })
        snapshotAt = state.position
      }
      const lastId = rest.at(-1)?.id ?? (base.position === 0 ? undefined : rows[0]?.id)
      if (lastId !== undefined) lastState.set(realm, { state, lastId, snapshotAt })
      return state
    })

  return { corrupt, eventsOfCommit, remember, realmNameAt, rowFor, catchUp, recordedInGit, readView, stateOf } as const
}

/** The log reads, as built by makeHistory. */
export type History = ReturnType<typeof makeHistory>
