/**
 * `blue realm sessions [--watch]`: who works where in the realm, from the daemon (started if needed). With
 * --watch the list follows the daemon's feed live — session changes (other machines' too, named with their machine),
 * and contract-change notifications for this repo — as a compact table in a terminal or one JSON document per line
 * with --json, until interrupted.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Schema, Stream } from "effect"
import { jsonText } from "../domain/text.js"
import { DaemonUnavailable } from "../engine/errors.js"
import { type Connection, DaemonClient, type Presence } from "../engine/ports.js"
import { ServerMessage } from "../events/feed.js"
import { listSessions, renderSessions, sessions } from "../operations/sessions.js"
import { notificationSummary } from "../projections/notifications.js"
import { present, presentOperation, writeHuman } from "./output.js"

const list = listSessions

/** A feed message as `--watch --json` prints it: the wire's own JSON. */
const encodeMessage = Schema.encodeSync(ServerMessage)

const watch = (conn: Connection, json: boolean) =>
  Effect.gen(function*() {
    const daemon = yield* DaemonClient
    const me = yield* daemon.memberHere()
    const rfc = yield* daemon.activeRfc(process.cwd())
    // Outside a member repo there is nothing to register; a refused registration does not stop the watch.
    const session = me === undefined ? undefined : yield* daemon.startSession(conn, {
      ...me,
      client_id: "watch",
      pid: process.pid,
      ...(rfc === undefined ? {} : { active_rfc: rfc })
    }).pipe(Effect.catchIf((e) => e._tag !== "DaemonUnavailable", () => Effect.succeed(undefined)))
    const show = (line: unknown) =>
      json ? process.stdout.write(`${jsonText(line)}\n`) : writeHuman(process.stdout, String(line))
    if (!json) {
      const known = yield* list(conn, me?.realm)
      show(renderSessions(known.sessions, me?.repo, known.remote))
    }
    // The feed client reconnects (and resumes) by itself; the watch ends when interrupted (Ctrl-C, SIGTERM: runMain's
    // handlers). The session ends however the watch does: a finalizer, so an interrupt cannot skip it.
    const connect = Effect.map(daemon.find, (found) => found ?? conn)
    yield* daemon.feed({ connect, realm: me?.realm, repo: me?.repo }).pipe(
      Stream.runForEach((m) => {
        if (m.type === "session") {
          if (json) return Effect.sync(() => show(encodeMessage(m)))
          return Effect.map(
            Effect.orElseSucceed(list(conn, me?.realm), () => undefined),
            (all) =>
              all === undefined ? undefined : show(
                `\n${m.change === "started" ? "+" : "-"} ${m.session.repo} (${m.session.client_id})${
                  m.session.machine === undefined ? "" : ` on ${m.session.machine}`
                }\n${renderSessions(all.sessions, me?.repo, all.remote)}`
              )
          )
        }
        if (m.type === "notification") {
          return Effect.sync(() => show(json ? encodeMessage(m) : notificationSummary(m.notification)))
        }
        if (m.type === "event" && json) return Effect.sync(() => show(encodeMessage(m)))
        return Effect.void
      }),
      Effect.mapError((e) => new DaemonUnavailable({ detail: e.message })),
      Effect.ensuring(session === undefined ? Effect.void : Effect.ignore(daemon.endSession(conn, session.id)))
    )
    return { watched: true }
  })

/** The `sessions` command (registered as `blue realm sessions`). */
export const sessionsCommand = Command.make(
  "sessions",
  {
    watch: Options.boolean("watch").pipe(Options.withDescription("follow sessions and notifications live")),
    json: Options.boolean("json").pipe(Options.withDescription("JSON (one document per line with --watch)"))
  },
  ({ json, watch: live }): Effect.Effect<void, never, DaemonClient | Presence> =>
    live
      ? Effect.flatMap(DaemonClient, (daemon) => Effect.flatMap(daemon.needed, (conn) => watch(conn, json))).pipe(
        Effect.catchAll((e) => present(json, Effect.fail(e), () => "")),
        Effect.asVoid
      )
      : presentOperation(sessions, json, { watch: false })
).pipe(Command.withDescription("Live sessions in the realm (--watch streams changes from the daemon)"))
