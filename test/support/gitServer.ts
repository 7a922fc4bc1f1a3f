/**
 * A real smart-HTTP git server on loopback for tests: node:http in front of `git http-backend` (one asynchronous
 * child per request, so the server never blocks its event loop), serving bare repos from a temp dir, with optional
 * HTTP basic auth, plus hooks that make it fail the ways real servers do: a status code, a hang, a connection dropped
 * mid-response, a request held until the test releases it; and a throttle, so a client killed at a random moment is
 * caught mid-transfer.
 */
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)

/** Which requests a fault or hold applies to. */
export interface RequestMatch {
  readonly method?: "GET" | "POST"
  readonly service?: "git-upload-pack" | "git-receive-pack"
  /** the repo's name as in `url(name)` */
  readonly repo?: string
}

/** A way to fail. */
export type Fault =
  | { readonly kind: "status"; readonly status: number }
  /** never answer, or stop after `afterBytes` of the body */
  | { readonly kind: "hang"; readonly afterBytes?: number }
  /** destroy the connection after `afterBytes` of the body (default 0: right after the headers) */
  | { readonly kind: "drop"; readonly afterBytes?: number }
  /** answer normally, `delayMs` later */
  | { readonly kind: "delay"; readonly delayMs: number }
  /** answer normally, but in pieces of `chunkBytes` with `delayMs` between them (a slow link) */
  | { readonly kind: "throttle"; readonly chunkBytes: number; readonly delayMs: number }

/** One request the server saw. */
export interface RequestRecord {
  readonly method: string
  readonly path: string
  readonly service: string | undefined
  user: string | undefined
  status: number | undefined
}

/** A running server. */
export interface GitServer {
  readonly port: number
  /** the directory holding the bare repos */
  readonly root: string
  /** `http://127.0.0.1:PORT/<name>.git` */
  readonly url: (name: string) => string
  /** every request so far */
  readonly requests: Array<RequestRecord>
  /** Fails matching requests (all of them, or the next `times`) until cleared with `setFault(undefined)`. */
  readonly setFault: (fault: Fault | undefined, match?: RequestMatch, times?: number) => void
  /**
   * Holds the next matching request before it reaches git: `arrived` resolves when it comes in, `release` lets it
   * through (or, with `drop`, cuts its connection: git never sees it).
   */
  readonly hold: (
    match: RequestMatch
  ) => { readonly arrived: Promise<void>; readonly release: (options?: { readonly drop?: boolean }) => void }
  /** Resolves when a request hangs because of a `hang` fault. */
  readonly hung: () => Promise<void>
  /** Creates an empty bare repo `<name>.git` whose HEAD is main; returns its path. */
  readonly createBareRepo: (name: string) => Promise<string>
  /** The repo's refs (`refs/heads/main` → oid), read with the git executable. */
  readonly refs: (name: string) => Promise<Map<string, string>>
  /** Runs git in the repo (e.g. `fsck`), resolving with stdout. */
  readonly git: (name: string, ...args: Array<string>) => Promise<string>
  readonly close: () => Promise<void>
}

/** Options of `startGitServer`. */
export interface GitServerOptions {
  /** demand basic auth; with `user`, the user name must match too */
  readonly auth?: { readonly user?: string; readonly token: string }
  /** serve this directory instead of a fresh temp one (kept on close: start a server on it again) */
  readonly root?: string
  /** how long an idle kept-alive connection stays open (node's default: 5 s; nginx's: 75 s) */
  readonly keepAliveTimeoutMs?: number
  /** listen on this port (default: a free one); a server started again on a closed one's port and root is the same URL */
  readonly port?: number
  /** every response body goes out in pieces of `chunkBytes`, `delayMs` apart (as the `throttle` fault, always on) */
  readonly throttle?: { readonly chunkBytes: number; readonly delayMs: number }
  /** answer every git-receive-pack request (advertisement and upload) with this 5xx status */
  readonly failReceivePack?: number
  /** take git-receive-pack uploads and never answer them, nor pass them to git (a server that hangs mid-push) */
  readonly hangReceivePack?: boolean
}

const matches = (m: RequestMatch | undefined, method: string, service: string | undefined, repo: string) =>
  m === undefined ||
  ((m.method === undefined || m.method === method) && (m.service === undefined || m.service === service) &&
    (m.repo === undefined || m.repo === repo))

/** Starts a server on a free loopback port. */
export const startGitServer = async (options: GitServerOptions = {}): Promise<GitServer> => {
  const root = options.root ?? fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-gitsrv-")))
  const gitHome = fs.mkdtempSync(path.join(os.tmpdir(), "blue-gitsrv-home-"))
  const requests: Array<RequestRecord> = []
  let fault: { fault: Fault; match: RequestMatch | undefined; left: number } | undefined
  const holds: Array<{ match: RequestMatch; arrive: () => void; released: Promise<boolean> }> = []
  const hangWaiters: Array<() => void> = []
  const children = new Set<ReturnType<typeof spawn>>()

  const notifyHung = () => {
    for (const w of hangWaiters.splice(0)) w()
  }

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://127.0.0.1")
    const service = u.searchParams.get("service") ??
      (u.pathname.endsWith("/git-upload-pack")
        ? "git-upload-pack"
        : u.pathname.endsWith("/git-receive-pack")
        ? "git-receive-pack"
        : undefined)
    const repo = u.pathname.split("/")[1]?.replace(/\.git$/, "") ?? ""
    const method = req.method ?? "GET"
    const record: RequestRecord = { method, path: u.pathname, service, user: undefined, status: undefined }
    requests.push(record)
    res.on("finish", () => {
      record.status = res.statusCode
    })

    let user: string | undefined
    if (options.auth !== undefined) {
      const header = req.headers.authorization ?? ""
      const m = header.match(/^Basic (.+)$/i)
      const [name, ...rest] = m === null ? [] : Buffer.from(m[1], "base64").toString("utf8").split(":")
      const token = rest.join(":")
      if (
        m === null || token !== options.auth.token || (options.auth.user !== undefined && name !== options.auth.user)
      ) {
        req.resume()
        res.writeHead(401, { "WWW-Authenticate": "Basic realm=\"blue test git\"", "Content-Type": "text/plain" })
        res.end("authentication required\n")
        return
      }
      user = name
      record.user = name
    }

    const hold = holds.findIndex((h) => matches(h.match, method, service, repo))
    if (hold >= 0) {
      const [h] = holds.splice(hold, 1)
      h.arrive()
      if (!(await h.released)) {
        req.socket.destroy()
        return
      }
    }

    let active: Fault | undefined
    if (fault !== undefined && matches(fault.match, method, service, repo)) {
      active = fault.fault
      if (--fault.left <= 0) fault = undefined
    }
    if (active === undefined && service === "git-receive-pack") {
      if (options.failReceivePack !== undefined) active = { kind: "status", status: options.failReceivePack }
      else if (options.hangReceivePack === true && method === "POST") active = { kind: "hang" }
    }
    if (active === undefined && options.throttle !== undefined) active = { kind: "throttle", ...options.throttle }
    if (active?.kind === "status") {
      req.resume()
      res.writeHead(active.status, { "Content-Type": "text/plain" })
      res.end(`fault ${active.status}\n`)
      return
    }
    if (active?.kind === "hang" && active.afterBytes === undefined) {
      req.resume()
      notifyHung()
      return
    }
    if (active?.kind === "delay") await new Promise((r) => setTimeout(r, active.delayMs))

    const env: Record<string, string> = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: gitHome,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.replace(/^\?/, ""),
      REQUEST_METHOD: method,
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "http.receivepack",
      GIT_CONFIG_VALUE_0: "true"
    }
    if (req.headers["content-length"] !== undefined) env["CONTENT_LENGTH"] = req.headers["content-length"]
    if (req.headers["content-encoding"] !== undefined) env["HTTP_CONTENT_ENCODING"] = req.headers["content-encoding"]
    const protocol = req.headers["git-protocol"]
    if (typeof protocol === "string") env["GIT_PROTOCOL"] = protocol
    if (user !== undefined) env["REMOTE_USER"] = user

    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] })
    children.add(child)
    child.on("close", () => children.delete(child))
    child.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end()
    })
    child.stdin.on("error", () => undefined)
    req.pipe(child.stdin)
    // A client that went away mid-upload leaves git waiting for the rest of the body: stop it.
    req.on("close", () => {
      if (!req.complete) child.kill("SIGKILL")
    })
    child.stderr.resume()

    let head = Buffer.alloc(0)
    let headersDone = false
    let bodyBytes = 0
    let stopped = false
    const limit = active?.kind === "hang" || active?.kind === "drop" ? (active.afterBytes ?? 0) : Infinity
    // A throttled body: pieces queued and written one per tick, the end written after the last piece.
    const slow = active?.kind === "throttle" ? active : undefined
    const queue: Array<Buffer> = []
    let pumping = false
    let ended = false
    const pump = () => {
      if (pumping) return
      pumping = true
      const next = () => {
        if (res.destroyed) return
        const piece = queue.shift()
        if (piece === undefined) {
          pumping = false
          if (ended) res.end()
          return
        }
        res.write(piece)
        setTimeout(next, slow!.delayMs)
      }
      next()
    }
    const send = (chunk: Buffer) => {
      if (slow === undefined) return void res.write(chunk)
      for (let i = 0; i < chunk.length; i += slow.chunkBytes) queue.push(chunk.subarray(i, i + slow.chunkBytes))
      pump()
    }
    const finish = () => {
      if (slow === undefined) return void res.end()
      ended = true
      if (!pumping) pump()
    }
    const writeBody = (chunk: Buffer) => {
      if (stopped) return
      const room = limit - bodyBytes
      if (chunk.length > room) {
        if (room > 0) res.write(chunk.subarray(0, room))
        bodyBytes = limit
        stopped = true
        if (active?.kind === "drop") {
          // Let what was written reach the client, then cut the connection.
          setTimeout(() => res.socket?.destroy(), 20)
        } else {
          notifyHung()
        }
        return
      }
      bodyBytes += chunk.length
      send(chunk)
    }
    child.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return writeBody(chunk)
      head = Buffer.concat([head, chunk])
      const crlf = head.indexOf("\r\n\r\n")
      const lf = head.indexOf("\n\n")
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf
      if (end < 0) return
      const sep = end === crlf ? 4 : 2
      headersDone = true
      let status = 200
      const headers: Record<string, string> = {}
      for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
        const colon = line.indexOf(":")
        if (colon < 0) continue
        const name = line.slice(0, colon).trim()
        const value = line.slice(colon + 1).trim()
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10)
        else headers[name] = value
      }
      res.writeHead(status, headers)
      const rest = head.subarray(end + sep)
      if (rest.length > 0) writeBody(rest)
      else if (limit === 0) writeBody(Buffer.alloc(1)) // nothing yet: trigger the hang/drop right after the headers
    })
    child.stdout.on("end", () => {
      if (stopped) return
      if (!headersDone) {
        if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" })
        res.end("git http-backend gave no answer\n")
      } else {
        finish()
      }
    })
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const port = (server.address() as { port: number }).port

  const runGit = async (cwd: string, args: Array<string>) =>
    (await execFileAsync("git", args, { cwd, env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" } })).stdout

  return {
    port,
    root,
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    requests,
    setFault: (f, match, times = Infinity) => {
      fault = f === undefined ? undefined : { fault: f, match, left: times }
    },
    hold: (match) => {
      let arrive!: () => void
      let pass!: (through: boolean) => void
      const arrived = new Promise<void>((r) => {
        arrive = r
      })
      const released = new Promise<boolean>((r) => {
        pass = r
      })
      holds.push({ match, arrive, released })
      return { arrived, release: (options) => pass(options?.drop !== true) }
    },
    hung: () => new Promise<void>((r) => hangWaiters.push(r)),
    createBareRepo: async (name) => {
      const dir = path.join(root, `${name}.git`)
      await runGit(root, ["init", "--quiet", "--bare", "--initial-branch=main", dir])
      return dir
    },
    refs: async (name) => {
      const out = await runGit(path.join(root, `${name}.git`), ["for-each-ref", "--format=%(refname) %(objectname)"])
      return new Map(out.split("\n").filter((l) => l !== "").map((l) => l.split(" ") as [string, string]))
    },
    git: (name, ...args) => runGit(path.join(root, `${name}.git`), args),
    close: async () => {
      for (const c of children) c.kill("SIGKILL")
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      // A killed git's own children (receive-pack, index-pack of a daemon's push) may still be writing there for a
      // moment: retry ENOTEMPTY for up to 2 s, then leave the temp dir (removing it is housekeeping, not the test).
      const remove = (dir: string) => {
        try {
          fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 })
        } catch {
          // left in the temp dir
        }
      }
      remove(gitHome)
      if (options.root === undefined) remove(root)
    }
  }
}
