/**
 * The daemon merges ready proposals (SPEC §2.4): whether a proposal may merge is a function of the log and the
 * time, so a grace period that ends merges a compatible change without anyone syncing. Every tracked realm is
 * looked at after each batch of new events (an acknowledgement or an approval may make a proposal ready) and every
 * BLUE_PROPOSAL_POLL_MS (default 60 s; the time alone may). A merge is an ordinary write with compare-and-swap: two
 * machines that both find a proposal ready race, the loser re-decides and finds it merged (refused, ignored).
 * BLUE_NOW (an ISO time or `+<n>d`) moves the merge rule's clock in tests and demos.
 */
import { Duration, Effect, Layer, Queue, Schedule } from "effect"
import { PubSub } from "effect"
import { mayMerge, openProposals } from "../domain/proposals.js"
import { EventLog, Identity, type RealmRow } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { proposalNow } from "../engine/realms/shared.js"

/** How often the daemon looks for proposals the time alone made ready (ms). */
export const DEFAULT_PROPOSAL_POLL_MS = 60_000

const pollMs = (env: Readonly<Record<string, string | undefined>>) => {
  const raw = Number(env["BLUE_PROPOSAL_POLL_MS"])
  return Number.isFinite(raw) && raw >= 50 && env["BLUE_PROPOSAL_POLL_MS"] !== "" ? raw : DEFAULT_PROPOSAL_POLL_MS
}

/** Merges the ready proposals of every tracked realm, on new events and on a timer, until the scope closes. */
export const ProposalMergerLive = Layer.scopedDiscard(Effect.gen(function*() {
  const realms = yield* Realms
  const log = yield* EventLog
  const identity = yield* Identity
  const busy = new Set<string>()

  /** The ready proposals of one realm, merged one by one (a refusal — merged elsewhere first — is no failure). */
  const mergeIn = (row: RealmRow) =>
    Effect.gen(function*() {
      if (busy.has(row.name)) return
      busy.add(row.name)
      yield* Effect.gen(function*() {
        const state = yield* realms.stateOf(row.name)
        const now = new Date(proposalNow(process.env)).toISOString()
        const ready = openProposals(state).filter((p) => mayMerge(p, state, now).ready)
        if (ready.length === 0) return
        const user = yield* identity.current(row.localPath, process.env)
        for (const p of ready) {
          yield* Effect.ignore(realms.execute(row.localPath, { _tag: "MergeProposal", id: p.id }, { user }))
        }
      }).pipe(Effect.ensuring(Effect.sync(() => busy.delete(row.name))))
    }).pipe(Effect.ignore)

  const rows = Effect.orElseSucceed(log.realms, () => [] as ReadonlyArray<RealmRow>)
  const all = Effect.flatMap(rows, (list) => Effect.forEach(list, mergeIn, { discard: true }))
  const every = Duration.millis(pollMs(process.env))
  yield* Effect.forkScoped(all.pipe(Effect.repeat(Schedule.spaced(every)), Effect.delay(every)))

  // After each batch of new events (a merge's own events included: they find nothing ready and stop there).
  const changes = yield* PubSub.subscribe(log.changes)
  yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
    const batch = yield* Queue.takeBetween(changes, 1, 1_000)
    const names = new Set<string>()
    for (const c of batch) if (c._tag === "Recorded") names.add(c.realm)
    if (names.size === 0) return
    const list = yield* rows
    for (const r of list) if (names.has(r.name)) yield* mergeIn(r)
  })))
}))
