/**
 * The Forgejo/Gitea adapter of the forge port: REST v1 (`/api/v1`, auth `Authorization: token <PAT>`) on
 * @effect/platform's HttpClient. Request and answer shapes follow Forgejo's own OpenAPI document
 * (`data/forgejo-swagger.json`); the test fake validates every request and answer against it. Rules the document
 * does not state, and that this adapter relies on: PR create needs head/base/title; `GET pulls/{base}/{head}` takes
 * a head with slashes as is (the route is `{base}/*`); merge takes `Do` and `head_commit_id` for compare-and-swap and
 * answers 409 when the head moved, 405 when the PR cannot be merged (for instance already merged).
 *
 * Pacing and retries: `Pacer` (forge.ts) — mutations paced, a 429/403 rate-limit answer pauses the whole client
 * for its `retry-after` (bounded), 5xx and network failures back off with jitter (bounded). A POST is never
 * re-sent blindly after a 5xx (it may have been applied): the create operations look the object up again first.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Redacted } from "effect"
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

/** How to reach one Forgejo. */
export interface ForgejoOptions {
  /** the root URL, e.g. https://codeberg.org (the API is under /api/v1) */
  readonly url: string
  /** the personal access token; absent → anonymous (reads of public repos only) */
  readonly token: Redacted.Redacted<string> | undefined
  readonly policy: ForgePolicy
}

interface Answer {
  readonly status: number
  readonly body: unknown
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE"

const FORGE = "Forgejo"
const PAGE = 50

const seg = (s: string) => encodeURIComponent(s)
const repoPath = (ref: ForgeRepoRef) => `/repos/${seg(ref.owner)}/${seg(ref.repo)}`

const str = (v: unknown): string => (typeof v === "string" ? v : "")
const num = (v: unknown): number => (typeof v === "number" ? v : 0)
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {}

/** The forge's own message from an error answer, cut short. */
const detailOf = (a: Answer): string => {
  const m = obj(a.body)["message"]
  const text = typeof m === "string" && m !== "" ? m : typeof a.body === "string" ? a.body : "no message"
  return text.split("\n")[0]!.slice(0, 300)
}

/** A Forgejo `PullRequest` normalized. */
export const forgejoPull = (raw: unknown): ForgePull => {
  const p = obj(raw)
  const head = obj(p["head"])
  const base = obj(p["base"])
  return {
    number: num(p["number"]),
    state: p["merged"] === true ? "merged" : p["state"] === "closed" ? "closed" : "open",
    title: str(p["title"]),
    head: str(head["ref"]),
    base: str(base["ref"]),
    headSha: str(head["sha"]),
    url: str(p["html_url"]),
    draft: p["draft"] === true
  }
}

const forgejoIssue = (raw: unknown): ForgeIssue => {
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

const forgejoRepo = (raw: unknown, created: boolean): ForgeRepo => {
  const r = obj(raw)
  return {
    owner: str(obj(r["owner"])["login"]),
    repo: str(r["name"]),
    cloneUrl: str(r["clone_url"]),
    htmlUrl: str(r["html_url"]),
    empty: r["empty"] === true,
    created
  }
}

const reviewState = (s: unknown): ForgeReview["state"] | undefined =>
  s === "APPROVED"
    ? "APPROVED"
    : s === "REQUEST_CHANGES"
    ? "REQUEST_CHANGES"
    : s === "COMMENT"
    ? "COMMENTED"
    : undefined

/** A `ForgeService` over one Forgejo/Gitea; needs an HttpClient. */
export const makeForgejo = (options: ForgejoOptions) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const root = options.url.replace(/\/+$/, "")
    const api = `${root}/api/v1`
    const pacer = new Pacer(options.policy)
    const policy = options.policy

    /** One API call with the pacing and retry rules; any status comes back, the caller decides what it means. */
    const call = (op: string, method: Method, path: string, init: {
      readonly query?: Record<string, string | number>
      readonly body?: unknown
    } = {}): Effect.Effect<Answer, ForgeFailure> =>
      Effect.gen(function*() {
        let request = HttpClientRequest.make(method)(`${api}${path}`).pipe(
          HttpClientRequest.setHeader("accept", "application/json")
        )
        if (options.token !== undefined) {
          request = HttpClientRequest.setHeader(request, "authorization", `token ${Redacted.value(options.token)}`)
        }
        if (init.query !== undefined) {
          request = HttpClientRequest.setUrlParams(
            request,
            Object.fromEntries(Object.entries(init.query).map(([k, v]) => [k, String(v)]))
          )
        }
        if (init.body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, init.body)
        const mutation = method !== "GET"
        for (let attempt = 1;; attempt++) {
          yield* Effect.promise(() => pacer.gate())
          if (mutation) yield* Effect.promise(() => pacer.mutation())
          const sent = yield* client.execute(request).pipe(
            Effect.flatMap((res) =>
              Effect.map(Effect.orElseSucceed(res.text, () => ""), (text) => ({
                status: res.status,
                headers: res.headers,
                text
              }))
            ),
            Effect.timeout(Duration.millis(policy.timeoutMs)),
            Effect.either
          )
          const failure = sent._tag === "Left"
            ? (sent.left._tag === "TimeoutException" ? "no answer in time" : "the connection failed")
            : undefined
          if (sent._tag === "Right") {
            const { headers, status, text } = sent.right
            const wait = rateLimitWait(status, (h) => headers[h])
            if (wait !== undefined) {
              if (attempt >= policy.maxAttempts || wait > policy.maxWaitMs) {
                return yield* new ForgeRateLimited({ forge: FORGE, op, attempts: attempt, retryAfterMs: wait })
              }
              yield* Effect.logDebug(`${FORGE} rate limit on ${op}: waiting ${wait} ms`)
              pacer.pause(wait)
              continue
            }
            if (status === 401) {
              return yield* new ForgeAuthFailed({ forge: FORGE, url: root, hadToken: options.token !== undefined })
            }
            if (status < 500) {
              let body: unknown = text
              try {
                body = text === "" ? undefined : JSON.parse(text)
              } catch {
                // not JSON: keep the text for the message
              }
              return { status, body }
            }
          }
          // 5xx or no answer: retry reads and idempotent writes; a POST may have been applied, so the caller decides.
          const detail = failure ?? `the server answered ${sent._tag === "Right" ? sent.right.status : "?"}`
          if (method === "POST" || attempt >= policy.maxAttempts) {
            return yield* new ForgeError({
              forge: FORGE,
              op,
              ...(sent._tag === "Right" ? { status: sent.right.status } : {}),
              detail: `${detail}${attempt > 1 ? ` (after ${attempt} attempts)` : ""}`
            })
          }
          yield* Effect.sleep(Duration.millis(pacer.backoff(attempt)))
        }
      }).pipe(Effect.withSpan(`Forgejo.${op}`))

    const unexpected = (op: string, a: Answer) =>
      new ForgeError({ forge: FORGE, op, status: a.status, detail: detailOf(a) })

    const createOnce = <A>(
      lookup: Effect.Effect<A | undefined, ForgeFailure> | undefined,
      create: Effect.Effect<A, ForgeFailure>
    ) => createAfterLookup(pacer, lookup, create)

    // The token's user does not change: asked once per client (every marker lookup needs it).
    let login: string | undefined
    const currentUser = Effect.suspend(() =>
      login !== undefined ? Effect.succeed(login) : Effect.gen(function*() {
        const a = yield* call("read the current user", "GET", "/user")
        if (a.status !== 200) return yield* unexpected("read the current user", a)
        login = str(obj(a.body)["login"])
        return login
      })
    )

    const getRepo = (ref: ForgeRepoRef) =>
      Effect.gen(function*() {
        const a = yield* call("read a repository", "GET", repoPath(ref))
        if (a.status === 404) return undefined
        if (a.status !== 200) return yield* unexpected("read a repository", a)
        return forgejoRepo(a.body, false)
      })

    const getPull = (ref: ForgeRepoRef, number: number) =>
      Effect.gen(function*() {
        const a = yield* call("read a pull request", "GET", `${repoPath(ref)}/pulls/${number}`)
        if (a.status !== 200) return yield* unexpected("read a pull request", a)
        return forgejoPull(a.body)
      })

    const findPullByHead = (ref: ForgeRepoRef, head: string, base: string) =>
      Effect.gen(function*() {
        // The route is `pulls/{base}/*`: the head goes as is, each of its segments escaped.
        const a = yield* call(
          "find a pull request",
          "GET",
          `${repoPath(ref)}/pulls/${seg(base)}/${head.split("/").map(seg).join("/")}`
        )
        if (a.status === 404) return undefined
        if (a.status !== 200) return yield* unexpected("find a pull request", a)
        return forgejoPull(a.body)
      })

    const paged = <A>(op: string, path: string, query: Record<string, string | number>, each: (raw: unknown) => A) =>
      Effect.gen(function*() {
        const out: Array<A> = []
        for (let page = 1; page <= 200; page++) {
          const a = yield* call(op, "GET", path, { query: { ...query, page, limit: PAGE } })
          if (a.status !== 200 || !Array.isArray(a.body)) return yield* unexpected(op, a)
          out.push(...a.body.map(each))
          if (a.body.length < PAGE) break
        }
        return out
      })

    const findIssueByMarker = (ref: ForgeRepoRef, key: string) =>
      Effect.gen(function*() {
        // Only issues this token's user opened: reliable (the search index may lag) and short.
        const me = yield* currentUser
        const issues = yield* paged(
          "find an issue",
          `${repoPath(ref)}/issues`,
          { state: "all", type: "issues", created_by: me },
          forgejoIssue
        )
        return issues.find((i) => hasMarker(i.body, key))
      })

    const service: ForgeService = {
      kind: "forgejo",
      url: root,
      currentUser,
      getRepo,
      createRepo: (input) =>
        Effect.gen(function*() {
          const owner = input.org ?? input.owner ?? (yield* currentUser)
          const ref = { owner, repo: input.name }
          const existing = yield* getRepo(ref)
          if (existing !== undefined) return existing
          const create = Effect.gen(function*() {
            const me = input.org === undefined ? yield* currentUser : undefined
            const path = input.org !== undefined || me !== owner ? `/orgs/${seg(owner)}/repos` : "/user/repos"
            const a = yield* call("create a repository", "POST", path, {
              body: {
                name: input.name,
                default_branch: "main",
                auto_init: false,
                ...(input.description === undefined ? {} : { description: input.description })
              }
            })
            if (a.status === 409) {
              // Created meanwhile (another machine, or a run killed after the POST): use it.
              const again = yield* getRepo(ref)
              if (again !== undefined) return again
            }
            if (a.status !== 201) return yield* unexpected("create a repository", a)
            return forgejoRepo(a.body, true)
          })
          return yield* createOnce(getRepo(ref), create)
        }),
      findPullByHead,
      createPull: (ref, pull) =>
        createOnce(
          findPullByHead(ref, pull.head, pull.base),
          Effect.gen(function*() {
            const a = yield* call("open a pull request", "POST", `${repoPath(ref)}/pulls`, {
              body: {
                head: pull.head,
                base: pull.base,
                title: pull.draft === true && !/^WIP:/i.test(pull.title) ? `WIP: ${pull.title}` : pull.title,
                body: pull.body
              }
            })
            if (a.status !== 201) return yield* unexpected("open a pull request", a)
            return forgejoPull(a.body)
          })
        ),
      getPull,
      requestReviewers: (ref, number, logins) =>
        logins.length === 0 ? Effect.void : Effect.gen(function*() {
          const a = yield* call("request reviewers", "POST", `${repoPath(ref)}/pulls/${number}/requested_reviewers`, {
            body: { reviewers: [...logins] }
          })
          if (a.status !== 201) return yield* unexpected("request reviewers", a)
        }),
      listReviews: (ref, number) =>
        Effect.map(
          paged("list reviews", `${repoPath(ref)}/pulls/${number}/reviews`, {}, (raw) => {
            const r = obj(raw)
            const state = r["dismissed"] === true ? undefined : reviewState(r["state"])
            return state === undefined
              ? undefined
              : { user: str(obj(r["user"])["login"]), state, commit: str(r["commit_id"]) } satisfies ForgeReview
          }),
          (rs) => rs.filter((r): r is ForgeReview => r !== undefined)
        ),
      mergePull: (ref, number, headSha, message) =>
        Effect.gen(function*() {
          const a = yield* call("merge a pull request", "POST", `${repoPath(ref)}/pulls/${number}/merge`, {
            body: {
              Do: "merge",
              head_commit_id: headSha,
              ...(message === undefined ? {} : { MergeMessageField: message })
            }
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
              reason: now.state === "merged" ? "it was merged at another head" : detailOf(a)
            })
          }
          return yield* unexpected("merge a pull request", a)
        }),
      deleteBranch: (ref, branch) =>
        Effect.gen(function*() {
          const a = yield* call("delete a branch", "DELETE", `${repoPath(ref)}/branches/${seg(branch)}`)
          if (a.status !== 204 && a.status !== 404) return yield* unexpected("delete a branch", a)
        }),
      closePull: (ref, number) =>
        Effect.gen(function*() {
          const a = yield* call("close a pull request", "PATCH", `${repoPath(ref)}/pulls/${number}`, {
            body: { state: "closed" }
          })
          if (a.status !== 201 && a.status !== 200) return yield* unexpected("close a pull request", a)
        }),
      findIssueByMarker,
      createIssue: (ref, issue) =>
        createOnce(
          markerKey(issue.body) === undefined ? undefined : findIssueByMarker(ref, markerKey(issue.body)!),
          Effect.gen(function*() {
            const a = yield* call("open an issue", "POST", `${repoPath(ref)}/issues`, {
              body: { title: issue.title, body: issue.body }
            })
            if (a.status !== 201) return yield* unexpected("open an issue", a)
            return forgejoIssue(a.body)
          })
        ),
      updateIssue: (ref, number, change) =>
        Effect.gen(function*() {
          const a = yield* call("update an issue", "PATCH", `${repoPath(ref)}/issues/${number}`, {
            body: {
              ...(change.title === undefined ? {} : { title: change.title }),
              ...(change.body === undefined ? {} : { body: change.body })
            }
          })
          if (a.status !== 201 && a.status !== 200) return yield* unexpected("update an issue", a)
          return forgejoIssue(a.body)
        }),
      closeIssue: (ref, number) =>
        Effect.gen(function*() {
          const a = yield* call("close an issue", "PATCH", `${repoPath(ref)}/issues/${number}`, {
            body: { state: "closed" }
          })
          if (a.status !== 201 && a.status !== 200) return yield* unexpected("close an issue", a)
        }),
      addDependency: (ref, number, blockedBy) =>
        Effect.gen(function*() {
          const path = `${repoPath(ref)}/issues/${number}/dependencies`
          const existing = yield* paged("list issue dependencies", path, {}, (raw) => {
            const i = obj(raw)
            const repo = obj(i["repository"])
            return { number: num(i["number"]), owner: str(repo["owner"]), repo: str(repo["name"]) }
          })
          if (
            existing.some((d) =>
              d.number === blockedBy.number && d.repo === blockedBy.repo && d.owner === blockedBy.owner
            )
          ) return
          const a = yield* call("add an issue dependency", "POST", path, {
            body: { owner: blockedBy.owner, repo: blockedBy.repo, index: blockedBy.number }
          })
          if (a.status !== 201) return yield* unexpected("add an issue dependency", a)
        })
    }
    return service
  })
