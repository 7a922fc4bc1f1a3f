/**
 * The variables of the caller's environment a command handed to the daemon may read (`POST /run`), and so the only
 * ones the CLI's thin client sends. Kept apart from runProtocol.ts's schemas so the thin client loads no Effect.
 */
export const RUN_ENV_VARIABLES: ReadonlyArray<string> = [
  "BLUE_HOME",
  "BLUE_USER",
  "BLUE_LOCK_TIMEOUT_MS",
  "BLUE_DAEMON",
  "GIT_AUTHOR_NAME",
  "GIT_AUTHOR_EMAIL",
  "GIT_COMMITTER_NAME",
  "GIT_COMMITTER_EMAIL",
  "EMAIL",
  "HOME",
  "NO_COLOR",
  "FORCE_COLOR",
  "TERM",
  "CI",
  "GITHUB_ACTIONS"
]
