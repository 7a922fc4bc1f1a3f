/**
 * Every operation a shell offers, in the order of the draft RFC's tool list. A tool whose command does not exist
 * yet is not here (today every tool of the draft RFC has its command).
 */
import { createDomain, initRealm, joinRealm, leaveRealm } from "./admin.js"
import { check } from "./check.js"
import { exportContract, importContract } from "./contracts.js"
import type { AnyOperation } from "./operation.js"
import { pr } from "./pulls.js"
import { sessions } from "./sessions.js"
import { acknowledge, graph, realmStatus } from "./status.js"
import { acknowledgeProposal, approveProposal, realmSync, rejectProposal, withdrawProposal } from "./sync.js"
import { commit, push, worktree } from "./worktrees.js"

/** The realm operations, as the MCP server lists them. */
export const realmOperations: ReadonlyArray<AnyOperation> = [
  initRealm,
  joinRealm,
  createDomain,
  leaveRealm,
  exportContract,
  importContract,
  check,
  graph,
  sessions,
  realmStatus,
  acknowledge,
  worktree,
  commit,
  push,
  pr,
  realmSync,
  acknowledgeProposal,
  approveProposal,
  rejectProposal,
  withdrawProposal
]
