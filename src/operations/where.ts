/**
 * Where a command runs: in a member repo (found by `.blue/config.yaml` upward) or in a realm repo itself.
 */
import { Effect } from "effect"
import { PathProblem } from "../adapters/errors.js"
import { findMemberRoot, findRealmRoot, type Member, readMember } from "../adapters/files.js"
import { currentUser as identityOf } from "../adapters/identity.js"
import type { Actor } from "../domain/commands.js"
import { Invocation } from "../engine/invocation.js"

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
    const currentUser = (cwd: string) => identityOf(cwd, invocation.env)
    const memberRoot = findMemberRoot(cwd)
    if (memberRoot !== undefined) {
      const member = yield* readMember(memberRoot)
      return {
        realmDir: member.realmDir,
        member,
        actor: { repo: member.config.repo, user: currentUser(cwd) }
      } satisfies Here
    }
    const realmRoot = findRealmRoot(cwd)
    if (realmRoot !== undefined) {
      return { realmDir: realmRoot, member: undefined, actor: { user: currentUser(cwd) } } satisfies Here
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
