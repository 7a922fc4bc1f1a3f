/**
 * Declaring a new contract (issue 12): `blue realm export --name K --domain D` in the repo that provides D, when D
 * has no contract K yet. The contract starts as the placeholder `domain create` writes, owned by the acting repo,
 * then takes the given schema and value as its first version (1.0.0, or the declared one); the provider's binding
 * gains the export. Pure: no IO.
 */
import { Either } from "effect"
import * as semver from "semver"
import type { PublishContract } from "./commands.js"
import { planPublish } from "./contracts.js"
import { type DomainError, InvalidSourceFiles, InvalidVersion } from "./errors.js"
import { BindingDeclared, ContractPublished, type RealmEvent } from "./events.js"
import type { ContractFile } from "./files.js"
import { DomainNotFound, NotDomainProvider } from "./governanceErrors.js"
import { sourceGlobProblem } from "./nameRules.js"
import { PLACEHOLDER_SCHEMA } from "./placeholder.js"
import type { RealmState } from "./state.js"

/** Whether a publish of `contract` into `domain` would declare it (the domain exists and has no such contract). */
export const declaresContract = (state: RealmState, contract: string, domain: string | undefined): boolean =>
  domain !== undefined && state.domains[domain]?.contracts[contract] === undefined

/** The domains `repo` provides. */
export const providedBy = (state: RealmState, repo: string): ReadonlyArray<string> =>
  Object.entries(state.domains).filter(([, d]) => d.bindings[repo]?.role === "provider").map(([name]) => name).sort()

/** Decides the declaration of contract `command.contract` in `domain` by `actor` (a member repo). */
export const decideDeclareContract = (
  command: typeof PublishContract.Type,
  domain: string,
  state: RealmState,
  actor: string
): Either.Either<ReadonlyArray<RealmEvent>, DomainError> =>
  Either.gen(function*() {
    const d = state.domains[domain]
    if (d === undefined) {
      return yield* Either.left(
        new DomainNotFound({ realm: state.realm?.name ?? "", domain, domains: Object.keys(state.domains).sort() })
      )
    }
    const binding = d.bindings[actor]
    if (binding === undefined || binding.role !== "provider") {
      return yield* Either.left(
        new NotDomainProvider({
          domain,
          contract: command.contract,
          repo: actor,
          provides: [...providedBy(state, actor)]
        })
      )
    }
    if (command.version !== undefined && semver.valid(command.version) !== command.version) {
      return yield* Either.left(new InvalidVersion({ contract: command.contract, value: command.version }))
    }
    for (const glob of command.sourceFiles ?? []) {
      const reason = sourceGlobProblem(glob)
      if (reason !== undefined) {
        return yield* Either.left(new InvalidSourceFiles({ contract: command.contract, glob, reason }))
      }
    }
    const placeholder: ContractFile = {
      name: command.contract,
      version: "1.0.0",
      owner: actor,
      compatibility: { backwards: true, forwards: false },
      schema: PLACEHOLDER_SCHEMA,
      value: {},
      evolution: [{ version: "1.0.0", changes: ["Initial version"], compatible: true }]
    }
    const plan = yield* planPublish(placeholder, {
      ...(command.schema === undefined ? {} : { schema: command.schema }),
      ...(command.value === undefined ? {} : { value: command.value }),
      ...(command.validation === undefined ? {} : { validation: command.validation })
    })
    const first = plan._tag === "Unchanged" ? placeholder : plan.contract
    const version = command.version ?? first.version
    const contract: ContractFile = {
      ...first,
      version,
      evolution: first.evolution.map((e, i) => (i === 0 ? { ...e, version } : e))
    }
    const exports = binding.exports ?? []
    return [
      new ContractPublished({ domain, contract }),
      new BindingDeclared({
        domain,
        binding: {
          ...binding,
          exports: [
            ...exports.filter((x) => x.contract !== contract.name),
            { contract: contract.name, source_files: [...(command.sourceFiles ?? [])] }
          ]
        }
      })
    ]
  })
