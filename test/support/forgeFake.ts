/**
 * What the Forgejo and GitHub fakes share: an HTTP server on loopback whose API half checks every request and
 * every answer against the forge's own API document (`apiCheck.ts`) and whose other half serves the repos over smart
 * HTTP (a `gitServer.ts` behind it, reached with the same tokens), plus the ways a forge misbehaves on demand: rate
 * limits (a window of N mutations, or every request), 5xx answers (optionally after applying the request, the case
 * that makes a blind retry create twice), and a log of what was asked.
 */
import * as http from "node:http"
import type { ApiChecker, ApiOperation } from "./apiCheck.js"
import { type GitServer, startGitServer } from "./gitServer.js"

/** A request as a fake's handler sees it. */
export interface FakeRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly body: any
  readonly login: string | undefined
  readonly op: ApiOperation
  readonly params: Record<string, string>
}

/** A handler's answer. */
export interface FakeAnswer {
  readonly status: number
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

/** How the fake rate-limits. */
export type RateLimit =
  /** at most `mutations` non-GET API requests per `windowMs`; beyond, `status` with `retry-after` */
  | { readonly kind: "window"; readonly mutations: number; readonly windowMs: number; readonly status: 403 | 429 }
  /** every API request gets `status` with `retry-after: retryAfterSec` */
  | { readonly kind: "always"; readonly retryAfterSec: number; readonly status: 403 | 429 }
  /** the next `count` API requests get it, then normal service */
  | { readonly kind: "next"; readonly count: number; readonly retryAfterSec: number; readonly status: 403 | 429 }
  /**
   * the next `count` API requests hit the primary limit: 403 with `x-ratelimit-remaining: 0` and
   * `x-ratelimit-reset` `resetInSec` from now, and no `retry-after`
   */
  | { readonly kind: "primary"; readonly count: number; readonly resetInSec: number }

/** A 5xx answer (or a slow one) on demand. */
export interface ServerFault {
  readonly status: number
  /** answer normally, this much later (status is then ignored) */
  readonly delayMs?: number
  /** apply the request first, then answer the error (the answer is lost, the effect is not) */
  readonly afterApply?: boolean
  readonly method?: string
  /** an operationId to match */
  readonly operation?: string
  count: number
}

/** One request the API half saw. */
export interface ApiRecord {
  readonly method: string
  readonly path: string
  readonly operation: string | undefined
  status: number
  readonly at: number
}

/** The running fake, before the forge-specific half. */
/** What a request hook is told: the request's number, API or git, and whether it was applied yet. */
export interface RequestEvent {
  readonly n: number
  readonly kind: "api" | "git"
  readonly phase: "arrived" | "applied"
  readonly method: string
  readonly path: string
}

/** See `FakeBase.setRequestHook`; answering "drop" when a request arrives drops it unapplied (the client died first). */
export type RequestHook = (event: RequestEvent) => "drop" | void

export interface FakeBase {
  readonly port: number
  /** http://127.0.0.1:PORT */
  readonly origin: string
  readonly git: GitServer
  /** every request or answer that broke the API document, or a rule of the real server */
  readonly violations: Array<string>
  readonly requests: Array<ApiRecord>
  /**
   * Sets (or, with undefined, clears) a function called after each API request was applied, before its answer
   * goes out: a test kills its client there (the effect happened, the answer is lost).
   */
  readonly onApplied: (f: ((record: ApiRecord) => void) | undefined) => void
  setRateLimit: (limit: RateLimit | undefined) => void
  failNext: (fault: Omit<ServerFault, "count">, count?: number) => void
  /** Drops every pending fault. */
  clearFaults: () => void
  /**
   * Called for every request the fake serves, API and git alike, numbered from 1 since the last `setRequestHook`:
   * once when it arrives (answer "drop" to leave it unapplied) and once when it was applied (its answer not yet
   * sent). A kill-anywhere harness SIGKILLs its client from here.
   */
  setRequestHook: (hook: RequestHook | undefined) => void
  readonly close: () => Promise<void>
}

/** Options of `startFakeBase`. */
export interface FakeBaseOptions {
  readonly name: string
  readonly checker: ApiChecker
  /** the API's path prefix, e.g. /api/v1 */
  readonly apiPrefix: string
  /** token → login */
  readonly tokens: Map<string, string>
  readonly handle: (req: FakeRequest) => FakeAnswer | Promise<FakeAnswer>
  /** the answer to a rate-limited request, in the forge's own words */
  readonly limited: (status: number, retryAfterSec: number) => FakeAnswer
  /** the answer to a request without a valid token */
  readonly unauthorized: () => FakeAnswer
}

const readBody = (req: http.IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

/** Starts the shared half of a fake forge on a free loopback port. */
export const startFakeBase = async (options: FakeBaseOptions): Promise<FakeBase> => {
  const git = await startGitServer()
  const violations: Array<string> = []
  const requests: Array<ApiRecord> = []
  let limit: RateLimit | undefined
  let windowStart = 0
  let windowCount = 0
  let nextLeft = 0
  const faults: Array<ServerFault> = []
  let hook: RequestHook | undefined
  let served = 0
  const tell = (n: number, kind: "api" | "git", phase: "arrived" | "applied", req: http.IncomingMessage) =>
    hook?.({ n, kind, phase, method: req.method ?? "GET", path: (req.url ?? "/").split("?")[0]! }) === "drop"
  let applied: ((record: ApiRecord) => void) | undefined

  const tokenOf = (header: string | undefined): string | undefined => {
    if (header === undefined) return undefined
    const m = /^(?:token|bearer)\s+(.+)$/i.exec(header)
    if (m !== null) return m[1]
    const b = /^basic\s+(.+)$/i.exec(header)
    if (b !== null) {
      const [, ...rest] = Buffer.from(b[1]!, "base64").toString("utf8").split(":")
      return rest.join(":")
    }
    return undefined
  }

  const proxyGit = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const token = tokenOf(req.headers.authorization)
    if (token === undefined || !options.tokens.has(token)) {
      req.resume()
      res.writeHead(401, { "WWW-Authenticate": `Basic realm="${options.name} fake"` })
      res.end("authentication required\n")
      return
    }
    // Numbered once authenticated (git's first, anonymous probe is no step of the client's own).
    const n = ++served
    if (tell(n, "git", "arrived", req)) {
      req.resume()
      res.destroy()
      return
    }
    const headers = { ...req.headers }
    delete headers.authorization
    const up = http.request(
      { host: "127.0.0.1", port: git.port, method: req.method, path: req.url, headers },
      (answer) => {
        if (hook === undefined) {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
          return
        }
        // With a hook the answer is held until git is done (a push's refs updated), so "applied" means applied.
        const chunks: Array<Buffer> = []
        answer.on("data", (c: Buffer) => chunks.push(c))
        answer.on("end", () => {
          tell(n, "git", "applied", req)
          if (res.destroyed) return
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          res.end(Buffer.concat(chunks))
        })
      }
    )
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502)
      res.end()
    })
    req.pipe(up)
  }

  const send = (res: http.ServerResponse, record: ApiRecord, a: FakeAnswer) => {
    record.status = a.status
    const text = a.body === undefined ? "" : JSON.stringify(a.body)
    res.writeHead(a.status, {
      ...(text === "" ? {} : { "Content-Type": "application/json" }),
      ...a.headers
    })
    res.end(text)
  }

  const rateLimited = (mutation: boolean): FakeAnswer | undefined => {
    if (limit === undefined) return undefined
    if (limit.kind === "always") return options.limited(limit.status, limit.retryAfterSec)
    if (limit.kind === "primary") {
      if (nextLeft <= 0) return undefined
      nextLeft--
      return {
        status: 403,
        headers: {
          "x-ratelimit-limit": "5000",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-used": "5000",
          "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + limit.resetInSec)
        },
        body: { message: "API rate limit exceeded for user." }
      }
    }
    if (limit.kind === "next") {
      if (nextLeft <= 0) return undefined
      nextLeft--
      return options.limited(limit.status, limit.retryAfterSec)
    }
    if (!mutation) return undefined
    const now = Date.now()
    if (now - windowStart >= limit.windowMs) {
      windowStart = now
      windowCount = 0
    }
    if (windowCount < limit.mutations) {
      windowCount++
      return undefined
    }
    return options.limited(limit.status, Math.max(1, Math.ceil((windowStart + limit.windowMs - now) / 1000)))
  }

  const api = async (req: http.IncomingMessage, res: http.ServerResponse, u: URL) => {
    const method = req.method ?? "GET"
    const n = ++served
    const raw = await readBody(req)
    if (tell(n, "api", "arrived", req)) {
      res.destroy()
      return
    }
    const record: ApiRecord = { method, path: u.pathname, operation: undefined, status: 0, at: Date.now() }
    requests.push(record)
    const op = options.checker.match(method, u.pathname)
    if (op === undefined) {
      violations.push(`${method} ${u.pathname}: no such route in the ${options.name} API document`)
      return send(res, record, { status: 404, body: { message: "fake: no such route" } })
    }
    ;(record as { operation: string | undefined }).operation = op.operationId
    const token = tokenOf(req.headers.authorization)
    const login = token === undefined ? undefined : options.tokens.get(token)
    if (login === undefined) return send(res, record, options.unauthorized())
    const limited = rateLimited(method !== "GET")
    if (limited !== undefined) return send(res, record, limited)
    let body: unknown
    const hasBody = raw.length > 0
    if (hasBody) {
      try {
        body = JSON.parse(raw.toString("utf8"))
      } catch {
        violations.push(`${method} ${u.pathname}: the body is not JSON`)
        return send(res, record, { status: 400, body: { message: "fake: body is not JSON" } })
      }
    }
    const problems = options.checker.checkRequest(op, u.searchParams, body, hasBody)
    if (problems.length > 0) {
      violations.push(`${method} ${u.pathname} (${op.operationId}): ${problems.join("; ")}`)
      return send(res, record, {
        status: 422,
        body: { message: `fake: request violates the ${options.name} API document: ${problems.join("; ")}` }
      })
    }
    const fi = faults.findIndex((f) =>
      f.count > 0 && (f.method === undefined || f.method === method) &&
      (f.operation === undefined || f.operation === op.operationId)
    )
    const fault = fi >= 0 ? faults[fi] : undefined
    if (fault !== undefined) {
      fault.count--
      if (fault.count <= 0) faults.splice(fi, 1)
      if (fault.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs))
      else if (fault.afterApply !== true) {
        return send(res, record, { status: fault.status, body: { message: "fake fault" } })
      }
    }
    const answer = await options.handle({
      method,
      path: u.pathname,
      query: u.searchParams,
      body,
      login,
      op,
      params: op.params
    })
    applied?.(record)
    if (fault !== undefined && fault.delayMs === undefined) {
      return send(res, record, { status: fault.status, body: { message: "fake fault" } })
    }
    tell(n, "api", "applied", req)
    if (res.destroyed) return
    const wrong = options.checker.checkResponse(op, answer.status, answer.body)
    if (wrong.length > 0) violations.push(`answer to ${method} ${u.pathname} (${op.operationId}): ${wrong.join("; ")}`)
    send(res, record, answer)
  }

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://127.0.0.1")
    if (u.pathname === options.apiPrefix || u.pathname.startsWith(`${options.apiPrefix}/`)) {
      api(req, res, u).catch((e: unknown) => {
        violations.push(`fake crashed on ${req.method} ${u.pathname}: ${e instanceof Error ? e.stack : String(e)}`)
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
    } else {
      proxyGit(req, res)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    git,
    violations,
    requests,
    onApplied: (f) => {
      applied = f
    },
    setRateLimit: (l) => {
      limit = l
      windowStart = 0
      windowCount = 0
      nextLeft = l?.kind === "next" || l?.kind === "primary" ? l.count : 0
    },
    failNext: (fault, count = 1) => {
      faults.push({ ...fault, count })
    },
    clearFaults: () => {
      faults.length = 0
    },
    setRequestHook: (h) => {
      hook = h
      served = 0
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await git.close()
    }
  }
}

/** Runs git in a fake's bare repo `owner/name`, resolving with trimmed stdout, or undefined when git fails. */
export const gitIn = async (git: GitServer, repo: string, ...args: Array<string>): Promise<string | undefined> => {
  try {
    return (await git.git(repo, ...args)).trim()
  } catch {
    return undefined
  }
}

/**
 * Merges `head` into `base` in a bare repo with a merge commit (what a forge's merge button does); returns the new
 * commit, or undefined on a conflict.
 */
export const mergeBranches = async (
  git: GitServer,
  repo: string,
  base: string,
  head: string,
  message: string
): Promise<string | undefined> => {
  const baseSha = await gitIn(git, repo, "rev-parse", `refs/heads/${base}`)
  const headSha = await gitIn(git, repo, "rev-parse", `refs/heads/${head}`)
  if (baseSha === undefined || headSha === undefined) return undefined
  const tree = await gitIn(git, repo, "merge-tree", "--write-tree", baseSha, headSha)
  if (tree === undefined) return undefined
  const commit = await gitIn(
    git,
    repo,
    "-c",
    "user.name=Fake Forge",
    "-c",
    "user.email=forge@fake.invalid",
    "commit-tree",
    tree.split("\n")[0]!,
    "-p",
    baseSha,
    "-p",
    headSha,
    "-m",
    message
  )
  if (commit === undefined) return undefined
  const moved = await gitIn(git, repo, "update-ref", `refs/heads/${base}`, commit, baseSha)
  return moved === undefined ? undefined : commit
}
