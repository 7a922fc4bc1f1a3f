/**
 * The set-up the remote-realm end-to-end tests share: workspaces playing machines (each its own BLUE_HOME, with
 * BLUE_REALM_TOKEN), a loopback git server demanding that token, each machine's own daemon on a free port, the seed's
 * two machines on one realm (`init --remote` and joins), and the small run, git and polling helpers around them.
 * Built on workspace.ts and gitServer.ts. The CLI is always started asynchronously: the server shares this process's
 * event loop.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { expect } from "vitest"
import { type GitServer, type GitServerOptions, startGitServer } from "./gitServer.js"
import { BLUE_BIN, freePort, makeWorkspace, type Run, type Workspace } from "./workspace.js"

const execFileAsync = promisify(execFile)

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Polls `check` every 50 ms until it holds; throws `timed out waiting for <what>` (and `detail()` in parentheses)
 * once `ms` have passed.
 */
export const until = async (
  what: string,
  check: () => boolean | Promise<boolean>,
  ms: number,
  detail?: () => string
) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}${detail === undefined ? "" : ` (${detail()})`}`)
    }
    await sleep(50)
  }
}

/** Runs `blue args…` in `cwd` (relative to the workspace) as a child process; resolves with its Run. */
export const blue = (ws: Workspace, cwd: string, ...args: Array<string>): Promise<Run> =>
  ws.spawnBlue(cwd, ...args).done

/** The run, if it exited 0; otherwise an error naming `what` with the exit code and both outputs. */
export const ok = (r: Run, what: string) => {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

/** Real `git` in `cwd` (no system config), asynchronously; resolves with its stdout. */
export const gitAsync = async (cwd: string, ...args: Array<string>) =>
  (await execFileAsync("git", args, { cwd, env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" }, maxBuffer: 1 << 26 }))
    .stdout

/** Where the machine keeps its managed clone of `realm`. */
export const cloneOf = (ws: Workspace, realm: string) => path.join(ws.home, "realms", realm)

/** Asserts a refusal: non-zero exit, one sentence on stderr, none of `secrets` in either output; returns it. */
export const refusedInOneSentence = (r: Run, ...secrets: Array<string>) => {
  expect(r.code, r.stdout + r.stderr).not.toBe(0)
  const text = r.stderr.trim()
  expect(text.split("\n"), text).toHaveLength(1)
  for (const secret of secrets) {
    expect(r.stderr).not.toContain(secret)
    expect(r.stdout).not.toContain(secret)
  }
  return text
}

/** `realm admin domain create NAME --repos aperture,fungal …extra` on the machine. */
export const createDomain = (ws: Workspace, cwd: string, name: string, ...extra: Array<string>) =>
  blue(ws, cwd, "realm", "admin", "domain", "create", name, "--repos", "aperture,fungal", ...extra)

/** The arguments of `realm export` of `value` as the contract s3-permissions. */
export const exportArgs = (value: unknown): Array<string> => [
  "realm",
  "export",
  "--name",
  "s3-permissions",
  "--value",
  JSON.stringify(value)
]

/** Asserts that `realm replay --verify` on the machine finds no differences. */
export const replayAgrees = async (ws: Workspace, cwd: string, what = "replay --verify") => {
  const v = ok(await blue(ws, cwd, "realm", "replay", "--verify", "--json"), what).json()
  expect(v.differences ?? []).toEqual([])
}

/** One test file's machines, servers, daemons and temp dirs; `release` stops and removes them all. */
export interface RemoteMachines {
  /** A fresh workspace for one machine, BLUE_REALM_TOKEN set to `token` (none when undefined). */
  readonly machine: (label: string, token?: string | undefined) => Workspace
  /** A loopback git server demanding the token; `options` as startGitServer's (a kept `root`, a `port`, faults). */
  readonly server: (options?: Omit<GitServerOptions, "auth">) => Promise<GitServer>
  /** Closes a server before `release` would (nothing if it was stopped already). */
  readonly stop: (server: GitServer) => Promise<void>
  /** A temp directory removed at `release`. */
  readonly tempDir: (label: string) => string
  /**
   * Spawns the machine's own `blue daemon run` on a free port (runtime dir `xdg` in the workspace, realm sync every
   * `syncMs`), without waiting for it; it is SIGKILLed at `release`.
   */
  readonly spawnDaemon: (
    ws: Workspace,
    syncMs: number,
    stdio?: "pipe" | "ignore"
  ) => Promise<{ readonly child: ChildProcess; readonly port: number }>
  /** Starts the machine's daemon and resolves once it answers /health, with its port and API token. */
  readonly startDaemon: (ws: Workspace, syncMs: number) => Promise<{ readonly port: number; readonly token: string }>
  readonly release: () => Promise<void>
}

/** The resources of one test file: workspaces labelled `<prefix>-<label>`, servers demanding `token`. */
export const remoteMachines = (prefix: string, token: string): RemoteMachines => {
  const workspaces: Array<Workspace> = []
  const servers: Array<GitServer> = []
  const daemons: Array<ChildProcess> = []
  const dirs: Array<string> = []

  const spawnDaemon = async (ws: Workspace, syncMs: number, stdio: "pipe" | "ignore" = "pipe") => {
    const xdg = ws.path("xdg")
    fs.mkdirSync(xdg, { recursive: true, mode: 0o700 })
    const port = await freePort()
    const child = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], {
      cwd: ws.root,
      env: {
        ...ws.env,
        XDG_RUNTIME_DIR: xdg,
        BLUE_DAEMON_PORT: String(port),
        BLUE_REALM_SYNC_INTERVAL_MS: String(syncMs)
      },
      stdio
    })
    daemons.push(child)
    return { child, port }
  }

  return {
    machine: (label, machineToken = token) => {
      const ws = makeWorkspace(`${prefix}-${label}`)
      if (machineToken !== undefined) ws.env["BLUE_REALM_TOKEN"] = machineToken
      workspaces.push(ws)
      return ws
    },
    server: async (options = {}) => {
      const s = await startGitServer({ auth: { token }, ...options })
      servers.push(s)
      return s
    },
    stop: async (s) => {
      const at = servers.indexOf(s)
      if (at === -1) return
      servers.splice(at, 1)
      await s.close()
    },
    tempDir: (label) => {
      const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-${label}-`)))
      dirs.push(dir)
      return dir
    },
    spawnDaemon,
    startDaemon: async (ws, syncMs) => {
      const { port } = await spawnDaemon(ws, syncMs, "ignore")
      const health = () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
      await until("the daemon to answer /health", health, 30_000)
      return { port, token: fs.readFileSync(path.join(ws.home, "daemon.token"), "utf8").trim() }
    },
    release: async () => {
      for (const d of daemons.splice(0)) {
        if (d.exitCode === null && d.signalCode === null) d.kill("SIGKILL")
      }
      for (const s of servers.splice(0)) await s.close()
      for (const ws of workspaces.splice(0)) ws.cleanup()
      for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * The seed's two machines on the realm letemcook at `url`: a's home publishes it with `init --remote` and joins its
 * repo aperture, b's home joins its repo fungal. With `json`, each command runs with --json. Returns the machines and
 * the init's Run.
 */
export const twoMachinesOn = async (room: RemoteMachines, url: string, options: { readonly json?: boolean } = {}) => {
  const json = options.json === true ? ["--json"] : []
  const a = room.machine("a")
  const b = room.machine("b")
  a.repo("aperture")
  b.repo("fungal")
  const init = ok(await blue(a, ".", "realm", "admin", "init", "--name", "letemcook", "--remote", url, ...json), "init")
  ok(await blue(a, "aperture", "realm", "admin", "join", url, ...json), "join aperture")
  ok(await blue(b, "fungal", "realm", "join", url, ...json), "join fungal")
  return { a, b, init }
}

/** A daemon a test talks to through its HTTP API. */
export interface CallableDaemon {
  readonly port: number
  readonly token: string
  readonly child: ChildProcess
  /** one request with the daemon's token; the answer's status and JSON body (null when none) */
  readonly call: (method: string, route: string, body?: unknown) => Promise<{ status: number; json: any }>
}

/**
 * Starts the machine's `blue daemon run` on a free port with `env` over the workspace's, and points the workspace's
 * CLI at it (XDG_RUNTIME_DIR, BLUE_DAEMON_PORT); resolves once it answers /health. The process goes into `children`
 * (the caller kills them).
 */
export const startCallableDaemon = async (
  ws: Workspace,
  children: Array<ChildProcess>,
  env: Record<string, string> = {}
): Promise<CallableDaemon> => {
  const xdg = ws.path("xdg")
  fs.mkdirSync(xdg, { recursive: true, mode: 0o700 })
  const port = await freePort()
  ws.env["XDG_RUNTIME_DIR"] = xdg
  ws.env["BLUE_DAEMON_PORT"] = String(port)
  const child = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], {
    cwd: ws.root,
    env: { ...ws.env, ...env },
    stdio: "ignore"
  })
  children.push(child)
  const health = () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
  await until("the daemon to answer /health", health, 30_000)
  const token = fs.readFileSync(path.join(ws.home, "daemon.token"), "utf8").trim()
  const call = async (method: string, route: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${port}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" })
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: r.status, json: await r.json().catch(() => null) }
  }
  return { port, token, child, call }
}

/** Polls `check` every `every` ms until it gives a value (not undefined): that value; else `timed out waiting for`. */
export const untilValue = async <A>(
  what: string,
  check: () => Promise<A | undefined> | A | undefined,
  ms: number,
  every = 25
): Promise<A> => {
  const end = Date.now() + ms
  for (;;) {
    const got = await check()
    if (got !== undefined) return got
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(every)
  }
}

/**
 * The sessions tests' set-up: the seed's two machines on a server, daemons the test talks to (syncing every
 * `syncMs`), processes standing for coding agents, sessions started through the daemon's API. `release` kills the
 * processes and removes everything.
 */
export const sessionsRoom = (prefix: string, token: string, syncMs: number) => {
  const room = remoteMachines(prefix, token)
  const children: Array<ChildProcess> = []
  return {
    room,
    children,
    release: async () => {
      for (const c of children.splice(0)) {
        if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
      }
      await room.release()
    },
    /** A machine's daemon on a free port, syncing every `syncMs`; `env` tunes it (TTL …). */
    startDaemon: (ws: Workspace, env: Record<string, string> = {}) =>
      startCallableDaemon(ws, children, { BLUE_REALM_SYNC_INTERVAL_MS: String(syncMs), ...env }),
    /** aperture's home publishes the realm letemcook on a new server and joins; fungal's home joins by URL. */
    twoMachines: async () => {
      const srv = await room.server()
      await srv.createBareRepo("letemcook")
      const url = srv.url("letemcook")
      const { a, b } = await twoMachinesOn(room, url)
      return { srv, url, a, b }
    },
    /** A process to stand for a coding agent (a session's pid): alive until killed. */
    agentProcess: () => {
      const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 600000)"], { stdio: "ignore" })
      children.push(child)
      return child
    },
    /** A session of aperture's agent `pid` in letemcook, started through the daemon's API (201). */
    startSession: async (d: CallableDaemon, pid: number, rfc = "training-metrics-v2") => {
      const r = await d.call("POST", "/sessions", {
        repo: "aperture",
        realm: "letemcook",
        client_id: "mcp",
        pid,
        active_rfc: rfc
      })
      expect(r.status).toBe(201)
      return r.json as { id: string }
    }
  }
}
