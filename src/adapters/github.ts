/**
 * The GitHub adapter of the forge port: @octokit/rest with @octokit/plugin-throttling (primary and secondary rate
 * limits: `x-ratelimit-reset`, `retry-after`) and @octokit/plugin-retry (5xx with backoff). Our bounds decide how
 * long either may wait; mutations go through the throttling plugin's `write` limiter, which here is our `Pacer`
 * (≤ `mutationsPerMinute`, 80 by default — GitHub's documented pace for content-creating requests). Creates are
 * never re-sent by the retry plugin (a POST that failed with a 5xx may have been applied): they look up first, and
 * look up again before another attempt. The API base is overridable (`BLUE_GITHUB_API_URL`) for tests and GHES.
 */
import type { Octokit } from "@octokit/rest"
import { Effect, Redacted } from "effect"
import {
  createAfterLookup,
  ForgeAuthFailed,
  ForgeError,
  type ForgeFailure,
  type ForgeIssue,
  ForgeNotMergeable,
  type ForgePolicy,
  type ForgePull,
  ForgeRateLimited,
  type ForgeRepo,
  type ForgeRepoRef,
  type ForgeReview,
  type ForgeService,
  ForgeStaleHead,
  hasMarker,
  markerKey,
  Pacer,
  rateLimitWait
} from "./forge.js"

/** How to reach GitHub. */
export interface GitHubOptions {
  /** the REST API base: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server */
  readonly apiUrl: string
  /** the web URL, for messages (default: https://github.com for api.github.com, else the API's origin) */
  readonly webUrl?: string
  readonly token: Redacted.Redacted<string> | undefined
  readonly policy: ForgePolicy
}

const FORGE = "GitHub"
const PER_PAGE = 100

/** Octokit with its plugins, loaded on first use: commands that never talk to GitHub do not pay for it. */
let octokitClass: Promise<typeof Octokit> | undefined
const loadOctokit = () =>
  octokitClass ??= Promise.all([
    import("@octokit/rest"),
    import("@octokit/plugin-throttling"),
    import("@octokit/plugin-retry")
  ]).then(([rest, throttle, retry]) => rest.Octokit.plugin(throttle.throttling, retry.retry) as typeof Octokit)

interface RequestErrorLike {
  readonly status: number
  readonly message: string
  readonly response?: { readonly headers?: Record<string, string | number | undefined>; readonly data?: unknown }
}

const isRequestError = (e: unknown): e is RequestErrorLike =>
  typeof e === "object" && e !== null && typeof (e as { status?: unknown }).status === "number"

const str = (v: unknown): string => (typeof v === "string" ? v : "")
const num = (v: unknown): number => (typeof v === "number" ? v : 0)
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {}

/** A GitHub pull request normalized. */
export const githubPull = (raw: unknown): ForgePull => {
  const p = obj(raw)
  const head = obj(p["head"])
  const base = obj(p["base"])
  return {
    number: num(p["number"]),
    state: p["merged"] === true || (typeof p["merged_at"] === "string" && p["merged_at"] !== "")
      ? "merged"
      : p["state"] === "closed"
      ? "closed"
      : "open",
    title: str(p["title"]),
    head: str(head["ref"]),
    base: str(base["ref"]),
    headSha: str(head["sha"]),
    url: str(p["html_url"]),
    draft: p["draft"] === true
  }
}

const githubIssue = (raw: unknown): ForgeIssue => {
  const i = obj(raw)
  return {
    number: num(i["number"]),
    id: num(i["id"]),
    state: i["state"] === "closed" ? "closed" : "open",
    title: str(i["title"]),
    body: str(i["body"]),
    url: str(i["html_url"])
  }
}

const reviewState = (s: unknown): ForgeReview["state"] | undefined =>
  s === "APPROVED"
    ? "APPROVED"
    : s === "CHANGES_REQUESTED"
    ? "REQUEST_CHANGES"
    : s === "COMMENTED"
    ? "COMMENTED"
    : undefined

/** The web URL beside an API URL. */
export const githubWebUrl = (apiUrl: string): string => {
  const u = new URL(apiUrl)
  if (u.hostname === "api.github.com") return "https://github.com"
  return u.origin
}

/** A `ForgeService` over GitHub's REST API. */
export const makeGitHub = (options: GitHubOptions): ForgeService => {
  const policy = options.policy
  const pacer = new Pacer(policy)
  const apiUrl = options.apiUrl.replace(/\/+$/, "")
  const webUrl = options.webUrl ?? githubWebUrl(apiUrl)
  const quiet = () => undefined
  // Bottleneck-shaped limiters for the throttling plugin: writes wait for our pace (a retry does not pay twice);
  // its stricter notification limiter gives way to that same pace.
  const paced = {
    key: () => ({
      schedule: async (
        jobOptions: { weight?: number },
        fn: (...a: Array<unknown>) => unknown,
        ...args: Array<unknown>
      ) => {
        if (jobOptions?.weight !== 0) await pacer.mutation()
        return fn(...args)
      }
    })
  }
  const passThrough = {
    key: () => ({
      schedule: (_jobOptions: unknown, fn: (...a: Array<unknown>) => unknown, ...args: Array<unknown>) => fn(...args)
    })
  }
  // How many attempts the last rate-limited request made (for the giving-up message).
  let rateLimitAttempts = 1
  const wantRetry = (retryAfter: number, retryCount: number) => {
    rateLimitAttempts = retryCount + 1
    const ok = retryCount + 1 < policy.maxAttempts && retryAfter * 1000 <= policy.maxWaitMs
    // Every request of this client waits the limit out, not just the one that hit it.
    if (ok) pacer.pause(retryAfter * 1000)
    return ok
  }
  // fetch has no timeout of its own: each HTTP request (not the whole call, which may wait out a rate limit) gets one.
  const timedFetch = (url: string | URL | Request, init?: RequestInit) => {
    const timeout = AbortSignal.timeout(policy.timeoutMs)
    return fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout })
  }
  const options_ = (): ConstructorParameters<typeof Octokit>[0] => ({
    ...(options.token === undefined ? {} : { auth: Redacted.value(options.token) }),
    baseUrl: apiUrl,
    userAgent: "blue-realms",
    request: { fetch: timedFetch },
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    throttle: {
      onRateLimit: (retryAfter: number, _o: unknown, _k: unknown, retryCount: number) =>
        wantRetry(retryAfter, retryCount),
      onSecondaryRateLimit: (retryAfter: number, _o: unknown, _k: unknown, retryCount: number) =>
        wantRetry(retryAfter, retryCount),
      fallbackSecondaryRateRetryAfter: 60,
      write: paced,
      notifications: passThrough
    } as never,
    retry: {
      // 405/409 carry meaning (not mergeable, stale head); 429 is the throttling plugin's.
      doNotRetry: [400, 401, 403, 404, 405, 409, 410, 422, 429, 451],
      retries: policy.maxAttempts - 1,
      retryAfterBaseValue: policy.backoffBaseMs
    }
  } as ConstructorParameters<typeof Octokit>[0])
  let client: Promise<Octokit> | undefined
  const octokit = () => client ??= loadOctokit().then((Client) => new Client(options_()))

  type Route = Parameters<Octokit["request"]>[0]

  /** One API call; `ok` lists the statuses returned as answers, any other becomes a typed failure. */
  const call = (
    op: string,
    route: string,
    params: Record<string, unknown> = {},
    create = false
  ): Effect.Effect<{ readonly status: number; readonly data: unknown }, ForgeFailure> =>
    Effect.tryPromise({
      try: async (signal) => {
        await pacer.gate()
        try {
          const r = await (await octokit()).request(route as Route, {
            ...params,
            request: { signal, ...(create ? { retries: 0 } : {}) }
          } as never)
          return { status: r.status as number, data: r.data as unknown }
        } catch (e) {
          if (isRequestError(e) && e.status >= 400 && e.status < 500) {
            return { status: e.status, data: e.response?.data, error: e }
          }
          throw e
        }
      },
      catch: (e) => e
    }).pipe(
      Effect.flatMap((r): Effect.Effect<{ readonly status: number; readonly data: unknown }, ForgeFailure> => {
        const error = (r as { error?: RequestErrorLike }).error
        if (error === undefined) return Effect.succeed(r)
        const headers = error.response?.headers ?? {}
        const wait = rateLimitWait(error.status, (h) => {
          const v = headers[h]
          return v === undefined ? undefined : String(v)
        })
        if (wait !== undefined) {
          return Effect.fail(
            new ForgeRateLimited({
              forge: FORGE,
              op,
              attempts: rateLimitAttempts,
              retryAfterMs: wait
            })
          )
        }
        if (error.status === 401) {
          return Effect.fail(new ForgeAuthFailed({ forge: FORGE, url: webUrl, hadToken: options.token !== undefined }))
        }
        return Effect.succeed(r)
      }),
      Effect.catchAll((e): Effect.Effect<never, ForgeFailure> => {
        if (e instanceof ForgeRateLimited || e instanceof ForgeAuthFailed || e instanceof ForgeError) {
          return Effect.fail(e)
        }
        const status = isRequestError(e) ? e.status : undefined
        return Effect.fail(
          new ForgeError({
            forge: FORGE,
            op,
            ...(status === undefined || status === 0 ? {} : { status }),
            detail: status === undefined || status === 0
              ? "the connection failed"
              : `the server answered ${status}${create ? "" : ` after ${policy.maxAttempts} attempts`}`
          })
        )
      }),
      Effect.withSpan(`GitHub.${op}`)
    )

  const detailOf = (data: unknown) => str(obj(data)["message"]).split("\n")[0]!.slice(0, 300) || "no message"
  const unexpected = (op: string, a: { readonly status: number; readonly data: unknown }) =>
    new ForgeError({ forge: FORGE, op, status: a.status, detail: detailOf(a.data) })

  const createOnce = <A>(
    lookup: Effect.Effect<A | undefined, ForgeFailure> | undefined,
    create: Effect.Effect<A, ForgeFailure>
  ) => createAfterLookup(pacer, lookup, create)

  // The token's user does not change: asked once per client (every marker lookup needs it).
  let login: string | undefined
  const currentUser = Effect.suspend(() =>
    login !== undefined ? Effect.succeed(login) : Effect.gen(function*() {
      const a = yield* call("read the current user", "GET /user")
      if (a.status !== 200) return yield* unexpected("read the current user", a)
      login = str(obj(a.data)["login"])
      return login
    })
  )

  const repoOf = (raw: unknown, created: boolean) =>
    Effect.gen(function*() {
      const r = obj(raw)
      const ref = { owner: str(obj(r["owner"])["login"]), repo: str(r["name"]) }
      const b = yield* call("list branches", "GET /repos/{owner}/{repo}/branches", { ...ref, per_page: 1 })
      if (b.status !== 200) return yield* unexpected("list branches", b)
      return {
        ...ref,
        cloneUrl: str(r["clone_url"]),
        htmlUrl: str(r["html_url"]),
        empty: Array.isArray(b.data) && b.data.length === 0,
        created
      } satisfies ForgeRepo
    })

  const getRepo = (ref: ForgeRepoRef) =>
    Effect.gen(function*() {
      const a = yield* call("read a repository", "GET /repos/{owner}/{repo}", { ...ref })
      if (a.status === 404) return undefined
      if (a.status !== 200) return yield* unexpected("read a repository", a)
      return yield* repoOf(a.data, false)
    })

  const getPull = (ref: ForgeRepoRef, number: number) =>
    Effect.gen(function*() {
      const a = yield* call("read a pull request", "GET /repos/{owner}/{repo}/pulls/{pull_number}", {
        ...ref,
        pull_number: number
      })
      if (a.status !== 200) return yield* unexpected("read a pull request", a)
      return githubPull(a.data)
    })

  const paged = <A>(op: string, route: string, params: Record<string, unknown>, each: (raw: unknown) => A) =>
    Effect.gen(function*() {
      const out: Array<A> = []
      for (let page = 1; page <= 100; page++) {
        const a = yield* call(op, route, { ...params, per_page: PER_PAGE, page })
        if (a.status !== 200 || !Array.isArray(a.data)) return yield* unexpected(op, a)
        out.push(...a.data.map(each))
        if (a.data.length < PER_PAGE) break
      }
      return out
    })

  const findPullByHead = (ref: ForgeRepoRef, head: string, base: string) =>
    Effect.gen(function*() {
      const a = yield* call("find a pull request", "GET /repos/{owner}/{repo}/pulls", {
        ...ref,
        head: `${ref.owner}:${head}`,
        base,
        state: "all",
        per_page: 1
      })
      if (a.status !== 200 || !Array.isArray(a.data)) return yield* unexpected("find a pull request", a)
      return a.data.length === 0 ? undefined : githubPull(a.data[0])
    })

  const findIssueByMarker = (ref: ForgeRepoRef, key: string) =>
    Effect.gen(function*() {
      // The issues this token's user opened (the search API lags behind writes, so it is not used).
      const me = yield* currentUser
      const issues = yield* paged(
        "find an issue",
        "GET /repos/{owner}/{repo}/issues",
        { ...ref, state: "all", creator: me },
        (raw) => (obj(raw)["pull_request"] === undefined ? githubIssue(raw) : undefined)
      )
      return issues.find((i): i is ForgeIssue => i !== undefined && hasMarker(i.body, key))
    })

  return {
    kind: "github",
    url: webUrl,
    currentUser,
    getRepo,
    createRepo: (input) =>
      Effect.gen(function*() {
        const owner = input.org ?? input.owner ?? (yield* currentUser)
        const ref = { owner, repo: input.name }
        const existing = yield* getRepo(ref)
        if (existing !== undefined) return existing
        const create = Effect.gen(function*() {
          const me = yield* currentUser
          const body = {
            name: input.name,
            auto_init: false,
            ...(input.description === undefined ? {} : { description: input.description })
          }
          const a = me === owner && input.org === undefined
            ? yield* call("create a repository", "POST /user/repos", body, true)
            : yield* call("create a repository", "POST /orgs/{org}/repos", { org: owner, ...body }, true)
          if (a.status === 422) {
            const again = yield* getRepo(ref)
            if (again !== undefined) return again
          }
          if (a.status !== 201) return yield* unexpected("create a repository", a)
          return yield* repoOf(a.data, true)
        })
        return yield* createOnce(getRepo(ref), create)
      }),
    findPullByHead,
    createPull: (ref, pull) =>
      createOnce(
        findPullByHead(ref, pull.head, pull.base),
        Effect.gen(function*() {
          const a = yield* call("open a pull request", "POST /repos/{owner}/{repo}/pulls", {
            ...ref,
            head: pull.head,
            base: pull.base,
            title: pull.title,
            body: pull.body,
            ...(pull.draft === true ? { draft: true } : {})
          }, true)
          if (a.status !== 201) return yield* unexpected("open a pull request", a)
          return githubPull(a.data)
        })
      ),
    getPull,
    requestReviewers: (ref, number, logins) =>
      logins.length === 0 ? Effect.void : Effect.gen(function*() {
        const a = yield* call(
          "request reviewers",
          "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
          { ...ref, pull_number: number, reviewers: [...logins] }
        )
        if (a.status !== 201) return yield* unexpected("request reviewers", a)
      }),
    listReviews: (ref, number) =>
      Effect.map(
        paged("list reviews", "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews", {
          ...ref,
          pull_number: number
        }, (raw) => {
          const r = obj(raw)
          const state = reviewState(r["state"])
          return state === undefined
            ? undefined
            : { user: str(obj(r["user"])["login"]), state, commit: str(r["commit_id"]) } satisfies ForgeReview
        }),
        (rs) => rs.filter((r): r is ForgeReview => r !== undefined)
      ),
    mergePull: (ref, number, headSha, message) =>
      Effect.gen(function*() {
        const a = yield* call("merge a pull request", "PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", {
          ...ref,
          pull_number: number,
          sha: headSha,
          merge_method: "merge",
          ...(message === undefined ? {} : { commit_message: message })
        })
        if (a.status === 200) return { number, mergedNow: true }
        if (a.status === 409 || a.status === 405) {
          const now = yield* getPull(ref, number)
          if (now.state === "merged" && now.headSha === headSha) return { number, mergedNow: false }
          if (now.headSha !== headSha) {
            return yield* new ForgeStaleHead({ forge: FORGE, pull: number, expected: headSha })
          }
          return yield* new ForgeNotMergeable({
            forge: FORGE,
            pull: number,
            reason: now.state === "merged" ? "it was merged at another head" : detailOf(a.data)
          })
        }
        return yield* unexpected("merge a pull request", a)
      }),
    deleteBranch: (ref, branch) =>
      Effect.gen(function*() {
        const a = yield* call("delete a branch", "DELETE /repos/{owner}/{repo}/git/refs/{ref}", {
          ...ref,
          ref: `heads/${branch}`
        })
        // 422: "Reference does not exist" (deleted already).
        if (a.status !== 204 && a.status !== 422 && a.status !== 404) return yield* unexpected("delete a branch", a)
      }),
    closePull: (ref, number) =>
      Effect.gen(function*() {
        const a = yield* call("close a pull request", "PATCH /repos/{owner}/{repo}/pulls/{pull_number}", {
          ...ref,
          pull_number: number,
          state: "closed"
        })
        if (a.status !== 200) return yield* unexpected("close a pull request", a)
      }),
    findIssueByMarker,
    createIssue: (ref, issue) => {
      const key = markerKey(issue.body)
      return createOnce(
        key === undefined ? undefined : findIssueByMarker(ref, key),
        Effect.gen(function*() {
          const a = yield* call("open an issue", "POST /repos/{owner}/{repo}/issues", {
            ...ref,
            title: issue.title,
            body: issue.body
          }, true)
          if (a.status !== 201) return yield* unexpected("open an issue", a)
          return githubIssue(a.data)
        })
      )
    },
    updateIssue: (ref, number, change) =>
      Effect.gen(function*() {
        const a = yield* call("update an issue", "PATCH /repos/{owner}/{repo}/issues/{issue_number}", {
          ...ref,
          issue_number: number,
          ...(change.title === undefined ? {} : { title: change.title }),
          ...(change.body === undefined ? {} : { body: change.body })
        })
        if (a.status !== 200) return yield* unexpected("update an issue", a)
        return githubIssue(a.data)
      }),
    closeIssue: (ref, number) =>
      Effect.gen(function*() {
        const a = yield* call("close an issue", "PATCH /repos/{owner}/{repo}/issues/{issue_number}", {
          ...ref,
          issue_number: number,
          state: "closed"
        })
        if (a.status !== 200) return yield* unexpected("close an issue", a)
      }),
    addDependency: (ref, number, blockedBy) =>
      Effect.gen(function*() {
        const route = "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by"
        const existing = yield* paged(
          "list issue dependencies",
          `GET ${route}`,
          { ...ref, issue_number: number },
          (raw) => {
            const i = obj(raw)
            const repo = obj(i["repository"])
            return { number: num(i["number"]), owner: str(obj(repo["owner"])["login"]), repo: str(repo["name"]) }
          }
        )
        if (
          existing.some((d) =>
            d.number === blockedBy.number && d.repo === blockedBy.repo && d.owner === blockedBy.owner
          )
        ) return
        const b = yield* call("read an issue", "GET /repos/{owner}/{repo}/issues/{issue_number}", {
          owner: blockedBy.owner,
          repo: blockedBy.repo,
          issue_number: blockedBy.number
        })
        if (b.status !== 200) return yield* unexpected("read an issue", b)
        const a = yield* call("add an issue dependency", `POST ${route}`, {
          ...ref,
          issue_number: number,
          issue_id: num(obj(b.data)["id"])
        })
        if (a.status !== 201) return yield* unexpected("add an issue dependency", a)
      })
  }
}
