/**
 * `blue realm trust`: allow (or revoke) validation scripts named by realm contracts, and list what is allowed. A
 * pure BLUE_HOME operation: it needs no realm and never touches the realm engine.
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Schema } from "effect"
import * as nodePath from "node:path"
import { Invocation } from "../engine/invocation.js"
import { TrustStore } from "../engine/ports.js"
import { present } from "./output.js"

/** A combination of arguments the command cannot act on. */
export class TrustUsage extends Schema.TaggedError<TrustUsage>()("UsageError", {
  message: Schema.String
}) {}

/** What `blue realm trust` did, as printed with `--json`. */
export type TrustReport =
  | { readonly action: "usage"; readonly usage: string }
  | {
    readonly action: "trust"
    readonly scripts: ReadonlyArray<{
      readonly path: string
      readonly sha256: string
      readonly trustedAt: string
      readonly was: "trusted" | "untrusted" | "changed"
    }>
  }
  | { readonly action: "revoke"; readonly scripts: ReadonlyArray<{ readonly path: string; readonly revoked: boolean }> }
  | {
    readonly action: "list"
    readonly scripts: ReadonlyArray<{
      readonly path: string
      readonly sha256: string
      readonly trustedAt: string
      readonly now: "trusted" | "changed" | "missing"
    }>
  }

const USAGE = [
  "Usage: blue realm trust SCRIPT…           trust these validation scripts as they are now",
  "       blue realm trust --revoke SCRIPT…  forget them",
  "       blue realm trust --list            show the trusted scripts",
  "Scripts are resolved against the current directory; a script that changes must be trusted again."
].join("\n")

/** Trusts, revokes or lists scripts; `cwd` resolves relative script paths. */
export const trustScripts = (
  options: { readonly scripts: ReadonlyArray<string>; readonly revoke: boolean; readonly list: boolean },
  cwd: string = process.cwd()
) =>
  Effect.gen(function*() {
    const store = yield* TrustStore
    const files = options.scripts.map((s) => nodePath.resolve(cwd, s))
    if (options.list) {
      if (files.length > 0 || options.revoke) {
        return yield* new TrustUsage({ message: "--list takes no scripts and no --revoke; run it on its own" })
      }
      const entries = yield* store.list
      const scripts = yield* Effect.forEach(entries, (e) =>
        store.status(e.path).pipe(
          Effect.map((s) => (s === "trusted" ? "trusted" as const : "changed" as const)),
          Effect.catchTag("NotAScript", () => Effect.succeed("missing" as const)),
          Effect.map((now) => ({ ...e, now }))
        ))
      return { action: "list", scripts } satisfies TrustReport
    }
    if (files.length === 0) {
      if (options.revoke) return yield* new TrustUsage({ message: "--revoke needs the scripts to forget" })
      return { action: "usage", usage: USAGE } satisfies TrustReport
    }
    if (options.revoke) {
      const scripts = yield* Effect.forEach(files, (f) =>
        Effect.map(store.revoke(f), (revoked) => ({ path: f, revoked })))
      return { action: "revoke", scripts } satisfies TrustReport
    }
    // Every script must exist before any is recorded, so a typo records nothing.
    const before = yield* Effect.forEach(files, (f) =>
      store.status(f))
    const scripts = yield* Effect.forEach(files, (f, i) =>
      Effect.map(store.trust(f), (entry) => ({ ...entry, was: before[i]! })))
    return { action: "trust", scripts } satisfies TrustReport
  })

/** Human rendering of a trust report. */
export const renderTrustReport = (r: TrustReport): string => {
  switch (r.action) {
    case "usage":
      return r.usage
    case "trust":
      return r.scripts.map((s) =>
        `✓ Trusted ${s.path} (sha256 ${s.sha256.slice(0, 12)}…)${
          s.was === "changed" ? " — its content had changed since it was last trusted" : ""
        }`
      ).join("\n")
    case "revoke":
      return r.scripts.map((s) => (s.revoked ? `✓ Revoked ${s.path}` : `· ${s.path} was not trusted`)).join("\n")
    case "list":
      return r.scripts.length === 0
        ? "No trusted scripts."
        : r.scripts.map((s) =>
          `${s.now === "trusted" ? "✓" : "✗"} ${s.path}  sha256 ${s.sha256.slice(0, 12)}…  trusted ${s.trustedAt}${
            s.now === "changed"
              ? "  (changed since; will not run until trusted again)"
              : s.now === "missing"
              ? "  (missing)"
              : ""
          }`
        ).join("\n")
  }
}

/** `blue realm trust [SCRIPT…] [--revoke] [--list] [--json]` (registered under `blue realm`). */
export const trustCommand = Command.make(
  "trust",
  {
    scripts: Args.text({ name: "script" }).pipe(
      Args.withDescription("validation script to trust (or revoke), relative to the current directory"),
      Args.repeated
    ),
    revoke: Options.boolean("revoke").pipe(Options.withDescription("forget the given scripts instead")),
    list: Options.boolean("list").pipe(Options.withDescription("show the trusted scripts")),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))
  },
  ({ json, list, revoke, scripts }) =>
    present(
      json,
      Effect.flatMap(Invocation, (i) => trustScripts({ scripts, revoke, list }, i.cwd)),
      renderTrustReport
    )
).pipe(
  Command.withDescription(
    "Allow validation scripts named by realm contracts to run (recorded by content hash in BLUE_HOME)"
  )
)
