/**
 * `blue_realm_sessions`: who works where in the realm, from the daemon (started if needed). Following the list
 * live (`watch`) is the shell's part: the CLI streams the feed, the MCP server forwards it as notifications.
 */
import { Effect, Schema } from "effect"
import { Presence, type Session } from "../engine/ports.js"
import { operation, optionalBoolean } from "./operation.js"

const ago = (iso: string) => {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`
}

/** The compact table of sessions. */
export const renderSessions = (sessions: ReadonlyArray<Session>, me?: string): string => {
  if (sessions.length === 0) return "No active sessions."
  const rows = sessions.map((s) => [
    `${s.repo}${s.repo === me ? " (you)" : ""}`,
    s.client_id,
    s.pid === null ? "-" : String(s.pid),
    ago(s.started_at),
    s.active_domains.join(",") || "-"
  ])
  const head = ["REPO", "CLIENT", "PID", "SINCE", "DOMAINS"]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}

/** The sessions the daemon knows, in one realm or all (for the shells that hold a connection). */
export { listSessions } from "../engine/ports.js"

/** `blue_realm_sessions`. */
export const sessions = operation({
  tool: "blue_realm_sessions",
  description:
    "List active Blue sessions in the realm (repo, client, pid, since, domains). With watch, session changes and notifications for this repo keep arriving as MCP notifications.",
  readOnly: true,
  args: Schema.Struct({
    watch: optionalBoolean("Continuously update (real-time)")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const presence = yield* Presence
      const me = yield* presence.memberAt(at.cwd)
      return {
        realm: me?.realm ?? null,
        sessions: yield* presence.daemonSessions(me?.realm),
        me: me?.repo,
        ...(args.watch === true ? { watching: true } : {})
      }
    }),
  summary: (r) => renderSessions(r.sessions, r.me)
})
