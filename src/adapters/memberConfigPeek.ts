/**
 * Where a member repo's `.blue/config.yaml` is, its text, and a small reader of the plain form Blue writes, without
 * the `yaml` package: the start-up fast path (src/cli/fastStatus.ts) loads this module and not memberConfig.ts.
 */
import * as fs from "node:fs"
import * as nodePath from "node:path"
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
  /** a remote realm's URL (`realm: {name, url}`), when the reader saw one */
  readonly realmUrl?: string | undefined
  /** whether the config declares `exports` (extractors) */
  readonly hasExports: boolean
}

// A plain scalar that YAML 1.2 (core schema) reads as exactly this string: no indicator first, no number, bool,
// null, .inf or .nan, nothing that could start a comment, a mapping or a flow collection.
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$|^\.\.?\/[A-Za-z0-9_./-]*$/
const RESERVED = /^(null|Null|NULL|true|True|TRUE|false|False|FALSE)$/
const scalar = (raw: string): string | undefined => {
  if (PLAIN.test(raw)) return RESERVED.test(raw) ? undefined : raw
  const m = /^'([^'\\"#]*)'$/.exec(raw) ?? /^"([^"\\'#]*)"$/.exec(raw)
  return m?.[1]
}

/**
 * The fields of a member config in the plain form Blue writes (top-level `repo:` and `realm:` with indented `name:`
 * and `path:`, simple scalars, whole-line comments), or "unsure" for anything else (flow style, anchors, tags,
 * escapes, duplicate or other keys, tabs, `exports`...), which the `yaml` reader (memberConfig.ts) must judge.
 * When it answers, the answer is what `peekMemberConfig` gives for the same text.
 */
export const peekPlainMemberConfig = (text: string): MemberConfigPeek | "unsure" => {
  const top = new Map<string, string>()
  const realm = new Map<string, string>()
  let inRealm = false
  for (const line of text.split("\n")) {
    const l = line.endsWith("\r") ? line.slice(0, -1) : line
    if (/^\s*(#.*)?$/.test(l) && !l.includes("\t")) continue
    const m = /^( {2})?([a-z_]+): *(.*?) *$/.exec(l)
    if (m === null) return "unsure"
    const [, indent, key, raw] = m as unknown as [string, string | undefined, string, string]
    if (indent === undefined) {
      inRealm = false
      if (top.has(key) || (key !== "repo" && key !== "realm")) return "unsure"
      if (key === "realm") {
        if (raw !== "") return "unsure"
        inRealm = true
        top.set(key, "")
        continue
      }
      const v = scalar(raw)
      if (v === undefined) return "unsure"
      top.set(key, v)
    } else {
      if (!inRealm || realm.has(key) || (key !== "name" && key !== "path")) return "unsure"
      const v = scalar(raw)
      if (v === undefined) return "unsure"
      realm.set(key, v)
    }
  }
  const repo = top.get("repo")
  const realmName = realm.get("name")
  if (repo === undefined || realmName === undefined) return "unsure"
  return { repo, realmName, realmPath: realm.get("path"), hasExports: false }
}
