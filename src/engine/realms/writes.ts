/**
 * The write path (SPEC §2.1): under the realm's lock, recover an interrupted write → catch up → decide → refuse to
 * overwrite hand edits → one commit → compare-and-swap the branch → record in daemon.db → update the working tree;
 * plus `init`, finishing a half-made `init`, and `reindex`. A process's writes to one realm take turns in its write
 * queue; a remote realm's commands queued behind a write in flight (or retrying after a lost race) are folded into
 * the next attempt: decided in turn, one commit, one push (SPEC §2.1, "Measured facts"; docs/remote.md).
 */
import { Deferred, Effect, Either, Exit, FiberId, Option } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { repoTmpDir, sweepTmp, writeFileAtomicSync } from "../../adapters/atomicFs.js"
import { PathProblem } from "../../adapters/errors.js"
import type { RealmRow } from "../../adapters/eventLog.js"
import { identity } from "../../adapters/identity.js"
import { publish } from "../../adapters/published.js"
import { RemoteNotEmpty, RemoteWriteFailed } from "../../adapters/remoteGit.js"
import type { Actor, Command } from "../../domain/commands.js"
import { decide, validateName } from "../../domain/decide.js"
import {
  InvalidIdentity,
  RealmAlreadyInitialized,
  RealmNotInitialized,
  UncommittedChanges
} from "../../domain/errors.js"
import type { RealmEvent } from "../../domain/events.js"
import type { Admission } from "../../domain/files.js"
import { identityProblem } from "../../domain/nameRules.js"
import { initialState, type RealmState } from "../../domain/state.js"
import { plural } from "../../domain/text.js"
import { envelopeToJson } from "../../events/codec.js"
import { type Envelope, eventFilePath, schemaVersions } from "../../events/envelope.js"
import { foldEnvelopes } from "../../projections/fold.js"
import { renderPath, touchedPaths } from "../../projections/realmFiles.js"
import { Invocation } from "../invocation.js"
import type { History } from "./history.js"
import { type BranchMove, planBranches } from "./proposalBranches.js"
import { backoffMs, isStale, MAX_PUSH_ATTEMPTS, type RemoteSync, syncInterval } from "./remote.js"
import {
  type Appended,
  intentPath,
  lockPath,
  metaNow,
  oneLine,
  type Ports,
  type RealmError,
  TRAILER
} from "./shared.js"
import { lockTimeout } from "./shared.js"

const summarize = (command: Command, events: ReadonlyArray<RealmEvent>, actor: Actor): string => {
  switch (command._tag) {
    case "InitRealm":
      return `Initialize realm ${command.name}`
    case "JoinRealm": {
      const request = events.find((e) => e._tag === "JoinRequested")
      return request?._tag === "JoinRequested"
        ? `${command.repo} asks to join the realm (${request.id})`
        : `${command.repo} joins the realm`
    }
    case "CreateDomain": {
      const [provider, ...consumers] = command.repos
      return `Create domain ${command.domain} (${provider} → ${consumers.join(", ")})`
    }
    case "LeaveRealm":
      return `${command.repo} leaves the realm${command.force ? " (forced)" : ""}`
    case "PublishContract": {
      const proposed = events.find((e) => e._tag === "ProposalOpened" || e._tag === "ProposalAmended")
      if (proposed !== undefined) return proposalSummary(proposed, actor)
      const bump = events.find((e) => e._tag === "ContractBumped")
      return bump?._tag === "ContractBumped"
        ? `${actor.repo ?? actor.user}: ${command.contract} ${bump.from} → ${bump.contract.version} (${bump.bump})`
        : `${actor.repo ?? actor.user}: publish ${command.contract}`
    }
    case "DeclareImport":
      return `${actor.repo ?? actor.user} imports ${command.contract} ${command.version}`
    case "AcknowledgeNotifications":
      return `${actor.repo ?? actor.user} acknowledges ${plural(events.length, "notification")}`
    case "AcknowledgeProposal":
    case "ApproveProposal":
    case "RejectProposal":
    case "WithdrawProposal":
    case "MergeProposal": {
      const landed = events.find((e) => e._tag === "ContractBumped")
      if (command._tag === "MergeProposal" && landed?._tag === "ContractBumped") {
        return `Merge proposal ${command.id}: ${landed.contract.name} ${landed.from} → ${landed.contract.version}`
      }
      if (events[0] !== undefined) return proposalSummary(events[0], actor)
      break
    }
    case "ChangeGovernance":
      return `${actor.user} changes the governance of ${command.domain === undefined ? "the realm" : command.domain}`
    case "InviteRepo":
      return `${actor.user} invites ${command.repo}`
    case "ReviewJoin":
      return `${actor.user} ${command.verdict === "approve" ? "approves" : "rejects"} ${command.id}`
    case "RecordWorktree":
      return `${actor.repo ?? actor.user}: coordinated change ${command.name} (${
        command.repos.map((r) => r.name).join(", ")
      })`
    case "RecordWorktreeCommit":
      return `${actor.repo ?? actor.user}: linked commit in ${command.name}: ${command.message.split("\n")[0]}`
    case "RecordWorktreePush":
      return `${actor.repo ?? actor.user}: pushed ${command.name} (${Object.keys(command.pushed).join(", ")})`
    case "RecordWorktreePulls":
      return `${actor.repo ?? actor.user}: pull requests of ${command.name} (${
        Object.entries(command.pulls).map(([r, p]) => `${r}#${p.number} ${p.state}`).join(", ")
      })`
    case "RemoveWorktree":
      return `${actor.repo ?? actor.user}: removed the worktrees of ${command.name}`
  }
  return `${plural(events.length, "event")} by ${actor.repo ?? actor.user}`
}

/** The first line of a proposal command's commit (the proposal's own branch commit says the change). */
const proposalSummary = (event: RealmEvent, actor: Actor): string => {
  const who = actor.repo ?? actor.user
  switch (event._tag) {
    case "ProposalOpened":
      return `${who}: propose ${event.contract} ${event.from} → ${event.to} (${event.bump}) on ${event.branch}`
    case "ProposalAmended":
      return `${who}: amend proposal ${event.id}: ${event.from} → ${event.to} (${event.bump})`
    case "ProposalAcknowledged":
      return `${event.repo} acknowledges proposal ${event.id} (${event.version})`
    case "ProposalApproved":
      return `${event.by} approves proposal ${event.id}`
    case "ProposalRejected":
      return `${event.by} rejects proposal ${event.id}`
    case "ProposalWithdrawn":
      return `${who} withdraws proposal ${event.id}`
    case "ProposalMerged":
      return `Merge proposal ${event.id}`
  }
  return `${event._tag} by ${who}`
}

/** Errors of a command refused by the realm's state (not of IO): worth deciding again on a fresher state. */
const isRefusal = (tag: string) =>
  !/^(Remote|Git|Store|Lock|Path|LogCorrupt|HistoryRewritten|ConcurrentUpdate|CredentialsFileProblem|NotARealm|InvalidIdentity|UncommittedChanges)/
    .test(tag)

const short = (oid: string | undefined) => (oid === undefined ? "nothing" : oid.slice(0, 7))

/**
 * A refusal decided again after another machine changed the realm first: the same error (tag and fields, so --json
 * and the exit code stay the same, plus `lostRace`), its one sentence saying that a race happened and what changed.
 */
const refusedAfterRace = <E extends { readonly _tag: string }>(
  error: E,
  race: { readonly from: string | undefined; readonly to: string | undefined },
  realm: string
): E => {
  const reason = String((error as { message?: unknown }).message ?? error._tag).replace(/\.$/, "")
  const copy = Object.assign(Object.create(Object.getPrototypeOf(error)), error, {
    lostRace: { from: race.from ?? null, to: race.to ?? null }
  })
  Object.defineProperty(copy, "message", {
    value: `Realm '${realm}': another machine changed the realm first (the head moved from ${short(race.from)} to ${
      short(race.to)
    }) and the command is now refused: ${reason}.`,
    enumerable: false
  })
  return copy
}

/** One command waiting for its turn to write, or part of the batch being written. */
interface Job {
  readonly command: Command
  readonly actor: Actor
  readonly options: { readonly correlationId?: string; readonly remoteUrl?: string | undefined }
  /** completed with the command's own result or error */
  readonly done: Deferred.Deferred<Appended, RealmError>
  /** the pushes it took part in */
  attempts: number
  /** how the server's head moved under it (a lost race, or a refusal decided on a stale clone) */
  race: { readonly from: string | undefined; readonly to: string | undefined } | undefined
  /** taken into a batch: its turn has nothing left to do */
  taken: boolean
}

const sameActor = (a: Actor, b: Actor) => a.user === b.user && a.repo === b.repo

/** The engine's writes. */
export const makeWrites = (
  { git, ids, locks, log }: Ports,
  { catchUp, realmNameAt, remember, rowFor, stateOf }: History,
  remoteSync: RemoteSync
) => {
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

  /**
   * Decides a batch of commands under the realm lock at the branch head, each against the state the previous ones
   * left, and writes what they decided: one commit per run of commands by the same actor (so a commit's
   * `Blue-Actor` and author stay one actor's, as `check --mode realm` judges them), chained on the head, pushed
   * with compare-and-swap when the realm is remote, then recorded. A command the state refuses gets its refusal;
   * the others still land. With `finalRefusals` false, a refusal writes nothing and answers "Stale" (the caller
   * fetches and decides again). `landed` receives each command's outcome once the write is whole.
   */
  const appendBatchLocked = (
    dir: string,
    jobs: ReadonlyArray<Job>,
    options: {
      readonly remoteUrl: string | undefined
      readonly finalRefusals: boolean
      readonly landed: Map<Job, Either.Either<Appended, RealmError>>
    }
  ) =>
    Effect.gen(function*() {
      // git's own locks first: a git process mid-commit must finish before we read, decide or write anything.
      yield* git.lockForWrite(dir)
      yield* recover(dir)
      const head0 = yield* git.head(dir)
      let realmName: string
      let state: RealmState
      // A remote realm's write lands on the server first (compare-and-swap against head0), then here.
      let url = options.remoteUrl
      const first = jobs[0]!
      if (head0 === undefined) {
        if (first.command._tag !== "InitRealm") return yield* new RealmNotInitialized({ path: dir })
        realmName = first.command.name
        state = initialState
      } else {
        const { row } = yield* catchUp(dir)
        realmName = row.name
        url = row.url ?? url
        state = yield* stateOf(row.name)
      }
      const { ms, time } = yield* metaNow(first.actor)
      const outcomes = new Map<Job, Either.Either<Appended, RealmError>>()
      const decided: Array<
        { job: Job; envelopes: Array<Envelope>; touched: Set<string>; before: RealmState; after: RealmState }
      > = []
      let next = state
      for (const job of jobs) {
        const events = decide(job.command, next, { time, actor: job.actor })
        if (Either.isLeft(events)) {
          if (!options.finalRefusals && isRefusal(events.left._tag)) return { _tag: "Stale" } as const
          outcomes.set(job, Either.left(events.left))
          continue
        }
        if (events.right.length === 0) {
          outcomes.set(job, Either.right({ realm: realmName, commit: head0 ?? "", events: [], state: next, files: [] }))
          continue
        }
        const before = next
        const commandId = yield* ids.next(ms)
        const envelopes: Array<Envelope> = []
        const touched = new Set<string>()
        for (const event of events.right) {
          const envelope: Envelope = {
            id: yield* ids.next(ms),
            realm: realmName,
            position: next.position + 1,
            type: event._tag,
            schemaVersion: schemaVersions[event._tag],
            time,
            actor: job.actor,
            causationId: commandId,
            correlationId: job.options.correlationId ?? commandId,
            event
          }
          for (const p of touchedPaths(next, event)) touched.add(p)
          next = foldEnvelopes(next, [envelope])
          envelopes.push(envelope)
        }
        decided.push({ job, envelopes, touched, before, after: next })
      }
      if (decided.length === 0) {
        options.landed.clear()
        for (const [job, outcome] of outcomes) options.landed.set(job, outcome)
        return { _tag: "Written" } as const
      }
      // Runs of commands by one actor, in order: one commit each.
      const groups: Array<Array<(typeof decided)[number]>> = []
      for (const d of decided) {
        const last = groups.at(-1)
        if (last !== undefined && sameActor(last[0]!.job.actor, d.job.actor)) last.push(d)
        else groups.push([d])
      }
      const all = new Map<string, string | undefined>()
      const commits = groups.map((group) => {
        const end = group.at(-1)!.after
        const actor = group[0]!.job.actor
        const writes = new Map<string, string | undefined>()
        for (const d of group) for (const p of d.touched) writes.set(p, renderPath(end, p))
        for (const d of group) for (const e of d.envelopes) writes.set(eventFilePath(e), envelopeToJson(e))
        for (const [p, content] of writes) all.set(p, content)
        const summaries = group.map((d) => oneLine(summarize(d.job.command, d.envelopes.map((e) => e.event), actor)))
        const message = [
          // Folded commands: a subject naming how many, then one line per command.
          ...(summaries.length === 1
            ? summaries
            : [oneLine(`${plural(summaries.length, "command")} by ${actor.repo ?? actor.user}`), "", ...summaries]),
          "",
          `Blue-Realm: ${oneLine(realmName)}`,
          `Blue-Actor: ${oneLine(actor.repo === undefined ? actor.user : `${actor.repo} (${actor.user})`)}`,
          ...group.flatMap((d) => d.envelopes.map((e) => `${TRAILER}${eventFilePath(e)}`))
        ].join("\n")
        const before = group[0]!.before
        const events = group.flatMap((d) => d.envelopes.map((e) => e.event))
        return { group, writes, message, actor, before, events }
      })
      yield* refuseHandEdits(dir, realmName, head0, all)
      // From the first commit on, an interrupt (Ctrl-C, SIGTERM) waits for the write to be whole.
      const written = yield* Effect.uninterruptible(Effect.gen(function*() {
        const oids: Array<string> = []
        // Proposal branches a commit moves (first expected head, last commit: each later commit descends from it).
        const moves = new Map<string, BranchMove>()
        let parent = head0
        for (const c of commits) {
          const author = { name: oneLine(c.actor.repo ?? c.actor.user), email: oneLine(c.actor.user) }
          // Proposal branches: their commits (objects only) and the branch heads a merge names as parents.
          const branches = yield* planBranches(git, dir, parent, c.before, c.events, { author, time: ms })
          for (const m of branches.moves) {
            const earlier = moves.get(m.branch)
            moves.set(m.branch, earlier === undefined ? m : { ...m, expected: earlier.expected })
          }
          parent = yield* git.writeCommit(dir, {
            parent,
            ...(branches.mergeParents.length === 0 ? {} : { mergeParents: branches.mergeParents }),
            writes: c.writes,
            message: c.message,
            author,
            time: ms
          })
          oids.push(parent)
        }
        const tip = parent!
        // A proposal branch goes to the server before the event on main that refers to it (SPEC §2.1).
        if (url !== undefined) {
          for (const m of moves.values()) {
            yield* remoteSync.pushBranch(dir, realmName, url, m.branch, m.expected, m.commit)
          }
          yield* remoteSync.pushCommit(dir, realmName, url, head0, tip)
        }
        for (const m of moves.values()) {
          yield* git.advance(dir, yield* git.head(dir, m.branch), m.commit, m.branch)
        }
        yield* Effect.sync(() =>
          writeFileAtomicSync(intentPath(dir), JSON.stringify({ commit: tip, paths: [...all.keys()] }), {
            tmpDir: repoTmpDir(dir)
          })
        )
        yield* git.advance(dir, head0, tip)
        if (head0 === undefined) yield* log.register(realmName, dir, url)
        yield* log.append(
          realmName,
          commits.flatMap((c, i) =>
            c.group.flatMap((d) => d.envelopes.map((envelope) => ({ envelope, commit: oids[i]! })))
          ),
          { commit: tip, position: next.position }
        )
        yield* git.materialize(dir, all)
        yield* Effect.sync(() => fs.rmSync(intentPath(dir), { force: true }))
        commits.forEach((c, i) => {
          for (const d of c.group) {
            outcomes.set(
              d.job,
              Either.right({
                realm: realmName,
                commit: oids[i]!,
                events: d.envelopes,
                state: d.after,
                files: [...d.touched].sort()
              })
            )
          }
        })
        options.landed.clear()
        for (const [job, outcome] of outcomes) options.landed.set(job, outcome)
        return tip
      }))
      remember(realmName, next, decided.at(-1)!.envelopes.at(-1)!.id)
      // Still under the lock, once the write is whole: keep .git packed. A failure here loses nothing and is not the
      // command's (nor is it reported on stdout, which is the MCP server's protocol); the next write tries again.
      yield* Effect.ignore(git.maintain(dir))
      return { _tag: "Written", tip: written } as const
    })

  /**
   * The commands waiting to write to each realm (by directory) in this process, and the turn that orders them: the
   * daemon's writes take turns here rather than polling the realm's file lock, and for a remote realm a command that
   * arrives while another write is in flight (or retrying after a lost race) waits here, to be folded into the next
   * attempt with every other queued command.
   */
  const queues = new Map<string, { readonly turn: Effect.Semaphore; readonly pending: Array<Job> }>()
  const queueOf = (dir: string) => {
    let q = queues.get(dir)
    if (q === undefined) queues.set(dir, q = { turn: Effect.unsafeMakeSemaphore(1), pending: [] })
    return q
  }

  /**
   * Runs a batch of commands (taken from the queue) to the end: every job's `done` is completed, with its result or
   * its own error. If the running fiber is interrupted before the write is whole, the other callers' commands go
   * back to the front of the queue (nothing of them was written) and the next turn runs them.
   */
  const runBatch = (
    dir: string,
    row: RealmRow | undefined,
    url: string | undefined,
    own: Job,
    taken: Array<Job>,
    pending: Array<Job>
  ) => {
    let jobs = taken
    const landed = new Map<Job, Either.Either<Appended, RealmError>>()
    const realm = row?.name ?? (own.command._tag === "InitRealm" ? own.command.name : "?")
    const settle = (job: Job, outcome: Either.Either<Appended, RealmError>) =>
      Deferred.unsafeDone(
        job.done,
        Either.isRight(outcome)
          ? Exit.succeed(url === undefined ? outcome.right : { ...outcome.right, attempts: job.attempts })
          : Exit.fail(
            job.race !== undefined && isRefusal(outcome.left._tag)
              ? refusedAfterRace(outcome.left, job.race, realm)
              : outcome.left
          )
      )
    const settleLanded = () => {
      for (const job of jobs) settle(job, landed.get(job)!)
      jobs = []
    }
    const failAll = (e: RealmError) => {
      for (const job of jobs) settle(job, Either.left(e))
      jobs = []
    }
    const body = Effect.scoped(Effect.gen(function*() {
      yield* locks.acquire(lockPath(dir), yield* lockTimeout)
      if (url === undefined) {
        const out = yield* Effect.either(
          Effect.scoped(appendBatchLocked(dir, jobs, { remoteUrl: undefined, finalRefusals: true, landed }))
        )
        return Either.isRight(out) ? settleLanded() : failAll(out.left)
      }
      // A remote realm: catch up with the server when the clone is stale, then decide at the clone's head and push
      // with compare-and-swap; a lost race fetches, re-decides every command against the new state, takes in the
      // commands queued meanwhile, and retries with backoff.
      const pull = Effect.scoped(
        Effect.zipRight(git.lockForWrite(dir), remoteSync.pullLocked(dir, row?.name ?? "?", url))
      )
      let pulled = false
      if (row !== undefined && isStale(dir, yield* syncInterval)) {
        yield* pull
        pulled = true
      }
      // After a lost race (or a refusal decided on a stale clone): fetch, and remember how the head moved, so that a
      // command the new state refuses says a race happened.
      const pullAfterLoss = Effect.gen(function*() {
        const before = yield* git.head(dir)
        const pulledNow = yield* pull
        if (pulledNow.moved) {
          const to = yield* git.head(dir)
          // The queued commands too: they were asked for against the head before it moved.
          for (const job of [...jobs, ...pending]) job.race = { from: job.race?.from ?? before, to }
        }
        return pulledNow
      })
      const takeQueued = () => {
        for (const job of pending.splice(0)) {
          job.taken = true
          jobs.push(job)
        }
      }
      while (jobs.length > 0) {
        for (const job of jobs) job.attempts++
        const out = yield* Effect.either(
          Effect.scoped(
            appendBatchLocked(dir, jobs, { remoteUrl: url, finalRefusals: row === undefined || pulled, landed })
          )
        )
        if (Either.isRight(out)) {
          if (out.right._tag === "Written") return settleLanded()
          // A refusal counts only against the server's latest state: decided on a clone that had not just fetched,
          // fetch and decide once more (nothing was pushed: not an attempt).
          for (const job of jobs) job.attempts--
          pulled = true
          yield* pullAfterLoss
          takeQueued()
          continue
        }
        if (out.left._tag !== "RemoteMoved" || row === undefined) return failAll(out.left)
        pulled = true
        const spent = jobs.filter((job) => job.attempts >= MAX_PUSH_ATTEMPTS)
        jobs = jobs.filter((job) => job.attempts < MAX_PUSH_ATTEMPTS)
        for (const job of spent) {
          settle(
            job,
            Either.left(
              new RemoteWriteFailed({
                url: out.left.url,
                realm,
                detail:
                  `other machines kept changing it first (${job.attempts} attempts); nothing was changed here, run the command again`
              })
            )
          )
        }
        if (jobs.length === 0) return
        yield* Effect.sleep(backoffMs(Math.max(...jobs.map((job) => job.attempts))))
        yield* pullAfterLoss
        takeQueued()
      }
    }))
    return body.pipe(
      Effect.catchAll((e) => Effect.sync(() => failAll(e))),
      Effect.onExit((exit) =>
        Effect.sync(() => {
          if (Exit.isSuccess(exit)) return
          for (const job of jobs) {
            const outcome = landed.get(job)
            if (outcome !== undefined) settle(job, outcome)
            else if (!Exit.isInterrupted(exit)) Deferred.unsafeDone(job.done, exit as Exit.Exit<never, never>)
            else if (job === own) Deferred.unsafeDone(job.done, Exit.interrupt(FiberId.none))
            else {
              // Nothing of it was written: back to the front of the queue, for the next turn.
              job.taken = false
              pending.unshift(job)
            }
          }
          jobs = []
        })
      )
    )
  }

  /** Decides and appends one command to the realm in `dir`. */
  const execute = (
    dir: string,
    command: Command,
    actor: Actor,
    options?: { readonly correlationId?: string; readonly remoteUrl?: string }
  ) =>
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
      const row = command._tag !== "InitRealm" ? yield* rowFor(dir) : undefined
      const url = row?.url ?? options?.remoteUrl
      const job: Job = {
        command,
        actor,
        options: options ?? {},
        done: yield* Deferred.make<Appended, RealmError>(),
        attempts: 0,
        race: undefined,
        taken: false
      }
      const q = queueOf(dir)
      // Only a remote realm's commands are folded: a local realm keeps one command per commit, in turn.
      if (url !== undefined) q.pending.push(job)
      yield* q.turn.withPermits(1)(Effect.suspend(() => {
        if (job.taken) return Effect.void
        const taken = url === undefined ? [job] : q.pending.splice(0)
        for (const j of taken) j.taken = true
        return runBatch(dir, row, url, job, taken, q.pending)
      })).pipe(
        // Gave up waiting (Ctrl-C): a command not taken into a batch yet leaves the queue.
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            const i = q.pending.indexOf(job)
            if (i >= 0 && !job.taken) q.pending.splice(i, 1)
          })
        )
      )
      return yield* Deferred.await(job.done)
    }).pipe(
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

  /**
   * Publishes a new realm to the empty repo at `url`, keeping its managed clone in `dir` (BLUE_HOME/realms/<name>).
   * Nothing is written, here or there, unless the server is reachable, accepts the credentials and is empty.
   */
  const initRemote = (dir: string, name: string, admission: Admission, actor: Actor, url: string) =>
    Effect.gen(function*() {
      yield* validateName("realm", name)
      const remote = yield* remoteSync.remoteOf(name, url)
      const rows = yield* log.realms
      const clash = rows.find((r) => (r.name === name || r.localPath === dir) && fs.existsSync(r.localPath))
      if (clash !== undefined) {
        return yield* new PathProblem({
          path: dir,
          detail: `this machine already tracks a realm named '${clash.name}' at ${clash.localPath}; pick another --name`
        })
      }
      yield* remote.ensureEmpty(url)
      // BLUE_HOME/realms is Blue's own: a directory no realm row names, for a server still empty, is what an
      // interrupted `init --remote` left (nothing of it was published). Start it again.
      if (fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
      return yield* Effect.gen(function*() {
        yield* git.init(dir)
        yield* remote.setRemote(dir, url)
        return yield* execute(dir, { _tag: "InitRealm", name, admission, path: dir }, actor, { remoteUrl: url })
      }).pipe(
        // Another machine published first: the repo is no longer empty.
        Effect.catchTag("RemoteMoved", (e) => Effect.fail(new RemoteNotEmpty({ url: e.url, refs: 1 }))),
        Effect.tapError(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 })))
      )
    })

  /**
   * Brings the realm at `url` onto this machine: its managed clone under `realmsDir` (kept when this machine already
   * has one), registered with its URL and caught up into daemon.db. Returns the clone's directory and the realm's name.
   */
  const cloneRemote = (url: string, realmsDir: string) =>
    Effect.gen(function*() {
      const rows = yield* log.realms
      const known = rows.find((r) => r.url === url && fs.existsSync(nodePath.join(r.localPath, ".git")))
      const remote = yield* remoteSync.remoteOf(known?.name ?? "?", url)
      if (known !== undefined) return { dir: known.localPath, name: known.name, cloned: false }
      const base = (url.replace(/\/+$/, "").split("/").pop() ?? "realm").replace(/\.git$/, "").replace(
        /^realm-/,
        ""
      ).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "realm"
      let dir = nodePath.join(realmsDir, base)
      const cloned = yield* remote.clone(url, dir)
      const name = yield* realmNameAt(cloned.dir)
      const other = rows.find((r) => r.name === name && fs.existsSync(nodePath.join(r.localPath, ".git")))
      if (other !== undefined) {
        if (!cloned.reused) fs.rmSync(cloned.dir, { recursive: true, force: true, maxRetries: 3 })
        return yield* new PathProblem({
          path: other.localPath,
          detail: `this machine already tracks a realm named '${name}' there (url ${
            other.url ?? "none"
          }); one BLUE_HOME tracks one realm per name`
        })
      }
      if (name !== base) {
        const target = nodePath.join(realmsDir, name)
        if (!fs.existsSync(target)) {
          fs.renameSync(cloned.dir, target)
          dir = target
        } else if (!rows.some((r) => r.localPath === target)) {
          // A join killed after it renamed its clone and before it registered it left `target`: a complete clone of
          // this URL that nothing uses. Take it, and drop the one just made, so the re-run leaves no stray clone.
          const orphan = yield* Effect.either(remote.clone(url, target))
          if (orphan._tag === "Right" && orphan.right.reused) {
            if (!cloned.reused) fs.rmSync(cloned.dir, { recursive: true, force: true, maxRetries: 3 })
            dir = target
          }
        }
      }
      yield* log.register(name, dir, url)
      yield* remoteSync.markSynced(dir)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* locks.acquire(lockPath(dir), yield* lockTimeout)
        yield* catchUp(dir)
      }))
      return { dir, name, cloned: !cloned.reused }
    })

  /** Fetches a remote realm and catches daemon.db up, under the realm's lock (the daemon's poll, a stale read). */
  const syncRemote = (dir: string, name: string, url: string) =>
    Effect.scoped(Effect.gen(function*() {
      yield* locks.acquire(lockPath(dir), yield* lockTimeout)
      yield* git.lockForWrite(dir)
      yield* recover(dir)
      const out = yield* remoteSync.pullLocked(dir, name, url)
      yield* catchUp(dir)
      return out
    })).pipe(
      // Not while this process writes to the realm: its push lands on the server's latest or fetches it (a lost
      // race), so a fetch now would only hold up the commands queued behind it.
      queueOf(dir).turn.withPermitsIfAvailable(1),
      Effect.map(Option.getOrElse(() => ({ moved: false })))
    )

  /** How many commands wait in this process's write queue of the realm in `dir` (not yet taken into a write). */
  const queuedWrites = (dir: string) => Effect.sync(() => queues.get(dir)?.pending.length ?? 0)

  return { recover, execute, init, finishInit, reindex, initRemote, cloneRemote, syncRemote, queuedWrites } as const
}
