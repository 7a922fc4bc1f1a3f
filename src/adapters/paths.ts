/**
 * Finding repos and realms on disk with plain `node:fs` (no Effect), so the start-up fast path can use it too.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"

/** Walks up from `start` to the first directory for which `test` holds. */
export const findUp = (start: string, test: (dir: string) => boolean): string | undefined => {
  let dir = nodePath.resolve(start)
  while (true) {
    if (test(dir)) return dir
    const parent = nodePath.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * The real path of `p`, symlinks resolved; for a path that does not exist (yet), its parent's real path and its
 * name; `p` itself when not even the parent exists.
 */
export const realPathOf = (p: string): string => {
  try {
    return fs.realpathSync(p)
  } catch {
    try {
      return nodePath.join(fs.realpathSync(nodePath.dirname(p)), nodePath.basename(p))
    } catch {
      return nodePath.resolve(p)
    }
  }
}

/** True when `p` is `root` or below it, both compared by real path (a symlink out of `root` is not within). */
export const isWithin = (root: string, p: string): boolean => {
  const rel = nodePath.relative(realPathOf(root), realPathOf(p))
  return rel !== ".." && !rel.startsWith(`..${nodePath.sep}`) && !nodePath.isAbsolute(rel)
}

/** The root of the git work tree containing `cwd`. */
export const findGitRoot = (cwd: string): string | undefined =>
  findUp(cwd, (d) => fs.existsSync(nodePath.join(d, ".git")))

/** The realm repo containing `cwd` (nearest directory with realm.yaml and .git), or undefined. */
export const findRealmRoot = (cwd: string): string | undefined =>
  findUp(cwd, (d) => fs.existsSync(nodePath.join(d, "realm.yaml")) && fs.existsSync(nodePath.join(d, ".git")))

/** The commit a local branch points at, read straight from the ref files (loose ref, then packed-refs). */
export const readBranch = (repoDir: string, branch: string): string | undefined => {
  const gitDir = nodePath.join(repoDir, ".git")
  try {
    return fs.readFileSync(nodePath.join(gitDir, "refs", "heads", branch), "utf8").trim()
  } catch {
    try {
      const packed = fs.readFileSync(nodePath.join(gitDir, "packed-refs"), "utf8")
      const line = packed.split("\n").find((l) => l.endsWith(` refs/heads/${branch}`))
      return line?.slice(0, 40)
    } catch {
      return undefined
    }
  }
}
