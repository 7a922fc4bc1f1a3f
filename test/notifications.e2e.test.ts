/**
 * Notifications through the real binary: a contract change shows in the importer's status, `blue realm ack`
 * answers it (an event in the realm), and refusals change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { APERTURE, FUNGAL, ok, S3, type Seeded, seedStory } from "./support/seed.js"
import { dbFingerprint, fingerprint, git, makeWorkspace } from "./support/workspace.js"

let s: Seeded
beforeAll(() => {
  s = seedStory(makeWorkspace("blue-notify"))
  ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", JSON.stringify({ read: ["a/*"] })), "first value")
  ok(s.ws.blue(APERTURE, "realm", "export", "--name", S3, "--value", JSON.stringify({ read: ["a/*", "b/*"] })), "bump")
})
afterAll(() => s.ws.cleanup())

const pending = () => ok(s.ws.blue(FUNGAL, "realm", "status", "--json"), "status").json().notifications

describe("notifications", () => {
  it("the importer's status lists the contract changes it has not acknowledged", () => {
    const list = pending()
    expect(list.map((n: any) => [n.change_type, n.contract, n.version, n.from_repo])).toEqual([
      ["new", S3, "1.0.0", APERTURE],
      ["updated", S3, "1.1.0", APERTURE]
    ])
    expect(list[1].changes).toEqual(["+ read: b/*"])
    const human = ok(s.ws.blue(FUNGAL, "status"), "status").stdout
    expect(human).toContain(`🔔 Notification #${list[1].id} from ${APERTURE}`)
    expect(human).toContain(`blue realm ack ${list[1].id}`)
    // The exporter has nothing to acknowledge.
    expect(ok(s.ws.blue(APERTURE, "realm", "status", "--json"), "status").json().notifications).toEqual([])
  })

  it("refuses an unknown id and a bare ack, changing nothing", () => {
    const realm = fingerprint(s.realm)
    const db = dbFingerprint(s.ws.home)
    const unknown = s.ws.blue(FUNGAL, "realm", "ack", "999", "--json")
    expect(unknown.code).toBe(1)
    expect(unknown.json().error).toMatchObject({ _tag: "NotificationNotFound", id: "999", repo: FUNGAL })
    const bare = s.ws.blue(FUNGAL, "realm", "ack")
    expect(bare.code).toBe(64)
    expect(bare.stderr).toContain("pass --all")
    expect(fingerprint(s.realm)).toEqual(realm)
    expect(dbFingerprint(s.ws.home)).toBe(db)
  })

  it("ack by id records an event and removes it from status; --all answers the rest, then there is nothing", () => {
    const [first, second] = pending()
    const one = ok(s.ws.blue(FUNGAL, "realm", "ack", second.id, "--json"), "ack").json()
    expect(one.acknowledged).toEqual([{ id: second.id, contract: S3, version: "1.1.0" }])
    expect(git(s.realm, "log", "-1", "--format=%s").trim()).toBe(`${FUNGAL} acknowledges 1 notification`)
    expect(pending().map((n: any) => n.id)).toEqual([first.id])
    const all = ok(s.ws.blue(FUNGAL, "realm", "ack", "--all", "--json"), "ack --all").json()
    expect(all.acknowledged.map((a: any) => a.id)).toEqual([first.id])
    expect(pending()).toEqual([])
    const head = git(s.realm, "rev-parse", "HEAD")
    const none = ok(s.ws.blue(FUNGAL, "realm", "ack", "--all"), "ack --all again")
    expect(none.stdout).toContain("Nothing to acknowledge.")
    expect(git(s.realm, "rev-parse", "HEAD")).toBe(head)
    const log = ok(s.ws.blue(FUNGAL, "realm", "log", "--json"), "log").json().events
    expect(log.filter((e: any) => e.type === "NotificationAcknowledged").length).toBe(2)
    expect(ok(s.ws.blue(FUNGAL, "realm", "replay", "--verify", "--json"), "verify").json().ok).toBe(true)
  })
})
