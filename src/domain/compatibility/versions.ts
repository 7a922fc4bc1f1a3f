/**
 * Versions without schemas: the bump a value change alone requires, the step between two versions and whether it
 * suffices. No schema comparison (and so no ajv) here: the start-up fast path of `blue status` imports this module.
 */
// Single semver modules, not the package index: the status fast path loads this file (src/cli/fastStatus.ts).
import semverClean from "semver/functions/clean.js"
import semverCompare from "semver/functions/compare.js"
import semverEq from "semver/functions/eq.js"
import semverInc from "semver/functions/inc.js"
import semverParse from "semver/functions/parse.js"
import semverValid from "semver/functions/valid.js"
import { diffValues, isBreakingValueChange } from "../valueDiff.js"
import type { Bump } from "./types.js"

export type { Bump } from "./types.js"

const RANK: Readonly<Record<Bump, number>> = { none: 0, patch: 1, minor: 2, major: 3 }

export const maxBump = (a: Bump, b: Bump): Bump => (RANK[a] >= RANK[b] ? a : b)

/** The bump a change of the value alone requires: none, minor (elements added), major (removed or changed). */
export const valueBump = (oldValue: unknown, newValue: unknown): Bump => {
  const valueChanges = diffValues(oldValue, newValue)
  if (valueChanges.some(isBreakingValueChange)) return "major"
  return valueChanges.length > 0 ? "minor" : "none"
}

/** The bump level actually made from one version to another, or undefined when either is not valid semver. */
export const bumpBetween = (fromVersion: string, toVersion: string): Bump | undefined => {
  const from = semverParse(fromVersion)
  const to = semverParse(toVersion)
  if (from === null || to === null) return undefined
  if (to.major !== from.major) return to.major > from.major ? "major" : undefined
  if (to.minor !== from.minor) return to.minor > from.minor ? "minor" : undefined
  if (to.patch !== from.patch) return to.patch > from.patch ? "patch" : undefined
  return semverCompare(to, from) >= 0 ? "none" : undefined
}

/** Why `toVersion` is not an acceptable successor of `fromVersion` for a change needing `required`, else undefined. */
export const bumpProblem = (fromVersion: string, toVersion: string, required: Bump): string | undefined => {
  if (semverValid(fromVersion) === null) return `Version "${fromVersion}" is not valid semver (expected e.g. 1.4.0).`
  if (semverValid(toVersion) === null) return `Version "${toVersion}" is not valid semver (expected e.g. 1.5.0).`
  const made = bumpBetween(fromVersion, toVersion)
  if (made === undefined) return `Version ${toVersion} is lower than ${fromVersion}; versions only move forward.`
  if (required !== "none" && semverEq(fromVersion, toVersion)) {
    return `The change needs a ${required} bump but the version stays ${fromVersion}; use ${
      nextVersion(fromVersion, required)
    }.`
  }
  if (RANK[made] < RANK[required]) {
    return `The change needs a ${required} bump but ${fromVersion} → ${toVersion} is a ${made} bump; use ${
      nextVersion(fromVersion, required)
    } or later.`
  }
  return undefined
}

/** Whether going from `fromVersion` to `toVersion` is a large enough semver step for a change needing `required`. */
export const isBumpSufficient = (fromVersion: string, toVersion: string, required: Bump): boolean =>
  bumpProblem(fromVersion, toVersion, required) === undefined

/** The version after `fromVersion` for a change needing `required` (unchanged for none); undefined if invalid. */
export const nextVersion = (fromVersion: string, required: Bump): string | undefined => {
  if (semverValid(fromVersion) === null) return undefined
  if (required === "none") return semverClean(fromVersion) ?? fromVersion
  return semverInc(fromVersion, required) ?? undefined
}
