/**
 * CLI conventions through the real binary: realm content with control characters never reaches a terminal raw,
 * usage errors say `Error: …` with a hint and exit 64, help lists each command once by its full path, the RFC's
 * short spellings work, and the completion scripts complete every level.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, FUNGAL, ok, REALM, seedStory } from "./support/seed.js"
import { BLUE_BIN, dbFingerprint, fingerprint, makeWorkspace, type Run, type Workspace } from "./support/workspace.js"

// ESC, BEL, CSI (C1), CR and a bidi override: none may reach a terminal raw.
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/
const TITLE = "\u001b]0;PWNED\u0007"
const hasRaw = (r: Run) => RAW.test(r.stdout) || RAW.test(r.stderr)

describe("terminal safety: realm content is printed with control characters escaped", () => {
  let ws: Workspace
  beforeAll(() => {
    ws = makeWorkspace("blue-conventions")
    seedStory(ws)
    ok(
      ws.blue(
        APERTURE,
        "realm",
        "admin",
        "domain",
        "create",
        "evil",
        "--repos",
        `${APERTURE},${FUNGAL}`,
        "--description",
        "desc \u001b[31mred\u001b[0m \u009b2J \r overwrite \u202eevil"
      ),
      "domain create evil"
    )
    ok(
      ws.blue(
        APERTURE,
        "realm",
        "export",
        "--name",
        "evil",
        "--value",
        JSON.stringify({ title: TITLE, csi: "\u009b2J" })
      ),
      "export evil"
    )
  })
  afterAll(() => ws.cleanup())

  it("status (fast path and full engine), log, graph and check print \\x1b, never ESC", () => {
    const runs = {
      fast: ws.blue(FUNGAL, "status"),
      full: ws.blue(FUNGAL, "realm", "status", "--no-cache"),
      admin: ws.blue(REALM, "realm", "status"),
      log: ws.blue(FUNGAL, "realm", "log"),
      graph: ws.blue(FUNGAL, "realm", "graph"),
      mermaid: ws.blue(FUNGAL, "realm", "graph", "--format", "mermaid"),
      checkText: ws.blue(FUNGAL, "realm", "check", "--mode", "importer"),
      checkGithub: ws.blue(FUNGAL, "realm", "check", "--mode", "importer", "--format", "github"),
      checkJunit: ws.blue(FUNGAL, "realm", "check", "--mode", "importer", "--format", "junit"),
      export: ws.blue(APERTURE, "realm", "export", "--name", "evil", "--value", JSON.stringify({ t: TITLE + "2" }))
    }
    for (const [name, run] of Object.entries(runs)) {
      expect(hasRaw(run), `${name} printed a raw control character:\n${run.stdout}\n${run.stderr}`).toBe(false)
    }
    // The value is there, readable, with its escapes.
    expect(runs.fast.stdout).toContain("\\x1b]0;PWNED\\x07")
    expect(runs.full.stdout).toContain("\\x1b]0;PWNED\\x07")
    expect(runs.full.stdout).toContain("\\x9b2J")
    expect(runs.export.stdout).toContain("\\x1b]0;PWNED\\x072")
  })

  it("an error that quotes a value escapes it too, and --json keeps the value JSON-escaped", () => {
    const refused = ws.blue(FUNGAL, "realm", "export", "--name", `x${TITLE}`, "--value", "{}")
    expect(refused.code).toBe(1)
    expect(hasRaw(refused)).toBe(false)
    const json = ws.blue(FUNGAL, "realm", "status", "--json")
    expect(hasRaw(json)).toBe(false)
    expect(json.stdout).toContain("\\u001b]0;PWNED\\u0007")
    expect(JSON.stringify(json.json())).toContain("PWNED")
  })
})

describe("usage errors: Error: …, a hint, exit 64, nothing changed", () => {
  let ws: Workspace
  let before: { realm: Map<string, string>; repo: Map<string, string>; db: string }
  beforeAll(() => {
    ws = makeWorkspace("blue-usage")
    seedStory(ws)
    before = { realm: fingerprint(ws.path(REALM)), repo: fingerprint(ws.path(FUNGAL)), db: dbFingerprint(ws.home) }
  })
  afterAll(() => {
    expect(fingerprint(ws.path(REALM))).toEqual(before.realm)
    expect(fingerprint(ws.path(FUNGAL))).toEqual(before.repo)
    expect(dbFingerprint(ws.home)).toEqual(before.db)
    ws.cleanup()
  })

  it.each([
    [["realm", "stauts"], "Error: unknown command 'stauts' for 'blue realm'. Did you mean 'status'?", "blue realm"],
    [["stauts"], "Error: unknown command 'stauts' for 'blue'. Did you mean 'status'?", "blue"],
    [
      ["realm", "admin", "inti"],
      "Error: unknown command 'inti' for 'blue realm admin'. Did you mean 'init'?",
      "blue realm admin"
    ],
    [["daemon", "stpo"], "Error: unknown command 'stpo' for 'blue daemon'. Did you mean 'stop'?", "blue daemon"],
    [
      ["realm", "status", "--jsno"],
      "Error: unknown option '--jsno' for 'blue realm status'. Did you mean '--json'?",
      "blue realm status"
    ],
    [
      ["realm", "graph", "--format", "pie"],
      "Error: --format \"pie\": expected one of text, mermaid, dot",
      "blue realm graph"
    ],
    [["realm", "export"], "Error: missing option '--name'", "blue realm export"],
    [["realm", "log", "extra"], "Error: unexpected argument 'extra'", "blue realm log"],
    [["--wizard"], "Error: unknown option '--wizard' for 'blue'.", "blue"]
  ])("blue %j", (args, message, at) => {
    const run = ws.blue(FUNGAL, ...args)
    expect(run.code).toBe(64)
    expect(run.stdout).toBe("")
    expect(run.stderr).toBe(`${message}\nRun '${at} --help' for usage.\n`)
  })

  it("with --json the usage error is one document on stdout", () => {
    const run = ws.blue(FUNGAL, "realm", "graph", "--format", "pie", "--json")
    expect(run.code).toBe(64)
    expect(run.json()).toEqual({
      error: {
        _tag: "UsageError",
        message: "--format \"pie\": expected one of text, mermaid, dot",
        hint: "Run 'blue realm graph --help' for usage."
      }
    })
  })

  it("a failed check exits 1, not 64", () => {
    const run = ws.blue(FUNGAL, "realm", "check", "--mode", "compatibility", "--name", "no-such-contract")
    expect(run.code).toBe(1)
  })
})

describe("help, version and the RFC's spellings", () => {
  let ws: Workspace
  beforeAll(() => {
    ws = makeWorkspace("blue-help")
  })
  afterAll(() => ws.cleanup())

  it("the root help lists every command once by its full path, without colour when not a TTY", () => {
    const run = ws.blue(".", "--help")
    expect(run.code).toBe(0)
    expect(run.stdout).not.toMatch(/\x1b/)
    const commands = run.stdout.split("\n").filter((l) => /^ {2}blue /.test(l)).map((l) => l.trim().split(/\s{2,}/)[0])
    expect(commands).toContain("blue realm admin init")
    expect(commands).toContain("blue realm admin domain create")
    expect(commands).toContain("blue daemon install")
    expect(new Set(commands).size).toBe(commands.length)
    expect(run.stdout).not.toContain("realm realm")
    expect(run.stdout).not.toContain("--wizard")
    expect(run.stdout).not.toContain("A user-defined piece of text")
    expect(run.stdout).toContain("64 usage error")
  })

  it("every command's help has a full usage line and says something about every option", () => {
    const init = ws.blue(".", "realm", "admin", "init", "--help")
    expect(init.code).toBe(0)
    expect(init.stdout).toContain(
      "Usage: blue realm admin init --name NAME [--path PATH] [--remote URL] [--admission open|approval|invite-only] [--json]"
    )
    const create = ws.blue(".", "realm", "admin", "domain", "create", "--help")
    expect(create.stdout).toContain("Usage: blue realm admin domain create --repos REPOS")
    expect(create.stdout).toMatch(/--description DESCRIPTION +\S/)
    for (const args of [["realm", "check"], ["realm", "export"], ["daemon", "install"], ["realm", "trust"]]) {
      const help = ws.blue(".", ...args, "--help")
      expect(help.code).toBe(0)
      for (const line of help.stdout.split("\n").filter((l) => /^ {2}(-\w, )?--/.test(l))) {
        expect(line, `${args.join(" ")}: an option without a description`).toMatch(/^ {2}\S.*\S {2,}\S/)
      }
    }
  })

  it("help is bold on a terminal, and plain with NO_COLOR", () => {
    const tty = (env: NodeJS.ProcessEnv) =>
      spawnSync("script", [
        "-qec",
        `${JSON.stringify(process.execPath)} ${JSON.stringify(BLUE_BIN)} --help`,
        "/dev/null"
      ], {
        encoding: "utf8",
        env
      })
    if (spawnSync("sh", ["-c", "command -v script"]).status !== 0) {
      console.warn("script(1) is not installed: skipping the terminal colour check")
      return
    }
    const { NO_COLOR: _, ...colourEnv } = ws.env
    expect(tty(colourEnv).stdout).toContain("\x1b[1mUsage:\x1b[0m")
    expect(tty(ws.env).stdout).not.toContain("\x1b[")
  })

  it("--version prints the version once, and so does -v", () => {
    const long = ws.blue(".", "--version")
    const short = ws.blue(".", "-v")
    expect(long.code).toBe(0)
    expect(long.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/)
    expect(short.stdout).toBe(long.stdout)
  })

  it("blue realm init / join / domain create are the admin commands", () => {
    const aperture = ws.repo(APERTURE)
    ws.repo(FUNGAL)
    const init = ok(ws.blue(".", "realm", "init", "--name", "letemcook", "--json"), "realm init")
    expect(init.json().realm).toBe("letemcook")
    ok(ws.blue(APERTURE, "realm", "join", `../${REALM}`), "realm join")
    ok(ws.blue(FUNGAL, "realm", "join", `../${REALM}`), "realm join")
    const created = ok(
      ws.blue(APERTURE, "realm", "domain", "create", "s3-access", "--repos", `${APERTURE},${FUNGAL}`, "--json"),
      "realm domain create"
    )
    expect(created.json()).toMatchObject({ domain: "s3-access", provider: APERTURE, consumers: [FUNGAL] })
    expect(fingerprint(aperture).has(".blue/config.yaml")).toBe(true)
    const help = ws.blue(".", "realm", "join", "--help")
    expect(help.stdout).toContain("Usage: blue realm admin join")

    // Counts agree with their nouns.
    expect(ok(ws.blue(FUNGAL, "realm", "graph"), "graph").stdout).toContain("Realm letemcook: 2 repos, 1 dependency\n")
    expect(ok(ws.blue(FUNGAL, "realm", "status"), "status").stdout).toMatch(/Realm: 2 repos, 1 domain, \d+ events ·/)
    const github = ws.blue(APERTURE, "realm", "check", "--mode", "exporter", "--format", "github")
    expect(github.stdout).toMatch(/::0 errors, 0 warnings, \d+ ok\n$|::0 errors, 1 warning, \d+ ok\n$|::1 error, /)
  })
})

describe("completions", () => {
  let ws: Workspace
  beforeAll(() => {
    ws = makeWorkspace("blue-completions")
  })
  afterAll(() => ws.cleanup())

  const script = (shell: string) => {
    const run = ws.blue(".", "--completions", shell)
    expect(run.code).toBe(0)
    return run.stdout
  }

  /** What bash's completion function offers for the words typed so far (the last one being completed). */
  const bash = (...words: Array<string>): Array<string> => {
    const file = ws.path("blue.bash")
    fs.writeFileSync(file, script("bash"))
    const quoted = words.map((w) => `'${w}'`).join(" ")
    const r = spawnSync("bash", [
      "-c",
      `source '${file}'; COMP_WORDS=(blue ${quoted}); COMP_CWORD=${words.length}; _blue_complete; printf '%s\\n' "\${COMPREPLY[@]}"`
    ], { encoding: "utf8" })
    expect(r.stderr).toBe("")
    return r.stdout.split("\n").filter((l) => l.length > 0)
  }

  it("bash completes subcommands at every level, options and their values", () => {
    expect(bash("")).toEqual(expect.arrayContaining(["realm", "status", "daemon", "mcp", "--help", "--version"]))
    expect(bash("re")).toEqual(["realm"])
    expect(bash("realm", "")).toEqual(expect.arrayContaining(["admin", "status", "check", "graph", "log"]))
    expect(bash("realm", "admin", "")).toEqual(expect.arrayContaining(["init", "join", "domain", "leave", "cache"]))
    expect(bash("realm", "admin", "domain", "")).toEqual(["create", "--help"])
    expect(bash("realm", "admin", "domain", "create", "--")).toEqual(
      expect.arrayContaining(["--repos", "--contract", "--description", "--json"])
    )
    expect(bash("realm", "check", "--mode", "")).toEqual(["exporter", "importer", "contract", "compatibility", "realm"])
    expect(bash("realm", "check", "--mode", "realm", "--format", "j")).toEqual(["json", "junit"])
    expect(bash("realm", "graph", "--format", "")).toEqual(["text", "mermaid", "dot"])
    expect(bash("realm", "admin", "init", "--name", "x", "--adm")).toEqual(["--admission"])
    expect(bash("daemon", "")).toEqual(expect.arrayContaining(["run", "start", "stop", "status", "install"]))
    expect(bash("--completions", "")).toEqual(["bash", "zsh", "fish"])
    // The RFC's short spellings complete like the admin commands.
    expect(bash("realm", "domain", "")).toEqual(["create", "--help"])
    expect(bash("realm", "init", "--")).toEqual(expect.arrayContaining(["--name", "--path", "--admission"]))
  })

  const has = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0

  it("the zsh script parses (zsh -n) and names every level", () => {
    const text = script("zsh")
    expect(text).toContain("#compdef blue")
    expect(text).toContain("_blue_realm_admin_domain_create()")
    expect(text).toContain("'--mode[")
    expect(text).toContain("(exporter importer contract compatibility realm)")
    if (!has("zsh")) {
      console.warn("zsh is not installed: skipping the zsh -n parse check")
      return
    }
    const file = ws.path("_blue")
    fs.writeFileSync(file, text)
    const r = spawnSync("zsh", ["-n", file], { encoding: "utf8" })
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    // An interactive zsh on a pseudo-terminal (zpty) with compinit and the script: what TAB lists at each level.
    const listed = (line: string) => {
      const driver = ws.path("complete.zsh")
      fs.writeFileSync(
        driver,
        [
          "zmodload zsh/zpty",
          "zpty z zsh -f -i",
          `zpty -w z 'PS1="%% "; autoload -Uz compinit; compinit -u -D; source ${file}; blue() { : }'`,
          "sleep 1",
          `zpty -w -n z $'${line}\\t'`,
          "sleep 2",
          `local all="" out`,
          "while zpty -r -t z out 2>/dev/null; do all+=$out; done",
          `print -r -- "$all"`,
          "zpty -d z"
        ].join("\n")
      )
      const out = spawnSync("zsh", ["-f", driver], { encoding: "utf8", timeout: 20_000 }).stdout
      return out.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, "").replace(/\r/g, "\n")
    }
    const admin = listed("blue realm admin ")
    for (
      const word of ["approve", "cache", "domain", "governance", "init", "invite", "join", "leave", "reindex", "reject"]
    ) {
      expect(admin).toMatch(new RegExp(`^${word} +-- `, "m"))
    }
    expect(listed("blue realm check --mode ")).toMatch(/compatibility +contract +exporter +importer +realm/)
    expect(listed("blue realm admin domain create --")).toMatch(/^--repos +-- comma-separated repos/m)
    expect(listed("blue realm domain ")).toContain("blue realm domain create")
  }, 60_000)

  it("the fish script parses (fish -n) and names every level", () => {
    const text = script("fish")
    expect(text).toContain("complete -c blue -n \"__blue_at 'realm admin domain'\" -a 'create'")
    expect(text).toContain("-l mode -x -a 'exporter importer contract compatibility realm'")
    if (!has("fish")) {
      console.warn("fish is not installed: skipping the fish -n parse check")
      return
    }
    const file = ws.path("blue.fish")
    fs.writeFileSync(file, text)
    const r = spawnSync("fish", ["-n", file], { encoding: "utf8" })
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    // fish completes a command line itself (complete -C): check what it offers at each level
    const offered = (line: string) => {
      const c = spawnSync("fish", ["--no-config", "-c", `source '${file}'; complete -C '${line}'`], {
        encoding: "utf8"
      })
      expect(c.stderr).toBe("")
      return c.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0])
    }
    expect(offered("blue realm admin ")).toEqual([
      "approve",
      "cache",
      "domain",
      "governance",
      "init",
      "invite",
      "join",
      "leave",
      "reindex",
      "reject"
    ])
    expect(offered("blue realm admin domain create --")).toEqual(
      expect.arrayContaining(["--contract", "--description", "--json", "--repos"])
    )
    expect(offered("blue realm check --mode ")).toEqual(["compatibility", "contract", "exporter", "importer", "realm"])
    expect(offered("blue realm domain ")).toEqual(["create"])
  })

  it("an unknown shell is a usage error", () => {
    const run = ws.blue(".", "--completions", "tcsh")
    expect(run.code).toBe(64)
    expect(run.stderr).toBe(
      "Error: --completions \"tcsh\": expected one of bash, zsh, fish\nRun 'blue --help' for usage.\n"
    )
  })
})
