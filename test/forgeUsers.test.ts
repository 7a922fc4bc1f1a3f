/** The maintainer → forge account mapping (docs/forges.md): `forge:<login>` entries beside emails. */
import { describe, expect, it } from "vitest"
import { forgeLoginOf, forgeMaintainer, forgeReviewers, reposOfForgeLogin } from "../src/domain/forgeUsers.js"

const repos = {
  aperture: { maintainers: ["eric@example.com", "forge:eric"] },
  fungal: { maintainers: ["fungal-maintainer@example.com", "forge:fungal-bot", "forge:Mira"] },
  legacy: { maintainers: ["old@example.com"] }
}

describe("forge users", () => {
  it("reads forge:<login> entries and nothing else", () => {
    expect(forgeLoginOf("forge:alice")).toBe("alice")
    expect(forgeLoginOf(forgeMaintainer("a.b_c-d"))).toBe("a.b_c-d")
    expect(forgeLoginOf("alice@example.com")).toBeUndefined()
    expect(forgeLoginOf("forge:")).toBeUndefined()
    expect(forgeLoginOf("forge:../admin")).toBeUndefined()
    expect(forgeLoginOf("forge:@everyone")).toBeUndefined()
  })

  it("asks the affected repos' forge accounts to review and names the repos without one", () => {
    expect(forgeReviewers(repos, ["fungal", "legacy", "gone"])).toEqual({
      logins: ["Mira", "fungal-bot"],
      unmapped: ["legacy", "gone"]
    })
  })

  it("maps an approving login back to the repos it acknowledges for, case-insensitively", () => {
    expect(reposOfForgeLogin(repos, ["aperture", "fungal", "legacy"], "mira")).toEqual(["fungal"])
    expect(reposOfForgeLogin(repos, ["aperture", "fungal"], "nobody")).toEqual([])
  })
})
