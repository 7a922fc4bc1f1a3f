/**
 * The one reader of a member repo's `.blue/config.yaml`, with plain `node:fs` (no Effect) so the start-up fast path
 * uses it too: where the file is, its text (with the refusals of `readTextFileSync`), and its fields read loosely.
 * The full engine decodes the same text against the `LocalConfig` schema (`readMember` in files.ts).
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as YAML from "yaml"
import { findUp } from "./paths.js"
import { readTextFileSync } from "./textFile.js"

/** Relative path of a member's config file. */
export const CONFIG_FILE = ".blue/config.yaml"

/** The member repo containing `cwd` (nearest `.blue/config.yaml` upward), or undefined. */
export const findMemberRoot = (cwd: string): string | undefined =>
  findUp(cwd, (d) => fs.existsSync(nodePath.join(d, CONFIG_FILE)))

/** The path of the config file of the member repo at `root`. */
export const memberConfigPath = (root: string): string => nodePath.join(root, CONFIG_FILE)

/** The text of the member config at `root`, or why it cannot be read. */
export const readMemberConfigText = (root: string): { readonly text: string } | { readonly problem: string } =>
  readTextFileSync(memberConfigPath(root))

/** A member config's fields as written, before any schema: what callers that must not load Effect need. */
export interface MemberConfigPeek {
  readonly repo: string
  readonly realmName: string
  /** undefined when absent or not a string */
  readonly realmPath: string | undefined
  /** whether the config declares `exports` (extractors) */
  readonly hasExports: boolean
}

/**
 * The fields of the member config at `root` when it can be read and parsed and names its repo and realm as strings;
 * undefined otherwise (the full engine's `readMember` then says what is wrong).
 */
export const peekMemberConfig = (root: string): MemberConfigPeek | undefined => {
  try {
    const read = readMemberConfigText(root)
    if (!("text" in read)) return undefined
    const c = YAML.parse(read.text) as
      | { repo?: unknown; realm?: { name?: unknown; path?: unknown } | null; exports?: unknown }
      | null
    if (typeof c?.repo !== "string" || typeof c?.realm?.name !== "string") return undefined
    return {
      repo: c.repo,
      realmName: c.realm.name,
      realmPath: typeof c.realm.path === "string" ? c.realm.path : undefined,
      hasExports: c.exports !== undefined
    }
  } catch {
    // Malformed YAML, or the file vanished between the reads.
    return undefined
  }
}
