/**
 * The services every shell runs operations with: the engine over daemon.db, the realm's git, the write lock, ids
 * and the trust store.
 */
import { Layer } from "effect"
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
  TrustStoreLive
)

/** The engine and its ports, as the CLI and the MCP server use them. */
export const BlueLive = Layer.provideMerge(Realms.Default, ports)
