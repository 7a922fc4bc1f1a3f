/**
 * Validation hooks: scripts a contract names (`validation.exporter`, `.importer`, `.ci_only`) and that run from the
 * member repo's own checkout. The names come from realm content another org wrote, so a script must resolve inside
 * the repo and must be trusted (see trust.ts) before it runs; it runs without a shell, in a scrubbed environment,
 * in its own process group that is killed on timeout.
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { PASSED_ENV, runProcess, scrubbedEnv } from "./process.js"
import { TrustStore, type TrustStoreError } from "./trust.js"

/** Which validation slot of the contract names the script. */
export type HookRole = "exporter" | "importer" | "ci_only"

/**
 * How trust is decided: `"store"` runs only scripts recorded in the trust store with their current content;
 * `"ci"` (the explicit `--trust` flag) runs them without consulting or recording anything.
 */
export type TrustDecision = "store" | "ci"

/** What became of one hook. */
export type HookOutcome = "valid" | "invalid" | "warning" | "untrusted" | "changed" | "timeout" | "error"

/** One hook run (or refusal to run). */
export interface HookResult {
  /** the script as the contract names it */
  readonly script: string
  readonly outcome: HookOutcome
  /** the exit code; null when it did not run, was killed by a signal or timed out */
  readonly exit_code: number | null
  /** stdout and stderr interleaved, at most OUTPUT_LIMIT bytes (then a truncation note) */
  readonly output: string
  readonly duration_ms: number
}

/** What `runHook` needs. */
export interface HookOptions {
  /** the member repo's checkout; the script must resolve inside it */
  readonly repoRoot: string
  /** path of the script, relative to repoRoot */
  readonly script: string
  readonly role: HookRole
  /** given to the script as JSON on stdin (the contract document) */
  readonly input: unknown
  /** exported as BLUE_CONTRACT / BLUE_CONTRACT_VERSION */
  readonly contract?: { readonly name: string; readonly version: string }
  /**
   * the environment of the command that runs the hook (the current `Invocation`'s: the caller's, also when the
   * daemon runs the command for a CLI process); only its `PASSED_ENV` variables reach the script. Default: this
   * process's.
   */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** default DEFAULT_TIMEOUT_MS */
  readonly timeoutMs?: number
  /** how long after SIGTERM the process group gets SIGKILL; default DEFAULT_GRACE_MS */
  readonly graceMs?: number
  readonly trust: TrustDecision
}

/** The script resolves outside the repo (absolute path elsewhere, `..`, or a symlink pointing out). */
export class HookPathOutsideRepo extends Schema.TaggedError<HookPathOutsideRepo>()("HookPathOutsideRepo", {
  script: Schema.String,
  repoRoot: Schema.String
}) {
  override get message() {
    return `Validation script '${this.script}' resolves outside the repo ${this.repoRoot}; hooks must be files inside the repo's own checkout, so it was not run.`
  }
}

/** The script does not exist in the repo (or is not a regular file). */
export class HookNotFound extends Schema.TaggedError<HookNotFound>()("HookNotFound", {
  script: Schema.String,
  repoRoot: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Validation script '${this.script}' ${this.detail} in ${this.repoRoot}.`
  }
}

/** Why `runHook` failed instead of reporting an outcome. */
export type HookError = HookPathOutsideRepo | HookNotFound | TrustStoreError

/** Default timeout of one hook. */
export const DEFAULT_TIMEOUT_MS = 30_000

/** Default wait between SIGTERM and SIGKILL. */
export const DEFAULT_GRACE_MS = 2_000

/** Most output kept per hook (64 KiB). */
export const OUTPUT_LIMIT = 64 * 1024

/** Variables passed through from Blue's own environment (the runner's list; kept here for the hook's API). */
export { PASSED_ENV }

/** The environment a hook runs with: the passed-through variables of `from` (the caller's), plus Blue's. */
export const hookEnv = (
  options: Pick<HookOptions, "repoRoot" | "role" | "contract">,
  from: Readonly<Record<string, string | undefined>> = process.env
): Record<string, string> => {
  const env = scrubbedEnv({}, from)
  env["BLUE_HOOK_ROLE"] = options.role
  env["BLUE_REPO_ROOT"] = options.repoRoot
  if (options.contract !== undefined) {
    env["BLUE_CONTRACT"] = options.contract.name
    env["BLUE_CONTRACT_VERSION"] = options.contract.version
  }
  return env
}

const inside = (root: string, candidate: string) => {
  const rel = path.relative(root, candidate)
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel)
}

/** The script's real path, refused unless it stays inside the repo after following symlinks. */
export const resolveHookPath = (
  repoRoot: string,
  script: string
): Effect.Effect<{ readonly root: string; readonly real: string }, HookPathOutsideRepo | HookNotFound> =>
  Effect.gen(function*() {
    const outside = new HookPathOutsideRepo({ script, repoRoot })
    const notFound = (detail: string) => new HookNotFound({ script, repoRoot, detail })
    if (script.includes("\0")) return yield* outside
    const root = yield* Effect.try({ try: () => fs.realpathSync(repoRoot), catch: () => notFound("has no repo") })
    // Checked before touching the file, so a refused name never reveals whether something exists out there.
    if (!inside(path.resolve(repoRoot), path.resolve(repoRoot, script)) && !inside(root, path.resolve(root, script))) {
      return yield* outside
    }
    const real = yield* Effect.try({
      try: () => fs.realpathSync(path.resolve(root, script)),
      catch: (e) => notFound((e as { code?: string }).code === "ENOENT" ? "does not exist" : "cannot be read")
    })
    if (!inside(root, real)) return yield* outside
    if (!fs.statSync(real).isFile()) return yield* notFound("is not a regular file")
    return { root, real }
  })

const isExecutable = (file: string) => {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return true
  } catch {
    return false
  }
}

const outcomeOf = (code: number | null): HookOutcome =>
  code === 0 ? "valid" : code === 1 ? "invalid" : code === 2 ? "warning" : "error"

/** Runs the file in its own process group and reports what happened; never fails. */
const execute = (
  file: string,
  cwd: string,
  env: Record<string, string>,
  stdin: string,
  timeoutMs: number,
  graceMs: number
): Effect.Effect<Omit<HookResult, "script">> => {
  const [command, args] = isExecutable(file) ? [file, []] : ["/bin/sh", [file]]
  return runProcess({ command, args, cwd, env, stdin, timeoutMs, graceMs, outputLimit: OUTPUT_LIMIT }).pipe(
    Effect.map((r) => {
      let output = r.output
      if (r.dropped > 0) output += `\n[output truncated: ${r.dropped} more bytes]`
      if (r.spawnError !== undefined) {
        return {
          outcome: "error" as const,
          exit_code: null,
          output: `${output}could not start ${file}: ${r.spawnError.message}`,
          duration_ms: r.durationMs
        }
      }
      if (r.timedOut) return { outcome: "timeout" as const, exit_code: null, output, duration_ms: r.durationMs }
      return { outcome: outcomeOf(r.code), exit_code: r.code, output, duration_ms: r.durationMs }
    })
  )
}

/**
 * Runs one validation hook of a contract from the repo's checkout. Untrusted or changed scripts are reported and
 * never run (unless `trust` is `"ci"`); exit 0 → valid, 1 → invalid, 2 → warning, anything else → error.
 */
export const runHook = (options: HookOptions): Effect.Effect<HookResult, HookError, TrustStore> =>
  Effect.gen(function*() {
    const { real, root } = yield* resolveHookPath(options.repoRoot, options.script)
    if (options.trust === "store") {
      const store = yield* TrustStore
      const status = yield* store.status(real).pipe(
        Effect.catchTag(
          "NotAScript",
          (e) => Effect.fail(new HookNotFound({ script: options.script, repoRoot: options.repoRoot, detail: e.detail }))
        )
      )
      if (status !== "trusted") {
        return { script: options.script, outcome: status, exit_code: null, output: "", duration_ms: 0 }
      }
    }
    const result = yield* execute(
      real,
      root,
      hookEnv({ ...options, repoRoot: root }, options.env ?? process.env),
      JSON.stringify(options.input ?? null) + "\n",
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      options.graceMs ?? DEFAULT_GRACE_MS
    )
    return { script: options.script, ...result }
  })

/**
 * The hook-runner port: what the engine's checks call to run a contract's validation hook. The live one runs the
 * script in a child process against the trust store it was built with; a test may answer from a table.
 */
export class HookRunner extends Context.Tag("blue/HookRunner")<HookRunner, {
  /** Runs one hook (see `runHook`); untrusted scripts are reported, not run. */
  readonly run: (options: HookOptions) => Effect.Effect<HookResult, HookError>
  /** The script's real path inside the repo, or why it is refused. */
  readonly resolve: (
    repoRoot: string,
    script: string
  ) => Effect.Effect<{ readonly root: string; readonly real: string }, HookPathOutsideRepo | HookNotFound>
}>() {}

/** Hooks run as child processes, trusted through the `TrustStore` this layer is built with. */
export const HookRunnerLive = Layer.effect(
  HookRunner,
  Effect.map(TrustStore, (store) => ({
    run: (options: HookOptions) => Effect.provideService(runHook(options), TrustStore, store),
    resolve: resolveHookPath
  }))
)
