import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { PASSED_ENV, readOutputSync, runProcess, scrubbedEnv, spawnDetached } from "../src/adapters/process.js"

const run = (script: string, extra: Partial<Parameters<typeof runProcess>[0]> = {}) =>
  Effect.runPromise(runProcess({
    command: process.execPath,
    args: ["-e", script],
    cwd: process.cwd(),
    env: scrubbedEnv({}),
    timeoutMs: 10_000,
    ...extra
  }))

describe("runProcess", () => {
  it("keeps only the passed-through variables, plus the extra ones", () => {
    const env = scrubbedEnv({ BLUE_REPO_ROOT: "/r" }, { PATH: "/bin", SECRET_TOKEN: "x", HOME: "/h" })
    expect(env).toEqual({ PATH: "/bin", HOME: "/h", BLUE_REPO_ROOT: "/r" })
    expect(PASSED_ENV).not.toContain("SECRET_TOKEN")
  })

  it("reports stdout, stderr and the exit code apart, and feeds stdin", async () => {
    const r = await run(
      "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{console.log(s.trim());console.error('e');process.exit(3)})",
      { stdin: "in\n" }
    )
    expect(r).toMatchObject({ code: 3, timedOut: false, spawnError: undefined, stdout: "in\n", stderr: "e\n" })
  })

  it("without a grace period, a timeout kills the group and reports at once", async () => {
    const t = Date.now()
    const r = await run("setInterval(() => {}, 1000)", { timeoutMs: 200 })
    expect(r).toMatchObject({ code: null, timedOut: true })
    expect(Date.now() - t).toBeLessThan(5_000)
  })

  it("keeps at most outputLimit bytes and counts the rest", async () => {
    const r = await run("process.stdout.write('x'.repeat(1000))", { outputLimit: 100 })
    expect(r.output).toBe("x".repeat(100))
    expect(r.dropped).toBe(900)
  })

  it("reports a program that cannot start, without failing", async () => {
    const r = await run("", { command: "/nonexistent/program" })
    expect(r.code).toBe(null)
    expect(r.spawnError?.message).toContain("ENOENT")
  })

  it("readOutputSync returns stdout whatever the exit code, and undefined when the tool cannot start", () => {
    expect(readOutputSync(process.execPath, ["-e", "console.log('o');process.exit(1)"], process.cwd())).toBe("o\n")
    expect(readOutputSync("/nonexistent/program", [], process.cwd())).toBe(undefined)
  })
})

describe("spawnDetached", () => {
  it("starts a program in its own process group, its output appended to a file, and tells how it ended", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blue-detached-"))
    try {
      const log = path.join(dir, "out.log")
      fs.writeFileSync(log, "before\n")
      const fd = fs.openSync(log, "a")
      const d = spawnDetached({
        command: process.execPath,
        args: [
          "-e",
          "console.log('out ' + process.env.MARK); console.error('err'); setTimeout(() => process.exit(3), 300)"
        ],
        cwd: dir,
        env: { MARK: "m1" },
        outputFd: fd
      })
      fs.closeSync(fd)
      expect(d.pid).toBeTypeOf("number")
      // The leader of a group of its own: a signal to ours does not reach it.
      const stat = fs.readFileSync(`/proc/${d.pid}/stat`, "utf8")
      expect(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2])).toBe(d.pid)
      expect(d.exited()).toBeUndefined()
      const deadline = Date.now() + 10_000
      while (d.exited() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(d.exited()).toBe("exit code 3")
      expect(fs.readFileSync(log, "utf8")).toBe("before\nout m1\nerr\n")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("reports a program that cannot be run", async () => {
    const d = spawnDetached({ command: "/nonexistent/blue", args: [], cwd: os.tmpdir(), env: {}, outputFd: 1 })
    const deadline = Date.now() + 5_000
    while (d.exited() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(d.pid).toBeUndefined()
    expect(d.exited()).toMatch(/^could not run \/nonexistent\/blue: /)
  })
})
