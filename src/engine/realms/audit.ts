/**
 * Auditing a realm: `replay --verify` (every projection rebuilt from git alone and from daemon.db alone, compared)
 * and the commit trail `check --mode realm` judges permissions on.
 */
import { Effect, Either } from "effect"
import { PathProblem } from "../../adapters/errors.js"
import { decodeYaml } from "../../adapters/files.js"
import { RealmNotInitialized } from "../../domain/errors.js"
import { schemaForRealmPath } from "../../domain/files.js"
import { initialState, type RealmState } from "../../domain/state.js"
import { plural } from "../../domain/text.js"
import { envelopeToJson } from "../../events/codec.js"
import { eventFilePath, type Recorded } from "../../events/envelope.js"
import { foldEnvelopes } from "../../projections/fold.js"
import { isManagedPath, renderAll } from "../../projections/realmFiles.js"
import type { History } from "./history.js"
import type { Ports, Verification } from "./shared.js"

/** The engine's audits. */
export const makeAudit = ({ git, log }: Ports, { eventsOfCommit, readView, rowFor }: History) => {
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

  return { verify, auditTrail } as const
}
