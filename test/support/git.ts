/** The `git` executable in a test: run in `dir` with a fixed identity, its stdout, or an error naming the command. */
import { spawnSync } from "node:child_process"

export const gitIn = (dir: string, ...args: Array<string>): string => {
  const r = spawnSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@x",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@x"
    }
  })
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`)
  return r.stdout
}
