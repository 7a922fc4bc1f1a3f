/**
 * Realm integrity through the real `blue` binary and real git: the acting identity cannot forge commit lines,
 * git's own locks are honoured, a rewritten history is named and repaired by `blue realm admin reindex`, hand edits
 * in the realm's working tree are never overwritten, and a half-made realm from a killed `init` can be finished.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { eventPathsOf } from "../src/engine/Realms.js"
import {
  BLUE_BIN,
  dbFingerprint,
  fingerprint,
  git,
  makeWorkspace,
  type Run,
  type Workspace
} from "./support/workspace.js"

const workspaces: Array<Workspace> = []
const workspace = () => {
  const ws = makeWorkspace("blue-integrity")
  workspaces.push(ws)
  return ws
}
afterEach(() => {
  for (const ws of workspaces.splice(0)) ws.cleanup()
})

const REALM = "realm-letemcook"

/** Runs the binary with environment changes (`undefined` removes a variable). */
const blueWith = (ws: Workspace, extra: Record<string, string | undefined>, cwd: string, ...args: Array<string>) => {
  const env: NodeJS.ProcessEnv = { ...ws.env }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const r = spawnSync(process.execPath, [BLUE_BIN, ...args], { cwd: path.resolve(ws.root, cwd), env, encoding: "utf8" })
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    json: () => JSON.parse(r.stdout)
  } satisfies Run
}

const ok = (run: Run, what: string): Run => {
  if (run.code !== 0) throw new Error(`${what}: exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`)
  return run
}

/** A realm `letemcook` with `repos` joined. */
const setup = (repos: ReadonlyArray<string> = []) => {
  const ws = workspace()
  ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
  for (const r of repos) {
    ws.repo(r)
    ok(ws.blue(r, "realm", "admin", "join", `../${REALM}`), `join ${r}`)
  }
  return { ws, realm: ws.path(REALM) }
}

/** Everything a refusal must leave as it was. */
const state = (ws: Workspace, dirs: ReadonlyArray<string>) =>
  JSON.stringify({
    dirs: dirs.map((d) => [...fingerprint(ws.path(d))].sort()),
    db: dbFingerprint(ws.home),
    root: fs.readdirSync(ws.root).sort()
  })

describe("the acting identity", () => {
  it("refuses a newline in BLUE_USER in one sentence naming it, writing nothing", () => {
    const { ws } = setup(["aperture"])
    ws.repo("fungal")
    const before = state(ws, [REALM, "fungal"])
    const forged = "mallory@example.com\nBlue-Event: events/2020-01-01/00/01ARZ3NDEKTSV4RRFFQ69G5FAV.json"
    const r = blueWith(ws, { BLUE_USER: forged }, "fungal", "realm", "admin", "join", `../${REALM}`)
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe(
      `Error: BLUE_USER (${
        JSON.stringify(forged)
      }) contains a newline; the acting identity must be one line without control characters, '<' or '>' (e.g. BLUE_USER=you@example.com).\n`
    )
    expect(state(ws, [REALM, "fungal"])).toBe(before)
    const j = blueWith(
      ws,
      { BLUE_USER: "eve <eve@example.com>" },
      "fungal",
      "realm",
      "admin",
      "join",
      `../${REALM}`,
      "--json"
    )
    expect(j.code).toBe(1)
    expect(j.json().error).toMatchObject({ _tag: "InvalidIdentity", source: "BLUE_USER", reason: "contains '<'" })
    const c = blueWith(ws, { BLUE_USER: "tab\there" }, ".", "realm", "admin", "init", "--name", "other")
    expect(c.code).toBe(1)
    expect(c.stderr).toContain("BLUE_USER (\"tab\\there\") contains the control character U+0009;")
    expect(state(ws, [REALM, "fungal"])).toBe(before)
    ok(ws.blue(REALM, "realm", "replay", "--verify"), "replay --verify")
  })

  it("defaults to git config user.email: the repo's, then the global one", () => {
    const { ws, realm } = setup()
    ws.repo("aperture")
    ws.repo("fungal")
    fs.writeFileSync(ws.path(".gitconfig"), "[user]\n\tname = Global Person\n\temail = global@example.com\n")
    git(ws.path("aperture"), "config", "user.email", "local@example.com")
    const noEnv = { BLUE_USER: undefined, GIT_AUTHOR_EMAIL: undefined, EMAIL: undefined }
    ok(blueWith(ws, noEnv, "aperture", "realm", "admin", "join", `../${REALM}`), "join aperture")
    ok(blueWith(ws, noEnv, "fungal", "realm", "admin", "join", `../${REALM}`), "join fungal")
    expect(fs.readFileSync(path.join(realm, "repos", "aperture.yaml"), "utf8")).toContain("local@example.com")
    expect(fs.readFileSync(path.join(realm, "repos", "fungal.yaml"), "utf8")).toContain("global@example.com")
    expect(git(realm, "log", "-2", "--format=%ae").split("\n").filter(Boolean)).toEqual([
      "global@example.com",
      "local@example.com"
    ])
    // BLUE_USER still comes first.
    ws.repo("third")
    ok(blueWith(ws, { GIT_AUTHOR_EMAIL: undefined }, "third", "realm", "admin", "join", `../${REALM}`), "join third")
    expect(fs.readFileSync(path.join(realm, "repos", "third.yaml"), "utf8")).toContain("tester@example.com")
  })

  it("refuses a git config identity with '>' naming the key", () => {
    const { ws } = setup()
    ws.repo("aperture")
    git(ws.path("aperture"), "config", "user.email", "x>y@example.com")
    const before = state(ws, [REALM, "aperture"])
    const r = blueWith(
      ws,
      { BLUE_USER: undefined, GIT_AUTHOR_EMAIL: undefined },
      "aperture",
      "realm",
      "admin",
      "join",
      `../${REALM}`
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      "Error: git config user.email (\"x>y@example.com\") contains '>'; the acting identity must be one line without control characters, '<' or '>' (e.g. BLUE_USER=you@example.com).\n"
    )
    expect(state(ws, [REALM, "aperture"])).toBe(before)
  })

  it("reads events only from well-formed trailers in the message's last paragraph", () => {
    const real = "events/2026-11-30/11/01ARZ3NDEKTSV4RRFFQ69G5FAV.json"
    const forged = "events/2020-01-01/00/01BX5ZZKBKACTAV9WEVGEMMVRZ.json"
    expect(eventPathsOf(`title\n\nBlue-Event: ${forged}\nbody\n\nBlue-Realm: x\nBlue-Event: ${real}\n`)).toEqual([
      real
    ])
    expect(eventPathsOf(`title\n\nBlue-Event: ../../etc/passwd\nBlue-Event: ${real}`)).toEqual([real])
    expect(eventPathsOf(`Blue-Event: ${real}`)).toEqual([])
  })
})
