/**
 * `blue_realm_sessions`: who works where in the realm, from the daemon (started if needed). Following the list
 * live (`watch`) is the shell's part: the CLI streams the feed, the MCP server forwards it as notifications.
 */
import { Effect, Schema } from "effect"
import { Presence, type Session } from "../engine/ports.js"
import type { RemoteSession } from "../events/session.js"
import { operation, optionalBoolean } from "./operation.js"

const ago = (iso: string) => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`
}

/**
 * The compact table of sessions: this machine's, then other machines' (marked `remote`, with their machine and how
 * long ago that machine last published). The MACHINE and SEEN columns appear only when there are remote ones.
 */
export const renderSessions = (
  sessions: ReadonlyArray<Session>,
  me?: string,
  remote: ReadonlyArray<RemoteSession> = []
): string => {
  if (sessions.length === 0 && remote.length === 0) return "No active sessions."
  const withRemote = remote.length > 0
  const row = (s: Session, where: Array<string>) => [
    `${s.repo}${s.repo === me && where.length === 0 ? " (you)" : ""}${where.length > 0 ? " (remote)" : ""}`,
    s.client_id,
    s.pid === null ? "-" : String(s.pid),
    ago(s.started_at),
    s.active_domains.join(",") || "-",
    ...(withRemote ? (where.length > 0 ? where : ["-", "-"]) : [])
  ]
  const rows = [
    ...sessions.map((s) => row(s, [])),
    ...remote.map((s) => row(s, [s.machine, s.seen_at === null ? "?" : `${ago(s.seen_at)} ago`]))
  ]
  const head = ["REPO", "CLIENT", "PID", "SINCE", "DOMAINS", ...(withRemote ? ["MACHINE", "SEEN"] : [])]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}

/** The sessions the daemon knows, in one realm or all (for the shells that hold a connection). */
export { listSessions } from "../engine/ports.js"

/** `blue_realm_sessions`. */
export const sessions = operation({
  tool: "blue_realm_sessions",
  description:
    "List active Blue sessions in the realm (repo, client, pid, since, domains), other machines' too (marked remote, with their machine). With watch, session changes and notifications for this repo keep arriving as MCP notifications.",
  readOnly: true,
  args: Schema.Struct({
    watch: optionalBoolean("Continuously update (real-time)")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const presence = yield* Presence
      const me = yield* presence.memberAt(at.cwd)
      const known = yield* presence.daemonSessions(me?.realm)
      return {
        realm: me?.realm ?? null,
        sessions: known.sessions,
        remote: known.remote,
        me: me?.repo,
        ...(args.watch === true ? { watching: true } : {})
      }
    }),
  summary: (r) => renderSessions(r.sessions, r.me, r.remote)
})
