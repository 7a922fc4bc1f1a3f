/**
 * `blue realm check`: the CI gate, with text, JSON, JUnit and GitHub/Forgejo annotation output. Exit 0 valid,
 * 1 invalid, 2 warnings only.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import { makeRepoCache } from "../adapters/cache.js"
import { PathProblem } from "../adapters/errors.js"
import {
  cachedContractFiles,
  cachedValidity,
  checkContracts,
  checkExporter,
  checkFiles,
  checkHistory,
  checkImporter,
  checkRealmCommits,
  type CheckReport,
  type Finding
} from "../engine/check.js"
import { cachedPerFile } from "../engine/detect.js"
import { Realms } from "../engine/Realms.js"
import { here } from "./context.js"
import { choice } from "./options.js"
import { present } from "./output.js"

const MODES = ["exporter", "importer", "contract", "compatibility", "realm"] as const
const FORMATS = ["text", "json", "junit", "github"] as const

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** JUnit XML: one test case per finding; errors are failures, warnings are marked skipped with their message. */
export const renderJunit = (r: CheckReport): string => {
  const failures = r.findings.filter((f) => f.level === "error").length
  const skipped = r.findings.filter((f) => f.level === "warning").length
  const cases = r.findings.map((f) => {
    const name = xml(`${f.contract ?? f.file ?? f.code}: ${f.code}`)
    const body = f.level === "error"
      ? `<failure message="${xml(f.message)}" type="${f.code}"/>`
      : f.level === "warning"
      ? `<skipped message="${xml(f.message)}"/>`
      : ""
    return `    <testcase classname="blue.realm.check.${r.mode}" name="${name}">${body}</testcase>`
  })
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="blue realm check" tests="${r.findings.length}" failures="${failures}">`,
    `  <testsuite name="${r.mode}" tests="${r.findings.length}" failures="${failures}" skipped="${skipped}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>"
  ].join("\n")
}

const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A")
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C")

/** GitHub / Forgejo Actions workflow commands: one annotation per warning or error, then a notice summary. */
export const renderGithub = (r: CheckReport): string => {
  const lines = r.findings.filter((f) => f.level !== "ok").map((f: Finding) => {
    const props = [
      ...(f.file === undefined ? [] : [`file=${escapeProperty(f.file)}`]),
      `title=${escapeProperty(`blue realm check (${r.mode}): ${f.contract ?? f.code}`)}`
    ].join(",")
    return `::${f.level === "error" ? "error" : "warning"} ${props}::${escapeData(f.message)}`
  })
  const errors = r.findings.filter((f) => f.level === "error").length
  const warnings = r.findings.filter((f) => f.level === "warning").length
  lines.push(
    `::notice title=blue realm check (${r.mode})::${errors} errors, ${warnings} warnings, ${
      r.findings.length - errors - warnings
    } ok`
  )
  return lines.join("\n")
}

/** Human text in the seed's style. */
export const renderText = (r: CheckReport): string => {
  const icon = { ok: "✓", warning: "⚠️ ", error: "✗" } as const
  const lines: Array<string> = []
  for (const c of r.compatibility) {
    lines.push(`Checking ${c.contract} ${c.from} → ${c.to}`)
    for (const ch of c.changes) {
      const text = ch.kind.startsWith("value-")
        ? ch.detail
        : `${ch.breaking ? "✗" : "~"} ${ch.path === "" ? "(root)" : ch.path}: ${ch.detail}`
      lines.push(`  ${text}${ch.breaking ? " - BREAKING" : ""}`)
    }
    if (c.changes.length === 0) lines.push("  ✓ no changes")
  }
  for (const f of r.findings) lines.push(`${icon[f.level]} ${f.message}`)
  const first = r.compatibility[0]
  if (first !== undefined) {
    lines.push(
      `Result: ${first.bump === "major" ? "BREAKING" : "COMPATIBLE"} (backwards ${
        first.backwards ? "yes" : "no"
      }, forwards ${first.forwards ? "yes" : "no"}; needs ${first.bump === "none" ? "no" : `a ${first.bump}`} bump)`
    )
  }
  return lines.join("\n")
}

const optText = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

/** The `check` command (registered as `blue realm check`). */
export const checkCommand = Command.make(
  "check",
  {
    mode: choice("mode", MODES, "contract").pipe(Options.withDescription(MODES.join(" | "))),
    from: optText("from", "compatibility: the older version (default: the one before --to)"),
    to: optText("to", "compatibility: the newer version (default: the current one)"),
    old: optText("old", "compatibility: the older contract or schema file"),
    new: optText("new", "compatibility: the newer contract or schema file"),
    name: optText("name", "compatibility: the contract (default: the one this repo owns or imports)"),
    since: optText("since", "realm: audit only commits after this one (default: all history)"),
    transitive: Options.boolean("transitive").pipe(
      Options.withDescription("compatibility: check the new version against every earlier one")
    ),
    trust: Options.boolean("trust").pipe(
      Options.withDescription("run validation hooks without asking for trust (CI; nothing is recorded)")
    ),
    noCache: Options.boolean("no-cache").pipe(Options.withDescription("exporter: detect without .blue/cache.db")),
    ci: Options.boolean("ci").pipe(Options.withDescription("also run ci_only hooks (default when CI=true)")),
    format: choice("format", FORMATS, "text").pipe(Options.withDescription(FORMATS.join(" | "))),
    json: Options.boolean("json").pipe(Options.withDescription("same as --format json"))
  },
  (o) => {
    const format = o.json ? "json" : o.format
    return present(
      format === "json",
      Effect.scoped(Effect.gen(function*() {
        const options = { trust: o.trust ? "ci" as const : "store" as const, ci: o.ci || process.env["CI"] === "true" }
        if (o.mode === "compatibility" && (Option.isSome(o.old) || Option.isSome(o.new))) {
          if (Option.isNone(o.old) || Option.isNone(o.new)) {
            return yield* new PathProblem({ path: "--old/--new", detail: "give both files" })
          }
          for (const f of [o.old.value, o.new.value]) {
            if (!fs.existsSync(nodePath.resolve(f))) {
              return yield* new PathProblem({ path: nodePath.resolve(f), detail: "does not exist" })
            }
          }
          const oldFile = nodePath.resolve(o.old.value)
          const newFile = nodePath.resolve(o.new.value)
          return yield* Effect.try({
            try: () => checkFiles(oldFile, newFile),
            catch: (e) =>
              new PathProblem({ path: `${oldFile} / ${newFile}`, detail: `cannot be read: ${(e as Error).message}` })
          })
        }
        const realms = yield* Realms
        const h = yield* here()
        const realm = yield* realms.open(h.realmDir)
        const repo = h.member?.config.repo
        switch (o.mode) {
          case "exporter":
          case "importer": {
            if (h.member === undefined) {
              return yield* new PathProblem({
                path: process.cwd(),
                detail: `--mode ${o.mode} runs inside a member repo`
              })
            }
            const cache = yield* makeRepoCache(h.member.root, { bypass: o.noCache })
            if (o.mode === "importer") return yield* checkImporter(h.member, realm.state, { ...options, cache })
            return yield* checkExporter(h.member, realm.state, { ...options, cache }, cachedPerFile(cache, h.member))
          }
          case "contract": {
            const events = yield* realms.foldItems(realm.dir)
            if (h.member === undefined) return checkContracts(realm.dir, realm.state, events)
            const cache = yield* makeRepoCache(h.member.root, { bypass: o.noCache })
            return checkContracts(
              realm.dir,
              realm.state,
              events,
              yield* cachedValidity(cache, realm.state),
              yield* cachedContractFiles(cache, realm.dir)
            )
          }
          case "compatibility": {
            const name = Option.getOrUndefined(o.name) ?? (repo === undefined
              ? undefined
              : Object.values(realm.state.domains).flatMap((d) =>
                Object.values(d.contracts).filter((c) =>
                  c.owner === repo || (d.bindings[repo]?.imports ?? []).some((i) => i.contract === c.name)
                ).map((c) => c.name)
              ).find((_, __, all) => all.length === 1))
            if (name === undefined) {
              return yield* new PathProblem({
                path: "--name",
                detail: "name the contract to compare (or use --old/--new)"
              })
            }
            return checkHistory(
              yield* realms.foldItems(realm.dir),
              name,
              Option.getOrUndefined(o.from),
              Option.getOrUndefined(o.to),
              o.transitive
            )
          }
          case "realm": {
            const trail = yield* realms.auditTrail(realm.dir, Option.getOrUndefined(o.since))
            return checkRealmCommits(trail.commits, trail.before)
          }
        }
      })),
      (r) => (format === "junit" ? renderJunit(r) : format === "github" ? renderGithub(r) : renderText(r)),
      (r) => r.exitCode
    )
  }
).pipe(Command.withDescription("Validate contracts for CI: exit 0 valid, 1 invalid, 2 warnings only"))
