/**
 * `blue_realm_check`: validate contracts without syncing. The draft RFC's `exports` / `imports` switches pick the
 * exporter and importer checks; `mode` reaches the others (contract, compatibility, realm).
 */
import { Effect, Schema } from "effect"
import {
  cachedContractFiles,
  cachedValidity,
  checkContracts,
  checkExporter,
  checkFiles,
  checkHistory,
  checkImporter,
  checkRealmCommits,
  checkRealmFiles,
  type CheckReport,
  locateFindings,
  withFindings
} from "../engine/check.js"
import { cachedPerFile } from "../engine/detect.js"
import { PathProblem } from "../engine/errors.js"
import { Invocation } from "../engine/invocation.js"
import { RepoCaches, Workspace } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { argLabel, operation, optionalBoolean, optionalString, resolveArgPath } from "./operation.js"
import { here } from "./where.js"

/** The check modes. */
export const CHECK_MODES = ["exporter", "importer", "contract", "compatibility", "realm"] as const
/** A check mode. */
export type CheckMode = typeof CHECK_MODES[number]

/** The check's arguments (the MCP tool leaves out `trust`: only the user, never an agent, trusts hooks). */
export const CheckArgs = Schema.Struct({
  exports: optionalBoolean("Check if local exports have changed (the exporter check)"),
  imports: optionalBoolean("Check if any imports are stale or broken (the importer check)"),
  mode: Schema.optional(
    Schema.Literal(...CHECK_MODES).annotations({
      description:
        "exporter | importer | contract | compatibility | realm (default: exports and imports in a member repo, else contract)"
    })
  ),
  name: optionalString("compatibility: the contract (default: the one this repo owns or imports)"),
  from: optionalString("compatibility: the older version (default: the one before `to`)"),
  to: optionalString("compatibility: the newer version (default: the current one)"),
  old: optionalString("compatibility: the older contract or schema file"),
  new: optionalString("compatibility: the newer contract or schema file"),
  transitive: optionalBoolean("compatibility: check the new version against every earlier one"),
  since: optionalString("realm: audit only commits after this one (default: all history)"),
  no_cache: optionalBoolean("exporter: detect without .blue/cache.db"),
  ci: optionalBoolean("also run ci_only hooks (default when CI=true)"),
  trust: optionalBoolean("run validation hooks without asking for trust (CI; nothing is recorded)")
})

/** Several reports as one: findings and comparisons in order, the worst exit code. */
const combine = (reports: ReadonlyArray<CheckReport>): CheckReport => {
  if (reports.length === 1) return reports[0]!
  const exitCode = reports.some((r) => r.exit_code === 1) ? 1 : reports.some((r) => r.exit_code === 2) ? 2 : 0
  return {
    mode: reports.map((r) => r.mode).join("+"),
    ok: exitCode !== 1,
    exit_code: exitCode,
    findings: reports.flatMap((r) => r.findings),
    compatibility: reports.flatMap((r) => r.compatibility),
    hooks: reports.flatMap((r) => r.hooks)
  }
}

/** `blue_realm_check`. */
export const check = operation({
  tool: "blue_realm_check",
  description:
    "Check realm status without syncing: whether local exports changed (and how the change bumps the version), whether imports are stale or broken, contract validity, or the compatibility between two versions. exit_code is 0 valid, 1 invalid, 2 warnings only.",
  readOnly: true,
  args: CheckArgs,
  agentArgs: CheckArgs.omit("trust"),
  run: (o, at) =>
    Effect.scoped(Effect.gen(function*() {
      const options = {
        trust: o.trust === true ? "ci" as const : "store" as const,
        ci: o.ci === true || (yield* Invocation).env["CI"] === "true"
      }
      if (o.mode === "compatibility" && (o.old !== undefined || o.new !== undefined)) {
        if (o.old === undefined || o.new === undefined) {
          return yield* new PathProblem({
            path: `${argLabel(at, "old")}/${argLabel(at, "new")}`,
            detail: "give both files"
          })
        }
        const oldFile = yield* resolveArgPath(at, "old", o.old)
        const newFile = yield* resolveArgPath(at, "new", o.new)
        const workspace = yield* Workspace
        for (const [f, arg] of [[oldFile, "old"], [newFile, "new"]] as const) {
          if ((yield* workspace.kind(f)) === "missing") {
            return yield* new PathProblem({ path: f, detail: "does not exist" })
          }
          // A FIFO, a device or an oversized file is refused here, before anything waits on it.
          yield* workspace.readText(f, `(${argLabel(at, arg)}) `)
        }
        return yield* Effect.try({
          try: () => checkFiles(oldFile, newFile),
          catch: (e) =>
            new PathProblem({ path: `${oldFile} / ${newFile}`, detail: `cannot be read: ${(e as Error).message}` })
        })
      }
      const realms = yield* Realms
      const caches = yield* RepoCaches
      const h = yield* here(at.cwd)
      // Findings name files relative to the repo or the realm; CI annotations need them relative to this checkout.
      const checkout = yield* Effect.flatMap(Workspace, (w) => w.gitRoot(at.cwd))
      const located = (r: CheckReport, base: string): CheckReport => ({
        ...r,
        findings: locateFindings(r.findings, base, checkout)
      })
      const realm = yield* realms.open(h.realmDir)
      const repo = h.member?.config.repo
      const picked: ReadonlyArray<CheckMode> = o.exports === true || o.imports === true
        ? [...(o.exports === true ? ["exporter" as const] : []), ...(o.imports === true ? ["importer" as const] : [])]
        : o.mode !== undefined
        ? [o.mode]
        : h.member === undefined
        ? ["contract"]
        : ["exporter", "importer"]
      const reports: Array<CheckReport> = []
      for (const mode of picked) {
        switch (mode) {
          case "exporter":
          case "importer": {
            if (h.member === undefined) {
              return yield* new PathProblem({
                path: at.cwd,
                detail: `${argLabel(at, "mode")} ${mode} runs inside a member repo`
              })
            }
            const cache = yield* caches.open(h.member.root, { bypass: o.no_cache ?? false })
            reports.push(located(
              mode === "importer"
                ? yield* checkImporter(h.member, realm.state, { ...options, cache })
                : yield* checkExporter(h.member, realm.state, { ...options, cache }, cachedPerFile(cache, h.member)),
              h.member.root
            ))
            break
          }
          case "contract": {
            const events = yield* realms.foldItems(realm.dir)
            const files = checkRealmFiles(realm.dir, realm.state)
            // The cache is used only for a checkout that is exactly what the log records: a check that finds a
            // hand edit leaves .blue/cache.db as it was.
            if (h.member === undefined || !files.clean) {
              const report = checkContracts(realm.dir, realm.state, events)
              reports.push(located(withFindings(report, files.findings), realm.dir))
              break
            }
            const cache = yield* caches.open(h.member.root, { bypass: o.no_cache ?? false })
            reports.push(located(
              checkContracts(
                realm.dir,
                realm.state,
                events,
                yield* cachedValidity(cache, realm.state),
                yield* cachedContractFiles(cache, realm.dir, realm.state)
              ),
              realm.dir
            ))
            break
          }
          case "compatibility": {
            const name = o.name ?? (repo === undefined
              ? undefined
              : Object.values(realm.state.domains).flatMap((d) =>
                Object.values(d.contracts).filter((c) =>
                  c.owner === repo || (d.bindings[repo]?.imports ?? []).some((i) => i.contract === c.name)
                ).map((c) => c.name)
              ).find((_, __, all) => all.length === 1))
            if (name === undefined) {
              return yield* new PathProblem({
                path: argLabel(at, "name"),
                detail: `name the contract to compare (or use ${argLabel(at, "old")}/${argLabel(at, "new")})`
              })
            }
            reports.push(checkHistory(yield* realms.foldItems(realm.dir), name, o.from, o.to, o.transitive ?? false))
            break
          }
          case "realm": {
            const trail = yield* realms.auditTrail(realm.dir, o.since)
            reports.push(located(checkRealmCommits(trail.commits, trail.before), realm.dir))
            break
          }
        }
      }
      return combine(reports)
    })),
  summary: (r) => renderCheckText(r),
  exitCode: (r) => r.exit_code
})

/** Human text in the seed's style. */
export const renderCheckText = (r: CheckReport): string => {
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
