/**
 * Encoding of envelopes to JSON (event files, daemon.db rows) and decoding with upcasting: an old payload is
 * brought to the current shape by the upcasters before it is decoded, never edited in place.
 */
import { Either, type ParseResult, Schema } from "effect"
import { RealmEvent } from "../domain/events.js"
import { plainIssue } from "../domain/parseIssues.js"
import { escapeControls } from "../domain/text.js"
import { Envelope, type Recorded, schemaVersions } from "./envelope.js"

type Upcaster = (payload: Record<string, unknown>) => Record<string, unknown>

/** Upcasters by event type and the version they upgrade from. None yet: every event is at version 1. */
export const upcasters: Readonly<Record<string, Readonly<Record<number, Upcaster>>>> = {}

/** Brings a raw payload of `version` up to the current version of its type. */
export const upcast = (type: string, version: number, payload: Record<string, unknown>): Record<string, unknown> => {
  let current = payload
  const target = (schemaVersions as Record<string, number>)[type] ?? version
  for (let v = version; v < target; v++) {
    const step = upcasters[type]?.[v]
    if (step === undefined) throw new Error(`no upcaster for ${type} v${v}`)
    current = step(current)
  }
  return current
}

const encodeEnvelope = Schema.encodeSync(Envelope)
const decodeEvent = Schema.decodeUnknownEither(RealmEvent, { errors: "all" })
const decodeEnvelope = Schema.decodeUnknownEither(Envelope, { errors: "all" })

/** A parse error as one plain clause naming the field: `event.domain is missing`, `time: "x" is not …`. */
const plainError = (e: ParseResult.ParseError, prefix = ""): string => {
  const { detail, path } = plainIssue(e)
  const where = prefix === "" ? path : path === "" ? prefix : `${prefix}.${path}`
  if (where === "") return detail
  return /^(must|is) /.test(detail) ? `${where} ${detail}` : `${where}: ${detail}`
}

/** The JSON document of an event file (pretty, stable key order). */
export const envelopeToJson = (envelope: Envelope): string => JSON.stringify(encodeEnvelope(envelope), null, 2) + "\n"

/** The encoded payload of an event (what daemon.db stores in its payload column). */
export const encodeEvent = Schema.encodeSync(RealmEvent)

/**
 * A recorded event as `realm log --json`, the daemon's `/events` and its feed show it: snake_case like every other
 * document (the event files themselves keep the envelope's own field names).
 */
export const eventDocument = (r: Recorded) => ({
  id: r.envelope.id,
  realm: r.envelope.realm,
  position: r.envelope.position,
  type: r.envelope.type,
  schema_version: r.envelope.schemaVersion,
  time: r.envelope.time,
  actor: r.envelope.actor,
  ...(r.envelope.causationId === undefined ? {} : { causation_id: r.envelope.causationId }),
  correlation_id: r.envelope.correlationId,
  event: encodeEvent(r.envelope.event),
  commit: r.commit
})

/** Decodes an event file, upcasting its payload first. */
export const envelopeFromJson = (text: string): Either.Either<Envelope, string> => {
  let raw: any
  try {
    raw = JSON.parse(text)
  } catch (e) {
    return Either.left(`not JSON (${escapeControls((e as Error).message, { oneLine: true })})`)
  }
  if (raw === null || typeof raw !== "object" || typeof raw.event !== "object" || raw.event === null) {
    return Either.left("not an event envelope")
  }
  try {
    raw.event = upcast(String(raw.type), Number(raw.schemaVersion), raw.event)
    raw.schemaVersion = (schemaVersions as Record<string, number>)[raw.type] ?? raw.schemaVersion
  } catch (e) {
    return Either.left(escapeControls((e as Error).message, { oneLine: true }))
  }
  return Either.mapLeft(decodeEnvelope(raw), (e) => plainError(e))
}

/** Decodes a stored payload of `type`/`version` (daemon.db rows). */
export const decodePayload = (type: string, version: number, payload: unknown): Either.Either<RealmEvent, string> =>
  Either.mapLeft(
    decodeEvent(upcast(type, version, payload as Record<string, unknown>)),
    (e) => plainError(e, "event")
  )
