/**
 * The one child-process runner for programs that realm content names (validation hooks, extractor commands): each
 * runs without Blue's secrets (a scrubbed environment), in its own process group so that one signal reaches
 * everything it started, under a timeout, with its output bounded. Also the synchronous read of a trusted tool's
 * output (`git config`), which keeps Blue's environment because the tool's own configuration lives there; and the
 * detached start of Blue's daemon, which outlives the process that starts it.
 */
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"

/** Variables passed through from Blue's own environment; everything else (tokens, keys…) is dropped. */
export const PASSED_ENV: ReadonlyArray<string> = ["PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR"]

/**
 * The scrubbed environment: the passed-through variables of `from`, plus `extra`. A program realm content names
 * (hook, extractor command) gets them from the environment of the command that runs it (the `Invocation`'s, which
 * is the caller's even when the daemon runs the command), so it finds the same programs on the same PATH either
 * way; only Blue's own tools (git) default to this process's.
 */
export const scrubbedEnv = (
  extra: Record<string, string>,
  from: Readonly<Record<string, string | undefined>> = process.env
): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const name of PASSED_ENV) {
    const value = from[name]
    if (value !== undefined) env[name] = value
  }
  return { ...env, ...extra }
}

/**
 * Whether a process group still has a member that is not a zombie. Orphans are reaped by PID 1, which in some
 * containers does so slowly, and a zombie still counts for kill(-pgid, 0); only Linux's /proc tells them apart.
 */
const groupHasLiveMember = (pgid: number): boolean => {
  let pids: Array<string>
  try {
    pids = fs.readdirSync("/proc")
  } catch {
    return true
  }
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
      const [state, , group] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      if (Number(group) === pgid && state !== "Z") return true
    } catch {
      // gone while we looked
    }
  }
  return false
}

/** What to run and how. */
export interface RunOptions {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  /** the whole environment (see `scrubbedEnv`) */
  readonly env: Record<string, string>
  /** written to the child's stdin; without it stdin is closed */
  readonly stdin?: string
  readonly timeoutMs: number
  /**
   * With a grace period, whatever the program leaves in its group once it exits (or times out) gets SIGTERM, then
   * SIGKILL when the grace is over, and the run reports only when the group is gone. Without one, a timeout
   * SIGKILLs the group and reports at once, and a run that exits reports when its output is closed.
   */
  readonly graceMs?: number
  /** most bytes of stdout and stderr kept together; the rest is counted in `dropped` */
  readonly outputLimit?: number
}

/** How a run ended; never a failure. */
export interface RunResult {
  /** the exit code; null when killed by a signal, timed out or never started */
  readonly code: number | null
  readonly timedOut: boolean
  /** why the program could not be started */
  readonly spawnError: Error | undefined
  readonly stdout: string
  readonly stderr: string
  /** stdout and stderr interleaved as they arrived, up to the output limit */
  readonly output: string
  /** bytes beyond the output limit */
  readonly dropped: number
  readonly durationMs: number
}

/** Runs a program in its own process group, scrubbed and bounded (see `RunOptions`); never fails. */
export const runProcess = (options: RunOptions): Effect.Effect<RunResult> =>
  Effect.async<RunResult>((resume) => {
    const started = performance.now()
    const limit = options.outputLimit ?? Infinity
    // detached: the child leads a new process group, so one signal reaches everything it started.
    const child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"]
    })
    const chunks: Array<{ readonly err: boolean; readonly chunk: Buffer }> = []
    let kept = 0
    let dropped = 0
    let timedOut = false
    let exit: { code: number | null } | undefined
    let spawnError: Error | undefined
    let finished = false
    const timers: Array<NodeJS.Timeout> = []

    const signalGroup = (signal: NodeJS.Signals | 0) => {
      if (child.pid === undefined) return false
      try {
        process.kill(-child.pid, signal)
        return true
      } catch {
        return false
      }
    }
    const groupAlive = () => signalGroup(0) && child.pid !== undefined && groupHasLiveMember(child.pid)

    const collect = (err: boolean) => (chunk: Buffer) => {
      const room = limit - kept
      if (room > 0) {
        chunks.push({ err, chunk: chunk.length > room ? chunk.subarray(0, room) : chunk })
        kept += Math.min(room, chunk.length)
      }
      dropped += Math.max(0, chunk.length - Math.max(0, room))
    }
    child.stdout!.on("data", collect(false))
    child.stderr!.on("data", collect(true))
    if (child.stdin !== null) {
      // A program that never reads its input closes the pipe early; that is not an error.
      child.stdin.on("error", () => undefined)
      child.stdin.end(options.stdin)
    }

    const text = (pick: (c: { readonly err: boolean }) => boolean) =>
      Buffer.concat(chunks.filter(pick).map((c) => c.chunk)).toString("utf8")
    const finish = (code: number | null) => {
      if (finished) return
      finished = true
      for (const t of timers) clearTimeout(t)
      child.stdout!.destroy()
      child.stderr!.destroy()
      resume(Effect.succeed({
        code: timedOut || (spawnError !== undefined && exit === undefined) ? null : code,
        timedOut,
        spawnError: exit === undefined ? spawnError : undefined,
        stdout: text((c) => !c.err),
        stderr: text((c) => c.err),
        output: text(() => true),
        dropped,
        durationMs: Math.round(performance.now() - started)
      }))
    }

    const graceMs = options.graceMs
    if (graceMs === undefined) {
      timers.push(setTimeout(() => {
        timedOut = true
        signalGroup("SIGKILL")
        finish(null)
      }, options.timeoutMs))
      child.on("close", (code) => finish(code))
      child.on("error", (e) => {
        spawnError = e
        finish(null)
      })
    } else {
      // After the program exits (or is told to stop), whatever it left in its group gets SIGTERM, then SIGKILL once
      // the grace period is over; we report only when the group is gone and its output is read.
      let reaping = false
      let closed = false
      const reap = () => {
        if (reaping) return
        reaping = true
        signalGroup("SIGTERM")
        const deadline = performance.now() + graceMs
        const poll = () => {
          if (!groupAlive()) {
            if (closed) finish(exit?.code ?? null)
            else timers.push(setTimeout(() => finish(exit?.code ?? null), 200))
          } else if (performance.now() >= deadline) {
            signalGroup("SIGKILL")
            timers.push(setTimeout(() => finish(exit?.code ?? null), 100))
          } else {
            timers.push(setTimeout(poll, 20))
          }
        }
        poll()
      }
      timers.push(setTimeout(() => {
        // A program that exited in time is judged by its exit code, even while its leftovers are being stopped.
        if (exit !== undefined) return
        timedOut = true
        reap()
      }, options.timeoutMs))
      child.on("exit", (code) => {
        exit = { code }
        reap()
      })
      child.on("close", () => {
        closed = true
        if (!groupAlive()) finish(exit?.code ?? null)
      })
      child.on("error", (e) => {
        spawnError = e
        if (child.pid === undefined) finish(null)
      })
    }

    return Effect.sync(() => {
      if (finished) return
      finished = true
      for (const t of timers) clearTimeout(t)
      signalGroup("SIGKILL")
    })
  })

/** A program started to outlive this process (see `spawnDetached`). */
export interface Detached {
  /** its PID; undefined when it could not be started */
  readonly pid: number | undefined
  /** how it ended (`exit code 1`, `signal SIGKILL`, `could not run …`), once it has; undefined while it runs */
  readonly exited: () => string | undefined
}

/**
 * Starts a trusted program (Blue's own daemon) that outlives this process: the leader of its own process group, so
 * a signal to the caller's group does not reach it; stdin closed, stdout and stderr appended to `outputFd`; not
 * waited for, so this process may exit while it runs. Its environment is given whole. Throws when it cannot be
 * spawned at all.
 */
export const spawnDetached = (options: {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly env: Readonly<Record<string, string | undefined>>
  /** an open file descriptor its output is appended to; the caller may close it once this returns */
  readonly outputFd: number
}): Detached => {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    detached: true,
    stdio: ["ignore", options.outputFd, options.outputFd],
    env: options.env
  })
  let exited: string | undefined
  child.once("error", (e) => (exited = `could not run ${options.command}: ${e.message}`))
  child.once("exit", (code, signal) => (exited = signal === null ? `exit code ${code}` : `signal ${signal}`))
  child.unref()
  return { pid: child.pid, exited: () => exited }
}

/**
 * Runs a trusted tool synchronously with Blue's own environment and returns its stdout whatever its exit code, or
 * undefined when it could not be started (e.g. no `git` on the machine).
 */
export const readOutputSync = (command: string, args: ReadonlyArray<string>, cwd: string): string | undefined => {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
  return r.error === undefined ? r.stdout ?? "" : undefined
}
