/**
 * Start-up fast path for `blue status` / `blue realm status` (with or without --json). When daemon.db already
 * holds the realm's head commit, the status projection is folded straight from daemon.db's snapshot and events
 * without loading Effect or the CLI framework. In every other case (catch-up needed, anything unusual) it
 * declines and the full engine runs, which also produces all error messages.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { liveOnly, openDaemonDbReader } from "../adapters/daemonDb.js"
import { autoStartEnabled, machineName, otherSessionMachines, runningDaemon } from "../adapters/daemonPresence.js"
import { blueHome, daemonDbPath } from "../adapters/home.js"
import { findMemberRoot, peekPlainMemberConfig, readMemberConfigText } from "../adapters/memberConfigPeek.js"
import { findRealmRoot, readBranch } from "../adapters/paths.js"
import { clockOverride } from "../domain/clockOverride.js"
import { nameProblem } from "../domain/nameRules.js"
import type { RealmState } from "../domain/state.js"
import { initialState } from "../domain/state.js"
import { escapeControls, jsonText } from "../domain/text.js"
import { foldEnvelopes } from "../projections/fold.js"
import { proposalViews } from "../projections/proposals.js"
import { renderProposals } from "../projections/proposalStatus.js"
import { renderStatus, statusView } from "../projections/status.js"

/**
 * `localeCompare` for names, without loading ICU's collator (~5 ms, a tenth of this path) when that gives the same
 * answer: under the C, POSIX or an English locale (the variables ICU reads on POSIX systems), lowercase letters,
 * digits and hyphens collate as their code units do. Elsewhere (e.g. Danish sorts "aa" after "z"), `localeCompare`.
 */
const PLAIN_LOCALE = /^(C|POSIX|en(_[A-Za-z]{2})?)(\.[A-Za-z0-9_-]+)?$/
const codeUnitNames = process.platform !== "win32" &&
  ["LC_ALL", "LC_MESSAGES", "LANG"].every((v) => {
    const value = process.env[v]
    return value === undefined || value === "" || PLAIN_LOCALE.test(value)
  })
const PLAIN_NAME = /^[a-z0-9-]*$/
const nameOrder = (a: string, b: string): number =>
  codeUnitNames && PLAIN_NAME.test(a) && PLAIN_NAME.test(b) ? (a < b ? -1 : a > b ? 1 : 0) : a.localeCompare(b)

const statusArgs = (args: ReadonlyArray<string>): { json: boolean } | undefined => {
  const rest = args[0] === "realm" ? args.slice(1) : args
  if (rest[0] !== "status") return undefined
  const flags = rest.slice(1)
  if (flags.some((f) => f !== "--json")) return undefined
  return { json: flags.includes("--json") }
}

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
      // messages; so is detecting exports from code, and any config beyond the plain form Blue writes (reading
      // YAML in general would load the `yaml` package, the largest part of this path's start-up).
      const read = readMemberConfigText(memberRoot)
      const config = "text" in read ? peekPlainMemberConfig(read.text) : "unsure"
      if (
        config === "unsure" || config.realmPath === undefined || nameProblem(config.repo) !== undefined ||
        nameProblem(config.realmName) !== undefined || config.hasExports
      ) return false
      // A member repo's command starts the daemon when it is not running: that is the full CLI's job.
      if (autoStartEnabled() && runningDaemon(blueHome()) === undefined) return false
      realmDir = nodePath.resolve(memberRoot, config.realmPath)
      repo = config.repo
      // Other machines' sessions are read from git objects: that is the full engine's job too.
      // (This machine's name, kept in BLUE_HOME/machine-id, is only needed when any machine published sessions.)
      if (
        otherSessionMachines(realmDir, "").length > 0 &&
        otherSessionMachines(realmDir, machineName(blueHome())).length > 0
      ) return false
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
      fs.existsSync(nodePath.join(realmDir, ".git", "blue-materialize.json")) ||
      // A forge realm's status shows the mirrored pull requests: the full engine's (operations/forgeMirror.ts).
      fs.existsSync(nodePath.join(realmDir, ".git", "blue-forge.json"))
    ) {
      return false
    }
    const db = openDaemonDbReader(dbFile)
    try {
      const row = db.realmAt(realmDir)
      if (row === undefined || row.headCommit !== head) return false
      // A config naming another realm than the one at its path is the full engine's to refuse.
      if (configRealm !== undefined && configRealm !== row.name) return false
      const base: RealmState = db.snapshot(row.name)?.state ?? initialState
      const state = foldEnvelopes(base, db.readForFold(row.name, base.position))
      const sessions = repo === undefined ? [] : liveOnly(db.activeSessions(row.name))
      const shown = statusView(state, { path: realmDir, head }, repo, new Map(), sessions, process.pid, nameOrder)
      // Open proposals as the full engine shows them (absent when there are none), judged at BLUE_NOW or now.
      const now = new Date(clockOverride(process.env, Date.now()) ?? Date.now()).toISOString()
      const proposals = proposalViews(state, repo, now)
      const view = proposals.length === 0 ? shown : { ...shown, proposals }
      process.stdout.write(
        parsed.json
          ? jsonText(view, 2) + "\n"
          : escapeControls([renderStatus(view), ...renderProposals(proposals)].join("\n")) + "\n"
      )
      return true
    } finally {
      db.close()
    }
  } catch {
    return false
  }
}
