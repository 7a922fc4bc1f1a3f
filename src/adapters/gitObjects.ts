/**
 * Encoding of git tree and commit objects, hashed and deflated synchronously. isomorphic-git hashes with
 * WebCrypto and deflates with CompressionStream, one asynchronous round trip each per object; an append writes
 * half a dozen small objects, so doing that work with node's synchronous crypto and zlib and handing the
 * finished bytes to isomorphic-git (`writeObject` with `format: "deflated"`) keeps appends fast. Output is
 * byte-for-byte what git writes (checked against `git mktree`, `git commit-tree` and `git fsck` in the tests).
 */
import { createHash } from "node:crypto"
import { deflateSync } from "node:zlib"

/** One entry of a tree object. */
export interface TreeEntry {
  readonly mode: string
  readonly path: string
  readonly oid: string
  readonly type: "blob" | "tree" | "commit"
}

/** A git object ready to be stored: its id and its zlib-deflated bytes. */
export interface StoredObject {
  readonly oid: string
  readonly deflated: Uint8Array
}

/**
 * Hashes and deflates `content` as a git object of `type`. Deflated at zlib's fastest level: the object's id does
 * not depend on it, any level reads back alike, and an append's largest objects (trees of directories with
 * thousands of entries) cost several times less to write; `maintain` packs them compactly later.
 */
export const makeObject = (type: "blob" | "tree" | "commit", content: Uint8Array): StoredObject => {
  const header = Buffer.from(`${type} ${content.length}\0`)
  const full = Buffer.concat([header, content])
  return { oid: createHash("sha1").update(full).digest("hex"), deflated: deflateSync(full, { level: 1 }) }
}

/** The id git gives `content` stored as an object of `type` (hashed only, not deflated). */
export const objectId = (type: "blob" | "tree" | "commit", content: Uint8Array): string =>
  createHash("sha1").update(`${type} ${content.length}\0`).update(content).digest("hex")

const sortKey = (e: TreeEntry) => (e.type === "tree" ? `${e.path}/` : e.path)

const ASCII = /^[\u0000-\u007f]*$/

const modeText = (mode: string) => mode.replace(/^0+/, "")

/** The content of a tree object: entries in git's order (a subtree sorts as if its name ended in "/"). */
export const encodeTree = (entries: ReadonlyArray<TreeEntry>): Uint8Array => {
  // Keys computed once per entry; ASCII names (all of Blue's) compare as strings in byte order, others as bytes.
  // Entries that come sorted (a tree patched in place keeps its order) are not sorted again.
  const keyed = entries.map((e) => ({ e, k: sortKey(e) }))
  if (keyed.every((x) => ASCII.test(x.k))) {
    let sorted = true
    for (let i = 1; i < keyed.length && sorted; i++) sorted = keyed[i - 1]!.k < keyed[i]!.k
    if (!sorted) keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
  } else keyed.sort((a, b) => Buffer.compare(Buffer.from(a.k), Buffer.from(b.k)))
  // One buffer for the whole tree: "<mode> <name>\0" and the 20 id bytes per entry.
  const heads = keyed.map(({ e }) => `${modeText(e.mode)} ${e.path}\0`)
  let size = 0
  for (const h of heads) size += Buffer.byteLength(h) + 20
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (let i = 0; i < heads.length; i++) {
    at += out.write(heads[i]!, at, "utf8")
    if (out.write(keyed[i]!.e.oid, at, "hex") !== 20) {
      // Not a 40-digit id: the bytes its hex decodes to, as Buffer.concat always gave them.
      return Buffer.concat(keyed.flatMap(({ e }, j) => [Buffer.from(heads[j]!), Buffer.from(e.oid, "hex")]))
    }
    at += 20
  }
  return out
}

/** Who and when, as a commit records it (UTC). */
export interface Signature {
  readonly name: string
  readonly email: string
  /** seconds since the epoch */
  readonly timestamp: number
}

const clean = (s: string) => s.replace(/[<>\n]/g, "").trim()

/** The content of a commit object. */
export const encodeCommit = (commit: {
  readonly tree: string
  readonly parents: ReadonlyArray<string>
  readonly author: Signature
  readonly committer: Signature
  readonly message: string
}): Uint8Array => {
  const sig = (s: Signature) => `${clean(s.name) || "blue"} <${clean(s.email)}> ${s.timestamp} +0000`
  const lines = [
    `tree ${commit.tree}`,
    ...commit.parents.map((p) => `parent ${p}`),
    `author ${sig(commit.author)}`,
    `committer ${sig(commit.committer)}`,
    "",
    commit.message.endsWith("\n") ? commit.message : `${commit.message}\n`
  ]
  return Buffer.from(lines.join("\n"))
}
