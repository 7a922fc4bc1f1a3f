/**
 * One writer (README "The daemon runs the writes"): with this BLUE_HOME's daemon running, a write command hands
 * itself to the daemon (`POST /run`) and the CLI process loads no engine; the daemon runs the same command program,
 * so what it prints, its exit code and what it writes are those of the command run in-process. Concurrent writers
 * through the daemon all land exactly once, and a daemon SIGKILLed in the middle of a batch of writes loses and
 * duplicates nothing. Real `blue` binary, real daemon on a free port, real git, temp BLUE_HOMEs.
 */
import Database from "better-sqlite3"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, FUNGAL, ML, REALM, S3 } from "./support/seed.js"
import { BLUE_BIN, freePort, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

/** The realm write lock file (src/engine/Realms.ts). */
const LOCK_FILE = "blue-write.lock" // held by the tests with a busy timeout: the daemon may be mirroring sessions

const DEBUG_LINE = /^blue: path=.*\n/gm

/** A workspace whose commands may use a daemon (`BLUE_DAEMON=auto`, no CI), on its own port and runtime dir. */
const daemonWorkspace = async (label: string, daemon: boolean) => {
  const ws = makeWorkspace(label)
  fs.mkdirSync(ws.path("xdg"), { mode: 0o700 })
  const env: NodeJS.ProcessEnv = {
    ...ws.env,
    BLUE_DAEMON_PORT: String(await freePort()),
    XDG_RUNTIME_DIR: ws.path("xdg"),
    BLUE_DEBUG_PATH: "1",
    BLUE_DAEMON: daemon ? "auto" : "off"
  }
  delete env["CI"]
  const run = (cwd: string, args: ReadonlyArray<string>, extra: NodeJS.ProcessEnv = {}): Run => {
    const r = spawnSync(process.execPath, [BLUE_BIN, ...args], {
      cwd: ws.path(cwd),
      env: { ...env, ...extra },
      encoding: "utf8"
    })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) }
  }
  const spawnRun = (cwd: string, args: ReadonlyArray<string>): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [BLUE_BIN, ...args], { cwd: ws.path(cwd), env })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d) => (stdout += d))
      child.stderr.on("data", (d) => (stderr += d))
      child.on("close", (code) => resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) }))
    })
  const pidFile = () => {
    const dir = ws.path("xdg", "blue")
    const name = fs.readdirSync(dir).find((f) => f.endsWith(".pid"))
    return name === undefined ? undefined : path.join(dir, name)
  }
  const daemonPid = (): number => JSON.parse(fs.readFileSync(pidFile()!, "utf8")).pid
  return { ws, env, run, spawnRun, daemonPid }
}

/** The same text from two workspaces: their roots, commit hashes, times, ids and timings made alike. */
const normalise = (ws: Workspace, text: string) =>
  text.split(ws.root).join("<root>")
    .replace(DEBUG_LINE, "")
    .replace(/\b[0-9a-f]{40}\b/g, "<commit>")
    // A proposal's id and branch carry the second it was opened (sync/<repo>/20261130-192800): before <short>,
    // which would take the date's eight digits for a short commit id and leave the time to differ.
    .replace(/\b\d{8}-\d{6}(-\d+)?\b/g, "<stamp>")
    .replace(/\b[0-9a-f]{8}\b/g, "<short>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
    .replace(/\b[0-9A-HJKMNP-TV-Z]{26}\b/g, "<id>")
    .replace(/\(\d+ ms\)|"ms": \d+/g, "<ms>")
    .replace(/pid \d+|"pid": \d+/g, "<pid>")

/** The realm's files other than its event files (which carry ids and times), normalised. */
const realmFiles = (ws: Workspace): Record<string, string> => {
  const dir = ws.path(REALM)
  const out: Record<string, string> = {}
  const files = spawnSync("git", ["ls-files"], { cwd: dir, encoding: "utf8" }).stdout.split("\n").filter((f) =>
    f !== "" && !f.startsWith("events/")
  )
  for (const f of files) out[normalise(ws, f)] = normalise(ws, fs.readFileSync(path.join(dir, f), "utf8"))
  for (const repo of [APERTURE, FUNGAL, ML]) {
    const config = ws.path(repo, ".blue", "config.yaml")
    out[`${repo}/.blue/config.yaml`] = fs.existsSync(config) ? normalise(ws, fs.readFileSync(config, "utf8")) : ""
  }
  return out
}

/** The write commands both workspaces run, in order: successes, refusals, a usage error, --json. */
const SCRIPT: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  [".", ["realm", "admin", "init", "--name", "letemcook"]],
  [APERTURE, ["realm", "admin", "join", `../${REALM}`]],
  [APERTURE, ["realm", "admin", "domain", "create", "s3-access", "--repos", `${APERTURE},${FUNGAL}`, "--contract", S3]],
  [FUNGAL, ["realm", "join", `../${REALM}`, "--json"]],
  [ML, ["realm", "admin", "join", `../${REALM}`]],
  [FUNGAL, [
    "realm",
    "domain",
    "create",
    "training-pipeline",
    "--repos",
    `${FUNGAL},${ML}`,
    "--contract",
    "job-schema"
  ]],
  [APERTURE, ["realm", "export", "--name", S3, "--value", "{\"paths\":[\"s3://a/\"]}"]],
  [FUNGAL, ["realm", "import", "--contract", S3, "--domain", "s3-access", "--version", "^1.0.0"]],
  [APERTURE, ["realm", "export", "--name", S3, "--value", "{\"paths\":[\"s3://b/\"]}", "--json"]],
  [FUNGAL, ["realm", "ack", "--all", "--json"]],
  [FUNGAL, ["realm", "ack", "--all"]],
  // refusals (exit 1): not the owner, a cycle, still imported — and the same as --json
  [FUNGAL, ["realm", "export", "--name", S3, "--value", "{}"]],
  [FUNGAL, ["realm", "export", "--name", S3, "--value", "{}", "--json"]],
  [ML, ["realm", "admin", "domain", "create", "loop", "--repos", `${ML},${APERTURE}`]],
  [ML, ["realm", "admin", "domain", "create", "loop2", "--repos", `${ML},${FUNGAL}`, "--json"]],
  [APERTURE, ["realm", "admin", "leave"]],
  [APERTURE, ["realm", "export", "--name", S3, "--value", "{"]],
  // usage errors (exit 64)
  [APERTURE, ["realm", "export", "--nme", S3]],
  [APERTURE, ["realm", "import", "--contract", S3, "--json"]],
  [ML, ["realm", "ack"]],
  // a realm path that does not exist
  [ML, ["realm", "admin", "join", "../nowhere"]]
]

describe("one writer: write commands run by the daemon", () => {
  let off: Awaited<ReturnType<typeof daemonWorkspace>>
  let on: Awaited<ReturnType<typeof daemonWorkspace>>

  beforeAll(async () => {
    off = await daemonWorkspace("blue-writer-off", false)
    on = await daemonWorkspace("blue-writer-on", true)
    for (const w of [off, on]) for (const r of [APERTURE, FUNGAL, ML]) w.ws.repo(r)
    const started = on.run(".", ["daemon", "start"])
    expect(started.code, started.stderr).toBe(0)
  })
  afterAll(() => {
    on?.run(".", ["daemon", "stop"])
    off?.ws.cleanup()
    on?.ws.cleanup()
  })

  it("prints the same, exits the same and writes the same as the command run in-process", () => {
    for (const [cwd, args] of SCRIPT) {
      const a = off.run(cwd, args)
      const b = on.run(cwd, args)
      const what = `blue ${args.join(" ")} (in ${cwd})`
      // The daemon ran it (the CLI process took the thin path, so it never loaded the engine)…
      expect(b.stderr, what).toMatch(/^blue: path=daemon \(pid \d+\)$/m)
      expect(a.stderr, what).not.toMatch(DEBUG_LINE)
      // …and it is the same command.
      expect({ code: b.code, stdout: normalise(on.ws, b.stdout), stderr: normalise(on.ws, b.stderr) }, what)
        .toEqual({ code: a.code, stdout: normalise(off.ws, a.stdout), stderr: normalise(off.ws, a.stderr) })
    }
    expect(realmFiles(on.ws)).toEqual(realmFiles(off.ws))
    const types = (w: typeof on) =>
      w.run(APERTURE, ["realm", "log", "--json"]).json().events.map((e: any) => `${e.type} ${e.actor.repo ?? ""}`)
    expect(types(on)).toEqual(types(off))
    expect(on.run(APERTURE, ["realm", "replay", "--verify"]).code).toBe(0)
  }, 240_000)

  it("an extractor command run by the daemon gets the caller's environment: a program only its PATH has", () => {
    // The daemon was started without this directory on its PATH; the caller has it on its own.
    const detectWith = (w: typeof on) => {
      const bin = w.ws.path("caller-bin")
      fs.mkdirSync(bin, { recursive: true })
      fs.writeFileSync(
        path.join(bin, "s3-paths-from-code"),
        "#!/bin/sh\necho '{\"paths\": [\"s3://from-the-callers-path/\"]}'\n",
        { mode: 0o755 }
      )
      const config = w.ws.path(APERTURE, ".blue", "config.yaml")
      const text = fs.readFileSync(config, "utf8")
      expect(text).not.toContain("exports:")
      fs.writeFileSync(config, `${text}exports:\n  ${S3}:\n    command: s3-paths-from-code\n`)
      return w.run(APERTURE, ["realm", "export", "--name", S3, "--detect"], {
        PATH: `${bin}${path.delimiter}${process.env["PATH"]}`
      })
    }
    const a = detectWith(off)
    const b = detectWith(on)
    expect(b.stderr).toMatch(/^blue: path=daemon \(pid \d+\)$/m)
    expect(a.code, a.stderr).toBe(0)
    expect({ code: b.code, stdout: normalise(on.ws, b.stdout), stderr: normalise(on.ws, b.stderr) })
      .toEqual({ code: a.code, stdout: normalise(off.ws, a.stdout), stderr: normalise(off.ws, a.stderr) })
    // The value the caller's program printed is the contract's value now, the same either way.
    expect(Object.values(realmFiles(on.ws)).join("\n")).toContain("s3://from-the-callers-path/")
    expect(realmFiles(on.ws)).toEqual(realmFiles(off.ws))
  }, 60_000)

  it("help, read-only commands and BLUE_DAEMON=off run in-process", () => {
    expect(on.run(APERTURE, ["realm", "export", "--help"]).stderr).not.toMatch(DEBUG_LINE)
    expect(on.run(APERTURE, ["realm", "graph"]).stderr).not.toMatch(DEBUG_LINE)
    const off = on.run(FUNGAL, ["realm", "ack", "--all"], { BLUE_DAEMON: "off" })
    expect(off.code).toBe(0)
    expect(off.stderr).not.toMatch(DEBUG_LINE)
  }, 60_000)

  it("POST /run needs the token and runs no command that manages the daemon or streams", async () => {
    const url = `http://127.0.0.1:${on.env["BLUE_DAEMON_PORT"]}/run`
    const token = fs.readFileSync(path.join(on.ws.home, "daemon.token"), "utf8").trim()
    const body = (argv: Array<string>) =>
      JSON.stringify({ argv, cwd: on.ws.path(ML), env: {}, stdout_tty: false, stderr_tty: false })
    const anonymous = await fetch(url, { method: "POST", body: body(["realm", "ack", "--all"]) })
    expect(anonymous.status).toBe(401)
    const stop = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body(["daemon", "stop"])
    })
    expect(stop.status).toBe(200)
    expect(await stop.json()).toEqual({
      exit_code: 64,
      stdout: "",
      stderr: "Error: 'blue daemon stop' runs in its own process, not in the daemon.\n"
    })
    const bad = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ argv: "realm ack" })
    })
    expect(bad.status).toBe(400)
    expect(on.run(".", ["daemon", "status"]).code).toBe(0)
  }, 60_000)

  it("concurrent writes from 4 processes through the daemon all land exactly once", async () => {
    const repos = [APERTURE, FUNGAL, ML, APERTURE]
    const runs = await Promise.all(repos.map(async (repo, p) => {
      const out: Array<Run> = []
      for (let k = 0; k < 3; k++) {
        out.push(
          await on.spawnRun(repo, ["realm", "admin", "domain", "create", `c-${p}-${k}`, "--repos", `${repo},${ML}x`])
        )
      }
      return out
    }))
    runs.forEach((out, p) =>
      out.forEach((r, k) => {
        expect(r.code, r.stderr).toBe(0)
        expect(r.stderr).toMatch(/^blue: path=daemon/m)
        // Each caller got its own command's output, nobody else's (the daemon ran them side by side).
        expect(r.stdout).toContain(`domains/c-${p}-${k}/domain.yaml`)
        expect(r.stdout.match(/domains\/c-\d-\d\/domain\.yaml/g)).toEqual([`domains/c-${p}-${k}/domain.yaml`])
      })
    )
    const created = on.run(APERTURE, ["realm", "log", "--json"]).json().events
      .filter((e: any) => e.type === "DomainCreated" && /^c-\d-\d$/.test(e.event?.domain?.name ?? ""))
    const names = created.map((e: any) => e.event?.domain?.name).sort()
    expect(names).toEqual(repos.flatMap((_, p) => [0, 1, 2].map((k) => `c-${p}-${k}`)).sort())
    expect(on.run(APERTURE, ["realm", "replay", "--verify"]).code).toBe(0)
  }, 240_000)

  it(
    "Ctrl-C on a write waiting inside the daemon exits 130 at once and interrupts it there, as in-process",
    async () => {
      const holder = new Database(on.ws.path(REALM, ".git", LOCK_FILE), { timeout: 30_000 })
      holder.exec("BEGIN EXCLUSIVE")
      const args = ["realm", "admin", "domain", "create", "int-1", "--repos", `${ML},int-x`]
      const child = spawn(process.execPath, [BLUE_BIN, ...args], { cwd: on.ws.path(ML), env: on.env, stdio: "ignore" })
      const { code, ms } = await new Promise<{ code: number | null; ms: number }>((resolve) => {
        let interruptedAt = 0
        child.on("spawn", () =>
          setTimeout(() => {
            interruptedAt = Date.now()
            child.kill("SIGINT")
          }, 2500))
        child.on("exit", (code) => resolve({ code, ms: Date.now() - interruptedAt }))
      })
      expect(code).toBe(130)
      expect(ms).toBeLessThan(1000)
      holder.exec("ROLLBACK")
      holder.close()
      // The interrupted write was still waiting for the lock, so it is not made (as a Ctrl-C in-process); the
      // realm's turn is free again for the next writer.
      const next = on.run(ML, ["realm", "admin", "domain", "create", "int-2", "--repos", `${ML},int-x`])
      expect(next.code, next.stderr).toBe(0)
      expect(next.stderr).toMatch(/^blue: path=daemon/m)
      const names = on.run(ML, ["realm", "log", "--json"]).json().events
        .filter((e: any) => e.type === "DomainCreated").map((e: any) => e.event?.domain?.name as string)
      expect(names.filter((n: string) => n.startsWith("int-"))).toEqual(["int-2"])
      expect(on.run(ML, ["realm", "replay", "--verify"]).code).toBe(0)
    },
    120_000
  )

  it("a daemon SIGKILLed in the middle of a batch of writes loses and duplicates nothing", async () => {
    const batch = Array.from({ length: 9 }, (_, k) => `k-${k}`)
    const repoOf = (k: number) => [APERTURE, FUNGAL, ML][k % 3]!
    const create = (
      k: number
    ) => ["realm", "admin", "domain", "create", batch[k]!, "--repos", `${repoOf(k)},${batch[k]}-x`]
    const results: Array<Run> = []
    // The first three land through the daemon.
    for (const k of [0, 1, 2]) results.push(on.run(repoOf(k), create(k)))
    // The rest reach the daemon while another writer holds the realm's lock, so they are inside the daemon,
    // waiting for it, when the daemon is killed.
    const holder = new Database(on.ws.path(REALM, ".git", LOCK_FILE), { timeout: 30_000 })
    holder.exec("BEGIN EXCLUSIVE")
    const pending = batch.slice(3).map((_, i) => on.spawnRun(repoOf(i + 3), create(i + 3)))
    await new Promise((r) => setTimeout(r, 4000))
    process.kill(on.daemonPid(), "SIGKILL")
    holder.exec("ROLLBACK")
    holder.close()
    results.push(...(await Promise.all(pending)))
    const lost = batch.filter((_, k) => results[k]!.code !== 0)
    for (const k of lost.map((n) => batch.indexOf(n))) {
      expect(results[k]!.code, results[k]!.stderr).toBe(75)
      expect(results[k]!.stderr).toContain("Error: the daemon stopped while running the command")
    }
    expect(lost.length).toBeGreaterThan(0)
    for (const k of [0, 1, 2]) expect(results[k]!.stderr).toMatch(/^blue: path=daemon/m)
    // Restart it (a command may already have started it again) and re-run what was lost.
    on.run(".", ["daemon", "start"])
    for (const name of lost) {
      const k = batch.indexOf(name)
      const again = on.run(repoOf(k), create(k))
      // recorded before the daemon died (refused as existing now), or recorded now
      expect([0, 1], again.stderr).toContain(again.code)
      if (again.code === 1) expect(again.stderr).toMatch(/already exists/)
    }
    const events = on.run(APERTURE, ["realm", "log", "--json"]).json().events
    const names = events.filter((e: any) => e.type === "DomainCreated").map((e: any) => e.event?.domain?.name)
      .filter((n: string) => /^k-\d+$/.test(n)).sort()
    expect(names).toEqual([...batch].sort())
    const verify = on.run(APERTURE, ["realm", "replay", "--verify"])
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
  }, 240_000)
})
