/**
 * Validation of a contract's JSON Schema and of its value under it (ajv; draft-07 by default, 2019-09 and
 * 2020-12 when the schema's `$schema` says so). Pure: compiles in memory, no IO.
 */
import Ajv from "ajv"
import addFormats from "ajv-formats"
import Ajv2019 from "ajv/dist/2019.js"
import Ajv2020 from "ajv/dist/2020.js"

type AnyAjv = { compile: (schema: object) => any; errorsText: (errors: unknown) => string }

const makers: Record<string, () => AnyAjv> = {
  "07": () => (addFormats as any)(new (Ajv as any)({ allErrors: true, strict: false })),
  "2019": () => (addFormats as any)(new (Ajv2019 as any)({ allErrors: true, strict: false })),
  "2020": () => (addFormats as any)(new (Ajv2020 as any)({ allErrors: true, strict: false }))
}
const instances = new Map<string, AnyAjv>()
const ajvFor = (schema: unknown): AnyAjv => {
  const dialect = typeof schema === "object" && schema !== null ? String((schema as any).$schema ?? "") : ""
  const key = dialect.includes("2020-12") ? "2020" : dialect.includes("2019-09") ? "2019" : "07"
  let ajv = instances.get(key)
  if (ajv === undefined) instances.set(key, ajv = makers[key]!())
  return ajv
}

/** The outcome of validating a contract document. */
export type ContractValidity =
  | { readonly _tag: "Valid" }
  | { readonly _tag: "SchemaInvalid"; readonly detail: string }
  | { readonly _tag: "ValueInvalid"; readonly errors: ReadonlyArray<string> }

// Compiled validators by schema text: realms repeat the same schema across many contracts and versions.
const compiled = new Map<string, any>()

/** Checks that `schema` is a valid JSON Schema and that `value` satisfies it. */
export const validateContract = (schema: unknown, value: unknown): ContractValidity => {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return { _tag: "SchemaInvalid", detail: "the schema must be a JSON Schema object" }
  }
  const key = JSON.stringify(schema)
  let validate = compiled.get(key)
  if (validate === undefined) {
    try {
      validate = ajvFor(schema).compile(schema)
    } catch (e) {
      return { _tag: "SchemaInvalid", detail: e instanceof Error ? e.message : String(e) }
    }
    if (compiled.size > 1000) compiled.clear()
    compiled.set(key, validate)
  }
  if (validate(value)) return { _tag: "Valid" }
  const errors = (validate.errors ?? []).map((
    e: { instancePath: string; message?: string; params?: { additionalProperty?: string } }
  ) =>
    `${e.instancePath === "" ? "value" : `value${e.instancePath.replace(/\//g, ".")}`} ${e.message ?? "is invalid"}${
      e.params?.additionalProperty === undefined ? "" : ` ('${e.params.additionalProperty}')`
    }`
  )
  return { _tag: "ValueInvalid", errors }
}
