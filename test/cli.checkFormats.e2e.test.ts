/**
 * `blue realm check`'s CI formats through the real binary: `--format junit` follows Jenkins' JUnit schema (the rules
 * we rely on are written out below as a small XSD; xmllint checks against it when installed, structural assertions
 * always run), and `--format github` names only files of the checkout it runs in, with the line and column of the
 * offending key.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as YAML from "yaml"
import { APERTURE, REALM, S3, seedStory } from "./support/seed.js"
import { makeWorkspace, type Workspace } from "./support/workspace.js"

const CONTRACT_FILE = `domains/s3-access/contracts/${S3}.yaml`

/**
 * The parts of Jenkins' junit-10.xsd (jenkinsci/xunit-plugin) this output relies on: `testsuite` requires name,
 * tests, failures and errors; `testcase` requires name; failure/skipped carry optional type and message.
 */
const JENKINS_JUNIT_RULES = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:complexType name="outcome" mixed="true">
    <xs:attribute name="type" type="xs:string"/>
    <xs:attribute name="message" type="xs:string"/>
  </xs:complexType>
  <xs:element name="testcase">
    <xs:complexType>
      <xs:choice minOccurs="0" maxOccurs="unbounded">
        <xs:element name="failure" type="outcome"/>
        <xs:element name="error" type="outcome"/>
        <xs:element name="skipped" type="outcome"/>
      </xs:choice>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="classname" type="xs:string"/>
      <xs:attribute name="time" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:choice minOccurs="0" maxOccurs="unbounded">
        <xs:element ref="testcase"/>
      </xs:choice>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="xs:string" use="required"/>
      <xs:attribute name="failures" type="xs:string" use="required"/>
      <xs:attribute name="errors" type="xs:string" use="required"/>
      <xs:attribute name="skipped" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="tests" type="xs:string"/>
      <xs:attribute name="failures" type="xs:string"/>
      <xs:attribute name="errors" type="xs:string"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
`

const has = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0

let ws: Workspace
let realm: string
let lineOfBadItem: number
let colOfBadItem: number

beforeAll(() => {
  ws = makeWorkspace("blue-check-formats")
  seedStory(ws)
  realm = ws.path(REALM)
  // A hand edit of the realm checkout: a schema the value breaks at value.read.1.
  const file = path.join(realm, CONTRACT_FILE)
  const contract = YAML.parse(fs.readFileSync(file, "utf8"))
  contract.schema = { type: "object", properties: { read: { type: "array", items: { type: "string" } } } }
  contract.value = { read: ["a/*", 42] }
  const text = YAML.stringify(contract)
  fs.writeFileSync(file, text)
  const lines = text.split("\n")
  const valueAt = lines.findIndex((l) => l.startsWith("value:"))
  const index = lines.findIndex((l, i) => i > valueAt && /^\s*- 42$/.test(l))
  lineOfBadItem = index + 1
  colOfBadItem = lines[index]!.indexOf("42") + 1
})
afterAll(() => ws.cleanup())

describe("--format github", () => {
  it("in the realm checkout: file= relative to it, with line= and col= of the offending key", () => {
    const run = ws.blue(REALM, "realm", "check", "--mode", "contract", "--format", "github")
    expect(run.code).toBe(1)
    const error = run.stdout.split("\n").find((l) => l.startsWith("::error "))
    expect(error).toBe(
      `::error file=${CONTRACT_FILE},line=${lineOfBadItem},col=${colOfBadItem},title=blue realm check (contract)%3A ${S3}::${S3}: value does not satisfy its schema: value.read.1 must be string`
    )
    expect(fs.existsSync(path.join(realm, CONTRACT_FILE))).toBe(true)
    const json = ws.blue(REALM, "realm", "check", "--mode", "contract", "--json").json()
    expect(json.findings).toContainEqual(expect.objectContaining({
      code: "value-invalid",
      file: CONTRACT_FILE,
      key: "value.read.1",
      path: CONTRACT_FILE,
      line: lineOfBadItem,
      col: colOfBadItem
    }))
  })

  it("in a member repo: no file= for a realm file that is not part of this checkout", () => {
    const run = ws.blue(APERTURE, "realm", "check", "--mode", "contract", "--format", "github")
    expect(run.code).toBe(1)
    const error = run.stdout.split("\n").find((l) => l.startsWith("::error "))
    expect(error).toMatch(/^::error title=blue realm check \(contract\)%3A s3-permissions::/)
    expect(run.stdout).not.toContain("file=")
    // from a subdirectory of the realm checkout, paths stay relative to the checkout's root
    fs.mkdirSync(path.join(realm, "domains", "s3-access", "sub"), { recursive: true })
    const sub = ws.blue(`${REALM}/domains`, "realm", "check", "--mode", "contract", "--format", "github")
    expect(sub.stdout).toContain(`::error file=${CONTRACT_FILE},line=${lineOfBadItem},`)
  })
})

describe("--format junit", () => {
  it("has the attributes Jenkins' schema requires, and validates against it", () => {
    const run = ws.blue(REALM, "realm", "check", "--mode", "contract", "--format", "junit")
    expect(run.code).toBe(1)
    const xml = run.stdout
    expect(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<testsuites `)).toBe(true)
    const suite = /<testsuite ([^>]*)>/.exec(xml)?.[1] ?? ""
    for (const attr of ["name", "tests", "failures", "errors"]) expect(suite).toMatch(new RegExp(`\\b${attr}="[^"]*"`))
    expect(suite).toContain(`errors="0"`)
    expect(suite).toContain(`failures="1"`)
    const cases = xml.match(/<testcase [^>]*name="[^"]+"/g) ?? []
    expect(cases.length).toBe(Number(/tests="(\d+)"/.exec(suite)?.[1]))
    expect(xml).toContain(
      `<failure message="${S3}: value does not satisfy its schema: value.read.1 must be string" type="value-invalid"/>`
    )

    if (!has("xmllint")) {
      console.warn("xmllint is not installed (apt package libxml2-utils): skipping the XSD validation")
      return
    }
    const xsd = ws.path("jenkins-junit-rules.xsd")
    const report = ws.path("report.xml")
    fs.writeFileSync(xsd, JENKINS_JUNIT_RULES)
    fs.writeFileSync(report, xml)
    const lint = spawnSync("xmllint", ["--noout", "--schema", xsd, report], { encoding: "utf8" })
    expect(lint.stderr.trim()).toBe(`${report} validates`)
    expect(lint.status).toBe(0)
    // and the rule that matters: without errors= the same document is refused
    fs.writeFileSync(report, xml.replace(/<testsuite ([^>]*) errors="0"/, "<testsuite $1"))
    expect(spawnSync("xmllint", ["--noout", "--schema", xsd, report], { encoding: "utf8" }).status).not.toBe(0)
  })
})
