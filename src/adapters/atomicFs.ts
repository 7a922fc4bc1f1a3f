/**
 * The file system handed to isomorphic-git, and our own small-file writes. Every write goes to a temporary file
 * that is renamed into place, so a writer killed with SIGKILL never leaves a truncated object, ref, index or realm
 * file behind (isomorphic-git writes in place, and skips an object file that exists, which would make a torn
 * object permanent). Temporary files of a git repo live in `.git/blue-tmp/` — never beside a ref (git would read
 * them as branches) or in the working tree — and are swept by the next writer holding the realm lock.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as nodePath from "node:path"

const p = fs.promises

/** The directory for temporary files of the repo that contains `file`. */
export const tmpDirFor = (file: string): string => {
  const i = file.lastIndexOf(`${nodePath.sep}.git${nodePath.sep}`)
  return i === -1 ? nodePath.dirname(file) : nodePath.join(file.slice(0, i), ".git", "blue-tmp")
}

/** The temporary directory of the git repo at `dir`. */
export const repoTmpDir = (dir: string): string => nodePath.join(dir, ".git", "blue-tmp")

const tmpName = (file: string, dir: string) =>
  nodePath.join(dir, `${nodePath.basename(file)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`)

const writeFile = async (
  file: string,
  data: string | Uint8Array,
  options?: fs.WriteFileOptions
): Promise<void> => {
  const dir = tmpDirFor(file)
  await p.mkdir(dir, { recursive: true })
  const tmp = tmpName(file, dir)
  try {
    await p.writeFile(tmp, data, options)
    await p.rename(tmp, file)
  } catch (e) {
    await p.unlink(tmp).catch(() => undefined)
    throw e
  }
}

/** An fs whose writes are atomic renames; everything else is node's own. */
export const atomicFs = {
  promises: {
    readFile: p.readFile,
    writeFile,
    unlink: p.unlink,
    readdir: p.readdir,
    mkdir: p.mkdir,
    rmdir: p.rmdir,
    stat: p.stat,
    lstat: p.lstat,
    readlink: p.readlink,
    symlink: p.symlink,
    chmod: p.chmod
  }
}

/** Writes a file atomically (same technique, for our own files outside git repos). */
export const writeFileAtomic = writeFile

/** Where and how a synchronous atomic write makes its temporary file. */
export interface AtomicSyncOptions {
  /** must be on the same file system as the target; by default `tmpDirFor(file)` */
  readonly tmpDir?: string
  /** the file's mode; by default node's 0o666 less the umask */
  readonly mode?: number
}

/** Writes `data` to a fresh temporary file for `file` and returns its path (removed again if the write fails). */
const writeTmpSync = (file: string, data: string | Uint8Array, options: AtomicSyncOptions): string => {
  const tmpDir = options.tmpDir ?? tmpDirFor(file)
  const tmp = tmpName(file, tmpDir)
  const write = () => fs.writeFileSync(tmp, data, options.mode === undefined ? undefined : { mode: options.mode })
  try {
    try {
      write()
    } catch (e) {
      // The directory is made on first use (one mkdir per object written cost more than the write itself).
      if ((e as { code?: string }).code !== "ENOENT") throw e
      fs.mkdirSync(tmpDir, { recursive: true })
      write()
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
  return tmp
}

/** Writes a small file atomically and synchronously (Effect-free, so the start-up path may use it too). */
export const writeFileAtomicSync = (file: string, data: string | Uint8Array, options: AtomicSyncOptions = {}): void => {
  const tmp = writeTmpSync(file, data, options)
  try {
    fs.renameSync(tmp, file)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
}

/**
 * Creates `file` holding `data` only if it does not exist, complete from its first moment: a hard link publishes
 * the temporary file and, unlike a rename, refuses to replace an existing one. Throws EEXIST when `file` exists,
 * and whatever link(2) throws on a file system without hard links (the caller decides what to fall back to).
 */
export const linkNewFileSync = (file: string, data: string | Uint8Array, options: AtomicSyncOptions = {}): void => {
  const tmp = writeTmpSync(file, data, options)
  try {
    fs.linkSync(tmp, file)
  } finally {
    fs.rmSync(tmp, { force: true })
  }
}

/** Removes temporary files a killed writer left in a repo's `.git/blue-tmp/` (call with the realm lock held). */
export const sweepTmp = (dir: string): void => {
  const tmp = repoTmpDir(dir)
  let names: Array<string>
  try {
    names = fs.readdirSync(tmp)
  } catch {
    return
  }
  // The directory stays (the next write needs it); what a killed writer left in it goes.
  for (const name of names) fs.rmSync(nodePath.join(tmp, name), { recursive: true, force: true })
}
