/**
 * The realm engine: the append protocol of SPEC §2.1 over the realm repo (git) and the machine's event index
 * (daemon.db). Every write runs under the realm's lock: recover → catch up → decide → one commit → compare-and-swap
 * the branch → record in daemon.db → update the working tree. Reads catch up first, so a crash between any two
 * steps, a hand-made commit or another machine's writes are always folded in.
 */
import { Clock, Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as YAML from "yaml"
import { repoTmpDir, sweepTmp, writeFileAtomic, writeFileAtomicSync } from "../adapters/atomicFs.js"
import {
  type ConcurrentUpdate,
  GitError,
  type GitLockHeld,
  HistoryRewritten,
  type LockTimeout,
  LogCorrupt,
  PathProblem,
  StoreError
} from "../adapters/errors.js"
import { EventLog, type FoldItem, type RealmRow } from "../adapters/eventLog.js"
import { decodeYaml } from "../adapters/files.js"
import { DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutIn } from "../adapters/home.js"
import { identity } from "../adapters/identity.js"
import { RealmLock } from "../adapters/lock.js"
import { publish } from "../adapters/published.js"
import { type RealmCommit, RealmGit } from "../adapters/realmGit.js"
import type { Actor, Command } from "../domain/commands.js"
import { decide, validateName } from "../domain/decide.js"
import {
  type DomainError,
  InvalidIdentity,
  RealmAlreadyInitialized,
  RealmNotInitialized,
  UncommittedChanges
} from "../domain/errors.js"
import type { RealmEvent } from "../domain/events.js"
import { type Admission, schemaForRealmPath } from "../domain/files.js"
import { identityProblem } from "../domain/nameRules.js"
import { escapeControls } from "../domain/parseIssues.js"
import { initialState, type RealmState } from "../domain/state.js"
import { plural } from "../domain/text.js"
import { envelopeFromJson, envelopeToJson } from "../events/codec.js"
import { type Envelope, eventFilePath, type Recorded, schemaVersions } from "../events/envelope.js"
import { foldEnvelopes, PositionGap } from "../projections/fold.js"
import { isManagedPath, renderAll, renderPath, touchedPaths } from "../projections/realmFiles.js"
import { Ids } from "./ids.js"
import { Invocation } from "./invocation.js"

/** How long this invocation waits for a realm's write lock (its BLUE_LOCK_TIMEOUT_MS). */
const lockTimeout = Effect.map(
  Invocation,
  (i) => lockTimeoutIn(i.env) ?? DEFAULT_LOCK_TIMEOUT_MS
)

/** Everything a realm operation can fail with. */
export type RealmError =
  | DomainError
  | GitError
  | StoreError
  | LockTimeout
  | ConcurrentUpdate
  | PathProblem
  | LogCorrupt
  | InvalidIdentity
  | UncommittedChanges
  | GitLockHeld
  | HistoryRewritten

/** What a successful command wrote. */
export interface Appended {
  readonly realm: string
  readonly commit: string
  readonly events: ReadonlyArray<Envelope>
  readonly state: RealmState
  readonly files: ReadonlyArray<string>
}

/** A realm as seen from this machine: where it is and its folded state. */
export interface OpenRealm {
  readonly name: string
  readonly dir: string
  readonly head: string
  readonly state: RealmState
}

/** The outcome of `replay --verify`. */
export interface Verification {
  readonly realm: string
  readonly events: number
  readonly commits: number
  readonly differences: ReadonlyArray<string>
}

const TRAILER = "Blue-Event: "
const LOCK_FILE = "blue-write.lock"
const INTENT_FILE = "blue-materialize.json"
const SNAPSHOT_EVERY = 50

const lockPath = (dir: string) => nodePath.join(dir, ".git", LOCK_FILE)
const intentPath = (dir: string) => nodePath.join(dir, ".git", INTENT_FILE)

/** An event file's path as Blue writes it (see eventFilePath); anything else in a trailer is not an event. */
const EVENT_PATH = /^events\/\d{4}-\d{2}-\d{2}\/\d{2}\/[0-9A-HJKMNP-TV-Z]{26}\.json$/

/**
 * The event files a realm commit carries, from its trailers: only the last paragraph of the message counts (git's
 * trailer block), and only well-formed event paths, so no text elsewhere in the message can name an event.
 */
export const eventPathsOf = (message: string): ReadonlyArray<string> => {
  const paragraphs = message.replace(/\n+$/, "").split(/\n\s*\n/)
  const trailers = paragraphs.length > 1 ? paragraphs[paragraphs.length - 1]! : ""
  return trailers.split("\n").filter((l) => l.startsWith(TRAILER)).map((l) => l.slice(TRAILER.length).trim())
    .filter((p) => EVENT_PATH.test(p))
}

/** One line of a commit message or header: no field's content can add a line (or an <email> delimiter). */
const oneLine = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").replace(/[<>]/g, "")

const summarize = (command: Command, events: ReadonlyArray<RealmEvent>, actor: Actor): string => {
  switch (command._tag) {
    case "InitRealm":
      return `Initialize realm ${command.name}`
    case "JoinRealm":
      return `${command.repo} joins the realm`
    case "CreateDomain": {
      const [provider, ...consumers] = command.repos
      return `Create domain ${command.domain} (${provider} → ${consumers.join(", ")})`
    }
    case "LeaveRealm":
      return `${command.repo} leaves the realm${command.force ? " (forced)" : ""}`
    case "PublishContract": {
      const bump = events.find((e) => e._tag === "ContractBumped")
      return bump?._tag === "ContractBumped"
        ? `${actor.repo ?? actor.user}: ${command.contract} ${bump.from} → ${bump.contract.version} (${bump.bump})`
        : `${actor.repo ?? actor.user}: publish ${command.contract}`
    }
    case "DeclareImport":
      return `${actor.repo ?? actor.user} imports ${command.contract} ${command.version}`
    case "AcknowledgeNotifications":
      return `${actor.repo ?? actor.user} acknowledges ${plural(events.length, "notification")}`
  }
  return `${plural(events.length, "event")} by ${actor.repo ?? actor.user}`
}

/** The realm engine. */
export class Realms extends Effect.Service<Realms>()("blue/Realms", {
  effect: Effect.gen(function*() {
    const git = yield* RealmGit
    const log = yield* EventLog
    const locks = yield* RealmLock
    const ids = yield* Ids

    const corrupt = (realm: string, detail: string) => new LogCorrupt({ realm, detail })
    /** Rewritten histories already detected, by realm dir, branch head and checkpoint. */
    const rewrittenSeen = new Map<string, HistoryRewritten>()

    /** Reads the envelopes a commit carries, in position order. */
    const eventsOfCommit = (dir: string, realm: string, c: RealmCommit) =>
      Effect.forEach(eventPathsOf(c.message), (path) =>
        Effect.flatMap(git.readFile(dir, c.oid, path), (text) => {
          if (text === undefined) return Effect.fail(corrupt(realm, `commit ${c.oid} names ${path}, which it lacks`))
          const env = envelopeFromJson(text)
          return Either.isLeft(env)
            ? Effect.fail(
              corrupt(
                realm,
                `${escapeControls(path)} in commit ${
                  c.oid.slice(0, 8)
                }: ${env.left}; the realm's history holds an event Blue cannot read — remove or repair that commit (git reset --hard ${
                  c.oid.slice(0, 8)
                }~1 when it is the last, else an interactive rebase; a revert leaves it in the history) and run 'blue realm admin reindex'`
              )
            )
            : Effect.succeed(env.right)
        }))

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
        for (const c of commits) {
          for (const envelope of yield* eventsOfCommit(dir, row.name, c)) {
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

    /** The folded state of a tracked realm from its snapshot and the events after it. */
    const stateOf = (realm: string) =>
      Effect.gen(function*() {
        const snap = yield* log.snapshot(realm)
        const base = snap?.state ?? initialState
        const rest = yield* log.readForFold(realm, base.position)
        const state = yield* Effect.try({
          try: () => foldEnvelopes(base, rest),
          catch: (e) => corrupt(realm, e instanceof PositionGap ? `daemon.db: ${e.message}` : String(e))
        })
        if (state.position - base.position >= SNAPSHOT_EVERY) {
          yield* log.saveSnapshot(realm, { position: state.position, state })
        }
        return state
      })

    /** Finishes a write that was committed but not yet shown in the working tree (call with the lock held). */
    const recover = (dir: string) =>
      Effect.gen(function*() {
        sweepTmp(dir)
        const file = intentPath(dir)
        if (!fs.existsSync(file)) return
        let intent: { commit?: unknown; paths?: unknown } | undefined
        try {
          intent = JSON.parse(fs.readFileSync(file, "utf8"))
        } catch {
          intent = undefined
        }
        const head = yield* git.head(dir)
        if (intent === undefined || typeof intent.commit !== "string" || !Array.isArray(intent.paths)) {
          // An intent we cannot read: bring every file of the head back.
          if (head !== undefined) yield* git.materialize(dir, yield* git.listFiles(dir, head))
        } else if (head === intent.commit) {
          yield* git.materialize(dir, intent.paths as Array<string>)
        }
        fs.rmSync(file, { force: true })
      })

    /**
     * Refuses a write that would overwrite a file edited by hand and not committed: the working-tree content of
     * each path the write touches must be the head's (or absent), or already what the write puts there.
     */
    const refuseHandEdits = (
      dir: string,
      realm: string,
      head: string | undefined,
      writes: ReadonlyMap<string, string | undefined>
    ) =>
      Effect.gen(function*() {
        const edited: Array<string> = []
        for (const [path, next] of writes) {
          let actual: string
          try {
            actual = fs.readFileSync(nodePath.join(dir, path), "utf8")
          } catch {
            continue
          }
          if (actual === next) continue
          const committed = head === undefined ? undefined : yield* git.readFile(dir, head, path)
          if (actual !== committed) edited.push(`${nodePath.basename(dir)}/${path}`)
        }
        if (edited.length > 0) return yield* new UncommittedChanges({ realm, files: edited.sort() })
      })

    const metaNow = (actor: Actor) =>
      Effect.map(Clock.currentTimeMillis, (ms) => ({ ms, time: new Date(ms).toISOString(), actor }))

    /** Runs one command under the realm lock; the state is decided at the branch head. */
    const appendLocked = (
      dir: string,
      command: Command,
      actor: Actor,
      options: { readonly correlationId?: string } = {}
    ) =>
      Effect.gen(function*() {
        // git's own locks first: a git process mid-commit must finish before we read, decide or write anything.
        yield* git.lockForWrite(dir)
        yield* recover(dir)
        const head0 = yield* git.head(dir)
        let realmName: string
        let state: RealmState
        if (head0 === undefined) {
          if (command._tag !== "InitRealm") return yield* new RealmNotInitialized({ path: dir })
          realmName = command.name
          state = initialState
        } else {
          const { row } = yield* catchUp(dir)
          realmName = row.name
          state = yield* stateOf(row.name)
        }
        const { ms, time } = yield* metaNow(actor)
        const events = yield* decide(command, state, { time, actor })
        if (events.length === 0) {
          return { realm: realmName, commit: head0 ?? "", events: [], state, files: [] } satisfies Appended
        }
        const commandId = yield* ids.next(ms)
        const envelopes: Array<Envelope> = []
        const touched = new Set<string>()
        let next = state
        for (const event of events) {
          const envelope: Envelope = {
            id: yield* ids.next(ms),
            realm: realmName,
            position: next.position + 1,
            type: event._tag,
            schemaVersion: schemaVersions[event._tag],
            time,
            actor,
            causationId: commandId,
            correlationId: options.correlationId ?? commandId,
            event
          }
          for (const p of touchedPaths(next, event)) touched.add(p)
          next = foldEnvelopes(next, [envelope])
          envelopes.push(envelope)
        }
        const writes = new Map<string, string | undefined>()
        for (const p of touched) writes.set(p, renderPath(next, p))
        for (const e of envelopes) writes.set(eventFilePath(e), envelopeToJson(e))
        const message = [
          oneLine(summarize(command, events, actor)),
          "",
          `Blue-Realm: ${oneLine(realmName)}`,
          `Blue-Actor: ${oneLine(actor.repo === undefined ? actor.user : `${actor.repo} (${actor.user})`)}`,
          ...envelopes.map((e) => `${TRAILER}${eventFilePath(e)}`)
        ].join("\n")
        yield* refuseHandEdits(dir, realmName, head0, writes)
        // From the commit on, an interrupt (Ctrl-C, SIGTERM) waits for the write to be whole.
        const commit = yield* Effect.uninterruptible(Effect.gen(function*() {
          const commit = yield* git.writeCommit(dir, {
            parent: head0,
            writes,
            message,
            author: { name: oneLine(actor.repo ?? actor.user), email: oneLine(actor.user) },
            time: ms
          })
          const paths = [...writes.keys()]
          yield* Effect.sync(() =>
            writeFileAtomicSync(intentPath(dir), JSON.stringify({ commit, paths }), { tmpDir: repoTmpDir(dir) })
          )
          yield* git.advance(dir, head0, commit)
          if (head0 === undefined) yield* log.register(realmName, dir)
          yield* log.append(realmName, envelopes.map((envelope) => ({ envelope, commit })), {
            commit,
            position: next.position
          })
          yield* git.materialize(dir, writes)
          yield* Effect.sync(() => fs.rmSync(intentPath(dir), { force: true }))
          return commit
        }))
        return {
          realm: realmName,
          commit,
          events: envelopes,
          state: next,
          files: [...touched].sort()
        } satisfies Appended
      })

    /** Decides and appends one command to the realm in `dir`. */
    const execute = (dir: string, command: Command, actor: Actor, options?: { readonly correlationId?: string }) =>
      Effect.scoped(
        Effect.gen(function*() {
          if (!fs.existsSync(nodePath.join(dir, ".git"))) return yield* new RealmNotInitialized({ path: dir })
          const badActor = identityProblem(actor.user)
          if (badActor !== undefined) {
            // Name where the identity came from when it is this process's own (BLUE_USER, git config, …).
            const invocation = yield* Invocation
            const own = identity(invocation.cwd, invocation.env)
            const source = own.value === actor.user ? own.source : "the acting user"
            return yield* new InvalidIdentity({ source, value: actor.user, reason: badActor })
          }
          // Only a realm gets a lock file: a refused command on any other repo must leave it untouched.
          if (command._tag !== "InitRealm") yield* rowFor(dir)
          yield* locks.acquire(lockPath(dir), yield* lockTimeout)
          return yield* appendLocked(dir, command, actor, options)
        })
      ).pipe(
        // Publishing is the append's last step, once the lock is released (the daemon's ingest reads the realm).
        Effect.tap((out) => (out.events.length > 0 ? publish(out.realm) : Effect.void))
      )

    /**
     * Finishes a realm whose `init` committed but was killed before it showed the files or recorded the events:
     * brings every file of the head into the working tree and catches daemon.db up.
     */
    const finishInit = (dir: string) =>
      Effect.scoped(Effect.gen(function*() {
        yield* locks.acquire(lockPath(dir), yield* lockTimeout)
        yield* git.lockForWrite(dir)
        yield* recover(dir)
        const head = (yield* git.head(dir))!
        const files = yield* git.listFiles(dir, head)
        yield* Effect.uninterruptible(git.materialize(dir, files.filter((f) => !fs.existsSync(nodePath.join(dir, f)))))
        const { row } = yield* catchUp(dir)
        const events = (yield* log.read(row.name, 0)).map((r) => r.envelope)
        return {
          realm: row.name,
          commit: head,
          events,
          state: yield* stateOf(row.name),
          files: files.filter((f) => !f.startsWith("events/")).sort()
        } satisfies Appended
      })).pipe(Effect.tap((out) => publish(out.realm)))

    /**
     * Re-indexes this machine's daemon.db for the realm in `dir` from git alone: drops its events, snapshots and
     * checkpoint, then records every event the branch carries (after a reset or force-push of the realm's main).
     */
    const reindex = (dir: string) =>
      Effect.scoped(Effect.gen(function*() {
        if (!fs.existsSync(nodePath.join(dir, ".git"))) {
          return yield* new PathProblem({ path: dir, detail: "is not a realm repository (no .git directory)" })
        }
        const rows = yield* log.realms
        const name = rows.find((r) => r.localPath === dir)?.name ?? (yield* realmNameAt(dir))
        const before = rows.find((r) => r.name === name)
        yield* locks.acquire(lockPath(dir), yield* lockTimeout)
        yield* git.lockForWrite(dir)
        yield* recover(dir)
        yield* Effect.uninterruptible(log.forget(name))
        const { head, row } = yield* catchUp(dir)
        return {
          realm: name,
          head,
          events: row.headPosition,
          previous: before?.headCommit === undefined
            ? undefined
            : { commit: before.headCommit, position: before.headPosition }
        }
      })).pipe(Effect.tap((out) => publish(out.realm)))

    /** Creates `parent/realm-<name>` and its first event. */
    const init = (parent: string, name: string, admission: Admission, actor: Actor) =>
      Effect.gen(function*() {
        yield* validateName("realm", name)
        const dir = nodePath.resolve(parent, `realm-${name}`)
        if (fs.existsSync(dir)) {
          const entries = fs.readdirSync(dir).filter((e) => e !== ".git")
          const head = fs.existsSync(nodePath.join(dir, ".git")) ? yield* git.head(dir) : undefined
          if (head !== undefined && fs.existsSync(nodePath.join(dir, "realm.yaml"))) {
            return yield* new RealmAlreadyInitialized({ realm: name, path: dir })
          }
          // An init killed after its commit: the same realm, half made. Finish it instead of refusing.
          const begun = head === undefined ? undefined : yield* Effect.option(realmNameAt(dir))
          if (begun !== undefined && begun._tag === "Some" && begun.value === name) return yield* finishInit(dir)
          if (entries.length > 0 || head !== undefined) {
            return yield* new PathProblem({
              path: dir,
              detail: "exists and is not empty; choose another --path or --name"
            })
          }
        }
        const rows = yield* log.realms
        const clash = rows.find((r) => r.name === name && r.localPath !== dir && fs.existsSync(r.localPath))
        if (clash !== undefined) {
          return yield* new PathProblem({
            path: dir,
            detail: `this machine already tracks a realm named '${name}' at ${clash.localPath}; pick another --name`
          })
        }
        yield* git.init(dir)
        return yield* execute(dir, { _tag: "InitRealm", name, admission, path: dir }, actor)
      })

    /** The realm in `dir`, caught up and folded. */
    const open = (dir: string) =>
      Effect.gen(function*() {
        if (!fs.existsSync(nodePath.join(dir, ".git"))) {
          return yield* new PathProblem({ path: dir, detail: "is not a realm repository (no .git directory)" })
        }
        const view = yield* readView(dir)
        const state = view.fromGit === undefined
          ? yield* stateOf(view.name)
          : yield* Effect.try({
            try: () => foldEnvelopes(initialState, view.fromGit.map((r) => r.envelope)),
            catch: (e) => corrupt(view.name, e instanceof Error ? e.message : String(e))
          })
        return { name: view.name, dir, head: view.head, state } satisfies OpenRealm
      })

    /** The realm's events for folding (not re-validated; see EventLog.readForFold), after catching up. */
    const foldItems = (dir: string) =>
      Effect.flatMap(
        readView(dir),
        (view): Effect.Effect<ReadonlyArray<FoldItem>, StoreError> =>
          view.fromGit === undefined
            ? log.readForFold(view.name, 0)
            : Effect.succeed(view.fromGit.map(({ envelope: e }) => ({
              id: e.id,
              position: e.position,
              time: e.time,
              actor: e.actor,
              event: e.event
            })))
      )

    /** The recorded events of the realm in `dir`, after catching up. */
    const events = (dir: string, afterPosition = 0) =>
      Effect.flatMap(
        readView(dir),
        (view): Effect.Effect<ReadonlyArray<Recorded>, StoreError> =>
          view.fromGit === undefined
            ? log.read(view.name, afterPosition)
            : Effect.succeed(view.fromGit.filter((r) => r.envelope.position > afterPosition))
      )

    /** Rebuilds every projection from git alone and from daemon.db alone and lists every difference. */
    const verify = (dir: string) =>
      Effect.gen(function*() {
        const differences: Array<string> = []
        const difference = (text: string) => {
          if (!differences.includes(text)) differences.push(text)
        }
        // An event git holds that Blue cannot read is a difference to report, not a reason to stop the audit.
        const view = yield* readView(dir).pipe(
          Effect.catchTag("LogCorrupt", (e) =>
            Effect.gen(function*() {
              difference(e.detail)
              const { name } = yield* rowFor(dir)
              const head = yield* git.head(dir)
              if (head === undefined) return yield* new RealmNotInitialized({ path: dir })
              return { name, head, rewritten: undefined }
            }))
        )
        const row = { name: view.name }
        const head = view.head
        if (view.rewritten !== undefined) difference(view.rewritten.message)
        const commits = yield* git.history(dir, undefined)
        const fromGit: Array<Recorded> = []
        for (const c of commits) {
          const read = yield* Effect.either(eventsOfCommit(dir, row.name, c))
          if (Either.isLeft(read)) {
            if (read.left._tag !== "LogCorrupt") return yield* Effect.fail(read.left)
            difference(read.left.detail)
            continue
          }
          for (const envelope of read.right) fromGit.push({ envelope, commit: c.oid })
        }
        const fromDb = yield* log.read(row.name, 0)
        const fold = (label: string, list: ReadonlyArray<Recorded>) => {
          try {
            return foldEnvelopes(initialState, list.map((r) => r.envelope))
          } catch (e) {
            differences.push(`${label}: ${e instanceof Error ? e.message : String(e)}`)
            return undefined
          }
        }
        const gitState = fold("git", fromGit)
        const dbState = fold("daemon.db", fromDb)
        if (fromGit.length !== fromDb.length) {
          differences.push(`git carries ${plural(fromGit.length, "event")}, daemon.db ${fromDb.length}`)
        }
        const n = Math.min(fromGit.length, fromDb.length)
        for (let i = 0; i < n; i++) {
          const g = fromGit[i]!
          const d = fromDb[i]!
          if (g.envelope.id !== d.envelope.id) {
            differences.push(`position ${i + 1}: git has event ${g.envelope.id}, daemon.db ${d.envelope.id}`)
          } else if (envelopeToJson(g.envelope) !== envelopeToJson(d.envelope)) {
            differences.push(`event ${g.envelope.id}: content differs between git and daemon.db`)
          } else if (g.commit !== d.commit) {
            differences.push(
              `event ${g.envelope.id}: git commit ${g.commit.slice(0, 8)}, daemon.db says ${d.commit.slice(0, 8)}`
            )
          }
        }
        if (gitState !== undefined && dbState !== undefined && JSON.stringify(gitState) !== JSON.stringify(dbState)) {
          differences.push("the projection folded from git differs from the one folded from daemon.db")
        }
        const snap = yield* log.snapshot(row.name)
        if (snap !== undefined && dbState !== undefined) {
          const upTo = fold("snapshot", fromDb.filter((r) => r.envelope.position <= snap.position))
          if (upTo !== undefined && JSON.stringify(upTo) !== JSON.stringify(snap.state)) {
            differences.push(`the daemon.db snapshot at position ${snap.position} differs from the fold of its events`)
          }
        }
        if (gitState !== undefined) {
          const expected = renderAll(gitState)
          const files = yield* git.listFiles(dir, head)
          const referenced = new Set(fromGit.map((r) => eventFilePath(r.envelope)))
          for (const f of files) {
            const schema = schemaForRealmPath(f)
            if (schema !== undefined) {
              const text = yield* git.readFile(dir, head, f)
              const parsed = decodeYaml(schema, text ?? "", f)
              if (Either.isLeft(parsed)) differences.push(parsed.left.message)
            }
            if (f.startsWith("events/") && !referenced.has(f)) differences.push(`${f}: event file no commit names`)
            if (isManagedPath(f) && !expected.has(f)) differences.push(`${f}: in the realm but not in the projection`)
          }
          for (const [path, content] of expected) {
            const actual = yield* git.readFile(dir, head, path)
            if (actual === undefined) differences.push(`${path}: missing from the realm at ${head.slice(0, 8)}`)
            else if (actual !== content) differences.push(`${path}: differs from the projection (edited by hand?)`)
          }
        }
        return { realm: row.name, events: fromGit.length, commits: commits.length, differences } satisfies Verification
      })

    /**
     * The realm's commits after `since` (a commit id or a unique prefix; all history when omitted) with their
     * author, changed paths and events, plus the state before the first of them — for auditing permissions.
     */
    const auditTrail = (dir: string, since?: string) =>
      Effect.gen(function*() {
        const row = { name: (yield* readView(dir)).name }
        const all = yield* git.history(dir, undefined)
        let start = 0
        if (since !== undefined) {
          const hits = all.filter((c) => c.oid.startsWith(since))
          if (hits.length !== 1) {
            return yield* new PathProblem({
              path: since,
              detail: hits.length === 0 ? "is not a commit on the realm branch" : "is an ambiguous commit prefix"
            })
          }
          start = all.indexOf(hits[0]!) + 1
        }
        let before: RealmState = initialState
        const commits = []
        for (let i = 0; i < all.length; i++) {
          const c = all[i]!
          const events = (yield* eventsOfCommit(dir, row.name, c)).map((envelope) => ({ envelope, commit: c.oid }))
          if (i < start) {
            before = foldEnvelopes(before, events.map((e) => e.envelope))
            continue
          }
          commits.push({
            oid: c.oid,
            message: c.message,
            author: yield* git.authorOf(dir, c.oid),
            changed: yield* git.changedFiles(dir, c.oid),
            events
          })
        }
        return { before, commits }
      })

    /**
     * Records this machine's session changes on the realm branch `blue/sessions/<machine>`: one commit with the
     * new event files and the machine's current sessions, so that other machines see who works where once they
     * have the realm. Runs under the realm's lock like every other write; the realm's own branch is untouched.
     */
    const publishSessions = (
      dir: string,
      machine: string,
      snapshot: unknown,
      events: ReadonlyArray<{ readonly id: string; readonly time: string; readonly payload: unknown }>
    ) =>
      Effect.scoped(Effect.gen(function*() {
        yield* locks.acquire(lockPath(dir), yield* lockTimeout)
        const branch = `blue/sessions/${machine}`
        const parent = yield* git.head(dir, branch)
        const writes = new Map<string, string | undefined>([
          [`sessions/${machine}.yaml`, YAML.stringify(snapshot)]
        ])
        for (const e of events) {
          writes.set(
            `sessions/${machine}/${e.time.slice(0, 10)}/${e.id}.json`,
            JSON.stringify(e.payload, null, 2) + "\n"
          )
        }
        const { ms } = yield* metaNow({ user: machine })
        const commit = yield* git.writeCommit(dir, {
          parent,
          writes,
          message: `${machine}: ${plural(events.length, "session change")}`,
          author: { name: machine, email: `${machine}@blue.sessions` },
          time: ms
        })
        yield* git.advance(dir, parent, commit, branch)
        return commit
      }))

    /** The sessions other machines published on `blue/sessions/*` branches of the realm. */
    const machineSessions = (dir: string) =>
      Effect.gen(function*() {
        const out: Array<{ machine: string; commit: string; snapshot: unknown }> = []
        for (const b of yield* git.branches(dir, "blue/sessions/")) {
          const machine = b.name.slice("blue/sessions/".length)
          const text = yield* git.readFile(dir, b.oid, `sessions/${machine}.yaml`)
          if (text !== undefined) out.push({ machine, commit: b.oid, snapshot: YAML.parse(text) as unknown })
        }
        return out
      })

    return {
      init,
      reindex,
      execute,
      open,
      events,
      foldItems,
      verify,
      catchUp,
      stateOf,
      auditTrail,
      publishSessions,
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
