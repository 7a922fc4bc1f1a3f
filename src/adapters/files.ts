/**
 * Reading and writing YAML files against their schemas. A bad file fails with FileInvalid naming the file, the
 * field path and what was expected; a write of a member's config keeps the user's comments and other keys.
 */
import { Context, Effect, Either, Layer, ParseResult, Schema } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as YAML from "yaml"
import { FileInvalid } from "../domain/errors.js"
import { LocalConfig } from "../domain/files.js"
import { formatPath, plainExpected } from "../domain/parseIssues.js"
import { writeFileAtomic } from "./atomicFs.js"
import { PathProblem } from "./errors.js"
import { blueHome } from "./home.js"
import { CONFIG_FILE, findMemberRoot, memberConfigPath, readMemberConfigText } from "./memberConfig.js"
import { readTextFileSync } from "./textFile.js"

export { CONFIG_FILE, findMemberRoot } from "./memberConfig.js"
export { findGitRoot, findRealmRoot, findUp } from "./paths.js"
export { readTextFileSync } from "./textFile.js"

/** Parses YAML text and decodes it with `schema`; `file` is how the file is named in errors. */
export const decodeYaml = <A, I>(
  schema: Schema.Schema<A, I>,
  text: string,
  file: string
): Either.Either<A, FileInvalid> => {
  let raw: unknown
  try {
    raw = YAML.parse(text, { prettyErrors: true })
  } catch (e) {
    const err = e as YAML.YAMLError
    const where = err.linePos?.[0] ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : ""
    return Either.left(
      new FileInvalid({
        file,
        path: "",
        detail: `malformed YAML${where}: ${err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`
      })
    )
  }
  if (raw === null || raw === undefined) {
    return Either.left(new FileInvalid({ file, path: "", detail: "is empty; it must hold a YAML mapping" }))
  }
  return Either.mapLeft(Schema.decodeUnknownEither(schema, { errors: "all" })(raw), (error) => {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
    const first = issues[0]
    if (first === undefined) return new FileInvalid({ file, path: "", detail: "does not match its schema" })
    const path = formatPath(first.path)
    // A union (e.g. an enum of literals) fails once per member: say all that was expected in one sentence.
    const alternatives = issues
      .filter((i) => formatPath(i.path) === path)
      .map((i) => /^Expected (.+), actual (.+)$/s.exec(i.message))
    const detail = alternatives.every((m) => m !== null)
      ? `must be ${plainExpected(alternatives.map((m) => m![1]))}, not ${alternatives[0]![2]}`
      : first.message
    return new FileInvalid({ file, path, detail })
  })
}

/** readTextFileSync as an Effect failing with PathProblem naming the file. */
export const readTextFile = (file: string, what = ""): Effect.Effect<string, PathProblem> =>
  Effect.suspend(() => {
    const r = readTextFileSync(file, what)
    return "text" in r ? Effect.succeed(r.text) : Effect.fail(new PathProblem({ path: file, detail: r.problem }))
  })

/** A member repo: its root, its config and the realm directory the config points at. */
export interface Member {
  readonly root: string
  readonly config: LocalConfig
  readonly realmDir: string
}

/** Reads `<root>/.blue/config.yaml`. */
export const readMember = (root: string): Effect.Effect<Member, FileInvalid | PathProblem> =>
  Effect.gen(function*() {
    const file = memberConfigPath(root)
    const read = readMemberConfigText(root)
    if (!("text" in read)) return yield* new PathProblem({ path: file, detail: read.problem })
    const text = read.text
    const config = yield* decodeYaml(LocalConfig, text, file)
    if (config.realm.path === undefined && config.realm.url === undefined) {
      return yield* new FileInvalid({
        file,
        path: "realm.path",
        detail: "is missing; set realm.url (a realm on a git server) or realm.path (the path of the realm repo)"
      })
    }
    if (config.realm.path === undefined) {
      // A realm on a git server: this machine's managed clone of it.
      const realmDir = nodePath.join(blueHome(), "realms", config.realm.name)
      if (!fs.existsSync(nodePath.join(realmDir, ".git"))) {
        return yield* new FileInvalid({
          file,
          path: "realm.url",
          detail: `names a realm this machine has no clone of (${realmDir}); run 'blue realm admin join ${
            JSON.stringify(config.realm.url)
          }' here`
        })
      }
      return { root, config, realmDir } satisfies Member
    }
    const realmDir = nodePath.resolve(root, config.realm.path)
    if (!fs.existsSync(nodePath.join(realmDir, ".git"))) {
      return yield* new FileInvalid({
        file,
        path: "realm.path",
        detail: `${JSON.stringify(config.realm.path)} does not point at a realm repository (${realmDir} ${
          fs.existsSync(realmDir) ? "is not a git repository" : "does not exist"
        }); fix the path or run 'blue realm admin join <realm-path>' again`
      })
    }
    if (!fs.existsSync(nodePath.join(realmDir, "realm.yaml")) && !fs.existsSync(nodePath.join(realmDir, "events"))) {
      return yield* new FileInvalid({
        file,
        path: "realm.path",
        detail: `${
          JSON.stringify(config.realm.path)
        } does not point at a Blue realm (${realmDir} has no realm.yaml); fix the path or run 'blue realm admin join <realm-path>' again`
      })
    }
    const realmName = realmNameAt(realmDir)
    if (realmName !== undefined && realmName !== config.realm.name) {
      return yield* new FileInvalid({
        file,
        path: "realm.name",
        detail: `is ${JSON.stringify(config.realm.name)} but the realm at ${
          JSON.stringify(config.realm.path)
        } is '${realmName}'; fix realm.name or realm.path (or run 'blue realm admin join <realm-path>' again)`
      })
    }
    return { root, config, realmDir }
  })

/** The name in a realm's realm.yaml, or undefined when it cannot be read (other checks report that). */
const realmNameAt = (realmDir: string): string | undefined => {
  const r = readTextFileSync(nodePath.join(realmDir, "realm.yaml"))
  if (!("text" in r)) return undefined
  try {
    const name = (YAML.parse(r.text) as { name?: unknown } | null)?.name
    return typeof name === "string" ? name : undefined
  } catch {
    return undefined
  }
}

/** Writes a member's config, keeping comments and keys Blue does not own; ignores cache.db in the repo's git. */
export const writeMemberConfig = (root: string, config: LocalConfig): Effect.Effect<void, PathProblem> =>
  Effect.tryPromise({
    try: async () => {
      const dir = nodePath.join(root, ".blue")
      await fs.promises.mkdir(dir, { recursive: true })
      const file = nodePath.join(root, CONFIG_FILE)
      const existing = fs.existsSync(file) ? YAML.parseDocument(fs.readFileSync(file, "utf8")) : undefined
      const doc = existing !== undefined && existing.errors.length === 0 && YAML.isMap(existing.contents)
        ? existing
        : new YAML.Document({})
      doc.setIn(["realm"], doc.createNode(config.realm))
      doc.setIn(["repo"], config.repo)
      await writeFileAtomic(file, doc.toString())
      const ignore = nodePath.join(dir, ".gitignore")
      if (!fs.existsSync(ignore)) await writeFileAtomic(ignore, "cache.db*\n")
    },
    catch: (e) => new PathProblem({ path: nodePath.join(root, CONFIG_FILE), detail: `cannot be written: ${e}` })
  })

/** The member-config port: finding, reading, writing and removing a member repo's `.blue/config.yaml`. */
export class MemberConfig extends Context.Tag("blue/MemberConfig")<MemberConfig, {
  /** The member repo containing `cwd` (nearest `.blue/config.yaml` upward), or undefined. */
  readonly find: (cwd: string) => Effect.Effect<string | undefined>
  /** The member at `root`: its config decoded and its realm directory checked. */
  readonly read: (root: string) => Effect.Effect<Member, FileInvalid | PathProblem>
  /** Writes the member's config, keeping the user's comments and other keys. */
  readonly write: (root: string, config: LocalConfig) => Effect.Effect<void, PathProblem>
  /** Removes the member's config (leaving a realm). */
  readonly remove: (root: string) => Effect.Effect<void, PathProblem>
}>() {}

/** Member configs on disk. */
export const MemberConfigLive = Layer.succeed(MemberConfig, {
  find: (cwd: string) => Effect.sync(() => findMemberRoot(cwd)),
  read: readMember,
  write: writeMemberConfig,
  remove: (root: string) =>
    Effect.try({
      try: () => fs.rmSync(memberConfigPath(root), { force: true }),
      catch: (e) => new PathProblem({ path: memberConfigPath(root), detail: `cannot be removed: ${e}` })
    })
})
