/**
 * `blue realm pr` (the draft RFC's `blue_realm_pr`): one pull request per repo of a coordinated change, opened in
 * merge order — exporters before importers — each body linking the others, saying what blocks it with Zuul's
 * `Depends-On: <url>` lines, and the forge's own dependency link where it has one; earlier PRs are then edited to
 * say what they are needed by. A repo whose remote is on no configured forge (a path, a plain git server) gets a
 * *local PR*: recorded in the realm only, with a stable number and no URL.
 *
 * A saga like `worktree`/`commit`/`push`: observe and refuse first (a branch not pushed, a repo with no remote, a
 * dependency cycle), then for each repo look the PR up by its head branch before creating it, record what exists,
 * link, record again. A run killed anywhere is resumed by the same command: the lookups find what was made, nothing
 * is created twice, and the links are completed. A re-run also refreshes each PR's state (open, closed, merged).
 */
import { Effect, Schema } from "effect"
import { realmGraph } from "../domain/graph.js"
import {
  changesOf,
  mergeOrder,
  nextLocalPullNumber,
  nextToMerge,
  ordinal,
  pullBody,
  pullLabel,
  type WorktreePull,
  WorktreeScope
} from "../domain/worktrees.js"
import { Invocation } from "../engine/invocation.js"
import { githubWebUrl } from "../engine/ports.js"
import { type ForgeLocation, type ForgeRepoRef, Forges, type ForgeService } from "../engine/ports.js"
import { operation, optionalBoolean, optionalString } from "./operation.js"
import { context, localRepos, MissingRemote, pickChange, rootOf } from "./worktrees.js"

/** Branches of the change that are not on their remotes yet (at the latest commit). */
export class NotPushed extends Schema.TaggedError<NotPushed>()("NotPushed", {
  branch: Schema.String,
  repos: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Cannot open pull requests: ${this.repos.join(", ")} ${
      this.repos.length === 1 ? "has" : "have"
    } commits of ${this.branch} that are not pushed; run 'blue realm push' first.`
  }
}

/** Where a code repo's pull requests go: a forge location and the repo on it. */
export interface PullTarget {
  readonly location: Exclude<ForgeLocation, { readonly kind: "local" }>
  readonly ref: ForgeRepoRef
}

/** host, hostname and path of a remote URL (http(s)://, ssh://, git://, or scp-like user@host:path); none for a path. */
const parseRemote = (url: string) => {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      const u = new URL(url)
      if (u.protocol === "file:") return undefined
      return { web: /^https?:$/.test(u.protocol), host: u.host, hostname: u.hostname, path: u.pathname }
    } catch {
      return undefined
    }
  }
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(.+)$/.exec(url)
  if (scp === null || /^[a-z]$/i.test(scp[1]!)) return undefined
  return { web: false, host: scp[1]!, hostname: scp[1]!, path: `/${scp[2]!}` }
}

const ownerRepo = (path: string): ForgeRepoRef | undefined => {
  const parts = path.replace(/^\/+|\/+$/g, "").replace(/\.git$/, "").split("/")
  return parts.length === 2 && parts[0] !== "" && parts[1] !== "" ? { owner: parts[0]!, repo: parts[1]! } : undefined
}

const under = (
  remote: NonNullable<ReturnType<typeof parseRemote>>,
  root: string
): ForgeRepoRef | undefined => {
  let r: URL
  try {
    r = new URL(root)
  } catch {
    return undefined
  }
  // Over HTTP the port counts; over ssh only the host name can match.
  if (remote.web ? remote.host !== r.host : remote.hostname !== r.hostname) return undefined
  const prefix = r.pathname.replace(/\/+$/, "")
  if (remote.web && prefix !== "" && !remote.path.startsWith(`${prefix}/`)) return undefined
  return ownerRepo(remote.web ? remote.path.slice(prefix.length) : remote.path)
}

/**
 * The forge a code repo's remote URL is on: Forgejo when it is under `BLUE_FORGEJO_URL`; GitHub when its host is
 * github.com or the web host of `BLUE_GITHUB_API_URL`; otherwise none (a plain git remote: local PRs). Pure.
 */
export const pullTargetOf = (
  url: string,
  env: Readonly<Record<string, string | undefined>>
): PullTarget | undefined => {
  const remote = parseRemote(url)
  if (remote === undefined) return undefined
  const forgejo = env["BLUE_FORGEJO_URL"]
  if (forgejo !== undefined && forgejo !== "") {
    const ref = under(remote, forgejo)
    if (ref !== undefined) return { location: { kind: "forgejo", url: forgejo.replace(/\/+$/, "") }, ref }
  }
  const api = env["BLUE_GITHUB_API_URL"]
  if (api !== undefined && api !== "") {
    const ref = under(remote, githubWebUrl(api))
    if (ref !== undefined) return { location: { kind: "github", apiUrl: api }, ref }
  }
  if (remote.hostname === "github.com") {
    const ref = ownerRepo(remote.path)
    if (ref !== undefined) return { location: { kind: "github", apiUrl: "https://api.github.com" }, ref }
  }
  return undefined
}

const sameForge = (a: PullTarget | undefined, b: PullTarget | undefined) =>
  a !== undefined && b !== undefined && JSON.stringify(a.location) === JSON.stringify(b.location)

/** What `blue realm pr` did for one repo. */
type PullAction = "opened" | "found" | "recorded"

/** `blue_realm_pr`: coordinated pull requests in merge order, linked, recorded in the realm. */
export const pr = operation({
  tool: "blue_realm_pr",
  description:
    "Create linked pull requests across the coordinated change's repos, in merge order (exporters before importers): each body links the others with Depends-On lines, native dependencies where the forge has them; plain-git repos get local PRs recorded in the realm. Idempotent: a re-run finds the PRs, completes the links and refreshes their state.",
  readOnly: false,
  args: Schema.Struct({
    title: Schema.String.annotations({ description: "PR title (applied to all)" }),
    body: optionalString("PR body template ({repo}, {branch}, {rfc}, {title} are filled in); Blue adds the links"),
    draft: optionalBoolean("Create as draft PRs"),
    branch: optionalString("The coordinated change (its branch); default: the one this repo or directory is part of"),
    base: optionalString("The branch to merge into (default: the branch checked out in each repo's main worktree)")
  }),
  run: (args, at) =>
    Effect.gen(function*() {
      const { actor, git, h, realm, realms } = yield* context(at.cwd, "pr")
      if (args.title.trim() === "") {
        return yield* new WorktreeScope({ detail: "The PR title is empty; give one with --title TITLE" })
      }
      const env = (yield* Invocation).env
      const change = yield* pickChange(changesOf(realm.state), actor, at.cwd, args.branch)
      const branch = change.name
      const rfc = change.source_rfc.replace(/^[^:]*:/, "")
      const { elsewhere, local } = yield* localRepos(change, undefined)

      // Observe and refuse first: every branch pushed at its latest commit, a remote for each.
      type Plan = {
        readonly name: string
        readonly base: string
        readonly target: PullTarget | undefined
        readonly recorded: WorktreePull | undefined
      }
      const plans: Array<Plan> = []
      const notPushed: Array<string> = []
      const skipped: Array<string> = []
      for (const r of local) {
        if (r.commits === 0 && r.pr === undefined) {
          skipped.push(r.name)
          continue
        }
        const root = rootOf(r.path)
        const remotes = yield* git.remotes(root)
        const remote = remotes.includes("origin") ? "origin" : remotes.length === 1 ? remotes[0] : undefined
        if (remote === undefined) return yield* new MissingRemote({ repo: r.name, branch, remotes })
        const head = yield* git.branchHead(root, branch)
        if (r.status !== "pushed" || head === undefined || r.pushed !== head) notPushed.push(r.name)
        const url = yield* git.remoteUrl(root, remote)
        const registered = realm.state.repos[r.name]?.url
        const target = pullTargetOf(url, env) ?? (registered === undefined ? undefined : pullTargetOf(registered, env))
        const main = (yield* git.worktrees(root))[0]?.branch
        plans.push({
          name: r.name,
          base: args.base ?? r.pr?.base ?? (main === undefined || main === branch ? "main" : main),
          target,
          recorded: r.pr
        })
      }
      if (notPushed.length > 0) return yield* new NotPushed({ branch, repos: notPushed })
      if (plans.length === 0) {
        return yield* new WorktreeScope({
          detail: `No repo of ${branch} on this machine has a coordinated commit to open a pull request for${
            elsewhere.length === 0 ?
              "" :
              ` (${elsewhere.map((r) => r.name).join(", ")} ${
                elsewhere.length === 1 ? "is" : "are"
              } on another machine: run it there)`
          }; commit with 'blue realm commit -m MESSAGE' and push first`
        })
      }
      const order = yield* mergeOrder(branch, realmGraph(realm.state).edges, plans.map((p) => p.name))
      const names = order.map((s) => s.repo)
      const planOf = (repo: string) => plans.find((p) => p.name === repo)!
      const forges = yield* Forges
      const services = new Map<string, ForgeService>()
      for (const p of plans) {
        if (p.target !== undefined && !services.has(p.name)) services.set(p.name, yield* forges.open(p.target.location))
      }
      const alreadyLinked = change.coordination.merge_order?.join("\0") === names.join("\0") &&
        plans.every((p) => p.recorded?.linked === true)

      // Each PR in merge order: looked up by head branch before it is created.
      const refs: Record<string, { number: number; url?: string }> = {}
      const pulls: Record<string, WorktreePull> = {}
      const actions: Record<string, PullAction> = {}
      for (const step of order) {
        const p = planOf(step.repo)
        if (p.target === undefined || services.get(p.name) === undefined) {
          const number = p.recorded?.forge === "local" ? p.recorded.number : nextLocalPullNumber(realm.state, p.name)
          refs[p.name] = { number }
          pulls[p.name] = {
            number,
            state: p.recorded?.forge === "local" ? p.recorded.state : "open",
            forge: "local",
            base: p.base,
            blocked_by: step.blockedBy,
            linked: true
          }
          actions[p.name] = p.recorded?.forge === "local" ? "found" : "recorded"
          continue
        }
        const forge = services.get(p.name)!
        const found = yield* forge.findPullByHead(p.target.ref, branch, p.base)
        const made = found ?? (yield* forge.createPull(p.target.ref, {
          head: branch,
          base: p.base,
          title: args.title,
          body: pullBody({ branch, rfc, title: args.title, template: args.body, repo: p.name, order, pulls: refs }),
          ...(args.draft === true ? { draft: true } : {})
        }))
        actions[p.name] = found === undefined ? "opened" : "found"
        refs[p.name] = { number: made.number, url: made.url }
        pulls[p.name] = {
          number: made.number,
          url: made.url,
          state: made.state,
          forge: p.target.location.kind,
          base: p.base,
          blocked_by: step.blockedBy,
          linked: alreadyLinked && p.recorded?.number === made.number
        }
      }
      const first = yield* realms.execute(h.realmDir, {
        _tag: "RecordWorktreePulls",
        name: branch,
        order: names,
        pulls
      }, h.actor)
      let commit = first.events.length === 0 ? null : first.commit

      // Link: native dependencies on the same forge, then every body rewritten to name all the others.
      if (Object.values(pulls).some((x) => !x.linked)) {
        for (const step of order) {
          const p = planOf(step.repo)
          const forge = services.get(p.name)
          if (p.target === undefined || forge === undefined) continue
          for (const b of step.blockedBy) {
            const other = planOf(b)
            if (sameForge(p.target, other.target)) {
              yield* forge.addDependency(p.target.ref, refs[p.name]!.number, {
                ...other.target!.ref,
                number: refs[b]!.number
              })
            }
          }
          yield* forge.updateIssue(p.target.ref, refs[p.name]!.number, {
            body: pullBody({ branch, rfc, title: args.title, template: args.body, repo: p.name, order, pulls: refs })
          })
        }
        for (const k of Object.keys(pulls)) pulls[k] = { ...pulls[k]!, linked: true }
        const second = yield* realms.execute(
          h.realmDir,
          { _tag: "RecordWorktreePulls", name: branch, order: names, pulls },
          h.actor
        )
        if (second.events.length > 0) commit = second.commit
      }
      const after = changesOf((yield* realms.open(h.realmDir)).state)[branch]
      const next = after === undefined ? undefined : nextToMerge(after)
      return {
        realm: realm.name,
        name: branch,
        title: args.title,
        pulls: order.map((s) => ({
          repo: s.repo,
          number: pulls[s.repo]!.number,
          url: pulls[s.repo]!.url ?? null,
          forge: pulls[s.repo]!.forge,
          state: pulls[s.repo]!.state,
          base: pulls[s.repo]!.base,
          action: actions[s.repo]!,
          blocked_by: s.blockedBy.map((b) => pullLabel(b, pulls[b]!)),
          needed_by: s.neededBy.map((b) => pullLabel(b, pulls[b]!)),
          role: s.blockedBy.length === 0
            ? s.neededBy.length === 0 ? "independent" : "exports"
            : s.neededBy.length === 0
            ? "imports"
            : "imports, exports"
        })),
        merge_order: names.map((n) => pullLabel(n, pulls[n]!)),
        next_to_merge: next === undefined || pulls[next] === undefined ? null : pullLabel(next, pulls[next]!),
        skipped,
        elsewhere: elsewhere.map((r) => r.name),
        commit
      }
    }),
  summary: (r) =>
    [
      "Creating coordinated PRs:",
      ...r.pulls.map((p, i) =>
        `  ✓ ${p.repo} ${p.forge === "local" ? "local PR" : "PR"} #${p.number} (merge ${ordinal(i + 1)} - ${p.role})${
          p.blocked_by.length === 0 ? "" : ` Blocked by: ${p.blocked_by.join(", ")}`
        }${p.action === "found" ? ` [already there${p.state === "open" ? "" : `, ${p.state}`}]` : ""}${
          p.url === null ? "" : `\n      ${p.url}`
        }`
      ),
      ...r.skipped.map((n) => `  - ${n}: no coordinated commit, no PR`),
      ...r.elsewhere.map((n) => `  ⧗ ${n}: not on this machine (run 'blue realm pr' there)`),
      `Merge order: ${r.merge_order.join(" → ")}`,
      ...(r.next_to_merge === null ? [] : [`Next to merge: ${r.next_to_merge}`])
    ].join("\n")
})
