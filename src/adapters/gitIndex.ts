/**
 * An in-place update of git's index (`.git/index`, format versions 2 and 3) for the few paths one realm write
 * changes. isomorphic-git's `add` parses every entry into an object and re-serialises them all, which made an
 * append's cost grow with the realm (thousands of files); here the unchanged entries are copied as bytes and only
 * the changed ones are built, so the work left per write is a copy and a SHA-1 of the file — what `git add` does.
 * Indexes this does not handle (version 4, split index, conflict stages, extended flags) are left to the caller's
 * fallback: `updateIndexFile` returns false and touches nothing.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as nodePath from "node:path"

/** One path to change in the index: its working-tree file's stat and blob id, or undefined to remove it. */
export type IndexChange = { readonly stat: fs.BigIntStats; readonly oid: string } | undefined

const MAX_UINT32 = 2n ** 32n

/** A regular file's mode as git records it: 100755 when any execute bit is set, else 100644. */
const gitMode = (mode: bigint): number => (Number(mode) & 0o111 ? 0o100755 : 0o100644)

/** The bytes of one stage-0 index entry (v2/v3 without extended flags), NUL-padded to a multiple of 8. */
export const encodeIndexEntry = (path: string, stat: fs.BigIntStats, oid: string): Buffer => {
  const name = Buffer.from(path)
  const length = Math.ceil((62 + name.length + 1) / 8) * 8
  const b = Buffer.alloc(length)
  const ns = (t: bigint) => [Number((t / 1_000_000_000n) % MAX_UINT32), Number(t % 1_000_000_000n)]
  const [cs, cn] = ns(stat.ctimeNs)
  const [ms, mn] = ns(stat.mtimeNs)
  const words = [
    cs!,
    cn!,
    ms!,
    mn!,
    Number(stat.dev % MAX_UINT32),
    Number(stat.ino % MAX_UINT32),
    gitMode(stat.mode),
    Number(stat.uid % MAX_UINT32),
    Number(stat.gid % MAX_UINT32),
    Number(stat.size % MAX_UINT32)
  ]
  words.forEach((w, i) => b.writeUInt32BE(w, i * 4))
  b.write(oid, 40, 20, "hex")
  b.writeUInt16BE(Math.min(name.length, 0xfff), 60)
  name.copy(b, 62)
  return b
}

interface Parsed {
  readonly version: number
  /** entry start offsets, plus the end of the last entry */
  readonly offsets: Array<number>
  readonly paths: Array<Buffer>
}

/** The entries of an index buffer, or undefined for an index this module does not handle. */
const parse = (buf: Buffer): Parsed | undefined => {
  if (buf.length < 32 || buf.toString("latin1", 0, 4) !== "DIRC") return undefined
  const version = buf.readUInt32BE(4)
  if (version !== 2 && version !== 3) return undefined
  const count = buf.readUInt32BE(8)
  const offsets: Array<number> = []
  const paths: Array<Buffer> = []
  let at = 12
  for (let i = 0; i < count; i++) {
    if (at + 62 > buf.length - 20) return undefined
    const flags = buf.readUInt16BE(at + 60)
    // extended flags (skip-worktree, intent-to-add) or a conflict stage: leave it to the full implementation
    if ((flags & 0x4000) !== 0 || (flags & 0x3000) !== 0) return undefined
    let nameLength = flags & 0xfff
    if (nameLength === 0xfff) {
      const nul = buf.indexOf(0, at + 62)
      if (nul === -1) return undefined
      nameLength = nul - at - 62
    }
    offsets.push(at)
    paths.push(buf.subarray(at + 62, at + 62 + nameLength))
    at += Math.ceil((62 + nameLength + 1) / 8) * 8
  }
  offsets.push(at)
  // Extensions: optional ones (upper-case signature: the cache tree, untracked cache, offset tables…) describe the
  // old entries and are dropped; a required one (split index, sparse directories) means we cannot rewrite it.
  let ext = at
  while (ext + 8 <= buf.length - 20) {
    const first = buf[ext]!
    if (first < 0x41 || first > 0x5a) return undefined
    ext += 8 + buf.readUInt32BE(ext + 4)
  }
  return { version, offsets, paths }
}

/** The first entry whose path sorts at or after `path` (git orders entries by the bytes of their paths). */
const lowerBound = (paths: ReadonlyArray<Buffer>, path: Buffer): number => {
  let lo = 0
  let hi = paths.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (Buffer.compare(paths[mid]!, path) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Applies `changes` to the index of the repo in `dir` (written whole to a temp file and renamed over it, through
 * `write`). Returns false, changing nothing, when there is no index or it is one this module does not handle.
 */
export const updateIndexFile = (
  dir: string,
  changes: ReadonlyMap<string, IndexChange>,
  write: (file: string, content: Buffer) => void
): boolean => {
  const file = nodePath.join(dir, ".git", "index")
  let buf: Buffer
  try {
    buf = fs.readFileSync(file)
  } catch {
    return false
  }
  const parsed = parse(buf)
  if (parsed === undefined) return false
  const { offsets, paths } = parsed
  const sorted = [...changes].map(([path, change]) => ({ name: Buffer.from(path), path, change }))
    .sort((a, b) => Buffer.compare(a.name, b.name))
  const parts: Array<Buffer> = [Buffer.alloc(12)]
  let count = paths.length
  let from = 0
  for (const { change, name, path } of sorted) {
    const i = lowerBound(paths, name)
    if (i < from) continue // a duplicate of the previous change
    parts.push(buf.subarray(offsets[from]!, offsets[i]!))
    const present = i < paths.length && paths[i]!.equals(name)
    from = present ? i + 1 : i
    if (present) count--
    if (change !== undefined) {
      parts.push(encodeIndexEntry(path, change.stat, change.oid))
      count++
    }
  }
  parts.push(buf.subarray(offsets[from]!, offsets[paths.length]!))
  parts[0]!.write("DIRC", 0, "latin1")
  parts[0]!.writeUInt32BE(parsed.version, 4)
  parts[0]!.writeUInt32BE(count, 8)
  const body = Buffer.concat(parts)
  write(file, Buffer.concat([body, createHash("sha1").update(body).digest()]))
  return true
}
