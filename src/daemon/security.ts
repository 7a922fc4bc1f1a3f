/**
 * Who may talk to the daemon: requests addressed to the loopback name of our own port (a DNS-rebinding defence),
 * no foreign browser Origin, and the per-user token for everything but /health. Pure functions.
 */
import { createHash, timingSafeEqual } from "node:crypto"

/** A refused request: HTTP status, tag and one sentence. */
export interface Refusal {
  readonly status: number
  readonly _tag: "ForbiddenHost" | "ForbiddenOrigin" | "Unauthorized"
  readonly message: string
}

/** The Host values that address this daemon. */
export const allowedHosts = (port: number): ReadonlyArray<string> => [
  `127.0.0.1:${port}`,
  `localhost:${port}`,
  `[::1]:${port}`
]

/** The browser origins that are the daemon itself. */
export const allowedOrigins = (port: number): ReadonlyArray<string> =>
  allowedHosts(port).flatMap((h) => [`http://${h}`, `ws://${h}`])

/** Compares a presented token with the real one in constant time (hashing first hides the length). */
export const tokenMatches = (presented: string | undefined, token: string): boolean => {
  if (presented === undefined) return false
  const a = createHash("sha256").update(presented).digest()
  const b = createHash("sha256").update(token).digest()
  return timingSafeEqual(a, b)
}

/** The token of an `Authorization: Bearer …` header. */
export const bearer = (authorization: string | undefined): string | undefined => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")
  return m?.[1]
}

/** Checks a request's Host, Origin and token; undefined when it may proceed. */
export const checkRequest = (request: {
  readonly host: string | undefined
  readonly origin: string | undefined
  readonly authorization: string | undefined
  readonly path: string
  readonly port: number
  readonly token: string
  /** a WebSocket may authenticate with its first message instead of a header */
  readonly tokenOptional?: boolean
}): Refusal | undefined => {
  if (request.host === undefined || !allowedHosts(request.port).includes(request.host.toLowerCase())) {
    return {
      status: 403,
      _tag: "ForbiddenHost",
      message: `Host ${JSON.stringify(request.host ?? "")} is not this daemon; use 127.0.0.1:${request.port}.`
    }
  }
  if (request.origin !== undefined && !allowedOrigins(request.port).includes(request.origin.toLowerCase())) {
    return {
      status: 403,
      _tag: "ForbiddenOrigin",
      message: `Origin ${JSON.stringify(request.origin)} may not use the Blue daemon.`
    }
  }
  if (request.path === "/health" || request.tokenOptional === true) return undefined
  if (!tokenMatches(bearer(request.authorization), request.token)) {
    return {
      status: 401,
      _tag: "Unauthorized",
      message:
        "Missing or wrong token: send 'Authorization: Bearer <token>' with the token from BLUE_HOME/daemon.token."
    }
  }
  return undefined
}
