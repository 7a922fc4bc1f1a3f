/**
 * Proposal branches in the realm repo (SPEC §2.4): a proposal's content lives on its branch
 * `sync/<repo>/<YYYYMMDD-HHMMSS>` until it merges. The branch's commit sits on top of main's head at the time of the
 * write and its tree is what main would look like after the merge (the contract YAML at the new version and the
 * bindings it restates), so the branch reads as a pull request's diff. It is written with git objects only: the
 * realm's working tree and index never show a branch. Merging writes main's commit with the branch's head as its
 * second parent; every reader of the log walks first parents only, so branch commits are never read as events.
 *
 * A branch commit's second parent is the branch's previous head when it has one (an amended proposal, or a commit a
 * lost race left on a remote): the branch only ever moves forward, and every push of it stays a fast-forward
 * compare-and-swap.
 */
import { Effect } from "effect"
import type { Context } from "effect"
import type { GitError } from "../../adapters/errors.js"
import type { RealmGit } from "../../adapters/realmGit.js"
import { ContractBumped, type RealmEvent } from "../../domain/events.js"
import { evolve, type RealmState } from "../../domain/state.js"
import { renderPath, touchedPaths } from "../../projections/realmFiles.js"
import { oneLine } from "./shared.js"

/** One proposal branch a write moves. */
export interface BranchMove {
  readonly branch: string
  /** where the branch is now (local branch, else the remote-tracking one); undefined when it does not exist */
  readonly expected: string | undefined
  readonly commit: string
}

/** What a write does besides its commit on main: branches it moves, and the merge commit's extra parents. */
export interface BranchPlan {
  readonly moves: ReadonlyArray<BranchMove>
  readonly mergeParents: ReadonlyArray<string>
}

/** The plan of a write that touches no proposal. */
export const noBranches: BranchPlan = { moves: [], mergeParents: [] }

/** The open proposal's fields a branch needs (the state's proposal record). */
interface ProposalRef {
  readonly branch: string
  readonly domain: string
  readonly contract: string
  readonly from: string
}

const proposalIn = (state: RealmState, id: string): ProposalRef | undefined =>
  (state as unknown as { proposals?: Record<string, ProposalRef> }).proposals?.[id]

/** The files main would show after merging a change of `contract` to `proposed`, from the state before it. */
const mergedFiles = (
  before: RealmState,
  change: Pick<ContractBumped, "domain" | "from" | "bump" | "contract">
): Map<string, string | undefined> => {
  const bumped = new ContractBumped({
    domain: change.domain,
    from: change.from,
    bump: change.bump,
    contract: change.contract
  })
  const after = evolve(before, bumped)
  return new Map(touchedPaths(before, bumped).map((p) => [p, renderPath(after, p)]))
}

/**
 * Writes the branch commits of the proposal events a write appends (objects only; no ref moves) and finds the
 * branch heads its merges name. `state` is the state at `head` (before the write's events).
 */
export const planBranches = (
  git: Context.Tag.Service<RealmGit>,
  dir: string,
  head: string | undefined,
  state: RealmState,
  events: ReadonlyArray<RealmEvent>,
  who: { readonly author: { readonly name: string; readonly email: string }; readonly time: number }
): Effect.Effect<BranchPlan, GitError> =>
  Effect.gen(function*() {
    if (
      !events.some((e) => e._tag === "ProposalOpened" || e._tag === "ProposalAmended" || e._tag === "ProposalMerged")
    ) {
      return noBranches
    }
    const moves: Array<BranchMove> = []
    const mergeParents: Array<string> = []
    let before = state
    for (const event of events) {
      if (event._tag === "ProposalOpened" || event._tag === "ProposalAmended") {
        const ref = event._tag === "ProposalOpened" ? event : proposalIn(before, event.id)
        if (ref !== undefined) {
          const branch = ref.branch
          const expected = moves.find((m) => m.branch === branch)?.commit ?? (yield* git.branchHead(dir, branch))
          const writes = mergedFiles(before, {
            domain: ref.domain,
            from: event.from,
            bump: event.bump,
            contract: event.proposed
          })
          const commit = yield* git.writeCommit(dir, {
            parent: head,
            ...(expected === undefined || expected === head ? {} : { mergeParents: [expected] }),
            writes,
            message: oneLine(
              `${
                event._tag === "ProposalOpened" ? event.repo : ref.branch.split("/")[1] ?? "?"
              }: ${ref.contract} ${event.from} → ${event.to} (${event.bump}${
                event.breaking ? ", breaking" : ""
              }; proposal ${event.id})`
            ),
            author: who.author,
            time: who.time
          })
          const others = moves.filter((m) => m.branch !== branch)
          const first = moves.find((m) => m.branch === branch)
          moves.splice(0, moves.length, ...others, { branch, expected: first?.expected ?? expected, commit })
        }
      }
      if (event._tag === "ProposalMerged") {
        const ref = proposalIn(before, event.id)
        const tip = ref === undefined
          ? undefined
          : moves.find((m) => m.branch === ref.branch)?.commit ?? (yield* git.branchHead(dir, ref.branch))
        if (tip !== undefined && tip !== head && !mergeParents.includes(tip)) mergeParents.push(tip)
      }
      before = evolve(before, event)
    }
    return { moves, mergeParents }
  })
