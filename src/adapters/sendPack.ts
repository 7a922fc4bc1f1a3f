/**
 * The client half of git's send-pack over smart HTTP, for the one push shape Blue makes: one branch moved from the
 * commit the server advertised to a commit that builds on it. isomorphic-git's push lists every object of the merge
 * base's whole tree to leave out of the pack (so its cost grows with the realm), hashes through WebCrypto and
 * deflates through web streams; here the objects to send are found the way `git rev-list <new> --not <advertised>`
 * finds them — commits in date order, each commit's tree compared with its first parent's, descending only into
 * subtrees that differ — and packed whole (no deltas) with node's zlib and crypto.
 *
 * What the server advertised is known to it with all its history, so leaving it out is always right; a commit found
 * new that the server had after all (clock skew between machines, a branch we never fetched) only makes the pack a
 * little larger. The compare-and-swap is the server's: the command line names the old commit, and `git receive-pack`
 * refuses to move a branch that is not there any more.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as zlib from "node:zlib"

/** An object as git stores it. */
export interface RawObject {
  readonly type: "commit" | "tree" | "blob" | "tag"
  readonly content: Uint8Array
}

/** Reads an object that is not loose (from a pack): isomorphic-git's readObject, supplied by the caller. */
export type PackedReader = (oid: string) => Promise<RawObject>

const TYPE_CODE = { commit: 1, tree: 2, blob: 3, tag: 4 } as const

/** Reads object `oid` of the repo at `dir`: a loose file (inflated here), else through `packed`. */
export const readRawObject = async (dir: string, oid: string, packed: PackedReader): Promise<RawObject> => {
  let file: Buffer
  try {
    file = fs.readFileSync(nodePath.join(dir, ".git", "objects", oid.slice(0, 2), oid.slice(2)))
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return packed(oid)
    throw e
  }
  const raw = zlib.inflateSync(file)
  const nul = raw.indexOf(0)
  const [type] = raw.subarray(0, nul).toString("latin1").split(" ")
  if (type !== "commit" && type !== "tree" && type !== "blob" && type !== "tag") {
    throw new Error(`object ${oid} has an unknown type '${type}'`)
  }
  return { type, content: raw.subarray(nul + 1) }
}

interface Commit {
  readonly tree: string
  readonly parents: ReadonlyArray<string>
  readonly time: number
}

/** The tree, parents and committer time of a commit object. */
export const parseCommit = (content: Uint8Array): Commit => {
  const text = Buffer.from(content).toString("utf8")
  const head = text.slice(0, text.indexOf("\n\n") === -1 ? text.length : text.indexOf("\n\n"))
  let tree = ""
  const parents: Array<string> = []
  let time = 0
  for (const line of head.split("\n")) {
    if (line.startsWith("tree ")) tree = line.slice(5)
    else if (line.startsWith("parent ")) parents.push(line.slice(7))
    else if (line.startsWith("committer ")) time = Number(/ (\d+) [+-]\d{4}$/.exec(line)?.[1] ?? 0)
  }
  return { tree, parents, time }
}

interface TreeEntry {
  readonly mode: string
  readonly oid: string
}

/** The entries of a tree object, by name. */
export const parseTree = (content: Uint8Array): Map<string, TreeEntry> => {
  const buf = Buffer.from(content.buffer, content.byteOffset, content.byteLength)
  const out = new Map<string, TreeEntry>()
  let i = 0
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i)
    const nul = buf.indexOf(0, space)
    const mode = buf.toString("latin1", i, space)
    const name = buf.toString("utf8", space + 1, nul)
    out.set(name, { mode, oid: buf.toString("hex", nul + 1, nul + 21) })
    i = nul + 21
  }
  return out
}

/** The objects to send so that the server, holding `haves` and all their history, has `tip` and all its history. */
export const objectsToSend = async (
  read: (oid: string) => Promise<RawObject>,
  tip: string,
  haves: ReadonlyArray<string>
): Promise<Array<string>> => {
  const commits = new Map<string, Commit | undefined>()
  /** the commit, or undefined when this repo does not have it (a branch of the server's we never fetched) */
  const tryCommit = async (oid: string) => {
    if (!commits.has(oid)) {
      const raw = await read(oid).catch(() => undefined)
      commits.set(oid, raw?.type === "commit" ? parseCommit(raw.content) : undefined)
    }
    return commits.get(oid)
  }
  // rev-list tip --not haves: newest first; "known" spreads from the haves to their parents.
  const known = new Set<string>()
  const queued = new Set<string>()
  const queue: Array<{ oid: string; time: number }> = []
  const enqueue = async (oid: string) => {
    if (queued.has(oid)) return
    const commit = await tryCommit(oid)
    if (commit === undefined) return
    queued.add(oid)
    const time = commit.time
    let at = queue.findIndex((q) => q.time < time)
    if (at === -1) at = queue.length
    queue.splice(at, 0, { oid, time })
  }
  for (const h of haves) known.add(h)
  await enqueue(tip)
  for (const h of haves) await enqueue(h)
  const fresh: Array<string> = []
  while (queue.some((q) => !known.has(q.oid))) {
    const { oid } = queue.shift()!
    const commit = (await tryCommit(oid))!
    if (known.has(oid)) {
      for (const p of commit.parents) {
        known.add(p)
        await enqueue(p)
      }
    } else {
      fresh.push(oid)
      for (const p of commit.parents) await enqueue(p)
    }
  }
  // Each new commit, and what its tree has that its first parent's has not (a root commit: all of it).
  const out = new Set<string>()
  const trees = new Map<string, Map<string, TreeEntry>>()
  const treeOf = async (oid: string) => {
    let t = trees.get(oid)
    if (t === undefined) trees.set(oid, t = parseTree((await read(oid)).content))
    return t
  }
  const diff = async (tree: string, base: string | undefined): Promise<void> => {
    if (tree === base || out.has(tree)) return
    out.add(tree)
    const ours = await treeOf(tree)
    const theirs = base === undefined ? new Map<string, TreeEntry>() : await treeOf(base)
    for (const [name, e] of ours) {
      const b = theirs.get(name)
      if (b !== undefined && b.oid === e.oid) continue
      if (e.mode === "40000") await diff(e.oid, b?.mode === "40000" ? b.oid : undefined)
      else if (e.mode !== "160000") out.add(e.oid)
    }
  }
  for (const oid of fresh) {
    if (known.has(oid)) continue
    const commit = commits.get(oid)!
    out.add(oid)
    const first = commit.parents[0] === undefined ? undefined : await tryCommit(commit.parents[0])
    await diff(commit.tree, first?.tree)
  }
  return [...out]
}

/** A pack (version 2, no deltas) of `objects`. */
export const buildPack = async (
  read: (oid: string) => Promise<RawObject>,
  objects: ReadonlyArray<string>
): Promise<Buffer> => {
  const parts: Array<Buffer> = []
  const header = Buffer.alloc(12)
  header.write("PACK", 0, "latin1")
  header.writeUInt32BE(2, 4)
  header.writeUInt32BE(objects.length, 8)
  parts.push(header)
  for (const oid of objects) {
    const { content, type } = await read(oid)
    let size = content.byteLength
    const head: Array<number> = []
    let byte = (TYPE_CODE[type] << 4) | (size & 0x0f)
    size = Math.floor(size / 16)
    while (size > 0) {
      head.push(byte | 0x80)
      byte = size & 0x7f
      size = Math.floor(size / 128)
    }
    head.push(byte)
    parts.push(Buffer.from(head), zlib.deflateSync(content))
  }
  const body = Buffer.concat(parts)
  return Buffer.concat([body, createHash("sha1").update(body).digest()])
}

const pktLine = (line: string): Buffer => {
  const payload = Buffer.from(line, "utf8")
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, "0"), "latin1"), payload])
}

/** The body of a `git-receive-pack` request moving `ref` from `oldOid` to `newOid`, with the pack. */
export const receivePackRequest = (
  update: { readonly oldOid: string; readonly newOid: string; readonly ref: string },
  capabilities: ReadonlyArray<string>,
  pack: Buffer
): Buffer =>
  Buffer.concat([
    pktLine(`${update.oldOid} ${update.newOid} ${update.ref}\0${capabilities.join(" ")}\n`),
    Buffer.from("0000", "latin1"),
    pack
  ])

/** What `git receive-pack` reported (its report-status, without side-band). */
export interface ReportStatus {
  /** "ok", or why the pack was not unpacked */
  readonly unpack: string
  /** per ref: undefined when it moved, else the server's reason */
  readonly refs: ReadonlyMap<string, string | undefined>
}

/** Parses a report-status answer; throws on anything that is not one. */
export const parseReportStatus = (body: Buffer): ReportStatus => {
  const lines: Array<string> = []
  let i = 0
  while (i + 4 <= body.length) {
    const len = parseInt(body.toString("latin1", i, i + 4), 16)
    if (Number.isNaN(len)) throw new Error("the server's answer to the push is not git's report-status")
    if (len === 0) break
    lines.push(body.toString("utf8", i + 4, i + len).replace(/\n$/, ""))
    i += len
  }
  const first = lines[0]
  if (first === undefined || !first.startsWith("unpack ")) {
    throw new Error("the server's answer to the push is not git's report-status")
  }
  const refs = new Map<string, string | undefined>()
  for (const line of lines.slice(1)) {
    if (line.startsWith("ok ")) refs.set(line.slice(3), undefined)
    else if (line.startsWith("ng ")) {
      const rest = line.slice(3)
      const space = rest.indexOf(" ")
      refs.set(space === -1 ? rest : rest.slice(0, space), space === -1 ? "rejected" : rest.slice(space + 1))
    }
  }
  return { unpack: first.slice("unpack ".length), refs }
}

/**
 * Whether `ancestor` is in the history of `tip` (a push that is not a fast-forward would drop commits: a bare repo
 * takes one unless it denies non-fast-forwards, so the client checks, as `git push` does). Breadth first from `tip`:
 * the usual answer, a parent, comes at once.
 */
export const descendsFrom = async (
  read: (oid: string) => Promise<RawObject>,
  tip: string,
  ancestor: string
): Promise<boolean> => {
  const seen = new Set([tip])
  let level = [tip]
  while (level.length > 0) {
    const next: Array<string> = []
    for (const oid of level) {
      if (oid === ancestor) return true
      const raw = await read(oid).catch(() => undefined)
      if (raw?.type !== "commit") continue
      for (const p of parseCommit(raw.content).parents) {
        if (!seen.has(p)) {
          seen.add(p)
          next.push(p)
        }
      }
    }
    level = next
  }
  return false
}
