/**
 * Where a realm lives, told from what a person typed: an HTTP(S) URL of a git server, or a local path (a `file://`
 * URL is a path). Everything else git would call a remote (ssh, `user@host:path`, `git://`) is refused in one
 * sentence, because Blue talks to servers through isomorphic-git, which speaks smart HTTP only. Whether a path holds
 * a bare repo, a clone or a working realm is for the adapter to find out; this module does no IO.
 */
import { Either, Schema } from "effect"

/** A realm on a git server, reached over smart HTTP. */
export interface RemoteRealmLocation {
  readonly _tag: "Remote"
  /** the URL as given, without trailing slashes */
  readonly url: string
  /** the URL without credentials, for messages */
  readonly display: string
}

/** A realm on this machine. */
export interface LocalRealmLocation {
  readonly _tag: "Local"
  readonly path: string
}

/** A realm location. */
export type RealmLocation = RemoteRealmLocation | LocalRealmLocation

/** Input that names no realm Blue can use, with the one sentence that says why. */
export class UnsupportedRealmLocation extends Schema.TaggedError<UnsupportedRealmLocation>()(
  "UnsupportedRealmLocation",
  { input: Schema.String, reason: Schema.String }
) {
  override get message() {
    return this.reason
  }
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s

/**
 * The URL without user name or password (and with anything unparsable reduced to what precedes an `@`), for
 * messages and logs: a URL a person typed may carry a token.
 */
export const displayUrl = (url: string): string => {
  try {
    const u = new URL(url)
    u.username = ""
    u.password = ""
    return u.href.replace(/\/+$/, "")
  } catch {
    const at = url.lastIndexOf("@")
    const scheme = url.match(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//)?.[0] ?? ""
    return at < 0 ? url : `${scheme}${url.slice(at + 1)}`
  }
}

/**
 * Whether the input is a URL or an scp-like address rather than a plain path, by git's own rule: a colon before any
 * slash (`https://…`, `git@host:org/realm.git`). A drive letter (`C:\\realms`, `C:/realms`) is a path.
 */
export const looksLikeUrl = (input: string): boolean => {
  const trimmed = input.trim()
  const colon = trimmed.indexOf(":")
  if (colon <= 0) return false
  const before = trimmed.slice(0, colon)
  if (before.includes("/") || before.includes("\\")) return false
  return !(before.length === 1 && /^[\\/]/.test(trimmed.slice(colon + 1)))
}

const refuse = (input: string, reason: string) =>
  Either.left(new UnsupportedRealmLocation({ input: displayUrl(input), reason }))

const ONLY_HTTP = "only HTTP(S) git servers are supported (https://host/path.git), or a local path"

/** Tells a URL from a path; refuses what Blue cannot reach, in one sentence. */
export const parseRealmLocation = (raw: string): Either.Either<RealmLocation, UnsupportedRealmLocation> => {
  const input = raw.trim()
  if (input === "") return refuse(raw, "The realm location is empty; give an https:// URL or a path.")
  if (!looksLikeUrl(input)) return Either.right({ _tag: "Local", path: input })
  const m = input.match(SCHEME)
  const scheme = m?.[1].toLowerCase() ?? ""
  const rest = m?.[2] ?? ""
  if (scheme === "http" || scheme === "https") {
    let u: URL
    try {
      if (!rest.startsWith("//")) throw new Error("no authority")
      u = new URL(input)
    } catch {
      return refuse(
        input,
        `${JSON.stringify(displayUrl(input))} is not a valid URL; write it as ${scheme}://host/path.`
      )
    }
    if (u.hostname === "") {
      return refuse(input, `${JSON.stringify(displayUrl(input))} names no host; write it as ${scheme}://host/path.`)
    }
    if (u.password !== "") {
      return refuse(
        input,
        `The URL ${
          displayUrl(input)
        } carries a password or token; remove it from the URL and set BLUE_REALM_TOKEN or a git credential helper instead.`
      )
    }
    const url = input.replace(/\/+$/, "")
    return Either.right({ _tag: "Remote", url, display: displayUrl(url) })
  }
  if (scheme === "file") {
    let u: URL
    try {
      if (!rest.startsWith("//")) throw new Error("no authority")
      u = new URL(input)
    } catch {
      return refuse(input, `${JSON.stringify(input)} is not a valid file URL; write it as file:///absolute/path.`)
    }
    if (u.hostname !== "" && u.hostname !== "localhost") {
      return refuse(input, `The file URL ${input} names another host (${u.hostname}); ${ONLY_HTTP}.`)
    }
    return Either.right({ _tag: "Local", path: decodeURIComponent(u.pathname) })
  }
  if (m !== null && rest.startsWith("//")) {
    return refuse(input, `${displayUrl(input)} uses ${scheme}://; ${ONLY_HTTP}.`)
  }
  return refuse(input, `${displayUrl(input)} looks like an SSH address (user@host:path); ${ONLY_HTTP}.`)
}

/**
 * The problem with a `--path` value, or undefined: `--path` takes a directory, and a URL given there would
 * otherwise become a folder named `https:`.
 */
export const pathOptionProblem = (input: string, option = "--path"): string | undefined => {
  const parsed = parseRealmLocation(input)
  if (Either.isLeft(parsed)) return parsed.left.reason
  if (parsed.right._tag === "Remote") {
    return `${option} takes a local directory, not a URL (${parsed.right.display}); use --remote ${parsed.right.display} to keep the realm on a git server.`
  }
  return undefined
}
