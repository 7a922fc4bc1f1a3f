/**
 * Start-up fast path for `blue status` / `blue realm status` (with or without --json). When daemon.db already
 * holds the realm's head commit, the status projection is folded straight from daemon.db's snapshot and events
 * without loading Effect or the CLI framework. In every other case (catch-up needed, anything unusual) it
 * declines and the full engine runs, which also produces all error messages.
 */
import Database from "better-sqlite3"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import {
  autoStartEnabled,
  isAlive,
  machineName,
  otherSessionMachines,
  runningDaemon
} from "../adapters/daemonPresence.js"
import { blueHome, daemonDbPath } from "../adapters/home.js"
import { findMemberRoot, peekMemberConfig } from "../adapters/memberConfig.js"
import { findRealmRoot, readBranch } from "../adapters/paths.js"
import { nameProblem } from "../domain/nameRules.js"
import type { RealmState } from "../domain/state.js"
import { initialState, SNAPSHOT_FORMAT } from "../domain/state.js"
import { escapeControls, jsonText } from "../domain/text.js"
import type { Envelope } from "../events/envelope.js"
import { foldEnvelopes } from "../projections/fold.js"
import { renderStatus, type SessionInput, statusView } from "../projections/status.js"

const statusArgs = (args: ReadonlyArray<string>): { json: boolean } | undefined => {
  const rest = args[0] === "realm" ? args.slice(1) : args
  if (rest[0] !== "status") return undefined
  const flags = rest.slice(1)
  if (flags.some((f) => f !== "--json")) return undefined
  return { json: flags.includes("--json") }
}

/** This machine's sessions in `realm` whose process is alive, as the full engine reads them. */
const liveSessions = (db: Database.Database, realm: string): Array<SessionInput> =>
  (db.prepare(
    "SELECT repo, client_id, pid, started_at, last_activity, active_rfc FROM sessions WHERE ended_at IS NULL AND realm = ? ORDER BY started_at"
  ).all(realm) as Array<Omit<SessionInput, "client_id"> & { client_id: string | null }>)
    .filter((x) => x.pid === null || isAlive(x.pid))
    .map((x) => ({ ...x, client_id: x.client_id ?? "cli" }))

/** Prints status and returns true, or returns false to let the full CLI handle the command. */
export const tryFastStatus = (args: ReadonlyArray<string>, cwd: string = process.cwd()): boolean => {
  const parsed = statusArgs(args)
  if (parsed === undefined) return false
  let realmDir: string
  let repo: string | undefined
  let configRealm: string | undefined
  const memberRoot = findMemberRoot(cwd)
  try {
    if (memberRoot !== undefined) {
      // A config the full engine would refuse (unreadable, bad names, missing fields) is left to it, with its
      // messages; so is detecting exports from code.
      const config = peekMemberConfig(memberRoot)
      if (
        config === undefined || config.realmPath === undefined || nameProblem(config.repo) !== undefined ||
        nameProblem(config.realmName) !== undefined || config.hasExports
      ) return false
      // A member repo's command starts the daemon when it is not running: that is the full CLI's job.
      if (autoStartEnabled() && runningDaemon(blueHome()) === undefined) return false
      realmDir = nodePath.resolve(memberRoot, config.realmPath)
      repo = config.repo
      // Other machines' sessions are read from git objects: that is the full engine's job too.
      if (otherSessionMachines(realmDir, machineName(blueHome())).length > 0) return false
      configRealm = config.realmName
    } else {
      const root = findRealmRoot(cwd)
      if (root === undefined) return false
      realmDir = root
    }
    const head = readBranch(realmDir, "main")
    const dbFile = daemonDbPath()
    if (
      head === undefined || !fs.existsSync(dbFile) ||
      fs.existsSync(nodePath.join(realmDir, ".git", "blue-materialize.json"))
    ) {
      return false
    }
    const db = new Database(dbFile, { readonly: true, fileMustExist: true })
    try {
      const row = db.prepare("SELECT name, head_commit FROM realms WHERE local_path = ?").get(realmDir) as
        | { name: string; head_commit: string | null }
        | undefined
      if (row === undefined || row.head_commit !== head) return false
      // A config naming another realm than the one at its path is the full engine's to refuse.
      if (configRealm !== undefined && configRealm !== row.name) return false
      const snap = db.prepare("SELECT position, state, format FROM snapshots WHERE realm = ? AND name = 'realm'")
        .get(row.name) as { position: number; state: string; format: number } | undefined
      const base: RealmState = snap !== undefined && snap.format === SNAPSHOT_FORMAT
        ? JSON.parse(snap.state)
        : initialState
      const rows = db.prepare(
        "SELECT id, position, type, time, actor, payload FROM events WHERE realm = ? AND position > ? ORDER BY position"
      ).all(row.name, base.position) as Array<
        { id: string; position: number; type: string; time: string; actor: string; payload: string }
      >
      // Rows were validated against the event schemas when they were recorded; folding needs only their data.
      const envelopes = rows.map((r) =>
        ({
          id: r.id,
          position: r.position,
          time: r.time,
          actor: JSON.parse(r.actor),
          event: JSON.parse(r.payload)
        }) as Envelope
      )
      const state = foldEnvelopes(base, envelopes)
      const sessions = repo === undefined ? [] : liveSessions(db, row.name)
      const view = statusView(state, { path: realmDir, head }, repo, new Map(), sessions, process.pid)
      process.stdout.write(
        parsed.json ? jsonText(view, 2) + "\n" : escapeControls(renderStatus(view)) + "\n"
      )
      return true
    } finally {
      db.close()
    }
  } catch {
    return false
  }
}
