/**
 * The one composition root: the engine and every port's Live layer, as the CLI and the MCP server run operations
 * with them — the engine over daemon.db, the realm's git, the write lock, ids, the trust store, publishing to the
 * machine's daemon, and the IO ports of `ports.ts`.
 */
import { Layer } from "effect"
import { RepoCachesLive } from "../adapters/cache.js"
import { CodeGitLive } from "../adapters/codeGit.js"
import { CredentialsLive } from "../adapters/credentials.js"
import { DaemonPublishedLive } from "../adapters/daemonClient.js"
import { DaemonClientLive } from "../adapters/daemonClientPort.js"
import { DaemonControlLive } from "../adapters/daemonControl.js"
import { DaemonHostLive } from "../adapters/daemonHost.js"
import { SqliteEventLogLive } from "../adapters/eventLog.js"
import { ExtractorsLive } from "../adapters/extract.js"
import { MemberConfigLive } from "../adapters/files.js"
import { ForgesLive } from "../adapters/forges.js"
import { daemonDbPath } from "../adapters/home.js"
import { HookRunnerLive } from "../adapters/hooks.js"
import { IdentityLive } from "../adapters/identity.js"
import { RealmLockLive } from "../adapters/lock.js"
import { PresenceLive } from "../adapters/presence.js"
import { RealmGitLive } from "../adapters/realmGit.js"
import { RemoteGitLive } from "../adapters/remoteGit.js"
import { SessionsLive } from "../adapters/sessions.js"
import { TrustStoreLive } from "../adapters/trust.js"
import { HomeLive, WorkspaceLive } from "../adapters/workspace.js"
import { IdsLive } from "./ids.js"
import { Realms } from "./Realms.js"

const store = Layer.provideMerge(SessionsLive, SqliteEventLogLive(daemonDbPath()))

/** The IO ports of operations and the engine's checks, over the local machine. */
export const PortsLive = Layer.mergeAll(
  MemberConfigLive,
  WorkspaceLive,
  HomeLive,
  IdentityLive,
  ExtractorsLive,
  RepoCachesLive,
  DaemonControlLive,
  DaemonClientLive,
  DaemonHostLive,
  CodeGitLive,
  Layer.provideMerge(HookRunnerLive, TrustStoreLive)
)

const ports = Layer.mergeAll(
  Layer.provideMerge(PresenceLive, store),
  RealmGitLive,
  Layer.provide(RemoteGitLive(), CredentialsLive),
  Layer.provide(ForgesLive(), CredentialsLive),
  RealmLockLive,
  IdsLive,
  DaemonPublishedLive,
  PortsLive
)

/**
 * What the MCP server's presence needs before the engine is built (it runs outside the operations' runtime):
 * the daemon client and the workspace, both without dependencies, so they build synchronously.
 */
export const ClientIoLive = Layer.merge(DaemonClientLive, WorkspaceLive)

/** The engine and its ports, as the CLI and the MCP server use them. */
export const BlueLive = Layer.provideMerge(Realms.Default, ports)
