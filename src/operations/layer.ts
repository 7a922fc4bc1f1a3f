/**
 * The services every shell runs operations with: the engine over daemon.db, the realm's git, the write lock, ids,
 * the trust store, and publishing to the machine's daemon.
 */
import { Layer } from "effect"
import { DaemonPublishedLive } from "../adapters/daemonClient.js"
import { SqliteEventLogLive } from "../adapters/eventLog.js"
import { daemonDbPath } from "../adapters/home.js"
import { RealmLockLive } from "../adapters/lock.js"
import { RealmGitLive } from "../adapters/realmGit.js"
import { SessionsLive } from "../adapters/sessions.js"
import { TrustStoreLive } from "../adapters/trust.js"
import { IdsLive } from "../engine/ids.js"
import { Realms } from "../engine/Realms.js"

const ports = Layer.mergeAll(
  Layer.provideMerge(SessionsLive, SqliteEventLogLive(daemonDbPath())),
  RealmGitLive,
  RealmLockLive,
  IdsLive,
  TrustStoreLive,
  DaemonPublishedLive
)

/** The engine and its ports, as the CLI and the MCP server use them. */
export const BlueLive = Layer.provideMerge(Realms.Default, ports)
