/**
 * `blue realm export` and `blue realm import`: the owner publishes a contract's new value/schema (the version
 * follows from the change), a consumer declares what range of a contract it imports.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as nodePath from "node:path"
import * as YAML from "yaml"
import { makeRepoCache } from "../adapters/cache.js"
import { PathProblem } from "../adapters/errors.js"
import { ExtractError } from "../adapters/extract.js"
import { detect } from "../adapters/extract.js"
import { importStanding } from "../domain/contracts.js"
import { cachedPerFile, sourceFilesOf } from "../engine/detect.js"
import { Realms } from "../engine/Realms.js"
import { hereAsMember } from "./context.js"
import { nudgeDaemon } from "./nudge.js"
import { present } from "./output.js"

/** The first line of a parser message without the YAML library's trailing location. */
const firstLine = (message: string) => message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").trim()

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))

/** Reads a JSON or YAML document from a file given on the command line. */
const readDocument = (file: string, option: string) =>
  Effect.try({
    try: () => YAML.parse(fs.readFileSync(nodePath.resolve(file), "utf8")) as unknown,
    catch: (e) =>
      new PathProblem({
        path: nodePath.resolve(file),
        detail: `(${option}) ${
          (e as NodeJS.ErrnoException).code === "ENOENT"
            ? "does not exist"
            : `is not JSON or YAML: ${firstLine((e as Error).message)}`
        }`
      })
  })

const requireMember = hereAsMember()

// blue realm export
export const exportCommand = Command.make(
  "export",
  {
    name: Options.text("name").pipe(Options.withDescription("the contract to publish")),
    domain: Options.text("domain").pipe(
      Options.withDescription("its domain, when the name is ambiguous"),
      Options.optional
    ),
    value: Options.text("value").pipe(Options.withDescription("the new value as JSON"), Options.optional),
    file: Options.text("file").pipe(
      Options.withDescription("read the new value from a JSON/YAML file"),
      Options.optional
    ),
    detect: Options.boolean("detect").pipe(
      Options.withDescription("detect the value from code with the extractor in .blue/config.yaml")
    ),
    schema: Options.text("schema").pipe(
      Options.withDescription("a JSON/YAML file with the new JSON Schema"),
      Options.optional
    ),
    validation: Options.text("validation").pipe(
      Options.withDescription("a JSON/YAML file with the contract's validation hooks {exporter, importer, ci_only}"),
      Options.optional
    ),
    version: Options.text("version").pipe(
      Options.withDescription("set the version by hand (must be at least the bump the change needs)"),
      Options.optional
    ),
    noCache: Options.boolean("no-cache").pipe(Options.withDescription("detect without .blue/cache.db")),
    sourceFiles: Options.text("source-files").pipe(
      Options.withDescription("comma-separated globs of the files the export comes from (recorded in the binding)"),
      Options.optional
    ),
    json
  },
  (o) =>
    present(
      o.json,
      Effect.scoped(Effect.gen(function*() {
        const realms = yield* Realms
        const h = yield* requireMember
        const given = [Option.isSome(o.value), Option.isSome(o.file), o.detect].filter(Boolean).length
        if (given > 1) {
          return yield* new PathProblem({
            path: "--value/--file/--detect",
            detail: "give only one source for the value"
          })
        }
        let value: unknown = undefined
        if (Option.isSome(o.value)) {
          const text = o.value.value
          value = yield* Effect.try({
            try: () => JSON.parse(text) as unknown,
            catch: (e) => new PathProblem({ path: "--value", detail: `is not JSON: ${(e as Error).message}` })
          })
        }
        if (Option.isSome(o.file)) value = yield* readDocument(o.file.value, "--file")
        const open = yield* realms.open(h.realmDir)
        const sourceFiles = Option.map(o.sourceFiles, (s) => s.split(",").map((x) => x.trim()).filter((x) => x !== ""))
        if (o.detect) {
          const extractor = h.member.config.exports?.[o.name]
          if (extractor === undefined) {
            return yield* new ExtractError({
              contract: o.name,
              detail: `${h.member.root}/.blue/config.yaml declares no extractor under exports.${o.name}`
            })
          }
          const cache = yield* makeRepoCache(h.member.root, { bypass: o.noCache })
          value = yield* detect({
            root: h.member.root,
            contract: o.name,
            extractor,
            sourceFiles: Option.getOrElse(sourceFiles, () => sourceFilesOf(open.state, h.member.config.repo, o.name)),
            perFile: cachedPerFile(cache, h.member)(o.name)
          })
        }
        const schema = Option.isSome(o.schema) ? yield* readDocument(o.schema.value, "--schema") : undefined
        const validation = Option.isSome(o.validation)
          ? yield* readDocument(o.validation.value, "--validation")
          : undefined
        const out = yield* realms.execute(h.realmDir, {
          _tag: "PublishContract",
          contract: o.name,
          ...(Option.isSome(o.domain) ? { domain: o.domain.value } : {}),
          ...(schema === undefined ? {} : { schema }),
          ...(validation === undefined ? {} : { validation }),
          ...(value === undefined ? {} : { value }),
          ...(Option.isSome(o.version) ? { version: o.version.value } : {}),
          ...(Option.isSome(sourceFiles) ? { sourceFiles: sourceFiles.value } : {})
        }, h.actor)
        yield* nudgeDaemon(out.realm)
        const published = out.events.find((e) => e.type === "ContractBumped" || e.type === "ContractPublished")
        const domain = published === undefined
          ? Object.entries(out.state.domains).find(([d, s]) =>
            s.contracts[o.name] !== undefined && (Option.isNone(o.domain) || o.domain.value === d)
          )?.[0]
          : (published.event as { domain: string }).domain
        const after = domain === undefined ? undefined : out.state.domains[domain]?.contracts[o.name]
        const entry = after?.evolution.at(-1)
        return {
          realm: out.realm,
          contract: o.name,
          domain: domain ?? null,
          changed: published !== undefined,
          from: published?.event._tag === "ContractBumped" ? published.event.from : after?.version ?? null,
          version: after?.version ?? null,
          bump: published?.event._tag === "ContractBumped"
            ? published.event.bump
            : published === undefined
            ? "none"
            : "initial",
          compatible: entry?.compatible ?? true,
          changes: entry?.changes ?? [],
          importers: domain === undefined || after === undefined
            ? []
            : Object.values(out.state.domains[domain]!.bindings).flatMap((b) =>
              (b.imports ?? []).filter((i) => i.contract === o.name).map((i) => ({
                repo: b.repo,
                range: i.version,
                standing: entry?.compatible === false &&
                    importStanding(i.version, i.resolved_version, after.version) !== "broken"
                  ? "broken"
                  : importStanding(i.version, i.resolved_version, after.version)
              }))
            ),
          commit: published === undefined ? null : out.commit
        }
      })),
      (r) =>
        !r.changed
          ? `✓ ${r.contract}: code matches the contract (v${r.version ?? "?"}); nothing to publish`
          : [
            r.bump === "initial"
              ? `📤 Published ${r.contract} ${r.version} in domain '${r.domain}'`
              : `📤 Contract ${r.contract}: ${r.from} → ${r.version} (${r.bump}, ${
                r.compatible ? "compatible" : "BREAKING"
              })`,
            ...r.changes.map((c) => `  ${c}`),
            ...(r.importers.length === 0 ? [] : ["Importers:"]),
            ...r.importers.map((i) => `  - ${i.repo} (imports ${i.range}): ${i.standing}`)
          ].join("\n")
    )
).pipe(Command.withDescription("Publish a new value/schema of a contract this repo owns (version from the change)"))

// blue realm import
export const importCommand = Command.make(
  "import",
  {
    contract: Options.text("contract").pipe(Options.withDescription("the contract to import")),
    domain: Options.text("domain").pipe(Options.withDescription("the domain that holds it")),
    version: Options.text("version").pipe(Options.withDescription("semver range, e.g. ^1.0.0 or \">=1.0.0, <2.0.0\"")),
    binding: Options.text("binding").pipe(
      Options.withDescription("the local file that implements the import (e.g. cdk/stack.py)"),
      Options.optional
    ),
    json
  },
  (o) =>
    present(
      o.json,
      Effect.gen(function*() {
        const realms = yield* Realms
        const h = yield* requireMember
        if (Option.isSome(o.binding) && !fs.existsSync(nodePath.resolve(h.member.root, o.binding.value))) {
          return yield* new PathProblem({
            path: nodePath.resolve(h.member.root, o.binding.value),
            detail: "(--binding) does not exist in this repo"
          })
        }
        const out = yield* realms.execute(h.realmDir, {
          _tag: "DeclareImport",
          contract: o.contract,
          domain: o.domain,
          version: o.version,
          ...(Option.isSome(o.binding) ? { binding: o.binding.value } : {})
        }, h.actor)
        yield* nudgeDaemon(out.realm)
        const b = out.state.domains[o.domain]!.bindings[h.member.config.repo]!
        const entry = b.imports!.find((i) => i.contract === o.contract)!
        const current = out.state.domains[o.domain]!.contracts[o.contract]!.version
        return {
          realm: out.realm,
          repo: b.repo,
          domain: o.domain,
          contract: o.contract,
          range: entry.version,
          current,
          status: entry.status,
          resolved_version: entry.resolved_version ?? null,
          commit: out.commit
        }
      }),
      (r) =>
        r.status === "broken"
          ? `⚠️  ${r.repo} imports ${r.contract} ${r.range} from '${r.domain}', but the contract is at ${r.current}: the import is broken until the range or the contract changes`
          : `✓ ${r.repo} imports ${r.contract} ${r.range} from domain '${r.domain}' (resolved ${r.resolved_version}, current)`
    )
).pipe(Command.withDescription("Declare that this repo imports a contract (a semver range)"))
