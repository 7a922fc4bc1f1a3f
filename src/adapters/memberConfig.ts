/**
 * The one reader of a member repo's `.blue/config.yaml`, with plain `node:fs` (no Effect) so the start-up fast path
 * uses it too: where the file is, its text (with the refusals of `readTextFileSync`), and its fields read loosely.
 * The full engine decodes the same text against the `LocalConfig` schema (`readMember` in files.ts).
 */
import * as YAML from "yaml"
import { type MemberConfigPeek, readMemberConfigText } from "./memberConfigPeek.js"

export {
  CONFIG_FILE,
  findMemberRoot,
  memberConfigPath,
  type MemberConfigPeek,
  readMemberConfigText
} from "./memberConfigPeek.js"

/**
 * The fields of the member config at `root` when it can be read and parsed and names its repo and realm as strings;
 * undefined otherwise (the full engine's `readMember` then says what is wrong).
 */
export const peekMemberConfig = (root: string): MemberConfigPeek | undefined => {
  try {
    const read = readMemberConfigText(root)
    if (!("text" in read)) return undefined
    const c = YAML.parse(read.text) as
      | { repo?: unknown; realm?: { name?: unknown; path?: unknown; url?: unknown } | null; exports?: unknown }
      | null
    if (typeof c?.repo !== "string" || typeof c?.realm?.name !== "string") return undefined
    return {
      repo: c.repo,
      realmName: c.realm.name,
      realmPath: typeof c.realm.path === "string" ? c.realm.path : undefined,
      realmUrl: typeof c.realm.url === "string" ? c.realm.url : undefined,
      hasExports: c.exports !== undefined
    }
  } catch {
    // Malformed YAML, or the file vanished between the reads.
    return undefined
  }
}
