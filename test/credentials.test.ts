/**
 * The credential chain: its order, the Forgejo token's scope, the user's git credential helpers (run through the git
 * executable, approve/reject included), the keychain tools, and the refusal of a credentials file others may read.
 */
import { Effect, Either, Layer, Logger, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as util from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type CredentialOptions, Credentials, makeCredentials, urlIsUnder } from "../src/adapters/credentials.js"
import { RemoteGit, RemoteGitLive } from "../src/adapters/remoteGit.js"
import { type GitServer, startGitServer } from "./support/gitServer.js"

let tmp: string
let server: GitServer
const TOKEN = "right-token-4242"

/** A temp HOME whose git config names a credential helper that logs its argv and stdin and answers `get`. */
const helperHome = (password: string | undefined) => {
  const home = fs.mkdtempSync(path.join(tmp, "home-"))
  const log = path.join(home, "helper.log")
  const helper = path.join(home, "helper.sh")
  fs.writeFileSync(
    helper,
    `#!/bin/sh
echo "argv: $*" >> ${JSON.stringify(log)}
cat >> ${JSON.stringify(log)}
${password === undefined ? "" : `[ "$1" = get ] && printf 'username=helper-user\\npassword=%s\\n' '${password}'`}
exit 0
`,
    { mode: 0o755 }
  )
  fs.writeFileSync(path.join(home, ".gitconfig"), `[credential]\n\thelper = ${helper}\n`)
  return { home, log: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "") }
}

/** A directory with fake keychain tools (`secret-tool`, `security`) that log their argv and print `secret`. */
const fakeKeychain = (secret: string) => {
  const bin = fs.mkdtempSync(path.join(tmp, "bin-"))
  const log = path.join(bin, "calls.log")
  for (const tool of ["secret-tool", "security"]) {
    fs.writeFileSync(
      path.join(bin, tool),
      `#!/bin/sh\necho "${tool} $*" >> ${JSON.stringify(log)}\nprintf '%s\\n' '${secret}'\n`,
      { mode: 0o755 }
    )
  }
  return { bin, log: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "") }
}

const baseEnv = (home: string, bin?: string): NodeJS.ProcessEnv => ({
  PATH: `${bin === undefined ? "" : `${bin}:`}${process.env["PATH"] ?? "/usr/bin:/bin"}`,
  HOME: home,
  GIT_CONFIG_NOSYSTEM: "1"
})

const lookup = async (url: string, options: CredentialOptions) => {
  const logs: Array<string> = []
  const logger = Logger.make(({ message }) => {
    logs.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  const result = await Effect.runPromise(
    Effect.either(makeCredentials(options).lookup(url)).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger))
    )
  )
  return { result, logs }
}

const found = async (url: string, options: CredentialOptions) => {
  const { logs, result } = await lookup(url, options)
  if (Either.isLeft(result)) throw new Error(result.left.message)
  return { credential: result.right, logs }
}

const blueHomeWithFile = (mode: number, body: string) => {
  const blueHome = fs.mkdtempSync(path.join(tmp, "blue-"))
  const file = path.join(blueHome, "credentials.yaml")
  fs.writeFileSync(file, body)
  fs.chmodSync(file, mode)
  return { blueHome, file }
}

const FILE_BODY = `credentials:
  - url: https://git.example.com/
    token: file-token-1
  - url: https://git.example.com/team/
    username: filer
    token: file-token-2
`

beforeAll(async () => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-cred-")))
  server = await startGitServer({ auth: { user: "helper-user", token: TOKEN } })
})

afterAll(async () => {
  await server?.close()
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe("the credential chain, first found wins", () => {
  const url = "https://git.example.com/team/realm.git"

  it("BLUE_REALM_TOKEN, then BLUE_FORGEJO_TOKEN under BLUE_FORGEJO_URL, then git, the keychain, the file", async () => {
    const h = helperHome("helper-secret")
    const k = fakeKeychain("keychain-secret")
    const { blueHome } = blueHomeWithFile(0o600, FILE_BODY)
    const env = baseEnv(h.home, k.bin)
    const all = {
      ...env,
      BLUE_REALM_TOKEN: "realm-token",
      BLUE_FORGEJO_TOKEN: "forgejo-token",
      BLUE_FORGEJO_URL: "https://git.example.com/team"
    }
    const pick = async (e: NodeJS.ProcessEnv, u = url) => {
      const { credential } = await found(u, { env: e, home: blueHome, platform: "linux" })
      return credential === undefined ? undefined : [credential.source, Redacted.value(credential.password)]
    }
    expect(await pick(all)).toEqual(["BLUE_REALM_TOKEN", "realm-token"])
    const { BLUE_REALM_TOKEN: _, ...noRealm } = all
    expect(await pick(noRealm)).toEqual(["BLUE_FORGEJO_TOKEN", "forgejo-token"])
    // The Forgejo token applies only under BLUE_FORGEJO_URL (not to a sibling path or another host).
    expect(await pick(noRealm, "https://git.example.com/teamster/r.git")).toEqual(["git-credential", "helper-secret"])
    expect(await pick(noRealm, "https://other.example.com/team/r.git")).toEqual(["git-credential", "helper-secret"])
    expect(await pick({ ...env, BLUE_FORGEJO_TOKEN: "forgejo-token" })).toEqual(["git-credential", "helper-secret"])
    // No helper with an answer: the keychain.
    expect(await pick(baseEnv(helperHome(undefined).home, k.bin))).toEqual(["keychain", "keychain-secret"])
    expect(k.log()).toContain("secret-tool lookup service blue-realms server git.example.com")
    // No keychain tool: the file, its longest matching URL, with a warning that it is discouraged.
    const { credential, logs } = await found(url, { env: baseEnv(helperHome(undefined).home), home: blueHome })
    expect(credential).toMatchObject({ source: "credentials-file", username: "filer" })
    expect(Redacted.value(credential!.password)).toBe("file-token-2")
    expect(logs.join("\n")).toMatch(/storing tokens in a file is discouraged/)
    // Nothing anywhere: undefined, quickly (git is told never to prompt).
    const t = Date.now()
    expect(
      (await found("https://nowhere.example/r.git", { env: baseEnv(helperHome(undefined).home), home: tmp }))
        .credential
    ).toBe(undefined)
    expect(Date.now() - t).toBeLessThan(5_000)
  })

  it("on darwin the keychain is `security find-internet-password`, the secret read from its stdout", async () => {
    const k = fakeKeychain("mac-secret")
    const { credential } = await found("https://git.example.com:8443/r.git", {
      env: baseEnv(helperHome(undefined).home, k.bin),
      home: tmp,
      platform: "darwin"
    })
    expect(credential).toMatchObject({ source: "keychain" })
    expect(Redacted.value(credential!.password)).toBe("mac-secret")
    expect(k.log()).toContain("security find-internet-password -s git.example.com -P 8443 -w")
  })

  it("refuses a credentials file others may read, in one sentence, and an unreadable one", async () => {
    const { blueHome, file } = blueHomeWithFile(0o644, FILE_BODY)
    const { result } = await lookup(url, { env: baseEnv(helperHome(undefined).home), home: blueHome })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("CredentialsFileProblem")
      expect(result.left.message).toBe(
        `${file} may be read by other users (mode 0644), so Blue will not use it; run chmod 600 on it, or better, move the token to a git credential helper or the OS keychain.`
      )
      expect(result.left.message).not.toContain("file-token")
    }
    const bad = blueHomeWithFile(0o600, "credentials: nope\n")
    const r2 = await lookup(url, { env: baseEnv(helperHome(undefined).home), home: bad.blueHome })
    expect(Either.isLeft(r2.result) && r2.result.left.message).toMatch(/is not valid: no 'credentials' list/)
  })

  it("never shows a secret: Redacted in JSON, toString and inspect; helpers get it on stdin, never in argv", async () => {
    const h = helperHome("helper-secret-xyz")
    const { credential } = await found(url, { env: baseEnv(h.home), home: tmp })
    for (const text of [JSON.stringify(credential), String(credential?.password), util.inspect(credential)]) {
      expect(text).not.toContain("helper-secret-xyz")
    }
    await Effect.runPromise(makeCredentials({ env: baseEnv(h.home), home: tmp }).approve(url, credential!))
    const log = h.log()
    const argvLines = log.split("\n").filter((l) => l.startsWith("argv:"))
    expect(argvLines).toEqual(["argv: get", "argv: store"])
    expect(argvLines.join("\n")).not.toContain("helper-secret-xyz")
    expect(log).toContain("password=helper-secret-xyz") // on stdin
    // Blue's own tokens never reach the helper's environment.
    const envDump = helperHome(undefined)
    fs.writeFileSync(
      path.join(envDump.home, "helper.sh"),
      `#!/bin/sh\nenv > ${JSON.stringify(path.join(envDump.home, "env.txt"))}\nexit 0\n`,
      { mode: 0o755 }
    )
    await found("https://elsewhere.example/r.git", {
      env: { ...baseEnv(envDump.home), BLUE_FORGEJO_TOKEN: "forgejo-xyz", BLUE_FORGEJO_URL: "https://git.example.com" },
      home: tmp
    })
    const dumped = fs.readFileSync(path.join(envDump.home, "env.txt"), "utf8")
    expect(dumped).not.toContain("forgejo-xyz")
    expect(dumped).toContain("GIT_TERMINAL_PROMPT=0")
  })

  it("urlIsUnder compares scheme, host and whole path segments", () => {
    expect(urlIsUnder("https://h/org/r.git", "https://h/org")).toBe(true)
    expect(urlIsUnder("https://h/org/r.git", "https://h/org/")).toBe(true)
    expect(urlIsUnder("https://h/orgs/r.git", "https://h/org")).toBe(false)
    expect(urlIsUnder("http://h/org/r.git", "https://h/org")).toBe(false)
    expect(urlIsUnder("https://h:8443/org/r.git", "https://h/org")).toBe(false)
    expect(urlIsUnder("https://h/org/r.git", "not a url")).toBe(false)
  })
})

describe("git credential helpers against a real server", () => {
  const refs = (url: string, env: NodeJS.ProcessEnv) =>
    Effect.runPromise(
      Effect.either(Effect.flatMap(RemoteGit, (r) => r.listServerRefs(url))).pipe(
        Effect.provide(
          RemoteGitLive({ env, nativeClone: "never", idleTimeoutMs: 5_000 }).pipe(
            Layer.provide(Layer.succeed(Credentials, makeCredentials({ env, home: tmp })))
          )
        )
      )
    )

  it("a helper's credential is used, approved (store) when the server takes it, rejected (erase) on a 401", async () => {
    await server.createBareRepo("helped")
    const url = server.url("helped")

    const good = helperHome(TOKEN)
    const ok = await refs(url, baseEnv(good.home))
    expect(Either.isRight(ok)).toBe(true)
    expect(good.log().split("\n").filter((l) => l.startsWith("argv:"))).toEqual(["argv: get", "argv: store"])
    expect(good.log()).toContain(`host=127.0.0.1:${server.port}`)
    expect(server.requests.at(-1)).toMatchObject({ user: "helper-user", status: 200 })

    const bad = helperHome("stale-token-0000")
    const refused = await refs(url, baseEnv(bad.home))
    expect(Either.isLeft(refused) && refused.left).toMatchObject({
      _tag: "RemoteAuthFailed",
      status: 401,
      source: "git-credential"
    })
    expect(bad.log().split("\n").filter((l) => l.startsWith("argv:"))).toEqual(["argv: get", "argv: erase"])
    if (Either.isLeft(refused)) expect(JSON.stringify(refused.left) + refused.left.message).not.toContain("stale-token")
  })
})
