/**
 * `blue realm worktree`, `commit`, `push` and `pr` on the command line: the options, gathered into the operations'
 * arguments (src/operations/worktrees.ts, src/operations/pulls.ts).
 */
import { Command, Options } from "@effect/cli"
import { pr } from "../operations/pulls.js"
import { commit, push, worktree } from "../operations/worktrees.js"
import { given, presentOperation } from "./output.js"

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))
const repos = Options.text("repos").pipe(
  Options.withDescription("comma-separated repos to include (default: all of the change)"),
  Options.optional
)
const branch = Options.text("branch").pipe(
  Options.withDescription("the coordinated change's branch (default: the one this repo or directory is part of)"),
  Options.optional
)

// blue realm worktree
export const worktreeCommand = Command.make(
  "worktree",
  {
    rfc: Options.text("rfc").pipe(Options.withDescription("RFC title that drives the change"), Options.optional),
    branch: Options.text("branch").pipe(Options.withDescription("branch name (default: feat/<rfc>)"), Options.optional),
    domain: Options.text("domain").pipe(
      Options.withDescription(
        "domain(s) to coordinate, comma-separated (default: every domain this repo takes part in)"
      ),
      Options.optional
    ),
    repos: Options.text("repos").pipe(
      Options.withDescription("comma-separated repos to include (default: all in the domains)"),
      Options.optional
    ),
    remove: Options.boolean("remove").pipe(
      Options.withDescription("remove the change's worktrees (refused while one has uncommitted work; branches stay)")
    ),
    json
  },
  (o) =>
    presentOperation(worktree, o.json, {
      rfc: given(o.rfc),
      branch: given(o.branch),
      domain: given(o.domain),
      repos: given(o.repos),
      remove: o.remove ? true : undefined
    })
).pipe(
  Command.withDescription("Create unified worktrees (one branch, a linked worktree per repo) across the change's repos")
)

// blue realm commit
export const commitCommand = Command.make(
  "commit",
  {
    message: Options.text("message").pipe(
      Options.withAlias("m"),
      Options.withDescription("commit message (applied to all repos)")
    ),
    repos,
    noLink: Options.boolean("no-link").pipe(Options.withDescription("record the commits without linking them")),
    branch,
    json
  },
  (o) =>
    presentOperation(commit, o.json, {
      message: o.message,
      repos: given(o.repos),
      link: o.noLink ? false : undefined,
      branch: given(o.branch)
    })
).pipe(Command.withDescription("Commit in every worktree of the coordinated change that has changes; link the commits"))

// blue realm push
export const pushCommand = Command.make(
  "push",
  { repos, branch, json },
  (o) => presentOperation(push, o.json, { repos: given(o.repos), branch: given(o.branch) })
).pipe(Command.withDescription("Push the coordinated change's branches to their remotes; report per repo"))

// blue realm pr
export const prCommand = Command.make(
  "pr",
  {
    title: Options.text("title").pipe(Options.withDescription("PR title (applied to all)")),
    body: Options.text("body").pipe(
      Options.withDescription("PR body template ({repo}, {branch}, {rfc}, {title}); Blue adds the links"),
      Options.optional
    ),
    draft: Options.boolean("draft").pipe(Options.withDescription("create draft PRs")),
    base: Options.text("base").pipe(
      Options.withDescription("the branch to merge into (default: the one checked out in each repo)"),
      Options.optional
    ),
    branch,
    json
  },
  (o) =>
    presentOperation(pr, o.json, {
      title: o.title,
      body: given(o.body),
      draft: o.draft ? true : undefined,
      base: given(o.base),
      branch: given(o.branch)
    })
).pipe(
  Command.withDescription(
    "Open the coordinated change's pull requests in merge order (exporters first), linked; local PRs for plain git"
  )
)
