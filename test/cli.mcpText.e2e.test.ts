/**
 * The MCP server's text content is human output too: a peer's contract value with terminal controls reaches the
 * agent's text escaped (`\x1b`), while structuredContent keeps the value itself, exactly as the CLI's --json does.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, FUNGAL, ok, S3, seedStory } from "./support/seed.js"
import { BLUE_BIN, makeWorkspace, type Workspace } from "./support/workspace.js"

const TITLE = "\u001b]0;PWNED\u0007"
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

let ws: Workspace
let client: Client

beforeAll(async () => {
  ws = makeWorkspace("blue-mcp-text")
  seedStory(ws)
  ok(ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", JSON.stringify({ read: [TITLE] })), "export")
  client = new Client({ name: "blue-text", version: "1.0.0" })
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BLUE_BIN, "mcp"],
      cwd: ws.path(FUNGAL),
      env: ws.env as Record<string, string>,
      stderr: "pipe"
    })
  )
})
afterAll(async () => {
  await client.close()
  ws.cleanup()
})

describe("blue mcp: text content", () => {
  it("escapes control characters in realm content; structuredContent keeps the value", async () => {
    const r = (await client.callTool({ name: "blue_realm_status", arguments: {} })) as CallToolResult
    expect(r.isError).toBe(false)
    const text = (r.content[0] as { type: string; text: string }).text
    expect(text).toContain("\\x1b]0;PWNED\\x07")
    expect(RAW.test(text)).toBe(false)
    expect(JSON.stringify(r.structuredContent)).toContain("\\u001b]0;PWNED\\u0007")
    expect(r.structuredContent).toEqual(ws.blue(FUNGAL, "realm", "status", "--json").json())
  })
})
