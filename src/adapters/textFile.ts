/**
 * Reading a text file Blue was pointed at with plain `node:fs` (no Effect), so the start-up fast path reads files
 * with the same refusals as the full engine.
 */
import * as fs from "node:fs"
import { formatLimit, formatSize, MAX_FILE_BYTES } from "../domain/limits.js"

const kindOf = (st: fs.Stats) =>
  st.isDirectory()
    ? "a directory"
    : st.isFIFO()
    ? "a FIFO"
    : st.isCharacterDevice() || st.isBlockDevice()
    ? "a device"
    : st.isSocket()
    ? "a socket"
    : "not a file"

/**
 * Why the text of `file` cannot be read, or its text: it must be a regular file (opened without blocking, so a FIFO
 * or a device is refused rather than waited on), at most MAX_FILE_BYTES, and UTF-8 text. `what` prefixes the
 * detail (e.g. "(--file) ").
 */
export const readTextFileSync = (file: string, what = ""): { readonly text: string } | { readonly problem: string } => {
  let fd: number
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return {
      problem: `${what}${
        code === "ENOENT"
          ? "does not exist"
          : code === "EISDIR"
          ? "is a directory, not a regular file"
          : `cannot be read (${code})`
      }`
    }
  }
  try {
    const st = fs.fstatSync(fd)
    if (!st.isFile()) return { problem: `${what}is ${kindOf(st)}, not a regular file; name a regular file` }
    if (st.size > MAX_FILE_BYTES) {
      return {
        problem: `${what}is ${formatSize(st.size)}, over the ${formatLimit(MAX_FILE_BYTES)} limit for files Blue reads`
      }
    }
    const bytes = fs.readFileSync(fd)
    if (bytes.includes(0)) return { problem: `${what}is binary (it contains NUL bytes), not JSON or YAML text` }
    try {
      return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) }
    } catch {
      return { problem: `${what}is not UTF-8 text` }
    }
  } finally {
    fs.closeSync(fd)
  }
}
