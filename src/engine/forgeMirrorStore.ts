/**
 * The forge mirror's record in a realm clone (`.git/blue-forge.json`): each proposal's PR and notify issues as the
 * mirror last saw them. Machine-local state beside the clone (not realm content); the operations read and write it
 * through here.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { writeFileAtomicSync } from "../adapters/atomicFs.js"

/** What this machine mirrored for one proposal. */
export interface PullMirror {
  readonly number: number
  readonly url: string
  readonly state: "open" | "closed" | "merged"
  /** logins asked to review */
  readonly reviewers: ReadonlyArray<string>
  /** logins whose APPROVED review on the current head Blue counted */
  readonly approved: ReadonlyArray<string>
  /** logins whose latest review on the current head requests changes */
  readonly changesRequested: ReadonlyArray<string>
}

/** The mirror file of a realm clone (`.git/blue-forge.json`). */
export interface MirrorFile {
  readonly pulls: Record<string, PullMirror>
  /** proposal id → repo → its notify issue */
  readonly issues: Record<
    string,
    Record<string, { readonly number: number; readonly url: string; readonly state: string }>
  >
  /** proposals synced with `--no-notify`: no issues for them */
  readonly quiet: ReadonlyArray<string>
  /** closed proposals whose PR and issues are closed too */
  readonly done: ReadonlyArray<string>
}

const emptyMirror = (): MirrorFile => ({ pulls: {}, issues: {}, quiet: [], done: [] })

const mirrorPath = (realmDir: string) => nodePath.join(realmDir, ".git", "blue-forge.json")

/** The mirror file of the realm clone at `realmDir` (empty when there is none or it is unreadable). */
export const readMirror = (realmDir: string): MirrorFile => {
  try {
    const raw = JSON.parse(fs.readFileSync(mirrorPath(realmDir), "utf8")) as Partial<MirrorFile>
    return { ...emptyMirror(), ...raw }
  } catch {
    return emptyMirror()
  }
}

/** Replaces the mirror file (atomically). */
export const writeMirror = (realmDir: string, m: MirrorFile) =>
  writeFileAtomicSync(mirrorPath(realmDir), JSON.stringify(m, null, 2) + "\n")
