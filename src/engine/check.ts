/**
 * `blue realm check`: the CI gate. Each mode turns realm state, the repo's code and validation hooks into
 * findings (ok / warning / error); the exit code follows from them (0 valid, 1 invalid, 2 warnings only).
 */
import { Effect, Either } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import semver from "semver"
import { globSync } from "tinyglobby"
import * as YAML from "yaml"
import type { RepoCacheService } from "../adapters/cache.js"
import type { ExtractError } from "../adapters/extract.js"
import { Extractors, type PerFile } from "../adapters/extract.js"
import type { Member } from "../adapters/files.js"
import { decodeYaml } from "../adapters/files.js"
import { type HookResult, type HookRole, HookRunner, type TrustDecision } from "../adapters/hooks.js"
import { isWithin } from "../adapters/paths.js"
import { TrustStore } from "../adapters/trust.js"
import { Workspace } from "../adapters/workspace.js"
import { eventProblem, mayAuthorFor, mayTouchPath } from "../domain/authorization.js"
import {
  type Bump,
  bumpBetween,
  compareSchemas,
  type CompatibilityPromise,
  isBumpSufficient,
  type JsonSchema,
  requiredBump
} from "../domain/compatibility.js"
import { breakingSince, importStanding, standingOf } from "../domain/contracts.js"
import { FileInvalid } from "../domain/errors.js"
import type { RealmEvent } from "../domain/events.js"
import { type ContractFile, ContractFile as ContractFileSchema, type Extractor } from "../domain/files.js"
import { initialState, type RealmState } from "../domain/state.js"
import { type ContractValidity, validateContract } from "../domain/validate.js"
import {
  canonicalJson,
  diffValues,
  formatValueChange,
  isBreakingValueChange,
  type ValueChange
} from "../domain/valueDiff.js"
import type { Recorded } from "../events/envelope.js"
import { eventFilePath } from "../events/envelope.js"
import { foldEnvelopes } from "../projections/fold.js"
import { isManagedPath, renderAll, renderPath, touchedPaths } from "../projections/realmFiles.js"
import { sourceFilesOf } from "./detect.js"
import { Invocation } from "./invocation.js"

/** How bad a finding is. */
export type Level = "ok" | "warning" | "error"

/** One thing a check found. */
export interface Finding {
  readonly level: Level
  readonly code: string
  readonly message: string
  readonly contract?: string
  readonly domain?: string
  readonly file?: string
  readonly commit?: string
  /** the key the finding is about, as a dotted path in `file` (`value.read.0`, `schema`) */
  readonly key?: string
  /** `file` relative to the checkout the check runs in, when it lies inside it (for CI annotations) */
  readonly path?: string
  /** 1-based line and column of `key` in `path` */
  readonly line?: number
  readonly col?: number
}

/** Where `key` (a dotted path) starts in YAML `text`: the deepest part of it the document has. */
export const yamlPosition = (text: string, key: string): { line: number; col: number } | undefined => {
  const counter = new YAML.LineCounter()
  let doc: YAML.Document.Parsed
  try {
    doc = YAML.parseDocument(text, { lineCounter: counter })
  } catch {
    return undefined
  }
  let node: unknown = doc.contents
  let offset: number | undefined
  for (const seg of key.split(".").filter((s) => s !== "")) {
    if (YAML.isMap(node)) {
      const pair = node.items.find((p) => String(YAML.isScalar(p.key) ? p.key.value : p.key) === seg)
      if (pair === undefined) break
      offset = YAML.isScalar(pair.key) ? pair.key.range?.[0] : offset
      node = pair.value
    } else if (YAML.isSeq(node)) {
      const item = node.items[Number(seg)]
      if (item === undefined || !YAML.isNode(item)) break
      offset = item.range?.[0]
      node = item
    } else break
  }
  return offset === undefined ? undefined : counter.linePos(offset)
}

/**
 * The findings with `path` (and `line`/`col` where a key is known) added for each file that lies inside the checkout
 * at `checkoutRoot`; `base` is the directory their `file` is relative to. Files elsewhere (a realm checked out next to
 * the repo) get no path: an annotation must name a file of the checkout.
 */
export const locateFindings = (
  findings: ReadonlyArray<Finding>,
  base: string,
  checkoutRoot: string | undefined
): Array<Finding> =>
  findings.map((f) => {
    if (f.file === undefined || checkoutRoot === undefined) return f
    const abs = nodePath.resolve(base, f.file)
    const rel = nodePath.relative(checkoutRoot, abs)
    if (rel === "" || rel.startsWith("..") || nodePath.isAbsolute(rel) || !fs.existsSync(abs)) return f
    // A position the check already knows (a pattern match) stands; otherwise the key's, in a YAML or JSON file.
    const at = f.line !== undefined
      ? { line: f.line, col: f.col ?? 1 }
      : f.key !== undefined && /\.(ya?ml|json)$/.test(abs)
      ? yamlPosition(fs.readFileSync(abs, "utf8"), f.key)
      : undefined
    return { ...f, path: rel.split(nodePath.sep).join("/"), ...(at === undefined ? {} : at) }
  })

/** One field-level change between two contract versions. */
export interface Change {
  readonly path: string
  readonly kind: string
  readonly breaking: boolean
  readonly detail: string
}

/** The comparison of two versions of a contract (or two schema files). */
export interface Compatibility {
  readonly contract: string
  readonly from: string
  readonly to: string
  readonly backwards: boolean
  readonly forwards: boolean
  /** the bump the change needs */
  readonly bump: Bump
  /** the bump the versions make, when both are known */
  readonly made: Bump | null
  readonly sufficient: boolean
  readonly changes: ReadonlyArray<Change>
}

/** Everything one check run found. */
export interface CheckReport {
  readonly mode: string
  readonly ok: boolean
  readonly exit_code: 0 | 1 | 2
  readonly findings: ReadonlyArray<Finding>
  readonly compatibility: ReadonlyArray<Compatibility>
  readonly hooks: ReadonlyArray<HookResult>
  /** convenience copies of the first comparison (the common case of one contract) */
  readonly backwards?: boolean
  readonly forwards?: boolean
  readonly bump?: Bump
  readonly changes?: ReadonlyArray<Change>
}

/** The exit code of a list of findings. */
export const exitCodeOf = (findings: ReadonlyArray<Finding>): 0 | 1 | 2 =>
  findings.some((f) => f.level === "error") ? 1 : findings.some((f) => f.level === "warning") ? 2 : 0

/** Assembles a report. */
export const report = (
  mode: string,
  findings: ReadonlyArray<Finding>,
  compatibility: ReadonlyArray<Compatibility> = [],
  hooks: ReadonlyArray<HookResult> = []
): CheckReport => {
  const exitCode = exitCodeOf(findings)
  const first = compatibility[0]
  return {
    mode,
    ok: exitCode === 0,
    exit_code: exitCode,
    findings,
    compatibility,
    hooks,
    ...(first === undefined
      ? {}
      : { backwards: first.backwards, forwards: first.forwards, bump: first.bump, changes: first.changes })
  }
}

/** Compares two versions of a contract: schema directions, value changes, required and made bump. */
export const compareVersions = (
  name: string,
  before: { readonly version?: string; readonly schema: unknown; readonly value?: unknown },
  after: { readonly version?: string; readonly schema: unknown; readonly value?: unknown },
  promise: CompatibilityPromise
): Compatibility => {
  const schemas = compareSchemas(before.schema as JsonSchema, after.schema as JsonSchema)
  const values = diffValues(before.value, after.value)
  const bump = requiredBump(before.schema as JsonSchema, after.schema as JsonSchema, before.value, after.value, promise)
  const made = before.version !== undefined && after.version !== undefined
    ? bumpBetween(before.version, after.version) ?? null
    : null
  const sufficient = before.version !== undefined && after.version !== undefined
    ? isBumpSufficient(before.version, after.version, bump)
    : (!promise.backwards || schemas.backwards) && (!promise.forwards || schemas.forwards) &&
      !values.some(isBreakingValueChange)
  return {
    contract: name,
    from: before.version ?? "old",
    to: after.version ?? "new",
    backwards: schemas.backwards,
    forwards: schemas.forwards,
    bump,
    made,
    sufficient,
    changes: [
      ...schemas.changes.map((c) => ({
        path: c.path,
        kind: c.kind,
        breaking: (promise.backwards && c.breaksBackwards) || (promise.forwards && c.breaksForwards),
        detail: c.detail
      })),
      ...values.map((v) => ({
        path: v.path,
        kind: `value-${v.kind}`,
        breaking: isBreakingValueChange(v),
        detail: formatValueChange(v, { withPath: true })
      }))
    ]
  }
}

/** True when `v` is a semver version. */
const semverValid = (v: string) => semver.valid(v) !== null

/** "a minor bump", "no bump": a bump as a phrase. */
const bumpPhrase = (b: Bump) => (b === "none" ? "no bump" : `a ${b} bump`)

const compatibilityFinding = (c: Compatibility): Finding => {
  if (c.made === null && c.from !== "old" && c.to !== "new" && semverValid(c.from) && semverValid(c.to)) {
    // bumpBetween found no bump: the version went backwards.
    return {
      level: "error",
      code: "version-backwards",
      contract: c.contract,
      message: `${c.contract}: version ${c.to} is lower than ${c.from}; versions only move forward`
    }
  }
  const verdict = c.bump === "major" ? "BREAKING" : "COMPATIBLE"
  if (c.sufficient) {
    return {
      level: "ok",
      code: "compatible",
      contract: c.contract,
      message: `${c.contract} ${c.from} → ${c.to}: ${verdict} (${
        c.made === null
          ? `needs ${bumpPhrase(c.bump)}`
          : c.made === "none"
          ? "same version OK"
          : `${c.made} version bump OK`
      })`
    }
  }
  return {
    level: "error",
    code: "bump-too-small",
    contract: c.contract,
    message: c.made === null
      ? `${c.contract}: the new version breaks what the contract promises (${
        [
          !c.backwards ? "not backwards compatible" : "",
          !c.forwards ? "not forwards compatible" : "",
          ...c.changes.filter((x) => x.breaking && x.kind.startsWith("value-")).map((x) => x.detail)
        ].filter((s) => s !== "").join(", ") || `needs ${bumpPhrase(c.bump)}`
      })`
      : `${c.contract} ${c.from} → ${c.to}: ${verdict} change needs ${bumpPhrase(c.bump)}, but the versions make ${
        c.made === "none" ? "none" : `only ${bumpPhrase(c.made)}`
      }`
  }
}

/** Every published version of each contract, in order, from the event log. */
export const versionHistory = (events: ReadonlyArray<{ readonly event: RealmEvent }>) => {
  const out = new Map<string, Array<{ domain: string; contract: ContractFile }>>()
  for (const { event: e } of events) {
    if (e._tag !== "ContractPublished" && e._tag !== "ContractBumped") continue
    const key = `${e.domain}/${e.contract.name}`
    const list = out.get(key) ?? []
    // A first value replaces the placeholder at the same version.
    if (list.at(-1)?.contract.version === e.contract.version) list.pop()
    list.push({ domain: e.domain, contract: e.contract })
    out.set(key, list)
  }
  return out
}

/** A contract file of the realm checkout, parsed: the contract, or why it is invalid. */
export type ParsedContractFile =
  | { readonly contract: ContractFile }
  | { readonly invalid: { readonly path: string; readonly detail: string } }

/** The contract files in a realm checkout, by domain. */
export const contractFiles = (realmDir: string): ReadonlyArray<{ readonly domain: string; readonly file: string }> => {
  const domainsDir = nodePath.join(realmDir, "domains")
  if (!fs.existsSync(domainsDir)) return []
  return fs.readdirSync(domainsDir).flatMap((d) => {
    const dir = nodePath.join(domainsDir, d, "contracts")
    return fs.existsSync(dir)
      ? fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => ({
        domain: d,
        file: `domains/${d}/contracts/${f}`
      }))
      : []
  })
}

/** Parses one contract file against its schema. */
export const parseContractFile = (file: string, text: string): ParsedContractFile => {
  const parsed = decodeYaml(ContractFileSchema, text, file)
  return Either.isLeft(parsed)
    ? { invalid: { path: parsed.left.path, detail: parsed.left.detail } }
    : { contract: parsed.right }
}

/**
 * The recorded contract a contract file holds when its text is exactly what the realm's state renders there: such
 * a file parses to that contract, so it need not be parsed at all.
 */
const recordedContractIn = (
  state: RealmState | undefined,
  domain: string,
  file: string,
  text: string
): ParsedContractFile | undefined => {
  if (state === undefined) return undefined
  const name = nodePath.posix.basename(file, ".yaml")
  const recorded = state.domains[domain]?.contracts[name]
  return recorded !== undefined && renderPath(state, file) === text ? { contract: recorded } : undefined
}

/**
 * Parses every contract file through the repo's contract cache, keyed by the file's content hash: a checkout whose
 * contracts did not change is not parsed again. With the realm's `state`, a file that is exactly what the state
 * renders is its recorded contract, without parsing or the cache.
 */
export const cachedContractFiles = (cache: RepoCacheService, realmDir: string, state?: RealmState) =>
  Effect.forEach(contractFiles(realmDir), ({ domain, file }) => {
    const text = readOrEmpty(nodePath.join(realmDir, file))
    const recorded = recordedContractIn(state, domain, file, text)
    if (recorded !== undefined) return Effect.succeed([file, recorded] as const)
    return cache.contractFor(
      domain,
      `file:${file}`,
      "checkout",
      sha256(text),
      Effect.sync(() => parseContractFile(file, text))
    )
      .pipe(
        Effect.map((p) => [file, p as ParsedContractFile] as const),
        Effect.orElseSucceed(() => [file, parseContractFile(file, text)] as const)
      )
  }).pipe(Effect.map((entries) => new Map(entries)))

const hookFinding = (role: HookRole, contract: string, h: HookResult): Finding => {
  const base = { contract, file: h.script }
  switch (h.outcome) {
    case "valid":
      return { ...base, level: "ok", code: "hook-valid", message: `${role} hook ${h.script}: valid` }
    case "warning":
      return {
        ...base,
        level: "warning",
        code: "hook-warning",
        message: `${role} hook ${h.script}: warning — ${h.output.trim()}`
      }
    case "invalid":
      return {
        ...base,
        level: "error",
        code: "hook-invalid",
        message: `${role} hook ${h.script}: invalid — ${h.output.trim()}`
      }
    case "untrusted":
    case "changed":
      return {
        ...base,
        level: "warning",
        code: `hook-${h.outcome}`,
        message: `${role} hook ${h.script} was not run: ${
          h.outcome === "changed" ? "it changed since you trusted it" : "it is not trusted"
        }; review it, then 'blue realm trust ${h.script}' (or pass --trust in CI)`
      }
    case "timeout":
      return { ...base, level: "error", code: "hook-timeout", message: `${role} hook ${h.script} timed out` }
    case "error":
      return {
        ...base,
        level: "error",
        code: "hook-error",
        message: `${role} hook ${h.script} failed: ${h.output.trim()}`
      }
  }
}

/** Options every mode shares. */
export interface CheckOptions {
  readonly trust: TrustDecision
  /** run ci_only hooks too */
  readonly ci: boolean
  /** the repo's cache.db: a hook result is reused while the script, its input and the binding are unchanged */
  readonly cache?: RepoCacheService
}

const sha256 = (...parts: ReadonlyArray<string>) => {
  const h = createHash("sha256")
  for (const p of parts) h.update(p).update("\0")
  return h.digest("hex")
}

const readOrEmpty = (file: string) => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return ""
  }
}

/** Runs a hook, or reuses the cached outcome of the very same script on the very same input. */
const cachedHook = (
  member: Member,
  contract: ContractFile,
  role: HookRole,
  script: string,
  bindingFile: string | undefined,
  options: CheckOptions
) =>
  Effect.gen(function*() {
    const store = yield* TrustStore
    const hooks = yield* HookRunner
    const run = hooks.run({
      repoRoot: member.root,
      script,
      role,
      input: contract,
      contract: { name: contract.name, version: contract.version },
      trust: options.trust,
      env: (yield* Invocation).env
    })
    const cache = options.cache
    if (cache === undefined) return yield* run
    // Trust is decided before any cached result is used: an untrusted script is reported, whatever ran before.
    if (options.trust === "store") {
      const { real } = yield* hooks.resolve(member.root, script)
      const status = yield* store.status(real)
      if (status !== "trusted") return yield* run
    }
    const key = sha256(
      role,
      script,
      readOrEmpty(nodePath.join(member.root, script)),
      canonicalJson(contract),
      bindingFile === undefined ? "" : readOrEmpty(nodePath.join(member.root, bindingFile))
    )
    let fresh: HookResult | undefined
    const cached = yield* cache.validationFor(
      contract.name,
      contract.version,
      key,
      Effect.flatMap(run, (r) => {
        fresh = r
        // Only verdicts are worth remembering; a timeout or a crash is tried again next time.
        return r.outcome === "valid" || r.outcome === "invalid" || r.outcome === "warning"
          ? Effect.succeed({ valid: r.outcome !== "invalid", warning: r.outcome === "warning", output: r.output })
          : Effect.fail(r)
      })
    ).pipe(
      Effect.catchIf((e): e is HookResult => typeof e === "object" && e !== null && "outcome" in e, (r) =>
        Effect.succeed(r)),
      Effect.catchTag("CacheError", () =>
        run)
    )
    if ("outcome" in cached) return cached
    if (fresh !== undefined) return fresh
    return {
      script,
      outcome: !cached.valid ? "invalid" as const : cached.warning ? "warning" as const : "valid" as const,
      exit_code: null,
      output: `${cached.output}${cached.output.endsWith("\n") || cached.output === "" ? "" : "\n"}(cached result)`,
      duration_ms: 0
    } satisfies HookResult
  })

const runHooks = (
  member: Member,
  contract: ContractFile,
  roles: ReadonlyArray<HookRole>,
  options: CheckOptions,
  bindingFile?: string
) =>
  Effect.gen(function*() {
    const findings: Array<Finding> = []
    const results: Array<HookResult> = []
    const v = contract.validation
    const scripts: Array<[HookRole, string]> = []
    for (const role of roles) {
      if (role === "exporter" && v?.exporter !== undefined) scripts.push([role, v.exporter])
      if (role === "importer" && v?.importer !== undefined) scripts.push([role, v.importer])
    }
    if (options.ci) { for (const s of v?.ci_only ?? []) scripts.push(["ci_only", s]) }
    for (const [role, script] of scripts) {
      const r = yield* cachedHook(member, contract, role, script, bindingFile, options).pipe(Effect.either)
      if (Either.isLeft(r)) {
        findings.push({
          level: "error",
          code: "hook-refused",
          contract: contract.name,
          file: script,
          message: r.left.message
        })
      } else {
        results.push(r.right)
        findings.push(hookFinding(role, contract.name, r.right))
      }
    }
    return { findings, results }
  })

/** The 1-based line and column of character `index` in `text`. */
const positionOf = (text: string, index: number): { line: number; col: number } => {
  const before = text.slice(0, index)
  return { line: before.split("\n").length, col: index - before.lastIndexOf("\n") }
}

/**
 * Where an exporter drift comes from, for CI annotations: for a pattern, the first match that captures a value the
 * contract does not have (file, line, col); for a file and key, that file at the key (down to the changed field);
 * otherwise (a value only removed, a command extractor) the export's entry in `.blue/config.yaml`.
 */
export const driftLocation = (
  root: string,
  contract: string,
  extractor: Extractor,
  changes: ReadonlyArray<ValueChange>,
  sourceFiles: ReadonlyArray<string>
): Pick<Finding, "file" | "key" | "line" | "col"> => {
  const fallback = { file: ".blue/config.yaml", key: `exports.${contract}` }
  if ("file" in extractor) {
    const sub = changes[0]?.path ?? ""
    const key = [extractor.key ?? "", sub].filter((k) => k !== "").join(".")
    return key === "" ? { file: extractor.file } : { file: extractor.file, key }
  }
  if (!("pattern" in extractor)) return fallback
  const added = changes.filter((ch) =>
    ch.kind !== "removed" && typeof ch.value === "string" && Object.hasOwn(extractor.pattern.fields, ch.path)
  )
  if (added.length === 0) return fallback
  try {
    const files = globSync([...(extractor.pattern.files ?? sourceFiles)], {
      cwd: root,
      ignore: [".git/**", "node_modules/**", ".blue/**"]
    }).sort()
    for (const file of files) {
      const abs = nodePath.join(root, file)
      if (!isWithin(root, abs) || fs.statSync(abs, { throwIfNoEntry: false })?.isFile() !== true) continue
      const content = fs.readFileSync(abs, "utf8")
      for (const ch of added) {
        for (const m of content.matchAll(new RegExp(extractor.pattern.fields[ch.path]!, "gm"))) {
          if ((m.groups?.["value"] ?? m[1] ?? m[0]) === ch.value) return { file, ...positionOf(content, m.index) }
        }
      }
    }
  } catch {
    // the location is a courtesy: the finding stands without it
  }
  return fallback
}

/** --mode exporter: the value detected from code equals the contract's; exporter hooks pass. */
export const checkExporter = (
  member: Member,
  state: RealmState,
  options: CheckOptions,
  perFile?: (contract: string) => PerFile
): Effect.Effect<CheckReport, never, TrustStore | HookRunner | Extractors> =>
  Effect.gen(function*() {
    const repo = member.config.repo
    const findings: Array<Finding> = []
    const hooks: Array<HookResult> = []
    const owned = Object.entries(state.domains).flatMap(([domain, d]) =>
      Object.values(d.contracts).filter((c) => c.owner === repo).map((c) => ({ domain, c }))
    )
    if (owned.length === 0) {
      findings.push({ level: "warning", code: "no-exports", message: `${repo} owns no contracts in this realm` })
    }
    for (const { c, domain } of owned) {
      const extractor = member.config.exports?.[c.name]
      if (extractor === undefined) {
        findings.push({
          level: "warning",
          code: "no-extractor",
          contract: c.name,
          domain,
          message: `${c.name}: no extractor under exports.${c.name} in .blue/config.yaml, so code cannot be compared`
        })
      } else {
        const detected = yield* (yield* Extractors).detect({
          root: member.root,
          contract: c.name,
          extractor,
          sourceFiles: sourceFilesOf(state, repo, c.name),
          ...(perFile === undefined ? {} : { perFile: perFile(c.name) }),
          env: (yield* Invocation).env
        }).pipe(Effect.either)
        if (Either.isLeft(detected)) {
          findings.push({
            level: "error",
            code: "detect-failed",
            contract: c.name,
            domain,
            message: (detected.left as ExtractError).message
          })
        } else {
          const changes = diffValues(c.value, detected.right)
          if (changes.length === 0) {
            findings.push({
              level: "ok",
              code: "exporter-match",
              contract: c.name,
              domain,
              message: `${c.name}: code matches contract (v${c.version})`
            })
          } else {
            const bump = requiredBump(c.schema, c.schema, c.value, detected.right, c.compatibility)
            findings.push({
              level: "error",
              code: "exporter-drift",
              contract: c.name,
              domain,
              ...driftLocation(member.root, c.name, extractor, changes, sourceFilesOf(state, repo, c.name)),
              message: `${c.name}: code differs from contract v${c.version} (${
                changes.map((ch) => formatValueChange(ch, { withPath: true })).join("; ")
              }); publish it with 'blue realm export --name ${c.name} --detect' (a ${bump} bump)`
            })
          }
        }
      }
      const h = yield* runHooks(member, c, ["exporter"], options)
      findings.push(...h.findings)
      hooks.push(...h.results)
    }
    return report("exporter", findings, [], hooks)
  })

/** --mode importer: each import's range against the current version; importer hooks pass. */
export const checkImporter = (
  member: Member,
  state: RealmState,
  options: CheckOptions
): Effect.Effect<CheckReport, never, TrustStore | HookRunner | Workspace> =>
  Effect.gen(function*() {
    const workspace = yield* Workspace
    const repo = member.config.repo
    const findings: Array<Finding> = []
    const hooks: Array<HookResult> = []
    const imports = Object.entries(state.domains).flatMap(([domain, d]) =>
      (d.bindings[repo]?.imports ?? []).map((i) => ({ domain, i, c: d.contracts[i.contract] }))
    )
    if (imports.length === 0) {
      findings.push({ level: "warning", code: "no-imports", message: `${repo} imports no contracts in this realm` })
    }
    for (const { c, domain, i } of imports) {
      if (c === undefined) {
        findings.push({
          level: "error",
          code: "import-missing",
          contract: i.contract,
          domain,
          message: `${i.contract}: the contract no longer exists in domain '${domain}'`
        })
        continue
      }
      const standing = standingOf(i, c)
      const at = i.resolved_version ?? "unresolved"
      findings.push(
        standing === "current"
          ? {
            level: "ok",
            code: "import-current",
            contract: c.name,
            domain,
            message: `${c.name}: binding at ${at} (current)`
          }
          : standing === "stale"
          ? {
            level: "warning",
            code: "import-stale",
            contract: c.name,
            domain,
            message: `${c.name}: binding at ${at}, ${c.version} is available (your range ${i.version} still matches)`
          }
          : {
            level: "error",
            code: "import-broken",
            contract: c.name,
            domain,
            message: importStanding(i.version, i.resolved_version, c.version) === "broken" ||
                breakingSince(i, c) === undefined
              ? `${c.name}: the contract is at ${c.version}, outside your range ${i.version}`
              : `${c.name}: ${
                breakingSince(i, c)
              } changed the contract incompatibly since your binding at ${at} (your range ${i.version} still matches, but what you rely on may be gone); update the binding and re-run 'blue realm import'`
          }
      )
      if (i.binding !== undefined && (yield* workspace.kind(nodePath.join(member.root, i.binding))) === "missing") {
        findings.push({
          level: "warning",
          code: "binding-file-missing",
          contract: c.name,
          domain,
          file: i.binding,
          message: `${c.name}: binding file ${i.binding} does not exist in this repo`
        })
      }
      const h = yield* runHooks(member, c, ["importer"], options, i.binding)
      findings.push(...h.findings)
      hooks.push(...h.results)
    }
    return report("importer", findings, [], hooks)
  })

/**
 * --mode contract: every contract file in the realm checkout parses, its schema is valid, its value satisfies it,
 * its owner is the recorded one, and every version step (recorded or pending in the checkout) made a big enough
 * bump.
 */
export const checkContracts = (
  realmDir: string,
  state: RealmState,
  events: ReadonlyArray<{ readonly event: RealmEvent }>,
  /** validity already known for a recorded contract version (from the repo's contract cache) */
  known: (domain: string, contract: string, version: string) => ContractValidity | undefined = () => undefined,
  /** contract files already parsed (from the repo's contract cache) */
  parsedFiles: ReadonlyMap<string, ParsedContractFile> = new Map()
): CheckReport => {
  const findings: Array<Finding> = []
  const history = versionHistory(events)
  for (const [key, versions] of history) {
    for (let i = 1; i < versions.length; i++) {
      const a = versions[i - 1]!.contract
      const b = versions[i]!.contract
      const c = compareVersions(b.name, a, b, a.compatibility)
      if (!c.sufficient) findings.push({ ...compatibilityFinding(c), domain: key.split("/")[0]! })
      if (a.owner !== b.owner) {
        findings.push({
          level: "error",
          code: "owner-changed",
          contract: b.name,
          message: `${b.name}: owner changed from ${a.owner} to ${b.owner} at ${b.version}`
        })
      }
    }
  }
  for (const { domain, file } of contractFiles(realmDir)) {
    const parsed = parsedFiles.get(file) ?? (() => {
      const text = fs.readFileSync(nodePath.join(realmDir, file), "utf8")
      return recordedContractIn(state, domain, file, text) ?? parseContractFile(file, text)
    })()
    if ("invalid" in parsed) {
      const message = new FileInvalid({ file, path: parsed.invalid.path, detail: parsed.invalid.detail }).message
      findings.push({ level: "error", code: "file-invalid", domain, file, key: parsed.invalid.path, message })
      continue
    }
    const c = parsed.contract
    const recordedSame = canonicalJson(state.domains[domain]?.contracts[c.name]) === canonicalJson(c)
    const validity = (recordedSame ? known(domain, c.name, c.version) : undefined) ??
      validateContract(c.schema, c.value)
    if (validity._tag === "SchemaInvalid") {
      findings.push({
        level: "error",
        code: "schema-invalid",
        contract: c.name,
        domain,
        file,
        key: "schema",
        message: `${c.name}: invalid schema: ${validity.detail}`
      })
      continue
    }
    if (validity._tag === "ValueInvalid") {
      findings.push({
        level: "error",
        code: "value-invalid",
        contract: c.name,
        domain,
        file,
        key: validity.errors[0]?.split(" ")[0] ?? "value",
        message: `${c.name}: value does not satisfy its schema: ${validity.errors.join("; ")}`
      })
      continue
    }
    const recorded = state.domains[domain]?.contracts[c.name]
    if (recorded === undefined) {
      findings.push({
        level: "error",
        code: "unrecorded",
        contract: c.name,
        domain,
        file,
        message: `${file}: no Blue event published this contract`
      })
      continue
    }
    if (recorded.owner !== c.owner) {
      findings.push({
        level: "error",
        code: "owner-changed",
        contract: c.name,
        domain,
        file,
        message:
          `${c.name}: owner is ${c.owner} in ${file} but ${recorded.owner} in the realm log; only the owner may change it`
      })
      continue
    }
    if (bumpBetween(recorded.version, c.version) === undefined && semverValid(c.version)) {
      findings.push({
        level: "error",
        code: "version-backwards",
        contract: c.name,
        domain,
        file,
        key: "version",
        message:
          `${c.name}: version ${c.version} in ${file} is lower than ${recorded.version}, the version the realm log records; versions only move forward (set it back to ${recorded.version}, or publish a higher one with 'blue realm export')`
      })
      continue
    }
    if (canonicalJson(recorded) !== canonicalJson(c)) {
      const comparison = compareVersions(c.name, recorded, c, recorded.compatibility)
      findings.push(
        comparison.sufficient
          ? {
            level: "warning",
            code: "unpublished",
            contract: c.name,
            domain,
            file,
            message:
              `${c.name}: ${file} differs from the recorded v${recorded.version} (not yet published), bump ${comparison.made} OK`
          }
          : { ...compatibilityFinding(comparison), domain, file }
      )
      continue
    }
    findings.push({
      level: "ok",
      code: "contract-valid",
      contract: c.name,
      domain,
      file,
      message: `${c.name}: valid schema, version bump correct (v${c.version})`
    })
  }
  return report("contract", findings)
}

/** `r` with `extra` findings first (and its verdict recomputed). */
export const withFindings = (r: CheckReport, extra: ReadonlyArray<Finding>): CheckReport =>
  extra.length === 0 ? r : report(r.mode, [...extra, ...r.findings], r.compatibility, r.hooks)

/** The realm files in a checkout (relative paths, realm.yaml, repos/ and domains/ only; never opens non-files). */
const checkoutFiles = (realmDir: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const walk = (rel: string) => {
    let entries: Array<fs.Dirent>
    try {
      entries = fs.readdirSync(nodePath.join(realmDir, rel), { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) walk(p)
      else out.push(p)
    }
  }
  if (fs.existsSync(nodePath.join(realmDir, "realm.yaml"))) out.push("realm.yaml")
  walk("repos")
  walk("domains")
  return out
}

/**
 * The realm files other than contracts (realm.yaml, repos/*, domain.yaml, bindings) against what the realm's log
 * records: only blue commands write them, so a hand edit, a deleted or an added file (committed or not) is an
 * error naming the file. Contract files are checkContracts' (a pending contract edit may be legitimate). `clean`
 * says whether the whole checkout, contracts included, is exactly what the log records.
 */
export const checkRealmFiles = (
  realmDir: string,
  state: RealmState
): { readonly findings: ReadonlyArray<Finding>; readonly clean: boolean } => {
  const expected = renderAll(state)
  const present = new Set(checkoutFiles(realmDir).filter(isManagedPath))
  const findings: Array<Finding> = []
  let clean = true
  const fix = "blue commands write it; restore it with 'git checkout' in the realm, or see 'blue realm replay --verify'"
  for (const file of [...new Set([...expected.keys(), ...present])].sort()) {
    const want = expected.get(file)
    const full = nodePath.join(realmDir, file)
    const st = fs.statSync(full, { throwIfNoEntry: false })
    const have = st?.isFile() === true ? fs.readFileSync(full, "utf8") : undefined
    if (have === want) continue
    clean = false
    if (file.includes("/contracts/")) continue
    const message = want === undefined
      ? `${file}: no Blue event created this file; ${fix}`
      : have === undefined
      ? `${file}: missing from the realm checkout although the realm log records it; ${fix}`
      : `${file}: differs from what the realm log records (edited by hand?); ${fix}`
    findings.push({ level: "error", code: "file-differs", file, message })
  }
  return { findings, clean }
}

/** Reads a contract document or a bare JSON Schema from a file (for --old/--new). */
export const readSchemaDocument = (file: string) => {
  const raw = YAML.parse(fs.readFileSync(file, "utf8")) as unknown
  if (raw !== null && typeof raw === "object" && "schema" in raw && "version" in raw) {
    const c = raw as {
      name?: string
      version: string
      schema: unknown
      value?: unknown
      compatibility?: CompatibilityPromise
    }
    return {
      name: c.name,
      version: String(c.version),
      schema: c.schema,
      value: c.value,
      compatibility: c.compatibility
    }
  }
  return { name: undefined, version: undefined, schema: raw, value: undefined, compatibility: undefined }
}

/** --mode compatibility with --old/--new files (contract documents or bare schemas). */
export const checkFiles = (oldFile: string, newFile: string): CheckReport => {
  const a = readSchemaDocument(oldFile)
  const b = readSchemaDocument(newFile)
  const promise = a.compatibility ?? { backwards: true, forwards: false }
  const c = compareVersions(
    b.name ?? a.name ?? nodePath.basename(newFile),
    { ...(a.version === undefined ? {} : { version: a.version }), schema: a.schema, value: a.value },
    { ...(b.version === undefined ? {} : { version: b.version }), schema: b.schema, value: b.value },
    promise
  )
  return report("compatibility", [compatibilityFinding(c)], [c])
}

/** --mode compatibility --from/--to: two (or, transitively, all earlier) versions from the realm's history. */
export const checkHistory = (
  events: ReadonlyArray<{ readonly event: RealmEvent }>,
  contract: string,
  from: string | undefined,
  to: string | undefined,
  transitive: boolean
): CheckReport => {
  const matches = [...versionHistory(events).entries()].filter(([k]) => k.endsWith(`/${contract}`))
  if (matches.length !== 1) {
    return report("compatibility", [{
      level: "error",
      code: "contract-unknown",
      contract,
      message: matches.length === 0
        ? `no contract '${contract}' in the realm's history`
        : `contract '${contract}' exists in several domains; name one with --domain`
    }])
  }
  const versions = matches[0]![1].map((v) => v.contract)
  const find = (v: string) => versions.find((c) => c.version === v)
  const target = to === undefined ? versions.at(-1)! : find(to)
  const base = from === undefined ? versions.at(-2) : find(from)
  const known = versions.map((v) => v.version).join(", ")
  if (target === undefined || (from !== undefined && base === undefined)) {
    return report("compatibility", [{
      level: "error",
      code: "version-unknown",
      contract,
      message: `${contract} has no version ${target === undefined ? to : from} (known: ${known})`
    }])
  }
  if (base === undefined) {
    return report("compatibility", [{
      level: "ok",
      code: "single-version",
      contract,
      message: `${contract} has only one version (${target.version})`
    }])
  }
  const bases = transitive
    ? versions.filter((v) => v !== target && versions.indexOf(v) <= versions.indexOf(base))
    : [base]
  const comparisons = bases.map((b) => compareVersions(contract, b, target, b.compatibility))
  return report("compatibility", comparisons.map(compatibilityFinding), comparisons)
}

const actorRepo = (message: string): string | undefined => {
  const line = message.split("\n").find((l) => l.startsWith("Blue-Actor: "))
  if (line === undefined) return undefined
  const v = line.slice("Blue-Actor: ".length).trim()
  const m = /^([a-z0-9-]+) \(/.exec(v)
  return m?.[1]
}

/**
 * --mode realm: every commit only touches what its author may touch — Blue commits by their events (contracts
 * only by their owner, bindings only by their repo, and no file their events do not explain), hand-made commits by
 * the author's maintainer rights under trust.permissions.
 */
export const checkRealmCommits = (
  commits: ReadonlyArray<{
    readonly oid: string
    readonly message: string
    readonly author: { readonly name: string; readonly email: string }
    readonly changed: ReadonlyArray<string>
    readonly events: ReadonlyArray<Recorded>
  }>,
  since: RealmState = initialState
): CheckReport => {
  const findings: Array<Finding> = []
  let state = since
  for (const c of commits) {
    const short = c.oid.slice(0, 8)
    const events = c.events.map((r) => r.envelope.event)
    if (events.length === 0) {
      for (const path of c.changed) {
        if (!mayTouchPath(state, path, c.author.email)) {
          findings.push({
            level: "error",
            code: "permission-denied",
            commit: c.oid,
            file: path,
            message: `commit ${short} by ${c.author.email} changes ${path}, which its author may not touch`
          })
        }
      }
      continue
    }
    const actor = actorRepo(c.message)
    // The Blue-Actor line is only a claim: the commit's author must be one of that repo's maintainers.
    const allowed = mayAuthorFor(state, actor, events)
    const founding = events.some((e) => e._tag === "RealmInitialized") && state.realm === undefined
    if (!founding && !allowed.includes(c.author.email)) {
      findings.push({
        level: "error",
        code: "actor-not-author",
        commit: c.oid,
        message: `commit ${short} claims to act for ${actor ?? "the realm"} but its author ${c.author.email} is not ${
          actor === undefined ? "an approver or a maintainer of any member repo" : `a maintainer of ${actor}`
        }`
      })
    }
    const explained = new Set<string>()
    let s = state
    for (const r of c.events) {
      const problem = eventProblem(s, r.envelope.event, actor, events, c.author.email)
      if (problem !== undefined) {
        findings.push({
          level: "error",
          code: "event-not-allowed",
          commit: c.oid,
          message: `commit ${short}: ${r.envelope.type} ${problem}`
        })
      }
      for (const p of touchedPaths(s, r.envelope.event)) explained.add(p)
      explained.add(eventFilePath(r.envelope))
      s = foldEnvelopes(s, [r.envelope])
    }
    for (const path of c.changed) {
      if (!explained.has(path)) {
        findings.push({
          level: "error",
          code: "unexplained-change",
          commit: c.oid,
          file: path,
          message: `commit ${short} changes ${path}, which none of its events explains`
        })
      }
    }
    state = s
  }
  if (findings.length === 0) {
    findings.push({
      level: "ok",
      code: "realm-permissions",
      message: commits.length === 1
        ? "1 commit touches only what its author may touch"
        : `${commits.length} commits touch only what their authors may touch`
    })
  }
  return report("realm", findings)
}

/**
 * Validity of every recorded contract through the repo's contract cache. An entry is keyed by the contract's
 * version and stamped with the hash of its content (where the RFC stamps the realm commit): any change to the
 * contract invalidates it, while commits that do not touch it keep it warm.
 */
export const cachedValidity = (cache: RepoCacheService, state: RealmState) =>
  Effect.forEach(
    Object.entries(state.domains).flatMap(([domain, d]) => Object.values(d.contracts).map((c) => ({ domain, c }))),
    ({ c, domain }) =>
      cache.contractFor(
        domain,
        c.name,
        c.version,
        sha256(canonicalJson(c)),
        Effect.sync(() => validateContract(c.schema, c.value))
      ).pipe(
        Effect.map((v) => [`${domain}/${c.name}@${c.version}`, v as ContractValidity] as const),
        Effect.orElseSucceed(() => [`${domain}/${c.name}@${c.version}`, undefined] as const)
      )
  ).pipe(
    Effect.map((entries) => {
      const map = new Map(entries)
      return (domain: string, contract: string, version: string) => map.get(`${domain}/${contract}@${version}`)
    })
  )
