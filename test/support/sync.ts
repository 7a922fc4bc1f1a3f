/**
 * Landing a contract proposal end to end, through the real binary: a compatible change merges once its grace period
 * has passed, so the owner's `blue realm sync` run with the clock 15 days ahead (BLUE_NOW) merges it, with no
 * importer acknowledging (their bindings stay as they were: stale until they re-import).
 */
import { spawnSync } from "node:child_process"
import { BLUE_BIN, type Workspace } from "./workspace.js"

/** Merges the open compatible proposals of the realm by running `blue realm sync` in `cwd` 15 days ahead. */
export const landByGrace = (ws: Workspace, cwd: string): string => {
  const r = spawnSync(process.execPath, [BLUE_BIN, "realm", "sync"], {
    cwd: ws.path(cwd),
    env: { ...ws.env, BLUE_NOW: "+15d" },
    encoding: "utf8"
  })
  if (r.status !== 0) throw new Error(`sync 15 days ahead: exit ${r.status}\n${r.stdout}\n${r.stderr}`)
  if (!r.stdout.includes("✓ Merged proposal")) throw new Error(`sync 15 days ahead merged nothing:\n${r.stdout}`)
  return r.stdout
}
