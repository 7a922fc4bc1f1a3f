/**
 * Request and response validation for the forge fakes, against the forges' own API documents: Forgejo's swagger 2.0
 * (`../shared/data/forgejo-swagger.json`) and GitHub's OpenAPI 3.0 (`@octokit/openapi`). The route, its path and
 * query parameters (names the operation does not declare are violations: a real server ignores them silently, which
 * hides a client bug), the JSON body (with unknown top-level fields refused for the same reason) and every answer
 * the fake gives (status documented for the operation, body valid under its schema). `$ref`s are resolved by ajv
 * against the document's own definitions/components. `fill` builds an answer that satisfies a schema's required
 * fields around the data a fake cares about (GitHub's objects have dozens of required fields).
 */
import Ajv from "ajv"

type Json = any
type ValidateFunction = ((data: unknown) => boolean) & {
  errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> | null
}

/** One operation of the document. */
export interface ApiOperation {
  readonly method: string
  readonly template: string
  readonly operationId: string
  readonly params: Record<string, string>
}

interface Route {
  readonly method: string
  readonly template: string
  readonly regex: RegExp
  readonly names: ReadonlyArray<string>
  readonly literals: number
  readonly op: Json
}

/** A checker over one API document. */
export interface ApiChecker {
  /** The operation a request reaches, or undefined when the document has no such route. */
  readonly match: (method: string, path: string) => ApiOperation | undefined
  /** What is wrong with a request (empty when it is valid). */
  readonly checkRequest: (
    op: ApiOperation,
    query: URLSearchParams,
    body: unknown,
    hasBody: boolean
  ) => ReadonlyArray<string>
  /** What is wrong with an answer (empty when it is valid). */
  readonly checkResponse: (op: ApiOperation, status: number, body: unknown) => ReadonlyArray<string>
  /** An answer for `op`/`status` satisfying its schema, with `data`'s fields. */
  readonly fill: (op: ApiOperation, status: number, data: unknown) => unknown
}

/** `nullable` / `x-nullable` as JSON Schema, refs left as they are (the document's own root). */
const rebaseLocal = (schema: Json): Json => {
  if (Array.isArray(schema)) return schema.map(rebaseLocal)
  if (schema === null || typeof schema !== "object") return schema
  const out: Json = {}
  for (const [k, v] of Object.entries(schema)) {
    if (k !== "nullable" && k !== "x-nullable") out[k] = k === "properties" ? mapValues(v, rebaseLocal) : rebaseLocal(v)
  }
  return schema.nullable === true || schema["x-nullable"] === true ? { anyOf: [out, { type: "null" }] } : out
}
const mapValues = (o: Json, f: (v: Json) => Json): Json =>
  Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k, f(v)]))

/** Builds a checker; `basePath` is where the API's paths start in request URLs (e.g. "/api/v1"). */
export const makeApiChecker = (doc: Json, basePath: string): ApiChecker => {
  const v3 = typeof doc.openapi === "string"
  const ajv: Json = new (Ajv as Json)({ strict: false, validateFormats: false, allErrors: true })
  ajv.addSchema(
    v3
      ? { components: { schemas: rebaseLocal(doc.components.schemas) } }
      : { definitions: rebaseLocal(doc.definitions) },
    "api"
  )

  const resolve = (node: Json): Json => {
    let n = node
    for (let i = 0; i < 10 && n !== undefined && typeof n.$ref === "string"; i++) {
      n = n.$ref.slice(2).split("/").reduce((o: Json, k: string) => o?.[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc)
    }
    return n
  }
  /** A schema from the document made self-contained for ajv (its refs point into "api"). */
  const rebase = (schema: Json): Json => {
    if (Array.isArray(schema)) return schema.map(rebase)
    if (schema === null || typeof schema !== "object") return schema
    const out: Json = {}
    for (const [k, v] of Object.entries(schema)) {
      if (k === "nullable" || k === "x-nullable") continue
      out[k] = k === "$ref" && typeof v === "string" && v.startsWith("#/") ? `api${v}` : rebase(v)
    }
    // OpenAPI 3.0's `nullable` (and swagger's `x-nullable`) as plain JSON Schema.
    return schema.nullable === true || schema["x-nullable"] === true ? { anyOf: [out, { type: "null" }] } : out
  }

  const routes: Array<Route> = []
  for (const [template, item] of Object.entries<Json>(doc.paths)) {
    const names: Array<string> = []
    const segments = template.split("/").filter((s) => s !== "")
    const parts = segments.map((s, i) => {
      const m = /^\{(.+)\}$/.exec(s)
      if (m === null) return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      names.push(m[1]!)
      // Forgejo's `pulls/{base}/{head}` is routed as `{base}/*`: the head may hold slashes.
      return i === segments.length - 1 && m[1] === "head" ? "(.+)" : "([^/]+)"
    })
    for (const [method, op] of Object.entries<Json>(item)) {
      if (method === "parameters") continue
      routes.push({
        method: method.toUpperCase(),
        template,
        regex: new RegExp(`^${basePath}/${parts.join("/")}/?$`),
        names,
        literals: segments.filter((s) => !s.startsWith("{")).length,
        op: { ...op, parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])].map(resolve) }
      })
    }
  }
  routes.sort((a, b) => b.literals - a.literals)

  const compiled = new Map<string, ValidateFunction>()
  const validator = (key: string, schema: Json) => {
    const known = compiled.get(key)
    if (known !== undefined) return known
    const v: ValidateFunction = ajv.compile(rebase(schema))
    compiled.set(key, v)
    return v
  }
  const errorsOf = (v: ValidateFunction, where: string) =>
    (v.errors ?? []).slice(0, 5).map((e) =>
      `${where}${e.instancePath} ${e.message ?? "is invalid"}${
        e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""
      }`
    )

  const routeOf = (op: ApiOperation) => routes.find((r) => r.method === op.method && r.template === op.template)!

  const paramSchema = (p: Json): Json => {
    if (v3) return p.schema ?? {}
    const s: Json = { type: p.type }
    if (p.enum !== undefined) s.enum = p.enum
    if (p.items !== undefined) s.items = p.items
    return s
  }
  const coerce = (schema: Json, raw: string): unknown => {
    const t = Array.isArray(schema.type) ? schema.type[0] : schema.type
    if (t === "integer" || t === "number") return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw
    if (t === "boolean") return raw === "true" ? true : raw === "false" ? false : raw
    if (t === "array") return raw.split(",")
    return raw
  }

  const requestSchema = (route: Route): Json | undefined => {
    if (v3) return route.op.requestBody === undefined ? undefined : resolve(route.op.requestBody)
    const p = route.op.parameters.find((x: Json) => x.in === "body")
    return p === undefined ? undefined : { required: p.required === true, content: { "application/json": p } }
  }

  const responseSchema = (route: Route, status: number): { documented: boolean; schema: Json | undefined } => {
    const r = route.op.responses?.[String(status)] ?? route.op.responses?.default
    if (r === undefined) return { documented: false, schema: undefined }
    const res = resolve(r)
    return { documented: true, schema: v3 ? res?.content?.["application/json"]?.schema : res?.schema }
  }

  const sample = (schema: Json, depth = 0): unknown => {
    const s = resolve(schema)
    if (s === undefined || depth > 12) return null
    if (s.nullable === true || s["x-nullable"] === true) return null
    if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map((x: Json) => sample(x, depth + 1)))
    if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) return sample((s.oneOf ?? s.anyOf)[0], depth + 1)
    if (s.enum !== undefined) return s.enum[0]
    const t = Array.isArray(s.type) ? s.type.find((x: string) => x !== "null") : s.type
    switch (t) {
      case "object": {
        const out: Record<string, unknown> = {}
        for (const k of s.required ?? []) out[k] = sample(s.properties?.[k] ?? {}, depth + 1)
        return out
      }
      case "array":
        return []
      case "integer":
      case "number":
        return s.minimum ?? 0
      case "boolean":
        return false
      case "string":
        return s.format === "date-time" ? "2026-01-01T00:00:00Z" : s.format === "uri" ? "https://fake.invalid/" : ""
      default:
        return s.properties !== undefined ? sample({ ...s, type: "object" }, depth) : null
    }
  }
  const propertyOf = (schema: Json, key: string): Json => {
    const s = resolve(schema)
    if (s === undefined) return undefined
    if (s.properties?.[key] !== undefined) return s.properties[key]
    for (const sub of [...(s.allOf ?? []), ...(s.oneOf ?? []).slice(0, 1), ...(s.anyOf ?? []).slice(0, 1)]) {
      const p = propertyOf(sub, key)
      if (p !== undefined) return p
    }
    return undefined
  }
  const fillSchema = (schema: Json, data: unknown, depth = 0): unknown => {
    if (data === null || data === undefined || typeof data !== "object" || depth > 12) return data
    const s = resolve(schema)
    if (Array.isArray(data)) {
      const items = s?.items ?? (s?.oneOf ?? s?.anyOf)?.find((x: Json) => resolve(x)?.items)?.items
      return data.map((d) => fillSchema(items, d, depth + 1))
    }
    const base = s === undefined ? {} : (sample({ ...s, nullable: false, "x-nullable": false }, depth) ?? {})
    const out: Record<string, unknown> = typeof base === "object" && !Array.isArray(base) ? { ...base } : {}
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      out[k] = fillSchema(propertyOf(s, k), v, depth + 1)
    }
    return out
  }

  return {
    match: (method, path) => {
      for (const r of routes) {
        if (r.method !== method) continue
        const m = r.regex.exec(path)
        if (m === null) continue
        const params: Record<string, string> = {}
        r.names.forEach((n, i) => {
          params[n] = decodeURIComponent(m[i + 1]!)
        })
        return { method, template: r.template, operationId: r.op.operationId, params }
      }
      return undefined
    },
    checkRequest: (op, query, body, hasBody) => {
      const route = routeOf(op)
      const problems: Array<string> = []
      const declared = route.op.parameters as Array<Json>
      for (const p of declared) {
        if (p.in === "path") {
          const v = validator(`${op.method} ${op.template} path ${p.name}`, paramSchema(p))
          const value = coerce(paramSchema(p), op.params[p.name] ?? "")
          if (!v(value)) problems.push(...errorsOf(v, `path parameter ${p.name}`))
        }
        if (p.in === "query") {
          const raw = query.get(p.name)
          if (raw === null) {
            if (p.required === true) problems.push(`query parameter ${p.name} is required`)
            continue
          }
          const v = validator(`${op.method} ${op.template} query ${p.name}`, paramSchema(p))
          if (!v(coerce(paramSchema(p), raw))) problems.push(...errorsOf(v, `query parameter ${p.name}`))
        }
      }
      for (const name of new Set(query.keys())) {
        if (!declared.some((p) => p.in === "query" && p.name === name)) {
          problems.push(`query parameter ${name} is not declared for ${op.operationId}`)
        }
      }
      const rb = requestSchema(route)
      if (rb === undefined) {
        if (hasBody && body !== undefined && op.method !== "GET") {
          problems.push(`${op.operationId} takes no body`)
        }
      } else if (!hasBody || body === undefined) {
        if (rb.required === true) problems.push(`${op.operationId} needs a JSON body`)
      } else {
        const schema = resolve(rb.content?.["application/json"]?.schema)
        if (schema === undefined) {
          problems.push(`${op.operationId} takes no JSON body`)
        } else {
          // Unknown top-level fields: the real server ignores them, so they are our bug.
          const strict = schema.type === "object" && schema.properties !== undefined
            ? { ...schema, additionalProperties: false }
            : schema
          const v = validator(`${op.method} ${op.template} body`, strict)
          if (!v(body)) problems.push(...errorsOf(v, "body"))
        }
      }
      return problems
    },
    checkResponse: (op, status, body) => {
      const route = routeOf(op)
      const { documented, schema } = responseSchema(route, status)
      if (!documented) return [`${op.operationId} does not document status ${status}`]
      if (schema === undefined || body === undefined) return []
      const v = validator(`${op.method} ${op.template} ${status}`, schema)
      return v(body) ? [] : errorsOf(v, `answer ${status}`)
    },
    fill: (op, status, data) => fillSchema(responseSchema(routeOf(op), status).schema, data)
  }
}
