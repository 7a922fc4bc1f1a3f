/**
 * The `blue` executable: try the start-up fast paths (status from daemon.db; a write command handed to the running
 * daemon), else load the full CLI bundle (through a code cache); `blue mcp` loads the MCP server's bundle.
 */
import { fileURLToPath } from "node:url"
import { environmentProblem } from "../adapters/home.js"

const args = process.argv.slice(2)
// BLUE_HOME and BLUE_LOCK_TIMEOUT_MS are checked before anything uses them (the code cache lives in BLUE_HOME).
const envProblem = environmentProblem()
if (envProblem !== undefined) {
  if (args.includes("--json")) {
    process.stdout.write(
      JSON.stringify(
        { error: { _tag: "EnvironmentInvalid", variable: envProblem.variable, message: envProblem.message } },
        null,
        2
      ) +
        "\n"
    )
  } else process.stderr.write(`Error: ${envProblem.message}\n`)
  process.exit(1)
}
// `blue mcp` is its own bundle (the MCP server and its RPC code stay out of every other command's start-up).
const mcp = args[0] === "mcp" && !args.includes("--help") && !args.includes("-h")
if (!mcp) {
  // Until the CLI installs its own handlers (src/cli/main.ts), a signal ends the process at once with the code a
  // shell gives it (130 for SIGINT, 143 for SIGTERM): nothing has been written yet.
  const early = (s: NodeJS.Signals) => process.exit(s === "SIGINT" ? 130 : 143)
  ;(globalThis as { __blueEarlySignal?: typeof early }).__blueEarlySignal = early
  process.on("SIGINT", early)
  process.on("SIGTERM", early)
}
// The loader (node:vm, the code cache) is imported only when a bundle is loaded: the fast paths do without it.
const loadBundle = async (url: URL) => {
  const { codeCacheDir, loadWithCodeCache } = await import("./loader.js")
  loadWithCodeCache(fileURLToPath(url), codeCacheDir())
}
if (mcp) await loadBundle(new URL("./mcp.cjs", import.meta.url))
else {
  // Each fast path is its own chunk, loaded only for the commands it may answer (the status path reads daemon.db
  // and folds the realm; the write path is a small HTTP client): neither pays for the other's start-up.
  const handled = args.includes("status")
    ? (await import("./fastStatus.js")).tryFastStatus(args)
    : await (await import("./thinWrite.js")).tryThinWrite(args)
  if (!handled) await loadBundle(new URL("./cli.cjs", import.meta.url))
}
