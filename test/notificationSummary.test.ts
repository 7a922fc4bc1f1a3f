/** The one wording of a notification, shared by status, `sessions --watch` and the MCP feed. */
import { describe, expect, it } from "vitest"
import { notificationSummary } from "../src/projections/notifications.js"

const n = {
  id: "7",
  from_repo: "aperture",
  contract: "s3-permissions",
  change_type: "updated" as const,
  version: "1.3.0",
  changes: [] as ReadonlyArray<string>
}

describe("notificationSummary", () => {
  it("given no age, says who changed which contract to what", () => {
    expect(notificationSummary(n)).toBe("🔔 Notification #7 from aperture: contract 's3-permissions' updated to 1.3.0")
  })
  it("given an age, puts it after the sender", () => {
    expect(notificationSummary(n, "2 minutes ago")).toBe(
      "🔔 Notification #7 from aperture (2 minutes ago): contract 's3-permissions' updated to 1.3.0"
    )
  })
  it("words breaking and new changes, and lists each change on its own indented line", () => {
    expect(notificationSummary({ ...n, change_type: "breaking", version: "2.0.0", changes: ["a", "b"] })).toBe(
      "🔔 Notification #7 from aperture: contract 's3-permissions' changed incompatibly to 2.0.0\n    a\n    b"
    )
    expect(notificationSummary({ ...n, change_type: "new" })).toBe(
      "🔔 Notification #7 from aperture: contract 's3-permissions' published at 1.3.0"
    )
  })
})
