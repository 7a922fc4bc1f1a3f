/**
 * Credentials for realm remotes, first found wins: `BLUE_REALM_TOKEN`; `BLUE_FORGEJO_TOKEN` for URLs under
 * `BLUE_FORGEJO_URL`; the user's own git credential helpers through `git credential fill` (never prompting); the OS
 * keychain (`secret-tool` / `security`, skipped when absent); `BLUE_HOME/credentials.yaml` (discouraged, and refused
 * unless only its owner can read it). The secret travels in a `Redacted` and reaches programs through stdin only, so
 * it never shows in argv, errors, logs or JSON. `isoGitAuth` maps the chain onto isomorphic-git's auth callbacks:
 * a helper's credential that worked is approved, one the server refused is rejected, as git itself does.
 */
import { Context, Effect, Either, Layer, Redacted, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as YAML from "yaml"
import { displayUrl } from "../domain/realmLocation.js"
import { runProcess } from "./process.js"

/** Where a credential came from. */
export type CredentialSource =
  | "BLUE_REALM_TOKEN"
  | "BLUE_FORGEJO_TOKEN"
  | "git-credential"
  | "keychain"
  | "credentials-file"

/** A user name and secret for one remote; the secret prints as `<redacted>`. */
export interface Credential {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  readonly source: CredentialSource
}

/** `BLUE_HOME/credentials.yaml` exists but may not be used. */
export class CredentialsFileProblem extends Schema.TaggedError<CredentialsFileProblem>()("CredentialsFileProblem", {
  path: Schema.String,
  problem: Schema.String
}) {
  override get message() {
    return `${this.path} ${this.problem}`
  }
}

/** The credential chain port. */
export class Credentials extends Context.Tag("blue/Credentials")<Credentials, {
  /** The first credential the chain finds for `url`, or undefined. */
  readonly lookup: (url: string) => Effect.Effect<Credential | undefined, CredentialsFileProblem>
  /** Tells the credential's source that the server accepted it (`git credential approve`). */
  readonly approve: (url: string, credential: Credential) => Effect.Effect<void>
  /** Tells the credential's source that the server refused it (`git credential reject`). */
  readonly reject: (url: string, credential: Credential) => Effect.Effect<void>
}>() {}

/** How the chain looks things up; every field defaults to this process's own. */
export interface CredentialOptions {
  /** the environment variables are read from, and that `git` and the keychain tools run with */
  readonly env?: NodeJS.ProcessEnv
  /** BLUE_HOME (default: `env.BLUE_HOME`, else ~/.blue) */
  readonly home?: string
  /** picks the keychain tool: `security` on darwin, `secret-tool` elsewhere */
  readonly platform?: NodeJS.Platform
  /** bound for each helper program */
  readonly timeoutMs?: number
}

/** The variables holding Blue's own secrets, never handed to a program. */
export const SECRET_ENV: ReadonlyArray<string> = ["BLUE_REALM_TOKEN", "BLUE_FORGEJO_TOKEN"]

/** The user name sent with a bare token: the URL's, else `BLUE_REALM_USER`, else "blue" (forges ignore it). */
const tokenUser = (url: URL, env: NodeJS.ProcessEnv) =>
  url.username !== "" ? decodeURIComponent(url.username) : env["BLUE_REALM_USER"] || "blue"

/** Whether `url` lies under `base`: same scheme, host and port, and its path starts at a segment of base's. */
export const urlIsUnder = (url: string, base: string): boolean => {
  try {
    const u = new URL(url)
    const b = new URL(base)
    if (u.protocol !== b.protocol || u.host !== b.host) return false
    const prefix = b.pathname.endsWith("/") ? b.pathname : `${b.pathname}/`
    return u.pathname === b.pathname || `${u.pathname}/` === prefix || u.pathname.startsWith(prefix)
  } catch {
    return false
  }
}

/** The environment a trusted helper runs with: the user's own (its configuration lives there) minus Blue's secrets. */
export const helperEnv = (env: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && !SECRET_ENV.includes(k)) out[k] = v
  }
  // Never prompt: no terminal prompt, no askpass program (an empty GIT_ASKPASS also hides core.askPass).
  return { ...out, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "", SSH_ASKPASS: "", ...extra }
}

/** The `git credential` description of a URL (git drops the path unless credential.useHttpPath is set). */
const describe = (u: URL, credential?: Credential): string => {
  const lines = [`protocol=${u.protocol.replace(/:$/, "")}`, `host=${u.host}`]
  const p = u.pathname.replace(/^\//, "")
  if (p !== "") lines.push(`path=${decodeURIComponent(p)}`)
  if (credential !== undefined) {
    lines.push(`username=${credential.username}`, `password=${Redacted.value(credential.password)}`)
  } else if (u.username !== "") {
    lines.push(`username=${decodeURIComponent(u.username)}`)
  }
  // A value with a newline would let it inject other keys; git refuses them too.
  if (lines.some((l) => /[\n\r\0]/.test(l))) return ""
  return `${lines.join("\n")}\n\n`
}

const parseCredentialOutput = (stdout: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=")
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return out
}

interface CredentialsFileEntry {
  readonly url: string
  readonly username?: string
  readonly token: string
}

/** Builds the chain over the given environment. */
export const makeCredentials = (options: CredentialOptions = {}): Context.Tag.Service<Credentials> => {
  const env = options.env ?? process.env
  const home = options.home ?? env["BLUE_HOME"] ?? path.join(env["HOME"] ?? os.homedir(), ".blue")
  const platform = options.platform ?? process.platform
  const timeoutMs = options.timeoutMs ?? 10_000
  const cwd = os.tmpdir()

  const run = (command: string, args: ReadonlyArray<string>, stdin?: string) =>
    runProcess({
      command,
      args,
      cwd,
      env: helperEnv(env),
      ...(stdin === undefined ? {} : { stdin }),
      timeoutMs,
      outputLimit: 64 * 1024
    })

  const fromEnv = (u: URL): Credential | undefined => {
    const realm = env["BLUE_REALM_TOKEN"]
    if (realm !== undefined && realm !== "") {
      return { username: tokenUser(u, env), password: Redacted.make(realm), source: "BLUE_REALM_TOKEN" }
    }
    const forgejo = env["BLUE_FORGEJO_TOKEN"]
    const base = env["BLUE_FORGEJO_URL"]
    if (forgejo !== undefined && forgejo !== "" && base !== undefined && urlIsUnder(u.href, base)) {
      return { username: tokenUser(u, env), password: Redacted.make(forgejo), source: "BLUE_FORGEJO_TOKEN" }
    }
    return undefined
  }

  const fromGit = (u: URL) =>
    Effect.gen(function*() {
      const input = describe(u)
      if (input === "") return undefined
      const r = yield* run("git", ["credential", "fill"], input)
      if (r.code !== 0) return undefined
      const out = parseCredentialOutput(r.stdout)
      const password = out["password"]
      if (password === undefined || password === "") return undefined
      return {
        username: out["username"] ?? tokenUser(u, env),
        password: Redacted.make(password),
        source: "git-credential"
      } satisfies Credential
    })

  const fromKeychain = (u: URL) =>
    Effect.gen(function*() {
      const r = platform === "darwin"
        ? yield* run("security", [
          "find-internet-password",
          "-s",
          u.hostname,
          ...(u.port === "" ? [] : ["-P", u.port]),
          ...(u.username === "" ? [] : ["-a", decodeURIComponent(u.username)]),
          "-w"
        ])
        : yield* run("secret-tool", ["lookup", "service", "blue-realms", "server", u.host])
      // Absent tool (spawnError), nothing stored (non-zero exit): the chain goes on.
      if (r.code !== 0) return undefined
      const secret = r.stdout.replace(/\r?\n$/, "")
      if (secret === "") return undefined
      return { username: tokenUser(u, env), password: Redacted.make(secret), source: "keychain" } satisfies Credential
    })

  const fromFile = (u: URL) =>
    Effect.gen(function*() {
      const file = path.join(home, "credentials.yaml")
      let st: fs.Stats
      try {
        st = fs.statSync(file)
      } catch {
        return undefined
      }
      const problem = (text: string) => new CredentialsFileProblem({ path: file, problem: text })
      if ((st.mode & 0o077) !== 0) {
        return yield* problem(
          `may be read by other users (mode ${
            (st.mode & 0o777).toString(8).padStart(4, "0")
          }), so Blue will not use it; run chmod 600 on it, or better, move the token to a git credential helper or the OS keychain.`
        )
      }
      let entries: ReadonlyArray<CredentialsFileEntry>
      try {
        entries = fileEntries(YAML.parse(fs.readFileSync(file, "utf8")))
      } catch (e) {
        return yield* problem(
          `is not valid: ${
            e instanceof Error ? e.message.split("\n")[0] : "unreadable"
          }; write 'credentials:' as a list of {url, token, username?}.`
        )
      }
      const best = entries
        .filter((e) => urlIsUnder(u.href, e.url))
        .sort((a, b) => b.url.length - a.url.length)[0]
      if (best === undefined) return undefined
      yield* Effect.logWarning(
        `Using a token from ${file}; storing tokens in a file is discouraged, prefer a git credential helper or the OS keychain.`
      )
      return {
        username: best.username ?? tokenUser(u, env),
        password: Redacted.make(best.token),
        source: "credentials-file"
      } satisfies Credential
    })

  const gitFeedback = (verb: "approve" | "reject") => (url: string, credential: Credential) =>
    credential.source !== "git-credential" ? Effect.void : Effect.gen(function*() {
      let u: URL
      try {
        u = new URL(url)
      } catch {
        return
      }
      const input = describe(u, credential)
      if (input !== "") yield* run("git", ["credential", verb], input)
    })

  return {
    lookup: (url) =>
      Effect.gen(function*() {
        let u: URL
        try {
          u = new URL(url)
        } catch {
          return undefined
        }
        return fromEnv(u) ?? (yield* fromGit(u)) ?? (yield* fromKeychain(u)) ?? (yield* fromFile(u))
      }).pipe(Effect.withSpan("Credentials.lookup", { attributes: { url: displayUrl(url) } })),
    approve: gitFeedback("approve"),
    reject: gitFeedback("reject")
  }
}

const fileEntries = (doc: unknown): ReadonlyArray<CredentialsFileEntry> => {
  const list = (doc as { credentials?: unknown } | null)?.credentials
  if (!Array.isArray(list)) throw new Error("no 'credentials' list")
  return list.map((item, i) => {
    const { token, url, username } = (item ?? {}) as Record<string, unknown>
    if (typeof url !== "string" || typeof token !== "string" || token === "") {
      throw new Error(`entry ${i + 1} needs a url and a token`)
    }
    return typeof username === "string" ? { url, token, username } : { url, token }
  })
}

/** The chain over this process's environment. */
export const CredentialsLive = Layer.sync(Credentials, () => makeCredentials())

/** What happened with credentials during one remote operation. */
export interface AuthState {
  /** the credential last offered to the server */
  offered: Credential | undefined
  /** the server refused what was offered */
  refused: boolean
  /** the chain could not be read (e.g. credentials.yaml refused) */
  failure: CredentialsFileProblem | undefined
}

/** A fresh AuthState. */
export const authState = (): AuthState => ({ offered: undefined, refused: false, failure: undefined })

/** isomorphic-git's auth callbacks over the chain: `onAuth` looks up, `onAuthFailure` rejects, success approves. */
export const isoGitAuth = (credentials: Context.Tag.Service<Credentials>, state: AuthState) => {
  const offer = async (url: string) => {
    const found = await Effect.runPromise(Effect.either(credentials.lookup(url)))
    if (Either.isLeft(found)) {
      state.failure = found.left
      return { cancel: true }
    }
    state.offered = found.right
    if (found.right === undefined) return undefined
    return { username: found.right.username, password: Redacted.value(found.right.password) }
  }
  return {
    onAuth: (url: string) => offer(url),
    onAuthFailure: async (url: string) => {
      state.refused = true
      if (state.offered !== undefined) await Effect.runPromise(credentials.reject(url, state.offered))
      // No second offer: first found wins, and the failure is reported as RemoteAuthFailed.
      return undefined
    },
    onAuthSuccess: async (url: string) => {
      if (state.offered !== undefined) await Effect.runPromise(credentials.approve(url, state.offered))
    }
  }
}
