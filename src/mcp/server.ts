/**
 * `blue mcp`: the realm operations as MCP tools, on the official MCP SDK's low-level `Server`. The tools are the
 * operations every shell shares (src/operations): their input schemas are the JSON Schemas of the same Effect
 * Schemas the CLI decodes its options with (`JSONSchema.make`), their results are the `--json` documents plus a
 * short human summary. The operations run on one Effect runtime the caller builds once for the server's life.
 *
 * Refusals (a cycle, a non-owner export, a missing file) are tool results with `isError` and the tagged error as
 * structured content; protocol problems (an unknown tool, arguments that do not fit the schema, params that do not
 * fit a request) are JSON-RPC errors (-32602). Paths in arguments are confined to the repo the server serves,
 * except that `blue_realm_init` may create a fresh realm directory. The server has the `logging` capability
 * (`notifications/message` held back below the client's level) and resource subscriptions
 * (`notifications/resources/updated` only for the resources the client subscribed to).
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { AnyObjectSchema, SchemaOutput } from "@modelcontextprotocol/sdk/server/zod-compat.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  type LoggingLevel,
  LoggingLevelSchema,
  ReadResourceRequestSchema,
  type ServerResult,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  type Tool,
  UnsubscribeRequestSchema
} from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Exit, JSONSchema } from "effect"
import { escapeControls } from "../domain/text.js"
import { realmOperations } from "../operations/index.js"
import { type AnyOperation, type At, decodeArgs, errorDocument } from "../operations/operation.js"
import { type OperationOutcome, outcomeOf } from "../operations/outcome.js"
import { sessions as sessionsOperation } from "../operations/sessions.js"
import { realmStatus } from "../operations/status.js"
import { notificationSummary } from "../projections/notifications.js"
import type { FeedMessage } from "./presence.js"

/** What the server serves. */
export interface McpOptions {
  /** the directory (a member repo, a realm, or a repo about to join) the tools run in */
  readonly repo: string
  /** where file arguments must stay: the repo's root (its git root, or `repo` outside git) */
  readonly confine: string
  /** the version in `serverInfo` */
  readonly version: string
}

/** Runs an effect needing the operations' services (a `ManagedRuntime`'s `runPromiseExit`; building them may fail). */
export type RunEffect = <A, E>(effect: Effect.Effect<A, E, any>) => Promise<Exit.Exit<A, unknown>>

/** The resource listing this repo's notifications that wait for an ack. */
export const NOTIFICATIONS_URI = "blue://notifications"
/** The resource with this repo's realm status (the `blue_realm_status` document). */
export const STATUS_URI = "blue://status"
/** The resource with the realm's live sessions (the `blue_realm_sessions` document). */
export const SESSIONS_URI = "blue://sessions"

/** A JSON-RPC error with its code, its message sent as is (the SDK's `McpError` prefixes "MCP error <code>: "). */
class ProtocolError extends Error {
  constructor(readonly code: number, message: string) {
    super(message)
  }
}

/** What an MCP resource is: its listing, and how to read its document. */
interface Resource {
  readonly uri: string
  readonly name: string
  readonly description: string
  readonly read: Effect.Effect<string, never, any>
}

// Text content may end up in a terminal (an agent's UI, a log): controls in realm content are escaped, as in the CLI.
const text = (t: string) => ({ type: "text" as const, text: escapeControls(t) })

const summarise = (m: FeedMessage): string => {
  if (m.type === "session") return `${m.change === "started" ? "+" : "-"} ${m.session.repo} (${m.session.client_id})`
  const n = m.notification
  return [
    notificationSummary(n),
    `    Acknowledge with blue_realm_ack {"ids": ["${n.id}"]} once this repo handles it`
  ].join("\n")
}

/**
 * Registers `handler` for the requests `schema` describes, answering -32602 for params that do not fit it (the
 * SDK's own registration turns them into -32603, an internal error, though the fault is the client's).
 */
const handle = <T extends AnyObjectSchema>(
  server: Server,
  schema: T,
  handler: (request: SchemaOutput<T>) => ServerResult | Promise<ServerResult>
) => {
  const strict = schema as unknown as {
    readonly safeParse: (
      u: unknown
    ) => { success: true; data: SchemaOutput<T> } | {
      success: false
      error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }
    }
    readonly pick: (keys: { method: true }) => { loose: () => T }
    readonly shape: { readonly method: { readonly value: string } }
  }
  // The SDK only routes on the method; the full request is checked here, where a mismatch can be named.
  server.setRequestHandler(strict.pick({ method: true }).loose(), (request) => {
    const parsed = strict.safeParse(request)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue === undefined || issue.path.length === 0 ? "" : ` ${issue.path.map(String).join(".")}:`
      throw new ProtocolError(
        ErrorCode.InvalidParams,
        `${strict.shape.method.value}: invalid request:${where} ${issue?.message ?? "does not fit the schema"}`
      )
    }
    return handler(parsed.data)
  })
}

/** The Blue MCP server and what its host tells the client through it. */
export interface BlueMcp {
  readonly server: Server
  /** forwards a feed message as `notifications/message` and `notifications/resources/updated` where subscribed */
  readonly notify: (message: FeedMessage) => void
}

/**
 * Builds the server with the Blue tools, resources, logging and subscriptions (connect it to a transport).
 * `afterWrite` runs after each tool that writes (a join or leave changes what the session should be);
 * `onWatchSessions` after a successful `blue_realm_sessions` with `watch`.
 */
export const makeBlueMcp = (
  options: McpOptions & {
    readonly run: RunEffect
    readonly afterWrite: () => void
    readonly onWatchSessions: () => void
    /**
     * Runs a write tool call in the daemon (its arguments as the client sent them, already checked here): the
     * outcome, or undefined to run it in this process. Absent: every call runs here.
     */
    readonly handOver?: (tool: string, args: unknown, at: At) => Promise<OperationOutcome | undefined>
  }
): BlueMcp => {
  const server = new Server({ name: "blue", version: options.version }, {
    capabilities: {
      completions: {},
      logging: {},
      prompts: {},
      resources: { subscribe: true, listChanged: true },
      tools: { listChanged: true }
    }
  })
  const at: At = { cwd: options.repo, confine: options.confine }
  const run = options.run

  const tools = new Map<string, AnyOperation>(realmOperations.map((op) => [op.tool, op]))
  const listed: Array<Tool> = realmOperations.map((op) => ({
    name: op.tool,
    description: op.description,
    inputSchema: JSONSchema.make(op.agentArgs ?? op.args) as Tool["inputSchema"],
    annotations: {
      readOnlyHint: op.readOnly,
      destructiveHint: op.tool === "blue_realm_leave",
      idempotentHint: op.readOnly,
      openWorldHint: false
    }
  }))
  handle(server, ListToolsRequestSchema, () => ({ tools: listed }))
  handle(server, CallToolRequestSchema, async ({ params }): Promise<CallToolResult> => {
    const op = tools.get(params.name)
    if (op === undefined) throw new ProtocolError(ErrorCode.InvalidParams, `Tool '${params.name}' not found`)
    const args = await run(decodeArgs(op, params.arguments ?? {}, op.agentArgs ?? op.args))
    if (Exit.isFailure(args)) {
      throw new ProtocolError(ErrorCode.InvalidParams, errorDocument(Cause.squash(args.cause)).message)
    }
    // A write goes to the daemon when one answers (one writer); a read, or a write it did not take, runs here.
    const handed = op.readOnly || options.handOver === undefined
      ? undefined
      : await options.handOver(op.tool, params.arguments ?? {}, at)
    const outcome = handed ?? outcomeOf(op, await run(op.run(args.value, at)))
    if (!op.readOnly) options.afterWrite()
    if ("result" in outcome) {
      if (op === sessionsOperation && (params.arguments as { watch?: unknown } | undefined)?.watch === true) {
        options.onWatchSessions()
      }
      return {
        isError: false,
        structuredContent: outcome.result,
        content: [text(outcome.summary === "" ? "Done." : outcome.summary)]
      }
    }
    const error = outcome.error
    return { isError: true, structuredContent: { error }, content: [text(`Error: ${error.message}`)] }
  })

  const statusDocument = Effect.map(
    Effect.either(realmStatus.run({}, at)),
    (r) => r._tag === "Right" ? r.right : { error: errorDocument(r.left) }
  )
  const resources: ReadonlyArray<Resource> = [
    {
      uri: STATUS_URI,
      name: "Realm status",
      description: "This repo's realm status: domains, roles, contracts, local changes, imports, notifications",
      read: Effect.map(statusDocument, (s) => JSON.stringify(s, null, 2))
    },
    {
      uri: NOTIFICATIONS_URI,
      name: "Notifications",
      description: "Contract changes waiting for this repo to acknowledge them (blue_realm_ack)",
      read: Effect.map(statusDocument, (s) =>
        JSON.stringify(
          "error" in s
            ? s
            : { realm: s.realm.name, repo: s.repo?.name ?? null, notifications: s.notifications },
          null,
          2
        ))
    },
    {
      uri: SESSIONS_URI,
      name: "Sessions",
      description: "Live Blue sessions in this repo's realm (who works where)",
      read: Effect.map(
        Effect.either(sessionsOperation.run({}, at)),
        (r) => JSON.stringify(r._tag === "Right" ? r.right : { error: errorDocument(r.left) }, null, 2)
      )
    }
  ]
  const resource = (uri: string): Resource => {
    const found = resources.find((r) => r.uri === uri)
    if (found === undefined) throw new ProtocolError(-32002, `Resource not found: ${uri}`)
    return found
  }
  handle(server, ListResourcesRequestSchema, () => ({
    resources: resources.map(({ description, name, uri }) => ({ uri, name, description, mimeType: "application/json" }))
  }))
  handle(server, ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [] }))
  handle(server, ReadResourceRequestSchema, async ({ params }) => {
    const exit = await run(resource(params.uri).read)
    if (Exit.isFailure(exit)) throw Cause.squash(exit.cause)
    return { contents: [{ uri: params.uri, text: exit.value }] }
  })
  const subscriptions = new Set<string>()
  handle(server, SubscribeRequestSchema, ({ params }) => {
    subscriptions.add(resource(params.uri).uri)
    return {}
  })
  handle(server, UnsubscribeRequestSchema, ({ params }) => {
    subscriptions.delete(resource(params.uri).uri)
    return {}
  })

  // No prompts yet; the list is there for clients that ask regardless.
  handle(server, ListPromptsRequestSchema, () => ({ prompts: [] }))
  handle(server, GetPromptRequestSchema, ({ params }) => {
    throw new ProtocolError(ErrorCode.InvalidParams, `Prompt '${params.name}' not found`)
  })
  handle(server, CompleteRequestSchema, () => ({ completion: { values: [], total: 0, hasMore: false } }))

  // The level the client asked for (this replaces the SDK's handler, which takes an unknown level silently).
  const levels: ReadonlyArray<LoggingLevel> = LoggingLevelSchema.options
  let minimum = 0
  handle(server, SetLevelRequestSchema, ({ params }) => {
    minimum = levels.indexOf(params.level)
    return {}
  })

  const notify = (m: FeedMessage) => {
    const level = m.type === "notification" && m.notification.change_type === "breaking" ? "warning" : "notice"
    if (levels.indexOf(level) >= minimum) {
      server.sendLoggingMessage({ level, logger: "blue", data: { ...m, summary: escapeControls(summarise(m)) } })
        .catch(() => undefined)
    }
    const uri = m.type === "notification" ? NOTIFICATIONS_URI : SESSIONS_URI
    if (subscriptions.has(uri)) server.sendResourceUpdated({ uri }).catch(() => undefined)
  }
  return { server, notify }
}
