/**
 * The forge port's contract, run against both adapters over their validating fakes (Forgejo's swagger document,
 * GitHub's OpenAPI description): idempotent creates preceded by lookups, a PR found by a head with slashes,
 * reviews normalized, compare-and-swap merges (stale head → ForgeStaleHead, merged again → no-op, closed →
 * ForgeNotMergeable), issues found by their hidden marker, rate limits waited out or given up on with one sentence,
 * 5xx retried without creating twice, and a 50-repo issue fan-out against a rate-limiting forge.
 */
import { FetchHttpClient } from "@effect/platform"
import { Effect, Either, Redacted } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { type ForgePolicy, type ForgeService, issueMarker } from "../src/adapters/forge.js"
import { makeForgejo } from "../src/adapters/forgejo.js"
import { makeGitHub } from "../src/adapters/github.js"
import type { FakeAnswer, FakeBase } from "./support/forgeFake.js"
import { forgejoChecker, startForgejoFake } from "./support/forgejoFake.js"
import { githubChecker, startGitHubFake } from "./support/githubFake.js"

const execFileAsync = promisify(execFile)

const policy: ForgePolicy = {
  mutationsPerMinute: 60_000,
  mutationBurst: 100,
  maxAttempts: 6,
  maxWaitMs: 5_000,
  backoffBaseMs: 20,
  backoffCapMs: 200,
  timeoutMs: 10_000
}

interface Subject extends FakeBase {
  readonly addUser: (login: string) => string
  readonly createRepo: (owner: string, name: string) => Promise<void>
  readonly review: (
    owner: string,
    repo: string,
    number: number,
    login: string,
    state: "APPROVED" | "REQUEST_CHANGES" | "COMMENT"
  ) => Promise<FakeAnswer>
  readonly issuesIn: (owner: string, repo: string) => ReadonlyArray<{ readonly body: string; readonly pull: boolean }>
  readonly forge: (token: string, overrides?: Partial<ForgePolicy>) => ForgeService
}

const subjects: Array<[string, () => Promise<Subject>]> = [
  ["Forgejo", async () => {
    const fake = await startForgejoFake()
    return {
      ...fake,
      issuesIn: (owner, repo) => fake.items(owner, repo).map((i) => ({ body: i.body, pull: i.pull !== undefined })),
      forge: (token, overrides = {}) =>
        Effect.runSync(
          makeForgejo({ url: fake.url, token: Redacted.make(token), policy: { ...policy, ...overrides } }).pipe(
            Effect.provide(FetchHttpClient.layer)
          )
        )
    }
  }],
  ["GitHub", async () => {
    const fake = await startGitHubFake()
    return {
      ...fake,
      issuesIn: (owner, repo) => fake.items(owner, repo).map((i) => ({ body: i.body, pull: i.pull !== undefined })),
      forge: (token, overrides = {}) =>
        makeGitHub({ apiUrl: fake.apiUrl, token: Redacted.make(token), policy: { ...policy, ...overrides } })
    }
  }]
]

const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.either(e))
const ok = async <A, E>(e: Effect.Effect<A, E>): Promise<A> => {
  const r = await run(e)
  if (Either.isLeft(r)) throw new Error(`expected success, got ${String((r.left as { message?: string }).message)}`)
  return r.right
}

describe.each(subjects)("the forge port over the %s fake", (_name, start) => {
  let fake: Subject
  let forge: ForgeService
  let tmp: string
  const ref = { owner: "blue", repo: "realm-demo" }
  const head = "sync/aperture/20260101-120000"

  const git = (cwd: string, ...args: Array<string>) =>
    execFileAsync("git", args, {
      cwd,
      env: {
        ...process.env,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@t",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@t"
      }
    }).then((r) => r.stdout.trim())
  const pushUrl = (cloneUrl: string) => cloneUrl.replace("http://", "http://blue:tok-blue@")

  beforeAll(async () => {
    fake = await start()
    fake.addUser("fungal")
    forge = fake.forge("tok-blue")
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "blue-forge-"))
  })
  afterAll(async () => {
    await fake.close()
    fs.rmSync(tmp, { recursive: true, force: true })
  })
  afterEach(() => {
    fake.setRateLimit(undefined)
    fake.clearFaults()
    expect(fake.violations).toEqual([])
  })

  it("creates a repo once: a lookup first, the same repo on a re-run; it can be pushed to", async () => {
    const first = await ok(forge.createRepo({ name: "realm-demo" }))
    expect(first).toMatchObject({ owner: "blue", repo: "realm-demo", created: true, empty: true })
    const again = await ok(forge.createRepo({ name: "realm-demo" }))
    expect(again).toMatchObject({ created: false, cloneUrl: first.cloneUrl })
    expect(fake.requests.filter((r) => r.method === "POST" && /repos$/.test(r.path))).toHaveLength(1)

    const work = path.join(tmp, "work")
    fs.mkdirSync(work)
    await git(work, "init", "-q", "-b", "main")
    fs.writeFileSync(path.join(work, "realm.yaml"), "name: demo\n")
    await git(work, "add", ".")
    await git(work, "commit", "-qm", "init")
    await git(work, "push", "-q", pushUrl(first.cloneUrl), "main")
    await git(work, "checkout", "-qb", head)
    fs.writeFileSync(path.join(work, "proposal.yaml"), "change: 1\n")
    await git(work, "add", ".")
    await git(work, "commit", "-qm", "proposal")
    await git(work, "push", "-q", pushUrl(first.cloneUrl), head)
    expect(await ok(forge.getRepo(ref))).toMatchObject({ empty: false })
    expect(await ok(forge.getRepo({ owner: "blue", repo: "nope" }))).toBeUndefined()
  })

  it("opens a PR once, finds it by a head with slashes, and normalizes reviews", async () => {
    expect(await ok(forge.findPullByHead(ref, head, "main"))).toBeUndefined()
    const pr = await ok(forge.createPull(ref, { head, base: "main", title: "Bump s3-paths", body: "proposal" }))
    expect(pr).toMatchObject({ number: 1, state: "open", head, base: "main" })
    expect(pr.headSha).toMatch(/^[0-9a-f]{40}$/)
    expect(await ok(forge.findPullByHead(ref, head, "main"))).toMatchObject({ number: 1, headSha: pr.headSha })

    await ok(forge.requestReviewers(ref, pr.number, ["fungal"]))
    expect((await fake.review("blue", "realm-demo", pr.number, "blue", "APPROVED")).status).toBe(422)
    expect((await fake.review("blue", "realm-demo", pr.number, "fungal", "COMMENT")).status).toBe(200)
    expect((await fake.review("blue", "realm-demo", pr.number, "fungal", "APPROVED")).status).toBe(200)
    expect(await ok(forge.listReviews(ref, pr.number))).toEqual([
      { user: "fungal", state: "COMMENTED", commit: pr.headSha },
      { user: "fungal", state: "APPROVED", commit: pr.headSha }
    ])
  })

  it("merges by compare-and-swap: a stale head is refused, a repeated merge is a no-op", async () => {
    const pr = (await ok(forge.findPullByHead(ref, head, "main")))!
    const stale = await run(forge.mergePull(ref, pr.number, "0".repeat(40)))
    expect(Either.isLeft(stale) && stale.left._tag).toBe("ForgeStaleHead")
    expect(await ok(forge.mergePull(ref, pr.number, pr.headSha))).toEqual({ number: pr.number, mergedNow: true })
    expect(await ok(forge.mergePull(ref, pr.number, pr.headSha))).toEqual({ number: pr.number, mergedNow: false })
    expect(await ok(forge.getPull(ref, pr.number))).toMatchObject({ state: "merged", headSha: pr.headSha })
    const main = await fake.git.git("blue/realm-demo", "rev-parse", "refs/heads/main")
    expect(await fake.git.git("blue/realm-demo", "rev-parse", `${main.trim()}^2`)).toContain(pr.headSha)
  })

  it("closes a PR (a withdrawn proposal); a closed PR cannot be merged", async () => {
    const work = path.join(tmp, "work")
    await git(work, "checkout", "-qb", "sync/aperture/20260102-080000", "main")
    fs.writeFileSync(path.join(work, "other.yaml"), "change: 2\n")
    await git(work, "add", ".")
    await git(work, "commit", "-qm", "second")
    const clone = (await ok(forge.getRepo(ref)))!.cloneUrl
    await git(work, "push", "-q", pushUrl(clone), "sync/aperture/20260102-080000")
    const pr = await ok(
      forge.createPull(ref, { head: "sync/aperture/20260102-080000", base: "main", title: "Second", body: "" })
    )
    await ok(forge.closePull(ref, pr.number))
    await ok(forge.closePull(ref, pr.number))
    expect(await ok(forge.getPull(ref, pr.number))).toMatchObject({ state: "closed" })
    const merged = await run(forge.mergePull(ref, pr.number, pr.headSha))
    expect(Either.isLeft(merged) && merged.left._tag).toBe("ForgeNotMergeable")
  })

  it("deletes a branch with slashes in its name (an orphan proposal branch); a missing one is fine", async () => {
    const work = path.join(tmp, "work")
    await git(work, "checkout", "-qb", "sync/aperture/20260103-090000", "main")
    const clone = (await ok(forge.getRepo(ref)))!.cloneUrl
    await git(work, "push", "-q", pushUrl(clone), "sync/aperture/20260103-090000")
    const has = async () =>
      (await fake.git.git("blue/realm-demo", "for-each-ref", "refs/heads/sync/aperture/20260103-090000")).trim()
    expect(await has()).not.toBe("")
    await ok(forge.deleteBranch(ref, "sync/aperture/20260103-090000"))
    expect(await has()).toBe("")
    await ok(forge.deleteBranch(ref, "sync/aperture/20260103-090000"))
  })

  it("finds an issue by its hidden marker, updates and closes it, links dependencies once", async () => {
    const key = "change/s3-paths@2.0.0/fungal"
    expect(await ok(forge.findIssueByMarker(ref, key))).toBeUndefined()
    const issue = await ok(
      forge.createIssue(ref, { title: "Update IAM policy", body: `New S3 path.\n\n${issueMarker(key)}` })
    )
    expect(await ok(forge.findIssueByMarker(ref, key))).toMatchObject({ number: issue.number, state: "open" })
    expect(await ok(forge.findIssueByMarker(ref, "change/other"))).toBeUndefined()
    await ok(forge.updateIssue(ref, issue.number, { body: `Newer.\n\n${issueMarker(key)}` }))
    const other = await ok(forge.createIssue(ref, { title: "Blocker", body: issueMarker("blocker") }))
    await ok(forge.addDependency(ref, issue.number, { ...ref, number: other.number }))
    await ok(forge.addDependency(ref, issue.number, { ...ref, number: other.number }))
    await ok(forge.closeIssue(ref, issue.number))
    expect(await ok(forge.findIssueByMarker(ref, key))).toMatchObject({ number: issue.number, state: "closed" })
    expect(fake.issuesIn("blue", "realm-demo").filter((i) => i.body.includes(issueMarker(key)))).toHaveLength(1)
  })

  it("waits out a rate limit (retry-after) and carries on", async () => {
    fake.setRateLimit({ kind: "next", count: 2, retryAfterSec: 1, status: 403 })
    const t0 = Date.now()
    expect(await ok(forge.getRepo(ref))).toMatchObject({ repo: "realm-demo" })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
  })

  it("waits for x-ratelimit-reset when the primary limit is used up", async () => {
    fake.setRateLimit({ kind: "primary", count: 1, resetInSec: 1 })
    const t0 = Date.now()
    expect(await ok(forge.getPull(ref, 1))).toMatchObject({ number: 1 })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
    expect(fake.requests.filter((r) => r.status === 403).length).toBeGreaterThan(0)
  })

  it("paces mutations to the configured rate", async () => {
    const paced = fake.forge("tok-blue", { mutationsPerMinute: 600, mutationBurst: 1 })
    const t0 = Date.now()
    for (let i = 0; i < 5; i++) {
      await ok(paced.updateIssue(ref, 1, { title: `Bump s3-paths ${i}` }))
    }
    // 600 a minute is one per 100 ms: the first goes at once, four more wait their turn.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(380)
  })

  it("gives up with one clear sentence when the forge asks for longer than we wait", async () => {
    fake.setRateLimit({ kind: "always", retryAfterSec: 3600, status: 429 })
    const r = await run(forge.createIssue(ref, { title: "x", body: issueMarker("never") }))
    expect(Either.isLeft(r) && r.left._tag).toBe("ForgeRateLimited")
    if (Either.isLeft(r)) {
      expect(r.left.message).toMatch(/kept rate-limiting open an issue .* gave up/)
      expect(r.left.message).not.toContain("tok-blue")
    }
  })

  it("retries a 5xx on a read, and does not create twice when a create's answer is lost", async () => {
    fake.failNext({ status: 502, method: "GET" }, 2)
    expect(await ok(forge.getRepo(ref))).toMatchObject({ repo: "realm-demo" })
    const key = "lost-answer"
    fake.failNext({ status: 502, method: "POST", afterApply: true })
    const issue = await ok(forge.createIssue(ref, { title: "Lost answer", body: issueMarker(key) }))
    expect(fake.issuesIn("blue", "realm-demo").filter((i) => i.body.includes(issueMarker(key)))).toHaveLength(1)
    expect(await ok(forge.findIssueByMarker(ref, key))).toMatchObject({ number: issue.number })
  })

  it("gives up on a forge that keeps failing, after a bounded number of attempts, in one sentence", async () => {
    fake.failNext({ status: 503, method: "GET" }, 100)
    const before = fake.requests.length
    const r = await run(forge.getPull(ref, 1))
    fake.clearFaults()
    expect(Either.isLeft(r) && r.left._tag).toBe("ForgeError")
    if (Either.isLeft(r)) expect(r.left.message).toMatch(/read a pull request failed \(HTTP 503\).*6 attempts/)
    expect(fake.requests.length - before).toBe(policy.maxAttempts)
  })

  it("gives up on a request that gets no answer in time and tries again", async () => {
    const impatient = fake.forge("tok-blue", { timeoutMs: 300 })
    fake.failNext({ status: 200, method: "GET", delayMs: 1500 })
    const t0 = Date.now()
    expect(await ok(impatient.getPull(ref, 1))).toMatchObject({ number: 1 })
    expect(Date.now() - t0).toBeLessThan(1400)
  })

  it("refuses a token the forge does not know, naming no token", async () => {
    const r = await run(fake.forge("wrong-token").getRepo(ref))
    expect(Either.isLeft(r) && r.left._tag).toBe("ForgeAuthFailed")
    if (Either.isLeft(r)) expect(r.left.message).not.toContain("wrong-token")
  })

  it("the fake fails a request its API document rejects", async () => {
    const bad = fake.forge("tok-blue")
    const r = await run(bad.mergePull(ref, 999_999_999_999, "x"))
    expect(Either.isLeft(r)).toBe(true)
    // A body field the document does not have (GitHub's `sha` sent to Forgejo, say) and a wrongly typed field.
    const api = fake.requests[0]!.path.startsWith("/api/v1") ? `${fake.origin}/api/v1` : `${fake.origin}/api/v3`
    const headers = { authorization: "token tok-blue", "content-type": "application/json" }
    const res = await fetch(`${api}/repos/blue/realm-demo/issues`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: 42, unknown_field: true })
    })
    expect(res.status).toBe(422)
    expect(fake.violations.join("\n")).toMatch(/unknown_field|title/)
    fake.violations.length = 0
  })

  it("fans out 50 issues to 50 repos against a rate-limiting forge with no user action", async () => {
    for (let i = 0; i < 50; i++) await fake.createRepo("blue", `svc-${i}`)
    fake.setRateLimit({ kind: "window", mutations: 15, windowMs: 1000, status: 429 })
    const before = fake.requests.length
    const out = await ok(
      Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) =>
          Effect.gen(function*() {
            const r = { owner: "blue", repo: `svc-${i}` }
            const key = `change/s3-paths/svc-${i}`
            const found = yield* forge.findIssueByMarker(r, key)
            return found ?? (yield* forge.createIssue(r, { title: "Update IAM policy", body: issueMarker(key) }))
          }),
        { concurrency: 10 }
      )
    )
    expect(out).toHaveLength(50)
    const limited = fake.requests.slice(before).filter((r) => r.status === 429).length
    expect(limited).toBeGreaterThan(0)
    for (let i = 0; i < 50; i++) expect(fake.issuesIn("blue", `svc-${i}`)).toHaveLength(1)
  }, 60_000)
})

describe("the fakes' checkers", () => {
  it("Forgejo's: refuse GitHub's merge body, a PR without a numeric index, an answer of the wrong shape", () => {
    const c = forgejoChecker()
    const merge = c.match("POST", "/api/v1/repos/o/r/pulls/3/merge")!
    expect(merge.operationId).toBe("repoMergePullRequest")
    expect(c.checkRequest(merge, new URLSearchParams(), { Do: "merge", head_commit_id: "abc" }, true)).toEqual([])
    expect(c.checkRequest(merge, new URLSearchParams(), { sha: "abc", merge_method: "merge" }, true).join()).toMatch(
      /Do|sha/
    )
    const byHead = c.match("GET", "/api/v1/repos/o/r/pulls/main/sync/aperture/20260101-120000")!
    expect(byHead).toMatchObject({
      operationId: "repoGetPullRequestByBaseHead",
      params: { base: "main", head: "sync/aperture/20260101-120000" }
    })
    const get = c.match("GET", "/api/v1/repos/o/r/pulls/3")!
    expect(c.checkResponse(get, 200, { number: "three" }).join()).toMatch(/number/)
    expect(c.checkResponse(get, 418, undefined).join()).toMatch(/does not document status 418/)
    expect(c.checkRequest(get, new URLSearchParams({ bogus: "1" }), undefined, false).join()).toMatch(/bogus/)
  })

  it("GitHub's: refuse Forgejo's merge body and a pull request answer missing its required fields", () => {
    const c = githubChecker()
    const merge = c.match("PUT", "/api/v3/repos/o/r/pulls/3/merge")!
    expect(merge.operationId).toBe("pulls/merge")
    expect(c.checkRequest(merge, new URLSearchParams(), { sha: "abc", merge_method: "merge" }, true)).toEqual([])
    expect(c.checkRequest(merge, new URLSearchParams(), { Do: "merge" }, true).join()).toMatch(/Do/)
    const get = c.match("GET", "/api/v3/repos/o/r/pulls/3")!
    expect(c.checkResponse(get, 200, { number: 3 }).length).toBeGreaterThan(0)
    expect(c.checkResponse(get, 200, c.fill(get, 200, { number: 3, state: "open" }))).toEqual([])
  })
})
