/**
 * `blue realm check --mode exporter --format github` annotates where a drift comes from: the source line whose
 * pattern match captured a value the contract lacks, the key of a file+key extractor (YAML or JSON), and otherwise
 * (a value only removed) the export's entry in `.blue/config.yaml`.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, ok, S3, seedStory, setExports } from "./support/seed.js"
import { makeWorkspace, type Workspace } from "./support/workspace.js"

const SCHEMA = {
  type: "object",
  properties: { read: { type: "array", items: { type: "string" } } },
  required: ["read"]
}
const PATTERN = {
  [S3]: { pattern: { files: ["models/**/*.py"], fields: { read: String.raw`read_path\("s3://[^/]+/([^"]+)"\)` } } }
}
const TITLE = `title=blue realm check (exporter)%3A ${S3}`
const NOTICE = "::notice title=blue realm check (exporter)::1 error, 0 warnings, 0 ok"

let ws: Workspace
let aperture: string

const github = () => {
  const run = ws.blue(APERTURE, "realm", "check", "--mode", "exporter", "--format", "github")
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1)
  return run.stdout.trimEnd().split("\n")
}

const writeModel = (lines: ReadonlyArray<string>) => {
  fs.mkdirSync(path.join(aperture, "models"), { recursive: true })
  fs.writeFileSync(path.join(aperture, "models", "m.py"), lines.join("\n") + "\n")
}

/** The 1-based line and column where `needle` (once in the file) starts in `file` (inside the repo). */
const positionIn = (file: string, needle: string) => {
  const lines = fs.readFileSync(path.join(aperture, file), "utf8").split("\n")
  const line = lines.findIndex((l) => l.includes(needle))
  expect(lines.filter((l) => l.includes(needle)), `${needle} once in ${file}`).toHaveLength(1)
  return { line: line + 1, col: lines[line]!.indexOf(needle) + 1 }
}

beforeAll(() => {
  ws = makeWorkspace("blue-check-github")
  ;({ aperture } = seedStory(ws))
  fs.writeFileSync(path.join(aperture, "schema.json"), JSON.stringify(SCHEMA))
  ok(
    ws.blue(
      APERTURE,
      "realm",
      "export",
      "--name",
      S3,
      "--value",
      JSON.stringify({ read: ["a/*", "b/*"] }),
      "--schema",
      "schema.json"
    ),
    "export"
  )
})
afterAll(() => ws.cleanup())

describe("--mode exporter --format github names the source of a drift", () => {
  it("pattern: the file, line and column of the match that captured a new value", () => {
    setExports(aperture, PATTERN)
    writeModel([
      "import s3",
      `a = read_path("s3://b/a/*")`,
      `b = read_path("s3://b/b/*")`,
      `    c = read_path("s3://b/c/*")  # new`
    ])
    expect(github()).toEqual([
      `::error file=models/m.py,line=4,col=9,${TITLE}::${S3}: code differs from contract v1.0.0 (+ read: c/*); ` +
      `publish it with 'blue realm export --name ${S3} --detect' (a minor bump)`,
      NOTICE
    ])
  })

  it("pattern, a value added and one removed: the match of the added one", () => {
    setExports(aperture, PATTERN)
    writeModel([`x = read_path("s3://b/z/*")`, `a = read_path("s3://b/a/*")`])
    expect(github()).toEqual([
      `::error file=models/m.py,line=1,col=5,${TITLE}::${S3}: code differs from contract v1.0.0 ` +
      `(- read: b/*; + read: z/*); publish it with 'blue realm export --name ${S3} --detect' (a major bump)`,
      NOTICE
    ])
  })

  it("pattern, a value only removed: the export's entry in .blue/config.yaml", () => {
    setExports(aperture, PATTERN)
    writeModel([`a = read_path("s3://b/a/*")`])
    const at = positionIn(".blue/config.yaml", `${S3}:`)
    expect(at.line).toBeGreaterThan(1)
    expect(github()).toEqual([
      `::error file=.blue/config.yaml,line=${at.line},col=${at.col},${TITLE}::${S3}: code differs from contract ` +
      `v1.0.0 (- read: b/*); publish it with 'blue realm export --name ${S3} --detect' (a major bump)`,
      NOTICE
    ])
  })

  it("file + key (YAML): the file at the changed key", () => {
    fs.mkdirSync(path.join(aperture, "config"), { recursive: true })
    fs.writeFileSync(
      path.join(aperture, "config", "paths.yaml"),
      "other: 1\ns3:\n  # what models read\n  read: [a/*, b/*, c/*]\n"
    )
    setExports(aperture, { [S3]: { file: "config/paths.yaml", key: "s3" } })
    expect(github()).toEqual([
      `::error file=config/paths.yaml,line=4,col=3,${TITLE}::${S3}: code differs from contract v1.0.0 ` +
      `(+ read: c/*); publish it with 'blue realm export --name ${S3} --detect' (a minor bump)`,
      NOTICE
    ])
  })

  it("file + key (JSON): the file at the changed key", () => {
    fs.mkdirSync(path.join(aperture, "config"), { recursive: true })
    fs.writeFileSync(
      path.join(aperture, "config", "paths.json"),
      JSON.stringify({ other: 1, s3: { read: ["a/*", "b/*", "c/*"] } }, null, 2) + "\n"
    )
    setExports(aperture, { [S3]: { file: "config/paths.json", key: "s3" } })
    const at = positionIn("config/paths.json", `"read"`)
    expect(github()).toEqual([
      `::error file=config/paths.json,line=${at.line},col=${at.col},${TITLE}::${S3}: code differs from contract ` +
      `v1.0.0 (+ read: c/*); publish it with 'blue realm export --name ${S3} --detect' (a minor bump)`,
      NOTICE
    ])
  })

  it("command: the export's entry in .blue/config.yaml", () => {
    setExports(aperture, { [S3]: { command: `echo '{"read": ["a/*", "b/*", "c/*"]}'` } })
    const at = positionIn(".blue/config.yaml", `${S3}:`)
    expect(github()).toEqual([
      `::error file=.blue/config.yaml,line=${at.line},col=${at.col},${TITLE}::${S3}: code differs from contract ` +
      `v1.0.0 (+ read: c/*); publish it with 'blue realm export --name ${S3} --detect' (a minor bump)`,
      NOTICE
    ])
  })
})
