/**
 * The repo → repo dependency graph: repos are nodes, each domain contributes provider → consumer edges.
 * Cycle search and the three renderings (text, Mermaid, Graphviz dot).
 */
import type { RealmState } from "./state.js"
import { plural } from "./text.js"

/** One provider → consumer edge, labelled by its domain and the contracts flowing along it. */
export interface Edge {
  readonly from: string
  readonly to: string
  readonly domain: string
  readonly contracts: ReadonlyArray<string>
}

/** Nodes (joined repos and domain members that have not joined yet) and edges. */
export interface Graph {
  readonly nodes: ReadonlyArray<{ readonly repo: string; readonly joined: boolean }>
  readonly edges: ReadonlyArray<Edge>
}

/** Provider → consumer edges of one domain, from its bindings. */
export const domainEdges = (
  domain: string,
  providers: ReadonlyArray<string>,
  consumers: ReadonlyArray<string>,
  contracts: ReadonlyArray<string>
): Array<Edge> => providers.flatMap((from) => consumers.map((to) => ({ from, to, domain, contracts })))

/** The whole graph of a realm, sorted for stable output. */
export const realmGraph = (state: RealmState): Graph => {
  const names = new Set<string>(Object.keys(state.repos))
  const edges: Array<Edge> = []
  for (const [name, domain] of Object.entries(state.domains)) {
    for (const m of domain.file.members) names.add(m)
    const bindings = Object.values(domain.bindings)
    edges.push(...domainEdges(
      name,
      bindings.filter((b) => b.role === "provider").map((b) => b.repo),
      bindings.filter((b) => b.role === "consumer").map((b) => b.repo),
      Object.keys(domain.contracts).sort()
    ))
  }
  edges.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.domain.localeCompare(b.domain))
  const nodes = [...names].sort().map((repo) => ({ repo, joined: repo in state.repos }))
  return { nodes, edges }
}

/**
 * A path of edges from `start` to `goal`, or undefined. Used to find the cycle a new edge `goal → start` would
 * close: the returned path plus that edge is the cycle.
 */
export const findPath = (
  edges: ReadonlyArray<Edge>,
  start: string,
  goal: string
): ReadonlyArray<Edge> | undefined => {
  const out = new Map<string, Array<Edge>>()
  for (const e of edges) {
    const list = out.get(e.from)
    if (list === undefined) out.set(e.from, [e])
    else list.push(e)
  }
  const seen = new Set<string>([start])
  const stack: Array<{ node: string; path: ReadonlyArray<Edge> }> = [{ node: start, path: [] }]
  while (stack.length > 0) {
    const { node, path } = stack.pop()!
    if (node === goal) return path
    for (const e of out.get(node) ?? []) {
      if (seen.has(e.to)) continue
      seen.add(e.to)
      stack.push({ node: e.to, path: [...path, e] })
    }
  }
  return undefined
}

/** The first cycle that adding `added` to `existing` closes, as a list of edges starting at a new edge. */
export const cycleClosedBy = (
  existing: ReadonlyArray<Edge>,
  added: ReadonlyArray<Edge>
): ReadonlyArray<Edge> | undefined => {
  const all = [...existing]
  for (const edge of added) {
    const back = findPath(all, edge.to, edge.from)
    if (back !== undefined) return [edge, ...back]
    all.push(edge)
  }
  return undefined
}

/** Output formats of `blue realm graph`. */
export type GraphFormat = "text" | "mermaid" | "dot"

const label = (e: Edge) => (e.contracts.length > 0 ? `${e.domain}: ${e.contracts.join(", ")}` : e.domain)

const dotId = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, "\\\"")}"`

/** Renders the graph in one of the supported formats. */
export const renderGraph = (graph: Graph, format: GraphFormat, realm: string): string => {
  switch (format) {
    case "text": {
      const lines = [
        `Realm ${realm}: ${plural(graph.nodes.length, "repo")}, ${
          plural(graph.edges.length, "dependency", "dependencies")
        }`
      ]
      for (const e of graph.edges) lines.push(`  ${e.from} → ${e.to}  (${label(e)})`)
      const isolated = graph.nodes.filter((n) => !graph.edges.some((e) => e.from === n.repo || e.to === n.repo))
      for (const n of isolated) lines.push(`  ${n.repo}  (no domains)`)
      const pending = graph.nodes.filter((n) => !n.joined)
      if (pending.length > 0) lines.push(`  not joined yet: ${pending.map((n) => n.repo).join(", ")}`)
      return lines.join("\n")
    }
    case "mermaid": {
      const ids = new Map(graph.nodes.map((n, i) => [n.repo, `r${i}`]))
      const lines = ["graph LR"]
      for (const n of graph.nodes) lines.push(`  ${ids.get(n.repo)}["${n.repo}${n.joined ? "" : " (not joined)"}"]`)
      for (const e of graph.edges) lines.push(`  ${ids.get(e.from)} -->|"${label(e)}"| ${ids.get(e.to)}`)
      return lines.join("\n")
    }
    case "dot": {
      const lines = [`digraph ${dotId(realm)} {`, "  rankdir=LR;", "  node [shape=box];"]
      for (const n of graph.nodes) lines.push(`  ${dotId(n.repo)}${n.joined ? "" : " [style=dashed]"};`)
      for (const e of graph.edges) lines.push(`  ${dotId(e.from)} -> ${dotId(e.to)} [label=${dotId(label(e))}];`)
      lines.push("}")
      return lines.join("\n")
    }
  }
}
