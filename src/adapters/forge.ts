/**
 * The forge port: what the proposal, notify and pull-request flows ask of a forge (Forgejo/Gitea, GitHub, or none),
 * with its typed errors and the pacing every adapter shares. The realm log stays the truth; the forge is a mirror,
 * so every create here is meant to follow a lookup (a PR by its head branch, an issue by its hidden marker) and
 * every call is safe to repeat after a kill. Adapters: `forgejo.ts` (REST v1 on @effect/platform's HttpClient),
 * `github.ts` (@octokit/rest with the throttling and retry plugins) and `LocalForge` below (a realm on a plain git
 * server or a path: proposals live only in the realm, so pull-request operations answer `NoForge`).
 */
import { Context, Effect, Layer, Schema } from "effect"

/** Which kind of forge an adapter talks to. */
export type ForgeKind = "forgejo" | "github" | "local"

/** A repository on a forge. */
export interface ForgeRepoRef {
  readonly owner: string
  readonly repo: string
}

/** A repository as the forge describes it. */
export interface ForgeRepo extends ForgeRepoRef {
  /** the smart-HTTP URL to clone and push */
  readonly cloneUrl: string
  /** the page a person opens */
  readonly htmlUrl: string
  /** whether it has no commits yet (Forgejo's `empty`; GitHub: no branches) */
  readonly empty: boolean
  /** true when this call created it, false when it already existed */
  readonly created: boolean
}

/** A pull request, normalized. */
export interface ForgePull {
  readonly number: number
  readonly state: "open" | "closed" | "merged"
  readonly title: string
  readonly head: string
  readonly base: string
  readonly headSha: string
  readonly url: string
  readonly draft: boolean
}

/** A review, normalized; pending and dismissed reviews are left out. */
export interface ForgeReview {
  readonly user: string
  readonly state: "APPROVED" | "REQUEST_CHANGES" | "COMMENTED"
  /** the head commit the review was given on */
  readonly commit: string
}

/** An issue, normalized (pull requests are never returned as issues). */
export interface ForgeIssue {
  readonly number: number
  /** the forge's own id (GitHub's dependency API wants it) */
  readonly id: number
  readonly state: "open" | "closed"
  readonly title: string
  readonly body: string
  readonly url: string
}

/** What `mergePull` did. */
export interface ForgeMerged {
  readonly number: number
  /** false when the PR had already been merged at the expected head (a re-run after a kill) */
  readonly mergedNow: boolean
}

/** The hidden marker Blue puts in an issue body to find it again: `<!-- blue:KEY -->`. */
export const issueMarker = (key: string): string => `<!-- blue:${key.replace(/--+/g, "-").replace(/>/g, "")} -->`

/** Whether `body` carries the marker for `key`. */
export const hasMarker = (body: string | null | undefined, key: string): boolean =>
  (body ?? "").includes(issueMarker(key))

/** The key of the first `<!-- blue:KEY -->` marker in a body. */
export const markerKey = (body: string): string | undefined => /<!-- blue:(.+?) -->/.exec(body)?.[1]

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** A forge call failed for a reason other than those below (a 4xx the caller did not expect, 5xx after retries). */
export class ForgeError extends Schema.TaggedError<ForgeError>()("ForgeError", {
  forge: Schema.String,
  op: Schema.String,
  status: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message() {
    return `${this.forge} ${this.op} failed${this.status === undefined ? "" : ` (HTTP ${this.status})`}: ${
      this.detail.replace(/\.?$/, ".")
    }`
  }
}

/** The forge refused the token (or there was none). The token itself is never recorded. */
export class ForgeAuthFailed extends Schema.TaggedError<ForgeAuthFailed>()("ForgeAuthFailed", {
  forge: Schema.String,
  url: Schema.String,
  hadToken: Schema.Boolean
}) {
  override get message() {
    return this.hadToken
      ? `${this.forge} at ${this.url} refused the token Blue found; check BLUE_REALM_TOKEN / BLUE_FORGEJO_TOKEN or your git credential helper.`
      : `${this.forge} at ${this.url} needs a token and Blue found none; set BLUE_REALM_TOKEN (or BLUE_FORGEJO_TOKEN with BLUE_FORGEJO_URL), or store one in a git credential helper.`
  }
}

/** The forge kept rate-limiting us past the bounds we wait for. */
export class ForgeRateLimited extends Schema.TaggedError<ForgeRateLimited>()("ForgeRateLimited", {
  forge: Schema.String,
  op: Schema.String,
  attempts: Schema.Number,
  retryAfterMs: Schema.Number
}) {
  override get message() {
    return `${this.forge} kept rate-limiting ${this.op} (${this.attempts} attempt${
      this.attempts === 1 ? "" : "s"
    }; it asks to wait ${
      Math.ceil(this.retryAfterMs / 1000)
    } s more); Blue gave up for now — nothing was created twice, re-run the command later to carry on.`
  }
}

/** A compare-and-swap merge found the PR's head moved: re-render and retry. */
export class ForgeStaleHead extends Schema.TaggedError<ForgeStaleHead>()("ForgeStaleHead", {
  forge: Schema.String,
  pull: Schema.Number,
  expected: Schema.String
}) {
  override get message() {
    return `Pull request #${this.pull} on ${this.forge} moved past ${
      this.expected.slice(0, 8)
    } before the merge; nothing was merged — read it again and retry.`
  }
}

/** The forge will not merge the PR (closed, conflicting, merged at another head, blocked by branch protection). */
export class ForgeNotMergeable extends Schema.TaggedError<ForgeNotMergeable>()("ForgeNotMergeable", {
  forge: Schema.String,
  pull: Schema.Number,
  reason: Schema.String
}) {
  override get message() {
    return `Pull request #${this.pull} on ${this.forge} cannot be merged: ${this.reason.replace(/\.?$/, ".")}`
  }
}

/** A pull-request operation on a realm that has no forge (a path or a plain git server). */
export class NoForge extends Schema.TaggedError<NoForge>()("NoForge", {
  op: Schema.String
}) {
  override get message() {
    return `This realm has no forge, so there is no pull request to ${this.op}; its proposals live in the realm only.`
  }
}

/** Every failure a forge call may end with. */
export type ForgeFailure = ForgeError | ForgeAuthFailed | ForgeRateLimited | NoForge

// ---------------------------------------------------------------------------------------------------------------
// The port

/** Options of `createPull`. */
export interface NewPull {
  readonly head: string
  readonly base: string
  readonly title: string
  readonly body: string
  /** GitHub: a draft PR; Forgejo has no draft flag on create, so the title gets Forgejo's `WIP: ` prefix */
  readonly draft?: boolean
}

/** One forge, with its token and pacing. */
export interface ForgeService {
  readonly kind: ForgeKind
  /** the web URL of the forge (Forgejo's root URL, https://github.com), for messages */
  readonly url: string
  /** The repo `owner/name`, created when missing (in `org` when given, else under the token's user). */
  readonly createRepo: (
    input: { readonly owner?: string; readonly org?: string; readonly name: string; readonly description?: string }
  ) => Effect.Effect<ForgeRepo, ForgeFailure>
  /** The repo, or undefined when the forge has none by that name. */
  readonly getRepo: (ref: ForgeRepoRef) => Effect.Effect<ForgeRepo | undefined, ForgeFailure>
  /** The login the token belongs to. */
  readonly currentUser: Effect.Effect<string, ForgeFailure>
  /** The PR from `head` into `base` in any state (the latest one), or undefined; `head` may contain slashes. */
  readonly findPullByHead: (
    ref: ForgeRepoRef,
    head: string,
    base: string
  ) => Effect.Effect<ForgePull | undefined, ForgeFailure>
  /** Opens a PR (look it up first with `findPullByHead`). */
  readonly createPull: (ref: ForgeRepoRef, pull: NewPull) => Effect.Effect<ForgePull, ForgeFailure>
  /** One PR by number. */
  readonly getPull: (ref: ForgeRepoRef, number: number) => Effect.Effect<ForgePull, ForgeFailure>
  /** Asks these logins to review (already requested ones are fine). */
  readonly requestReviewers: (
    ref: ForgeRepoRef,
    number: number,
    logins: ReadonlyArray<string>
  ) => Effect.Effect<void, ForgeFailure>
  /** The PR's submitted reviews, oldest first. */
  readonly listReviews: (ref: ForgeRepoRef, number: number) => Effect.Effect<ReadonlyArray<ForgeReview>, ForgeFailure>
  /** Merges only if the PR's head is still `headSha` (compare-and-swap); idempotent once merged at that head. */
  readonly mergePull: (
    ref: ForgeRepoRef,
    number: number,
    headSha: string,
    message?: string
  ) => Effect.Effect<ForgeMerged, ForgeFailure | ForgeStaleHead | ForgeNotMergeable>
  /** Deletes a branch (an orphan proposal branch); deleting a missing one is fine. */
  readonly deleteBranch: (ref: ForgeRepoRef, branch: string) => Effect.Effect<void, ForgeFailure>
  /** Closes a PR without merging (a withdrawn proposal); closing a closed PR is fine. */
  readonly closePull: (ref: ForgeRepoRef, number: number) => Effect.Effect<void, ForgeFailure>
  /** The issue (open or closed) this token opened whose body carries `issueMarker(key)`, or undefined. */
  readonly findIssueByMarker: (ref: ForgeRepoRef, key: string) => Effect.Effect<ForgeIssue | undefined, ForgeFailure>
  /** Opens an issue; put `issueMarker(key)` in the body so `findIssueByMarker` finds it again. */
  readonly createIssue: (
    ref: ForgeRepoRef,
    issue: { readonly title: string; readonly body: string }
  ) => Effect.Effect<ForgeIssue, ForgeFailure>
  /** Changes an issue's title and/or body. */
  readonly updateIssue: (
    ref: ForgeRepoRef,
    number: number,
    change: { readonly title?: string; readonly body?: string }
  ) => Effect.Effect<ForgeIssue, ForgeFailure>
  /** Closes an issue; closing a closed one is fine. */
  readonly closeIssue: (ref: ForgeRepoRef, number: number) => Effect.Effect<void, ForgeFailure>
  /**
   * Records that issue `number` is blocked by `blockedBy` (Forgejo: issue dependencies; GitHub: the issue
   * dependencies API, `blocked_by`). Adding an existing dependency again is fine.
   */
  readonly addDependency: (
    ref: ForgeRepoRef,
    number: number,
    blockedBy: ForgeRepoRef & { readonly number: number }
  ) => Effect.Effect<void, ForgeFailure>
}

/** The forge port: one forge, as a realm's proposals and notifications use it. */
export class Forge extends Context.Tag("blue/Forge")<Forge, ForgeService>() {}

/** Where a forge is: Forgejo/Gitea by its root URL, GitHub by its API URL, or none. */
export type ForgeLocation =
  | { readonly kind: "forgejo"; readonly url: string }
  | { readonly kind: "github"; readonly apiUrl: string; readonly webUrl?: string }
  | { readonly kind: "local" }

/** The factory port: a `ForgeService` for a location, with the token from the credential chain. */
export class Forges extends Context.Tag("blue/Forges")<Forges, {
  /** The forge at `location` (no request is made yet). */
  readonly open: (location: ForgeLocation) => Effect.Effect<ForgeService, ForgeFailure>
}>() {}

// ---------------------------------------------------------------------------------------------------------------
// Pacing and retry rules, shared by the adapters

/** The rate-limit and retry rules of one forge client. */
export interface ForgePolicy {
  /** content-creating requests (POST/PATCH/PUT/DELETE) per minute; GitHub documents about 80 (default 80) */
  readonly mutationsPerMinute: number
  /** how many mutations may go at once before pacing starts (default 5) */
  readonly mutationBurst: number
  /** attempts per request, first included, for rate limits and 5xx/network failures (default 6) */
  readonly maxAttempts: number
  /** the longest single wait we accept from `retry-after` / `x-ratelimit-reset` (default 120 s) */
  readonly maxWaitMs: number
  /** first backoff after a 5xx or network failure, doubled each time with jitter (default 500 ms) */
  readonly backoffBaseMs: number
  /** longest backoff (default 8 s) */
  readonly backoffCapMs: number
  /** per-request timeout (default 30 s) */
  readonly timeoutMs: number
}

/** The default rules; `BLUE_FORGE_MUTATIONS_PER_MINUTE` overrides the pace. */
export const defaultForgePolicy = (env: NodeJS.ProcessEnv = process.env): ForgePolicy => {
  const pace = Number(env["BLUE_FORGE_MUTATIONS_PER_MINUTE"])
  return {
    mutationsPerMinute: Number.isFinite(pace) && pace > 0 ? pace : 80,
    mutationBurst: 5,
    maxAttempts: 6,
    maxWaitMs: 120_000,
    backoffBaseMs: 500,
    backoffCapMs: 8_000,
    timeoutMs: 30_000
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

/**
 * One forge client's pace: a token bucket for mutations (`mutationsPerMinute`, `mutationBurst`), and a shared pause
 * that a rate-limit answer sets, so that every request of a fan-out waits out the forge's `retry-after` instead of
 * each one hitting the limit again.
 */
export class Pacer {
  private tokens: number
  private last = Date.now()
  private chain: Promise<void> = Promise.resolve()
  private pausedUntil = 0

  constructor(readonly policy: ForgePolicy) {
    this.tokens = policy.mutationBurst
  }

  /** Resolves when no rate-limit pause is in force. */
  async gate(): Promise<void> {
    while (Date.now() < this.pausedUntil) await sleep(this.pausedUntil - Date.now())
  }

  /** Resolves when one more mutation may go; mutations are granted in arrival order. */
  mutation(): Promise<void> {
    const turn = this.chain.then(async () => {
      const perMs = this.policy.mutationsPerMinute / 60_000
      for (;;) {
        await this.gate()
        const now = Date.now()
        this.tokens = Math.min(this.policy.mutationBurst, this.tokens + (now - this.last) * perMs)
        this.last = now
        if (this.tokens >= 1) {
          this.tokens -= 1
          return
        }
        await sleep((1 - this.tokens) / perMs)
      }
    })
    this.chain = turn.catch(() => undefined)
    return turn
  }

  /** Holds every request of this client until `ms` from now (a `retry-after` answer). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms)
  }

  /** The backoff before attempt `attempt + 1` after a 5xx or network failure: exponential with full jitter. */
  backoff(attempt: number): number {
    const cap = Math.min(this.policy.backoffCapMs, this.policy.backoffBaseMs * 2 ** (attempt - 1))
    return cap / 2 + Math.random() * (cap / 2)
  }
}

/**
 * How long a rate-limited answer asks us to wait, in ms, or undefined when the answer is not a rate limit: 429, or
 * 403 with `retry-after` or `x-ratelimit-remaining: 0` (GitHub's primary and secondary limits).
 */
export const rateLimitWait = (
  status: number,
  header: (name: string) => string | undefined,
  now = Date.now()
): number | undefined => {
  if (status !== 429 && status !== 403) return undefined
  const retryAfter = header("retry-after")
  if (retryAfter !== undefined && retryAfter !== "") {
    const seconds = Number(retryAfter)
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
    const at = Date.parse(retryAfter)
    if (Number.isFinite(at)) return Math.max(0, at - now)
  }
  const reset = header("x-ratelimit-reset")
  if (header("x-ratelimit-remaining") === "0" && reset !== undefined && reset !== "") {
    return Math.max(0, Number(reset) * 1000 - now) + 1000
  }
  // A 429 with no hint: a minute, GitHub's advice for secondary limits.
  return status === 429 ? 60_000 : undefined
}

/**
 * A create (POST) that a 5xx or a lost connection leaves in doubt: it is sent again only after `lookup` shows it
 * did not happen, so nothing is created twice; without a lookup it is not sent again.
 */
export const createAfterLookup = <A>(
  pacer: Pacer,
  lookup: Effect.Effect<A | undefined, ForgeFailure> | undefined,
  create: Effect.Effect<A, ForgeFailure>
): Effect.Effect<A, ForgeFailure> =>
  Effect.gen(function*() {
    for (let attempt = 1;; attempt++) {
      const made = yield* Effect.either(create)
      if (made._tag === "Right") return made.right
      const e = made.left
      const inDoubt = e._tag === "ForgeError" && (e.status === undefined || e.status >= 500)
      if (!inDoubt || lookup === undefined || attempt >= pacer.policy.maxAttempts) return yield* Effect.fail(e)
      yield* Effect.sleep(pacer.backoff(attempt))
      const found = yield* lookup
      if (found !== undefined) return found
    }
  })

// ---------------------------------------------------------------------------------------------------------------
// The local forge

const noForge = (op: string) => Effect.fail(new NoForge({ op }))

/** No forge: a realm on a path or a plain git server. Lookups find nothing; operations that need a forge fail. */
export const localForge: ForgeService = {
  kind: "local",
  url: "",
  createRepo: () => noForge("create a repository"),
  getRepo: () => Effect.succeed(undefined),
  currentUser: noForge("name the current user"),
  findPullByHead: () => Effect.succeed(undefined),
  createPull: () => noForge("open"),
  getPull: () => noForge("read"),
  requestReviewers: () => noForge("request reviews on"),
  listReviews: () => Effect.succeed([]),
  mergePull: () => noForge("merge"),
  closePull: () => noForge("close"),
  deleteBranch: () => noForge("delete a branch for"),
  findIssueByMarker: () => Effect.succeed(undefined),
  createIssue: () => noForge("open an issue for"),
  updateIssue: () => noForge("update an issue for"),
  closeIssue: () => noForge("close an issue for"),
  addDependency: () => noForge("link issues for")
}

/** The `Forge` port for a realm without a forge. */
export const LocalForgeLive = Layer.succeed(Forge, localForge)
