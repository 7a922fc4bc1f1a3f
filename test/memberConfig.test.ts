import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { findMemberRoot, peekMemberConfig } from "../src/adapters/memberConfig.js"
import { peekPlainMemberConfig } from "../src/adapters/memberConfigPeek.js"

const dirs: Array<string> = []
const repoWith = (config: string | undefined): string => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "blue-member-config-"))
  dirs.push(root)
  fs.mkdirSync(path.join(root, ".blue"))
  if (config !== undefined) fs.writeFileSync(path.join(root, ".blue", "config.yaml"), config)
  return root
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

describe("peekMemberConfig", () => {
  it("reads repo, realm name and path, and whether exports are declared", () => {
    const root = repoWith("repo: api\nrealm:\n  name: acme\n  path: ../realm\nexports:\n  x: {}\n")
    expect(peekMemberConfig(root)).toEqual({ repo: "api", realmName: "acme", realmPath: "../realm", hasExports: true })
  })

  it("leaves realm.path undefined when it is missing or not a string", () => {
    expect(peekMemberConfig(repoWith("repo: api\nrealm:\n  name: acme\n"))).toEqual({
      repo: "api",
      realmName: "acme",
      realmPath: undefined,
      hasExports: false
    })
    expect(peekMemberConfig(repoWith("repo: api\nrealm: { name: acme, path: 3 }\n"))?.realmPath).toBeUndefined()
  })

  it("is undefined for a config it cannot read or that does not name repo and realm as strings", () => {
    expect(peekMemberConfig(repoWith(undefined))).toBeUndefined()
    expect(peekMemberConfig(repoWith(""))).toBeUndefined()
    expect(peekMemberConfig(repoWith("repo: [unclosed\n"))).toBeUndefined()
    expect(peekMemberConfig(repoWith("just a string\n"))).toBeUndefined()
    expect(peekMemberConfig(repoWith("repo: 1\nrealm: { name: acme }\n"))).toBeUndefined()
    expect(peekMemberConfig(repoWith("repo: api\nrealm: acme\n"))).toBeUndefined()
    expect(peekMemberConfig(repoWith("repo: api\x00\nrealm: { name: acme }\n"))).toBeUndefined()
  })

  it("findMemberRoot finds the nearest config upward", () => {
    const root = repoWith("repo: api\n")
    fs.mkdirSync(path.join(root, "src", "deep"), { recursive: true })
    expect(findMemberRoot(path.join(root, "src", "deep"))).toBe(root)
  })
})

describe("peekPlainMemberConfig (the status fast path's reader, without the yaml package)", () => {
  it("reads the config Blue writes", () => {
    expect(peekPlainMemberConfig("realm:\n  name: bench\n  path: ../realm-bench\nrepo: aperture\n")).toEqual({
      repo: "aperture",
      realmName: "bench",
      realmPath: "../realm-bench",
      hasExports: false
    })
  })

  it("answers only what the yaml reader answers, and is unsure of anything beyond the plain form", () => {
    const texts = [
      "repo: api\nrealm:\n  name: acme\n  path: ../realm\n",
      "repo: api\r\nrealm:\r\n  name: acme\r\n",
      "# comment\nrepo: 'api'\nrealm:\n  # inner\n  name: \"acme\"\n  path: /abs/realm\n\n",
      "repo: api\nrealm:\n  name: acme\n  path: ./r\n",
      "repo: api\nrealm:\n  name: acme\nexports:\n  x: {}\n",
      "repo: api\nrealm: { name: acme, path: ../r }\n",
      "repo: api\nrealm:\n  name: acme\n  path: 3\n",
      "repo: api\nrealm:\n  name: acme\n  path: ~\n",
      "repo: api\nrealm:\n  name: acme\n  path: .inf\n",
      "repo: api\nrealm:\n  name: acme\n  path: null\n",
      "repo: true\nrealm:\n  name: acme\n",
      "repo: api #note\nrealm:\n  name: acme\n",
      "repo: api\nrepo: web\nrealm:\n  name: acme\n",
      "repo: api\nrealm:\n    name: acme\n",
      "repo: api\nrealm:\n\tname: acme\n",
      "repo: &a api\nrealm:\n  name: *a\n",
      "repo: !!str api\nrealm:\n  name: acme\n",
      "repo: \"a\\u0062\"\nrealm:\n  name: acme\n",
      "repo: api\n  name: acme\n",
      "repo: api\nrealm:\n  name: acme\n---\nrepo: web\n",
      "repo: api\nrealm:\n  name: a: b\n",
      "repo: -api\nrealm:\n  name: acme\n",
      "\ufeffrepo: api\nrealm:\n  name: acme\n",
      "repo: api\nrealm:\n  name: acme\nother: 1\n",
      "repo:\nrealm:\n  name: acme\n",
      ""
    ]
    let answered = 0
    for (const text of texts) {
      const plain = peekPlainMemberConfig(text)
      if (plain === "unsure") continue
      answered++
      expect({ text, peek: plain }).toEqual({ text, peek: peekMemberConfig(repoWith(text)) })
    }
    expect(answered).toBe(4)
  })
})
