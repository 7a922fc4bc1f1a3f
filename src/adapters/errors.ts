/**
 * Adapter failures: one class per adapter, recording the operation and the underlying cause. They are mapped to
 * one sentence at the edge and never leak upward as bare strings.
 */
import { Schema } from "effect"

/** A git operation on a realm repo failed. */
export class GitError extends Schema.TaggedError<GitError>()("GitError", {
  op: Schema.String,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `git ${this.op} failed in ${this.path}: ${this.detail}`
  }
}

/** daemon.db could not be read or written. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  op: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `daemon.db ${this.op} failed: ${this.detail}`
  }
}

/** Another process holds the realm's write lock for longer than we wait. */
export class LockTimeout extends Schema.TaggedError<LockTimeout>()("LockTimeout", {
  path: Schema.String,
  waitedMs: Schema.Number
}) {
  override get message() {
    return `Another blue process holds the write lock ${this.path} (waited ${
      (this.waitedMs / 1000).toFixed(1)
    } s); retry when it has finished.`
  }
}

/** The realm branch moved under us although we held the lock (someone wrote without it). */
export class ConcurrentUpdate extends Schema.TaggedError<ConcurrentUpdate>()("ConcurrentUpdate", {
  path: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message() {
    return `The realm branch in ${this.path} moved from ${this.expected.slice(0, 8)} to ${
      this.actual.slice(0, 8)
    } while we were writing; nothing was written, retry the command.`
  }
}

/** A file or directory the command needs is missing or unusable. */
export class PathProblem extends Schema.TaggedError<PathProblem>()("PathProblem", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.path}: ${this.detail}`
  }
}

/** The realm's git history contains something replay cannot read. */
export class LogCorrupt extends Schema.TaggedError<LogCorrupt>()("LogCorrupt", {
  realm: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `The event log of realm '${this.realm}' is damaged: ${this.detail}`
  }
}

/** One of git's own lock files (a ref's .lock, index.lock, packed-refs.lock) stayed in place while we waited. */
export class GitLockHeld extends Schema.TaggedError<GitLockHeld>()("GitLockHeld", {
  path: Schema.String,
  waitedMs: Schema.Number
}) {
  override get message() {
    return `${this.path} is held by another git process (waited ${
      (this.waitedMs / 1000).toFixed(1)
    } s); if no git is running, remove it.`
  }
}

/** The realm branch no longer contains the commit this machine's daemon.db indexed up to. */
export class HistoryRewritten extends Schema.TaggedError<HistoryRewritten>()("HistoryRewritten", {
  realm: Schema.String,
  path: Schema.String,
  commit: Schema.String,
  position: Schema.Number
}) {
  override get message() {
    return `The realm's main no longer contains commit ${
      this.commit.slice(0, 8)
    } that this machine indexed up to position ${this.position} — history was rewritten (reset or force-push); run 'blue realm admin reindex' in ${this.path} to re-index this machine from git.`
  }
}
