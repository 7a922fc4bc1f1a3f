/**
 * The MCP server's presence in the realm: a session registered with the daemon for as long as the server runs,
 * and the daemon's feed for this repo, whose notifications (and, once asked, session changes) are handed to the
 * server to forward to the client. It follows the repo: a join makes it register, a leave deregisters, a daemon
 * restart re-registers.
 */
import { Effect } from "effect"
import { WebSocket } from "ws"
import {
  activeRfc,
  type Connection,
  daemonAnswers,
  endSession,
  ensureDaemon,
  findDaemon,
  memberHere,
  startSession
} from "../adapters/daemonClient.js"
import type { Session } from "../adapters/sessions.js"
import type { PendingNotification } from "../domain/state.js"

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
  private conn: Connection | undefined
  private session: string | undefined
  private socket: WebSocket | undefined
  private chain: Promise<void> = Promise.resolve()
  private closed = false
  private failures = 0
  /** start a daemon only until the first connection: one the user stopped afterwards stays stopped */
  private mayStart: boolean
  private readonly timer: NodeJS.Timeout
  /** Forward session changes too (after `blue_realm_sessions` with `watch`). */
  watchSessions = false

  constructor(
    private readonly root: string,
    private readonly deliver: (message: FeedMessage) => void,
    autoStart: boolean
  ) {
    this.mayStart = autoStart
    this.timer = setInterval(() => this.refresh(), 5_000)
    this.timer.unref()
  }

  /** Where things stand. */
  get state(): PresenceState {
    return { member: this.member, session: this.session, feed: this.socket?.readyState === WebSocket.OPEN }
  }

  /** Re-reads the repo's membership and (re)registers the session and the feed as needed. Never fails. */
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
    const now = memberHere(this.root)
    if (now?.repo !== this.member?.repo || now?.realm !== this.member?.realm) {
      await this.teardown()
      this.member = now
    }
    if (this.member === undefined) return
    if (this.conn === undefined || this.socket === undefined) {
      this.conn = await this.connect()
      if (this.conn === undefined) return
    }
    const conn = this.conn
    if (this.session === undefined) {
      const rfc = activeRfc(this.root)
      const r = await Effect.runPromise(Effect.either(startSession(conn, {
        repo: this.member.repo,
        realm: this.member.realm,
        client_id: "mcp",
        pid: process.pid,
        ...(rfc === undefined ? {} : { active_rfc: rfc })
      })))
      if (r._tag === "Left") {
        this.conn = undefined
        return
      }
      this.session = r.right.id
    }
    if (this.socket === undefined) this.openFeed(conn, this.member)
  }

  private async connect(): Promise<Connection | undefined> {
    const found = findDaemon()
    if (found !== undefined) {
      if (await Effect.runPromise(daemonAnswers(found))) return found
    }
    if (!this.mayStart) return undefined
    const started = await Effect.runPromise(Effect.either(ensureDaemon))
    return started._tag === "Right" ? started.right : undefined
  }

  private openFeed(conn: Connection, member: { readonly repo: string; readonly realm: string }) {
    const ws = new WebSocket(`ws://127.0.0.1:${conn.port}/feed`, {
      headers: { authorization: `Bearer ${conn.token}` }
    })
    this.socket = ws
    ws.on("open", () => {
      this.failures = 0
      this.mayStart = false
      ws.send(JSON.stringify({ type: "subscribe", realm: member.realm, repo: member.repo }))
    })
    ws.on("message", (data) => {
      let m: any
      try {
        m = JSON.parse(data.toString())
      } catch {
        return
      }
      if (m?.type === "notification" && m.notification?.repo === member.repo) {
        this.deliver({ type: "notification", notification: m.notification })
      } else if (m?.type === "session" && this.watchSessions) {
        this.deliver({ type: "session", change: m.change, session: m.session })
      }
    })
    const lost = () => {
      if (this.socket !== ws) return
      // The daemon went away (or restarted and forgot us): start over on the next refresh.
      const [conn, session] = [this.conn, this.session]
      if (conn !== undefined && session !== undefined) {
        Effect.runFork(Effect.ignore(endSession(conn, session, 500)))
      }
      this.socket = undefined
      this.session = undefined
      this.conn = undefined
      // Back off (1 s, 2 s, 4 s … 30 s) so a flapping daemon does not churn sessions.
      this.failures++
      if (!this.closed) setTimeout(() => this.refresh(), Math.min(30_000, 1_000 * 2 ** (this.failures - 1))).unref()
    }
    ws.on("close", lost)
    ws.on("error", lost)
  }

  private async teardown(): Promise<void> {
    const ws = this.socket
    this.socket = undefined
    if (ws !== undefined) ws.close(1000, "bye")
    if (this.session !== undefined && this.conn !== undefined) {
      await Effect.runPromise(
        Effect.ignore(endSession(this.conn, this.session, 500))
      )
    }
    this.session = undefined
    this.conn = undefined
  }
}
