/**
 * Embedding Blue realms in a Node program: open a realm, print a repo's status, then follow the realm as it changes
 * and print every new event.
 *
 *   node dist/watch.js <realm-dir> [repo] [--changes N]
 *
 * It indexes the realm as the CLI does (daemon.db in BLUE_HOME, default ~/.blue) and never writes to the realm.
 * New commits are picked up wherever they come from (`blue` in any repo, a `git pull` of the realm). With
 * `--changes N` it prints the status again after N new events and exits; otherwise it follows until interrupted.
 */
import {
  daemonDbPath,
  IdsLive,
  layerWith,
  RealmGitLive,
  RealmLockLive,
  Realms,
  type Recorded,
  renderStatus,
  SqliteEventLogLive,
  statusView
} from "blue-realms"
import { Cause, Chunk, Console, Effect, Exit, Layer, Option, Stream } from "effect"
import * as path from "node:path"

/** The engine on the same ports the `blue` CLI uses. */
const BlueLive = layerWith(Layer.mergeAll(SqliteEventLogLive(daemonDbPath()), RealmGitLive, RealmLockLive, IdsLive))

/** The realm's events after position `after`, as they are committed (polls the realm's branch every 250 ms). */
const changes = (dir: string, after: number) =>
  Stream.unwrap(
    Effect.map(Realms, (realms) =>
      Stream.paginateChunkEffect(after, (position) =>
        realms.events(dir, position).pipe(
          Effect.delay("250 millis"),
          Effect.map((batch) =>
            [Chunk.fromIterable(batch), Option.some(batch.at(-1)?.envelope.position ?? position)] as const
          )
        )))
  )

/** One line per event. */
const describe = ({ commit, envelope }: Recorded): string => {
  const e = envelope.event
  const what = e._tag === "ContractBumped"
    ? `: ${e.contract.name} ${e.from} → ${e.contract.version} (${e.bump})`
    : e._tag === "ContractPublished"
    ? `: ${e.contract.name} ${e.contract.version}`
    : ""
  return `#${envelope.position} ${e._tag} by ${envelope.actor.repo ?? envelope.actor.user}${what} (commit ${
    commit.slice(0, 8)
  })`
}

/** Opens the realm, prints `repo`'s status, and prints the next `limit` events (all, if undefined) as they arrive. */
const watch = (dir: string, repo: string | undefined, limit: number | undefined) =>
  Effect.gen(function*() {
    const realms = yield* Realms
    const realm = yield* realms.open(dir)
    const status = (r: typeof realm) => renderStatus(statusView(r.state, { path: r.dir, head: r.head }, repo))
    yield* Console.log(`realm ${realm.name}: ${realm.state.position} events, head ${realm.head.slice(0, 8)}`)
    yield* Console.log(status(realm))
    yield* Console.log("watching for changes…")
    const following = changes(dir, realm.state.position)
    yield* (limit === undefined ? following : Stream.take(following, limit)).pipe(
      Stream.runForEach((recorded) => Console.log(describe(recorded)))
    )
    yield* Console.log(status(yield* realms.open(dir)))
  })

const args = process.argv.slice(2)
const at = args.indexOf("--changes")
const limit = at === -1 ? undefined : Number(args[at + 1])
const [realmDir, repo] = args.filter((_, i) => at === -1 || (i !== at && i !== at + 1))
if (realmDir === undefined || (limit !== undefined && !(Number.isInteger(limit) && limit > 0))) {
  console.error("usage: node dist/watch.js <realm-dir> [repo] [--changes N]")
  process.exit(2)
}

Effect.runPromiseExit(watch(path.resolve(realmDir), repo, limit).pipe(Effect.provide(BlueLive))).then((exit) => {
  if (Exit.isFailure(exit)) {
    const error = Cause.squash(exit.cause)
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  }
})
