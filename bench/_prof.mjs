import { Effect, Layer, ManagedRuntime } from "effect"
import * as path from "node:path"
import { IdsLive, RealmGitLive, RealmLockLive, Realms, SqliteEventLogLive } from "../dist/index.js"
const root = process.argv[2]
const N = Number(process.argv[3] ?? 20)
const realmDir = path.join(root, "realm-scale")
const USER = "bench@example.com"
const layer = Realms.Default.pipe(Layer.provide(Layer.mergeAll(SqliteEventLogLive(path.join(root, "home", "daemon.db")), RealmGitLive, RealmLockLive, IdsLive)))
const rt = ManagedRuntime.make(layer)
const exec = async (command, actor) => {
  const t0 = performance.now()
  await rt.runPromise(Effect.flatMap(Realms, (r) => r.execute(realmDir, command, actor)))
  return performance.now() - t0
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const out = { join: [], create: [], publish: [] }
const tag = Date.now().toString(36)
for (let i = 0; i <= N; i++) {
  out.join.push(await exec({ _tag: "JoinRealm", repo: `new-${tag}-${i}`, path: `/src/new-${i}`, maintainers: [USER] }, { repo: `new-${tag}-${i}`, user: USER }))
}
for (let i = 0; i < N; i++) {
  out.create.push(await exec({ _tag: "CreateDomain", domain: `nd-${tag}-${i}`, repos: [`new-${tag}-${i}`, `new-${tag}-${i + 1}`] }, { repo: `new-${tag}-${i}`, user: USER }))
}
const schema = { type: "object", properties: { read: { type: "array", items: { type: "string" } } }, required: ["read"] }
for (let i = 0; i < N; i++) {
  out.publish.push(await exec({ _tag: "PublishContract", contract: `nd-${tag}-${i}`, domain: `nd-${tag}-${i}`, schema, value: { read: [`b/${i}`] } }, { repo: `new-${tag}-${i}`, user: USER }))
}
await rt.dispose()
console.log(JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { first: Math.round(v[0]), median: Math.round(median(v.slice(1))) }]))))
