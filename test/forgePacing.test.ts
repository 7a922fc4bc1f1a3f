/** The forge port's pure parts: how long a rate-limited answer asks us to wait, the local forge, the marker. */
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { hasMarker, issueMarker, localForge, markerKey, rateLimitWait } from "../src/adapters/forge.js"

const headers = (h: Record<string, string>) => (name: string) => h[name]

describe("rateLimitWait", () => {
  const now = Date.parse("2026-11-30T12:00:00Z")
  it("reads retry-after as seconds or as a date", () => {
    expect(rateLimitWait(429, headers({ "retry-after": "7" }), now)).toBe(7000)
    expect(rateLimitWait(403, headers({ "retry-after": "Mon, 30 Nov 2026 12:00:30 GMT" }), now)).toBe(30_000)
  })
  it("waits for x-ratelimit-reset (plus a second) when the primary limit is used up", () => {
    const reset = String(now / 1000 + 20)
    expect(rateLimitWait(403, headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset }), now)).toBe(21_000)
  })
  it("does not take a plain 403 (no permission) or another status for a rate limit", () => {
    expect(rateLimitWait(403, headers({ "x-ratelimit-remaining": "12" }), now)).toBeUndefined()
    expect(rateLimitWait(500, headers({ "retry-after": "1" }), now)).toBeUndefined()
    expect(rateLimitWait(429, headers({}), now)).toBe(60_000)
  })
})

describe("the local forge", () => {
  it("finds nothing and refuses what needs a forge, in one sentence", async () => {
    expect(await Effect.runPromise(localForge.findPullByHead({ owner: "o", repo: "r" }, "h", "main"))).toBeUndefined()
    const r = await Effect.runPromise(Effect.either(localForge.mergePull({ owner: "o", repo: "r" }, 1, "x")))
    expect(Either.isLeft(r) && r.left._tag).toBe("NoForge")
    if (Either.isLeft(r)) expect(r.left.message).toMatch(/no forge, so there is no pull request to merge/)
  })
})

describe("issue markers", () => {
  it("hide a key in an HTML comment that cannot be closed early", () => {
    expect(issueMarker("change/s3@2/fungal")).toBe("<!-- blue:change/s3@2/fungal -->")
    expect(issueMarker("a-->b")).toBe("<!-- blue:a-b -->")
    expect(markerKey(`text\n\n${issueMarker("k1")}`)).toBe("k1")
    expect(hasMarker(`x ${issueMarker("k1")}`, "k1")).toBe(true)
    expect(hasMarker(`x ${issueMarker("k10")}`, "k1")).toBe(false)
  })
})
