/**
 * The suite runs where git has no identity configured (a fresh CI container, a newcomer's laptop): the commits tests
 * make themselves carry test/support's identity. Here with `HOME` pointing at an empty directory.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { git, makeWorkspace } from "./support/workspace.js"

const IDENTITY_VARS = [
  "GIT_AUTHOR_NAME",
  "GIT_AUTHOR_EMAIL",
  "GIT_COMMITTER_NAME",
  "GIT_COMMITTER_EMAIL",
  "EMAIL",
  "XDG_CONFIG_HOME",
  "GIT_CONFIG_GLOBAL"
]

describe("tests commit without a git identity of the machine's", () => {
  const saved = { ...process.env }
  let home: string
  beforeEach(() => {
    home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-nohome-")))
    process.env["HOME"] = home
    process.env["GIT_CONFIG_NOSYSTEM"] = "1"
    for (const v of IDENTITY_VARS) delete process.env[v]
  })
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
    fs.rmSync(home, { recursive: true, force: true })
  })

  it("git has no identity configured here", () => {
    const r = spawnSync("git", ["config", "user.email"], { cwd: home, encoding: "utf8" })
    expect(r.stdout).toBe("")
    expect(r.status).toBe(1)
  })

  it("test/support's git helper commits (commit-tree, commit) as the test identity; a call's own -c wins", () => {
    const dir = path.join(home, "repo")
    fs.mkdirSync(dir)
    git(dir, "init", "-q", "-b", "main")
    const tree = git(dir, "write-tree").trim()
    const orphan = git(dir, "commit-tree", tree, "-m", "orphan").trim()
    expect(git(dir, "log", "-1", "--format=%an <%ae> / %cn <%ce>", orphan).trim()).toBe(
      "Tester <tester@example.com> / Tester <tester@example.com>"
    )
    git(dir, "commit", "-q", "--allow-empty", "-m", "first")
    expect(git(dir, "log", "-1", "--format=%an <%ae>").trim()).toBe("Tester <tester@example.com>")
    git(dir, "-c", "user.name=Hand", "-c", "user.email=hand@example.com", "commit", "-q", "--allow-empty", "-m", "hand")
    expect(git(dir, "log", "-1", "--format=%an <%ae>").trim()).toBe("Hand <hand@example.com>")
  })

  it("a workspace's code repos get their first commit", () => {
    const ws = makeWorkspace("blue-nohome")
    try {
      const dir = ws.repo("aperture")
      expect(git(dir, "log", "-1", "--format=%an <%ae> %s").trim()).toBe("Tester <tester@example.com> initial")
    } finally {
      ws.cleanup()
    }
  })
})
