/**
 * The status view: what `blue realm status` shows a member repo (or an admin in the realm repo).
 */
import type { Role } from "../domain/files.js"
import type { RealmState } from "../domain/state.js"

/** One contract as status shows it. */
export interface ContractView {
  readonly name: string
  readonly version: string
  readonly owner: string
  /** for consumers: the range this repo imports and how it stands */
  readonly import?: { readonly version: string; readonly status: string; readonly resolved_version?: string }
}

/** One domain of the repo. */
export interface DomainView {
  readonly name: string
  readonly role: Role | "member"
  readonly contracts: ReadonlyArray<ContractView>
  readonly peers: ReadonlyArray<{ readonly repo: string; readonly role: Role | "member"; readonly joined: boolean }>
}

/** The status document (also the `--json` output). */
export interface StatusView {
  readonly realm: {
    readonly name: string
    readonly path: string
    readonly head: string
    readonly position: number
    readonly admission: string
    readonly repos: number
    readonly domains: number
  }
  readonly repo: { readonly name: string; readonly member: boolean } | null
  readonly domains: ReadonlyArray<DomainView>
  readonly repos: ReadonlyArray<{ readonly name: string; readonly path?: string; readonly joined_at: string }>
}

const roleIn = (state: RealmState, domain: string, repo: string): Role | "member" =>
  state.domains[domain]?.bindings[repo]?.role ?? "member"

/** Builds the status view of `repo` (or of the whole realm when `repo` is undefined). */
export const statusView = (
  state: RealmState,
  realm: { readonly path: string; readonly head: string },
  repo: string | undefined
): StatusView => {
  const domains = Object.entries(state.domains)
    .filter(([, d]) => repo === undefined || d.file.members.includes(repo) || repo in d.bindings)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, d]): DomainView => {
      const imports = repo === undefined ? [] : d.bindings[repo]?.imports ?? []
      return {
        name,
        role: repo === undefined ? "member" : roleIn(state, name, repo),
        contracts: Object.values(d.contracts).map((c) => {
          const imp = imports.find((i) => i.contract === c.name)
          return {
            name: c.name,
            version: c.version,
            owner: c.owner,
            ...(imp === undefined ? {} : {
              import: {
                version: imp.version,
                status: imp.status,
                ...(imp.resolved_version === undefined ? {} : { resolved_version: imp.resolved_version })
              }
            })
          }
        }),
        peers: d.file.members
          .filter((m) => m !== repo)
          .map((m) => ({ repo: m, role: roleIn(state, name, m), joined: m in state.repos }))
      }
    })
  return {
    realm: {
      name: state.realm?.name ?? "",
      path: realm.path,
      head: realm.head,
      position: state.position,
      admission: state.realm?.governance.admission ?? "open",
      repos: Object.keys(state.repos).length,
      domains: Object.keys(state.domains).length
    },
    repo: repo === undefined ? null : { name: repo, member: repo in state.repos },
    domains,
    repos: Object.values(state.repos)
      .map((r) => ({ name: r.name, ...(r.path === undefined ? {} : { path: r.path }), joined_at: r.joined_at }))
      .sort((a, b) => a.name.localeCompare(b.name))
  }
}

/** Human rendering of the status view, modelled on the seeds' examples. */
export const renderStatus = (v: StatusView): string => {
  const lines: Array<string> = []
  lines.push(
    v.repo === null ? `📊 realm ${v.realm.name} (admin view)` : `📊 ${v.repo.name} (in realm: ${v.realm.name})`
  )
  if (v.repo !== null && !v.repo.member) lines.push(`⚠️  ${v.repo.name} is not a member of this realm any more.`)
  if (v.domains.length === 0) lines.push("Domains: none yet (create one with 'blue realm admin domain create')")
  else lines.push("Domains:")
  for (const d of v.domains) {
    lines.push(`  ${d.name} (${d.role})`)
    for (const c of d.contracts) {
      const imp = c.import === undefined
        ? ""
        : ` — imports ${c.import.version}, ${c.import.status}${
          c.import.resolved_version === undefined ? "" : ` at ${c.import.resolved_version}`
        }`
      lines.push(`    Contract: ${c.name} v${c.version} (owner: ${c.owner})${imp}`)
    }
    if (d.peers.length > 0) {
      lines.push(
        `    Peers: ${d.peers.map((p) => `${p.repo} (${p.role}${p.joined ? "" : ", not joined yet"})`).join(", ")}`
      )
    }
  }
  lines.push(
    `Realm: ${v.realm.repos} repos, ${v.realm.domains} domains, ${v.realm.position} events · admission ${v.realm.admission} · ${v.realm.path} @ ${
      v.realm.head.slice(0, 8)
    }`
  )
  return lines.join("\n")
}
