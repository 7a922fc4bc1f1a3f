/**
 * The daemon's typed HTTP API (`src/events/daemonApi.ts`) against the real daemon (`blue daemon run` on a free loopback
 * port), called through the client derived from the definition: every endpoint the definition declares is served,
 * an undeclared path or method is a 404 `RouteNotFound`, a refusal arrives as the same tagged error with the status
 * the definition gives it, and `/openapi.json` describes every route.
 */
import { Effect, Either } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { callApi, type Connection, DaemonUnavailable } from "../src/adapters/daemonClient.js"
import { DaemonApi, ERROR_STATUS, isApiError, RealmUnknown, Unauthorized } from "../src/events/daemonApi.js"
import { BLUE_BIN, freePort, makeWorkspace, type Workspace } from "./support/workspace.js"

let ws: Workspace
let daemon: ChildProcess
let conn: Connection

beforeAll(async () => {
  ws = makeWorkspace("blue-daemon-http-api")
  expect(ws.blue(".", "realm", "admin", "init", "--name", "letemcook").code).toBe(0)
  ws.repo("aperture")
  expect(ws.blue("aperture", "realm", "admin", "join", "../realm-letemcook").code).toBe(0)
  const port = await freePort()
  daemon = spawn(process.execPath, [BLUE_BIN, "daemon", "run"], {
    env: { ...ws.env, BLUE_DAEMON_PORT: String(port), XDG_RUNTIME_DIR: ws.path("run") },
    stdio: "ignore"
  })
  const deadline = Date.now() + 15_000
  while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error("the daemon did not answer /health")
    await new Promise((r) => setTimeout(r, 50))
  }
  conn = { port, token: fs.readFileSync(path.join(ws.home, "daemon.token"), "utf8").trim() }
})

afterAll(async () => {
  if (daemon !== undefined && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.on("exit", r))
    daemon.kill("SIGTERM")
    await exited
  }
  ws?.cleanup()
})

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.either(effect))

/** A raw request with the token (and a JSON body when given); the status and the JSON body. */
const raw = async (method: string, p: string, body?: string) => {
  const r = await fetch(`http://127.0.0.1:${conn.port}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${conn.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body })
  })
  return { status: r.status, json: await r.json().catch(() => null) as any }
}

/** One call per endpoint of the definition, by `group.endpoint`, through the derived client. */
const calls: Record<string, (c: any) => Effect.Effect<unknown, unknown>> = {
  "meta.health": (c) => c.meta.health(),
  "meta.openapi": (c) => c.meta.openapi(),
  "realms.list": (c) => c.realms.list(),
  "realms.get": (c) => c.realms.get({ path: { name: "letemcook" } }),
  "realms.sync": (c) => c.realms.sync({ path: { name: "letemcook" } }),
  "realms.events": (c) => c.realms.events({ urlParams: { realm: "letemcook", after: 0, limit: 10 } }),
  "sessions.list": (c) => c.sessions.list({ urlParams: { realm: "letemcook" } }),
  "sessions.start": (c) =>
    c.sessions.start({
      payload: {
        repo: "aperture",
        realm: "letemcook",
        client_id: "api-test",
        pid: process.pid,
        active_domains: [],
        imports_watching: [],
        exports_modified: []
      }
    }),
  "sessions.end": (c) => c.sessions.end({ path: { id: "no-such-session" } }),
  "notifications.list": (c) => c.notifications.list({ urlParams: { realm: "letemcook" } }),
  "notifications.ack": (c) =>
    c.notifications.ack({ path: { id: "999" }, payload: { realm: "letemcook", repo: "aperture" } }),
  "commands.run": (c) =>
    c.commands.run({
      payload: { argv: ["--version"], cwd: ws.path("aperture"), env: {}, stdout_tty: false, stderr_tty: false }
    }),
  "operations.run": (c) =>
    c.operations.run({
      path: { tool: "blue_realm_export" },
      payload: { args: { name: "nothing-here", value: {} }, cwd: ws.path("aperture"), env: {} }
    })
}

describe("the daemon's HTTP API definition", () => {
  const declared = Object.values(DaemonApi.groups).flatMap((group) =>
    Object.values(group.endpoints).map((endpoint) => ({
      key: `${group.identifier}.${endpoint.name}`,
      method: endpoint.method,
      path: endpoint.path
    }))
  )

  it("has a call in this test for every endpoint it declares", () => {
    expect(declared.map((e) => e.key).sort()).toEqual(Object.keys(calls).sort())
  })

  it("serves every declared endpoint: each answers with its success or one of the API's errors, never 404", async () => {
    for (const { key } of declared) {
      const result = await run(callApi(conn, calls[key]!))
      if (Either.isLeft(result)) {
        const e = result.left
        expect(e instanceof DaemonUnavailable, `${key}: ${String(e)}`).toBe(false)
        expect(isApiError(e), `${key}: ${String(e)}`).toBe(true)
        expect((e as { _tag: string })._tag, key).not.toBe("RouteNotFound")
      }
    }
  })

  it("answers an undeclared path or method with 404 RouteNotFound", async () => {
    for (const [method, p] of [["GET", "/nowhere"], ["PUT", "/sessions"], ["GET", "/realms/letemcook/sync"]]) {
      const r = await raw(method!, p!)
      expect(r.status, `${method} ${p}`).toBe(404)
      expect(r.json).toEqual({ error: { _tag: "RouteNotFound", message: "No such endpoint." } })
    }
  })

  it("delivers a refusal to the client as the same tagged error, with the status the definition gives it", async () => {
    const missing = await run(callApi(conn, (c) => c.realms.get({ path: { name: "nope" } })))
    expect(Either.isLeft(missing) && missing.left).toBeInstanceOf(RealmUnknown)
    expect(Either.isLeft(missing) && missing.left.message).toBe("This daemon tracks no realm named 'nope'.")
    const wire = await raw("GET", "/realms/nope")
    expect(wire.status).toBe(ERROR_STATUS.RealmUnknown)
    expect(wire.status).toBe(404)
    expect(wire.json).toEqual({ error: { _tag: "RealmUnknown", message: "This daemon tracks no realm named 'nope'." } })

    // The security front's refusals decode the same way.
    const wrongToken = await run(callApi({ ...conn, token: "wrong" }, (c) => c.realms.list()))
    expect(Either.isLeft(wrongToken) && wrongToken.left).toBeInstanceOf(Unauthorized)

    // POST /run runs the command for the caller and answers with what it printed and its exit code.
    const ran = await run(
      callApi(conn, (c) =>
        c.commands.run({
          payload: { argv: ["--version"], cwd: ws.path("aperture"), env: {}, stdout_tty: false, stderr_tty: false }
        }))
    )
    expect(Either.isRight(ran) && ran.right.exit_code).toBe(0)
    expect(Either.isRight(ran) && ran.right.stdout).toMatch(/\d+\.\d+\.\d+/)
    expect((await raw("POST", "/run")).status).toBe(400)

    // POST /operations/{tool} runs a write operation; its refusal is the answer's `error`, not an HTTP error.
    const refused = await run(callApi(conn, calls["operations.run"]!))
    expect(Either.isRight(refused) && refused.right).toMatchObject({ error: { _tag: "ContractNotFound" } })
    const read = await raw(
      "POST",
      "/operations/blue_realm_status",
      JSON.stringify({ args: {}, cwd: ws.path("aperture"), env: {} })
    )
    expect(read.status).toBe(400)
    expect(read.json.error).toEqual({
      _tag: "RequestInvalid",
      message: "blue_realm_status only reads: reads run in the client; the daemon takes write operations only."
    })
    const badArgs = await raw(
      "POST",
      "/operations/blue_realm_export",
      JSON.stringify({ args: { name: 1 }, cwd: ws.path("aperture"), env: {} })
    )
    expect(badArgs.status).toBe(400)
    expect(badArgs.json.error._tag).toBe("RequestInvalid")
    expect(badArgs.json.error.message).toMatch(/^blue_realm_export: argument name/)
    const unknown = await raw("POST", "/operations/blue_nothing", JSON.stringify({ args: {}, cwd: "/", env: {} }))
    expect(unknown.status).toBe(404)
    expect((await raw("POST", "/operations/blue_realm_export", "{}")).json.error.message).toBe(
      "Send {args, cwd, confine?, env} as the body."
    )
  })

  it("refuses a body or query that does not decode with 400 RequestInvalid saying what to send", async () => {
    for (const body of ["not json", "{}", "{\"repo\": 1}"]) {
      const r = await raw("POST", "/sessions", body)
      expect(r.status, body).toBe(400)
      expect(r.json.error, body).toEqual({
        _tag: "RequestInvalid",
        message: "Send {repo, realm, client_id?, pid?, active_domains?, imports_watching?} as the body."
      })
    }
    const ack = await raw("POST", "/notifications/3/ack", "{\"realm\": \"letemcook\"}")
    expect(ack.status).toBe(400)
    expect(ack.json.error.message).toBe("Send {\"realm\": NAME, \"repo\": REPO} as the body.")
    const events = await raw("GET", "/events?after=abc")
    expect(events.status).toBe(400)
    expect(events.json.error.message).toContain("after must be a whole number")
  })

  it("describes every route in GET /openapi.json", async () => {
    const doc = await raw("GET", "/openapi.json")
    expect(doc.status).toBe(200)
    expect(doc.json.openapi).toMatch(/^3\./)
    for (const { method, path: p } of declared) {
      const openApiPath = p.replace(/:(\w+)/g, "{$1}")
      expect(doc.json.paths[openApiPath]?.[method.toLowerCase()], `${method} ${p}`).toBeDefined()
    }
    expect(doc.json.paths["/realms/{name}"].get.responses["404"]).toBeDefined()
  })
})

describe("the CLI on the derived client", () => {
  it("`realm sessions --watch` outside a member repo follows the feed without registering a session", async () => {
    const env = { ...ws.env, BLUE_DAEMON_PORT: String(conn.port), XDG_RUNTIME_DIR: ws.path("run") }
    const child = spawn(process.execPath, [BLUE_BIN, "realm", "sessions", "--watch", "--json"], { cwd: ws.root, env })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += String(d)))
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
    await new Promise((r) => setTimeout(r, 2_000))
    // Before the typed client the refused registration went unnoticed; it must not end the watch now either.
    expect(child.exitCode, stderr).toBe(null)
    child.kill("SIGTERM")
    await exited
    const listed = await run(callApi(conn, (c) => c.sessions.list({ urlParams: {} })))
    expect(Either.isRight(listed) && listed.right.sessions.some((x) => x.client_id === "watch")).toBe(false)
  })
})

describe("docs/daemon.md's HTTP API section", () => {
  const doc = fs.readFileSync(new URL("../docs/daemon.md", import.meta.url), "utf8")
  const section = doc.slice(doc.indexOf("## HTTP API"), doc.indexOf("\n## ", doc.indexOf("## HTTP API") + 1))

  it("lists exactly the routes of the definition", () => {
    const listed = [...section.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`)
    const declared = Object.values(DaemonApi.groups).flatMap((group) =>
      Object.values(group.endpoints).map((endpoint) => `${endpoint.method} ${endpoint.path}`)
    )
    expect(listed.sort()).toEqual(declared.sort())
  })

  it("gives every error tag the status of the definition", () => {
    // (the 500 row names no tag of its own: it keeps the failing error's)
    const rows = [...section.matchAll(/^\| (\d{3}) \| (.+) \|$/gm)].filter(([, status]) => status !== "500")
    const documented = Object.fromEntries(
      rows.flatMap(([, status, tags]) => [...tags!.matchAll(/`(\w+)`/g)].map((t) => [t[1]!, Number(status)]))
    )
    expect(documented).toEqual(ERROR_STATUS)
  })
})
