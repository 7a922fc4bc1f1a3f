/**
 * Every notification a realm has raised, with who acknowledged it and when: a fold over the log that watches the
 * realm state's pending notifications appear and disappear.
 */
import type { RealmEvent } from "../domain/events.js"
import { apply, draftOf, initialState, type PendingNotification } from "../domain/state.js"

/** What a notification's change did (or, for a proposal, would do) to its contract, e.g. "updated to 1.4.0". */
export const describeChange = (n: Pick<PendingNotification, "change_type" | "version" | "proposal">): string =>
  n.proposal !== undefined
    ? `${n.change_type === "breaking" ? "changed incompatibly" : "updated"} to ${n.version} in proposal ${n.proposal}`
    : n.change_type === "breaking"
    ? `changed incompatibly to ${n.version}`
    : n.change_type === "new"
    ? `published at ${n.version}`
    : `updated to ${n.version}`

/**
 * The one wording of a notification (status, `sessions --watch`, MCP): its headline and its changes, one per
 * indented line; `age` (e.g. "2 minutes ago") is shown where the reader has a clock to compare with.
 */
export const notificationSummary = (
  n: Pick<PendingNotification, "id" | "from_repo" | "contract" | "change_type" | "version" | "changes" | "proposal">,
  age?: string
): string =>
  [
    `🔔 Notification #${n.id} from ${n.from_repo}${age === undefined ? "" : ` (${age})`}: contract '${n.contract}' ${
      describeChange(n)
    }`,
    ...n.changes.map((c) => `    ${c}`)
  ].join("\n")

/** A notification with its acknowledgements. */
export interface NotificationRecord extends PendingNotification {
  readonly realm: string
  readonly acknowledged_by: ReadonlyArray<{ readonly repo: string; readonly user: string; readonly at: string }>
}

/** What the fold needs of an event. */
export interface HistoryItem {
  readonly position: number
  readonly time: string
  readonly actor: { readonly repo?: string | undefined; readonly user: string }
  readonly event: RealmEvent
}

/** All notifications of a realm, oldest first. */
export const notificationHistory = (realm: string, items: Iterable<HistoryItem>): Array<NotificationRecord> => {
  const draft = draftOf(initialState)
  const all = new Map<string, NotificationRecord>()
  for (const item of items) {
    const before = new Set(Object.keys(draft.pending))
    apply(draft, item.event, {
      position: item.position,
      time: item.time,
      ...(item.actor.repo === undefined ? {} : { actor: item.actor.repo })
    })
    draft.position = item.position
    for (const [key, n] of Object.entries(draft.pending)) {
      if (!before.has(key)) all.set(key, { ...n, realm, acknowledged_by: [] })
    }
    const event = item.event
    // A notification is answered by acknowledging it, or (for a proposal's) by acknowledging the proposal.
    const answered = event._tag === "NotificationAcknowledged"
      ? { repo: event.repo, keys: [`${event.id}:${event.repo}`] }
      : event._tag === "ProposalAcknowledged"
      ? {
        repo: event.repo,
        keys: [...before].filter((k) => !(k in draft.pending) && all.get(k)?.proposal === event.id)
      }
      : undefined
    for (const key of answered?.keys ?? []) {
      const n = all.get(key)
      if (n !== undefined) {
        all.set(key, {
          ...n,
          acknowledged_by: [...n.acknowledged_by, { repo: answered!.repo, user: item.actor.user, at: item.time }]
        })
      }
    }
  }
  return [...all.values()].sort((a, b) => Number(a.id) - Number(b.id) || a.repo.localeCompare(b.repo))
}
