/**
 * Entry point of the MCP bundle (`dist/mcp.cjs`), loaded by `blue mcp`: the server on stdin/stdout (the MCP SDK's
 * stdio transport) until the client closes stdin. Nothing but protocol messages goes to stdout; diagnostics go to
 * stderr. The operations run on one runtime built from the operations layer, once, for the server's life.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, Layer, Logger, ManagedRuntime } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { escapeControls } from "../domain/text.js"
import { ClientIoLive } from "../engine/live.js"
import { DaemonClient, Workspace } from "../engine/ports.js"
import { DAEMON_STOPPED, runEnvOf } from "../events/operationProtocol.js"
import { BlueLive } from "../operations/layer.js"
import { Presence } from "./presence.js"
import { makeBlueMcp } from "./server.js"

declare const BLUE_VERSION: string
const version = typeof BLUE_VERSION === "string" ? BLUE_VERSION : "dev"

const usage = (problem: string): never => {
  process.stderr.write(`Error: ${problem}\nUsage: blue mcp [--repo DIR]\n`)
  // EX_USAGE, like every other usage error of the CLI
  process.exit(64)
}

/** `blue mcp [--repo DIR]`: the directory the tools run in (default: the current one). */
const parseRepo = (argv: ReadonlyArray<string>): string => {
  const rest = argv.slice(argv.indexOf("mcp") + 1)
  let repo = process.cwd()
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!
    if (a === "--repo" || a.startsWith("--repo=")) {
      const value = a === "--repo" ? rest[++i] : a.slice("--repo=".length)
      if (value === undefined || value === "") usage("--repo needs a directory")
      repo = nodePath.resolve(value!)
    } else usage(`unknown argument ${JSON.stringify(a)}`)
  }
  if (!fs.existsSync(repo) || !fs.statSync(repo).isDirectory()) usage(`${repo} (--repo) is not a directory`)
  return fs.realpathSync(repo)
}

const diagnose = (what: string, e: unknown) =>
  process.stderr.write(`blue mcp: ${what}: ${escapeControls(e instanceof Error ? e.message : String(e))}\n`)

const repo = parseRepo(process.argv)
// stdout carries protocol messages only: Effect's default logger (console.log) writes to stderr here.
const runtime = ManagedRuntime.make(
  Layer.provideMerge(BlueLive, NodeContext.layer).pipe(
    Layer.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.stringLogger)))
  )
)
// The presence runs beside the operations' runtime, on its own two dependency-free services (built synchronously).
const io = Effect.runSync(
  Effect.all({ daemon: DaemonClient, workspace: Workspace }).pipe(Effect.provide(ClientIoLive))
)
const autoStart = Effect.runSync(io.daemon.autoStart)
const presence = new Presence(repo, (m) => blue.notify(m), autoStart, io.daemon)
/** `BLUE_DEBUG_PATH=1`: which path each write took, on stderr (as the CLI says it). */
const debugPath = (line: string) => {
  if (process.env["BLUE_DEBUG_PATH"] !== undefined) process.stderr.write(`blue mcp: ${line}\n`)
}
const blue = makeBlueMcp({
  repo,
  confine: Effect.runSync(io.workspace.gitRoot(repo)) ?? repo,
  version,
  run: (effect) => runtime.runPromiseExit(effect),
  // Re-check the session after a write (a join or leave) without making the caller wait.
  afterWrite: () => void presence.refresh(),
  onWatchSessions: () => {
    presence.watchSessions = true
  },
  // One writer: a write goes to the running daemon, unless it is kept off (BLUE_DAEMON=off, CI); one that cannot
  // be reached runs here, one that stopped after it got the call may or may not have recorded it.
  handOver: async (tool, args, at) => {
    if (!autoStart) {
      debugPath(`path=in-process (the daemon is kept off) ${tool}`)
      return undefined
    }
    const handed = await Effect.runPromise(io.daemon.handOperation(tool, {
      args,
      cwd: at.cwd,
      ...(at.confine === undefined ? {} : { confine: at.confine }),
      env: runEnvOf(process.env)
    }))
    switch (handed._tag) {
      case "Ran":
        debugPath(`path=daemon (pid ${handed.pid}) ${tool}`)
        return handed.response
      case "Declined":
        debugPath(`path=in-process (${handed.reason}) ${tool}`)
        return undefined
      case "Lost":
        return { error: { _tag: "DaemonStopped", message: DAEMON_STOPPED } }
    }
  }
})
// Lines answered as not JSON-RPC (below) are the client's business; anything else is worth a line on stderr.
const answered = new WeakSet<Error>()
blue.server.onerror = (e) => answered.has(e) || diagnose("protocol", e)

let stopping = false
/** Deregisters the session, releases the operations' services and exits. */
const stop = (code: number) => {
  if (stopping) return
  stopping = true
  void Promise.allSettled([presence.close(), blue.server.close(), runtime.dispose()]).then(() => process.exit(code))
}
// A signal ends the session as closing stdin does (and exits 0, as before).
process.once("SIGINT", () => stop(0))
process.once("SIGTERM", () => stop(0))

const transport = new StdioServerTransport()
// A line that is not a JSON-RPC message gets the answer JSON-RPC prescribes (the SDK's transport only reports it).
transport.onerror = (e) => {
  // JSON.parse's error, or the SDK's schema of a JSON-RPC message refusing the value (a zod error has `issues`)
  const code = e instanceof SyntaxError ? -32700 : "issues" in e ? -32600 : undefined
  if (code === undefined) return
  answered.add(e)
  const message = code === -32700 ? "Parse error: a line that is not JSON" : "Invalid request: not a JSON-RPC message"
  void transport.send({ jsonrpc: "2.0", id: null, error: { code, message } } as unknown as JSONRPCMessage)
}
// The client ends the session by closing stdin: stop once every request it sent has been answered (or cancelled:
// the SDK sends nothing for a cancelled request).
const unanswered = new Set<string | number>()
let ended = false
const settle = () => {
  if (ended && unanswered.size === 0) stop(0)
}
transport.onmessage = (m) => {
  if (isJSONRPCRequest(m)) unanswered.add(m.id)
  else if (isJSONRPCNotification(m) && m.method === "notifications/cancelled") {
    const id = (m.params as { requestId?: unknown } | undefined)?.requestId
    if (typeof id === "string" || typeof id === "number") unanswered.delete(id)
    settle()
  }
}
const send = transport.send.bind(transport)
transport.send = async (m) => {
  await send(m)
  if (isJSONRPCResultResponse(m) || isJSONRPCErrorResponse(m)) {
    if (m.id !== undefined) unanswered.delete(m.id)
    settle()
  }
}
process.stdin.once("end", () => {
  ended = true
  settle()
})

blue.server.connect(transport).then(
  // Registering with the daemon may take a moment (or start it): not before the client can talk to us.
  () => void presence.refresh(),
  (e) => {
    diagnose("cannot start", e)
    stop(1)
  }
)
