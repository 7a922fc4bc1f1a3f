/**
 * A realm's git server, over smart HTTP, through isomorphic-git (and the `git` executable for the first clone, which
 * it does 15× faster). Shaped by what isomorphic-git does (SPEC §2.1): its push sends one ref with no compare-and-swap
 * and lists the whole base tree to leave out of the pack, so a push here is our own send-pack (src/adapters/sendPack.ts):
 * the receive-pack advertisement first (a branch not where we expected it is a lost race at once), the objects of the
 * new commits only, and the old commit on the command line, which `git receive-pack` checks under its ref lock — the
 * three ways a lost race shows up become one `RemoteMoved`. A killed clone leaves a broken ref, so clones land in a
 * temp dir that is renamed into place and every ref is checked against its object before it is trusted; fetch and
 * clone take no abort signal and its HTTP client has no timeout, so the client handed to it gives up after a bounded
 * silence. Every failure is a typed error whose one sentence names the URL without credentials; no token reaches an
 * error, a log or a child's argv. */
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import * as git from "isomorphic-git"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as nodePath from "node:path"
import { displayUrl } from "../domain/realmLocation.js"
import {
  type AuthState,
  authState,
  type Credential,
  Credentials,
  CredentialsFileProblem,
  helperEnv,
  isoGitAuth
} from "./credentials.js"
import { PathProblem } from "./errors.js"
import { DEFAULT_REMOTE_TIMEOUT_MS, remoteTimeoutFromEnv } from "./home.js"
import { runProcess } from "./process.js"
import {
  buildPack,
  descendsFrom,
  objectsToSend,
  parseReportStatus,
  type RawObject,
  readRawObject,
  receivePackRequest
} from "./sendPack.js"

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** The server could not be reached, or stopped answering (refused, unknown host, timeout, connection dropped). */
export class RemoteUnreachable extends Schema.TaggedError<RemoteUnreachable>()("RemoteUnreachable", {
  url: Schema.String,
  op: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    // A push whose connection dropped or went silent may have landed before the answer was lost.
    return this.op === "push" && !/refused|unknown host|lookup|unreachable/.test(this.reason)
      ? `The realm remote ${this.url} cannot be reached (${this.reason}); the write may have reached it before that, but nothing was changed here: run the command again when the remote is back and it lands once.`
      : `The realm remote ${this.url} cannot be reached (${this.reason}); nothing was changed, retry when it is back.`
  }
}

/** The server refused the credentials (401) or the access (403). */
export class RemoteAuthFailed extends Schema.TaggedError<RemoteAuthFailed>()("RemoteAuthFailed", {
  url: Schema.String,
  op: Schema.String,
  status: Schema.Number,
  /** where the refused credential came from; null when none was found */
  source: Schema.NullOr(Schema.String)
}) {
  override get message() {
    return this.status === 403
      ? `The realm remote ${this.url} denied access (HTTP 403)${
        this.source === null ? "" : ` to the credential from ${this.source}`
      }; ask its owner for write access.`
      : this.source === null
      ? `The realm remote ${this.url} asks for credentials and none were found; set BLUE_REALM_TOKEN or configure a git credential helper.`
      : `The realm remote ${this.url} refused the credential from ${this.source} (HTTP ${this.status}); renew the token.`
  }
}

/** The server failed (5xx). */
export class RemoteServerError extends Schema.TaggedError<RemoteServerError>()("RemoteServerError", {
  url: Schema.String,
  op: Schema.String,
  status: Schema.Number
}) {
  override get message() {
    return `The realm remote ${this.url} failed with HTTP ${this.status}; nothing was changed, retry later.`
  }
}

/** How a lost race showed up. */
export const RaceShape = Schema.Literal("not-fast-forward", "ref-update-failed", "pre-push-refused")

/** The remote branch is no longer where the push expected it: fetch, re-decide, rebuild, retry. */
export class RemoteMoved extends Schema.TaggedError<RemoteMoved>()("RemoteMoved", {
  url: Schema.String,
  ref: Schema.String,
  expected: Schema.NullOr(Schema.String),
  /** the remote's oid when known (null: absent or unknown) */
  actual: Schema.NullOr(Schema.String),
  shape: RaceShape
}) {
  override get message() {
    return `The branch ${this.ref} on ${this.url} moved (${
      this.expected === null ? "expected it absent" : `expected ${this.expected.slice(0, 8)}`
    }) while we pushed; fetch and retry.`
  }
}

/** The repo has no realm: no git repo there, no main branch, or no realm.yaml on main. */
export class NotARealm extends Schema.TaggedError<NotARealm>()("NotARealm", {
  url: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.url} is not a Blue realm: ${this.reason}.`
  }
}

/** `init --remote` onto a repo that already has branches. */
export class RemoteNotEmpty extends Schema.TaggedError<RemoteNotEmpty>()("RemoteNotEmpty", {
  url: Schema.String,
  refs: Schema.Number
}) {
  override get message() {
    return `The repo at ${this.url} is not empty (${this.refs} branch${
      this.refs === 1 ? "" : "es"
    }); publish a new realm to an empty repo, or join this one by its URL.`
  }
}

/** Any other failure of a remote operation (a protocol error, a declined push, a local disk problem). */
export class RemoteGitFailed extends Schema.TaggedError<RemoteGitFailed>()("RemoteGitFailed", {
  url: Schema.String,
  op: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `git ${this.op} with ${this.url} failed: ${this.detail.replace(/\.?$/, ".")}`
  }
}

/** A write to a remote realm that kept losing the race, or that this process cannot make (no remote configured). */
export class RemoteWriteFailed extends Schema.TaggedError<RemoteWriteFailed>()("RemoteWriteFailed", {
  url: Schema.String,
  realm: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The write to realm '${this.realm}' at ${this.url} did not land: ${this.detail}.`
  }
}

/** Every failure a remote operation reports. */
export type RemoteError =
  | RemoteUnreachable
  | RemoteAuthFailed
  | RemoteServerError
  | RemoteGitFailed
  | CredentialsFileProblem

// ---------------------------------------------------------------------------------------------------------------
// The HTTP client handed to isomorphic-git

/** The HTTP client stopped waiting for a server that went silent. */
export class HttpTimeout extends Error {
  readonly code = "ETIMEDOUT"
  constructor(readonly ms: number) {
    super(`no answer for ${ms} ms`)
  }
}

const collectBody = async (body: unknown): Promise<Buffer | undefined> => {
  if (body === undefined || body === null) return undefined
  const parts: Array<Uint8Array> = []
  for await (const chunk of body as AsyncIterable<Uint8Array>) parts.push(chunk)
  return Buffer.concat(parts)
}

/**
 * isomorphic-git's HTTP client on node:http, which gives up once the server has been silent for `idleMs` — before
 * the response starts or between two chunks of its body — so a hanging server ends in a timeout error instead of a
 * fetch that never returns. Connections are kept alive between the requests of one operation.
 */
export const timedHttpClient = (idleMs: number): git.HttpClient => {
  const agents = {
    "http:": new http.Agent({ keepAlive: true }),
    "https:": new https.Agent({ keepAlive: true })
  }
  return {
    request: async ({ body, headers = {}, method = "GET", url }) => {
      const payload = await collectBody(body)
      const u = new URL(url)
      const lib = u.protocol === "https:" ? https : http
      // A kept-alive connection the server closed just as we reused it fails before any answer: a request that
      // changes nothing (ref advertisement, upload-pack) is sent once more on a fresh one.
      const retryable = method === "GET" || u.pathname.endsWith("/git-upload-pack")
      const attempt = (retried: boolean): Promise<git.GitHttpResponse> =>
        new Promise<git.GitHttpResponse>((resolve, reject) => {
          let timer: NodeJS.Timeout | undefined
          const disarm = () => {
            if (timer !== undefined) clearTimeout(timer)
            timer = undefined
          }
          const arm = (onTimeout: () => void) => {
            disarm()
            timer = setTimeout(onTimeout, idleMs)
          }
          const req = lib.request(u, {
            method,
            agent: agents[u.protocol as "http:" | "https:"],
            headers: payload === undefined ? headers : { ...headers, "content-length": String(payload.length) }
          })
          arm(() => req.destroy(new HttpTimeout(idleMs)))
          // A kept-alive socket must not keep the process alive: isomorphic-git leaves some response bodies unread,
          // so the socket never returns to the agent's (unref'd) pool and a CLI command would wait for the server
          // to drop the idle connection (5 s for node, 75 s for nginx). Every wait on the network is covered by
          // the ref'd idle timer above and in the body's iterator.
          req.on("socket", (socket) => socket.unref())
          req.on("error", (e) => {
            disarm()
            const code = (e as { code?: string }).code
            if (!retried && retryable && req.reusedSocket && (code === "ECONNRESET" || code === "EPIPE")) {
              resolve(attempt(true))
            } else {
              reject(e)
            }
          })
          req.on("response", (res) => {
            disarm()
            const flat: Record<string, string> = {}
            for (const [k, v] of Object.entries(res.headers)) {
              if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(", ") : v
            }
            async function* iterate(): AsyncGenerator<Uint8Array> {
              const it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>
              try {
                while (true) {
                  arm(() => res.destroy(new HttpTimeout(idleMs)))
                  const next = await it.next()
                  disarm()
                  if (next.done === true) {
                    if (!res.complete) {
                      throw Object.assign(new Error("connection closed mid-response"), { code: "ECONNRESET" })
                    }
                    return
                  }
                  yield next.value
                }
              } finally {
                disarm()
                if (!res.complete) res.destroy()
              }
            }
            resolve({
              url,
              method,
              statusCode: res.statusCode ?? 0,
              statusMessage: res.statusMessage ?? "",
              headers: flat,
              body: iterate()
            })
          })
          req.end(payload)
        })
      return attempt(false)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The port

/** A branch on the server. */
export interface ServerRef {
  /** full name, `refs/heads/main` */
  readonly ref: string
  readonly oid: string
}

/** What a fetch brought. */
export interface FetchResult {
  /** the server's main, undefined when it has none */
  readonly main: string | undefined
  /** `blue/sessions/<machine>` branch name → oid, as on the server */
  readonly sessions: ReadonlyMap<string, string>
  /** the branches (short names) whose remote-tracking ref changed */
  readonly updated: ReadonlyArray<string>
  /** remote-tracking refs removed because the server no longer has them */
  readonly pruned: ReadonlyArray<string>
}

/** What a clone made. */
export interface CloneResult {
  readonly dir: string
  /** main's commit */
  readonly head: string
  /** cloned with the git executable (true) or isomorphic-git */
  readonly native: boolean
  /** the target already held a complete clone of the same URL, left as it was */
  readonly reused: boolean
}

/** Tuning of the live implementation. */
export interface RemoteGitConfig {
  /**
   * how long the server may stay silent before an operation fails with RemoteUnreachable (default: the environment's
   * BLUE_REMOTE_TIMEOUT_MS, else 30 s)
   */
  readonly idleTimeoutMs?: number
  /** clone with the git executable when present ("auto", the default), always, or never */
  readonly nativeClone?: "auto" | "always" | "never"
  /** the environment `git` runs with (default: this process's) */
  readonly env?: NodeJS.ProcessEnv
}

/** The remote realm port. */
export class RemoteGit extends Context.Tag("blue/RemoteGit")<RemoteGit, {
  /**
   * Clones the realm at `url` into `dir` (which must not exist, or hold a complete clone of the same URL): into a temp
   * dir beside it, renamed into place once complete and checked to be a realm.
   */
  readonly clone: (
    url: string,
    dir: string
  ) => Effect.Effect<CloneResult, RemoteError | NotARealm | PathProblem>
  /**
   * Brings the server's main, its proposal branches (`sync/*`) and (with `sessions`, the default) its
   * `blue/sessions/*` branches into the remote-tracking refs of the clone in `dir`, fetching only what changed, and
   * prunes tracking refs of session branches the server dropped. Local branches are not touched.
   */
  readonly fetch: (
    dir: string,
    options?: { readonly sessions?: boolean }
  ) => Effect.Effect<FetchResult, RemoteError>
  /**
   * Pushes local branch `ref` to the same branch on the server if, and only if, the server's branch is at
   * `expectedRemoteOid` (undefined: absent); a lost race is `RemoteMoved`. A server already at the local commit (a
   * re-run after a push whose answer was lost) is success. Returns the pushed oid.
   */
  readonly push: (
    dir: string,
    ref: string,
    expectedRemoteOid: string | undefined,
    /** push this commit instead of the local branch (the engine pushes before it moves its own branch) */
    commit?: string,
    /**
     * `replace`: the commit need not build on the server's (a branch this machine owns, its history squashed);
     * the compare-and-swap still holds
     */
    options?: { readonly replace?: boolean }
  ) => Effect.Effect<string, RemoteError | RemoteMoved>
  /** The server's branches whose full name starts with `prefix` (default `refs/heads/`): one request. */
  readonly listServerRefs: (url: string, prefix?: string) => Effect.Effect<ReadonlyArray<ServerRef>, RemoteError>
  /** Fails with RemoteNotEmpty unless the repo at `url` has no branches (before publishing a new realm there). */
  readonly ensureEmpty: (url: string) => Effect.Effect<void, RemoteError | RemoteNotEmpty>
  /** Points the clone's `origin` at `url` (a local realm about to be published). */
  readonly setRemote: (dir: string, url: string) => Effect.Effect<void, RemoteGitFailed>
}>() {}

const ZERO = "0000000000000000000000000000000000000000"
const REMOTE = "origin"
const SESSIONS_PREFIX = "blue/sessions/"
/** Proposal branches (`sync/<repo>/<timestamp>`), fetched with main: a merge names their heads as parents. */
const PROPOSALS_PREFIX = "sync/"
const REFSPEC = `+refs/heads/*:refs/remotes/${REMOTE}/*`

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "host name lookup failed",
  ECONNRESET: "the connection was dropped",
  EPIPE: "the connection was dropped",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ERR_STREAM_PREMATURE_CLOSE: "the connection was dropped",
  UND_ERR_SOCKET: "the connection was dropped"
}

/** Removes every secret we know of, and any credentials in URLs, from a text bound for a message. */
const scrub = (text: string, secrets: ReadonlyArray<string>) => {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1")
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("<redacted>")
  return out.split("\n")[0].slice(0, 300)
}

interface OpContext {
  readonly op: string
  readonly url: string
  readonly auth: AuthState
  readonly secrets: ReadonlyArray<string>
}

/** Maps whatever isomorphic-git (or our HTTP client) threw into one typed error. */
const classify = (ctx: OpContext, e: unknown): RemoteError => {
  const url = displayUrl(ctx.url)
  if (e instanceof CredentialsFileProblem) return e
  if (ctx.auth.failure !== undefined) return ctx.auth.failure
  const err = e as { code?: string; data?: any; message?: string; cause?: { code?: string } }
  if (e instanceof HttpTimeout) {
    return new RemoteUnreachable({ url, op: ctx.op, reason: `no answer for ${(e.ms / 1000).toFixed(1)} s` })
  }
  const code = err.code ?? err.cause?.code
  if (code !== undefined && NETWORK_CODES[code] !== undefined) {
    return new RemoteUnreachable({ url, op: ctx.op, reason: NETWORK_CODES[code] })
  }
  if (err.code === "HttpError") {
    const status = Number(err.data?.statusCode)
    if (status === 401 || status === 403) {
      return new RemoteAuthFailed({ url, op: ctx.op, status, source: ctx.auth.offered?.source ?? null })
    }
    if (status >= 500) return new RemoteServerError({ url, op: ctx.op, status })
    return new RemoteGitFailed({
      url,
      op: ctx.op,
      detail: status === 404 ? "no git repo answers at that URL (HTTP 404)" : `the server answered HTTP ${status}`
    })
  }
  if (err.code === "UserCanceledError" && ctx.auth.refused) {
    return new RemoteAuthFailed({ url, op: ctx.op, status: 401, source: ctx.auth.offered?.source ?? null })
  }
  if (err.code === "SmartHttpError") {
    return new RemoteGitFailed({ url, op: ctx.op, detail: "the server does not speak git's smart HTTP protocol" })
  }
  return new RemoteGitFailed({
    url,
    op: ctx.op,
    detail: scrub(err.message ?? String(e), ctx.secrets)
  })
}

const RACE_TEXT = /failed to (update|lock) ref|cannot lock ref|non-fast-forward|fetch first|stale info|but expected/i

const exists = (p: string) => fs.existsSync(p)

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"
  }
}

/**
 * SIGKILLs the process group of a live `git clone` writing into `tmp` (Linux: found by its argv in /proc), left behind
 * by a Blue process that was killed mid-clone, and waits up to a second for it to go.
 */
const stopOrphanClone = (tmp: string) => {
  let pids: Array<string>
  try {
    pids = fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))
  } catch {
    return
  }
  for (const p of pids) {
    let argv: Array<string>
    try {
      argv = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")
    } catch {
      continue
    }
    if (!argv.includes(tmp) || !argv.includes("clone")) continue
    const pid = Number(p)
    try {
      process.kill(-pid, "SIGKILL")
    } catch {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        continue
      }
    }
    const until = Date.now() + 1000
    while (pidAlive(pid) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
  }
}

/** An HTTP basic Authorization header value (as isomorphic-git sends one). */
const basicAuth = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`

/** Builds the live implementation. */
export const makeRemoteGit = (config: RemoteGitConfig = {}) =>
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const env = config.env ?? process.env
    const idleMs = config.idleTimeoutMs ?? remoteTimeoutFromEnv(env) ?? DEFAULT_REMOTE_TIMEOUT_MS
    const client = timedHttpClient(idleMs)
    const caches = new Map<string, object>()
    const cacheOf = (dir: string) => {
      let c = caches.get(dir)
      if (c === undefined) caches.set(dir, c = {})
      return c
    }
    /** Credentials that worked, per URL: sent up front so later operations skip the 401 round trip. */
    const accepted = new Map<string, Credential>()

    const nativeGit = yield* Effect.cached(
      config.nativeClone === "never"
        ? Effect.succeed(false)
        : Effect.map(
          runProcess({
            command: "git",
            args: ["--version"],
            cwd: process.cwd(),
            env: helperEnv(env),
            timeoutMs: 10_000
          }),
          (r) => r.code === 0
        )
    )

    /** Runs one isomorphic-git operation with auth callbacks, a fresh header set and error classification. */
    const withAuth = <A>(
      op: string,
      url: string,
      body: (auth: {
        readonly headers: Record<string, string>
        readonly onAuth: git.AuthCallback
        readonly onAuthFailure: git.AuthFailureCallback
        readonly onAuthSuccess: git.AuthSuccessCallback
      }) => Promise<A>,
      mapError?: (e: unknown) => RemoteError | RemoteMoved | undefined
    ): Effect.Effect<A, RemoteError | RemoteMoved> =>
      Effect.suspend(() => {
        const state = authState()
        const callbacks = isoGitAuth(credentials, state)
        const known = accepted.get(url)
        const headers: Record<string, string> = {}
        if (known !== undefined) {
          state.offered = known
          headers["Authorization"] = basicAuth(known.username, Redacted.value(known.password))
        }
        const secrets = () => [state.offered, known].flatMap((c) => c === undefined ? [] : [Redacted.value(c.password)])
        return Effect.tryPromise({
          try: () =>
            body({
              headers,
              onAuth: async (u) => {
                if (known !== undefined) {
                  // The credential that worked before was refused: forget it, tell its source, then ask again.
                  accepted.delete(url)
                  await Effect.runPromise(credentials.reject(u, known))
                }
                return callbacks.onAuth(u)
              },
              onAuthFailure: (u) => callbacks.onAuthFailure(u),
              onAuthSuccess: async (u) => {
                if (state.offered !== undefined) accepted.set(url, state.offered)
                await callbacks.onAuthSuccess(u)
              }
            }),
          catch: (e) => mapError?.(e) ?? classify({ op, url, auth: state, secrets: secrets() }, e)
        }).pipe(
          Effect.tapError(() => Effect.sync(() => state.refused && accepted.delete(url))),
          Effect.withSpan(`RemoteGit.${op}`, { attributes: { url: displayUrl(url) } })
        )
      })

    const listServerRefs = (url: string, prefix = "refs/heads/") =>
      withAuth("ls-remote", url, (a) => git.listServerRefs({ http: client, url, prefix, protocolVersion: 1, ...a }))
        .pipe(
          Effect.map((refs) =>
            refs.filter((r) => r.ref.startsWith(prefix) && !r.ref.endsWith("^{}")).map((r) => ({
              ref: r.ref,
              oid: r.oid
            }))
          ),
          Effect.mapError((e) => e as RemoteError)
        )

    const hasObject = (dir: string, oid: string) =>
      Effect.promise(() =>
        git.readObject({ fs, dir, oid, format: "deflated", cache: cacheOf(dir) }).then(() => true, () => false)
      )

    const failed = (url: string, op: string) => (e: unknown) =>
      new RemoteGitFailed({
        url: displayUrl(url),
        op,
        detail: scrub(e instanceof Error ? e.message : String(e), [])
      })

    const originUrl = (dir: string) =>
      Effect.tryPromise({
        try: async () => {
          const url = await git.getConfig({ fs, dir, path: `remote.${REMOTE}.url` })
          if (typeof url !== "string") throw new Error(`${dir} has no remote '${REMOTE}'`)
          return url
        },
        catch: failed(dir, "config")
      })

    /** A ref's oid, or undefined when it is missing or points at an object we do not have (a killed fetch). */
    const trustedRef = (dir: string, ref: string) =>
      Effect.gen(function*() {
        const oid = yield* Effect.promise(() =>
          git.resolveRef({ fs, dir, ref }).then((o) => o as string | undefined, () => undefined)
        )
        if (oid === undefined) return undefined
        if (yield* hasObject(dir, oid)) return oid
        // A ref written before its pack was indexed: drop it so the next fetch brings the objects again.
        yield* Effect.promise(() => git.deleteRef({ fs, dir, ref }).catch(() => undefined))
        return undefined
      })

    const setRemote = (dir: string, url: string) =>
      Effect.tryPromise({
        try: async () => {
          await git.setConfig({ fs, dir, path: `remote.${REMOTE}.url`, value: url })
          await git.setConfig({ fs, dir, path: `remote.${REMOTE}.fetch`, value: REFSPEC })
        },
        catch: failed(url, "remote")
      })

    const fetch = (dir: string, options: { readonly sessions?: boolean } = {}) =>
      Effect.gen(function*() {
        const url = yield* originUrl(dir)
        const server = yield* listServerRefs(url)
        const wanted = server.filter((r) =>
          r.ref === "refs/heads/main" || r.ref.startsWith(`refs/heads/${PROPOSALS_PREFIX}`) ||
          (options.sessions !== false && r.ref.startsWith(`refs/heads/${SESSIONS_PREFIX}`))
        )
        const stale: Array<string> = []
        for (const r of wanted) {
          const branch = r.ref.slice("refs/heads/".length)
          const local = yield* trustedRef(dir, `refs/remotes/${REMOTE}/${branch}`)
          if (local !== r.oid) stale.push(branch)
        }
        if (stale.length > 0) {
          const fetchOnce = withAuth("fetch", url, (a) =>
            git.fetch({
              fs,
              http: client,
              dir,
              cache: cacheOf(dir),
              remote: REMOTE,
              url,
              tags: false,
              // One branch: ask for it alone; several: one round trip for all of them.
              ...(stale.length === 1 ? { singleBranch: true, ref: stale[0] } : { singleBranch: false }),
              ...a
            }))
          yield* fetchOnce
          // Trust nothing the fetch wrote until its object is there; a second fetch repairs a broken ref.
          for (const branch of stale) {
            const got = yield* trustedRef(dir, `refs/remotes/${REMOTE}/${branch}`)
            const want = wanted.find((r) => r.ref === `refs/heads/${branch}`)!.oid
            if (got === undefined) {
              yield* fetchOnce
              if ((yield* trustedRef(dir, `refs/remotes/${REMOTE}/${branch}`)) === undefined) {
                return yield* new RemoteGitFailed({
                  url: displayUrl(url),
                  op: "fetch",
                  detail: `the server's ${branch} (${want.slice(0, 8)}) did not arrive complete`
                })
              }
            }
          }
        }
        // Prune: session branches the server dropped.
        const pruned: Array<string> = []
        const present = new Set(server.map((r) => r.ref.slice("refs/heads/".length)))
        const tracking = yield* Effect.promise(() =>
          git.listBranches({ fs, dir, remote: REMOTE }).catch(() => [] as Array<string>)
        )
        for (const branch of tracking) {
          if (branch.startsWith(SESSIONS_PREFIX) && !present.has(branch)) {
            yield* Effect.promise(() =>
              git.deleteRef({ fs, dir, ref: `refs/remotes/${REMOTE}/${branch}` }).catch(() => undefined)
            )
            pruned.push(branch)
          }
        }
        const sessions = new Map(
          wanted.filter((r) => r.ref.startsWith(`refs/heads/${SESSIONS_PREFIX}`)).map((
            r
          ) => [r.ref.slice("refs/heads/".length), r.oid] as const)
        )
        return {
          main: server.find((r) => r.ref === "refs/heads/main")?.oid,
          sessions: options.sessions === false ? new Map<string, string>() : sessions,
          updated: stale,
          pruned
        } satisfies FetchResult
      }).pipe(Effect.mapError((e) => e as RemoteError))

    const push = (
      dir: string,
      ref: string,
      expectedRemoteOid: string | undefined,
      commit?: string,
      options: { readonly replace?: boolean } = {}
    ) =>
      Effect.gen(function*() {
        const url = yield* originUrl(dir)
        const remoteFullRef = `refs/heads/${ref}`
        const expected = expectedRemoteOid ?? ZERO
        let refusedAt: string | undefined
        let alreadyThere = false
        const local = commit ?? (yield* Effect.tryPromise({
          try: () => git.resolveRef({ fs, dir, ref: remoteFullRef }),
          catch: failed(url, "push")
        }))
        const moved = (shape: typeof RaceShape.Type, actual: string | undefined) =>
          new RemoteMoved({
            url: displayUrl(url),
            ref,
            expected: expectedRemoteOid ?? null,
            actual: actual === undefined || actual === ZERO ? null : actual,
            shape
          })
        yield* withAuth(
          "push",
          url,
          async (a) => {
            // The ref advertisement of git-receive-pack (and the credentials, asked for on a 401, that it took).
            let asked: git.GitAuth | undefined
            const info = await git.getRemoteInfo2({
              http: client,
              url,
              forPush: true,
              protocolVersion: 1,
              headers: a.headers,
              onAuth: async (u, auth) => {
                asked = (await a.onAuth(u, auth)) ?? undefined
                return asked
              },
              onAuthFailure: a.onAuthFailure,
              onAuthSuccess: a.onAuthSuccess
            })
            const advertised = (info.refs ?? []).filter((r) => !r.ref.endsWith("^{}") && r.oid !== ZERO)
            const at = advertised.find((r) => r.ref === remoteFullRef)?.oid ?? ZERO
            if (at === local) {
              // Already there: a re-run after a push whose answer was lost (a kill, a dropped connection).
              alreadyThere = true
              throw new git.Errors.UserCanceledError()
            }
            if (at !== expected) {
              refusedAt = at
              throw new git.Errors.UserCanceledError()
            }
            if (info.capabilities["report-status"] === undefined) {
              throw new Error("the server does not report the status of a push (git's report-status)")
            }
            const cache = cacheOf(dir)
            const read = (oid: string) =>
              readRawObject(dir, oid, (o) =>
                git.readObject({ fs, dir, oid: o, format: "content", cache }).then((r) => ({
                  type: r.type as RawObject["type"],
                  content: r.object as Uint8Array
                })))
            if (expected !== ZERO && options.replace !== true && !(await descendsFrom(read, local, expected))) {
              throw new git.Errors.PushRejectedError("not-fast-forward")
            }
            const objects = await objectsToSend(read, local, advertised.map((r) => r.oid))
            const pack = await buildPack(read, objects)
            const target = new URL(url)
            const headers: Record<string, string> = {
              ...a.headers,
              "content-type": "application/x-git-receive-pack-request",
              accept: "application/x-git-receive-pack-result"
            }
            if (target.username !== "" || target.password !== "") {
              headers["Authorization"] = basicAuth(
                decodeURIComponent(target.username),
                decodeURIComponent(target.password)
              )
              target.username = ""
              target.password = ""
            }
            if (asked?.username !== undefined || asked?.password !== undefined) {
              headers["Authorization"] = basicAuth(asked.username ?? "", asked.password ?? "")
            }
            Object.assign(headers, asked?.headers ?? {})
            const res = await client.request({
              url: `${target.href.replace(/\/$/, "")}/git-receive-pack`,
              method: "POST",
              headers,
              body: (async function*() {
                yield receivePackRequest(
                  { oldOid: expected, newOid: local, ref: remoteFullRef },
                  ["report-status"],
                  pack
                )
              })()
            })
            const answer = (await collectBody(res.body)) ?? Buffer.alloc(0)
            if (res.statusCode !== 200) {
              throw new git.Errors.HttpError(res.statusCode, res.statusMessage, answer.toString("utf8").slice(0, 300))
            }
            const report = parseReportStatus(answer)
            const why = report.unpack !== "ok"
              ? `unpack ${report.unpack}`
              : report.refs.has(remoteFullRef)
              ? report.refs.get(remoteFullRef)
              : "the server did not report the branch"
            if (why !== undefined) {
              throw new git.Errors.GitPushError(`\n  - ${remoteFullRef}: ${why}`, {
                ok: false,
                error: why,
                refs: { [remoteFullRef]: { ok: false, error: why } }
              })
            }
            await git.writeRef({ fs, dir, ref: `refs/remotes/${REMOTE}/${ref}`, value: local, force: true })
          },
          (e) => {
            const err = e as { code?: string; data?: any }
            if (err.code === "UserCanceledError" && refusedAt !== undefined) return moved("pre-push-refused", refusedAt)
            if (err.code === "PushRejectedError" && err.data?.reason === "not-fast-forward") {
              return moved("not-fast-forward", undefined)
            }
            if (err.code === "GitPushError") {
              const refs = (err.data?.result?.refs ?? {}) as Record<string, { ok: boolean; error?: string }>
              const why = Object.values(refs).map((r) => r.error ?? "").join("; ")
              if (RACE_TEXT.test(why)) return moved("ref-update-failed", undefined)
              return new RemoteGitFailed({
                url: displayUrl(url),
                op: "push",
                detail: `the server declined ${ref}: ${scrub(why, [])}`
              })
            }
            return undefined
          }
        ).pipe(Effect.catchAll((e) =>
          alreadyThere
            ? Effect.promise(() =>
              git.writeRef({ fs, dir, ref: `refs/remotes/${REMOTE}/${ref}`, value: local, force: true }).catch(() =>
                undefined
              )
            )
            : Effect.fail(e)
        ))
        return local
      })

    const ensureEmpty = (url: string) =>
      Effect.flatMap(listServerRefs(url, "refs/"), (refs) =>
        refs.length === 0 ? Effect.void : Effect.fail(
          new RemoteNotEmpty({
            url: displayUrl(url),
            refs: refs.filter((r) => r.ref.startsWith("refs/heads/")).length || refs.length
          })
        ))

    /** Leftover temp dirs of clones into `target` whose process died (a SIGKILL mid-clone). */
    const sweepStale = (target: string) =>
      Effect.sync(() => {
        const parent = nodePath.dirname(target)
        const prefix = `.${nodePath.basename(target)}.clone-`
        let names: Array<string> = []
        try {
          names = fs.readdirSync(parent)
        } catch {
          return
        }
        for (const name of names) {
          if (!name.startsWith(prefix)) continue
          const pid = Number(name.slice(prefix.length).split("-")[0])
          if (Number.isInteger(pid) && pid > 0 && pidAlive(pid) && pid !== process.pid) continue
          if (pid === process.pid) continue
          const tmp = nodePath.join(parent, name)
          // The dead clone's `git clone` (its own process group) outlives it, still writing there: stop it first.
          stopOrphanClone(tmp)
          try {
            fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5 })
          } catch {
            // Still in use: the next clone sweeps it.
          }
        }
      })

    /** Main's commit in a finished clone, when it is a complete clone of `url` (used to converge on a re-run). */
    const completeClone = (dir: string, url: string) =>
      Effect.gen(function*() {
        const origin = yield* Effect.promise(() =>
          git.getConfig({ fs, dir, path: `remote.${REMOTE}.url` }).catch(() => undefined)
        )
        if (origin !== url) return undefined
        const head = yield* trustedRef(dir, "refs/heads/main")
        if (head === undefined) return undefined
        const realm = yield* Effect.promise(() =>
          git.readBlob({ fs, dir, oid: head, filepath: "realm.yaml", cache: cacheOf(dir) }).then(
            () => true,
            () => false
          )
        )
        return realm ? head : undefined
      })

    const nativeClone = (url: string, tmp: string) =>
      Effect.gen(function*() {
        const cred = accepted.get(url)
        const extra: Record<string, string> = {
          GIT_HTTP_LOW_SPEED_LIMIT: "1",
          GIT_HTTP_LOW_SPEED_TIME: String(Math.max(1, Math.ceil(idleMs / 1000)))
        }
        if (cred !== undefined) {
          // The credential reaches git through the environment and a helper that reads it, never through argv.
          const n = Number(env["GIT_CONFIG_COUNT"] ?? "0") || 0
          Object.assign(extra, {
            GIT_CONFIG_COUNT: String(n + 2),
            [`GIT_CONFIG_KEY_${n}`]: "credential.helper",
            [`GIT_CONFIG_VALUE_${n}`]: "",
            [`GIT_CONFIG_KEY_${n + 1}`]: "credential.helper",
            [`GIT_CONFIG_VALUE_${n + 1}`]:
              "!f() { test \"$1\" = get && printf 'username=%s\\npassword=%s\\n' \"$BLUE_GIT_USERNAME\" \"$BLUE_GIT_PASSWORD\"; }; f",
            BLUE_GIT_USERNAME: cred.username,
            BLUE_GIT_PASSWORD: Redacted.value(cred.password)
          })
        }
        const r = yield* runProcess({
          command: "git",
          args: ["clone", "--quiet", "--no-tags", "--single-branch", "--branch", "main", "--", url, tmp],
          cwd: nodePath.dirname(tmp),
          env: helperEnv(env, extra),
          timeoutMs: 24 * 60 * 60 * 1000,
          outputLimit: 64 * 1024
        })
        if (r.code === 0) return
        const text = r.stderr
        const shown = displayUrl(url)
        const status = Number(text.match(/returned error: (\d{3})/)?.[1] ?? "0")
        if (
          status === 401 || status === 403 || /Authentication failed|could not read (Username|Password)/i.test(text)
        ) {
          return yield* new RemoteAuthFailed({
            url: shown,
            op: "clone",
            status: status || 401,
            source: cred?.source ?? null
          })
        }
        if (status >= 500) return yield* new RemoteServerError({ url: shown, op: "clone", status })
        if (
          r.timedOut || /Could not resolve host|Failed to connect|Connection refused|timed out|too slow/i.test(text) ||
          /transfer closed|early EOF|unexpected disconnect|RPC failed/i.test(text)
        ) {
          return yield* new RemoteUnreachable({
            url: shown,
            op: "clone",
            reason: /resolve host/i.test(text)
              ? "unknown host"
              : /refused|Failed to connect/i.test(text)
              ? "connection refused"
              : /timed out|too slow/i.test(text) || r.timedOut
              ? `no answer for ${(idleMs / 1000).toFixed(1)} s`
              : "the connection was dropped"
          })
        }
        return yield* new RemoteGitFailed({
          url: shown,
          op: "clone",
          detail: scrub(
            text.trim() || `git exited with ${r.code}`,
            cred === undefined ? [] : [Redacted.value(cred.password)]
          )
        })
      })

    const isoClone = (url: string, tmp: string) =>
      withAuth("clone", url, (a) =>
        git.clone({
          fs,
          http: client,
          dir: tmp,
          url,
          ref: "main",
          singleBranch: true,
          noTags: true,
          cache: cacheOf(tmp),
          ...a
        }))

    const clone = (url: string, dir: string) =>
      Effect.gen(function*() {
        const target = nodePath.resolve(dir)
        const shown = displayUrl(url)
        yield* sweepStale(target)
        // A clone of this URL whose main never arrived or never moved here: an `init --remote` killed after its push
        // landed and before its branch moved. The server has what it pushed; it is replaced by a fresh clone below.
        let partial = false
        if (exists(target)) {
          const head = yield* completeClone(target, url)
          if (head !== undefined) return { dir: target, head, native: false, reused: true } satisfies CloneResult
          partial = (yield* trustedRef(target, "refs/heads/main")) === undefined &&
            (yield* Effect.promise(() =>
                git.getConfig({ fs, dir: target, path: `remote.${REMOTE}.url` }).catch(() => undefined)
              )) === url
          if (!partial) {
            return yield* new PathProblem({
              path: target,
              detail: "already exists and is not a complete clone of that realm; remove it or choose another directory"
            })
          }
        }
        // One request tells reachability, credentials, and whether there is a main to clone.
        const refs = yield* listServerRefs(url)
        if (!refs.some((r) => r.ref === "refs/heads/main")) {
          return yield* new NotARealm({
            url: shown,
            reason: refs.length === 0 ? "the repo is empty" : "the repo has no main branch"
          })
        }
        if (partial) {
          yield* Effect.try({
            try: () => fs.rmSync(target, { recursive: true, force: true, maxRetries: 3 }),
            catch: (e) => new PathProblem({ path: target, detail: `could not be replaced: ${(e as Error).message}` })
          })
          caches.delete(target)
        }
        fs.mkdirSync(nodePath.dirname(target), { recursive: true })
        const tmp = nodePath.join(
          nodePath.dirname(target),
          `.${nodePath.basename(target)}.clone-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
        )
        const cleanup = Effect.sync(() => fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 }))
        return yield* Effect.gen(function*() {
          const native = config.nativeClone === "always" || (yield* nativeGit)
          if (native) yield* nativeClone(url, tmp)
          else yield* isoClone(url, tmp)
          yield* setRemote(tmp, url)
          const head = yield* trustedRef(tmp, "refs/heads/main")
          if (head === undefined) {
            return yield* new RemoteGitFailed({ url: shown, op: "clone", detail: "main did not arrive complete" })
          }
          const realm = yield* Effect.promise(() =>
            git.readBlob({ fs, dir: tmp, oid: head, filepath: "realm.yaml" }).then(() => true, () => false)
          )
          if (!realm) return yield* new NotARealm({ url: shown, reason: "its main branch has no realm.yaml" })
          yield* Effect.try({
            try: () => fs.renameSync(tmp, target),
            catch: (e) => new PathProblem({ path: target, detail: `could not be created: ${(e as Error).message}` })
          })
          caches.delete(tmp)
          return { dir: target, head, native, reused: false } satisfies CloneResult
        }).pipe(Effect.onError(() => cleanup), Effect.onInterrupt(() => cleanup))
      }).pipe(Effect.mapError((e) => e as RemoteError | NotARealm | PathProblem))

    return RemoteGit.of({
      clone,
      fetch,
      push: (dir, ref, expected, commit, options) => push(dir, ref, expected, commit, options),
      listServerRefs: (url, prefix) => listServerRefs(url, prefix),
      ensureEmpty: (url) => ensureEmpty(url),
      setRemote
    })
  })

/** The live remote, over the credential chain. */
export const RemoteGitLive = (config: RemoteGitConfig = {}) => Layer.effect(RemoteGit, makeRemoteGit(config))
