/**
 * Who is acting: the identity recorded in realm commits (author, trailers) and in every event's actor. It is
 * checked before any write, because a newline in it would add lines to a commit message.
 */
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { InvalidIdentity } from "../domain/errors.js"
import { identityProblem } from "../domain/nameRules.js"
import { findUp } from "./paths.js"
import { readOutputSync } from "./process.js"

/** The `user.*` keys of git config files, for machines without a `git` executable (no includes). */
const parseUserKeys = (file: string, into: Map<string, string>) => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch {
    return
  }
  let section = ""
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"[^"]*")?\s*\]/.exec(line)
    if (header !== null) {
      section = header[1]!.toLowerCase()
      continue
    }
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*)$/.exec(line)
    if (section !== "user" || kv === null) continue
    let value = kv[2]!.replace(/\s+[#;].*$/, "").trim()
    if (value.startsWith("\"") && value.endsWith("\"") && value.length >= 2) value = value.slice(1, -1)
    into.set(`user.${kv[1]!.toLowerCase()}`, value)
  }
}

/** git's `user.email` and `user.name` as seen from `cwd` (the repo's config over the global one). */
const gitUserConfig = (cwd: string, env: Environment): Map<string, string> => {
  // One `git config` per directory and process: a command asks for the actor more than once.
  let out = configs.get(cwd)
  if (out === undefined) configs.set(cwd, out = readGitUserConfig(cwd, env))
  return out
}

const configs = new Map<string, Map<string, string>>()

const readGitUserConfig = (cwd: string, env: Environment): Map<string, string> => {
  const out = new Map<string, string>()
  const stdout = readOutputSync("git", ["config", "--get-regexp", "^user\\.(email|name)$"], cwd)
  if (stdout !== undefined) {
    // Later lines come from narrower scopes (system, global, repo), so the last one wins, as in git.
    for (const line of stdout.split("\n")) {
      const space = line.indexOf(" ")
      if (space > 0) out.set(line.slice(0, space).toLowerCase(), line.slice(space + 1))
    }
    return out
  }
  const home = os.homedir()
  const xdg = env["XDG_CONFIG_HOME"] ?? path.join(home, ".config")
  parseUserKeys(path.join(xdg, "git", "config"), out)
  parseUserKeys(env["GIT_CONFIG_GLOBAL"] ?? path.join(home, ".gitconfig"), out)
  const root = findUp(cwd, (d) => fs.existsSync(path.join(d, ".git")))
  if (root !== undefined) parseUserKeys(path.join(root, ".git", "config"), out)
  return out
}

/** The variables identity is read from (the process's, or those of a command the daemon runs for a caller). */
export type Environment = Readonly<Record<string, string | undefined>>

/** The acting identity and where it came from. */
export interface ActingIdentity {
  readonly value: string
  readonly source: string
}

/**
 * Who is acting: BLUE_USER, then git's author (GIT_AUTHOR_EMAIL, `git config user.email`, `user.name` — the
 * repo's config, then the global one), then EMAIL, then user@host.
 */
export const identity = (cwd: string = process.cwd(), vars: Environment = process.env): ActingIdentity => {
  const env = (name: string) => {
    const v = vars[name]
    return v === undefined || v === "" ? undefined : { value: v, source: name }
  }
  const fromEnv = env("BLUE_USER") ?? env("GIT_AUTHOR_EMAIL")
  if (fromEnv !== undefined) return fromEnv
  const config = gitUserConfig(cwd, vars)
  for (const key of ["user.email", "user.name"]) {
    const v = config.get(key)
    if (v !== undefined && v !== "") return { value: v, source: `git config ${key}` }
  }
  return env("EMAIL") ?? { value: `${os.userInfo().username}@${os.hostname()}`, source: "user@host" }
}

/** The person acting, refused when it could forge lines of a realm commit (a newline, control characters, <>). */
export const actingUser = (
  cwd: string = process.cwd(),
  env: Environment = process.env
): Effect.Effect<string, InvalidIdentity> =>
  Effect.suspend(() => {
    const who = identity(cwd, env)
    const reason = identityProblem(who.value)
    return reason === undefined
      ? Effect.succeed(who.value)
      : Effect.fail(new InvalidIdentity({ source: who.source, value: who.value, reason }))
  })

/** The person acting, unchecked (for display and defaults; writes go through `actingUser`). */
export const currentUser = (cwd: string = process.cwd(), env: Environment = process.env): string =>
  identity(cwd, env).value

/** The identity port: who acts in a directory, for a caller's environment (the process's by default). */
export class Identity extends Context.Tag("blue/Identity")<Identity, {
  /** The person acting, refused when it could forge lines of a realm commit (for writes). */
  readonly acting: (cwd: string, env?: Environment) => Effect.Effect<string, InvalidIdentity>
  /** The person acting, unchecked (for display and defaults). */
  readonly current: (cwd: string, env?: Environment) => Effect.Effect<string>
}>() {}

/** The identity from the environment and git's config (`identity`). */
export const IdentityLive = Layer.succeed(Identity, {
  acting: (cwd: string, env?: Environment) => actingUser(cwd, env),
  current: (cwd: string, env?: Environment) => Effect.sync(() => currentUser(cwd, env))
})
