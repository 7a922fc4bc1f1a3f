/**
 * Proposals mirrored on the realm's forge (SPEC §2.4, docs/forges.md "The mirror"): the realm log stays the truth,
 * the forge is a mirror that `reconcileProposals` brings level with it, idempotently, after every sync and on the
 * daemon's poll. Every create follows a lookup (a PR by its head branch, an issue by its hidden marker), so a run
 * killed at any request converges when it runs again, with nothing created twice.
 *
 * * An open proposal gets a pull request from its `sync/<repo>/<stamp>` branch into `main`, its importers'
 *   `forge:<login>` maintainers asked to review.
 * * An APPROVED review on the PR's current head by such a login acknowledges each affected repo that lists it
 *   (`AcknowledgeProposal` as that repo, by `forge:<login>`); by a login that governance lists as `forge:<login>`
 *   among the approvers, it approves (`ApproveProposal`). Both are decided like any command (re-decided after a race).
 * * A PR closed by hand (not merged) withdraws the proposal (`WithdrawProposal` as the owning repo).
 * * The merge is Blue's own: when `mayMerge` says ready, `MergeProposal` goes through the normal compare-and-swap
 *   append (the realm's main moves by Blue's push, never by the forge's merge button). The PR is then closed (the
 *   fakes, like the real forges, do not see a Blue commit as the PR's merge) and the notify issues are closed.
 * * `--notify` (default on): one issue per (proposal, affected repo) in the repo's own forge repo (`repos/R.yaml`
 *   `url`, when it is on the same forge), marked `<!-- blue:proposal=<id> repo=<r> -->`, updated on amend,
 *   closed when the proposal closes.
 *
 * What was mirrored is kept in `<realm>/.git/blue-forge.json` (PR URL and number, review state, issues): status
 * shows it without asking the forge, and closed proposals are tidied once.
 */
import { Effect, Option } from "effect"
import { execFileSync } from "node:child_process"
import { forgeLoginOf, forgeMaintainer, forgeReviewers, reposOfForgeLogin } from "../domain/forgeUsers.js"
import { governanceOf, mayMerge } from "../domain/proposals.js"
import type { ProposalState, RealmState } from "../domain/state.js"
import { type MirrorFile, type PullMirror, readMirror, writeMirror } from "../engine/forgeMirrorStore.js"
import {
  type ForgeFailure,
  type ForgeRepoRef,
  type ForgeService,
  githubApiUrl,
  githubWebUrl,
  issueMarker,
  RemoteGit
} from "../engine/ports.js"
import { EventLog, type ForgeLocation, Forges, Identity } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { proposalNow } from "../engine/realms/shared.js"

/** The realm's main branch, the base of every proposal's PR. */
const BASE = "main"

/** A forge location with the repo a URL names on it. */
export interface ForgeRepoAt {
  readonly location: ForgeLocation
  readonly ref: ForgeRepoRef
}

const ownerRepo = (rest: string): ForgeRepoRef | undefined => {
  const parts = rest.replace(/\.git\/?$/, "").split("/").filter((s) => s !== "")
  return parts.length === 2 ? { owner: decodeURIComponent(parts[0]!), repo: decodeURIComponent(parts[1]!) } : undefined
}

/**
 * Which forge a repo URL is on, and which repo it names: under `BLUE_FORGEJO_URL` → Forgejo; under GitHub's web URL
 * (github.com, or the origin of `BLUE_GITHUB_API_URL`) → GitHub; otherwise none (a plain git server or a path).
 */
export const forgeRepoOfUrl = (
  url: string | undefined,
  env: NodeJS.ProcessEnv = process.env
): ForgeRepoAt | undefined => {
  if (url === undefined || !/^https?:\/\//.test(url)) return undefined
  const forgejo = (env["BLUE_FORGEJO_URL"] ?? "").replace(/\/+$/, "")
  if (forgejo !== "" && url.startsWith(`${forgejo}/`)) {
    const ref = ownerRepo(url.slice(forgejo.length + 1))
    return ref === undefined ? undefined : { location: { kind: "forgejo", url: forgejo }, ref }
  }
  const apiUrl = githubApiUrl(env)
  const web = githubWebUrl(apiUrl)
  if (url.startsWith(`${web}/`)) {
    const ref = ownerRepo(url.slice(web.length + 1))
    return ref === undefined ? undefined : { location: { kind: "github", apiUrl, webUrl: web }, ref }
  }
  return undefined
}

/** The title of a proposal's PR: "aperture: s3-permissions 1.5.0". */
export const pullTitle = (p: ProposalState): string => `${p.repo}: ${p.contract} ${p.to}`

/** The title of a notify issue: "<contract> <from> → <to>: <first change>". */
export const issueTitle = (p: ProposalState): string =>
  `${p.contract} ${p.from} → ${p.to}${p.changes[0] === undefined ? "" : `: ${p.changes[0]}`}`.slice(0, 250)

/** The key of the hidden marker of a proposal's notify issue in `repo`. */
export const issueKey = (id: string, repo: string): string => `proposal=${id} repo=${repo}`

const pullBody = (p: ProposalState, unmapped: ReadonlyArray<string>): string =>
  [
    `${p.repo} proposes ${p.contract} ${p.from} → ${p.to} (${p.breaking ? "BREAKING" : "compatible"}, ${p.bump}).`,
    "",
    ...p.changes.map((c) => `* ${c}`),
    "",
    `Affected importers: ${
      p.importers.join(", ") || "none"
    }. An approval here by a maintainer of an importer counts as its acknowledgement; Blue merges when the realm's rule says ready.`,
    ...(unmapped.length === 0
      ? []
      : [`Without a forge account in repos/<repo>.yaml (acknowledge with 'blue realm sync'): ${unmapped.join(", ")}.`]),
    "",
    issueMarker(`proposal=${p.id}`)
  ].join("\n")

const issueBody = (p: ProposalState, repo: string, pull: PullMirror | undefined): string =>
  [
    `${p.repo} proposes ${p.contract} ${p.from} → ${p.to} (${
      p.breaking ? "BREAKING" : "compatible"
    }), which ${repo} imports.`,
    "",
    ...p.changes.map((c) => `* ${c}`),
    "",
    p.status === "open"
      ? `Review it${
        pull === undefined ? "" : ` in ${pull.url}`
      }, update ${repo} if needed, then approve there or run 'blue realm sync'.`
      : `The proposal is ${p.status}.`,
    "",
    issueMarker(issueKey(p.id, repo))
  ].join("\n")

/** What one reconcile did (for tests, logs and the sync output). */
export interface ReconcileReport {
  readonly forge: string | null
  readonly pullsCreated: number
  readonly issuesCreated: number
  readonly issuesUpdated: number
  readonly acknowledged: ReadonlyArray<{ readonly id: string; readonly repo: string; readonly by: string }>
  readonly approved: ReadonlyArray<{ readonly id: string; readonly by: string }>
  readonly withdrawn: ReadonlyArray<string>
  readonly merged: ReadonlyArray<string>
  readonly closed: ReadonlyArray<string>
  readonly orphansDeleted: ReadonlyArray<string>
}

/**
 * Brings the forge level with the realm at `realmDir` (a no-op when the realm is not on a forge). `quiet` names
 * proposals that get no notify issue (a `sync --no-notify`); it is remembered in the mirror file.
 */
export const reconcileProposals = (realmDir: string, options: { readonly quiet?: ReadonlyArray<string> } = {}) =>
  Effect.gen(function*() {
    const realms = yield* Realms
    const log = yield* EventLog
    const identity = yield* Identity
    const report = {
      forge: null as string | null,
      pullsCreated: 0,
      issuesCreated: 0,
      issuesUpdated: 0,
      acknowledged: [] as Array<{ id: string; repo: string; by: string }>,
      approved: [] as Array<{ id: string; by: string }>,
      withdrawn: [] as Array<string>,
      merged: [] as Array<string>,
      closed: [] as Array<string>,
      orphansDeleted: [] as Array<string>
    }
    const rows = yield* Effect.orElseSucceed(log.realms, () => [])
    const row = rows.find((r) => r.localPath === realmDir)
    const at = forgeRepoOfUrl(row?.url ?? undefined)
    if (row === undefined || at === undefined) return report as ReconcileReport
    const forge: ForgeService = yield* Effect.flatMap(Forges, (f) => f.open(at.location))
    report.forge = `${forge.kind} ${at.ref.owner}/${at.ref.repo}`
    let mirror = readMirror(realmDir)
    const save = (next: MirrorFile) => {
      mirror = next
      writeMirror(realmDir, next)
    }
    if ((options.quiet ?? []).some((id) => !mirror.quiet.includes(id))) {
      save({ ...mirror, quiet: [...new Set([...mirror.quiet, ...(options.quiet ?? [])])] })
    }
    const me = yield* forge.currentUser
    const user = yield* identity.current(realmDir, process.env)
    const env = process.env
    let state: RealmState = (yield* realms.open(realmDir)).state

    /** Runs a proposal command as `actor`; a refusal (a race, a range that rejects) is no failure. */
    const run = (
      command: Parameters<typeof realms.execute>[1],
      actor: { readonly repo?: string; readonly user: string }
    ) =>
      realms.execute(realmDir, command, actor).pipe(
        Effect.map((a) => {
          state = a.state
          return a.events.length > 0
        }),
        Effect.catchAll((e) => Effect.as(Effect.logDebug(`forge mirror: ${command._tag} refused: ${e.message}`), false))
      )

    const setPull = (id: string, pull: PullMirror) => save({ ...mirror, pulls: { ...mirror.pulls, [id]: pull } })

    for (const initial of Object.values(state.proposals ?? {})) {
      const id = initial.id
      if (initial.status !== "open" && (mirror.done.includes(id) || mirror.pulls[id] === undefined)) continue
      let p = state.proposals[id]!
      let pull = yield* forge.findPullByHead(at.ref, p.branch, BASE)
      const { logins, unmapped } = forgeReviewers(state.repos, p.importers)
      const reviewers = logins.filter((l) => l.toLowerCase() !== me.toLowerCase())
      if (p.status === "open") {
        if (pull === undefined) {
          pull = yield* forge.createPull(at.ref, {
            head: p.branch,
            base: BASE,
            title: pullTitle(p),
            body: pullBody(p, unmapped)
          })
          report.pullsCreated++
        }
        const known = mirror.pulls[id]
        setPull(id, {
          number: pull.number,
          url: pull.url,
          state: pull.state,
          reviewers: known?.reviewers ?? [],
          approved: known?.approved ?? [],
          changesRequested: known?.changesRequested ?? []
        })
        if (pull.state === "open" && reviewers.some((l) => !(known?.reviewers ?? []).includes(l))) {
          yield* forge.requestReviewers(at.ref, pull.number, reviewers)
          setPull(id, { ...mirror.pulls[id]!, reviewers })
        }
        if (pull.state === "closed") {
          // Closed by hand on the forge: the owner's proposal is withdrawn.
          if (
            yield* run(
              { _tag: "WithdrawProposal", id, reason: `its pull request #${pull.number} was closed on the forge` },
              { repo: p.repo, user }
            )
          ) report.withdrawn.push(id)
        } else if (pull.state === "open") {
          // The latest review of each login on the PR's current head.
          const latest = new Map<string, string>()
          for (const r of yield* forge.listReviews(at.ref, pull.number)) {
            if (r.commit === pull.headSha) latest.set(r.user, r.state)
          }
          const approvers = governanceOf(state, p.domain).approvers
          for (const [login, verdict] of latest) {
            if (verdict !== "APPROVED") continue
            const by = forgeMaintainer(login)
            for (const repo of reposOfForgeLogin(state.repos, p.importers, login)) {
              if (repo in (state.proposals[id]?.acks ?? {})) continue
              if (yield* run({ _tag: "AcknowledgeProposal", id }, { repo, user: by })) {
                report.acknowledged.push({ id, repo, by })
              }
            }
            const approver = approvers.find((a) => forgeLoginOf(a)?.toLowerCase() === login.toLowerCase())
            if (approver !== undefined && !(approver in (state.proposals[id]?.approvals ?? {}))) {
              if (yield* run({ _tag: "ApproveProposal", id }, { user: approver })) {
                report.approved.push({ id, by: approver })
              }
            }
          }
          setPull(id, {
            ...mirror.pulls[id]!,
            approved: [...latest].filter(([, v]) => v === "APPROVED").map(([l]) => l).sort(),
            changesRequested: [...latest].filter(([, v]) => v === "REQUEST_CHANGES").map(([l]) => l).sort()
          })
          p = state.proposals[id]!
          const now = new Date(proposalNow(env)).toISOString()
          if (p.status === "open" && mayMerge(p, state, now).ready) {
            // Blue's own compare-and-swap append moves main; a machine that merged first makes this a refusal.
            if (yield* run({ _tag: "MergeProposal", id }, { user })) report.merged.push(id)
          }
        }
      }
      p = state.proposals[id]!

      // Notify: one issue per (proposal, affected repo) on this forge.
      const notify = !mirror.quiet.includes(id)
      if (notify) {
        for (const repo of p.importers) {
          const target = forgeRepoOfUrl(state.repos[repo]?.url)
          if (target === undefined || JSON.stringify(target.location) !== JSON.stringify(at.location)) continue
          const key = issueKey(id, repo)
          const title = issueTitle(p)
          const body = issueBody(p, repo, mirror.pulls[id])
          let issue = yield* forge.findIssueByMarker(target.ref, key)
          if (issue === undefined) {
            if (p.status !== "open") continue
            issue = yield* forge.createIssue(target.ref, { title, body })
            report.issuesCreated++
          } else if (issue.title !== title || issue.body.trim() !== body.trim()) {
            issue = yield* forge.updateIssue(target.ref, issue.number, { title, body })
            report.issuesUpdated++
          }
          if (p.status !== "open" && issue.state === "open") yield* forge.closeIssue(target.ref, issue.number)
          save({
            ...mirror,
            issues: {
              ...mirror.issues,
              [id]: {
                ...mirror.issues[id],
                [repo]: { number: issue.number, url: issue.url, state: p.status === "open" ? issue.state : "closed" }
              }
            }
          })
        }
      }

      if (p.status !== "open") {
        if (pull !== undefined && pull.state === "open") {
          yield* forge.closePull(at.ref, pull.number)
          report.closed.push(id)
        }
        const known = mirror.pulls[id]
        if (known !== undefined) {
          setPull(id, { ...known, state: p.status === "merged" ? "merged" : "closed" })
        }
        save({ ...mirror, done: [...mirror.done, id] })
      }
    }
    // Orphan proposal branches: pushed by a write that was killed (or lost its race) before its event reached main,
    // so no proposal names them. Deleted once older than the grace period, so that a write between its branch push
    // and its main push (seconds) never loses its branch.
    const remote = Option.getOrUndefined(yield* Effect.serviceOption(RemoteGit))
    if (remote !== undefined && row.url) {
      state = (yield* realms.open(realmDir)).state
      const named = new Set(Object.values(state.proposals ?? {}).map((p) => p.branch))
      const grace = orphanGraceMs(env)
      for (const server of yield* remote.listServerRefs(row.url, "refs/heads/sync/")) {
        const branch = server.ref.slice("refs/heads/".length)
        const born = stampTime(branch)
        if (named.has(branch) || born === undefined || Date.now() - born < grace) continue
        yield* forge.deleteBranch(at.ref, branch)
        report.orphansDeleted.push(branch)
      }
    }
    return report as ReconcileReport
  })

/** How old an orphan proposal branch must be before the mirror deletes it: BLUE_FORGE_ORPHAN_GRACE_MS, default 10 min. */
const orphanGraceMs = (env: NodeJS.ProcessEnv): number => {
  const raw = Number(env["BLUE_FORGE_ORPHAN_GRACE_MS"])
  return env["BLUE_FORGE_ORPHAN_GRACE_MS"] !== undefined && env["BLUE_FORGE_ORPHAN_GRACE_MS"] !== "" &&
      Number.isFinite(raw) && raw >= 0
    ? raw
    : 600_000
}

/** When `sync/<repo>/<YYYYMMDD-HHMMSS>[-n]` was stamped (UTC ms), or undefined for another name. */
const stampTime = (branch: string): number | undefined => {
  const m = /^sync\/[^/]+\/(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-\d+)?$/.exec(branch)
  return m === null ? undefined : Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)
}

/** Every failure a reconcile may end with, in one sentence. */
export type ReconcileFailure = ForgeFailure

/** After a sync: reconcile, and say in one sentence on stderr when the forge could not be brought level. */
export const mirrorAfterSync = (realmDir: string, options: { readonly quiet?: ReadonlyArray<string> } = {}) =>
  reconcileProposals(realmDir, options).pipe(
    Effect.tap((r) =>
      Effect.sync(() => {
        const lines = reportLines(r)
        // On stderr: stdout is the command's own (its --json included).
        if (lines.length > 0) process.stderr.write(lines.map((l) => `${l}\n`).join(""))
      })
    ),
    Effect.catchAll((e) =>
      Effect.sync(() => {
        process.stderr.write(
          `⚠ The forge mirror is not up to date (${
            "message" in e ? String(e.message) : String(e)
          }); the daemon or the next sync carries on.\n`
        )
        return undefined
      })
    )
  )

/** What a reconcile did, one line each (nothing when it did nothing). */
export const reportLines = (r: ReconcileReport): ReadonlyArray<string> => {
  if (r.forge === null) return []
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`
  return [
    ...(r.pullsCreated === 0 ? [] : [`↪ forge: opened ${n(r.pullsCreated, "pull request")}`]),
    ...r.acknowledged.map((a) => `↪ forge: ${a.repo} acknowledged proposal ${a.id} (approved by ${a.by})`),
    ...r.approved.map((a) => `↪ forge: ${a.by} approved proposal ${a.id}`),
    ...r.withdrawn.map((id) => `↪ forge: proposal ${id} withdrawn (its pull request was closed)`),
    ...r.merged.map((id) => `↪ forge: merged proposal ${id}`),
    ...(r.issuesCreated === 0 ? [] : [`↪ forge: opened ${n(r.issuesCreated, "issue")} in affected repos`]),
    ...(r.issuesUpdated === 0 ? [] : [`↪ forge: updated ${n(r.issuesUpdated, "issue")} in affected repos`]),
    ...r.closed.map((id) => `↪ forge: closed the pull request of proposal ${id}`),
    ...r.orphansDeleted.map((b) => `↪ forge: deleted the orphan branch ${b} (no proposal names it)`)
  ]
}

/** The `origin` remote of the code repo at `root`, without any user or token in it, or undefined. */
export const originUrlOf = (root: string): string | undefined => {
  try {
    const raw = execFileSync("git", ["-C", root, "config", "--get", "remote.origin.url"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"]
    }).trim()
    if (raw === "") return undefined
    // scp-like (git@host:o/r) and paths carry no secret worth stripping
    if (!/^https?:\/\//.test(raw)) return raw
    const u = new URL(raw)
    u.username = ""
    u.password = ""
    return u.toString()
  } catch {
    return undefined
  }
}

/**
 * What a join records beyond the email on a forge realm: the repo's `origin` URL (`repos/R.yaml` `url`, where its
 * notify issues go) and `forge:<login>` of the token's user on the realm's forge (who is asked to review). A forge
 * that cannot be asked leaves the login out: the join itself never fails for it.
 */
export const joinForgeExtras = (realmDir: string, realmUrl: string | undefined, root: string) =>
  Effect.gen(function*() {
    const url = originUrlOf(root)
    const rows = yield* Effect.orElseSucceed(Effect.flatMap(EventLog, (l) => l.realms), () => [])
    const at = forgeRepoOfUrl(realmUrl ?? rows.find((r) => r.localPath === realmDir)?.url ?? undefined)
    const login = at === undefined
      ? undefined
      : yield* Effect.flatMap(Forges, (f) => Effect.flatMap(f.open(at.location), (forge) => forge.currentUser)).pipe(
        Effect.orElseSucceed(() => undefined)
      )
    return {
      ...(url === undefined ? {} : { url }),
      maintainers: login === undefined ? [] : [forgeMaintainer(login)]
    }
  })

export { readMirror }
export type { MirrorFile, PullMirror }
