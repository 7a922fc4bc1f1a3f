/**
 * The envelope every realm event travels in: sortable unique id, realm, position in the realm's one order,
 * type and schema version, time, actor, causation and correlation ids.
 */
import { Schema } from "effect"
import { Actor } from "../domain/commands.js"
import { RealmEvent } from "../domain/events.js"
import { Timestamp } from "../domain/files.js"

/** A ULID: 26 Crockford base-32 characters, sortable by time. */
export const EventId = Schema.String.pipe(Schema.pattern(/^[0-9A-HJKMNP-TV-Z]{26}$/))

/** A stored event. */
export const Envelope = Schema.Struct({
  id: EventId,
  realm: Schema.String,
  position: Schema.Int.pipe(Schema.positive()),
  type: Schema.String,
  schemaVersion: Schema.Int.pipe(Schema.positive()),
  time: Timestamp,
  actor: Actor,
  causationId: Schema.optional(Schema.String),
  correlationId: Schema.String,
  event: RealmEvent
})
/** A stored event. */
export type Envelope = typeof Envelope.Type

/** An envelope together with the realm commit that carries it. */
export interface Recorded {
  readonly envelope: Envelope
  readonly commit: string
}

/** Current schema version of each event type; bump it and add an upcaster when a payload changes shape. */
export const schemaVersions: Readonly<Record<RealmEvent["_tag"], number>> = {
  RealmInitialized: 1,
  RepoJoined: 1,
  RepoLeft: 1,
  DomainCreated: 1,
  ContractPublished: 1,
  ContractBumped: 1,
  BindingDeclared: 1,
  NotificationAcknowledged: 1,
  ProposalOpened: 1,
  ProposalAmended: 1,
  ProposalAcknowledged: 1,
  ProposalApproved: 1,
  ProposalRejected: 1,
  ProposalWithdrawn: 1,
  ProposalMerged: 1,
  GovernanceChanged: 1,
  RepoInvited: 1,
  JoinRequested: 1,
  JoinApproved: 1,
  JoinRejected: 1,
  WorktreeCreated: 1,
  WorktreeCommitted: 1,
  WorktreePushed: 1,
  WorktreePullsRecorded: 1,
  WorktreeRemoved: 1
}

/**
 * Where an event's file lives in the realm repo: one new file per event, never edited, in a folder per day and
 * hour so that no tree a commit rewrites grows large.
 */
export const eventFilePath = (envelope: Pick<Envelope, "id" | "time">): string =>
  `events/${envelope.time.slice(0, 10)}/${envelope.time.slice(11, 13)}/${envelope.id}.json`
