/**
 * The file system handed to isomorphic-git. Every write goes to a temporary file that is renamed into place, so a
 * writer killed with SIGKILL never leaves a truncated object, ref or index behind (isomorphic-git writes in
 * place, and skips an object file that exists, which would make a torn object permanent).
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"

const p = fs.promises

const writeFile = async (
  file: string,
  data: string | Uint8Array,
  options?: fs.WriteFileOptions
): Promise<void> => {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`
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

/** Writes a file atomically (same technique, for our own files). */
export const writeFileAtomic = writeFile

/** Writes a small file atomically and synchronously. */
export const writeFileAtomicSync = (file: string, data: string | Uint8Array): void => {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`
  try {
    fs.writeFileSync(tmp, data)
    fs.renameSync(tmp, file)
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
}
