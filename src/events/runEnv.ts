/**
 * The variables of the caller's environment a command handed to the daemon may read (`POST /run`), and so the only
 * ones the CLI's thin client sends. Kept apart from runProtocol.ts's schemas so the thin client loads no Effect.
 *
 * None is a secret. PATH, LANG, LC_ALL and TMPDIR are here (with HOME and TERM) because they are what a program
 * realm content names — a validation hook, a `command:` extractor — gets from the command that runs it (the
 * runner's scrubbed environment, src/adapters/process.ts): the daemon runs it with the caller's, so it finds the
 * same programs on the same PATH as when the command runs in the caller's own process.
 */
export const RUN_ENV_VARIABLES: ReadonlyArray<string> = [
  "BLUE_HOME",
  "BLUE_USER",
  "BLUE_LOCK_TIMEOUT_MS",
  "BLUE_DAEMON",
  "BLUE_GITHUB_API_URL",
  "BLUE_NOW",
  "BLUE_FORGEJO_URL",
  "GIT_AUTHOR_NAME",
  "GIT_AUTHOR_EMAIL",
  "GIT_COMMITTER_NAME",
  "GIT_COMMITTER_EMAIL",
  "EMAIL",
  "HOME",
  "PATH",
  "LANG",
  "LC_ALL",
  "TMPDIR",
  "NO_COLOR",
  "FORCE_COLOR",
  "TERM",
  "CI",
  "GITHUB_ACTIONS"
]

/**
 * What a client says when the daemon stopped after it got a write (the connection lost before the answer): the
 * CLI's thin path and the MCP server say the same sentence. Here, beside the variable list, because the thin path
 * loads no Effect.
 */
export const DAEMON_STOPPED =
  "the daemon stopped while running the command; it may or may not have been recorded — run 'blue realm log' to see, and re-run it if it is missing."
