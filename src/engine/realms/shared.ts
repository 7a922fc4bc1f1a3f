/**
 * What the realm engine's modules share: the engine's result and error types, the ports they run on, the realm
 * repo's file names and the format of the commit messages Blue writes.
 */
import { Clock, Effect } from "effect"
import type { Context } from "effect"
import * as nodePath from "node:path"
import type {
  ConcurrentUpdate,
  GitError,
  GitLockHeld,
  HistoryRewritten,
  LockTimeout,
  LogCorrupt,
  PathProblem,
  StoreError
} from "../../adapters/errors.js"
import type { EventLog } from "../../adapters/eventLog.js"
import { DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutIn } from "../../adapters/home.js"
import type { RealmLock } from "../../adapters/lock.js"
import type { RealmGit } from "../../adapters/realmGit.js"
import type {
  NotARealm,
  RemoteError,
  RemoteGit,
  RemoteMoved,
  RemoteNotEmpty,
  RemoteWriteFailed
} from "../../adapters/remoteGit.js"
import { clockOverride } from "../../domain/clockOverride.js"
import type { Actor } from "../../domain/commands.js"
import type { DomainError, InvalidIdentity, UncommittedChanges } from "../../domain/errors.js"
import type { RealmState } from "../../domain/state.js"
import type { Envelope } from "../../events/envelope.js"
import type { Ids } from "../ids.js"
import { Invocation } from "../invocation.js"

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
  | RemoteError
  | RemoteMoved
  | RemoteNotEmpty
  | RemoteWriteFailed
  | NotARealm

/** What a successful command wrote. */
export interface Appended {
  readonly realm: string
  readonly commit: string
  readonly events: ReadonlyArray<Envelope>
  readonly state: RealmState
  readonly files: ReadonlyArray<string>
  /** for a remote realm: the pushes the command took part in (1 unless it lost a race to another machine) */
  readonly attempts?: number
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

/** The ports the engine runs on. */
export interface Ports {
  readonly git: Context.Tag.Service<RealmGit>
  readonly log: Context.Tag.Service<EventLog>
  readonly locks: Context.Tag.Service<RealmLock>
  readonly ids: Context.Tag.Service<Ids>
  /** the realm's git server, for remote realms (absent in tests that run local realms only) */
  readonly remote?: Context.Tag.Service<RemoteGit> | undefined
}

/** The trailer that names an event file in a realm commit's message. */
export const TRAILER = "Blue-Event: "
const LOCK_FILE = "blue-write.lock"
const INTENT_FILE = "blue-materialize.json"

/** The realm's cross-process write lock. */
export const lockPath = (dir: string) => nodePath.join(dir, ".git", LOCK_FILE)
/** The intent file that makes the working-tree update of a committed write resumable. */
export const intentPath = (dir: string) => nodePath.join(dir, ".git", INTENT_FILE)

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
export const oneLine = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").replace(/[<>]/g, "")

/** The time proposals are judged at (the merge rule's `now`): BLUE_NOW when set, else the wall clock. */
export const proposalNow = (env: Readonly<Record<string, string | undefined>>): number =>
  clockOverride(env, Date.now()) ?? Date.now()

/** The time of a write, from the Clock service (or BLUE_NOW), with its actor. */
export const metaNow = (actor: Actor) =>
  Effect.gen(function*() {
    const real = yield* Clock.currentTimeMillis
    const invocation = yield* Effect.serviceOption(Invocation)
    const env = invocation._tag === "Some" ? invocation.value.env : process.env
    const ms = clockOverride(env, real) ?? clockOverride(process.env, real) ?? real
    return { ms, time: new Date(ms).toISOString(), actor }
  })

/** How long this invocation waits for a realm's write lock (its BLUE_LOCK_TIMEOUT_MS). */
export const lockTimeout = Effect.map(
  Invocation,
  (i) => lockTimeoutIn(i.env) ?? DEFAULT_LOCK_TIMEOUT_MS
)
