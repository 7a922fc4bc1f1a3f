/**
 * `blue realm sync` (the accepted RFC's "Sync Protocol", "Daily Development" and "Consumer Response"): in an owner
 * repo, every local export change of a contract it owns is published — a change that affects importers opens (or
 * amends) a proposal on its `sync/<repo>/<timestamp>` branch, one that affects nobody lands directly; in a consumer
 * repo, the open proposals that affect it are acknowledged when its range accepts the new version (a range the
 * change breaks is reported, exit 1) and its bindings are resolved to the versions that merged; in both, every
 * proposal the merge rule (`mayMerge`) says is ready is merged. `dry_run` decides all of it purely and writes
 * nothing. `notify: false` records the proposals (their pending notifications included) but tells no session: the
 * feed sends no notification frame for the events of that sync (they share a `sync-quiet:` correlation id).
 *
 * Also the proposal commands of approvers and owners: approve, reject and withdraw.
 */
import { Effect, Either, Schema } from "effect"
import * as semver from "semver"
import type { Actor, Command } from "../domain/commands.js"
import { decide } from "../domain/decide.js"
import type { RealmEvent } from "../domain/events.js"
import { providedBy } from "../domain/newContracts.js"
import { normalizeRange, standingOf } from "../domain/placeholder.js"
import { governanceOf, mayMerge, openProposalFor, openProposals } from "../domain/proposals.js"
import { evolve, type RealmState } from "../domain/state.js"
import { plural } from "../domain/text.js"
import { diffValues } from "../domain/valueDiff.js"
import { cachedPerFile, localExports } from "../engine/detect.js"
import { Invocation } from "../engine/invocation.js"
import { Presence, RepoCaches } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { proposalNow } from "../engine/realms/shared.js"
import { mirrorAfterSync } from "./forgeMirror.js"
import { isJoinRequestId, reviewJoin } from "./governance.js"
import { operation, optionalBoolean, optionalString } from "./operation.js"
import { here, hereAsMember } from "./where.js"

/** What sync did (or, with dry_run, would do) to one contract this repo owns. */
export interface SyncChange {
  readonly contract: string
  readonly domain: string
  /** proposal: opened for review; amended: an open proposal now carries it; landed: on main (no importer affected) */
  readonly outcome: "proposal" | "amended" | "landed" | "published" | "withdrawn"
  readonly from: string
  readonly to: string
  readonly bump: string
  readonly breaking: boolean
  readonly changes: ReadonlyArray<string>
  readonly proposal: string | null
  readonly branch: string | null
  readonly importers: ReadonlyArray<string>
  readonly reviewers: ReadonlyArray<string>
  readonly deadline: string | null
  readonly grace_period_days: number
  readonly needs_approval: boolean
  /** affected importers with a live session on this machine (told, unless notify is false) */
  readonly notified: ReadonlyArray<string>
}

/** One proposal as sync reports it afterwards. */
export interface SyncProposal {
  readonly id: string
  readonly contract: string
  readonly from: string
  readonly to: string
  readonly blockers: ReadonlyArray<string>
}

/** What a sync did (or would do). */
export interface SyncResult {
  readonly realm: string
  readonly repo: string
  readonly dry_run: boolean
  readonly notify: boolean
  readonly changes: ReadonlyArray<SyncChange>
  readonly acknowledged: ReadonlyArray<{ readonly id: string; readonly contract: string; readonly version: string }>
  readonly broken: ReadonlyArray<
    { readonly id: string; readonly contract: string; readonly range: string; readonly version: string }
  >
  readonly merged: ReadonlyArray<{ readonly id: string; readonly contract: string; readonly version: string }>
  readonly bindings: ReadonlyArray<
    { readonly contract: string; readonly domain: string; readonly from: string | null; readonly to: string }
  >
  readonly waiting: ReadonlyArray<SyncProposal>
  readonly problems: ReadonlyArray<string>
}

const now = Effect.map(Invocation, (i) => proposalNow(i.env))

const sameValue = (a: unknown, b: unknown) => diffValues(a, b).length === 0

/** The repo's import of `contract` in `domain` (its range and resolved version), if it imports it. */
const importOf = (state: RealmState, repo: string, domain: string, contract: string) =>
  (state.domains[domain]?.bindings[repo]?.imports ?? []).find((i) => i.contract === contract)

/**
 * Runs commands one after the other, for real (one realm write each, all under one correlation id) or, for a dry
 * run, decided purely against the state the previous ones would have left.
 */
const makeStepper = (dir: string, actor: Actor, initial: RealmState, dryRun: boolean, correlationId: string) =>
  Effect.gen(function*() {
    const realms = yield* Realms
    let state = initial
    const step = (command: Command) =>
      Effect.gen(function*() {
        if (dryRun) {
          const time = new Date(yield* now).toISOString()
          const events: ReadonlyArray<RealmEvent> = yield* decide(command, state, { time, actor })
          state = events.reduce((s, e) => ({ ...evolve(s, e), position: s.position + 1 }), state)
          return events
        }
        const out = yield* realms.execute(dir, command, actor, { correlationId })
        state = out.state
        return out.events.map((e) => e.event)
      })
    /** Reads the realm again (after another writer, such as the daemon's merger, moved it). */
    const refresh = dryRun ? Effect.void : Effect.map(realms.open(dir), (o) => {
      state = o.state
    })
    return { step, refresh, state: () => state }
  })

/** `blue_realm_sync`: publish local contract changes as proposals, acknowledge and resolve imports, merge. */
export const realmSync = operation({
  tool: "blue_realm_sync",
  description:
    "Sync with the realm: publish this repo's local contract changes (a change that affects importers becomes a proposal on a sync/<repo>/<timestamp> branch, reviewed by their maintainers), acknowledge the proposals that affect this repo when its range accepts them and update its bindings, and merge every proposal that is ready. dry_run shows all of it and writes nothing.",
  readOnly: false,
  args: Schema.Struct({
    dry_run: optionalBoolean("Show what sync would do; write nothing anywhere"),
    notify: optionalBoolean("Tell the affected sessions (default true; false still records the proposal)"),
    no_cache: optionalBoolean("Detect exports from code without .blue/cache.db")
  }),
  run: (o, at) =>
    Effect.scoped(Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* hereAsMember(at.cwd, "run 'blue realm sync' inside a member repo (it has .blue/config.yaml)")
      const dryRun = o.dry_run === true
      const notify = o.notify !== false
      const repo = h.member.config.repo
      // Sync pulls what others did first (a remote realm's clone is fetched whatever its age); a dry run fetches
      // nothing (it writes nothing anywhere, the clone's refs included).
      if (!dryRun) yield* realms.freshen(h.realmDir, true)
      const open = yield* realms.open(h.realmDir)
      const correlationId = `${notify ? "sync" : "sync-quiet"}:${Date.now().toString(36)}-${process.pid}`
      const stepper = yield* makeStepper(h.realmDir, h.actor, open.state, dryRun, correlationId)
      const { step } = stepper
      const state = stepper.state

      // 1. This repo as an owner: every local export change of a contract it owns.
      const changes: Array<SyncChange> = []
      const problems: Array<string> = []
      if (h.member.config.exports !== undefined) {
        // A dry run reads no cache (it would record hits and misses in .blue/cache.db).
        const perFile = dryRun ? undefined : cachedPerFile(
          yield* Effect.flatMap(RepoCaches, (c) => c.open(h.member.root, { bypass: o.no_cache ?? false })),
          h.member
        )
        const local = yield* localExports(h.member, state(), perFile)
        const live = new Set(
          (yield* Effect.orElseSucceed(Effect.flatMap(Presence, (p) => p.localSessions(open.name)), () => []))
            .map((s) => s.repo)
        )
        for (const [contract, detected] of local) {
          if ("error" in detected) {
            problems.push(`${contract}: ${detected.error}`)
            continue
          }
          let domain = Object.entries(state().domains).find(([, d]) => d.contracts[contract]?.owner === repo)?.[0]
          if (domain === undefined) {
            // Another repo's contract of that name: not this repo's to publish.
            if (Object.values(state().domains).some((d) => d.contracts[contract] !== undefined)) continue
            // A new export the code has and the realm does not: declared in the domain this repo provides.
            const provided = providedBy(state(), repo)
            if (provided.length !== 1) {
              problems.push(
                `${contract}: detected here but not in the realm, and this repo provides ${
                  provided.length === 0 ? "no domain" : `several domains (${provided.join(", ")})`
                }; declare it with 'blue realm export --name ${contract} --domain D --detect'`
              )
              continue
            }
            domain = provided[0]!
          }
          const current = state().domains[domain]!.contracts[contract]
          const pending = current === undefined ? undefined : openProposalFor(state(), domain, contract)
          if (current !== undefined && sameValue(pending?.proposed.value ?? current.value, detected.value)) continue
          const events = yield* step({ _tag: "PublishContract", contract, domain, value: detected.value })
          const days = governanceOf(state(), domain).grace_period_days
          for (const e of events) {
            if (e._tag === "ProposalOpened" || e._tag === "ProposalAmended") {
              const p = (state().proposals ?? {})[e.id]!
              changes.push({
                contract,
                domain,
                outcome: e._tag === "ProposalOpened" ? "proposal" : "amended",
                from: p.from,
                to: e.to,
                bump: e.bump,
                breaking: e.breaking,
                changes: e.changes,
                proposal: e.id,
                branch: p.branch,
                importers: p.importers,
                reviewers: p.reviewers,
                deadline: e.deadline,
                grace_period_days: days,
                needs_approval: e.breaking && governanceOf(state(), domain).require_approval,
                notified: notify ? p.importers.filter((r) => live.has(r)) : []
              })
            } else if (e._tag === "ContractBumped" || e._tag === "ContractPublished") {
              const entry = e.contract.evolution.at(-1)
              changes.push({
                contract,
                domain,
                outcome: e._tag === "ContractBumped" ? "landed" : "published",
                from: e._tag === "ContractBumped" ? e.from : e.contract.version,
                to: e.contract.version,
                bump: e._tag === "ContractBumped" ? e.bump : "initial",
                breaking: entry?.compatible === false,
                changes: entry?.changes ?? [],
                proposal: null,
                branch: null,
                importers: [],
                reviewers: [],
                deadline: null,
                grace_period_days: days,
                needs_approval: false,
                notified: []
              })
            } else if (e._tag === "ProposalWithdrawn") {
              changes.push({
                contract,
                domain,
                outcome: "withdrawn",
                from: current.version,
                to: current.version,
                bump: "none",
                breaking: false,
                changes: [],
                proposal: e.id,
                branch: null,
                importers: [],
                reviewers: [],
                deadline: null,
                grace_period_days: days,
                needs_approval: false,
                notified: []
              })
            }
          }
        }
      }

      // 2. This repo as an importer: acknowledge what its range accepts; report what it breaks.
      const acknowledged: Array<{ id: string; contract: string; version: string }> = []
      const broken: Array<{ id: string; contract: string; range: string; version: string }> = []
      for (const p of openProposals(state())) {
        if (!p.importers.includes(repo) || p.acks[repo] !== undefined) continue
        const entry = importOf(state(), repo, p.domain, p.contract)
        if (entry === undefined) continue
        if (!semver.satisfies(p.to, normalizeRange(entry.version))) {
          broken.push({ id: p.id, contract: p.contract, range: entry.version, version: p.to })
          continue
        }
        yield* step({ _tag: "AcknowledgeProposal", id: p.id })
        acknowledged.push({ id: p.id, contract: p.contract, version: p.to })
      }

      // 3. Everyone: merge what is ready (another machine may merge first: a refusal then is no failure).
      const merged: Array<{ id: string; contract: string; version: string }> = []
      const at0 = new Date(yield* now).toISOString()
      for (const p of openProposals(state())) {
        if (!mayMerge(p, state(), at0).ready) continue
        const done = yield* Effect.either(step({ _tag: "MergeProposal", id: p.id }))
        // The daemon (or another machine) may have merged it first: re-decided, it is closed as merged, which is done.
        const mergedFirst = Either.isLeft(done) && done.left._tag === "ProposalClosed" && done.left.status === "merged"
        if ((Either.isRight(done) && done.right.some((e) => e._tag === "ProposalMerged")) || mergedFirst) {
          if (mergedFirst) yield* stepper.refresh
          merged.push({ id: p.id, contract: p.contract, version: p.to })
        } else if (Either.isLeft(done)) {
          problems.push(`${p.id}: ${String((done.left as { message?: unknown }).message ?? done.left._tag)}`)
        }
      }

      // 4. This repo as an importer: resolve its bindings to the versions on main that its ranges accept.
      const bindings: Array<{ contract: string; domain: string; from: string | null; to: string }> = []
      for (const [domain, d] of Object.entries(state().domains)) {
        for (const i of d.bindings[repo]?.imports ?? []) {
          const c = d.contracts[i.contract]
          if (c === undefined || i.resolved_version === c.version) continue
          // A stale binding (the range accepts the newer version, nothing it relied on went) is resolved; a broken
          // one (a breaking version since the binding, even inside the range) is the user's to fix and re-import.
          const standing = standingOf(i, c)
          // …unless this repo acknowledged the proposal that brought that version (it adapted before the merge).
          const answered = Object.values(state().proposals ?? {}).some((p) =>
            p.status === "merged" && p.domain === domain && p.contract === i.contract && p.to === c.version &&
            p.acks[repo] !== undefined
          )
          const covered = semver.satisfies(c.version, normalizeRange(i.version))
          if (standing === "broken" && !(answered && covered)) {
            problems.push(
              `${i.contract}: your binding at ${
                i.resolved_version ?? "?"
              } is broken by ${c.version}; update your code, then 'blue realm import --contract ${i.contract} --domain ${domain} --version "${
                covered ? i.version : `^${c.version}`
              }'`
            )
            continue
          }
          if (standing !== "stale" && !answered) continue
          yield* step({ _tag: "DeclareImport", contract: i.contract, domain, version: i.version })
          bindings.push({ contract: i.contract, domain, from: i.resolved_version ?? null, to: c.version })
        }
      }

      const waiting: Array<SyncProposal> = openProposals(state())
        .filter((p) => p.repo === repo || p.importers.includes(repo))
        .map((p) => {
          const r = mayMerge(p, state(), at0)
          return {
            id: p.id,
            contract: p.contract,
            from: p.from,
            to: p.to,
            blockers: r.ready ? [] : r.blockers.map((b) => b.text)
          }
        })
      const result: SyncResult = {
        realm: open.name,
        repo,
        dry_run: dryRun,
        notify,
        changes,
        acknowledged,
        broken,
        merged,
        bindings,
        waiting,
        problems
      }
      // The realm's forge, when it has one, mirrors the proposals (docs/forges.md "The mirror").
      if (!dryRun) yield* mirrorAfterSync(h.realmDir, { quiet: notify ? [] : changes.flatMap((c) => c.proposal ?? []) })
      return result
    })),
  summary: (r: SyncResult): string => renderSync(r),
  exitCode: (r: SyncResult) => (r.broken.length > 0 ? 1 : 0)
})

/** The human text of a sync: the seed's lines, in its order. */
export const renderSync = (r: SyncResult): string => {
  const lines: Array<string> = [
    `📤 ${r.dry_run ? "Dry run: would sync" : "Syncing"} with realm '${r.realm}'...`
  ]
  for (const c of r.changes) {
    if (c.outcome === "proposal" || c.outcome === "amended") {
      lines.push(`${c.outcome === "proposal" ? "Creating branch" : "Updating branch"}: ${c.branch}`)
    }
    if (c.outcome === "withdrawn") {
      lines.push(`↩ ${c.contract} is back at ${c.from}: proposal ${c.proposal} withdrawn`)
      continue
    }
    lines.push(
      c.outcome === "published"
        ? `Contract published: ${c.contract} ${c.to}`
        : `Contract update: ${c.contract} ${c.from} → ${c.to} (${c.breaking ? "BREAKING" : "compatible"})`
    )
    for (const ch of c.changes) lines.push(`  ${ch}`)
    if (c.outcome === "landed" || c.outcome === "published") {
      lines.push(`✓ Landed on main (no importer is affected)`)
      continue
    }
    lines.push(
      c.outcome === "proposal"
        ? `✓ Proposal ${c.proposal} ${r.dry_run ? "would be " : ""}created for review`
        : `✓ Proposal ${c.proposal} ${r.dry_run ? "would be " : ""}updated (acknowledgements start again)`
    )
    lines.push(
      `Reviewers: ${c.importers.map((i) => `${i} maintainers`).join(", ")}${
        c.reviewers.length === 0 ? "" : ` (${c.reviewers.join(", ")})`
      }`
    )
    if (!r.notify) lines.push("Sessions not notified (--no-notify); the proposal is in their status")
    for (const n of c.notified) lines.push(`✓ ${n} session notified`)
    lines.push(
      c.breaking
        ? `Waiting for acknowledgment${
          c.needs_approval ? " and an approver's approval (breaking change)" : " (breaking change: no grace period)"
        }.`
        : `Waiting for acknowledgment or grace period (${plural(c.grace_period_days, "day")} for non-breaking).`
    )
  }
  const bound = new Set(r.bindings.map((b) => b.contract))
  for (const b of r.bindings) {
    lines.push(`Binding updated: ${b.contract}: resolved_version ${b.from ?? "none"} → ${b.to}`)
  }
  for (const a of r.acknowledged) {
    lines.push(`✓ Acknowledged proposal ${a.id}${bound.has(a.contract) ? "" : ` (${a.contract} ${a.version})`}`)
  }
  for (const b of r.broken) {
    lines.push(
      `✗ ${b.contract}: proposal ${b.id} moves it to ${b.version}, which your import (${b.range}) does not accept; not acknowledged — widen the range ('blue realm import') or ask the owner`
    )
    lines.push(`  To accept the break and adapt your code after the merge: blue realm ack ${b.id}`)
  }
  for (const m of r.merged) lines.push(`✓ Merged proposal ${m.id}: ${m.contract} ${m.version} is on main`)
  for (const w of r.waiting) {
    if (r.changes.some((c) => c.proposal === w.id) || w.blockers.length === 0) continue
    lines.push(`… ${w.id} (${w.contract} ${w.from} → ${w.to}): ${w.blockers.join("; ")}`)
  }
  for (const p of r.problems) lines.push(`⚠️  ${p}`)
  const nothing = r.changes.length + r.bindings.length + r.acknowledged.length + r.merged.length === 0
  if (r.broken.length === 0) {
    lines.push(
      r.dry_run
        ? "Nothing written (--dry-run)."
        : nothing && r.waiting.length === 0
        ? "✓ Realm synced (nothing to do)"
        : "✓ Realm synced"
    )
  }
  return lines.join("\n")
}

/** The change a proposal carries, for messages. */
const describe = (r: { readonly contract: string | null; readonly from: string | null; readonly to: string | null }) =>
  r.contract === null ? "" : ` (${r.contract} ${r.from} → ${r.to})`

/** What a proposal command did: the decision, and the merge it made possible. */
interface ProposalDecision {
  readonly realm: string
  readonly id: string
  readonly changed: boolean
  readonly status: string
  readonly domain: string | null
  readonly contract: string | null
  readonly from: string | null
  readonly to: string | null
  readonly merged: boolean
  readonly commit: string | null
  readonly verb: string
  /** an explicit ack of a version the importer's range does not accept (it will adapt) */
  readonly accepted_breaking: boolean
  /** what the proposal still waits for, when it did not merge */
  readonly blockers: ReadonlyArray<string>
}

/** What an approver's decision on a join request did (`blue_realm_approve`/`_reject` given a `join-…` id). */
type JoinDecision = Effect.Effect.Success<ReturnType<typeof reviewJoin.run>>

const decided = (r: ProposalDecision): string => {
  const lines = [
    `✓ Proposal ${r.id}${describe(r)} ${r.changed ? r.verb : `was already ${r.verb}`}${
      r.merged ? `; merged: ${r.contract} ${r.to} is on main` : ""
    }`
  ]
  if (r.accepted_breaking) {
    lines.push(
      `  You accepted a version your import range does not cover: once it merges your binding reads broken until you update your code and widen the range ('blue realm import --contract ${r.contract} --domain ${r.domain} --version "^${r.to}"')`
    )
  }
  if (!r.merged && r.status === "open" && r.blockers.length > 0) lines.push(`  Waiting: ${r.blockers.join("; ")}`)
  return lines.join("\n")
}

const proposalCommand = <A extends { readonly id: string }>(
  tool: string,
  description: string,
  args: Schema.Schema<A, any>,
  command: (a: A) => Command,
  verb: string,
  /** an approver's verdict on a join request, when the id is one (`join-…`): the CLI's dispatch, for every shell */
  join?: (a: A) => { readonly verdict: "approve" | "reject"; readonly reason?: string | undefined }
) =>
  operation({
    tool,
    description,
    readOnly: false,
    args,
    run: (o: A, at) =>
      Effect.gen(function*() {
        if (join !== undefined && isJoinRequestId(o.id)) {
          const j = join(o)
          const joined: ProposalDecision | JoinDecision = yield* reviewJoin.run(
            { id: o.id, verdict: j.verdict, reason: j.reason },
            at
          )
          return joined
        }
        const realms = yield* Realms
        // An approver decides as a person, also from the realm's own checkout (as for join requests); importers and
        // owners act for their repo.
        const h = join !== undefined ? yield* here(at.cwd) : yield* hereAsMember(at.cwd)
        const out = yield* realms.execute(h.realmDir, command(o), h.actor)
        const p = (out.state.proposals ?? {})[o.id]
        // A decision may make the proposal ready (an approval): merge it now, as a sync would.
        let merged = false
        const time = new Date(proposalNow((yield* Invocation).env)).toISOString()
        if (p !== undefined && p.status === "open") {
          if (mayMerge(p, out.state, time).ready) {
            const m = yield* Effect.either(realms.execute(h.realmDir, { _tag: "MergeProposal", id: p.id }, h.actor))
            // The daemon merges ready proposals too: a lost race re-decides and finds it merged, which is done.
            merged = Either.isRight(m)
              ? m.right.events.some((e) => e.type === "ProposalMerged")
              : m.left._tag === "ProposalClosed" && m.left.status === "merged"
          }
        }
        const after = merged ? (yield* realms.open(h.realmDir)).state : out.state
        const final = (after.proposals ?? {})[o.id]
        const readiness = final === undefined ? undefined : mayMerge(final, after, time)
        const result: ProposalDecision | JoinDecision = {
          realm: out.realm,
          id: o.id,
          changed: out.events.length > 0,
          status: merged ? "merged" : final?.status ?? "unknown",
          domain: final?.domain ?? null,
          contract: final?.contract ?? null,
          from: final?.from ?? null,
          to: final?.to ?? null,
          merged,
          commit: out.events.length > 0 ? out.commit : null,
          verb,
          accepted_breaking: out.events.some((e) =>
            e.event._tag === "ProposalAcknowledged" && e.event.accepted_breaking === true
          ),
          blockers: readiness === undefined || readiness.ready || final?.status !== "open"
            ? []
            : readiness.blockers.map((b) => b.text)
        }
        return result
      }),
    summary: (r: ProposalDecision | JoinDecision) => "verdict" in r ? reviewJoin.summary(r) : decided(r)
  })

/**
 * `blue_realm_ack_proposal`: the importer acknowledges a proposal explicitly — also one its range does not accept
 * (recorded with `accepted_breaking`: it has seen the break and will adapt; its binding reads broken after the merge
 * until it widens its range). `blue realm sync` never does that silently.
 */
export const acknowledgeProposal = proposalCommand(
  "blue_realm_ack_proposal",
  "Acknowledge a contract-change proposal for this repo explicitly (an affected importer), even one its import range does not accept: you have seen the change and will adapt; after the merge your binding reads broken until you widen the range with blue_realm_import. blue_realm_sync acknowledges only what the range accepts.",
  Schema.Struct({ id: Schema.String.annotations({ description: "The proposal's id (as status shows it)" }) }),
  (o) => ({ _tag: "AcknowledgeProposal", id: o.id, accept_breaking: true }),
  "acknowledged"
)

/** `blue_realm_approve`: an approver approves a proposal (a breaking change under require_approval needs one). */
export const approveProposal = proposalCommand(
  "blue_realm_approve",
  "Approve a contract-change proposal (approvers only, as realm.yaml's governance names them; a breaking change under require_approval merges only once approved) or a join request (its id starts with join-: the repo joins).",
  Schema.Struct({
    id: Schema.String.annotations({
      description: "The proposal's id, or a join request's (join-…), as status shows it"
    })
  }),
  (o) => ({ _tag: "ApproveProposal", id: o.id }),
  "approved",
  () => ({ verdict: "approve" })
)

/** `blue_realm_reject`: an approver rejects a proposal; it never merges. */
export const rejectProposal = proposalCommand(
  "blue_realm_reject",
  "Reject a contract-change proposal (approvers only; it will never merge) or a join request (its id starts with join-).",
  Schema.Struct({
    id: Schema.String.annotations({
      description: "The proposal's id, or a join request's (join-…), as status shows it"
    }),
    reason: optionalString("Why, recorded with the rejection")
  }),
  (o) => ({ _tag: "RejectProposal", id: o.id, ...(o.reason === undefined ? {} : { reason: o.reason }) }),
  "rejected",
  (o) => ({ verdict: "reject", reason: o.reason })
)

/** `blue_realm_withdraw`: the owner withdraws its proposal. */
export const withdrawProposal = proposalCommand(
  "blue_realm_withdraw",
  "Withdraw this repo's own contract-change proposal; it will never merge.",
  Schema.Struct({
    id: Schema.String.annotations({ description: "The proposal's id (as status shows it)" }),
    reason: optionalString("Why, recorded with the withdrawal")
  }),
  (o) => ({ _tag: "WithdrawProposal", id: o.id, reason: o.reason ?? "withdrawn by its owner" }),
  "withdrawn"
)
