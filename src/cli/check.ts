/**
 * `blue realm check`: the CI gate, with text, JSON, JUnit and GitHub/Forgejo annotation output. Exit 0 valid,
 * 1 invalid, 2 warnings only.
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { plural } from "../domain/text.js"
import type { CheckReport, Finding } from "../engine/check.js"
import { check, CHECK_MODES, renderCheckText } from "../operations/check.js"
import { runOperation } from "../operations/operation.js"
import { choice } from "./options.js"
import { cliAt, given, present } from "./output.js"

const FORMATS = ["text", "json", "junit", "github"] as const

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/**
 * JUnit XML after Jenkins' schema (xunit-plugin junit-10.xsd): `testsuite` must carry name, tests, failures and
 * errors; a `testcase` needs a name and holds at most failure/skipped children. One test case per finding; errors
 * are failures, warnings are marked skipped with their message; `errors` (the run itself broke) is always 0, since
 * such a run reports a refusal instead of a document.
 */
export const renderJunit = (r: CheckReport): string => {
  const failures = r.findings.filter((f) => f.level === "error").length
  const skipped = r.findings.filter((f) => f.level === "warning").length
  const cases = r.findings.map((f) => {
    const name = xml(`${f.contract ?? f.file ?? f.code}: ${f.code}`)
    const body = f.level === "error"
      ? `<failure message="${xml(f.message)}" type="${xml(f.code)}"/>`
      : f.level === "warning"
      ? `<skipped message="${xml(f.message)}"/>`
      : ""
    return `    <testcase classname="blue.realm.check.${r.mode}" name="${name}">${body}</testcase>`
  })
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="blue realm check" tests="${r.findings.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${
      xml(r.mode)
    }" tests="${r.findings.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
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
    // file= only for a file of this checkout (GitHub drops annotations on paths it does not have), with its position.
    const props = [
      ...(f.path === undefined ? [] : [`file=${escapeProperty(f.path)}`]),
      ...(f.path === undefined || f.line === undefined ? [] : [`line=${f.line}`]),
      ...(f.path === undefined || f.col === undefined ? [] : [`col=${f.col}`]),
      `title=${escapeProperty(`blue realm check (${r.mode}): ${f.contract ?? f.code}`)}`
    ].join(",")
    return `::${f.level === "error" ? "error" : "warning"} ${props}::${escapeData(f.message)}`
  })
  const errors = r.findings.filter((f) => f.level === "error").length
  const warnings = r.findings.filter((f) => f.level === "warning").length
  lines.push(
    `::notice title=blue realm check (${r.mode})::${plural(errors, "error")}, ${plural(warnings, "warning")}, ${
      r.findings.length - errors - warnings
    } ok`
  )
  return lines.join("\n")
}

const optText = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

/** The `check` command (registered as `blue realm check`). */
export const checkCommand = Command.make(
  "check",
  {
    mode: choice("mode", CHECK_MODES, "contract").pipe(
      Options.withDescription(
        "what to check: this repo's exports or imports, the realm's contract files (the default), two versions, or the realm's commits"
      )
    ),
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
    format: choice("format", FORMATS, "text").pipe(
      Options.withDescription("text, one JSON document, JUnit XML, or GitHub/Forgejo annotations")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("same as --format json"))
  },
  (o) => {
    const format = o.json ? "json" : o.format
    return present(
      format === "json",
      Effect.flatMap(cliAt, (at) =>
        runOperation(check, {
          mode: o.mode,
          name: given(o.name),
          from: given(o.from),
          to: given(o.to),
          old: given(o.old),
          new: given(o.new),
          transitive: o.transitive,
          since: given(o.since),
          no_cache: o.noCache,
          ci: o.ci,
          trust: o.trust
        }, at)),
      (r) => (format === "junit" ? renderJunit(r) : format === "github" ? renderGithub(r) : renderCheckText(r)),
      (r) => r.exit_code
    )
  }
).pipe(Command.withDescription("Validate contracts for CI: exit 0 valid, 1 invalid, 2 warnings only"))
