/**
 * The trust store for validation hooks (like direnv/mise `allow`). A hook's name comes from realm content another
 * org wrote, so a script may run only after this user trusted that exact file: the store records its absolute real
 * path and the sha256 of its content in BLUE_HOME/trust.json, outside every repo and realm. One port, two
 * implementations (file and memory) that share the same bookkeeping.
 */
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { writeFileAtomic } from "./atomicFs.js"
import { blueHome } from "./home.js"

/** Whether a script may run: trusted with this content, never trusted, or trusted with other content. */
export type TrustStatus = "trusted" | "untrusted" | "changed"

/** One trusted script. */
export const TrustEntry = Schema.Struct({
  /** absolute real path (symlinks resolved) */
  path: Schema.String,
  /** sha256 of the content, hex */
  sha256: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)),
  /** ISO time the user trusted it */
  trustedAt: Schema.String
})

/** One trusted script. */
export type TrustEntry = typeof TrustEntry.Type

/** The shape of trust.json. */
export const TrustFile = Schema.Struct({
  version: Schema.Literal(1),
  scripts: Schema.Array(TrustEntry)
})

/** trust.json could not be read or written. */
export class TrustStoreError extends Schema.TaggedError<TrustStoreError>()("TrustStoreError", {
  op: Schema.String,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `trust store ${this.op} failed (${this.path}): ${this.detail}`
  }
}

/** The file to trust or check does not exist or is not a regular file. */
export class NotAScript extends Schema.TaggedError<NotAScript>()("NotAScript", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.path}: ${this.detail}`
  }
}

/** The trust store port. Files are named by any path; the store keys them by their real path. */
export class TrustStore extends Context.Tag("blue/TrustStore")<TrustStore, {
  /** Whether `file`, as it is now on disk, is trusted, never was, or was trusted with other content. */
  readonly status: (file: string) => Effect.Effect<TrustStatus, TrustStoreError | NotAScript>
  /** Records `file`'s current content as trusted (replacing an older record) and returns the record. */
  readonly trust: (file: string) => Effect.Effect<TrustEntry, TrustStoreError | NotAScript>
  /** Forgets `file` (which may no longer exist); true when there was a record to remove. */
  readonly revoke: (file: string) => Effect.Effect<boolean, TrustStoreError | NotAScript>
  /** Every record, sorted by path. */
  readonly list: Effect.Effect<ReadonlyArray<TrustEntry>, TrustStoreError>
}>() {}

/** Name of the store inside BLUE_HOME. */
export const TRUST_FILE = "trust.json"

/** Path of trust.json inside the home. */
export const trustFilePath = (home: string = blueHome()) => path.join(home, TRUST_FILE)

const detailOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** The real path and content hash of a script, as the store records it. */
export const fingerprint = (file: string): Effect.Effect<{ path: string; sha256: string }, NotAScript> =>
  Effect.try({
    try: () => {
      const real = fs.realpathSync(path.resolve(file))
      if (!fs.statSync(real).isFile()) throw new Error("is not a regular file")
      return { path: real, sha256: createHash("sha256").update(fs.readFileSync(real)).digest("hex") }
    },
    catch: (e) =>
      new NotAScript({
        path: path.resolve(file),
        detail: (e as { code?: string }).code === "ENOENT" ? "does not exist" : detailOf(e)
      })
  })

/** Where a record for `file` would be kept: its real path, or its absolute path once it is gone. */
const keyOf = (file: string) => {
  const absolute = path.resolve(file)
  try {
    return fs.realpathSync(absolute)
  } catch {
    return absolute
  }
}

type Entries = Map<string, TrustEntry>

interface Backing {
  readonly load: Effect.Effect<Entries, TrustStoreError>
  readonly save: (entries: Entries) => Effect.Effect<void, TrustStoreError>
}

const sorted = (entries: Entries) => [...entries.values()].sort((a, b) => a.path.localeCompare(b.path))

const makeStore = (backing: Backing): Context.Tag.Service<TrustStore> => ({
  status: (file) =>
    Effect.gen(function*() {
      const print = yield* fingerprint(file)
      const entry = (yield* backing.load).get(print.path)
      return entry === undefined ? "untrusted" : entry.sha256 === print.sha256 ? "trusted" : "changed"
    }),
  trust: (file) =>
    Effect.gen(function*() {
      const print = yield* fingerprint(file)
      const now = yield* Clock.currentTimeMillis
      const entry: TrustEntry = { ...print, trustedAt: new Date(now).toISOString() }
      const entries = yield* backing.load
      entries.set(entry.path, entry)
      yield* backing.save(entries)
      return entry
    }),
  revoke: (file) =>
    Effect.gen(function*() {
      const key = keyOf(file)
      const entries = yield* backing.load
      if (!entries.delete(key)) {
        if (!fs.existsSync(key)) {
          return yield* new NotAScript({ path: key, detail: "does not exist and is not trusted" })
        }
        return false
      }
      yield* backing.save(entries)
      return true
    }),
  list: Effect.map(backing.load, sorted)
})

const decodeFile = Schema.decodeUnknownEither(Schema.parseJson(TrustFile))

/** A store kept in `file` (trust.json): read on every call, written atomically with mode 0600. */
export const makeFileTrustStore = (file: string): Context.Tag.Service<TrustStore> =>
  makeStore({
    load: Effect.suspend(() => {
      let text: string
      try {
        // Anyone who can write the store can make us run their script: refuse a store others may write.
        if ((fs.statSync(file).mode & 0o022) !== 0) {
          return Effect.fail(
            new TrustStoreError({
              op: "read",
              path: file,
              detail: `is writable by other users; check it, then run 'chmod 600 ${file}'`
            })
          )
        }
        text = fs.readFileSync(file, "utf8")
      } catch (e) {
        if ((e as { code?: string }).code === "ENOENT") return Effect.succeed<Entries>(new Map())
        return Effect.fail(new TrustStoreError({ op: "read", path: file, detail: detailOf(e) }))
      }
      const decoded = decodeFile(text)
      if (decoded._tag === "Left") {
        return Effect.fail(
          new TrustStoreError({
            op: "read",
            path: file,
            detail: `is not a valid trust store (${decoded.left.message.split("\n")[0]}); fix or delete it`
          })
        )
      }
      return Effect.succeed<Entries>(new Map(decoded.right.scripts.map((e) => [e.path, e])))
    }),
    save: (entries) =>
      Effect.tryPromise({
        try: async () => {
          await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
          const doc: typeof TrustFile.Type = { version: 1, scripts: sorted(entries) }
          await writeFileAtomic(file, JSON.stringify(doc, null, 2) + "\n", { mode: 0o600 })
        },
        catch: (e) => new TrustStoreError({ op: "write", path: file, detail: detailOf(e) })
      })
  })

/** A store kept in memory (tests, `--trust` dry runs). */
export const makeMemoryTrustStore = (): Context.Tag.Service<TrustStore> => {
  let current: Entries = new Map()
  return makeStore({
    load: Effect.sync(() => new Map(current)),
    save: (entries) =>
      Effect.sync(() => {
        current = new Map(entries)
      })
  })
}

/** The store in a given trust.json. */
export const layerTrustStoreFile = (file: string) => Layer.sync(TrustStore, () => makeFileTrustStore(file))

/** The store in BLUE_HOME/trust.json (BLUE_HOME is read when the layer is built). */
export const TrustStoreLive = Layer.sync(TrustStore, () => makeFileTrustStore(trustFilePath()))

/** A fresh in-memory store. */
export const TrustStoreMemory = Layer.sync(TrustStore, makeMemoryTrustStore)
