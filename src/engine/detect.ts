/**
 * What a member repo's code says its exports are now: runs the extractor `.blue/config.yaml` declares for each
 * contract the repo owns, with the realm binding's source_files as the default file set.
 */
import { Effect } from "effect"
import type { RepoCacheService } from "../adapters/cache.js"
import { ExtractError, extractorKey, Extractors, type PerFile } from "../adapters/extract.js"
import type { Member } from "../adapters/files.js"
import type { RealmState } from "../domain/state.js"
import type { LocalExport } from "../projections/status.js"
import { Invocation } from "./invocation.js"

/** The export binding's source_files of `contract` for `repo`, wherever it is declared. */
export const sourceFilesOf = (state: RealmState, repo: string, contract: string): ReadonlyArray<string> => {
  for (const d of Object.values(state.domains)) {
    const x = d.bindings[repo]?.exports?.find((e) => e.contract === contract)
    if (x !== undefined) return x.source_files
  }
  return []
}

/** Detects every export the member declares an extractor for; failures are reported per contract, not thrown. */
export const localExports = (
  member: Member,
  state: RealmState,
  perFile?: (contract: string) => PerFile
): Effect.Effect<ReadonlyMap<string, LocalExport>, never, Extractors> =>
  Effect.zipWith(Extractors, Invocation, (extractors, invocation) => ({ extractors, env: invocation.env })).pipe(
    Effect.flatMap(({ env, extractors }) =>
      Effect.forEach(Object.entries(member.config.exports ?? {}), ([contract, extractor]) =>
        extractors.detect({
          root: member.root,
          contract,
          extractor,
          sourceFiles: sourceFilesOf(state, member.config.repo, contract),
          ...(perFile === undefined ? {} : { perFile: perFile(contract) }),
          env
        }).pipe(
          Effect.map((value): [string, LocalExport] => [contract, { value }]),
          Effect.catchAll((e) => Effect.succeed<[string, LocalExport]>([contract, { error: e.detail }]))
        ))
    ),
    Effect.map((entries) => new Map(entries))
  )

/** Per-file pattern results through the repo's cache.db: unchanged files are not read or matched again. */
export const cachedPerFile = (cache: RepoCacheService, member: Member) => (contract: string): PerFile => {
  const extractor = member.config.exports?.[contract]
  const key = extractor === undefined ? contract : extractorKey(extractor)
  return (file, compute) =>
    cache.exportFor(file, key, (content) => Effect.succeed(compute(content))).pipe(
      Effect.map((v) => v as Record<string, Array<string>>),
      Effect.mapError((e) => new ExtractError({ contract, detail: e instanceof Error ? e.message : String(e) }))
    )
}
