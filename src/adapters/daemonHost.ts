/**
 * The running daemon's IO on its own machine, as a port: this machine's name, whether a session's process is
 * still alive, a realm branch's commit read from the ref files, and where a command
 * handed over by `POST /run` runs and writes. The daemon's Layers (src/daemon) get these from the context, never
 * by importing the functions below.
 */
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { isAlive, machineName } from "./daemonPresence.js"
import { findMemberRoot, peekMemberConfig } from "./memberConfig.js"
import { findRealmRoot, readBranch } from "./paths.js"

/** The daemon's host facts. */
export class DaemonHost extends Context.Tag("blue/DaemonHost")<DaemonHost, {
  /** This machine's name on `blue/sessions/<machine>` branches, for the daemon of `home`. */
  readonly machineName: (home: string) => Effect.Effect<string>
  /** True when process `pid` exists and has not exited. */
  readonly isAlive: (pid: number) => Effect.Effect<boolean>
  /** The commit a local branch of the repo at `repoDir` points at, if any. */
  readonly readBranch: (repoDir: string, branch: string) => Effect.Effect<string | undefined>
  /** True when `path` is a directory. */
  readonly isDirectory: (path: string) => Effect.Effect<boolean>
  /**
   * The realm a command run in `cwd` writes to: its member repo's realm (a path, or a remote realm's URL), or the
   * realm repo it runs in; "" when neither is known yet (`init`, `join` from a repo that has not joined).
   */
  readonly realmOf: (cwd: string) => Effect.Effect<string>
}>() {}

const isDirectory = (p: string) => {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

const realmOf = (cwd: string): string => {
  try {
    const member = findMemberRoot(cwd)
    if (member !== undefined) {
      const peek = peekMemberConfig(member)
      if (peek?.realmPath !== undefined) return nodePath.resolve(member, peek.realmPath)
      if (peek?.realmUrl !== undefined) return peek.realmUrl
    }
    return findRealmRoot(cwd) ?? ""
  } catch {
    return ""
  }
}

/** The host facts of the local machine and this process. */
export const DaemonHostLive = Layer.succeed(DaemonHost, {
  machineName: (home: string) => Effect.sync(() => machineName(home)),
  isAlive: (pid: number) => Effect.sync(() => isAlive(pid)),
  readBranch: (repoDir: string, branch: string) => Effect.sync(() => readBranch(repoDir, branch)),
  isDirectory: (path: string) => Effect.sync(() => isDirectory(path)),
  realmOf: (cwd: string) => Effect.sync(() => realmOf(cwd))
})
