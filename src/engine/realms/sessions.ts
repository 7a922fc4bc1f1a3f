/**
 * The session mirror: this machine's sessions recorded on the realm branch `blue/sessions/<machine>`, and the
 * sessions other machines published there.
 */
import { Effect } from "effect"
import * as YAML from "yaml"
import { plural } from "../../domain/text.js"
import { lockPath, metaNow, type Ports } from "./shared.js"
import { lockTimeout } from "./shared.js"

/** The engine's session mirror. */
export const makeSessionMirror = ({ git, locks }: Ports) => {
  /**
   * Records this machine's session changes on the realm branch `blue/sessions/<machine>`: one commit with the
   * new event files and the machine's current sessions, so that other machines see who works where once they
   * have the realm. Runs under the realm's lock like every other write; the realm's own branch is untouched.
   */
  const publishSessions = (
    dir: string,
    machine: string,
    snapshot: unknown,
    events: ReadonlyArray<{ readonly id: string; readonly time: string; readonly payload: unknown }>
  ) =>
    Effect.scoped(Effect.gen(function*() {
      yield* locks.acquire(lockPath(dir), yield* lockTimeout)
      const branch = `blue/sessions/${machine}`
      const parent = yield* git.head(dir, branch)
      const writes = new Map<string, string | undefined>([
        [`sessions/${machine}.yaml`, YAML.stringify(snapshot)]
      ])
      for (const e of events) {
        writes.set(
          `sessions/${machine}/${e.time.slice(0, 10)}/${e.id}.json`,
          JSON.stringify(e.payload, null, 2) + "\n"
        )
      }
      const { ms } = yield* metaNow({ user: machine })
      const commit = yield* git.writeCommit(dir, {
        parent,
        writes,
        message: `${machine}: ${plural(events.length, "session change")}`,
        author: { name: machine, email: `${machine}@blue.sessions` },
        time: ms
      })
      yield* git.advance(dir, parent, commit, branch)
      return commit
    }))

  /** The sessions other machines published on `blue/sessions/*` branches of the realm. */
  const machineSessions = (dir: string) =>
    Effect.gen(function*() {
      const out: Array<{ machine: string; commit: string; snapshot: unknown }> = []
      for (const b of yield* git.branches(dir, "blue/sessions/")) {
        const machine = b.name.slice("blue/sessions/".length)
        const text = yield* git.readFile(dir, b.oid, `sessions/${machine}.yaml`)
        if (text !== undefined) out.push({ machine, commit: b.oid, snapshot: YAML.parse(text) as unknown })
      }
      return out
    })

  return { publishSessions, machineSessions } as const
}
