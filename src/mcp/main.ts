/**
 * Entry point of the MCP bundle (`dist/mcp.cjs`), loaded by `blue mcp`: the server on stdin/stdout until the
 * client closes stdin. Nothing but protocol messages goes to stdout; diagnostics go to stderr.
 */
import { McpServer } from "@effect/ai"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { autoStartEnabled } from "../adapters/daemonPresence.js"
import { findGitRoot } from "../adapters/files.js"
import { escapeControls } from "../domain/text.js"
import { BlueLive } from "../operations/layer.js"
import { layerBlueMcp, RESOURCES } from "./server.js"
import { makeStdio } from "./stdio.js"

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

const repo = parseRepo(process.argv)
const autoStart = autoStartEnabled()

// The client ends the session by closing stdin: once everything it asked is answered, stop (SIGTERM interrupts the
// main fiber, so the session is deregistered on the way out).
const { open, stdin, stdout } = makeStdio({
  onClosed: () => process.kill(process.pid, "SIGTERM"),
  resources: RESOURCES
})
const Main = layerBlueMcp({ repo, confine: findGitRoot(repo) ?? repo, autoStart, version, onReady: open }).pipe(
  Layer.provide(McpServer.layerStdio({ name: "blue", version, stdin, stdout })),
  Layer.provide(BlueLive),
  Layer.provide(NodeContext.layer)
)

Layer.launch(Main).pipe(
  Effect.tapErrorCause((cause) =>
    Effect.sync(() => process.stderr.write(`blue mcp: ${escapeControls(String(cause))}\n`))
  ),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
