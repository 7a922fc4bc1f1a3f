/**
 * The `Forges` factory: a forge client for a location, with its token from the credential chain (looked up for the
 * forge's web URL, so `BLUE_REALM_TOKEN`, `BLUE_FORGEJO_TOKEN` under `BLUE_FORGEJO_URL`, a git credential helper,
 * the keychain or credentials.yaml all work as for git). One client per location, so its pacing is shared by every
 * caller in this process.
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Credentials } from "./credentials.js"
import {
  defaultForgePolicy,
  ForgeError,
  type ForgeLocation,
  type ForgePolicy,
  Forges,
  type ForgeService,
  localForge
} from "./forge.js"
import { makeForgejo } from "./forgejo.js"
import { githubWebUrl, makeGitHub } from "./github.js"

/** The GitHub API base: `BLUE_GITHUB_API_URL` (tests, GitHub Enterprise Server), else https://api.github.com. */
export const githubApiUrl = (env: NodeJS.ProcessEnv = process.env): string =>
  env["BLUE_GITHUB_API_URL"] || "https://api.github.com"

/** Builds the factory over the credential chain and an HttpClient. */
export const makeForges = (policy: Partial<ForgePolicy> = {}) =>
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const http = yield* HttpClient.HttpClient
    const rules = { ...defaultForgePolicy(), ...policy }
    const open = new Map<string, ForgeService>()
    const token = (url: string) =>
      credentials.lookup(url).pipe(
        Effect.map((c) => c?.password),
        Effect.mapError((e) => new ForgeError({ forge: url, op: "find a token", detail: e.message }))
      )
    return Forges.of({
      open: (location: ForgeLocation) =>
        Effect.gen(function*() {
          if (location.kind === "local") return localForge
          const id = location.kind === "forgejo" ? `forgejo ${location.url}` : `github ${location.apiUrl}`
          const known = open.get(id)
          if (known !== undefined) return known
          let made: ForgeService
          if (location.kind === "forgejo") {
            made = yield* makeForgejo({ url: location.url, token: yield* token(location.url), policy: rules }).pipe(
              Effect.provideService(HttpClient.HttpClient, http)
            )
          } else {
            const webUrl = location.webUrl ?? githubWebUrl(location.apiUrl)
            made = makeGitHub({ apiUrl: location.apiUrl, webUrl, token: yield* token(webUrl), policy: rules })
          }
          open.set(id, made)
          return made
        })
    })
  })

/** The factory over the credential chain and fetch. */
export const ForgesLive = (policy: Partial<ForgePolicy> = {}): Layer.Layer<Forges, never, Credentials> =>
  Layer.effect(Forges, makeForges(policy)).pipe(Layer.provide(FetchHttpClient.layer))
