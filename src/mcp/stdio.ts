/**
 * The server's stdio, with the two parts of the protocol @effect/ai 0.37's McpServer leaves out and Blue needs to
 * surface notifications properly: the `logging` capability (`logging/setLevel`, and `notifications/message` held
 * back below the client's level) and resource subscriptions (`resources/subscribe` / `unsubscribe`, and
 * `notifications/resources/updated` sent only for subscribed resources). Messages are newline-delimited JSON-RPC;
 * the few requests handled here are answered here and never reach the server.
 *
 * It also keeps the JSON-RPC edge strict where @effect/rpc is loose: request ids travel to the server as numbers
 * and come back as the client sent them (strings included), `tools/call` without `arguments` means `{}`, and a
 * defect surfaces as a standard internal error (-32603). When the client closes stdin, `onClosed` runs once every
 * request it sent has been answered.
 */
import { Effect, Sink, Stream } from "effect"
import { StringDecoder } from "node:string_decoder"

const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const

/** The notifications the server takes (others are dropped here: a notification gets no answer). */
const NOTIFICATIONS = new Set([
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed"
])

/** The requests the server answers (anything else is -32601 here, with the client's id). */
const METHODS = new Set([
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "prompts/list",
  "prompts/get",
  "completion/complete"
])

/** The stdin stream and stdout sink to give `McpServer.layerStdio`, and what the client asked for. */
export interface Stdio {
  readonly stdin: Stream.Stream<Uint8Array>
  readonly stdout: Sink.Sink<void, Uint8Array | string>
  /** the resource URIs the client subscribed to */
  readonly subscriptions: ReadonlySet<string>
  /** lets requests through to the server (until then they wait, so none arrives before the tools exist) */
  readonly open: () => void
}

/** Wraps the process's stdin and stdout. */
export const makeStdio = (options: {
  readonly onClosed: () => void
  /** the URIs of the server's resources (reading or subscribing to another is -32002) */
  readonly resources: ReadonlyArray<string>
  readonly input?: NodeJS.ReadableStream
  readonly output?: NodeJS.WritableStream
}): Stdio => {
  const input = options.input ?? process.stdin
  const output = options.output ?? process.stdout
  const subscriptions = new Set<string>()
  let minimum = 0
  const send = (message: unknown) => output.write(JSON.stringify(message) + "\n")
  /** the requests on their way through the server: our id → the client's */
  const pending = new Map<number, unknown>()
  let nextId = 1
  let ended = false
  const settle = () => {
    if (ended && opened && pending.size === 0) {
      ended = false
      options.onClosed()
    }
  }

  /** Answers the requests handled here (undefined); renumbers and forwards the rest. */
  const incoming = (line: string): string | undefined => {
    let m: any
    try {
      m = JSON.parse(line)
    } catch {
      send({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error: a line that is not JSON" } })
      return undefined
    }
    if (m === null || typeof m !== "object" || Array.isArray(m)) {
      send({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid request: expected one JSON object" } })
      return undefined
    }
    if (typeof m.method !== "string") return line
    if (m.id === undefined || m.id === null) return NOTIFICATIONS.has(m.method) ? line : undefined
    if (intercept(m)) return undefined
    const id = nextId++
    pending.set(id, m.id)
    m.id = id
    if (
      m.method === "tools/call" && m.params !== null && typeof m.params === "object" && m.params.arguments === undefined
    ) {
      m.params.arguments = {}
    }
    return JSON.stringify(m)
  }

  /** Answers the requests handled here; true when `m` was one of them. */
  const intercept = (m: any): boolean => {
    const reply = (error?: { code: number; message: string }) =>
      send(error === undefined ? { jsonrpc: "2.0", id: m.id, result: {} } : { jsonrpc: "2.0", id: m.id, error })
    const uri = m.params?.uri
    const unknownResource = typeof uri === "string" && !options.resources.includes(uri)
    switch (m.method) {
      case "resources/read":
        if (!unknownResource) return false
        reply({ code: -32002, message: `Resource not found: ${uri}` })
        return true
      case "resources/subscribe":
      case "resources/unsubscribe":
        if (typeof uri !== "string") reply({ code: -32602, message: `${m.method}: params.uri must be a string` })
        else if (unknownResource) reply({ code: -32002, message: `Resource not found: ${uri}` })
        else {
          if (m.method === "resources/subscribe") subscriptions.add(uri)
          else subscriptions.delete(uri)
          reply()
        }
        return true
      case "logging/setLevel": {
        const level = LEVELS.indexOf(m.params?.level)
        if (level < 0) {
          reply({ code: -32602, message: `logging/setLevel: params.level must be one of ${LEVELS.join(", ")}` })
        } else {
          minimum = level
          reply()
        }
        return true
      }
      default:
        if (METHODS.has(m.method)) return false
        reply({ code: -32601, message: `Method not found: ${m.method}` })
        return true
    }
  }

  /** Adds the capabilities to the initialize result and holds back what the client did not ask for. */
  const outgoing = (line: string): string | undefined => {
    let m: any
    try {
      m = JSON.parse(line)
    } catch {
      return line
    }
    if (m !== null && typeof m === "object" && typeof m.id === "number" && pending.has(m.id)) {
      const ours = m.id as number
      m.id = pending.get(ours)
      pending.delete(ours)
      if (m.result?.capabilities !== undefined && m.result.serverInfo !== undefined) {
        m.result.capabilities.logging = {}
        if (m.result.capabilities.resources !== undefined) m.result.capabilities.resources.subscribe = true
      }
      if (m.error !== undefined && (typeof m.error.code !== "number" || m.error.code === 0)) {
        m.error = { code: -32603, message: "Internal error in the Blue MCP server (see its stderr)" }
      } else if (m.error !== undefined) {
        m.error = { code: m.error.code, message: m.error.message }
      }
      return JSON.stringify(m)
    }
    if (m?.method === "notifications/resources/updated" && !subscriptions.has(m.params?.uri)) return undefined
    if (m?.method === "notifications/message" && LEVELS.indexOf(m.params?.level) < minimum) return undefined
    return line
  }

  // Until `open`, chunks wait here; the stream's reader takes them when it opens.
  let opened = false
  const held: Array<Buffer | string> = []
  let flush: () => void = () => {}
  const open = () => {
    opened = true
    flush()
    settle()
  }

  const stdin = Stream.async<Uint8Array>((emit) => {
    let buffer = ""
    // A multi-byte character may be split between chunks.
    const text = new StringDecoder("utf8")
    const onData = (chunk: Buffer | string) => {
      if (!opened) return void held.push(chunk)
      buffer += typeof chunk === "string" ? chunk : text.write(chunk)
      const forward: Array<string> = []
      let nl: number
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const passed = line.trim() === "" ? undefined : incoming(line)
        if (passed !== undefined) forward.push(passed + "\n")
      }
      if (forward.length > 0) void emit.single(Buffer.from(forward.join(""), "utf8"))
    }
    flush = () => held.splice(0).forEach(onData)
    const onEnd = () => {
      ended = true
      settle()
    }
    input.on("data", onData)
    input.once("end", onEnd)
    return Effect.sync(() => {
      input.off("data", onData)
      input.off("end", onEnd)
    })
  })

  const decoder = new TextDecoder()
  const stdout = Sink.forEach((chunk: Uint8Array | string) =>
    Effect.sync(() => {
      const text = typeof chunk === "string" ? chunk : decoder.decode(chunk)
      const lines = text.split("\n").filter((l) => l.trim() !== "").map(outgoing).filter((l) => l !== undefined)
      if (lines.length > 0) output.write(lines.join("\n") + "\n")
      settle()
    })
  )

  return { stdin, stdout, subscriptions, open }
}
