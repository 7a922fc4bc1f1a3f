/**
 * `blue mcp`: listed in the command tree for help; the server itself is a separate bundle (dist/mcp.cjs) that
 * `bin.ts` loads directly, so that the CLI does not carry the MCP and RPC code. Reached through the CLI bundle
 * (`node dist/cli.cjs mcp`), it loads that bundle the same way.
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import * as nodePath from "node:path"
import { codeCacheDir, loadWithCodeCache } from "./loader.js"

/** The `mcp` command. */
export const mcpCommand = Command.make(
  "mcp",
  {
    repo: Options.directory("repo").pipe(
      Options.withDescription("the repo the tools run in (default: the current directory)"),
      Options.optional
    )
  },
  () => Effect.sync(() => loadWithCodeCache(nodePath.join(__dirname, "mcp.cjs"), codeCacheDir()))
).pipe(
  Command.withDescription(
    "MCP server over stdio exposing the blue_realm_* tools (register it with your coding assistant; see README)"
  )
)
