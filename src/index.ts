/**
 * Blue realms as an Effect library: the engine service and its ports with their Layers, the domain (schemas,
 * decider, graph), the event envelope and codec, and the projections.
 */
export { DaemonHost, DaemonHostLive } from "./adapters/daemonHost.js"
export * from "./adapters/errors.js"
export { EventLog, MemoryEventLogLive, SqliteEventLogLive } from "./adapters/eventLog.js"
export type { RealmRow, Snapshot } from "./adapters/eventLog.js"
export { blueHome, daemonDbPath } from "./adapters/home.js"
export { Identity, IdentityLive } from "./adapters/identity.js"
export { RealmLock, RealmLockLive } from "./adapters/lock.js"
export { publish, Published } from "./adapters/published.js"
export { RealmGit, RealmGitLive } from "./adapters/realmGit.js"
export { Sessions, SessionsLive } from "./adapters/sessions.js"
export type { NewSession, Session } from "./adapters/sessions.js"
export { DaemonServeError, serve } from "./daemon/server.js"
export * from "./domain/commands.js"
export { decide, validateName } from "./domain/decide.js"
export * from "./domain/errors.js"
export * from "./domain/events.js"
export * from "./domain/files.js"
export * from "./domain/graph.js"
export {
  approversOf,
  effectiveGovernance,
  isApprover,
  JOIN_ID_PREFIX,
  pendingRequestOf
} from "./domain/governance.js"
export type { GovernanceState, Invitation, JoinRequest } from "./domain/governance.js"
export * from "./domain/state.js"
export { Ids, IdsCounter, IdsLive } from "./engine/ids.js"
export { layerWith, Realms } from "./engine/Realms.js"
export type { Appended, OpenRealm, RealmError, Verification } from "./engine/Realms.js"
export * from "./events/codec.js"
export * from "./events/envelope.js"
export { foldEnvelopes } from "./projections/fold.js"
export { renderAll, renderPath, touchedPaths } from "./projections/realmFiles.js"
export { renderStatus, statusView } from "./projections/status.js"
export type { StatusView } from "./projections/status.js"
