/**
 * The file system as operations see it: where the repo or realm around a directory is, what a path is, whether it
 * stays inside a root, reading a text file an argument names; and Blue's home on this machine. Ports with Live
 * layers over `node:fs` (the Effect-free helpers in paths.ts, textFile.ts and home.ts stay the one implementation).
 */
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import { machineName } from "./daemonPresence.js"
import type { PathProblem } from "./errors.js"
import { readTextFile } from "./files.js"
import { blueHome } from "./home.js"
import { findGitRoot, findRealmRoot, isWithin, realPathOf } from "./paths.js"

/** What a path names. */
export type PathKind = "missing" | "file" | "directory" | "other"

/** The workspace port: file-system questions and reads of the operations. */
export class Workspace extends Context.Tag("blue/Workspace")<Workspace, {
  /** The root of the git work tree containing `cwd`, or undefined. */
  readonly gitRoot: (cwd: string) => Effect.Effect<string | undefined>
  /** The realm repo containing `cwd`, or undefined. */
  readonly realmRoot: (cwd: string) => Effect.Effect<string | undefined>
  /** What `path` is (symlinks followed). */
  readonly kind: (path: string) => Effect.Effect<PathKind>
  /** True when `path` is `root` or below it, by real path. */
  readonly isWithin: (root: string, path: string) => Effect.Effect<boolean>
  /** The real path of `path` (see `realPathOf`). */
  readonly realPath: (path: string) => Effect.Effect<string>
  /** A regular UTF-8 text file of bounded size; `what` prefixes the refusal (e.g. the argument's name). */
  readonly readText: (file: string, what?: string) => Effect.Effect<string, PathProblem>
}>() {}

const kindOf = (path: string): PathKind => {
  const st = fs.statSync(path, { throwIfNoEntry: false })
  return st === undefined ? "missing" : st.isFile() ? "file" : st.isDirectory() ? "directory" : "other"
}

/** The workspace on the local file system. */
export const WorkspaceLive = Layer.succeed(Workspace, {
  gitRoot: (cwd: string) => Effect.sync(() => findGitRoot(cwd)),
  realmRoot: (cwd: string) => Effect.sync(() => findRealmRoot(cwd)),
  kind: (path: string) => Effect.sync(() => kindOf(path)),
  isWithin: (root: string, path: string) => Effect.sync(() => isWithin(root, path)),
  realPath: (path: string) => Effect.sync(() => realPathOf(path)),
  readText: readTextFile
})

/** The home port: Blue's per-user directory and this machine's name on the realm's session branches. */
export class Home extends Context.Tag("blue/Home")<Home, {
  /** BLUE_HOME (default ~/.blue), created if missing. */
  readonly dir: Effect.Effect<string>
  /** This machine's name on `blue/sessions/<machine>` branches. */
  readonly machine: Effect.Effect<string>
}>() {}

/** The home of this process's environment. */
export const HomeLive = Layer.succeed(Home, {
  dir: Effect.sync(blueHome),
  machine: Effect.sync(() => machineName(blueHome()))
})
