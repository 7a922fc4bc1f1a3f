/**
 * `blue realm sessions [--watch]`: who works where in the realm, from the daemon (started if needed). With
 * --watch the list follows the daemon's feed live — session changes, and contract-change notifications for this
 * repo — as a compact table in a terminal or one JSON document per line with --json, until interrupted.
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { WebSocket } from "ws"
import {
  activeRfc,
  type Connection,
  daemonNeeded,
  DaemonUnavailable,
  endSession,
  memberHere,
  startSession
} from "../adapters/daemonClient.js"
import { jsonText } from "../domain/text.js"
import { listSessions, renderSessions, sessions } from "../operations/sessions.js"
import { notificationSummary } from "../projections/notifications.js"
import { present, presentOperation, writeHuman } from "./output.js"

const list = listSessions

const watch = (conn: Connection, json: boolean) =>
  Effect.gen(function*() {
    const me = memberHere()
    // Outside a member repo there is nothing to register; a refused registration does not stop the watch.
    const session = me === undefined ? undefined : yield* startSession(conn, {
      ...me,
      client_id: "watch",
      pid: process.pid,
      ...(activeRfc(process.cwd()) === undefined ? {} : { active_rfc: activeRfc(process.cwd()) })
    }).pipe(Effect.catchIf((e) => e._tag !== "DaemonUnavailable", () => Effect.succeed(undefined)))
    const show = (line: unknown) =>
      json ? process.stdout.write(`${jsonText(line)}\n`) : writeHuman(process.stdout, String(line))
    if (!json) show(renderSessions(yield* list(conn, me?.realm), me?.repo))
    // The session ends however the watch does — its feed closing, or a signal interrupting this fiber (runMain's
    // handlers): a finalizer, so an interrupt cannot skip it.
    yield* Effect.async<void, DaemonUnavailable>((resume) => {
      const ws = new WebSocket(`ws://127.0.0.1:${conn.port}/feed`, {
        headers: { authorization: `Bearer ${conn.token}` }
      })
      const stop = () => ws.close(1000, "bye")
      process.once("SIGINT", stop)
      process.once("SIGTERM", stop)
      ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", ...(me === undefined ? {} : me) })))
      ws.on("message", (data) => {
        const m = JSON.parse(data.toString())
        if (m.type === "session") {
          if (json) show({ type: "session", change: m.change, session: m.session })
          else {
            Effect.runPromise(list(conn, me?.realm)).then(
              (all) =>
                show(
                  `\n${m.change === "started" ? "+" : "-"} ${m.session.repo} (${m.session.client_id})\n${
                    renderSessions(all, me?.repo)
                  }`
                ),
              () => undefined
            )
          }
        } else if (m.type === "notification") {
          const n = m.notification
          show(
            json
              ? { type: "notification", notification: n }
              : notificationSummary(n)
          )
        } else if (m.type === "event" && json) show({ type: "event", event: m.event })
      })
      ws.on("close", () => resume(Effect.void))
      ws.on("error", (e) => resume(Effect.fail(new DaemonUnavailable({ detail: e.message }))))
      // Interrupted (Ctrl-C, SIGTERM): close the feed too.
      return Effect.sync(stop)
    }).pipe(Effect.ensuring(session === undefined ? Effect.void : Effect.ignore(endSession(conn, session.id))))
    return { watched: true }
  })

/** The `sessions` command (registered as `blue realm sessions`). */
export const sessionsCommand = Command.make(
  "sessions",
  {
    watch: Options.boolean("watch").pipe(Options.withDescription("follow sessions and notifications live")),
    json: Options.boolean("json").pipe(Options.withDescription("JSON (one document per line with --watch)"))
  },
  ({ json, watch: live }) =>
    live
      ? Effect.flatMap(daemonNeeded, (conn) => watch(conn, json)).pipe(
        Effect.catchAll((e) => present(json, Effect.fail(e), () => "")),
        Effect.asVoid
      )
      : presentOperation(sessions, json, { watch: false })
).pipe(Command.withDescription("Live sessions in the realm (--watch streams changes from the daemon)"))
