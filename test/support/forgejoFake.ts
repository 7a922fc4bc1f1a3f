/**
 * An in-process Forgejo for tests: the REST v1 endpoints Blue uses (user, repos, pull requests by number and by
 * base/head, reviewers, reviews, merge, issues, issue dependencies), every request and answer checked against
 * Forgejo's own swagger document (`../shared/data/forgejo-swagger.json`, see `apiCheck.ts`), plus the server rules
 * the document does not state: head/base/title required to open a PR, one open PR per head/base (409), approving or
 * requesting changes on your own PR → 422, a stale `head_commit_id` → 409, merging a merged or closed PR → 405, a head
 * with slashes in `GET /repos/{owner}/{repo}/pulls/{base}/{head}`. Repos are real bare git repos served over smart
 * HTTP at `/{owner}/{repo}.git`, so a created repo can be pushed to and a merge is a real merge commit.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { makeApiChecker } from "./apiCheck.js"
import { type FakeAnswer, type FakeBase, type FakeRequest, gitIn, mergeBranches, startFakeBase } from "./forgeFake.js"

const here = path.dirname(fileURLToPath(import.meta.url))
/** Where Forgejo's API document is (the shared data folder beside the project). */
export const FORGEJO_SWAGGER = process.env["BLUE_FORGEJO_SWAGGER"] ??
  ["/work/shared/data/forgejo-swagger.json", path.resolve(here, "../../../shared/data/forgejo-swagger.json")]
    .find((p) => fs.existsSync(p)) ??
  "/work/shared/data/forgejo-swagger.json"

let checker: ReturnType<typeof makeApiChecker> | undefined
export const forgejoChecker =
  () => (checker ??= makeApiChecker(JSON.parse(fs.readFileSync(FORGEJO_SWAGGER, "utf8")), "/api/v1"))

interface Review {
  readonly id: number
  readonly user: string
  readonly state: string
  readonly commit: string
  readonly body: string
  dismissed: boolean
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
    merged: boolean
    mergedHead?: string
    readonly reviewers: Set<string>
    readonly reviews: Array<Review>
  }
  readonly deps: Array<{ owner: string; repo: string; number: number }>
}

interface Repo {
  readonly id: number
  readonly owner: string
  readonly name: string
  readonly items: Map<number, Item>
  next: number
}

/** A running Forgejo fake. */
export interface ForgejoFake extends FakeBase {
  /** the root URL (what `--forgejo` takes) */
  readonly url: string
  /** Adds a user with a token; returns the token. */
  readonly addUser: (login: string, token?: string) => string
  /** Adds an organisation (its members may create repos in it). */
  readonly addOrg: (name: string) => void
  /** Creates a repo directly (as if made on the web). */
  readonly createRepo: (owner: string, name: string) => Promise<void>
  /** The repo's issues and PRs. */
  readonly items: (owner: string, repo: string) => ReadonlyArray<Item>
  /** Submits a review as `login` (what a reviewer does on the web). */
  readonly review: (
    owner: string,
    repo: string,
    number: number,
    login: string,
    state: "APPROVED" | "REQUEST_CHANGES" | "COMMENT"
  ) => Promise<FakeAnswer>
}

/** Starts a Forgejo fake with one user `blue` (token `tok-blue`). */
export const startForgejoFake = async (): Promise<ForgejoFake> => {
  const tokens = new Map<string, string>()
  const users = new Map<string, number>()
  const orgs = new Set<string>()
  const repos = new Map<string, Repo>()
  let ids = 100
  // eslint-disable-next-line prefer-const -- assigned once the server (which the handlers close over) is up
  let base!: FakeBase

  const key = (owner: string, name: string) => `${owner}/${name}`.toLowerCase()
  const user = (login: string) => ({
    id: users.get(login) ?? 0,
    login,
    login_name: login,
    full_name: login,
    email: `${login}@fake.invalid`,
    avatar_url: "",
    html_url: `${base.origin}/${login}`,
    is_admin: false,
    active: true
  })
  const notFound = (what = "not found"): FakeAnswer => ({
    status: 404,
    body: { message: what, errors: [], url: `${base.origin}/api/swagger` }
  })
  const error = (status: number, message: string): FakeAnswer => ({
    status,
    body: { message, url: `${base.origin}/api/swagger` }
  })
  const repoJson = async (r: Repo) => {
    const refs = await gitIn(base.git, key(r.owner, r.name), "for-each-ref", "--count=1", "refs/heads")
    return {
      id: r.id,
      name: r.name,
      full_name: `${r.owner}/${r.name}`,
      owner: user(r.owner),
      private: true,
      empty: refs === undefined || refs === "",
      default_branch: "main",
      clone_url: `${base.origin}/${r.owner}/${r.name}.git`,
      html_url: `${base.origin}/${r.owner}/${r.name}`,
      url: `${base.origin}/api/v1/repos/${r.owner}/${r.name}`
    }
  }
  const headSha = async (r: Repo, item: Item) =>
    item.pull?.mergedHead ??
      (await gitIn(base.git, key(r.owner, r.name), "rev-parse", `refs/heads/${item.pull!.head}`)) ?? ""
  const pullJson = async (r: Repo, item: Item) => {
    const p = item.pull!
    const sha = await headSha(r, item)
    const baseSha = (await gitIn(base.git, key(r.owner, r.name), "rev-parse", `refs/heads/${p.base}`)) ?? ""
    return {
      id: item.id,
      number: item.number,
      title: item.title,
      body: item.body,
      state: item.state,
      draft: /^(WIP:|\[WIP\])/i.test(item.title),
      merged: p.merged,
      mergeable: !p.merged && item.state === "open",
      user: user(item.poster),
      html_url: `${base.origin}/${r.owner}/${r.name}/pulls/${item.number}`,
      url: `${base.origin}/${r.owner}/${r.name}/pulls/${item.number}`,
      head: { label: p.head, ref: p.head, sha, repo_id: r.id },
      base: { label: p.base, ref: p.base, sha: baseSha, repo_id: r.id },
      requested_reviewers: [...p.reviewers].map(user)
    }
  }
  const issueJson = (r: Repo, item: Item) => ({
    id: item.id,
    number: item.number,
    title: item.title,
    body: item.body,
    state: item.state,
    user: user(item.poster),
    html_url: `${base.origin}/${r.owner}/${r.name}/issues/${item.number}`,
    url: `${base.origin}/api/v1/repos/${r.owner}/${r.name}/issues/${item.number}`,
    repository: { id: r.id, name: r.name, owner: r.owner, full_name: `${r.owner}/${r.name}` },
    ...(item.pull === undefined ? {} : { pull_request: { merged: item.pull.merged, draft: false } })
  })
  const reviewJson = (r: Repo, item: Item, rv: Review) => ({
    id: rv.id,
    body: rv.body,
    commit_id: rv.commit,
    state: rv.state,
    dismissed: rv.dismissed,
    stale: false,
    official: true,
    user: user(rv.user),
    html_url: `${base.origin}/${r.owner}/${r.name}/pulls/${item.number}#review-${rv.id}`,
    pull_request_url: `${base.origin}/${r.owner}/${r.name}/pulls/${item.number}`
  })

  const makeRepo = async (owner: string, name: string) => {
    await base.git.createBareRepo(key(owner, name))
    const r: Repo = { id: ++ids, owner, name, items: new Map(), next: 1 }
    repos.set(key(owner, name), r)
    return r
  }
  const addReview = async (r: Repo, item: Item, login: string, state: string, commit?: string, body = "") => {
    if (item.pull === undefined) return notFound()
    if (state === "APPROVED" || state === "REQUEST_CHANGES") {
      if (item.poster === login) {
        return error(
          422,
          state === "APPROVED" ? "approve your own pull is not allowed" : "reject your own pull is not allowed"
        )
      }
    }
    const rv: Review = {
      id: ++ids,
      user: login,
      state,
      commit: commit ?? (await headSha(r, item)),
      body,
      dismissed: false
    }
    item.pull.reviews.push(rv)
    item.pull.reviewers.delete(login)
    return { status: 200, body: reviewJson(r, item, rv) }
  }
  const page = <A>(req: FakeRequest, all: ReadonlyArray<A>) => {
    const limit = Math.min(50, Number(req.query.get("limit") ?? 30))
    const p = Math.max(1, Number(req.query.get("page") ?? 1))
    return all.slice((p - 1) * limit, p * limit)
  }

  const handle = async (req: FakeRequest): Promise<FakeAnswer> => {
    const { login, params } = req
    const me = login!
    const b = req.body ?? {}
    if (req.op.operationId === "userGetCurrent") return { status: 200, body: user(me) }
    if (req.op.operationId === "createCurrentUserRepo" || req.op.operationId === "createOrgRepo") {
      const owner = req.op.operationId === "createOrgRepo" ? params["org"]! : me
      if (req.op.operationId === "createOrgRepo" && !orgs.has(owner)) return notFound("org not found")
      if (repos.has(key(owner, b.name))) return error(409, "The repository with the same name already exists.")
      return { status: 201, body: await repoJson(await makeRepo(owner, b.name)) }
    }
    const r = params["owner"] === undefined ? undefined : repos.get(key(params["owner"], params["repo"]!))
    if (r === undefined) return notFound("repo not found")
    const rk = key(r.owner, r.name)
    const item = params["index"] === undefined ? undefined : r.items.get(Number(params["index"]))
    switch (req.op.operationId) {
      case "repoGet":
        return { status: 200, body: await repoJson(r) }
      case "repoGetPullRequestByBaseHead": {
        const found = [...r.items.values()].reverse().find((i) =>
          i.pull?.base === params["base"] && i.pull?.head === params["head"]
        )
        return found === undefined ? notFound() : { status: 200, body: await pullJson(r, found) }
      }
      case "repoCreatePullRequest": {
        for (const f of ["head", "base", "title"]) {
          if (typeof b[f] !== "string" || b[f] === "") return error(422, `${f} is required`)
        }
        if ((await gitIn(base.git, rk, "rev-parse", "--verify", `refs/heads/${b.head}`)) === undefined) {
          return notFound(`head branch ${b.head} does not exist`)
        }
        if ((await gitIn(base.git, rk, "rev-parse", "--verify", `refs/heads/${b.base}`)) === undefined) {
          return notFound(`base branch ${b.base} does not exist`)
        }
        const open = [...r.items.values()].find((i) =>
          i.state === "open" && i.pull?.head === b.head && i.pull?.base === b.base
        )
        if (open !== undefined) return error(409, `pull request already exists for these targets [id: ${open.id}]`)
        const created: Item = {
          id: ++ids,
          number: r.next++,
          title: b.title,
          body: b.body ?? "",
          state: "open",
          poster: me,
          pull: { head: b.head, base: b.base, merged: false, reviewers: new Set(), reviews: [] },
          deps: []
        }
        r.items.set(created.number, created)
        return { status: 201, body: await pullJson(r, created) }
      }
      case "repoDeleteBranch": {
        const branch = decodeURIComponent(params["branch"]!)
        if ((await gitIn(base.git, rk, "rev-parse", "--verify", `refs/heads/${branch}`)) === undefined) {
          return notFound()
        }
        await gitIn(base.git, rk, "update-ref", "-d", `refs/heads/${branch}`)
        return { status: 204 }
      }
      case "repoGetPullRequest":
        return item?.pull === undefined ? notFound() : { status: 200, body: await pullJson(r, item) }
      case "repoEditPullRequest":
        if (item?.pull === undefined) return notFound()
        if (b.state === "closed" || b.state === "open") item.state = b.state
        if (typeof b.title === "string") item.title = b.title
        if (typeof b.body === "string") item.body = b.body
        return { status: 201, body: await pullJson(r, item) }
      case "repoCreatePullReviewRequests": {
        if (item?.pull === undefined) return notFound()
        const out = []
        for (const login of b.reviewers ?? []) {
          if (!users.has(login)) return error(422, `user ${login} does not exist`)
          if (login === item.poster) continue
          item.pull.reviewers.add(login)
          out.push(
            reviewJson(r, item, {
              id: ++ids,
              user: login,
              state: "REQUEST_REVIEW",
              commit: "",
              body: "",
              dismissed: false
            })
          )
        }
        return { status: 201, body: out }
      }
      case "repoListPullReviews":
        if (item?.pull === undefined) return notFound()
        return { status: 200, body: page(req, item.pull.reviews.map((rv) => reviewJson(r, item, rv))) }
      case "repoCreatePullReview":
        if (item?.pull === undefined) return notFound()
        return addReview(r, item, me, b.event ?? "COMMENT", b.commit_id, b.body ?? "")
      case "repoMergePullRequest": {
        if (item?.pull === undefined) return notFound()
        if (item.pull.merged) return { status: 405 }
        if (item.state === "closed") return { status: 405 }
        const sha = await headSha(r, item)
        if (typeof b.head_commit_id === "string" && b.head_commit_id !== "" && b.head_commit_id !== sha) {
          return error(409, "head out of date")
        }
        const merged = await mergeBranches(
          base.git,
          rk,
          item.pull.base,
          item.pull.head,
          b.MergeMessageField ?? `Merge pull request '${item.title}' (#${item.number})`
        )
        if (merged === undefined) return error(409, "merge conflict")
        item.pull.merged = true
        item.pull.mergedHead = sha
        item.state = "closed"
        return { status: 200 }
      }
      case "issueListIssues": {
        const state = req.query.get("state") ?? "open"
        const type = req.query.get("type")
        const by = req.query.get("created_by")
        const all = [...r.items.values()].filter((i) =>
          (state === "all" || i.state === state) &&
          (type === null || (type === "pulls") === (i.pull !== undefined)) &&
          (by === null || i.poster === by)
        ).reverse()
        return { status: 200, body: page(req, all).map((i) => issueJson(r, i)) }
      }
      case "issueCreateIssue": {
        const created: Item = {
          id: ++ids,
          number: r.next++,
          title: b.title,
          body: b.body ?? "",
          state: b.closed === true ? "closed" : "open",
          poster: me,
          deps: []
        }
        r.items.set(created.number, created)
        return { status: 201, body: issueJson(r, created) }
      }
      case "issueGetIssue":
        return item === undefined ? notFound() : { status: 200, body: issueJson(r, item) }
      case "issueEditIssue":
        if (item === undefined) return notFound()
        if (typeof b.title === "string") item.title = b.title
        if (typeof b.body === "string") item.body = b.body
        if (b.state === "closed" || b.state === "open") item.state = b.state
        return { status: 201, body: issueJson(r, item) }
      case "issueListIssueDependencies":
        if (item === undefined) return notFound()
        return {
          status: 200,
          body: page(
            req,
            item.deps.flatMap((d) => {
              const dr = repos.get(key(d.owner, d.repo))
              const di = dr?.items.get(d.number)
              return dr === undefined || di === undefined ? [] : [issueJson(dr, di)]
            })
          )
        }
      case "issueCreateIssueDependencies": {
        if (item === undefined) return notFound()
        const dr = repos.get(key(b.owner ?? r.owner, b.repo ?? r.name))
        const di = dr?.items.get(Number(b.index))
        if (dr === undefined || di === undefined) return notFound("dependency not found")
        if (!item.deps.some((d) => d.number === di.number && key(d.owner, d.repo) === key(dr.owner, dr.name))) {
          item.deps.push({ owner: dr.owner, repo: dr.name, number: di.number })
        }
        return { status: 201, body: issueJson(r, item) }
      }
      default:
        base.violations.push(`the Forgejo fake does not implement ${req.op.operationId}`)
        return error(501 as number, "not implemented by the fake")
    }
  }

  base = await startFakeBase({
    name: "Forgejo",
    checker: forgejoChecker(),
    apiPrefix: "/api/v1",
    tokens,
    handle,
    limited: (status, retryAfter) => ({
      status,
      headers: {
        "retry-after": String(retryAfter),
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + retryAfter)
      },
      body: { message: "rate limit exceeded" }
    }),
    unauthorized: () => ({ status: 401, body: { message: "token is required" } })
  })

  const addUser = (login: string, token = `tok-${login}`) => {
    users.set(login, ++ids)
    tokens.set(token, login)
    return token
  }
  addUser("blue")
  return {
    ...base,
    url: base.origin,
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
      return r === undefined || item === undefined ? notFound() : addReview(r, item, login, state)
    }
  }
}
