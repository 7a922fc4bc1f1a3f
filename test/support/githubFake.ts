/**
 * An in-process GitHub for tests: the REST endpoints Blue uses (the authenticated user, repos, branches, pulls,
 * requested_reviewers, reviews, merge with `sha`, issues, issue dependencies `blocked_by`), every request and answer
 * checked against GitHub's own OpenAPI description (`@octokit/openapi`, api.github.com), answers built to satisfy
 * its schemas (`apiCheck.fill`). Rules the description does not state: approving your own PR → 422, merge with a
 * `sha` that is not the head → 409, merging a merged or closed PR → 405, one open PR per head/base → 422. Rate limits
 * on demand answer 403/429 the way GitHub does (`retry-after`, `x-ratelimit-*`, "secondary rate limit"). The API is
 * under `/api/v3` (as on GitHub Enterprise Server); repos are served over smart HTTP at `/{owner}/{repo}.git`.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { makeApiChecker } from "./apiCheck.js"
import { type FakeAnswer, type FakeBase, type FakeRequest, gitIn, mergeBranches, startFakeBase } from "./forgeFake.js"

let checker: ReturnType<typeof makeApiChecker> | undefined
export const githubChecker = () => {
  if (checker === undefined) {
    const file = createRequire(import.meta.url).resolve("@octokit/openapi/generated/api.github.com.json")
    checker = makeApiChecker(JSON.parse(fs.readFileSync(file, "utf8")), "/api/v3")
  }
  return checker
}

interface Review {
  readonly id: number
  readonly user: string
  readonly state: string
  readonly commit: string
  readonly body: string
}

interface Item {
  readonly id: number
  readonly number: number
  title: string
  body: string
  state: "open" | "closed"
  readonly poster: string
  readonly pull?: {
    readonly head: string
    readonly base: string
    readonly draft: boolean
    merged: boolean
    mergedHead?: string
    readonly reviewers: Set<string>
    readonly reviews: Array<Review>
  }
  readonly blockedBy: Array<number>
}

interface Repo {
  readonly id: number
  readonly owner: string
  readonly name: string
  readonly items: Map<number, Item>
  next: number
}

/** A running GitHub fake. */
export interface GitHubFake extends FakeBase {
  /** the API base (what `BLUE_GITHUB_API_URL` takes) */
  readonly apiUrl: string
  readonly addUser: (login: string, token?: string) => string
  readonly addOrg: (name: string) => void
  readonly createRepo: (owner: string, name: string) => Promise<void>
  readonly items: (owner: string, repo: string) => ReadonlyArray<Item>
  readonly review: (
    owner: string,
    repo: string,
    number: number,
    login: string,
    state: "APPROVED" | "REQUEST_CHANGES" | "COMMENT"
  ) => Promise<FakeAnswer>
}

/** Starts a GitHub fake with one user `blue` (token `tok-blue`). */
export const startGitHubFake = async (): Promise<GitHubFake> => {
  const check = githubChecker()
  const tokens = new Map<string, string>()
  const users = new Map<string, number>()
  const orgs = new Set<string>()
  const repos = new Map<string, Repo>()
  let ids = 1000
  // eslint-disable-next-line prefer-const -- assigned once the server (which the handlers close over) is up
  let base!: FakeBase

  const key = (owner: string, name: string) => `${owner}/${name}`.toLowerCase()
  const user = (login: string) => ({
    login,
    id: users.get(login) ?? 0,
    node_id: `U_${login}`,
    type: orgs.has(login) ? "Organization" : "User",
    site_admin: false,
    html_url: `${base.origin}/${login}`,
    url: `${base.origin}/api/v3/users/${login}`
  })
  const answer = (req: FakeRequest, status: number, data?: unknown): FakeAnswer => ({
    status,
    ...(data === undefined ? {} : { body: check.fill(req.op, status, data) })
  })
  const fail = (status: number, message: string): FakeAnswer => ({
    status,
    body: { message, documentation_url: "https://docs.github.com/rest", status: String(status) }
  })
  const repoJson = (r: Repo) => ({
    id: r.id,
    node_id: `R_${r.id}`,
    name: r.name,
    full_name: `${r.owner}/${r.name}`,
    owner: user(r.owner),
    private: true,
    default_branch: "main",
    clone_url: `${base.origin}/${r.owner}/${r.name}.git`,
    html_url: `${base.origin}/${r.owner}/${r.name}`,
    url: `${base.origin}/api/v3/repos/${r.owner}/${r.name}`
  })
  const headSha = async (r: Repo, item: Item) =>
    item.pull?.mergedHead ??
      (await gitIn(base.git, key(r.owner, r.name), "rev-parse", `refs/heads/${item.pull!.head}`)) ?? ""
  const pullJson = async (r: Repo, item: Item) => {
    const p = item.pull!
    const baseSha = (await gitIn(base.git, key(r.owner, r.name), "rev-parse", `refs/heads/${p.base}`)) ?? ""
    return {
      id: item.id,
      number: item.number,
      title: item.title,
      body: item.body,
      state: item.state,
      draft: p.draft,
      merged: p.merged,
      merged_at: p.merged ? "2026-01-01T00:00:00Z" : null,
      user: user(item.poster),
      html_url: `${base.origin}/${r.owner}/${r.name}/pull/${item.number}`,
      head: {
        label: `${r.owner}:${p.head}`,
        ref: p.head,
        sha: await headSha(r, item),
        repo: repoJson(r),
        user: user(r.owner)
      },
      base: { label: `${r.owner}:${p.base}`, ref: p.base, sha: baseSha, repo: repoJson(r), user: user(r.owner) },
      requested_reviewers: [...p.reviewers].map(user)
    }
  }
  const issueJson = (r: Repo, item: Item) => ({
    id: item.id,
    node_id: `I_${item.id}`,
    number: item.number,
    title: item.title,
    body: item.body,
    state: item.state,
    user: user(item.poster),
    html_url: `${base.origin}/${r.owner}/${r.name}/issues/${item.number}`,
    repository: repoJson(r),
    ...(item.pull === undefined
      ? {}
      : { pull_request: { url: `${base.origin}/api/v3/repos/${r.owner}/${r.name}/pulls/${item.number}` } })
  })
  const reviewJson = (r: Repo, item: Item, rv: Review) => ({
    id: rv.id,
    node_id: `PRR_${rv.id}`,
    user: user(rv.user),
    body: rv.body,
    state: rv.state,
    commit_id: rv.commit,
    html_url: `${base.origin}/${r.owner}/${r.name}/pull/${item.number}#pullrequestreview-${rv.id}`,
    pull_request_url: `${base.origin}/api/v3/repos/${r.owner}/${r.name}/pulls/${item.number}`,
    author_association: "MEMBER"
  })
  const makeRepo = async (owner: string, name: string) => {
    await base.git.createBareRepo(key(owner, name))
    const r: Repo = { id: ++ids, owner, name, items: new Map(), next: 1 }
    repos.set(key(owner, name), r)
    return r
  }
  const reviewStates: Record<string, string> = {
    APPROVE: "APPROVED",
    APPROVED: "APPROVED",
    REQUEST_CHANGES: "CHANGES_REQUESTED",
    COMMENT: "COMMENTED"
  }
  const addReview = async (r: Repo, item: Item, login: string, event: string, commit?: string, body = "") => {
    const state = reviewStates[event] ?? "PENDING"
    if (item.poster === login && (state === "APPROVED" || state === "CHANGES_REQUESTED")) {
      return {
        status: 422,
        body: {
          message: "Unprocessable Entity",
          errors: [
            state === "APPROVED"
              ? "Can not approve your own pull request"
              : "Can not request changes on your own pull request"
          ],
          documentation_url: "https://docs.github.com/rest"
        }
      } satisfies FakeAnswer
    }
    const rv: Review = { id: ++ids, user: login, state, commit: commit ?? (await headSha(r, item)), body }
    item.pull!.reviews.push(rv)
    item.pull!.reviewers.delete(login)
    return { status: 200, body: reviewJson(r, item, rv) } satisfies FakeAnswer
  }
  const page = <A>(req: FakeRequest, all: ReadonlyArray<A>) => {
    const per = Math.min(100, Number(req.query.get("per_page") ?? 30))
    const p = Math.max(1, Number(req.query.get("page") ?? 1))
    return all.slice((p - 1) * per, p * per)
  }

  const handle = async (req: FakeRequest): Promise<FakeAnswer> => {
    const { params } = req
    const me = req.login!
    const b = req.body ?? {}
    const id = req.op.operationId
    if (id === "users/get-authenticated") return answer(req, 200, user(me))
    if (id === "repos/create-for-authenticated-user" || id === "repos/create-in-org") {
      const owner = id === "repos/create-in-org" ? params["org"]! : me
      if (id === "repos/create-in-org" && !orgs.has(owner)) {
        return fail(403, "You need admin access to the organization")
      }
      if (repos.has(key(owner, b.name))) {
        return {
          status: 422,
          body: {
            message: "Repository creation failed.",
            errors: [{
              resource: "Repository",
              code: "custom",
              field: "name",
              message: "name already exists on this account"
            }]
          }
        }
      }
      return answer(req, 201, repoJson(await makeRepo(owner, b.name)))
    }
    const r = params["owner"] === undefined ? undefined : repos.get(key(params["owner"], params["repo"]!))
    if (r === undefined) return fail(404, "Not Found")
    const rk = key(r.owner, r.name)
    const n = params["pull_number"] ?? params["issue_number"]
    const item = n === undefined ? undefined : r.items.get(Number(n))
    switch (id) {
      case "repos/get":
        return answer(req, 200, repoJson(r))
      case "repos/list-branches": {
        const out = await gitIn(base.git, rk, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
        const branches = (out ?? "").split("\n").filter((l) => l !== "").map((l) => {
          const [name, sha] = l.split(" ")
          return { name, commit: { sha, url: `${base.origin}/api/v3/repos/${rk}/commits/${sha}` }, protected: false }
        })
        return answer(req, 200, page(req, branches))
      }
      case "git/delete-ref": {
        const ref = decodeURIComponent(params["ref"]!)
        if ((await gitIn(base.git, rk, "rev-parse", "--verify", `refs/${ref}`)) === undefined) {
          return fail(422, "Reference does not exist")
        }
        await gitIn(base.git, rk, "update-ref", "-d", `refs/${ref}`)
        return { status: 204 }
      }
      case "pulls/list": {
        const state = req.query.get("state") ?? "open"
        const headQ = req.query.get("head")
        const baseQ = req.query.get("base")
        const all = [...r.items.values()].filter((i) =>
          i.pull !== undefined && (state === "all" || i.state === state) &&
          (headQ === null || `${r.owner}:${i.pull.head}` === headQ) && (baseQ === null || i.pull.base === baseQ)
        ).reverse()
        return answer(req, 200, await Promise.all(page(req, all).map((i) => pullJson(r, i))))
      }
      case "pulls/create": {
        for (const f of ["head", "base", "title"]) {
          if (typeof b[f] !== "string" || b[f] === "") return fail(422, `${f} is required`)
        }
        if ((await gitIn(base.git, rk, "rev-parse", "--verify", `refs/heads/${b.head}`)) === undefined) {
          return fail(422, "Validation Failed: head invalid")
        }
        if (
          [...r.items.values()].some((i) => i.state === "open" && i.pull?.head === b.head && i.pull?.base === b.base)
        ) return fail(422, `A pull request already exists for ${r.owner}:${b.head}.`)
        const created: Item = {
          id: ++ids,
          number: r.next++,
          title: b.title,
          body: b.body ?? "",
          state: "open",
          poster: me,
          pull: {
            head: b.head,
            base: b.base,
            draft: b.draft === true,
            merged: false,
            reviewers: new Set(),
            reviews: []
          },
          blockedBy: []
        }
        r.items.set(created.number, created)
        return answer(req, 201, await pullJson(r, created))
      }
      case "pulls/get":
        return item?.pull === undefined ? fail(404, "Not Found") : answer(req, 200, await pullJson(r, item))
      case "pulls/update":
        if (item?.pull === undefined) return fail(422, "Not a pull request")
        if (b.state === "closed" || b.state === "open") item.state = b.state
        if (typeof b.title === "string") item.title = b.title
        if (typeof b.body === "string") item.body = b.body
        return answer(req, 200, await pullJson(r, item))
      case "pulls/request-reviewers": {
        if (item?.pull === undefined) return fail(422, "Not a pull request")
        for (const login of b.reviewers ?? []) {
          if (!users.has(login)) return fail(422, "Reviews may only be requested from collaborators.")
          if (login === item.poster) return fail(422, "Review cannot be requested from pull request author.")
          item.pull.reviewers.add(login)
        }
        return answer(req, 201, await pullJson(r, item))
      }
      case "pulls/list-reviews":
        if (item?.pull === undefined) return answer(req, 200, [])
        return answer(req, 200, page(req, item.pull.reviews.map((rv) => reviewJson(r, item, rv))))
      case "pulls/create-review":
        if (item?.pull === undefined) return fail(422, "Not a pull request")
        return addReview(r, item, me, b.event ?? "COMMENT", b.commit_id, b.body ?? "")
      case "pulls/merge": {
        if (item?.pull === undefined) return fail(404, "Not Found")
        if (item.pull.merged || item.state === "closed") return fail(405, "Pull Request is not mergeable")
        const sha = await headSha(r, item)
        if (typeof b.sha === "string" && b.sha !== sha) {
          return fail(409, "Head branch was modified. Review and try the merge again.")
        }
        const merged = await mergeBranches(
          base.git,
          rk,
          item.pull.base,
          item.pull.head,
          b.commit_message ?? `Merge pull request #${item.number}`
        )
        if (merged === undefined) return fail(405, "Pull Request is not mergeable")
        item.pull.merged = true
        item.pull.mergedHead = sha
        item.state = "closed"
        return answer(req, 200, { sha: merged, merged: true, message: "Pull Request successfully merged" })
      }
      case "issues/list-for-repo": {
        const state = req.query.get("state") ?? "open"
        const creator = req.query.get("creator")
        const all = [...r.items.values()].filter((i) =>
          (state === "all" || i.state === state) && (creator === null || i.poster === creator)
        ).reverse()
        return answer(req, 200, page(req, all).map((i) => issueJson(r, i)))
      }
      case "issues/create": {
        const created: Item = {
          id: ++ids,
          number: r.next++,
          title: String(b.title),
          body: b.body ?? "",
          state: "open",
          poster: me,
          blockedBy: []
        }
        r.items.set(created.number, created)
        return answer(req, 201, issueJson(r, created))
      }
      case "issues/get":
        return item === undefined ? fail(404, "Not Found") : answer(req, 200, issueJson(r, item))
      case "issues/update":
        if (item === undefined) return fail(404, "Not Found")
        if (typeof b.title === "string") item.title = b.title
        if (typeof b.body === "string") item.body = b.body
        if (b.state === "closed" || b.state === "open") item.state = b.state
        return answer(req, 200, issueJson(r, item))
      case "issues/list-dependencies-blocked-by": {
        if (item === undefined) return fail(404, "Not Found")
        const all = item.blockedBy.flatMap((bid) => {
          for (const rr of repos.values()) {
            for (const i of rr.items.values()) if (i.id === bid) return [issueJson(rr, i)]
          }
          return []
        })
        return answer(req, 200, page(req, all))
      }
      case "issues/add-blocked-by-dependency":
        if (item === undefined) return fail(404, "Not Found")
        if (!item.blockedBy.includes(b.issue_id)) item.blockedBy.push(b.issue_id)
        return answer(req, 201, issueJson(r, item))
      default:
        base.violations.push(`the GitHub fake does not implement ${id}`)
        return fail(404, "Not Found")
    }
  }

  base = await startFakeBase({
    name: "GitHub",
    checker: check,
    apiPrefix: "/api/v3",
    tokens,
    handle,
    limited: (status, retryAfter) => ({
      status,
      headers: {
        "retry-after": String(retryAfter),
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "4000",
        "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 3600)
      },
      body: {
        message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
      }
    }),
    unauthorized: () => ({
      status: 401,
      body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" }
    })
  })

  const addUser = (login: string, token = `tok-${login}`) => {
    users.set(login, ++ids)
    tokens.set(token, login)
    return token
  }
  addUser("blue")
  return {
    ...base,
    apiUrl: `${base.origin}/api/v3`,
    addUser,
    addOrg: (name) => {
      orgs.add(name)
      users.set(name, ++ids)
    },
    createRepo: async (owner, name) => {
      await makeRepo(owner, name)
    },
    items: (owner, repo) => [...(repos.get(key(owner, repo))?.items.values() ?? [])],
    review: async (owner, repo, number, login, state) => {
      const r = repos.get(key(owner, repo))
      const item = r?.items.get(number)
      return r === undefined || item?.pull === undefined ? fail(404, "Not Found") : addReview(r, item, login, state)
    }
  }
}
