/**
 * BLUE_NOW, the clock override of tests and demos (a grace period of 14 days passes in a test), read from an
 * environment the caller passes in: pure, and free of Effect so the status fast path can judge proposals too.
 */

/**
 * The time BLUE_NOW sets: an ISO time, or `+<n>d` / `+<n>h` / `+<n>m` ahead of `realMs` (the real clock). Undefined
 * when unset or unreadable.
 */
export const clockOverride = (
  env: Readonly<Record<string, string | undefined>>,
  realMs: number
): number | undefined => {
  const raw = env["BLUE_NOW"]?.trim()
  if (raw === undefined || raw === "") return undefined
  const ahead = /^\+(\d+(?:\.\d+)?)([dhm])$/.exec(raw)
  if (ahead !== null) {
    const unit = ahead[2] === "d" ? 86_400_000 : ahead[2] === "h" ? 3_600_000 : 60_000
    return realMs + Math.round(Number(ahead[1]) * unit)
  }
  const at = Date.parse(raw)
  return Number.isFinite(at) ? at : undefined
}
