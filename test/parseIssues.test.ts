/**
 * Audit findings, in-process: `check --mode compatibility` says when the new version is lower than the old one,
 * and an event file that does not match its schema is described in plain words (field path, what was wrong).
 */
import { Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { checkFiles } from "../src/engine/check.js"
import { decodePayload, envelopeFromJson } from "../src/events/codec.js"

const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

const SCHEMA = { type: "object", properties: { read: { type: "array", items: { type: "string" } } } }

describe("check --mode compatibility --old/--new", () => {
  it("a lower new version is version-backwards, in one sentence naming both versions", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "blue-fixa-"))
    dirs.push(dir)
    const write = (name: string, version: string) => {
      fs.writeFileSync(path.join(dir, name), JSON.stringify({ name: "s3", version, schema: SCHEMA }))
      return path.join(dir, name)
    }
    const r = checkFiles(write("old.json", "1.0.0"), write("new.json", "0.9.0"))
    expect(r.exit_code).toBe(1)
    expect(r.findings).toEqual([{
      level: "error",
      code: "version-backwards",
      contract: "s3",
      message: "s3: version 0.9.0 is lower than 1.0.0; versions only move forward"
    }])
  })
})

describe("event files that do not match their schema", () => {
  const envelope = {
    id: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    realm: "letemcook",
    position: 1,
    type: "NotificationAcknowledged",
    schemaVersion: 1,
    time: "2026-11-30T13:01:00.000Z",
    actor: { user: "a@example.com" },
    correlationId: "c",
    event: { _tag: "NotificationAcknowledged", id: "3", repo: "fungal", contract: "s3", version: "1.1.0" }
  }

  it("the sample is a valid envelope", () => {
    expect(Either.isRight(envelopeFromJson(JSON.stringify(envelope)))).toBe(true)
  })

  it("names the field and what was wrong, with control characters escaped", () => {
    const bad = { ...envelope, time: "yesterday\u001b[2J" }
    const r = envelopeFromJson(JSON.stringify(bad))
    expect(Either.isLeft(r)).toBe(true)
    const text = Either.isLeft(r) ? r.left : ""
    expect(text).toMatch(/^time: /)
    expect(text).toContain("\\u001b")
    expect(text).not.toMatch(/└─|Encoded side|\u001b/)
  })

  it("a file that is not JSON: the parser's message on one line, its controls escaped in the one style", () => {
    const r = envelopeFromJson("{\"a\":\u001b[2J\n}")
    const text = Either.isLeft(r) ? r.left : ""
    expect(text).toMatch(/^not JSON \(/)
    // The same `\x1b` escapes as every other message (src/domain/text.ts), and the newline too: one line.
    expect(text).toContain("\\x1b[2J\\x0a}")
    expect(text).not.toMatch(/[\u0000-\u001f]/)
  })

  it("a missing field is named as missing", () => {
    const { correlationId: _, ...bad } = envelope
    expect(envelopeFromJson(JSON.stringify(bad))).toEqual(Either.left("correlationId is missing"))
  })

  it("a stored payload is described from event.…", () => {
    const r = decodePayload("RepoJoined", 1, { _tag: "RepoJoined" })
    expect(Either.isLeft(r) ? r.left : "").toMatch(/^event\.\w+ is missing$/)
  })
})
