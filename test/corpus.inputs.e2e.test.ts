/**
 * Bad-input corpus, part 1 (arguments): names, semver versions and ranges, JSON values, files, schemas,
 * validation hooks, bindings, source files and flags, each through the real binary on a copy of one prepared
 * workspace. See test/support/corpus.ts for what "refused" and "accepted" assert.
 */
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, type ExpectStatic, it } from "vitest"
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

const show = (s: string) => JSON.stringify(s)
const BAD_NAMES: ReadonlyArray<string> = [
  "a/b",
  "..",
  "team a",
  ".hidden",
  "Aperture",
  "",
  "a--b",
  "a_b",
  "x".repeat(65),
  "é",
  "a\nb",
  "trailing-",
  "a\\b"
]
const EXPORT = ["realm", "export", "--name", "s3-permissions"]
const IMPORT = ["realm", "import", "--contract", "s3-permissions", "--domain", "s3-access"]
const VALUE = ["--value", JSON.stringify({ paths: ["b"] })]

const names: Array<Case> = [
  ...BAD_NAMES.map((v): Case => ({
    name: `init --name ${show(v)}`,
    cwd: ".",
    args: ["realm", "admin", "init", "--name", v, "--path", LONER],
    refused: [`Invalid realm name ${show(v)}`]
  })),
  ...BAD_NAMES.map((v): Case => ({
    name: `join --name ${show(v)}`,
    cwd: LONER,
    args: ["realm", "admin", "join", `../${REALM}`, "--name", v],
    refused: [`Invalid repo name ${show(v)}`]
  })),
  ...BAD_NAMES.map((v): Case => ({
    name: `domain create ${show(v)}`,
    args: ["realm", "admin", "domain", "create", v, "--repos", `${APERTURE},${FUNGAL}`],
    refused: [`Invalid domain name ${show(v)}`]
  })),
  ...BAD_NAMES.map((v): Case => ({
    name: `domain create --contract ${show(v)}`,
    args: ["realm", "admin", "domain", "create", "d2", "--repos", `${APERTURE},${FUNGAL}`, "--contract", v],
    refused: [`Invalid contract name ${show(v)}`]
  })),
  ...["a/b", "..", "Aperture", "x".repeat(65), "a\nb"].map((v): Case => ({
    name: `domain create --repos with ${show(v)}`,
    args: ["realm", "admin", "domain", "create", "d2", "--repos", `${APERTURE},${v}`],
    refused: [`Invalid repo name ${show(v)}`]
  })),
  ...["", "aperture,,fungal-image-analysis", ",aperture"].map((v): Case => ({
    name: `domain create --repos ${show(v)}`,
    args: ["realm", "admin", "domain", "create", "d2", "--repos", v],
    refused: ["Invalid repo name \"\"", "empty"]
  })),
  ...["a/b", "..", "Aperture", "x".repeat(65)].map((v): Case => ({
    name: `export --name ${show(v)}`,
    args: ["realm", "export", "--name", v, ...VALUE],
    refused: [`Invalid contract name ${show(v)}`]
  })),
  ...["a/b", "..", "Aperture", "x".repeat(65)].map((v): Case => ({
    name: `import --contract ${show(v)}`,
    cwd: FUNGAL,
    args: ["realm", "import", "--contract", v, "--domain", "s3-access", "--version", "^1.0.0"],
    refused: [`Invalid contract name ${show(v)}`]
  })),
  ...["a/b", "..", "Aperture", "x".repeat(65)].map((v): Case => ({
    name: `import --domain ${show(v)}`,
    cwd: FUNGAL,
    args: ["realm", "import", "--contract", "s3-permissions", "--domain", v, "--version", "^1.0.0"],
    refused: [`Invalid domain name ${show(v)}`]
  })),
  {
    name: "domain create -lead (a name that looks like a flag)",
    args: ["realm", "admin", "domain", "create", "-lead", "--repos", `${APERTURE},${FUNGAL}`],
    refused: ["unknown option '-lead' for 'blue realm admin domain create'"],
    // the front door reports it: a usage error (exit 64)
    usage: true
  },
  ...["z", "a1-b2", "x".repeat(64)].map((v): Case => ({
    name: `init --name ${show(v)} accepted`,
    cwd: ".",
    prepare: (x) => fs.mkdirSync(x.path("realms")),
    args: ["realm", "admin", "init", "--name", v, "--path", "realms"]
  })),
  {
    name: "join --name loner-2 accepted",
    cwd: LONER,
    args: ["realm", "admin", "join", `../${REALM}`, "--name", "loner-2"]
  },
  {
    name: "domain create d-2 accepted",
    args: ["realm", "admin", "domain", "create", "d-2", "--repos", `${APERTURE},${FUNGAL}`]
  }
]

const BAD_RANGES = [
  "",
  "\n",
  " ",
  ">=1.0.0,,",
  ",",
  ",,",
  "abc",
  "^",
  ">=",
  "||",
  "^1.0.0\n",
  "\t^1.0.0",
  ">=1.0.0,<",
  "^1.0.0 garbage",
  "x".repeat(300),
  "1.0.0 - ",
  "^1.0.0\u0007",
  "^1.0.0 ||"
]
const GOOD_RANGES = ["^1.0.0", ">=1.0.0, <2.0.0", ">=1.0.0 <2.0.0", "~1.0", "1.x", "*", "1.0.0 || 2.0.0", "^2.0.0"]
const BAD_VERSIONS = [
  "1",
  "1.0",
  "v2.0.0",
  "abc",
  "",
  " 2.0.0",
  "2.0.0 ",
  "02.0.0",
  "1.0.0-",
  "2.0.0+",
  "-1.0.0",
  "2.0.0\n"
]

const semverCases: Array<Case> = [
  ...BAD_RANGES.map((v): Case => ({
    name: `import --version ${show(v)}`,
    cwd: FUNGAL,
    args: [...IMPORT, "--version", v],
    refused: [`--version ${show(v)} is not a semver range`]
  })),
  ...GOOD_RANGES.map((v): Case => ({
    name: `import --version ${show(v)} accepted`,
    cwd: FUNGAL,
    args: [...IMPORT, "--version", v]
  })),
  ...BAD_VERSIONS.map((v): Case => ({
    name: `export --version ${show(v)}`,
    args: [...EXPORT, ...VALUE, "--version", v],
    refused: [`${show(v)} is not a valid semver version`]
  })),
  ...["0.9.0", "1.0.0"].map((v): Case => ({
    name: `export --version ${v} (lower than the change needs)`,
    args: [...EXPORT, ...VALUE, "--version", v],
    refused: v === "0.9.0" ? ["version 0.9.0 is lower than"] : ["the change needs a", "version stays 1.0.0"]
  })),
  ...["10.0.0", "3.1.4"].map((v): Case => ({
    name: `export --version ${v} accepted`,
    args: [...EXPORT, ...VALUE, "--version", v]
  }))
]

const BAD_VALUES: ReadonlyArray<readonly [string, string]> = [
  ["{\"a\":1e999}", "value a is a number too large for JSON"],
  ["{\"a\":-1e999}", "value a is a number too large for JSON"],
  ["{\"a\":[1e400]}", "value a[0] is a number too large for JSON"],
  ["{", "--value"],
  ["", "--value"],
  ["null", "--value"],
  ["[]", "--value"],
  ["[1,2]", "--value"],
  ["1", "--value"],
  ["\"x\"", "--value"],
  ["true", "--value"],
  ["{'a':1}", "--value"],
  ["{\"a\":1}x", "--value"],
  ["{\"a\":NaN}", "--value"],
  ["{\"a\":Infinity}", "--value"],
  ["{a:1}", "--value"],
  ["{\"a\":1,}", "--value"],
  ["\u0001", "--value"],
  [`${"{\"a\":".repeat(5000)}1${"}".repeat(5000)}`, "nested deeper than"]
]
const values: Array<Case> = [
  ...BAD_VALUES.map(([v, says]): Case => ({
    name: `export --value ${show(v)}`,
    args: [...EXPORT, "--value", v],
    refused: [says]
  })),
  { name: "export --value with no argument", args: [...EXPORT, "--value"], refused: ["--value"], usage: true },
  ...[
    "{\"paths\":[\"b\"]}",
    "{\"a\":1.5e300}",
    "{\"a\":{\"b\":[1,{\"c\":null}]}}",
    "{\"a\":\"ünïcödé ✓\"}",
    "{}",
    "{\"paths\":[\"a\"]}",
    ` { "paths" : [ "x" ] } `,
    `{"big":"${"x".repeat(100_000)}"}`
  ].map((v): Case => ({ name: `export --value ${show(v.slice(0, 40))} accepted`, args: [...EXPORT, "--value", v] }))
]

/** Bad files for --file/--schema/--validation, each with what the message must say. */
const badFiles = (option: string): Array<Case> => {
  const opt = `--${option}`
  const extra = option === "file" ? [] : VALUE
  const c = (
    name: string,
    file: string | ((c: Ctx) => string),
    prepare: ((c: Ctx) => void) | undefined,
    says: (c: Ctx) => ReadonlyArray<string>
  ): Case => ({
    name: `export ${opt} ${name}`,
    args: (ctx) => [...EXPORT, ...extra, opt, typeof file === "string" ? file : file(ctx)],
    ...(prepare === undefined ? {} : { prepare }),
    refused: says
  })
  const inRepo = (ctx: Ctx, f: string) => ctx.path(APERTURE, f)
  return [
    c("missing", "nope.json", undefined, (x) => [inRepo(x, "nope.json"), "does not exist"]),
    c(
      "a directory",
      "dir",
      (x) => fs.mkdirSync(x.path(APERTURE, "dir")),
      (x) => [inRepo(x, "dir"), "not a regular file"]
    ),
    c("a FIFO", "pipe", (x) => mkfifo(x.path(APERTURE, "pipe")), (x) => [inRepo(x, "pipe"), "not a regular file"]),
    c("/dev/zero", "/dev/zero", undefined, () => ["/dev/zero"]),
    c("empty", "empty.json", (x) => x.write(`${APERTURE}/empty.json`, ""), (x) => [inRepo(x, "empty.json"), "empty"]),
    c(
      "whitespace only",
      "blank.yaml",
      (x) => x.write(`${APERTURE}/blank.yaml`, "  \n\n"),
      (x) => [inRepo(x, "blank.yaml")]
    ),
    c("binary", "bin.json", (x) => x.write(`${APERTURE}/bin.json`, BINARY), (x) => [inRepo(x, "bin.json")]),
    c(
      "an array",
      "arr.json",
      (x) => x.write(`${APERTURE}/arr.json`, "[1, 2]"),
      (x) => [inRepo(x, "arr.json"), "object"]
    ),
    c("a number", "num.json", (x) => x.write(`${APERTURE}/num.json`, "42"), (x) => [inRepo(x, "num.json"), "object"]),
    c("null", "null.json", (x) => x.write(`${APERTURE}/null.json`, "null"), (x) => [inRepo(x, "null.json"), "object"]),
    c(
      "a YAML scalar",
      "s.yaml",
      (x) => x.write(`${APERTURE}/s.yaml`, "just text\n"),
      (x) => [inRepo(x, "s.yaml"), "object"]
    ),
    c(
      "malformed YAML",
      "bad.yaml",
      (x) => x.write(`${APERTURE}/bad.yaml`, "a: [1, 2\nb: }\n"),
      (x) => [inRepo(x, "bad.yaml")]
    ),
    c(
      "malformed JSON",
      "bad.json",
      (x) => x.write(`${APERTURE}/bad.json`, "{\"a\": 1,,}"),
      (x) => [inRepo(x, "bad.json")]
    ),
    c(
      "with 1e999",
      "inf.json",
      (x) => x.write(`${APERTURE}/inf.json`, "{\"a\": 1e999}"),
      (x) => [inRepo(x, "inf.json"), "number too large for JSON at a"]
    ),
    c(
      "in another repo",
      `../${FUNGAL}/x.json`,
      (x) => x.write(`${FUNGAL}/x.json`, "{}"),
      (x) => [x.path(FUNGAL, "x.json"), "outside"]
    ),
    c("/etc/hostname", "/etc/hostname", undefined, () => ["/etc/hostname", "outside"]),
    c("a symlink out of the repo", "link.json", (x) => {
      x.write("outside.json", "{}")
      fs.symlinkSync(x.path("outside.json"), x.path(APERTURE, "link.json"))
    }, (x) => [x.path(APERTURE, "link.json"), "outside"]),
    c(
      "over the size limit",
      "huge.json",
      (x) => x.write(`${APERTURE}/huge.json`, JSON.stringify({ a: "x".repeat(5 * 1024 * 1024) })),
      (x) => [inRepo(x, "huge.json"), "MiB"]
    )
  ]
}

const files: Array<Case> = [
  ...badFiles("file"),
  ...badFiles("schema"),
  ...badFiles("validation").slice(0, 10),
  {
    name: "export --file value.json accepted",
    prepare: (x) => x.write(`${APERTURE}/value.json`, "{\"paths\": [\"b\"]}"),
    args: [...EXPORT, "--file", "value.json"]
  },
  {
    name: "export --file value.yaml accepted",
    prepare: (x) => x.write(`${APERTURE}/value.yaml`, "paths:\n  - b\n"),
    args: [...EXPORT, "--file", "value.yaml"]
  },
  {
    name: "export --file sub/v.json from a subdirectory accepted",
    cwd: `${APERTURE}/sub`,
    prepare: (x) => x.write(`${APERTURE}/sub/v.json`, "{\"paths\": [\"c\"]}"),
    args: [...EXPORT, "--file", "v.json"]
  },
  {
    name: "export --file with a symlink inside the repo accepted",
    prepare: (x) => {
      x.write(`${APERTURE}/real.json`, "{\"paths\": [\"d\"]}")
      fs.symlinkSync("real.json", x.path(APERTURE, "alias.json"))
    },
    args: [...EXPORT, "--file", "alias.json"]
  },
  {
    name: "export --file of 900 KiB accepted",
    prepare: (x) => x.write(`${APERTURE}/big.json`, JSON.stringify({ a: "x".repeat(900 * 1024) })),
    args: [...EXPORT, "--file", "big.json"]
  }
]

const PLACEHOLDER = { type: "object", properties: {} }
const unchanged = (_: Ctx, run: { json: () => any }, expect: ExpectStatic) => {
  const doc = run.json()
  expect(doc.changed).toBe(false)
  expect(doc.version).toBe("1.0.0")
}
const schemas: Array<Case> = [
  ...[
    ["{\"type\":\"nonsense\"}", "schema"],
    ["{\"type\":\"object\",\"properties\":{\"paths\":{\"type\":\"string\"}}}", "paths"],
    ["{\"type\":\"object\",\"required\":[\"missing\"]}", "missing"],
    ["{\"properties\":\"x\"}", "schema"],
    ["{\"type\":\"object\",\"properties\":{\"paths\":{\"type\":\"array\",\"maxItems\":0}}}", "paths"],
    ["{\"type\":\"object\",\"additionalProperties\":false}", "'paths'"],
    ["{\"minLength\":\"x\"}", "schema"]
  ].map(([s, says]): Case => ({
    name: `export --schema ${s}`,
    prepare: (x) => x.write(`${APERTURE}/schema.json`, s!),
    args: [...EXPORT, "--schema", "schema.json"],
    refused: [says!]
  })),
  ...[
    ["keys in another order", JSON.stringify({ properties: {}, type: "object" })],
    ["as YAML", "type: object\nproperties: {}\n"],
    ["type as a one-element list", JSON.stringify({ type: ["object"], properties: {} })],
    ["with an empty required list", JSON.stringify({ ...PLACEHOLDER, required: [] })],
    ["with a title", JSON.stringify({ ...PLACEHOLDER })],
    ["indented", JSON.stringify(PLACEHOLDER, null, 4)]
  ].map(([what, s]): Case => ({
    name: `export --schema equivalent (${what}) is no change`,
    prepare: (x) => x.write(`${APERTURE}/schema.json`, s!),
    args: [...EXPORT, "--schema", "schema.json", "--json"],
    after: unchanged
  })),
  {
    name: "export --schema that adds a property accepted",
    prepare: (x) =>
      x.write(
        `${APERTURE}/schema.json`,
        JSON.stringify({ type: "object", properties: { paths: { type: "array", items: { type: "string" } } } })
      ),
    args: [...EXPORT, "--schema", "schema.json"]
  }
]

const hooks = (v: unknown) => (x: Ctx) => x.write(`${APERTURE}/hooks.json`, JSON.stringify(v))
const validation: Array<Case> = [
  ...[
    [{ exporter: "../../x.sh" }, "../../x.sh"],
    [{ exporter: "/etc/passwd" }, "/etc/passwd"],
    [{ importer: "../x.sh" }, "../x.sh"],
    [{ ci_only: ["/bin/sh"] }, "/bin/sh"],
    [{ ci_only: ["ok.sh", "../../up.sh"] }, "../../up.sh"],
    [{ exporter: "" }, "validation.exporter"],
    [{ exporter: 5 }, "validation.exporter"],
    [{ bogus: "x.sh" }, "validation.bogus"],
    [{ exporter: "a\u0000b" }, "validation.exporter"],
    [{ exporter: "~/x.sh" }, "~/x.sh"]
  ].map(([v, says]): Case => ({
    name: `export --validation ${JSON.stringify(v)}`,
    prepare: hooks(v),
    args: [...EXPORT, "--validation", "hooks.json"],
    refused: [says as string]
  })),
  {
    name: "export --validation scripts/check.sh accepted",
    prepare: hooks({ exporter: "scripts/check.sh" }),
    args: [...EXPORT, "--validation", "hooks.json"]
  }
]

const IMPORT_OK = [...IMPORT, "--version", "^1.0.0"]
const bindings: Array<Case> = [
  {
    name: "import --binding missing",
    cwd: FUNGAL,
    args: [...IMPORT_OK, "--binding", "cdk/stack.py"],
    refused: ["cdk/stack.py", "does not exist"]
  },
  {
    name: "import --binding in another repo",
    cwd: FUNGAL,
    args: [...IMPORT_OK, "--binding", "../aperture/README.md"],
    refused: ["aperture/README.md", "outside"]
  },
  {
    name: "import --binding /etc/passwd",
    cwd: FUNGAL,
    args: [...IMPORT_OK, "--binding", "/etc/passwd"],
    refused: ["/etc/passwd", "outside"]
  },
  {
    name: "import --binding a symlink out",
    cwd: FUNGAL,
    prepare: (x) => fs.symlinkSync("/etc/passwd", x.path(FUNGAL, "l.py")),
    args: [...IMPORT_OK, "--binding", "l.py"],
    refused: ["l.py", "outside"]
  },
  { name: "import --binding ''", cwd: FUNGAL, args: [...IMPORT_OK, "--binding", ""], refused: ["--binding"] },
  {
    name: "import --binding a directory",
    cwd: FUNGAL,
    prepare: (x) => fs.mkdirSync(x.path(FUNGAL, "cdk")),
    args: [...IMPORT_OK, "--binding", "cdk"],
    refused: ["cdk", "not a regular file"]
  },
  { name: "import --binding README.md accepted", cwd: FUNGAL, args: [...IMPORT_OK, "--binding", "README.md"] }
]

const sources: Array<Case> = [
  ...[
    ["../x", "'..'"],
    ["/etc/*", "absolute"],
    ["~/x", "'~'"],
    ["a/../../b", "'..'"],
    ["C:/x", "absolute"],
    ["src/a.ts,../b", "'..'"]
  ].map(([g, says]): Case => ({
    name: `export --source-files ${show(g!)}`,
    args: [...EXPORT, ...VALUE, "--source-files", g!],
    refused: [says!]
  })),
  { name: "export --source-files src/**/*.ts accepted", args: [...EXPORT, ...VALUE, "--source-files", "src/**/*.ts"] },
  ...(["FIFO", "file"] as const).map((kind): Case => ({
    name: kind === "FIFO"
      ? "export --detect with a FIFO among the source files (not matched, never opened) accepted"
      : "export --detect accepted",
    prepare: (x) => {
      x.write(
        `${APERTURE}/.blue/config.yaml`,
        `realm:\n  name: letemcook\n  path: ../${REALM}\nrepo: aperture\nexports:\n  s3-permissions:\n    pattern:\n      files: ["src/**/*.py"]\n      fields:\n        paths: 'read_path\\("([^"]+)"\\)'\n`
      )
      x.write(`${APERTURE}/src/a.py`, "read_path(\"b\")\n")
      if (kind === "FIFO") mkfifo(x.path(APERTURE, "src", "pipe.py"))
    },
    args: [...EXPORT, "--detect", "--json"],
    after: (_, run, expect) => expect(run.json().version).toBe("2.0.0")
  }))
]

const compat = ["realm", "check", "--mode", "compatibility", "--old"]
const checkFiles: Array<Case> = [
  {
    name: "check --old a FIFO",
    prepare: (x) => {
      mkfifo(x.path(APERTURE, "old.json"))
      x.write(`${APERTURE}/new.json`, "{}")
    },
    args: [...compat, "old.json", "--new", "new.json"],
    refused: (x) => [x.path(APERTURE, "old.json"), "(--old) is a FIFO"]
  },
  {
    name: "check --new a directory",
    prepare: (x) => {
      x.write(`${APERTURE}/old.json`, "{}")
      fs.mkdirSync(x.path(APERTURE, "new.json"))
    },
    args: [...compat, "old.json", "--new", "new.json"],
    refused: (x) => [x.path(APERTURE, "new.json"), "not a regular file"]
  },
  {
    name: "check --old over the size limit",
    prepare: (x) => {
      x.write(`${APERTURE}/old.json`, JSON.stringify({ description: "x".repeat(5 * 1024 * 1024) }))
      x.write(`${APERTURE}/new.json`, "{}")
    },
    args: [...compat, "old.json", "--new", "new.json"],
    refused: (x) => [x.path(APERTURE, "old.json"), "over the 4 MiB limit"]
  },
  {
    name: "check --old/--new schemas accepted",
    prepare: (x) => {
      x.write(`${APERTURE}/old.json`, JSON.stringify({ type: "object" }))
      x.write(`${APERTURE}/new.json`, JSON.stringify({ type: "object", properties: { a: { type: "string" } } }))
    },
    args: [...compat, "old.json", "--new", "new.json"]
  }
]

const flags: Array<Case> = [
  {
    name: "export --value and --file",
    prepare: (x) => x.write(`${APERTURE}/v.json`, "{}"),
    args: [...EXPORT, ...VALUE, "--file", "v.json"],
    refused: ["--value", "--file"]
  },
  {
    name: "init --path a/missing/dir",
    cwd: ".",
    args: ["realm", "admin", "init", "--name", "zz", "--path", "a/missing/dir"],
    refused: ["a/missing/dir"],
    after: (x, _, expect) => expect(fs.existsSync(x.path("a"))).toBe(false)
  },
  {
    name: "init --path a file",
    cwd: ".",
    prepare: (x) => x.write("afile", "x"),
    args: ["realm", "admin", "init", "--name", "zz", "--path", "afile"],
    refused: ["afile"]
  },
  { name: "import without --version", cwd: FUNGAL, args: [...IMPORT], refused: ["--version"], usage: true },
  { name: "export without --name", args: ["realm", "export", ...VALUE], refused: ["--name"], usage: true }
]

const groups: Record<string, Array<Case>> = {
  names,
  "semver and ranges": semverCases,
  "JSON values": values,
  files,
  schemas,
  validation,
  bindings,
  "source files": sources,
  "check files": checkFiles,
  flags
}

describe.concurrent.each(Object.entries(groups))("%s", (_, cases) => {
  it.for(cases.map((k) => [k.name, k] as const))("%s", async ([, k], { expect }) => {
    await runCase(template, k, expect)
  })
})
