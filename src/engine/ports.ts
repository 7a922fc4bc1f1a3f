/**
 * The ports operations and shells reach IO through: each a `Context.Tag` with a small shape, declared beside its
 * Live layer in the adapter that implements it (the floor below) and re-exported here, so code above the engine
 * imports services, never adapter functions. `live.ts` composes the Live layers; a test provides its own.
 *
 * | port | does | Live layer |
 * |---|---|---|
 * | `MemberConfig` | find, read, write, remove `.blue/config.yaml` | `MemberConfigLive` (files.ts) |
 * | `Workspace` | git/realm roots, path kinds, confinement, text reads | `WorkspaceLive` (workspace.ts) |
 * | `Home` | BLUE_HOME and this machine's name | `HomeLive` (workspace.ts) |
 * | `Identity` | who acts in a directory | `IdentityLive` (identity.ts) |
 * | `Extractors` | detect a contract's value from code | `ExtractorsLive` (extract.ts) |
 * | `HookRunner` | run a validation hook | `HookRunnerLive` (hooks.ts, over `TrustStore`) |
 * | `RepoCaches` | a member repo's `.blue/cache.db` | `RepoCachesLive` (cache.ts, over `RepoCacheLive`) |
 * | `Presence` | sessions from the daemon and daemon.db | `PresenceLive` (presence.ts, over `Sessions`) |
 * | `DaemonControl` | the daemon's PID file, token, start, stop, status, unit | `DaemonControlLive` (daemonControl.ts) |
 * | `TrustStore` | which hook scripts the user trusts | `TrustStoreLive` (trust.ts) |
 * | `DaemonClient` | find, start and call the daemon, sessions, its feed | `DaemonClientLive` (daemonClientPort.ts) |
 * | `DaemonHost` | the running daemon's machine: its name, live processes, refs | `DaemonHostLive` (daemonHost.ts) |
 * | `EventLog`, `Sessions` | daemon.db | `SqliteEventLogLive`, `SessionsLive` |
 * | `Published` | tell the realm's watchers of an append | `DaemonPublishedLive` (daemonClient.ts) |
 * | `Forges` | a forge client (Forgejo, GitHub, none) for a location, token from the credential chain | `ForgesLive` (forges.ts) |
 * | `CodeGit` | the user's `git` on code repos: worktrees, status, commit, push | `CodeGitLive` (codeGit.ts) |
 *
 * Beside them, two pure helpers that read no file: `lockTimeoutIn` and `DEFAULT_LOCK_TIMEOUT_MS` (home.ts).
 */
export {
  CACHE_NAMES,
  type CacheName,
  type CacheTableStats,
  type RepoCacheOptions,
  RepoCaches,
  type RepoCacheService
} from "../adapters/cache.js"
export { CodeGit, type CodeRepoGit, type LinkedWorktree } from "../adapters/codeGit.js"
export type { Connection, Handed, SessionStart } from "../adapters/daemonClient.js"
export { DaemonClient, type MemberHere } from "../adapters/daemonClientPort.js"
export { DaemonControl } from "../adapters/daemonControl.js"
export { DaemonHost } from "../adapters/daemonHost.js"
export type { DaemonStatus } from "../adapters/daemonRuntime.js"
export { type Change, EventLog, type RealmRow } from "../adapters/eventLog.js"
export { type DetectOptions, Extractors, type PerFile } from "../adapters/extract.js"
export { CONFIG_FILE, type Member, MemberConfig } from "../adapters/files.js"
export {
  Forge,
  type ForgeFailure,
  type ForgeLocation,
  type ForgeRepo,
  type ForgeRepoRef,
  Forges,
  type ForgeService,
  issueMarker
} from "../adapters/forge.js"
export { githubApiUrl } from "../adapters/forges.js"
export { githubWebUrl } from "../adapters/github.js"
export { DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutIn } from "../adapters/home.js"
export {
  type HookError,
  type HookOptions,
  type HookResult,
  type HookRole,
  HookRunner,
  type TrustDecision
} from "../adapters/hooks.js"
export { Identity } from "../adapters/identity.js"
export { listSessions, Presence } from "../adapters/presence.js"
export { Published } from "../adapters/published.js"
export { RemoteGit } from "../adapters/remoteGit.js"
export { type NewSession, type Session, Sessions } from "../adapters/sessions.js"
export { type TrustStatus, TrustStore } from "../adapters/trust.js"
export { Home, type PathKind, Workspace } from "../adapters/workspace.js"
