/**
 * The status view: what `blue realm status` shows a member repo (or an admin in the realm repo).
 */
import semverGt from "semver/functions/gt.js"
import semverValid from "semver/functions/valid.js"
import { type Bump, nextVersion, valueBump } from "../domain/compatibility/versions.js"
import type { ContractFile, Role } from "../domain/files.js"
import { breakingSince, importStanding, isPlaceholder, standingOf } from "../domain/placeholder.js"
import type { PendingNotification, RealmState } from "../domain/state.js"
import { plural } from "../domain/text.js"
import { diffValues, formatValueChange } from "../domain/valueDiff.js"
import { changesOf, lastCommitOf, nextToMerge, pullLabel } from "../domain/worktrees.js"
import { notificationSummary } from "./notifications.js"

/** What detection found in the repo for one of its exports. */
export type LocalExport = { readonly value: unknown } | { readonly error: string }

/** An importer a local change would reach. */
export interface AffectedImporter {
  readonly repo: string
  readonly range: string
  /** how its import would stand after publishing */
  readonly after: "current" | "stale" | "broken"
}

/** One contract as status shows it. */
export interface ContractView {
  readonly name: string
  readonly version: string
  readonly owner: string
  /** for consumers: the range this repo imports and how it stands against the current version */
  readonly import?: {
    readonly version: string
    readonly status: string
    readonly standing: "current" | "stale" | "broken"
    readonly resolved_version?: string
    readonly binding?: string
    /** the incompatible version since the resolved one that broke it although its range still matches */
    readonly breaking_version?: string
    /** what changed since the resolved version */
    readonly changes: ReadonlyArray<string>
  }
  /** for the owner: what the code says now, when it differs from the contract */
  readonly local?:
    | {
      readonly changes: ReadonlyArray<string>
      readonly bump: Bump
      readonly next_version: string
      readonly affected: ReadonlyArray<AffectedImporter>
    }
    | { readonly error: string }
}

const changesSince = (c: ContractFile, resolved: string | undefined) =>
  c.evolution
    .filter((e) => resolved === undefined || (semverValid(e.version) !== null && semverGt(e.version, resolved)))
    .flatMap((e) => e.changes.map((ch) => `${e.version}: ${ch}`))

const localView = (state: RealmState, domain: string, c: ContractFile, local: LocalExport): ContractView["local"] => {
  if ("error" in local) return { error: local.error }
  const changes = diffValues(c.value, local.value)
  if (changes.length === 0) return undefined
  const initial = isPlaceholder(c)
  const bump = initial ? "none" : valueBump(c.value, local.value)
  const next = initial ? c.version : nextVersion(c.version, bump === "none" ? "patch" : bump) ?? c.version
  const removes = changes.some((ch) => ch.kind !== "added")
  const affected = Object.values(state.domains[domain]?.bindings ?? {}).flatMap((b) =>
    (b.imports ?? []).filter((i) => i.contract === c.name).map((i) => {
      const after = importStanding(i.version, i.resolved_version, next)
      return { repo: b.repo, range: i.version, after: removes ? "broken" as const : after }
    })
  )
  // The seed's wording: "+ training-metrics/experiments/*", with the field it sits in after it.
  const shown = changes.map((ch) =>
    ch.kind === "changed" || ch.path === "" ? formatValueChange(ch) : `${formatValueChange(ch)} (${ch.path})`
  )
  return { changes: shown, bump, next_version: next, affected }
}

/** One domain of the repo. */
export interface DomainView {
  readonly name: string
  readonly role: Role | "member"
  readonly contracts: ReadonlyArray<ContractView>
  readonly peers: ReadonlyArray<{ readonly repo: string; readonly role: Role | "member"; readonly joined: boolean }>
}

/** A session as the daemon records it (the fields status reads). */
export interface SessionInput {
  readonly repo: string
  readonly client_id: string
  readonly pid: number | null
  readonly started_at: string
  readonly last_activity: string
  readonly active_rfc: string | null
  readonly machine?: string
  /** when the other machine last published its sessions */
  readonly seen_at?: string
}

/** A live session in the realm, as status shows it (this machine's, from daemon.db). */
export interface SessionView extends Omit<SessionInput, "machine"> {
  /** the other machine it runs on, as published on the realm's `blue/sessions/<machine>` branch (null: this one) */
  readonly machine: string | null
  /** a session in this repo (the status command's own is not listed) */
  readonly you: boolean
}

/** One change of a contract this repo owns and how its importers answered it. */
export interface AckView {
  readonly id: string
  readonly domain: string
  readonly contract: string
  readonly version: string
  readonly change_type: "updated" | "breaking" | "new"
  readonly created_at: string
  readonly acknowledged: ReadonlyArray<{ readonly repo: string; readonly at: string }>
  readonly pending: ReadonlyArray<string>
  /** the proposal these acknowledgements answer (absent for a change that landed on main) */
  readonly proposal?: string
}

/** The status document (also the `--json` output). */
export interface StatusView {
  readonly realm: {
    readonly name: string
    readonly path: string
    readonly head: string
    readonly position: number
    readonly admission: string
    readonly repos: number
    readonly domains: number
  }
  /** `join_request`: the id of its pending join request, while an approver has not answered it */
  readonly repo: { readonly name: string; readonly member: boolean; readonly join_request?: string } | null
  readonly domains: ReadonlyArray<DomainView>
  readonly repos: ReadonlyArray<{ readonly name: string; readonly path?: string; readonly joined_at: string }>
  /** contract changes this repo has not acknowledged yet (`blue realm ack`) */
  readonly notifications: ReadonlyArray<PendingNotification>
  /** live sessions in the realm: who works where */
  readonly sessions: ReadonlyArray<SessionView>
  /** for an owner: the latest changes of its contracts and which importers acknowledged them */
  readonly acknowledgements: ReadonlyArray<AckView>
  /** coordinated changes this repo takes part in (every one in the admin view); absent when there is none */
  readonly coordinated_changes?: ReadonlyArray<CoordinatedChangeView>
}

const joinRequestOf = (state: RealmState, repo: string): { readonly join_request?: string } => {
  const request = Object.values(state.governance?.requests ?? {}).find((r) => r.repo.name === repo)
  return request === undefined ? {} : { join_request: request.id }
}

/** A coordinated change as status shows it: its branch, RFC, domains and how far each repo got. */
export interface CoordinatedChangeView {
  readonly name: string
  readonly source_rfc: string
  readonly domains: ReadonlyArray<string>
  readonly created_at: string
  readonly commits: number
  readonly repos: ReadonlyArray<{
    readonly name: string
    readonly path: string | null
    readonly status: "active" | "pushed" | "elsewhere"
    readonly commits: number
    /** the last coordinated commit in this repo, if any */
    readonly head: string | null
    readonly pushed: boolean
    /** its pull request, once `blue realm pr` opened it (state as last seen: `blue realm pr` again refreshes it) */
    readonly pr?: {
      readonly number: number
      readonly url: string | null
      readonly state: "open" | "closed" | "merged"
      readonly forge: "forgejo" | "github" | "local"
      readonly blocked_by: ReadonlyArray<string>
    }
  }>
  /** the PRs in merge order (`repo#n`), once opened */
  readonly merge_order?: ReadonlyArray<string>
  /** the first open PR in merge order whose blockers have merged, or null when none may merge */
  readonly next_to_merge?: string | null
}

/** The coordinated changes `repo` takes part in (all of them when undefined), for status. */
export const coordinatedChangesView = (
  state: RealmState,
  repo: string | undefined,
  order: (a: string, b: string) => number = (a, b) => a.localeCompare(b)
): ReadonlyArray<CoordinatedChangeView> =>
  Object.values(changesOf(state))
    .filter((c) => repo === undefined || c.repos.some((r) => r.name === repo))
    .sort((a, b) => order(a.name, b.name))
    .map((c) => ({
      name: c.name,
      source_rfc: c.source_rfc,
      domains: c.domains ?? [c.domain],
      created_at: c.created_at,
      commits: c.coordination.commits.length,
      repos: c.repos.map((r) => {
        const head = lastCommitOf(c, r.name) ?? null
        return {
          name: r.name,
          path: r.path ?? null,
          status: r.status,
          commits: r.commits,
          head,
          pushed: r.status === "pushed",
          ...(r.pr === undefined ? {} : {
            pr: {
              number: r.pr.number,
              url: r.pr.url ?? null,
              state: r.pr.state,
              forge: r.pr.forge,
              blocked_by: r.pr.blocked_by.flatMap((b) => {
                const other = c.repos.find((x) => x.name === b)?.pr
                return other === undefined ? [] : [pullLabel(b, other)]
              })
            }
          })
        }
      }),
      ...(c.coordination.merge_order === undefined ? {} : {
        merge_order: c.coordination.merge_order.flatMap((n) => {
          const p = c.repos.find((x) => x.name === n)?.pr
          return p === undefined ? [] : [pullLabel(n, p)]
        }),
        next_to_merge: (() => {
          const next = nextToMerge(c)
          const p = next === undefined ? undefined : c.repos.find((x) => x.name === next)?.pr
          return next === undefined || p === undefined ? null : pullLabel(next, p)
        })()
      })
    }))

/** The status lines of coordinated changes. */
export const renderCoordinatedChanges = (changes: ReadonlyArray<CoordinatedChangeView>): Array<string> =>
  changes.flatMap((c) => [
    `🔀 Coordinated change ${c.name} (${c.source_rfc}; ${c.domains.join(", ")}): ${plural(c.commits, "linked commit")}`,
    ...c.repos.map((r) =>
      r.status === "elsewhere"
        ? `    ${r.name}: to be set up there (not on this machine)`
        : `    ${r.name}: ${plural(r.commits, "commit")}${r.head === null ? "" : ` (${r.head.slice(0, 7)})`}, ${
          r.pushed ? "pushed" : r.commits === 0 ? "nothing to push yet" : "not pushed"
        }${
          r.pr === undefined
            ? ""
            : `, ${r.pr.forge === "local" ? "local PR" : "PR"} #${r.pr.number} ${r.pr.state}${
              r.pr.blocked_by.length === 0 ? "" : ` (blocked by ${r.pr.blocked_by.join(", ")})`
            }`
        }`
    ),
    ...(c.merge_order === undefined || c.merge_order.length === 0 ? [] : [
      `    Merge order: ${c.merge_order.join(" → ")}; ${
        c.next_to_merge !== null && c.next_to_merge !== undefined
          ? `next to merge: ${c.next_to_merge}`
          : c.repos.every((r) => r.pr === undefined || r.pr.state === "merged")
          ? "all merged"
          : c.repos.some((r) => r.pr?.state === "open")
          ? "nothing may merge next (a PR it waits for was closed)"
          : "no PR is open"
      }`
    ])
  ])

const roleIn = (state: RealmState, domain: string, repo: string): Role | "member" =>
  state.domains[domain]?.bindings[repo]?.role ?? "member"

/**
 * Builds the status view of `repo` (or of the whole realm when `repo` is undefined). Domain and repo names are
 * sorted with `order`, by default `localeCompare`; a caller may pass a comparator that gives the same answers.
 */
export const statusView = (
  state: RealmState,
  realm: { readonly path: string; readonly head: string },
  repo: string | undefined,
  local: ReadonlyMap<string, LocalExport> = new Map(),
  sessions: ReadonlyArray<SessionInput> = [],
  self?: number,
  order: (a: string, b: string) => number = (a, b) => a.localeCompare(b)
): StatusView => {
  const coordinated = coordinatedChangesView(state, repo, order)
  const domains = Object.entries(state.domains)
    .filter(([, d]) => repo === undefined || d.file.members.includes(repo) || repo in d.bindings)
    .sort(([a], [b]) => order(a, b))
    .map(([name, d]): DomainView => {
      const imports = repo === undefined ? [] : d.bindings[repo]?.imports ?? []
      return {
        name,
        role: repo === undefined ? "member" : roleIn(state, name, repo),
        contracts: Object.values(d.contracts).map((c): ContractView => {
          const imp = imports.find((i) => i.contract === c.name)
          const detected = c.owner === repo ? local.get(c.name) : undefined
          const localChange = detected === undefined ? undefined : localView(state, name, c, detected)
          const live = imp === undefined ? undefined : standingOf(imp, c)
          return {
            name: c.name,
            version: c.version,
            owner: c.owner,
            ...(imp === undefined || live === undefined ? {} : {
              import: {
                version: imp.version,
                status: imp.status,
                standing: live,
                ...(imp.resolved_version === undefined ? {} : { resolved_version: imp.resolved_version }),
                ...(imp.binding === undefined ? {} : { binding: imp.binding }),
                ...(live === "broken" && importStanding(imp.version, imp.resolved_version, c.version) !== "broken" &&
                    breakingSince(imp, c) !== undefined
                  ? { breaking_version: breakingSince(imp, c)! }
                  : {}),
                changes: live === "current" ? [] : changesSince(c, imp.resolved_version)
              }
            }),
            ...(localChange === undefined ? {} : { local: localChange })
          }
        }),
        peers: d.file.members
          .filter((m) => m !== repo)
          .map((m) => ({ repo: m, role: roleIn(state, name, m), joined: m in state.repos }))
      }
    })
  return {
    realm: {
      name: state.realm?.name ?? "",
      path: realm.path,
      head: realm.head,
      position: state.position,
      admission: state.realm?.governance.admission ?? "open",
      repos: Object.keys(state.repos).length,
      domains: Object.keys(state.domains).length
    },
    repo: repo === undefined ? null : {
      name: repo,
      member: repo in state.repos,
      ...(repo in state.repos ? {} : joinRequestOf(state, repo))
    },
    domains,
    notifications: Object.values(state.pending ?? {})
      .filter((n) => repo !== undefined && n.repo === repo)
      .sort((a, b) => Number(a.id) - Number(b.id)),
    // The status command's own momentary registration is left out: "you" are the sessions in this repo.
    sessions: sessions
      .filter((x) => self === undefined || x.pid !== self)
      .map((x): SessionView => ({
        repo: x.repo,
        client_id: x.client_id,
        pid: x.pid,
        started_at: x.started_at,
        last_activity: x.last_activity,
        active_rfc: x.active_rfc,
        machine: x.machine ?? null,
        ...(x.seen_at === undefined ? {} : { seen_at: x.seen_at }),
        you: x.repo === repo
      }))
      .sort((a, b) => Number(b.you) - Number(a.you) || a.started_at.localeCompare(b.started_at)),
    acknowledgements: repo === undefined ? [] : Object.values(state.changes ?? {})
      .flat()
      .filter((c) => state.domains[c.domain]?.contracts[c.contract]?.owner === repo)
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((c): AckView => {
        const answers = Object.entries(c.importers).sort(([a], [b]) => order(a, b))
        return {
          id: c.id,
          domain: c.domain,
          contract: c.contract,
          version: c.version,
          change_type: c.change_type,
          created_at: c.created_at,
          acknowledged: answers.flatMap(([r, at]) => (at === null ? [] : [{ repo: r, at }])),
          pending: answers.flatMap(([r, at]) => (at === null ? [r] : [])),
          ...(c.proposal === undefined ? {} : { proposal: c.proposal })
        }
      }),
    repos: Object.values(state.repos)
      .map((r) => ({ name: r.name, ...(r.path === undefined ? {} : { path: r.path }), joined_at: r.joined_at }))
      .sort((a, b) => order(a.name, b.name)),
    ...(coordinated.length === 0 ? {} : { coordinated_changes: coordinated })
  }
}

/** How long ago `iso` was, as the seeds write it: "just now", "5 min ago", "3 h ago", "2 days ago". */
export const ago = (iso: string, now: number = Date.now()): string => {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  const s = Math.max(0, Math.floor((now - t) / 1000))
  if (s < 60) return "just now"
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  const days = Math.floor(s / 86400)
  return days === 1 ? "1 day ago" : `${days} days ago`
}

/** Human rendering of the status view, modelled on the seeds' examples (times relative to `now`). */
export const renderStatus = (v: StatusView, now: number = Date.now()): string => {
  const lines: Array<string> = []
  lines.push(
    v.repo === null ? `📊 realm ${v.realm.name} (admin view)` : `📊 ${v.repo.name} (in realm: ${v.realm.name})`
  )
  if (v.repo !== null && !v.repo.member) {
    lines.push(
      v.repo.join_request === undefined
        ? `⚠️  ${v.repo.name} is not a member of this realm any more.`
        : `⏳ ${v.repo.name} is not a member yet: join request ${v.repo.join_request} waits for an approver ('blue realm admin approve ${v.repo.join_request}').`
    )
  }
  for (const d of v.domains) {
    for (const c of d.contracts) {
      if (c.local === undefined) continue
      if ("error" in c.local) {
        lines.push(`⚠️  Cannot detect contract ${c.name} from code: ${c.local.error}`)
        continue
      }
      lines.push(`⚠️  Contract change detected in domain '${d.name}':`)
      lines.push(`  ${c.name} has local changes:`)
      for (const ch of c.local.changes) lines.push(`    ${ch}`)
      if (c.local.affected.length > 0) {
        lines.push("  Affected repos:")
        for (const a of c.local.affected) {
          lines.push(`    - ${a.repo} (imports ${a.range})${a.after === "broken" ? " — this breaks it" : ""}`)
        }
      }
      lines.push(
        c.local.next_version === c.version
          ? `  Run 'blue realm export --name ${c.name} --detect' to publish it as ${c.version} (first value)`
          : `  Run 'blue realm export --name ${c.name} --detect' to publish ${c.version} → ${c.local.next_version} (${c.local.bump})`
      )
    }
  }
  for (const n of v.notifications) {
    lines.push(notificationSummary(n, ago(n.created_at, now)))
    lines.push(
      `    Acknowledge with 'blue realm ack ${n.id}' (or re-run 'blue realm import' once your binding handles it)`
    )
  }
  for (const d of v.domains) {
    for (const c of d.contracts) {
      const imp = c.import
      if (imp === undefined || imp.standing === "current") continue
      lines.push(
        imp.standing === "stale"
          ? `🔔 Stale import in domain '${d.name}': ${c.name} ${
            imp.resolved_version ?? "?"
          } → ${c.version} available (your range ${imp.version} still matches)`
          : imp.breaking_version !== undefined
          ? `❌ Broken import in domain '${d.name}': ${c.name} ${imp.breaking_version} changed incompatibly since your binding at ${imp.resolved_version} (your range ${imp.version} still matches; it is at ${c.version})`
          : `❌ Broken import in domain '${d.name}': ${c.name} is at ${c.version}, outside your range ${imp.version}`
      )
      if (imp.binding !== undefined) lines.push(`    Binding: ${imp.binding}`)
      for (const ch of imp.changes) lines.push(`    ${ch}`)
    }
  }
  if (v.domains.length === 0) lines.push("Domains: none yet (create one with 'blue realm admin domain create')")
  else lines.push("Domains:")
  for (const d of v.domains) {
    lines.push(`  ${d.name} (${d.role})`)
    for (const c of d.contracts) {
      const imp = c.import === undefined
        ? ""
        : ` — imports ${c.import.version}, ${c.import.standing}${
          c.import.resolved_version === undefined ? "" : ` (resolved ${c.import.resolved_version})`
        }`
      lines.push(`    Contract: ${c.name} v${c.version} (owner: ${c.owner})${imp}`)
    }
    if (d.peers.length > 0) {
      lines.push(
        `    Peers: ${d.peers.map((p) => `${p.repo} (${p.role}${p.joined ? "" : ", not joined yet"})`).join(", ")}`
      )
    }
  }
  if (v.repo !== null) {
    if (v.sessions.length === 0) lines.push("Active sessions: none")
    else lines.push("Active sessions:")
    for (const x of v.sessions) {
      lines.push(
        `  • ${x.repo}${x.you ? " (you)" : ""} - ${
          x.active_rfc === null ? "idle" : `working on ${x.active_rfc}`
        } (${x.client_id}${x.pid === null ? "" : `, pid ${x.pid}`}, since ${ago(x.started_at, now)}${
          x.machine === null ? "" : `, on ${x.machine}${x.seen_at === undefined ? "" : `, seen ${ago(x.seen_at, now)}`}`
        })`
      )
    }
  }
  lines.push(...renderCoordinatedChanges(v.coordinated_changes ?? []))
  // The owner's side of its notifications, in the seed's words: "5 min ago: fungal acknowledged s3-permissions 1.4.0".
  if (v.acknowledgements.length > 0) lines.push("Notifications:")
  for (const a of v.acknowledgements) {
    for (const k of a.acknowledged) {
      lines.push(`  ✓ ${ago(k.at, now)}: ${k.repo} acknowledged ${a.contract} ${a.version}`)
    }
    for (const r of a.pending) {
      lines.push(`  ⏳ ${r} has not acknowledged ${a.contract} ${a.version} yet (sent ${ago(a.created_at, now)})`)
    }
  }
  lines.push(
    `Realm: ${plural(v.realm.repos, "repo")}, ${plural(v.realm.domains, "domain")}, ${
      plural(v.realm.position, "event")
    } · admission ${v.realm.admission} · ${v.realm.path} @ ${v.realm.head.slice(0, 8)}`
  )
  return lines.join("\n")
}
