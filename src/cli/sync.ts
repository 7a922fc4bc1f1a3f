/**
 * `blue realm sync`, the approvers' `blue realm admin approve|reject <proposal>` and the owner's
 * `blue realm proposal withdraw <proposal>` on the command line: options gathered into the operations' arguments
 * (src/operations/sync.ts).
 */
import { Args, Command, Options } from "@effect/cli"
import { isJoinRequestId, reviewJoin } from "../operations/governance.js"
import { approveProposal, realmSync, rejectProposal, withdrawProposal } from "../operations/sync.js"
import { given, presentOperation } from "./output.js"

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))
const proposalId = Args.text({ name: "proposal" }).pipe(
  Args.withDescription("the proposal's id (as 'blue realm status' shows it)")
)
const reason = Options.text("reason").pipe(Options.withDescription("why, recorded with the decision"), Options.optional)

// blue realm sync
export const syncCommand = Command.make(
  "sync",
  {
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("show what sync would do; write nothing anywhere")),
    noCache: Options.boolean("no-cache").pipe(Options.withDescription("detect exports without .blue/cache.db")),
    noNotify: Options.boolean("no-notify").pipe(
      Options.withDescription("tell no session (the proposal is still recorded and shows in status)")
    ),
    json
  },
  (o) => presentOperation(realmSync, o.json, { dry_run: o.dryRun, no_cache: o.noCache, notify: !o.noNotify })
).pipe(
  Command.withDescription(
    "Publish local contract changes as proposals, acknowledge and resolve imports, merge what is ready"
  )
)

/**
 * `blue realm admin approve|reject <id>`: one command for both things an approver decides, told apart by the id —
 * a join request's (`join-…`, governance) or a contract proposal's.
 */
const decision = (verdict: "approve" | "reject") =>
  Command.make(
    verdict,
    {
      id: Args.text({ name: "id" }).pipe(
        Args.withDescription(
          "a contract proposal's id, or a join request's (join-…), as 'blue realm status' shows them"
        )
      ),
      reason,
      json
    },
    (o) =>
      isJoinRequestId(o.id)
        ? presentOperation(reviewJoin, o.json, { id: o.id, verdict, reason: given(o.reason) })
        : verdict === "approve"
        ? presentOperation(approveProposal, o.json, { id: o.id })
        : presentOperation(rejectProposal, o.json, { id: o.id, reason: given(o.reason) })
  ).pipe(
    Command.withDescription(
      verdict === "approve"
        ? "Approve a contract proposal or a join request (approvers only)"
        : "Reject a contract proposal or a join request (approvers only); it never merges"
    )
  )

// blue realm admin approve|reject <id>
export const approveCommand = decision("approve")
export const rejectCommand = decision("reject")

// blue realm proposal withdraw <proposal>
const withdrawCommand = Command.make(
  "withdraw",
  { id: proposalId, reason, json },
  (o) => presentOperation(withdrawProposal, o.json, { id: o.id, reason: given(o.reason) })
).pipe(Command.withDescription("Withdraw this repo's own proposal; it never merges"))

/** `blue realm proposal …`: what a proposal's owner does to it. */
export const proposalCommand = Command.make("proposal").pipe(
  Command.withDescription("Contract-change proposals: withdraw"),
  Command.withSubcommands([withdrawCommand])
)
