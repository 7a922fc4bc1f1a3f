/**
 * `blue mcp`: the realm operations as MCP tools over stdio, on @effect/ai's McpServer. The tools are the
 * operations every shell shares (src/operations): their input schemas are generated from the same Effect Schemas
 * the CLI decodes its options with, their results are the `--json` documents plus a short human summary.
 *
 * Refusals (a cycle, a non-owner export, a missing file) are tool results with `isError` and the tagged error as
 * structured content; protocol problems (an unknown tool, arguments that do not fit the schema) are JSON-RPC
 * errors (-32602). Paths in arguments are confined to the repo the server serves, except that `blue_realm_init`
 * may create a fresh realm directory. While it runs the server keeps a session registered with the daemon and
 * forwards the notifications for its repo as `notifications/message`, with `notifications/resources/updated` for
 * the `blue://notifications` resource.
 */
import { McpSchema, McpServer } from "@effect/ai"
import { Cause, Effect, Exit, JSONSchema, Layer, Option, Runtime } from "effect"
import { escapeControls } from "../domain/text.js"
import { realmOperations } from "../operations/index.js"
import { type AnyOperation, type At, decodeArgs, errorDocument } from "../operations/operation.js"
import { sessions as sessionsOperation } from "../operations/sessions.js"
import { realmStatus } from "../operations/status.js"
import { notificationSummary } from "../projections/notifications.js"
import { type FeedMessage, Presence } from "./presence.js"

/** What the server serves. */
export interface McpOptions {
  /** the directory (a member repo, a realm, or a repo about to join) the tools run in */
  readonly repo: string
  /** where file arguments must stay: the repo's root (its git root, or `repo` outside git) */
  readonly confine: string
  /** start a daemon for the session when none runs (off with BLUE_DAEMON=off or CI=true) */
  readonly autoStart: boolean
  /** called once every tool and resource is registered (the stdio edge holds requests until then) */
  readonly onReady?: () => void
}

/** The resource listing this repo's notifications that wait for an ack. */
export const NOTIFICATIONS_URI = "blue://notifications"
/** The resource with this repo's realm status (the `blue_realm_status` document). */
export const STATUS_URI = "blue://status"
/** The resource with the realm's live sessions (the `blue_realm_sessions` document). */
export const SESSIONS_URI = "blue://sessions"
/** Every resource the server has. */
export const RESOURCES: ReadonlyArray<string> = [STATUS_URI, NOTIFICATIONS_URI, SESSIONS_URI]

/** A result as MCP structured content: plain JSON, always an object. */
const structured = (value: unknown): Record<string, unknown> => {
  const plain = JSON.parse(JSON.stringify(value ?? null)) as unknown
  return plain !== null && typeof plain === "object" && !Array.isArray(plain)
    ? plain as Record<string, unknown>
    : { result: plain }
}

// Text content may end up in a terminal (an agent's UI, a log): controls in realm content are escaped, as in the CLI.
const text = (t: string) => ({ type: "text" as const, text: escapeControls(t) })

/** Runs one tool call: decode (a JSON-RPC error when the arguments do not fit), run, and shape the result. */
const callTool = (op: AnyOperation, at: At, afterWrite: () => Promise<void>) => (payload: unknown) =>
  Effect.gen(function*() {
    const args = yield* decodeArgs(op, payload ?? {}, op.agentArgs ?? op.args).pipe(
      Effect.mapError((e) => new McpSchema.InvalidParams({ message: e.message }))
    )
    const exit = yield* Effect.exit(op.run(args, at))
    // A join or leave changes what the session should be; re-check without making the caller wait.
    if (!op.readOnly) void afterWrite()
    if (Exit.isSuccess(exit)) {
      const summary = op.summary(exit.value)
      return new McpSchema.CallToolResult({
        isError: false,
        structuredContent: structured(exit.value),
        content: [text(summary === "" ? "Done." : summary)]
      })
    }
    const failure = Cause.failureOption(exit.cause)
    const error = errorDocument(Option.isSome(failure) ? failure.value : Cause.squash(exit.cause))
    return new McpSchema.CallToolResult({
      isError: true,
      structuredContent: { error },
      content: [text(`Error: ${error.message}`)]
    })
  })

const summarise = (m: FeedMessage): string => {
  if (m.type === "session") return `${m.change === "started" ? "+" : "-"} ${m.session.repo} (${m.session.client_id})`
  const n = m.notification
  return [
    notificationSummary(n),
    `    Acknowledge with blue_realm_ack {"ids": ["${n.id}"]} once this repo handles it`
  ].join("\n")
}

/**
 * Registers the tools and resources and keeps the presence; needs the McpServer and the services the operations
 * use (BlueLive).
 */
export const registerBlue = (options: McpOptions) =>
  Effect.gen(function*() {
    const server = yield* McpServer.McpServer
    const runtime = yield* Effect.runtime<never>()
    const at: At = { cwd: options.repo, confine: options.confine }
    const notify = (m: FeedMessage) => {
      const level = m.type === "notification" && m.notification.change_type === "breaking" ? "warning" : "notice"
      Runtime.runFork(runtime)(
        Effect.all([
          server.notifications["notifications/message"]({
            level,
            logger: "blue",
            data: { ...m, summary: escapeControls(summarise(m)) }
          }),
          server.notifications["notifications/resources/updated"]({
            uri: m.type === "notification" ? NOTIFICATIONS_URI : SESSIONS_URI
          })
        ]).pipe(Effect.ignore)
      )
    }
    const presence = yield* Effect.acquireRelease(
      Effect.sync(() => new Presence(options.repo, notify, options.autoStart)),
      (p) => Effect.promise(() => p.close())
    )
    for (const op of realmOperations) {
      const run = callTool(op, at, () => presence.refresh())
      yield* server.addTool({
        tool: new McpSchema.Tool({
          name: op.tool,
          description: op.description,
          inputSchema: JSONSchema.make(op.agentArgs ?? op.args),
          annotations: new McpSchema.ToolAnnotations({
            readOnlyHint: op.readOnly,
            destructiveHint: op.tool === "blue_realm_leave",
            idempotentHint: op.readOnly,
            openWorldHint: false
          })
        }),
        handle: (payload: unknown) =>
          (op === sessionsOperation
            ? Effect.tap(run(payload), (r) =>
              Effect.sync(() => {
                if (!r.isError && (payload as { watch?: unknown } | undefined)?.watch === true) {
                  presence.watchSessions = true
                }
              }))
            : run(payload)).pipe(Effect.provide(runtime)) as any
      })
    }

    const statusDocument = Effect.map(
      Effect.either(realmStatus.run({}, at)),
      (r) => r._tag === "Right" ? r.right : { error: errorDocument(r.left) }
    )
    yield* McpServer.registerResource({
      uri: STATUS_URI,
      name: "Realm status",
      description: "This repo's realm status: domains, roles, contracts, local changes, imports, notifications",
      mimeType: "application/json",
      content: Effect.map(statusDocument, (s) => JSON.stringify(s, null, 2))
    })
    yield* McpServer.registerResource({
      uri: NOTIFICATIONS_URI,
      name: "Notifications",
      description: "Contract changes waiting for this repo to acknowledge them (blue_realm_ack)",
      mimeType: "application/json",
      content: Effect.map(statusDocument, (s) =>
        JSON.stringify(
          "error" in s
            ? s
            : { realm: s.realm.name, repo: s.repo?.name ?? null, notifications: s.notifications },
          null,
          2
        ))
    })
    yield* McpServer.registerResource({
      uri: SESSIONS_URI,
      name: "Sessions",
      description: "Live Blue sessions in this repo's realm (who works where)",
      mimeType: "application/json",
      content: Effect.map(
        Effect.either(sessionsOperation.run({}, at)),
        (r) => JSON.stringify(r._tag === "Right" ? r.right : { error: errorDocument(r.left) }, null, 2)
      )
    })
    // Registering with the daemon may take a moment (or start it): not before the client can talk to us.
    void presence.refresh()
    options.onReady?.()
  })

/** The MCP server over stdio with the Blue tools, given the services the operations need. */
export const layerBlueMcp = (options: McpOptions & { readonly version: string }) =>
  Layer.scopedDiscard(registerBlue(options))
