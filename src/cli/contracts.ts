/**
 * `blue realm export` and `blue realm import` on the command line: the options, gathered into the operations'
 * arguments (src/operations/contracts.ts).
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { PathProblem } from "../engine/errors.js"
import { exportContract, importContract } from "../operations/contracts.js"
import { given, present, presentOperation } from "./output.js"

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))

/** --value is JSON text; the operation takes the value itself. */
const parseValue = (text: Option.Option<string>): Effect.Effect<unknown, PathProblem> =>
  Option.isNone(text) ? Effect.succeed(undefined) : Effect.try({
    try: () => JSON.parse(text.value) as unknown,
    catch: (e) => {
      const reason = (e as Error).message
      return new PathProblem({
        path: "--value",
        detail: text.value.trim() === ""
          ? "is empty; give the new value as a JSON object, e.g. --value '{\"paths\": []}'"
          : `is not JSON (${reason.charAt(0).toLowerCase()}${reason.slice(1)})`
      })
    }
  })

// blue realm export
export const exportCommand = Command.make(
  "export",
  {
    name: Options.text("name").pipe(Options.withDescription("the contract to publish")),
    domain: Options.text("domain").pipe(
      Options.withDescription(
        "its domain, when the name is ambiguous; a domain this repo provides, to declare a new contract"
      ),
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
    parseValue(o.value).pipe(
      Effect.matchEffect({
        onFailure: (e) => present(o.json, Effect.fail(e), () => ""),
        onSuccess: (value) =>
          presentOperation(exportContract, o.json, {
            name: o.name,
            version: given(o.version),
            value,
            file: given(o.file),
            detect: o.detect,
            domain: given(o.domain),
            schema: given(o.schema),
            validation: given(o.validation),
            source_files: given(
              Option.map(o.sourceFiles, (s) => s.split(",").map((x) => x.trim()).filter((x) => x !== ""))
            ),
            no_cache: o.noCache
          })
      })
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
    presentOperation(importContract, o.json, {
      contract: o.contract,
      domain: o.domain,
      version: o.version,
      binding: given(o.binding)
    })
).pipe(Command.withDescription("Declare that this repo imports a contract (a semver range)"))
