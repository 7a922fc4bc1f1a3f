/**
 * Where a command runs: in a member repo (found by `.blue/config.yaml` upward) or in a realm repo itself.
 */
import { Effect } from "effect"
import type { Actor } from "../domain/commands.js"
import { PathProblem } from "../engine/errors.js"
import { Invocation } from "../engine/invocation.js"
import { Identity, type Member, MemberConfig, Workspace } from "../engine/ports.js"

/** The realm a command talks to, and who is acting. */
export interface Here {
  readonly realmDir: string
  readonly member: Member | undefined
  readonly actor: Actor
}

/**
 * Resolves the realm and actor for the current directory. The actor is not checked here (read-only commands do not
 * record it); the engine refuses a write by an identity that could forge commit lines.
 */
export const here = (dir?: string) =>
  Effect.gen(function*() {
    const invocation = yield* Invocation
    const cwd = dir ?? invocation.cwd
    const configs = yield* MemberConfig
    const identity = yield* Identity
    const memberRoot = yield* configs.find(cwd)
    if (memberRoot !== undefined) {
      const member = yield* configs.read(memberRoot)
      return {
        realmDir: member.realmDir,
        member,
        actor: { repo: member.config.repo, user: yield* identity.current(cwd, invocation.env) }
      } satisfies Here
    }
    const realmRoot = yield* Effect.flatMap(Workspace, (w) => w.realmRoot(cwd))
    if (realmRoot !== undefined) {
      return {
        realmDir: realmRoot,
        member: undefined,
        actor: { user: yield* identity.current(cwd, invocation.env) }
      } satisfies Here
    }
    return yield* new PathProblem({
      path: cwd,
      detail:
        "is not inside a repo that joined a realm (no .blue/config.yaml) nor inside a realm repo; run 'blue realm admin join <realm-path>' in your repo first"
    })
  })

/** Like `here`, but the command must run inside a member repo; `detail` says why, naming the command. */
export const hereAsMember = (
  dir?: string,
  detail = "run this inside a member repo (it has .blue/config.yaml)"
) =>
  Effect.flatMap(Effect.zip(here(dir), Invocation), ([h, invocation]) =>
    h.member === undefined
      ? Effect.fail(new PathProblem({ path: dir ?? invocation.cwd, detail }))
      : Effect.succeed({ ...h, member: h.member }))
