/**
 * `blue realm admin governance|invite|approve|reject` on the command line: options gathered into the governance
 * operations' arguments (src/operations/governance.ts). `approve`/`reject` live in src/cli/sync.ts: one command for
 * join requests and contract proposals, dispatching on the id.
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { changeGovernance, inviteRepo } from "../operations/governance.js"
import { usage } from "./options.js"
import { given, presentOperation } from "./output.js"

const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))

const optionalChoice = <const A extends string>(name: string, values: ReadonlyArray<A>) =>
  Options.text(name).pipe(
    Options.withPseudoName(values.join("|")),
    Options.optional,
    Options.mapEffect((v) =>
      Option.isNone(v) || (values as ReadonlyArray<string>).includes(v.value)
        ? Effect.succeed(v as Option.Option<A>)
        : Effect.fail(usage(`--${name} ${JSON.stringify(v.value)}: expected one of ${values.join(", ")}`))
    )
  )

// blue realm admin governance
export const governanceCommand = Command.make(
  "governance",
  {
    addApprover: Options.text("add-approver").pipe(
      Options.withPseudoName("EMAIL"),
      Options.withDescription("add an approver (repeatable, or comma-separated)"),
      Options.repeated
    ),
    removeApprover: Options.text("remove-approver").pipe(
      Options.withPseudoName("EMAIL"),
      Options.withDescription("remove an approver (never the realm's last one)"),
      Options.repeated
    ),
    admission: optionalChoice("admission", ["open", "approval", "invite-only"] as const).pipe(
      Options.withDescription("how repos get in: open, approval or invite-only")
    ),
    requireApproval: optionalChoice("require-approval", ["true", "false"] as const).pipe(
      Options.withDescription("whether a breaking change needs an approver's approval")
    ),
    gracePeriodDays: Options.integer("grace-period-days").pipe(
      Options.withDescription("days after which a non-breaking change may merge without every acknowledgement"),
      Options.optional
    ),
    domain: Options.text("domain").pipe(
      Options.withDescription("change this domain's governance.yaml override instead of realm.yaml"),
      Options.optional
    ),
    json
  },
  (o) =>
    presentOperation(changeGovernance, o.json, {
      domain: given(o.domain),
      add_approver: o.addApprover.length === 0 ? undefined : o.addApprover,
      remove_approver: o.removeApprover.length === 0 ? undefined : o.removeApprover,
      admission: given(o.admission),
      require_approval: Option.getOrUndefined(Option.map(o.requireApproval, (v) => v === "true")),
      grace_period_days: given(o.gracePeriodDays)
    })
).pipe(
  Command.withDescription(
    "Show the realm's governance and pending join requests, or change it (approvers only; --domain for a domain's override)"
  )
)

// blue realm admin invite
export const inviteCommand = Command.make(
  "invite",
  {
    repo: Args.text({ name: "repo" }).pipe(Args.withDescription("the name the repo will join under")),
    json
  },
  (o) => presentOperation(inviteRepo, o.json, { repo: o.repo })
).pipe(Command.withDescription("Invite a repo into the realm (approvers only); its next join is admitted"))
