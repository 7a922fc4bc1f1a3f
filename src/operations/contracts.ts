/**
 * Exports and imports: the owner publishes a contract's new value/schema (the version follows from the change), a
 * consumer declares what range of a contract it imports. Arguments follow the draft RFC's `blue_realm_export`
 * and `blue_realm_import`.
 */
import { Effect, Schema } from "effect"
import * as YAML from "yaml"
import { standingOf } from "../domain/contracts.js"
import { MAX_DEPTH, nestedTooDeep, nonFiniteAt } from "../domain/limits.js"
import { cachedPerFile, sourceFilesOf } from "../engine/detect.js"
import { ExtractError, PathProblem } from "../engine/errors.js"
import { Invocation } from "../engine/invocation.js"
import { Extractors, RepoCaches, Workspace } from "../engine/ports.js"
import { Realms } from "../engine/Realms.js"
import { mirrorAfterSync } from "./forgeMirror.js"
import { argLabel, type At, operation, optionalBoolean, optionalString, resolveArgPath } from "./operation.js"
import { hereAsMember } from "./where.js"

/** The first line of a parser message without the YAML library's trailing location. */
const firstLine = (message: string) => message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").trim()

/** What a parsed document is, for messages. */
const kindOfJson = (raw: unknown) =>
  raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw === "object" ? "an object" : `a ${typeof raw}`

/**
 * Reads the JSON or YAML object in a file named by an argument: a regular UTF-8 file of at most MAX_FILE_BYTES
 * (a FIFO or a device is refused, not waited on), holding one object; every refusal names the file and argument.
 */
const readDocument = (at: At, file: string, argument: string) =>
  Effect.gen(function*() {
    const path = yield* resolveArgPath(at, argument, file)
    const label = `(${argLabel(at, argument)}) `
    const text = yield* Effect.flatMap(Workspace, (w) => w.readText(path, label))
    if (text.trim() === "") {
      return yield* new PathProblem({ path, detail: `${label}is empty; write a JSON or YAML object in it` })
    }
    const raw = yield* Effect.try({
      try: () => YAML.parse(text) as unknown,
      catch: (e) => new PathProblem({ path, detail: `${label}is not JSON or YAML: ${firstLine((e as Error).message)}` })
    })
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      return yield* new PathProblem({ path, detail: `${label}holds ${kindOfJson(raw)}, not a JSON or YAML object` })
    }
    if (nestedTooDeep(raw)) {
      return yield* new PathProblem({ path, detail: `${label}is nested deeper than ${MAX_DEPTH} levels` })
    }
    const infinite = nonFiniteAt(raw)
    if (infinite !== undefined) {
      return yield* new PathProblem({
        path,
        detail: `${label}has a number too large for JSON at ${infinite} (such as 1e999, read as Infinity)`
      })
    }
    return raw
  })

/** `blue_realm_export`: publish a contract this repo owns. */
export const exportContract = operation({
  tool: "blue_realm_export",
  description:
    "Declare or update an export: publish a new value (and/or schema) of a contract this repo owns. The version bump follows from the change (compatible → minor, breaking → major); the result lists the importers affected.",
  readOnly: false,
  args: Schema.Struct({
    name: Schema.String.annotations({ description: "Export name: the contract to publish" }),
    version: optionalString("Semantic version to set by hand (must be at least the bump the change needs)"),
    value: Schema.optional(Schema.Unknown.annotations({ description: "The new value (any JSON)" })),
    file: optionalString("Read the new value from this JSON/YAML file instead"),
    detect: optionalBoolean("Auto-detect the value from code with the extractor in .blue/config.yaml"),
    domain: optionalString(
      "The contract's domain, when the name is ambiguous; or a domain this repo provides, to declare a new contract there"
    ),
    schema: optionalString("A JSON/YAML file with the contract's new JSON Schema"),
    validation: optionalString("A JSON/YAML file with the contract's validation hooks {exporter, importer, ci_only}"),
    source_files: Schema.optional(
      Schema.Array(Schema.String).annotations({
        description: "Globs of the files the export comes from (recorded in the binding)"
      })
    ),
    no_cache: optionalBoolean("Detect without .blue/cache.db")
  }),
  run: (o, at) =>
    Effect.scoped(Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* hereAsMember(at.cwd)
      const given = [o.value !== undefined, o.file !== undefined, o.detect === true].filter(Boolean).length
      if (given > 1) {
        return yield* new PathProblem({
          path: ["value", "file", "detect"].map((a) => argLabel(at, a)).join("/"),
          detail: "give only one source for the value"
        })
      }
      if (o.value !== undefined && (o.value === null || typeof o.value !== "object" || Array.isArray(o.value))) {
        return yield* new PathProblem({
          path: argLabel(at, "value"),
          detail: `is ${kindOfJson(o.value)}; a contract's value is a JSON object`
        })
      }
      // Files named by arguments are read inside this repo only, as the MCP server's are.
      const inRepo: At = { ...at, confine: at.confine ?? h.member.root }
      let value: unknown = o.value
      if (o.file !== undefined) value = yield* readDocument(inRepo, o.file, "file")
      const open = yield* realms.open(h.realmDir)
      if (o.detect === true) {
        const extractor = h.member.config.exports?.[o.name]
        if (extractor === undefined) {
          return yield* new ExtractError({
            contract: o.name,
            detail: `${h.member.root}/.blue/config.yaml declares no extractor under exports.${o.name}`
          })
        }
        const cache = yield* Effect.flatMap(RepoCaches, (c) => c.open(h.member.root, { bypass: o.no_cache ?? false }))
        const env = (yield* Invocation).env
        value = yield* Effect.flatMap(Extractors, (x) =>
          x.detect({
            root: h.member.root,
            contract: o.name,
            extractor,
            sourceFiles: o.source_files ?? sourceFilesOf(open.state, h.member.config.repo, o.name),
            perFile: cachedPerFile(cache, h.member)(o.name),
            env
          }))
      }
      const schema = o.schema === undefined ? undefined : yield* readDocument(inRepo, o.schema, "schema")
      const validation = o.validation === undefined
        ? undefined
        : yield* readDocument(inRepo, o.validation, "validation")
      const out = yield* realms.execute(h.realmDir, {
        _tag: "PublishContract",
        contract: o.name,
        ...(o.domain === undefined ? {} : { domain: o.domain }),
        ...(schema === undefined ? {} : { schema }),
        ...(validation === undefined ? {} : { validation }),
        ...(value === undefined ? {} : { value }),
        ...(o.version === undefined ? {} : { version: o.version }),
        ...(o.source_files === undefined ? {} : { sourceFiles: o.source_files })
      }, h.actor)
      const published = out.events.find((e) => e.type === "ContractBumped" || e.type === "ContractPublished")
      // A change that affects importers is a proposal on its sync branch, not a bump on main (SPEC §2.4).
      const proposed = out.events.find((e) => e.type === "ProposalOpened" || e.type === "ProposalAmended")
      const proposal = proposed === undefined
        ? undefined
        : (out.state.proposals ?? {})[(proposed.event as { id: string }).id]
      if (proposal !== undefined && proposed !== undefined) {
        // The realm's forge, when it has one, mirrors the proposal (docs/forges.md "The mirror").
        yield* mirrorAfterSync(h.realmDir)
        return {
          realm: out.realm,
          contract: o.name,
          domain: proposal.domain,
          changed: true,
          from: proposal.from,
          version: proposal.to,
          bump: proposal.bump,
          compatible: !proposal.breaking,
          changes: proposal.changes,
          importers: Object.values(out.state.domains[proposal.domain]!.bindings).flatMap((b) =>
            (b.imports ?? []).filter((i) => i.contract === o.name).map((i) => ({
              repo: b.repo,
              range: i.version,
              standing: standingOf(i, proposal.proposed)
            }))
          ),
          proposal: {
            id: proposal.id,
            branch: proposal.branch,
            outcome: proposed.type === "ProposalOpened" ? "opened" : "amended",
            reviewers: proposal.reviewers,
            deadline: proposal.deadline
          },
          commit: out.commit
        }
      }
      const domain = published === undefined
        ? Object.entries(out.state.domains).find(([d, s]) =>
          s.contracts[o.name] !== undefined && (o.domain === undefined || o.domain === d)
        )?.[0]
        : (published.event as { domain: string }).domain
      const after = domain === undefined ? undefined : out.state.domains[domain]?.contracts[o.name]
      const entry = after?.evolution.at(-1)
      // Re-exporting what an open proposal carries (a re-run after a kill) brings its forge mirror level too.
      if (Object.values(out.state.proposals ?? {}).some((p) => p.status === "open" && p.contract === o.name)) {
        yield* mirrorAfterSync(h.realmDir)
      }
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
              standing: standingOf(i, after)
            }))
          ),
        proposal: null,
        commit: published === undefined ? null : out.commit
      }
    })),
  summary: (r) =>
    r.proposal !== null
      ? [
        `📤 Contract ${r.contract}: ${r.from} → ${r.version} (${r.bump}, ${r.compatible ? "compatible" : "BREAKING"}) ${
          r.proposal.outcome === "opened" ? "proposed" : "proposal updated"
        } on ${r.proposal.branch}`,
        ...r.changes.map((c) => `  ${c}`),
        `✓ Proposal ${r.proposal.id}: it merges once its importers acknowledge (or its grace period ends for a compatible change); 'blue realm sync' merges it when ready`,
        ...(r.importers.length === 0 ? [] : ["Importers:"]),
        ...r.importers.map((i) => `  - ${i.repo} (imports ${i.range}): ${i.standing}`)
      ].join("\n")
      : !r.changed
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
})

/** `blue_realm_import`: declare that this repo imports a contract (a semver range). */
export const importContract = operation({
  tool: "blue_realm_import",
  description:
    "Declare an import dependency on a contract: a semver range this repo accepts; the result says whether it is current, stale or broken.",
  readOnly: false,
  args: Schema.Struct({
    contract: Schema.String.annotations({ description: "Contract name" }),
    domain: Schema.String.annotations({ description: "Domain containing the contract" }),
    version: Schema.String.annotations({
      description: "Version requirement (semver range, e.g. ^1.0.0 or \">=1.0.0, <2.0.0\")"
    }),
    binding: optionalString("Local file that uses this import (e.g. cdk/stack.py), relative to the repo")
  }),
  run: (o, at) =>
    Effect.gen(function*() {
      const realms = yield* Realms
      const h = yield* hereAsMember(at.cwd)
      if (o.binding !== undefined) {
        // A binding names a file of this repo (relative to its root), wherever the command runs.
        const inRepo = { ...at, cwd: h.member.root, confine: h.member.root }
        if (o.binding.trim() === "") {
          return yield* new PathProblem({
            path: argLabel(at, "binding"),
            detail: "is empty; name the file of this repo that uses the import"
          })
        }
        const path = yield* resolveArgPath(inRepo, "binding", o.binding)
        const kind = yield* Effect.flatMap(Workspace, (w) => w.kind(path))
        if (kind === "missing") {
          return yield* new PathProblem({ path, detail: `(${argLabel(at, "binding")}) does not exist in this repo` })
        }
        if (kind !== "file") {
          return yield* new PathProblem({
            path,
            detail: `(${argLabel(at, "binding")}) is not a regular file; name the file that uses the import`
          })
        }
      }
      const out = yield* realms.execute(h.realmDir, {
        _tag: "DeclareImport",
        contract: o.contract,
        domain: o.domain,
        version: o.version,
        ...(o.binding === undefined ? {} : { binding: o.binding })
      }, h.actor)
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
  summary: (r) =>
    r.status === "broken"
      ? `⚠️  ${r.repo} imports ${r.contract} ${r.range} from '${r.domain}', but the contract is at ${r.current}: the import is broken until the range or the contract changes`
      : `✓ ${r.repo} imports ${r.contract} ${r.range} from domain '${r.domain}' (resolved ${r.resolved_version}, current)`
})
