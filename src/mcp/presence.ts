/**
 * The MCP server's presence in the realm: a session registered with the daemon for as long as the server runs,
 * and the daemon's feed for this repo, whose notifications (and, once asked, session changes) are handed to the
 * server to forward to the client. It follows the repo: a join makes it register, a leave deregisters, a daemon
 * restart re-registers.
 */
import { type Context, Effect, Fiber, Stream } from "effect"
import type { PendingNotification } from "../domain/state.js"
import { DaemonUnavailable } from "../engine/errors.js"
import type { Connection, DaemonClient, Session } from "../engine/ports.js"

/** What the feed brings that the client should hear about. */
export type FeedMessage =
  | { readonly type: "notification"; readonly notification: PendingNotification & { readonly realm: string } }
  | { readonly type: "session"; readonly change: "started" | "ended"; readonly session: Session }

/** The presence's state, for the `blue_realm_status` of the server itself and for tests. */
export interface PresenceState {
  readonly member: { readonly repo: string; readonly realm: string } | undefined
  readonly session: string | undefined
  readonly feed: boolean
}

/** Keeps a session and a feed for the repo at `root`; `deliver` receives what the feed brings. */
export class Presence {
  private member: { readonly repo: string; readonly realm: string } | undefined
  private session: string | undefined
  private open = false
  private feed: Fiber.RuntimeFiber<void, unknown> | undefined
  private chain: Promise<void> = Promise.resolve()
  private closed = false
  /** start a daemon only until the first connection: one the user stopped afterwards stays stopped */
  private mayStart: boolean
  private readonly timer: NodeJS.Timeout
  /** Forward session changes too (after `blue_realm_sessions` with `watch`). */
  watchSessions = false

  constructor(
    private readonly root: string,
    private readonly deliver: (message: FeedMessage) => void,
    autoStart: boolean,
    /** the daemon client (the `DaemonClient` port's service) */
    private readonly daemon: Context.Tag.Service<DaemonClient>
  ) {
    this.mayStart = autoStart
    this.timer = setInterval(() => this.refresh(), 5_000)
    this.timer.unref()
  }

  /** Where things stand. */
  get state(): PresenceState {
    return { member: this.member, session: this.session, feed: this.open }
  }

  /** Re-reads the repo's membership and (re)starts the feed for it as needed. Never fails. */
  refresh(): Promise<void> {
    this.chain = this.chain.then(() => this.step()).catch(() => undefined)
    return this.chain
  }

  /** Deregisters and closes the feed. */
  close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    this.chain = this.chain.then(() => this.teardown()).catch(() => undefined)
    return this.chain
  }

  private async step(): Promise<void> {
    if (this.closed) return
    const now = Effect.runSync(this.daemon.memberHere(this.root))
    if (now?.repo !== this.member?.repo || now?.realm !== this.member?.realm) {
      await this.teardown()
      this.member = now
    }
    if (this.member === undefined || this.feed !== undefined) return
    const member = this.member
    // The one feed client: it connects (starting the daemon the first time if allowed), registers the session on
    // each connection, deregisters it when the connection is lost, and reconnects on its schedule.
    this.feed = Effect.runFork(
      this.daemon.feed({
        connect: this.connect(),
        realm: member.realm,
        repo: member.repo,
        onOpen: (conn) => this.register(conn, member),
        onLost: (conn) => this.deregister(conn)
      }).pipe(
        Stream.runForEach((m) =>
          Effect.sync(() => {
            if (m.type === "notification" && m.notification.repo === member.repo) {
              this.deliver({ type: "notification", notification: m.notification })
            } else if (m.type === "session" && this.watchSessions) {
              this.deliver({ type: "session", change: m.change, session: m.session })
            }
          })
        ),
        Effect.ignore
      )
    )
  }

  /** The running daemon (asking /health), or one started now while that is allowed; fails to retry later. */
  private connect(): Effect.Effect<Connection, DaemonUnavailable> {
    return Effect.suspend(() => {
      const healthy = Effect.flatMap(this.daemon.find, (found) =>
        found === undefined
          ? Effect.fail(new DaemonUnavailable({ detail: "no daemon is running" }))
          : this.daemon.answers(found).pipe(
            Effect.filterOrFail(
              (answers) => answers,
              () => new DaemonUnavailable({ detail: "/health does not answer" })
            ),
            Effect.as(found)
          ))
      return Effect.orElse(
        healthy,
        () =>
          this.mayStart ? this.daemon.ensure : Effect.fail(new DaemonUnavailable({ detail: "no daemon is running" }))
      )
    })
  }

  private register(conn: Connection, member: { readonly repo: string; readonly realm: string }): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      this.mayStart = false
      this.open = true
      const rfc = yield* this.daemon.activeRfc(this.root)
      const r = yield* Effect.either(this.daemon.startSession(conn, {
        repo: member.repo,
        realm: member.realm,
        client_id: "mcp",
        pid: process.pid,
        ...(rfc === undefined ? {} : { active_rfc: rfc })
      }))
      if (r._tag === "Right") this.session = r.right.id
    })
  }

  private deregister(conn: Connection): Effect.Effect<void> {
    return Effect.suspend(() => {
      const session = this.session
      this.open = false
      this.session = undefined
      return session === undefined
        ? Effect.void
        : Effect.ignore(this.daemon.endSession(conn, session, 500))
    })
  }

  private async teardown(): Promise<void> {
    const feed = this.feed
    this.feed = undefined
    // Interrupting the feed closes its socket and, in its finalizer, deregisters the session.
    if (feed !== undefined) await Effect.runPromise(Fiber.interrupt(feed))
  }
}
