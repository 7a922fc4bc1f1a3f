/**
 * Reads while another process repacks: a daemon's maintenance (`git repack -a -d`) or fetch replaces a realm's packs
 * while a command in another process reads the realm with isomorphic-git, which listed the old pack and then finds it
 * gone ("Cannot read properties of undefined (reading 'error')", "Could not read packfile"). Found by the 3 × 20 test's
 * `replay --verify`. The read drops the repo's cache and reads again, as git re-scans its packs.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { makeRealmGit } from "../src/adapters/realmGit.js"
import { gitIn } from "./support/git.js"

const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })
})

describe("RealmGit reads while another process repacks", () => {
  it("every read answers, none fails on a pack that went away", async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-repack-race-")))
    dirs.push(dir)
    const rg = makeRealmGit()
    await Effect.runPromise(rg.init(dir))
    let parent: string | undefined
    const commits: Array<string> = []
    for (let i = 0; i < 40; i++) {
      parent = await Effect.runPromise(rg.writeCommit(dir, {
        parent,
        writes: new Map([[`events/${i}.json`, `{"i":${i},"pad":"${"x".repeat(200 + i)}"}\n`]]),
        message: `c${i}`,
        author: { name: "t", email: "t@x" },
        time: 1e12 + i * 1000
      }))
      commits.push(parent)
    }
    await Effect.runPromise(rg.advance(dir, undefined, parent!))
    gitIn(dir, "repack", "-a", "-d", "-q")
    // Another process replaces the pack again and again (each time with other bytes, so under another name).
    const script =
      `i=0; while [ -e "${dir}/.git" ]; do i=$((i+1)); git -C "${dir}" repack -a -d -q -f --depth=$((i % 2 * 50)) 2>/dev/null; done`
    const repacker = spawn("sh", ["-c", script], { stdio: "ignore", detached: true })
    const ended = new Promise((r) => repacker.on("exit", r))
    const failures: Array<string> = []
    let reads = 0
    try {
      const until = Date.now() + 2_500
      while (Date.now() < until) {
        for (const [i, c] of commits.entries()) {
          const got = await Effect.runPromise(Effect.either(rg.readFile(dir, c, `events/${i}.json`)))
          reads++
          if (got._tag === "Left") failures.push(got.left.message.replace(/\n/g, " ").slice(-200))
          else expect(got.right).toContain(`"i":${i}`)
        }
      }
    } finally {
      // the shell and the git it runs (its process group), then wait: the repack must not write into the clean-up
      process.kill(-repacker.pid!, "SIGKILL")
      await ended
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(reads).toBeGreaterThan(40)
    expect(failures.slice(0, 3), `${failures.length} of ${reads} reads failed`).toEqual([])
  }, 30_000)
})
