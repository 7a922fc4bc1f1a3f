/**
 * The server's stdio, with the two parts of the protocol @effect/ai 0.37's McpServer leaves out and Blue needs to
 * surface notifications properly: the `logging` capability (`logging/setLevel`, and `notifications/message` held
 * back below the client's level) and resource subscriptions (`resources/subscribe` / `unsubscribe`, and
 * `notifications/resources/updated` sent only for subscribed resources). Messages are newline-delimited JSON-RPC;
 * the few requests handled here are answered here and never reach the server.
 */
import { Effect, Sink, Stream } from "effect"

const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const

/** The stdin stream and stdout sink to give `McpServer.layerStdio`, and what the client asked for. */
export interface Stdio {
  readonly stdin: Stream.Stream<Uint8Array>
  readonly stdout: Sink.Sink<void, Uint8Array | string>
  /** the resource URIs the client subscribed to */
  readonly subscriptions: ReadonlySet<string>
}

/** Wraps the process's stdin and stdout. */
export const makeStdio = (
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout
): Stdio => {
  const subscriptions = new Set<string>()
  let minimum = 0
  const send = (message: unknown) => output.write(JSON.stringify(message) + "\n")

  /** Answers the requests handled here; true when the line was one of them. */
  const intercept = (line: string): boolean => {
    let m: any
    try {
      m = JSON.parse(line)
    } catch {
      return false
    }
    if (m === null || typeof m !== "object" || typeof m.method !== "string" || m.id === undefined) return false
    const reply = (error?: { code: number; message: string }) =>
      send(error === undefined ? { jsonrpc: "2.0", id: m.id, result: {} } : { jsonrpc: "2.0", id: m.id, error })
    const uri = m.params?.uri
    switch (m.method) {
      case "resources/subscribe":
      case "resources/unsubscribe":
        if (typeof uri !== "string") reply({ code: -32602, message: `${m.method}: params.uri must be a string` })
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
        return false
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
    if (m?.result?.capabilities !== undefined && m.result.serverInfo !== undefined) {
      m.result.capabilities.logging = {}
      if (m.result.capabilities.resources !== undefined) m.result.capabilities.resources.subscribe = true
      return JSON.stringify(m)
    }
    if (m?.method === "notifications/resources/updated" && !subscriptions.has(m.params?.uri)) return undefined
    if (m?.method === "notifications/message" && LEVELS.indexOf(m.params?.level) < minimum) return undefined
    return line
  }

  const stdin = Stream.async<Uint8Array>((emit) => {
    let buffer = ""
    const onData = (chunk: Buffer | string) => {
      buffer += chunk.toString()
      const forward: Array<string> = []
      let nl: number
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.trim() !== "" && !intercept(line)) forward.push(line + "\n")
      }
      if (forward.length > 0) void emit.single(Buffer.from(forward.join(""), "utf8"))
    }
    const onEnd = () => void emit.end()
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
    })
  )

  return { stdin, stdout, subscriptions }
}
