/**
 * Landing a contract proposal end to end, through the real binary, the ways a user does:
 * * a compatible change merges once its grace period has passed, so the owner's `blue realm sync` run with the
 *   clock 15 days ahead (BLUE_NOW) merges it, with no importer acknowledging (their bindings stay as they were:
 *   stale until they re-import);
 * * a change that breaks an importer (its range rejects the new version, or a major bump) lands when every
 *   affected importer acknowledges it explicitly (`blue realm ack <proposal>`: "I have seen it and will adapt") and
 *   an approver (init's user, the workspace's BLUE_USER) approves it; the importers' bindings read broken after it.
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

const run = (ws: Workspace, cwd: string, ...args: Array<string>) => {
  const r = ws.blue(cwd, ...args)
  if (r.code !== 0) throw new Error(`blue ${args.join(" ")} (in ${cwd}): exit ${r.code}\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/**
 * Lands every open proposal of `owner` (run in its directory `owner`) the way a breaking change lands: each importer
 * still waiting runs `blue realm ack <proposal>` in its directory (`dirs[repo]`, else the repo's name), then the
 * approver runs `blue realm admin approve <proposal>` in the owner's directory unless the acks merged it already.
 * Returns the ids it merged.
 */
export const landExplicitly = (
  ws: Workspace,
  owner: string,
  dirs: Readonly<Record<string, string>> = {}
): ReadonlyArray<string> => {
  const status = JSON.parse(run(ws, owner, "status", "--json"))
  const open = ((status.proposals ?? []) as Array<{ id: string; role: string; waiting: Array<string> }>)
    .filter((p) => p.role === "owner")
  if (open.length === 0) throw new Error(`no open proposal of ${owner} to land:\n${JSON.stringify(status, null, 2)}`)
  for (const p of open) {
    let merged = false
    for (const repo of p.waiting) merged = run(ws, dirs[repo] ?? repo, "realm", "ack", p.id).includes("; merged:")
    if (!merged) {
      const approved = run(ws, owner, "realm", "admin", "approve", p.id)
      if (!approved.includes("; merged:")) throw new Error(`approving ${p.id} merged nothing:\n${approved}`)
    }
  }
  return open.map((p) => p.id)
}
