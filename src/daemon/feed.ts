/**
 * The feed (`GET /feed`, WebSocket): each subscriber receives the realm events, notifications and session changes
 * the event log's change stream carries, after a catch-up from the position it resumes from, and the other machines'
 * session changes (`followRemoteSessions`: what each fetch, TTL or prune changed in their listing). One fiber does all
 * the work in order — changes from the log and subscribe requests from the sockets, bridged by a queue — so a
 * catch-up and live delivery never overlap or skip; each message is encoded once, whatever the number of watchers.
 */
import { Chunk, Context, Effect, Either, Layer, PubSub, Queue, Stream } from "effect"
import { WebSocket } from "ws"
import { type Change, EventLog } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import {
  type ClientMessage,
  decodeClientMessage,
  eventMessage,
  serverFrame,
  type ServerMessage
} from "../events/feed.js"
import { DaemonConfig } from "./context.js"
import { tokenMatches } from "./security.js"
import { followRemoteSessions, type RemoteSessionChange } from "./sessionMirror.js"

declare const BLUE_VERSION: string

interface Subscriber {
  readonly socket: WebSocket
  authenticated: boolean
  realm: string | undefined
  /** notifications are sent for this repo only (all repos when undefined) */
  repo: string | undefined
  /** last position sent per realm, so catch-up and live events never overlap */
  readonly sent: Map<string, number>
  subscribed: boolean
}

type Work =
  | {
    readonly _tag: "Subscribe"
    readonly subscriber: Subscriber
    readonly message: ClientMessage & { type: "subscribe" }
  }
  | { readonly _tag: "Remote"; readonly changes: ReadonlyArray<RemoteSessionChange> }

/** The feed's subscribers. */
export class Feed extends Context.Tag("blue/daemon/Feed")<Feed, {
  /** Serves an upgraded socket until it closes; `authenticated` when the upgrade carried the token. */
  readonly accept: (socket: WebSocket, authenticated: boolean) => void
  /** Closes every feed with a close frame (1001), or at once when `force`. */
  readonly closeAll: (force: boolean) => void
}>() {}

const sendFrame = (s: Subscriber, frame: string) => {
  if (s.socket.readyState === WebSocket.OPEN) s.socket.send(frame)
}
const send = (s: Subscriber, message: ServerMessage) => sendFrame(s, serverFrame(message))
const refuse = (s: Subscriber, tag: string, message: string) =>
  send(s, { type: "error", error: { _tag: tag, message } })

/** The feed, driven by the event log's change stream. */
export const FeedLive = Layer.scoped(
  Feed,
  Effect.gen(function*() {
    const log = yield* EventLog
    const realms = yield* Realms
    const config = yield* DaemonConfig
    const subscribers = new Set<Subscriber>()
    /** the last position dispatched per realm: where a subscriber without a position starts */
    const dispatched = new Map<string, number>()
    const work = yield* Queue.unbounded<Work>()
    const changes = yield* PubSub.subscribe(log.changes)

    const wants = (s: Subscriber, realm: string) => s.subscribed && (s.realm === undefined || s.realm === realm)

    /** The notifications a batch of events raised, to the subscribers of their repo. */
    const notify = (realm: string, positions: ReadonlySet<string>, to: (s: Subscriber) => boolean) =>
      Effect.gen(function*() {
        if (positions.size === 0) return
        const state = yield* realms.stateOf(realm)
        for (const n of Object.values(state.pending)) {
          if (!positions.has(n.id)) continue
          const frame = serverFrame({ type: "notification", notification: { ...n, realm } })
          for (const s of subscribers) {
            if (to(s) && wants(s, realm) && (s.repo === undefined || s.repo === n.repo)) sendFrame(s, frame)
          }
        }
      })

    const deliver = (batch: ReadonlyArray<Change>) =>
      Effect.gen(function*() {
        const raised = new Map<string, Set<string>>()
        for (const change of batch) {
          if (change._tag === "Session") {
            const { event } = change
            const frame = serverFrame({
              type: "session",
              change: event._tag === "SessionStarted" ? "started" : "ended",
              session: event.session
            })
            for (const s of subscribers) if (wants(s, event.session.realm)) sendFrame(s, frame)
          } else if (change._tag === "Rewound") {
            // A re-index: the realm's positions start again after `position`, for everyone.
            dispatched.set(change.realm, change.position)
            for (const s of subscribers) {
              if ((s.sent.get(change.realm) ?? 0) > change.position) s.sent.set(change.realm, change.position)
            }
          } else {
            const { realm, recorded } = change
            const position = recorded.envelope.position
            dispatched.set(realm, Math.max(dispatched.get(realm) ?? 0, position))
            let frame: string | undefined
            for (const s of subscribers) {
              if (!wants(s, realm) || position <= (s.sent.get(realm) ?? 0)) continue
              sendFrame(s, frame ??= serverFrame(eventMessage(recorded)))
              s.sent.set(realm, position)
            }
            const type = recorded.envelope.type
            // A proposal tells its importers as a contract change does, unless its sync said --no-notify.
            const quiet = recorded.envelope.correlationId.startsWith("sync-quiet:")
            if (
              !quiet &&
              (type === "ContractBumped" || type === "ContractPublished" || type === "ProposalOpened" ||
                type === "ProposalAmended")
            ) {
              raised.set(realm, (raised.get(realm) ?? new Set()).add(String(position)))
            }
          }
        }
        for (const [realm, positions] of raised) yield* Effect.ignore(notify(realm, positions, () => true))
      })

    /** Other machines' sessions that started or ended, to the subscribers of their realm. */
    const remote = (changes: ReadonlyArray<RemoteSessionChange>) =>
      Effect.sync(() => {
        for (const { change, realm, session } of changes) {
          const frame = serverFrame({ type: "session", change, session })
          for (const s of subscribers) if (wants(s, realm)) sendFrame(s, frame)
        }
      })

    const subscribe = (s: Subscriber, msg: ClientMessage & { type: "subscribe" }) =>
      Effect.gen(function*() {
        s.realm = msg.realm
        s.repo = msg.repo
        s.subscribed = true
        for (const r of yield* log.realms) {
          if (s.realm !== undefined && r.name !== s.realm) continue
          // Without a position the feed starts at the present; with one it resends what was missed.
          const after = msg.after ?? dispatched.get(r.name) ?? r.headPosition
          s.sent.set(r.name, Math.max(s.sent.get(r.name) ?? 0, after))
          for (const recorded of yield* log.read(r.name, after)) {
            if (recorded.envelope.position <= (s.sent.get(r.name) ?? 0)) continue
            send(s, eventMessage(recorded))
            s.sent.set(r.name, recorded.envelope.position)
          }
          // A returning client also gets the notifications for its repo raised while it was away.
          if (msg.after !== undefined && s.repo !== undefined) {
            const state = yield* realms.stateOf(r.name)
            for (const n of Object.values(state.pending)) {
              if (n.repo === s.repo && Number(n.id) > msg.after) {
                send(s, { type: "notification", notification: { ...n, realm: r.name } })
              }
            }
          }
        }
        send(s, { type: "subscribed", realm: s.realm ?? null })
      })

    // The one worker: log changes and subscribe requests, in the order they came.
    yield* Stream.merge(
      Stream.fromQueue(changes, { maxChunkSize: 4096 }).pipe(
        Stream.mapChunks((c) => Chunk.of({ _tag: "Changes" as const, batch: Chunk.toReadonlyArray(c) }))
      ),
      Stream.fromQueue(work)
    ).pipe(
      Stream.runForEach((item) =>
        item._tag === "Changes"
          ? deliver(item.batch)
          : item._tag === "Remote"
          ? remote(item.changes)
          : Effect.ignore(subscribe(item.subscriber, item.message))
      ),
      Effect.forkScoped
    )
    yield* Effect.forkScoped(
      followRemoteSessions((changes) => Effect.asVoid(Queue.offer(work, { _tag: "Remote", changes })))
    )

    const onMessage = (s: Subscriber, data: string) => {
      const decoded = decodeClientMessage(data)
      if (!s.authenticated) {
        if (
          Either.isRight(decoded) && decoded.right.type === "auth" && tokenMatches(decoded.right.token, config.token)
        ) {
          s.authenticated = true
          return send(s, { type: "authenticated" })
        }
        refuse(s, "Unauthorized", "Authenticate first: {\"type\":\"auth\",\"token\":…}.")
        return s.socket.close(4401, "unauthorized")
      }
      if (Either.isLeft(decoded)) return refuse(s, "RequestInvalid", decoded.left)
      const msg = decoded.right
      if (msg.type === "subscribe") {
        return void Queue.unsafeOffer(work, { _tag: "Subscribe", subscriber: s, message: msg })
      }
      if (msg.type === "ping") return send(s, { type: "pong" })
      return send(s, { type: "authenticated" })
    }

    return {
      accept: (ws, authenticated) => {
        const s: Subscriber = {
          socket: ws,
          authenticated,
          realm: undefined,
          repo: undefined,
          sent: new Map(),
          subscribed: false
        }
        subscribers.add(s)
        ws.on("message", (data) => onMessage(s, data.toString()))
        ws.on("close", () => subscribers.delete(s))
        ws.on("error", () => subscribers.delete(s))
        send(s, { type: "hello", version: typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev", authenticated })
        if (!authenticated) {
          setTimeout(() => {
            if (!s.authenticated && ws.readyState === WebSocket.OPEN) ws.close(4401, "unauthorized")
          }, 5_000).unref()
        }
      },
      closeAll: (force) => {
        for (const s of subscribers) {
          if (force) s.socket.terminate()
          else s.socket.close(1001, "daemon stopping")
        }
      }
    }
  })
)
