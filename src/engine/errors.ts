/**
 * The typed errors operations and shells may meet, in one module above the adapters: each class is the adapter's
 * own (re-exported, so there is one class per error and `catchTag` and `instanceof` keep working).
 */
export { CacheError } from "../adapters/cache.js"
export { CodeGitError, GitNotFound } from "../adapters/codeGit.js"
export { DaemonNotStarted, DaemonUnavailable } from "../adapters/daemonClient.js"
export {
  ConcurrentUpdate,
  GitError,
  GitLockHeld,
  HistoryRewritten,
  LockTimeout,
  LogCorrupt,
  PathProblem,
  StoreError
} from "../adapters/errors.js"
export { ExtractError } from "../adapters/extract.js"
export { FeedLost, FeedMessageInvalid } from "../adapters/feedClient.js"
export { HookNotFound, HookPathOutsideRepo } from "../adapters/hooks.js"
export { NotAScript, TrustStoreError } from "../adapters/trust.js"
