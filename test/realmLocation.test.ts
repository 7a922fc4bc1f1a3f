import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { displayUrl, looksLikeUrl, parseRealmLocation, pathOptionProblem } from "../src/domain/realmLocation.js"

const ok = (input: string) => Either.getOrThrow(parseRealmLocation(input))
const refused = (input: string) => {
  const r = parseRealmLocation(input)
  if (Either.isRight(r)) throw new Error(`accepted ${input}`)
  return r.left
}

describe("realm locations", () => {
  it("takes http(s) URLs as remotes, without trailing slashes, and shows them without credentials", () => {
    expect(ok("https://git.example.com/org/realm.git/")).toEqual({
      _tag: "Remote",
      url: "https://git.example.com/org/realm.git",
      display: "https://git.example.com/org/realm.git"
    })
    expect(ok("  http://127.0.0.1:3000/r.git ")).toMatchObject({ _tag: "Remote", url: "http://127.0.0.1:3000/r.git" })
    expect(ok("https://alice@git.example.com/r.git")).toMatchObject({ display: "https://git.example.com/r.git" })
  })

  it("takes paths and file:// URLs as local paths", () => {
    expect(ok("/srv/realms/realm-x")).toEqual({ _tag: "Local", path: "/srv/realms/realm-x" })
    expect(ok("../realm-x")).toEqual({ _tag: "Local", path: "../realm-x" })
    expect(ok("./odd:name")).toEqual({ _tag: "Local", path: "./odd:name" })
    expect(ok("file:///srv/realms/my%20realm")).toEqual({ _tag: "Local", path: "/srv/realms/my realm" })
    expect(ok("file://localhost/srv/r")).toEqual({ _tag: "Local", path: "/srv/r" })
    expect(ok("C:\\realms\\x")).toEqual({ _tag: "Local", path: "C:\\realms\\x" })
  })

  it("refuses ssh and other transports in one sentence saying only HTTP(S) is supported", () => {
    for (const input of ["git@github.com:org/realm.git", "github.com:org/realm.git", "ssh://git@host/realm.git"]) {
      const e = refused(input)
      expect(e.message).toMatch(/only HTTP\(S\) git servers are supported/)
      expect(e.message.split(". ").length).toBe(1)
    }
    expect(refused("git://host/realm.git").message).toContain("git://")
    expect(refused("file://otherhost/x").message).toContain("another host")
  })

  it("refuses malformed URLs and URLs that carry a token, without repeating the token", () => {
    expect(refused("https:/host/realm").message).toContain("not a valid URL")
    expect(refused("https://").message).toMatch(/not a valid URL|names no host/)
    const e = refused("https://bob:ghp_SECRET123@git.example.com/r.git")
    expect(e.message).toContain("carries a password or token")
    expect(e.message).not.toContain("ghp_SECRET123")
    expect(JSON.stringify(e)).not.toContain("ghp_SECRET123")
    expect(refused("").message).toContain("empty")
  })

  it("tells URLs from paths by git's rule (a colon before any slash)", () => {
    expect(looksLikeUrl("https://x/y")).toBe(true)
    expect(looksLikeUrl("host:path")).toBe(true)
    expect(looksLikeUrl("./host:path")).toBe(false)
    expect(looksLikeUrl("/a/b:c")).toBe(false)
    expect(looksLikeUrl("C:/realms")).toBe(false)
  })

  it("pathOptionProblem refuses a URL given to --path (today it would create a folder 'https:')", () => {
    expect(pathOptionProblem("https://git.example.com/r.git")).toBe(
      "--path takes a local directory, not a URL (https://git.example.com/r.git); use --remote https://git.example.com/r.git to keep the realm on a git server."
    )
    expect(pathOptionProblem("git@host:r.git")).toMatch(/SSH address/)
    expect(pathOptionProblem("/tmp/realms")).toBe(undefined)
    expect(pathOptionProblem("realms")).toBe(undefined)
  })

  it("displayUrl drops credentials even from URLs it cannot parse", () => {
    expect(displayUrl("https://u:tok@h/r.git")).toBe("https://h/r.git")
    expect(displayUrl("https://u:tok@h:99999/r")).toBe("https://h:99999/r")
  })
})
