// A small smart-HTTP git server on loopback: node:http in front of `git http-backend` (one asynchronous child per
// request, so the server never blocks its event loop), serving the bare repos of one directory, with optional HTTP
// basic auth. For the demo and for trying remote realms by hand; the tests' own server (test/support/gitServer.ts)
// adds fault injection on top of the same protocol handling.
//
// As a module:  const srv = await startGitServer({ root, token }); srv.url("letemcook"); await srv.close()
// As a program: node scripts/gitServer.mjs --root DIR [--token T]   (prints {"port":…,"root":…} once listening;
//               the token may also come from BLUE_GIT_SERVER_TOKEN, so it stays out of argv)
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)

/**
 * Starts the server on a free port of 127.0.0.1 (or `port`), serving `<root>/<name>.git`. With `token`, every request
 * needs basic auth with that password (any user name). Resolves with `{ port, root, url(name), createBareRepo(name),
 * refs(name), close() }`.
 */
export const startGitServer = async ({ root, token, port = 0, keepAliveTimeout } = {}) => {
  if (root !== undefined) fs.mkdirSync(root, { recursive: true })
  const served = fs.realpathSync(root ?? fs.mkdtempSync(path.join(os.tmpdir(), "blue-gitsrv-")))
  const gitHome = fs.mkdtempSync(path.join(os.tmpdir(), "blue-gitsrv-home-"))
  const children = new Set()

  const handle = (req, res) => {
    const u = new URL(req.url ?? "/", "http://127.0.0.1")
    let user
    if (token !== undefined) {
      const m = (req.headers.authorization ?? "").match(/^Basic (.+)$/i)
      const [name, ...rest] = m === null ? [] : Buffer.from(m[1], "base64").toString("utf8").split(":")
      if (m === null || rest.join(":") !== token) {
        req.resume()
        res.writeHead(401, { "WWW-Authenticate": "Basic realm=\"blue git\"", "Content-Type": "text/plain" })
        res.end("authentication required\n")
        return
      }
      user = name
    }
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: gitHome,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_PROJECT_ROOT: served,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.replace(/^\?/, ""),
      REQUEST_METHOD: req.method ?? "GET",
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "http.receivepack",
      GIT_CONFIG_VALUE_0: "true"
    }
    if (req.headers["content-length"] !== undefined) env.CONTENT_LENGTH = req.headers["content-length"]
    if (req.headers["content-encoding"] !== undefined) env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"]
    if (typeof req.headers["git-protocol"] === "string") env.GIT_PROTOCOL = req.headers["git-protocol"]
    if (user !== undefined) env.REMOTE_USER = user

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

    // http-backend speaks CGI: a header block (with `Status:`), a blank line, then the body.
    let head = Buffer.alloc(0)
    let headersDone = false
    child.stdout.on("data", (chunk) => {
      if (headersDone) return void res.write(chunk)
      head = Buffer.concat([head, chunk])
      const crlf = head.indexOf("\r\n\r\n")
      const lf = head.indexOf("\n\n")
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf
      if (end < 0) return
      headersDone = true
      let status = 200
      const headers = {}
      for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
        const colon = line.indexOf(":")
        if (colon < 0) continue
        const name = line.slice(0, colon).trim()
        const value = line.slice(colon + 1).trim()
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10)
        else headers[name] = value
      }
      res.writeHead(status, headers)
      const rest = head.subarray(end + (end === crlf ? 4 : 2))
      if (rest.length > 0) res.write(rest)
    })
    child.stdout.on("end", () => {
      if (headersDone) return void res.end()
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" })
      res.end("git http-backend gave no answer\n")
    })
  }

  const server = http.createServer((req, res) => {
    try {
      handle(req, res)
    } catch {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    }
  })
  if (keepAliveTimeout !== undefined && Number.isFinite(keepAliveTimeout)) server.keepAliveTimeout = keepAliveTimeout
  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, "127.0.0.1", resolve)
  })
  const listening = server.address().port
  const git = async (cwd, args) =>
    (await execFileAsync("git", args, { cwd, env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" } })).stdout

  return {
    port: listening,
    root: served,
    url: (name) => `http://127.0.0.1:${listening}/${name}.git`,
    /** Creates an empty bare repo `<name>.git` whose HEAD is main; resolves with its path. */
    createBareRepo: async (name) => {
      const dir = path.join(served, `${name}.git`)
      await git(served, ["init", "--quiet", "--bare", "--initial-branch=main", dir])
      return dir
    },
    /** The repo's refs, `refs/heads/main` → oid. */
    refs: async (name) => {
      const out = await git(path.join(served, `${name}.git`), ["for-each-ref", "--format=%(refname) %(objectname)"])
      return new Map(out.split("\n").filter((l) => l !== "").map((l) => l.split(" ")))
    },
    close: async () => {
      for (const c of children) c.kill("SIGKILL")
      server.closeAllConnections()
      await new Promise((resolve) => server.close(() => resolve()))
      fs.rmSync(gitHome, { recursive: true, force: true })
    }
  }
}

// As a program: serve until SIGTERM/SIGINT.
if (process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name) => {
    const at = process.argv.indexOf(name)
    return at > 0 ? process.argv[at + 1] : undefined
  }
  const root = arg("--root")
  const token = arg("--token") ?? process.env.BLUE_GIT_SERVER_TOKEN
  const srv = await startGitServer({
    root,
    ...(token ? { token } : {}),
    port: Number(arg("--port") ?? 0)
  })
  const stop = () => srv.close().then(() => process.exit(0))
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
  process.stdout.write(`${JSON.stringify({ port: srv.port, root: srv.root })}\n`)
}
