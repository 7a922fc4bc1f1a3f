/**
 * Detection of an export's current value from the repo's own code, by the extractor its `.blue/config.yaml`
 * declares: a pattern (regexes over source files), a command (prints JSON/YAML), or a structured file and key.
 * Per-file pattern results can be cached by the caller (`perFile`), so unchanged files are not read again.
 */
import { Context, Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { globSync } from "tinyglobby"
import * as YAML from "yaml"
import type { Extractor } from "../domain/files.js"
import { sourceGlobProblem } from "../domain/nameRules.js"
import { readTextFileSync } from "./files.js"
import { isWithin } from "./paths.js"
import { runProcess, scrubbedEnv } from "./process.js"

/** Detection failed: the extractor is misconfigured, a file is missing, or the command failed. */
export class ExtractError extends Schema.TaggedError<ExtractError>()("ExtractError", {
  contract: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `Cannot detect the value of '${this.contract}' from code: ${this.detail}`
  }
}

/** Values a pattern finds in one file's content: field → captures in order of appearance. */
export const matchPattern = (
  content: string,
  fields: Readonly<Record<string, string>>
): Record<string, Array<string>> => {
  const out: Record<string, Array<string>> = {}
  for (const [field, source] of Object.entries(fields)) {
    const found: Array<string> = []
    for (const m of content.matchAll(new RegExp(source, "gm"))) {
      const v = m.groups?.["value"] ?? m[1] ?? m[0]
      if (v !== undefined) found.push(v)
    }
    out[field] = found
  }
  return out
}

/** Merges per-file captures into the contract value: each field a sorted list without duplicates. */
export const mergeCaptures = (
  fields: ReadonlyArray<string>,
  perFile: ReadonlyArray<Record<string, ReadonlyArray<string>>>
): Record<string, Array<string>> => {
  const out: Record<string, Array<string>> = {}
  for (const f of fields) out[f] = [...new Set(perFile.flatMap((r) => r[f] ?? []))].sort()
  return out
}

/** A stable key for an extractor's configuration (cache entries made under another configuration are stale). */
export const extractorKey = (extractor: Extractor): string => JSON.stringify(extractor)

/** Computes (or looks up) one file's pattern captures. */
export type PerFile = (
  file: string,
  compute: (content: string) => Record<string, Array<string>>
) => Effect.Effect<Record<string, Array<string>>, ExtractError>

const readCompute: (root: string) => PerFile = (root) => (file, compute) =>
  Effect.try({
    try: () => compute(fs.readFileSync(nodePath.join(root, file), "utf8")),
    catch: (e) => new ExtractError({ contract: "", detail: `${file}: ${e instanceof Error ? e.message : String(e)}` })
  })

const keyPath = (value: unknown, key: string | undefined): unknown =>
  key === undefined || key === ""
    ? value
    : key.split(".").reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as any)[k] : undefined), value)

const runCommand = (
  root: string,
  command: string | ReadonlyArray<string>,
  timeoutMs: number,
  from: Readonly<Record<string, string | undefined>>
) => {
  const [file, ...args] = typeof command === "string" ? ["/bin/sh", "-c", command] : command
  // Like a hook, the extractor gets a scrubbed environment of the caller's: no tokens or keys. Its PATH is the
  // caller's too, so the program is looked up as it would be in the caller's shell.
  const env = scrubbedEnv({ BLUE_REPO_ROOT: root }, from)
  return runProcess({ command: file!, args, cwd: root, env, timeoutMs }).pipe(
    Effect.flatMap((r) =>
      r.spawnError !== undefined
        ? Effect.fail(r.spawnError.message)
        : r.timedOut
        ? Effect.fail(`timed out after ${timeoutMs} ms`)
        : r.code === 0
        ? Effect.succeed(r.stdout)
        : Effect.fail(`exited with ${r.code}: ${r.stderr.trim().split("\n")[0] ?? ""}`)
    )
  )
}

/** What detecting one contract's value needs. */
export interface DetectOptions {
  readonly root: string
  readonly contract: string
  readonly extractor: Extractor
  /** the export binding's source_files, the default file set of a pattern */
  readonly sourceFiles: ReadonlyArray<string>
  readonly perFile?: PerFile
  /**
   * the environment of the command that detects (the current `Invocation`'s: the caller's, also when the daemon
   * runs the command for a CLI process); a `command:` extractor gets its scrubbed variables. Default: this
   * process's.
   */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/** Detects the current value of `contract` in the repo at `root`. */
export const detect = (options: DetectOptions): Effect.Effect<unknown, ExtractError> => {
  const { contract, extractor, root } = options
  const fail = (detail: string) => new ExtractError({ contract, detail })
  if ("pattern" in extractor) {
    const globs = extractor.pattern.files ?? options.sourceFiles
    if (globs.length === 0) {
      return Effect.fail(fail("the pattern extractor has no files (set pattern.files or the binding's source_files)"))
    }
    for (const source of Object.values(extractor.pattern.fields)) {
      try {
        new RegExp(source, "gm")
      } catch (e) {
        return Effect.fail(fail(`invalid regex ${JSON.stringify(source)}: ${(e as Error).message}`))
      }
    }
    for (const glob of globs) {
      const reason = sourceGlobProblem(glob)
      if (reason !== undefined) return Effect.fail(fail(`source files ${JSON.stringify(glob)} ${reason}`))
    }
    const files = globSync([...globs], {
      cwd: root,
      ignore: [".git/**", "node_modules/**", ".blue/**"]
    }).sort()
    // A symlink inside the repo may still point out of it: only files whose real path is inside are read.
    const outside = files.find((f) => !isWithin(root, nodePath.join(root, f)))
    if (outside !== undefined) return Effect.fail(fail(`${outside} leads outside the repo`))
    // A FIFO or a device matched by a glob would block the read: only regular files are source files.
    const special = files.find((f) =>
      fs.statSync(nodePath.join(root, f), { throwIfNoEntry: false })?.isFile() === false
    )
    if (special !== undefined) {
      return Effect.fail(fail(`${special} is not a regular file (a FIFO, socket or device); narrow the source globs`))
    }
    const perFile = options.perFile ?? readCompute(root)
    return Effect.forEach(files, (f) => perFile(f, (content) => matchPattern(content, extractor.pattern.fields))).pipe(
      Effect.map((results) => mergeCaptures(Object.keys(extractor.pattern.fields), results)),
      Effect.mapError((e) => fail(e.detail))
    )
  }
  if ("command" in extractor) {
    return runCommand(root, extractor.command, extractor.timeout_ms ?? 30_000, options.env ?? process.env).pipe(
      Effect.flatMap((out) =>
        Effect.try({ try: () => YAML.parse(out) as unknown, catch: () => "printed something that is not JSON or YAML" })
      ),
      Effect.mapError((detail) => fail(`command ${JSON.stringify(extractor.command)} ${detail}`))
    )
  }
  const file = nodePath.resolve(root, extractor.file)
  if (!file.startsWith(root + nodePath.sep) || !isWithin(root, file)) {
    return Effect.fail(fail(`${extractor.file} is outside the repo`))
  }
  return Effect.try({
    try: () => {
      const read = readTextFileSync(file)
      if ("problem" in read) throw new Error(read.problem)
      return YAML.parse(read.text) as unknown
    },
    catch: (e) => fail(`${extractor.file}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`)
  }).pipe(
    Effect.flatMap((doc) => {
      const v = keyPath(doc, extractor.key)
      return v === undefined ? Effect.fail(fail(`${extractor.file} has no key ${extractor.key}`)) : Effect.succeed(v)
    })
  )
}

/** The extractor port: detects a contract's current value from a repo's code (pattern, command or file). */
export class Extractors extends Context.Tag("blue/Extractors")<Extractors, {
  /** The value the extractor finds now, or why it cannot. */
  readonly detect: (options: DetectOptions) => Effect.Effect<unknown, ExtractError>
}>() {}

/** Extractors over the real files and processes of the repo. */
export const ExtractorsLive = Layer.succeed(Extractors, { detect })
