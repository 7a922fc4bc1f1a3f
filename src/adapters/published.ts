/**
 * The last step of an append (SPEC §2.1 step 5): once the events are in git and in daemon.db, the realm's watchers
 * are told. Optional: an engine with no `Published` service (a library user, a test) publishes to nobody; the CLI
 * and the MCP server tell the machine's daemon, which publishes to its feed; the daemon's own writes publish
 * in-process.
 */
import { Context, Effect, Option } from "effect"

/** The publishing port, called by the engine after every append that recorded events (and after a re-index). */
export class Published extends Context.Tag("blue/Published")<Published, {
  /** The realm's log grew (or was re-indexed): publish what is new. Never fails. */
  readonly published: (realm: string) => Effect.Effect<void>
}>() {}

/** Publishes through the caller's `Published` service, if it has one. */
export const publish = (realm: string): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.serviceOption(Published),
    Option.match({
      onNone: () => Effect.void,
      onSome: (p) => p.published(realm)
    })
  )
