/**
 * Looking at the realm and answering it: status, the dependency graph, acknowledging notifications. Arguments
 * follow the draft RFC's `blue_realm_graph`; `blue_realm_status` and `blue_realm_ack` mirror the CLI.
 */
import { Effect, Schema } from "effect"
import { realmGraph, renderGraph } from "../domain/graph.js"
import { cachedPerFile, localExports } from "../engine/detect.js"
import { PathProblem } from "../engine/errors.js"
import { Invocation } from "../engine/invocation.js"
import { Home, Presence, RepoCaches } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { proposalNow } from "../engine/realms/shared.js"
import { publishedSessions } from "../events/session.js"
import { proposalViews } from "../projections/proposals.js"
import { renderProposals } from "../projections/proposalStatus.js"
import { type LocalExport, renderStatus, type SessionInput, statusView } from "../projections/status.js"
import { readMirror } from "./forgeMirror.js"
import { operation, optionalBoolean } from "./operation.js"
import { here, hereAsMember } from "./where.js"

/** This machine's sessions in `realm` whose process is alive (none when daemon.db cannot tell). */
const liveSessions = (realm: string): Effect.Effect<ReadonlyArray<SessionInput>, never, Presence> =>
  Effect.flatMap(Presence, (presence) => presence.localSessions(realm))

/** The live sessions other machines published on the realm's `blue/sessions/<machine>` branches (stale ones hidden). */
const otherMachines = (realms: Realms, dir: string) =>
  Effect.zip(realms.machineSessions(dir), Effect.flatMap(Home, (home) => home.machine)).pipe(
    Effect.map(([published, machine]) =>
      published
        .filter((m) => m.machine !== machine)
        .flatMap((m) => publishedSessions(m.machine, m.snapshot, m.updated_at))
        .map((x): SessionInput => ({
          repo: x.repo,
          client_id: x.client_id,
          pid: x.pid,
          started_at: x.started_at,
          last_activity: x.last_activity,
          active_rfc: x.active_rfc,
          machine: x.machine,
          ...(x.seen_at === null ? {} : { seen_at: x.seen_at })
        }))
    ),
    Effect.orElseSucceed((): ReadonlyArray<SessionInput> => [])
  )

/** `blue_realm_status`: the realm, this repo's domains and roles, contracts, local changes, stale imports. */
export const realmStatus = operation({
  tool: "blue_realm_status",
  description:
    "Realm status: this repo's domains and roles, contracts and versions, local export changes not yet published, stale or broken imports, and notifications waiting for an ack.",
  readOnly: true,
  args: Schema.Struct({
    no_cache: optionalBoolean("Detect exports from code without .blue/cache.db")
  }),
  run: (args, at) =>
    Effect.scoped(Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* here(at.cwd)
      const realm = yield* realms.open(h.realmDir)
      let local: ReadonlyMap<string, LocalExport> = new Map()
      const member = h.member
      if (member?.config.exports !== undefined) {
        const cache = yield* Effect.flatMap(RepoCaches, (c) => c.open(member.root, { bypass: args.no_cache ?? false }))
        local = yield* localExports(member, realm.state, cachedPerFile(cache, member))
      }
      const live = h.member === undefined
        ? []
        : [...yield* liveSessions(realm.name), ...yield* otherMachines(realms, realm.dir)]
      const remote = yield* realms.remoteStatus(realm.dir)
      const mirrored = readMirror(realm.dir).pulls
      const proposals = proposalViews(
        realm.state,
        h.member?.config.repo,
        new Date(proposalNow((yield* Invocation).env)).toISOString()
      ).map((p) => {
        const m = mirrored[p.id]
        return m === undefined ? p : {
          ...p,
          pull: {
            number: m.number,
            url: m.url,
            state: m.state,
            reviewers: m.reviewers,
            approved: m.approved,
            changes_requested: m.changesRequested
          }
        }
      })
      return {
        ...statusView(
          realm.state,
          { path: realm.dir, head: realm.head },
          h.member?.config.repo,
          local,
          live,
          // A CLI status is itself a session for a moment: leave that one out. The MCP server's session is the agent's.
          at.flags === true ? process.pid : undefined
        ),
        // Open proposals: the change, its acknowledgements, its deadline, its blockers, what this repo is asked
        // (absent when there are none, so the fast path's output, which declines when there are, stays the same).
        ...(proposals.length === 0 ? {} : { proposals }),
        // A realm on a git server: when this machine's clone last fetched, and whether the server answered (absent for
        // a local realm, so the fast path's output stays the same).
        ...(remote === undefined ? {} : { remote })
      }
    })),
  summary: (v) =>
    [
      renderStatus(v),
      ...("proposals" in v ? renderProposals(v.proposals) : []),
      ...("remote" in v ? remoteLine(v.remote) : [])
    ].join("\n")
})

const ago = (iso: string | null, now = Date.now()) => {
  if (iso === null) return "never"
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`
}

/** The status line of a remote realm's clone. */
const remoteLine = (
  r:
    | { url: string; lastSyncAt: string | null; lastOkAt: string | null; reachable: boolean; error: string | null }
    | null
): ReadonlyArray<string> =>
  r === null ? [] : [
    r.reachable
      ? `Remote: ${r.url} · last synced ${ago(r.lastSyncAt)}`
      : `Remote: ${r.url} · not reachable at the last try (${ago(r.lastSyncAt)}); showing the clone as synced ${
        ago(r.lastOkAt)
      }`
  ]

/** `blue_realm_ack`: acknowledge contract-change notifications addressed to this repo. */
export const acknowledge = operation({
  tool: "blue_realm_ack",
  description: "Acknowledge contract-change notifications for this repo: some by id (as status shows them), or all.",
  readOnly: false,
  args: Schema.Struct({
    ids: Schema.optional(
      Schema.Array(Schema.String).annotations({ description: "Notification ids (as status shows them)" })
    ),
    all: optionalBoolean("Acknowledge every notification for this repo")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* hereAsMember(at.cwd, "ack runs inside the member repo the notifications are for")
      const ids = args.ids ?? []
      const all = args.all ?? false
      if (!all && ids.length === 0) {
        return yield* new PathProblem({ path: "ack", detail: "name the notifications to acknowledge, or pass --all" })
      }
      const out = yield* realms.execute(h.realmDir, { _tag: "AcknowledgeNotifications", ids, all }, h.actor)
      return {
        realm: out.realm,
        repo: h.member.config.repo,
        acknowledged: out.events.flatMap((e) =>
          e.event._tag === "NotificationAcknowledged"
            ? [{ id: e.event.id, contract: e.event.contract, version: e.event.version }]
            : []
        ),
        commit: out.events.length === 0 ? null : out.commit
      }
    }),
  summary: (r) =>
    r.acknowledged.length === 0
      ? "Nothing to acknowledge."
      : r.acknowledged.map((a) => `✓ Acknowledged #${a.id}: ${a.contract} ${a.version}`).join("\n")
})

/** `blue_realm_graph`: the repo dependency graph. */
export const graph = operation({
  tool: "blue_realm_graph",
  description: "Display the dependency graph: repos as nodes, provider → consumer edges labelled by domain.",
  readOnly: true,
  args: Schema.Struct({
    format: Schema.optional(
      Schema.Literal("text", "mermaid", "dot").annotations({ description: "text (default) | mermaid | dot" })
    )
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* here(at.cwd)
      const realm = yield* realms.open(h.realmDir)
      const format = args.format ?? "text"
      const g = realmGraph(realm.state)
      return { realm: realm.name, format, ...g, rendered: renderGraph(g, format, realm.name) }
    }),
  summary: (r) => r.rendered
})
