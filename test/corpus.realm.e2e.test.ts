/**
 * Bad-input corpus, part 2 (surroundings): `.blue/config.yaml`, the realm's structure, the environment,
 * hand-broken realm files (seen by `check --mode contract`, which must also leave .blue/cache.db alone when it
 * fails) and huge inputs, each through the real binary on a copy of one prepared workspace.
 */
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, it } from "vitest"
import {
  APERTURE,
  BINARY,
  type Case,
  type Ctx,
  FUNGAL,
  LONER,
  makeTemplate,
  mkfifo,
  REALM,
  runCase
} from "./support/corpus.js"
import type { Workspace } from "./support/workspace.js"

let template: Workspace
beforeAll(() => {
  template = makeTemplate()
})
afterAll(() => template?.cleanup())

const CONFIG = `${APERTURE}/.blue/config.yaml`
const STATUS = ["realm", "status"]
const EXPORT = ["realm", "export", "--name", "s3-permissions", "--value", JSON.stringify({ paths: ["b"] })]
const config = (text: string | Buffer) => (x: Ctx) => x.write(CONFIG, text)
const good = (over: string) => `realm:\n  name: letemcook\n  path: ../${REALM}\n${over}`

/** Broken configs, each with what the refusal must name (the file is always named). */
const BAD_CONFIGS: ReadonlyArray<readonly [string, (x: Ctx) => void, ReadonlyArray<string>]> = [
  ["malformed YAML", config("realm: [\n"), ["malformed YAML"]],
  ["empty", config(""), []],
  ["binary", config(BINARY), []],
  ["a FIFO", (x) => {
    fs.rmSync(x.path(CONFIG))
    mkfifo(x.path(CONFIG))
  }, ["not a regular file"]],
  ["a directory", (x) => {
    fs.rmSync(x.path(CONFIG))
    fs.mkdirSync(x.path(CONFIG))
  }, ["not a regular file"]],
  ["realm.name of another realm", config(`realm:\n  name: other\n  path: ../${REALM}\nrepo: aperture\n`), [
    "realm.name",
    "other",
    "letemcook"
  ]],
  ["realm.path missing", config(`realm:\n  name: letemcook\n  path: ../nowhere\nrepo: aperture\n`), [
    "realm.path",
    "../nowhere"
  ]],
  ["realm.path at a code repo", config(`realm:\n  name: letemcook\n  path: ../${LONER}\nrepo: aperture\n`), [
    "realm.path",
    `../${LONER}`
  ]],
  ["realm.path at a file", (x) => {
    x.write("plain.txt", "x")
    x.write(CONFIG, `realm:\n  name: letemcook\n  path: ../plain.txt\nrepo: aperture\n`)
  }, ["realm.path", "../plain.txt"]],
  ["repo not kebab-case", config(good("repo: Bad Name\n")), ["repo", "Bad Name"]],
  ["no realm", config("repo: aperture\n"), ["realm"]],
  ["realm as a string", config("realm: letemcook\nrepo: aperture\n"), ["realm"]],
  ["realm.path as a number", config("realm:\n  name: letemcook\n  path: 5\nrepo: aperture\n"), ["realm.path"]],
  ["over the size limit", config(good(`repo: aperture\n# ${"x".repeat(5 * 1024 * 1024)}\n`)), ["MiB"]]
]

const configs: Array<Case> = [
  ...BAD_CONFIGS.flatMap(([what, prepare, says]) =>
    [["status", STATUS], ["export", EXPORT]].map(([cmd, args]): Case => ({
      name: `${cmd} with .blue/config.yaml ${what}`,
      prepare,
      args: args as ReadonlyArray<string>,
      refused: (x) => [x.path(CONFIG), ...says]
    }))
  ),
  {
    name: "status with unknown keys in the config accepted",
    prepare: config(good("repo: aperture\nnotes: mine\n")),
    args: STATUS
  },
  {
    name: "export with a commented config accepted",
    prepare: config(`# mine\n${good("repo: aperture # me\n")}`),
    args: EXPORT
  }
]

const structure: Array<Case> = [
  { name: "export in the realm repo", cwd: REALM, args: EXPORT, refused: ["member repo"] },
  {
    name: "import in the realm repo",
    cwd: REALM,
    args: ["realm", "import", "--contract", "s3-permissions", "--domain", "s3-access", "--version", "^1.0.0"],
    refused: ["member repo"]
  },
  { name: "status in a repo that has not joined", cwd: LONER, args: STATUS, refused: ["join"] },
  { name: "export in a repo that has not joined", cwd: LONER, args: EXPORT, refused: ["join"] },
  { name: "export from outside any git repo", cwd: ".", args: EXPORT, refused: ["join"] },
  {
    name: "export when the realm has lost its .git",
    prepare: (x) => fs.rmSync(x.path(REALM, ".git"), { recursive: true }),
    args: EXPORT,
    refused: ["realm.path"]
  },
  {
    name: "join a realm path that is a file",
    cwd: LONER,
    prepare: (x) => x.write("plain.txt", "x"),
    args: ["realm", "admin", "join", "../plain.txt"],
    refused: ["plain.txt"]
  },
  {
    name: "join a FIFO",
    cwd: LONER,
    prepare: (x) => mkfifo(x.path("pipe")),
    args: ["realm", "admin", "join", "../pipe"],
    refused: ["pipe"]
  }
]

const ENV_EXPORT: ReadonlyArray<readonly [string, (x: Ctx) => Record<string, string>, ReadonlyArray<string>]> = [
  ["BLUE_HOME empty", () => ({ BLUE_HOME: "" }), ["BLUE_HOME"]],
  ["BLUE_HOME a file", (x) => ({ BLUE_HOME: x.write("home-file", "x") }), ["BLUE_HOME"]],
  ["BLUE_HOME /dev/null", () => ({ BLUE_HOME: "/dev/null" }), ["BLUE_HOME", "/dev/null"]],
  ["BLUE_HOME below a file", (x) => ({ BLUE_HOME: `${x.write("home-file", "x")}/sub` }), ["BLUE_HOME"]],
  ["BLUE_HOME relative", () => ({ BLUE_HOME: "rel-home" }), ["BLUE_HOME", "rel-home"]]
]
const BAD_TIMEOUTS = ["abc", "-5", "1.5", " ", "Infinity", "1e3", "0x10", "NaN", "99999999999"]
const environment: Array<Case> = [
  ...ENV_EXPORT.flatMap(([what, env, says]) =>
    [["status", STATUS], ["export", EXPORT]].map(([cmd, args]): Case => ({
      name: `${cmd} with ${what}`,
      env,
      args: args as ReadonlyArray<string>,
      refused: says
    }))
  ),
  ...BAD_TIMEOUTS.map((v): Case => ({
    name: `export with BLUE_LOCK_TIMEOUT_MS=${JSON.stringify(v)}`,
    env: { BLUE_LOCK_TIMEOUT_MS: v },
    args: EXPORT,
    refused: ["BLUE_LOCK_TIMEOUT_MS", JSON.stringify(v)]
  })),
  ...["", "0", "100", "30000"].map((v): Case => ({
    name: `export with BLUE_LOCK_TIMEOUT_MS=${JSON.stringify(v)} accepted`,
    env: { BLUE_LOCK_TIMEOUT_MS: v },
    args: EXPORT
  }))
]

/** Hand edits of realm files: [what, file (relative to the realm), edit]. */
const BREAKS: ReadonlyArray<readonly [string, string, (x: Ctx, file: string) => void]> = [
  ["realm.yaml malformed", "realm.yaml", (x, f) => x.write(f, "name: [\n")],
  [
    "realm.yaml admission bogus",
    "realm.yaml",
    (x, f) => edit(x, f, (t) => t.replace(/admission: \S+/, "admission: bogus"))
  ],
  ["realm.yaml deleted", "realm.yaml", (x, f) => fs.rmSync(x.path(f))],
  ["repos/<fungal> malformed", `repos/${FUNGAL}.yaml`, (x, f) => x.write(f, ": : :\n")],
  [
    "repos/<aperture> renamed inside",
    `repos/${APERTURE}.yaml`,
    (x, f) => edit(x, f, (t) => t.replace(/name: aperture/, "name: other"))
  ],
  ["repos/ghost.yaml added", "repos/ghost.yaml", (x, f) => x.write(f, "name: ghost\npath: ../ghost\n")],
  ["domain.yaml malformed", "domains/s3-access/domain.yaml", (x, f) => x.write(f, "{{\n")],
  [
    "domain.yaml members changed",
    "domains/s3-access/domain.yaml",
    (x, f) => edit(x, f, (t) => t.replace(/- fungal-image-analysis/, "- ghost"))
  ],
  [
    "binding role bogus",
    `domains/s3-access/bindings/${FUNGAL}.yaml`,
    (x, f) => edit(x, f, (t) => t.replace(/role: consumer/, "role: bogus"))
  ],
  ["binding malformed", `domains/s3-access/bindings/${FUNGAL}.yaml`, (x, f) => x.write(f, "imports: [\n")],
  ["binding deleted", `domains/s3-access/bindings/${APERTURE}.yaml`, (x, f) => fs.rmSync(x.path(f))],
  [
    "contract version not semver",
    "domains/s3-access/contracts/s3-permissions.yaml",
    (x, f) => edit(x, f, (t) => t.replace(/^version: .*$/m, "version: x"))
  ],
  ["contract malformed", "domains/s3-access/contracts/s3-permissions.yaml", (x, f) => x.write(f, "schema: [\n")]
]
const edit = (x: Ctx, file: string, change: (text: string) => string) =>
  x.write(file, change(fs.readFileSync(x.path(file), "utf8")))

const inRealm = (f: string) => `${REALM}/${f}`
const handBroken: Array<Case> = BREAKS.flatMap(([what, file, breakIt]) => [
  {
    name: `check --mode contract: ${what}, committed by hand`,
    prepare: (x: Ctx) => {
      breakIt(x, inRealm(file))
      x.git(REALM, "add", "-A")
      x.git(REALM, "commit", "-q", "-m", "hand edit")
    },
    realmCommitted: true as const,
    args: ["realm", "check", "--mode", "contract"],
    report: true as const,
    refused: [file]
  },
  {
    name: `check --mode contract: ${what}, not committed`,
    prepare: (x: Ctx) => breakIt(x, inRealm(file)),
    args: ["realm", "check", "--mode", "contract"],
    report: true as const,
    refused: [file]
  }
])

const huge: Array<Case> = [
  {
    name: "domain create with a 10k-character name",
    args: ["realm", "admin", "domain", "create", "x".repeat(10_000), "--repos", `${APERTURE},${FUNGAL}`],
    refused: ["longer than 64"]
  },
  {
    name: "import with a 10k-character range",
    cwd: FUNGAL,
    args: [
      "realm",
      "import",
      "--contract",
      "s3-permissions",
      "--domain",
      "s3-access",
      "--version",
      `^1.0.0 ${"|| ^1.0.0 ".repeat(1000)}`
    ],
    refused: ["--version"]
  },
  {
    name: "export of a 2 MiB value",
    prepare: (x) => x.write(`${APERTURE}/v.json`, JSON.stringify({ a: "x".repeat(2 * 1024 * 1024) })),
    args: ["realm", "export", "--name", "s3-permissions", "--file", "v.json"],
    refused: ["1 MiB"]
  },
  {
    name: "export of a value with 200k small entries (over 1 MiB)",
    prepare: (x) => x.write(`${APERTURE}/v.json`, JSON.stringify({ a: Array.from({ length: 200_000 }, (_, i) => i) })),
    args: ["realm", "export", "--name", "s3-permissions", "--file", "v.json"],
    refused: ["1 MiB"]
  },
  {
    name: "export of a 2 MiB schema",
    prepare: (x) =>
      x.write(`${APERTURE}/s.json`, JSON.stringify({ type: "object", description: "x".repeat(2 * 1024 * 1024) })),
    args: ["realm", "export", "--name", "s3-permissions", "--schema", "s.json"],
    refused: ["1 MiB"]
  },
  {
    name: "export with 10k-character source glob accepted",
    args: [...EXPORT, "--source-files", `src/${"a".repeat(10_000)}`]
  },
  {
    name: "export of a 500 KiB value accepted",
    prepare: (x) => x.write(`${APERTURE}/v.json`, JSON.stringify({ a: "x".repeat(500 * 1024) })),
    args: ["realm", "export", "--name", "s3-permissions", "--file", "v.json"]
  }
]

const groups: Record<string, Array<Case>> = {
  ".blue/config.yaml": configs,
  "realm structure": structure,
  environment,
  "hand-broken realm files": handBroken,
  "huge inputs": huge
}

describe.concurrent.each(Object.entries(groups))("%s", (_, cases) => {
  it.for(cases.map((k) => [k.name, k] as const))("%s", async ([, k], { expect }) => {
    await runCase(template, k, expect)
  })
})
