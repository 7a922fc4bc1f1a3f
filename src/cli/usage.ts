/**
 * The command line's front door: the command tree read once from the @effect/cli descriptors, and from it the help
 * text, the check of command and option words (an unknown one names its level and the nearest match), the RFC's
 * short spellings, and the shell completion scripts. Everything here is plain data and string building; main.ts
 * does the printing and exiting.
 */
import { HelpDoc } from "@effect/cli"
import type { Command } from "@effect/cli"
import { Option } from "effect"
import { plural } from "../domain/text.js"

/** One option of a command. */
export interface OptionSpec {
  readonly name: string
  readonly aliases: ReadonlyArray<string>
  /** false for flags */
  readonly takesValue: boolean
  /** may be left out (it has a default, or is optional) */
  readonly optional: boolean
  /** the accepted values, for options with a fixed set */
  readonly values: ReadonlyArray<string> | undefined
  readonly placeholder: string
  readonly description: string
}

/** One positional argument of a command. */
export interface ArgSpec {
  readonly name: string
  readonly repeated: boolean
  readonly optional: boolean
  readonly description: string
}

/** One command (a group when it has children). */
export interface CommandSpec {
  readonly name: string
  /** the words from `blue` down to this command */
  readonly path: ReadonlyArray<string>
  readonly description: string
  readonly options: ReadonlyArray<OptionSpec>
  readonly args: ReadonlyArray<ArgSpec>
  readonly children: ReadonlyArray<CommandSpec>
}

/** Options every command takes, handled here rather than by the commands. */
export const GLOBAL_OPTIONS: ReadonlyArray<OptionSpec> = [
  {
    name: "help",
    aliases: ["-h"],
    takesValue: false,
    optional: true,
    values: undefined,
    placeholder: "",
    description: "show help"
  }
]

/** Options only `blue` itself takes. */
export const ROOT_OPTIONS: ReadonlyArray<OptionSpec> = [
  {
    name: "version",
    aliases: ["-v"],
    takesValue: false,
    optional: true,
    values: undefined,
    placeholder: "",
    description: "print the version"
  },
  {
    name: "completions",
    aliases: [],
    takesValue: true,
    optional: true,
    values: ["bash", "zsh", "fish"],
    placeholder: "bash|zsh|fish",
    description: "print a completion script for the shell (see README: Shell completion)"
  }
]

/** The draft RFC's spellings, accepted as aliases: `blue realm init` is `blue realm admin init`, and so on. */
export const ALIASES: ReadonlyArray<{ readonly from: ReadonlyArray<string>; readonly to: ReadonlyArray<string> }> = [
  { from: ["realm", "init"], to: ["realm", "admin", "init"] },
  { from: ["realm", "join"], to: ["realm", "admin", "join"] },
  { from: ["realm", "domain"], to: ["realm", "admin", "domain"] }
]

const text = (doc: HelpDoc.HelpDoc): string =>
  HelpDoc.isEmpty(doc) ? "" : HelpDoc.toAnsiText(doc).replace(/\x1b\[[0-9;]*m/g, "").trim()

// The descriptors' shapes are @effect/cli internals (stable within 0.77); they are read, never built, here.
type Node = { readonly _tag: string; readonly [key: string]: any }

const optionsOf = (o: Node, optional = false): Array<OptionSpec> => {
  switch (o._tag) {
    case "Single": {
      const prim = o["primitiveType"] as Node
      const pseudo = Option.getOrUndefined(o["pseudoName"] as Option.Option<string>)
      const values = prim._tag === "Choice"
        ? (prim["alternatives"] as ReadonlyArray<[string, unknown]>).map(([k]) => k)
        : pseudo !== undefined && pseudo.includes("|")
        ? pseudo.split("|")
        : undefined
      return [{
        name: o["name"],
        // @effect/cli keeps an alias as written (`m`); the command line spells it `-m` (`--mm` for a long one).
        aliases: (o["aliases"] as ReadonlyArray<string>).map((a) =>
          a.startsWith("-") ? a : a.length === 1 ? `-${a}` : `--${a}`
        ),
        takesValue: prim._tag !== "Bool",
        optional,
        values,
        placeholder: values !== undefined ? values.join("|") : pseudo ?? (o["name"] as string).toUpperCase(),
        description: text(o["description"])
      }]
    }
    case "Map":
      return optionsOf(o["options"], optional)
    case "WithDefault":
    case "WithFallback":
      return optionsOf(o["options"], true)
    case "Both":
      return [...optionsOf(o["left"], optional), ...optionsOf(o["right"], optional)]
    case "OrElse":
      return [...optionsOf(o["left"], true), ...optionsOf(o["right"], true)]
    case "Variadic":
    case "KeyValueMap":
      return optionsOf(o["argumentOption"], true)
    default:
      return []
  }
}

const argsOf = (a: Node, repeated = false, optional = false): Array<ArgSpec> => {
  switch (a._tag) {
    case "Single":
      return [{
        name: Option.getOrElse(a["pseudoName"] as Option.Option<string>, () => a["name"] as string),
        repeated,
        optional: optional || repeated,
        description: text(a["description"])
      }]
    case "Map":
      return argsOf(a["args"], repeated, optional)
    case "WithDefault":
    case "WithFallbackConfig":
      return argsOf(a["args"], repeated, true)
    case "Variadic":
      return argsOf(a["args"], true, optional)
    case "Both":
      return [...argsOf(a["left"], repeated, optional), ...argsOf(a["right"], repeated, optional)]
    default:
      return []
  }
}

const specOf = (d: Node, parent: ReadonlyArray<string>): CommandSpec => {
  switch (d._tag) {
    case "Map":
      return specOf(d["command"], parent)
    case "Subcommands": {
      const self = specOf(d["parent"], parent)
      return { ...self, children: (d["children"] as Array<Node>).map((c) => specOf(c, self.path)) }
    }
    default: {
      const name = d["name"] as string
      return {
        name,
        path: [...parent, name],
        description: text(d["description"]),
        options: d._tag === "Standard" ? optionsOf(d["options"]) : [],
        args: d._tag === "Standard" ? argsOf(d["args"]) : [],
        children: []
      }
    }
  }
}

/** The tree of a root command. */
export const commandTree = (root: Command.Command<any, any, any, any>): CommandSpec =>
  specOf((root as unknown as { descriptor: Node }).descriptor, [])

/** Every command below `node` that does something (groups left out), depth first. */
export const leaves = (node: CommandSpec): Array<CommandSpec> =>
  node.children.length === 0 ? [node] : node.children.flatMap(leaves)

const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = here
    }
  }
  return row[b.length]!
}

/** The candidate closest to `word` when it is close enough to be a likely typo. */
export const nearest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 1 : distance(word, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

/** What the front door decided about a command line. */
export type Preflight =
  | { readonly _tag: "Run"; readonly argv: ReadonlyArray<string>; readonly path: ReadonlyArray<string> }
  | { readonly _tag: "Print"; readonly text: string }
  | { readonly _tag: "UsageError"; readonly message: string; readonly hint: string }

const usageError = (message: string, at: ReadonlyArray<string>): Preflight => ({
  _tag: "UsageError",
  message,
  hint: `Run '${at.join(" ")} --help' for usage.`
})

const optionWord = (o: OptionSpec) => `--${o.name}`

/**
 * Checks `argv` (the words after `blue`) against the tree: rewrites the RFC aliases, answers --help, --version and
 * --completions, and refuses unknown commands and options with the nearest match. Anything else (values, missing
 * options) is left to @effect/cli.
 */
export const preflight = (
  root: CommandSpec,
  input: ReadonlyArray<string>,
  version: string,
  colour: boolean
): Preflight => {
  const argv = [...input]
  const dashDash = argv.indexOf("--")
  const words = dashDash === -1 ? argv : argv.slice(0, dashDash)
  const wantsHelp = words.includes("--help") || words.includes("-h")
  if (argv[0] === "--version" || argv[0] === "-v") return { _tag: "Print", text: version }
  const completions = words.findIndex((w) => w === "--completions" || w.startsWith("--completions="))
  if (completions !== -1) {
    const shell = words[completions]!.includes("=")
      ? words[completions]!.slice("--completions=".length)
      : words[completions + 1]
    if (shell === "bash") return { _tag: "Print", text: bashCompletion(root) }
    if (shell === "zsh") return { _tag: "Print", text: zshCompletion(root) }
    if (shell === "fish") return { _tag: "Print", text: fishCompletion(root) }
    return usageError(`--completions ${JSON.stringify(shell ?? "")}: expected one of bash, zsh, fish`, ["blue"])
  }
  let node = root
  let i = 0
  while (node.children.length > 0) {
    const word = argv[i]
    if (word === undefined || word.startsWith("-")) {
      if (word === undefined || wantsHelp) return { _tag: "Print", text: renderHelp(root, node, colour) }
      const known = node === root ? [...GLOBAL_OPTIONS, ...ROOT_OPTIONS] : GLOBAL_OPTIONS
      return usageError(unknownOption(word, node, known), node.path)
    }
    const alias = ALIASES.find((a) =>
      a.from.length === node.path.length && a.from.at(-1) === word &&
      a.from.slice(0, -1).every((w, k) => w === node.path[k + 1]) && node.path[0] === root.name
    )
    if (alias !== undefined) argv.splice(i, 1, ...alias.to.slice(node.path.length - 1))
    const child = node.children.find((c) => c.name === argv[i])
    if (child === undefined) {
      const names = node.children.map((c) => c.name)
      const guess = nearest(word, names)
      return usageError(
        `unknown command '${word}' for '${node.path.join(" ")}'. ${
          guess === undefined ? `Expected one of: ${names.join(", ")}.` : `Did you mean '${guess}'?`
        }`,
        node.path
      )
    }
    node = child
    i++
  }
  if (wantsHelp) return { _tag: "Print", text: renderHelp(root, node, colour) }
  const known = [...node.options, ...GLOBAL_OPTIONS]
  for (let j = i; j < words.length; j++) {
    const w = words[j]!
    if (!w.startsWith("-") || w === "-") continue
    const name = w.includes("=") ? w.slice(0, w.indexOf("=")) : w
    const spec = known.find((o) => optionWord(o) === name || o.aliases.includes(name))
    if (spec === undefined) return usageError(unknownOption(name, node, known), node.path)
    if (spec.takesValue && !w.includes("=")) {
      // @effect/cli would call the option itself an unexpected argument, or take the next option as the value.
      const next = argv[j + 1]
      if (next === undefined || known.some((o) => optionWord(o) === next.split("=")[0])) {
        return usageError(`option '${name}' needs a value`, node.path)
      }
      j++
    }
  }
  return { _tag: "Run", argv, path: node.path }
}

const unknownOption = (word: string, node: CommandSpec, known: ReadonlyArray<OptionSpec>) => {
  const guess = nearest(word, known.map(optionWord))
  return `unknown option '${word}' for '${node.path.join(" ")}'.${
    guess === undefined ? "" : ` Did you mean '${guess}'?`
  }`
}

/** The usage line of a command: its full path, options (required ones bare) and arguments. */
export const usageLine = (node: CommandSpec): string => {
  if (node.children.length > 0) return `${node.path.join(" ")} <command> [options]`
  const parts = [
    ...node.path,
    ...node.options.map((o) => {
      const word = o.takesValue ? `${optionWord(o)} ${o.placeholder}` : optionWord(o)
      return o.optional ? `[${word}]` : word
    }),
    ...node.args.map((a) => {
      const word = `<${a.name}>${a.repeated ? "…" : ""}`
      return a.optional ? `[${word}]` : word
    })
  ]
  return parts.join(" ")
}

const table = (rows: ReadonlyArray<readonly [string, string]>): Array<string> => {
  const width = Math.min(44, Math.max(...rows.map(([l]) => l.length)))
  return rows.map(([l, r]) => (r === "" ? `  ${l}` : `  ${l.padEnd(width)}  ${r}`))
}

/** Help for `node`: its description, usage line, options, and (for a group) every command below it, once each. */
export const renderHelp = (root: CommandSpec, node: CommandSpec, colour: boolean): string => {
  const bold = (s: string) => (colour ? `\x1b[1m${s}\x1b[0m` : s)
  const lines = [`${node.path.join(" ")} — ${node.description}`, "", `${bold("Usage:")} ${usageLine(node)}`]
  if (node.children.length > 0) {
    const below = leaves(node)
    lines.push("", bold("Commands:"), ...table(below.map((c) => [c.path.join(" "), c.description])))
    const aliases = ALIASES.filter((a) => [root.name, ...a.to].join(" ").startsWith(node.path.join(" ")))
    if (aliases.length > 0) {
      lines.push(
        "",
        bold("Aliases:"),
        ...table(aliases.map((a) => [`${root.name} ${a.from.join(" ")}`, `${root.name} ${a.to.join(" ")}`]))
      )
    }
  }
  if (node.args.length > 0) {
    lines.push("", bold("Arguments:"), ...table(node.args.map((a) => [`<${a.name}>`, a.description])))
  }
  const options = [...node.options, ...GLOBAL_OPTIONS, ...(node === root ? ROOT_OPTIONS : [])]
  lines.push(
    "",
    bold("Options:"),
    ...table(options.map((o) => [
      [...o.aliases, o.takesValue ? `${optionWord(o)} ${o.placeholder}` : optionWord(o)].join(", "),
      o.description
    ]))
  )
  if (node === root) {
    lines.push(
      "",
      `${plural(leaves(root).length, "command")}. Exit codes: 0 ok, 1 failed or refused, 2 warnings (check),`
    )
    lines.push("64 usage error, 130 interrupted, 143 terminated.")
  }
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------------------------
// Completion scripts, generated from the tree so that every level completes: commands, options and their values.

const groupsAndLeaves = (node: CommandSpec): Array<CommandSpec> => [node, ...node.children.flatMap(groupsAndLeaves)]

const optionsFor = (
  node: CommandSpec,
  root: CommandSpec
) => [...node.options, ...GLOBAL_OPTIONS, ...(node === root ? ROOT_OPTIONS : [])]

/** The bash completion script (`source <(blue --completions bash)`). */
export const bashCompletion = (root: CommandSpec): string => {
  const cases = groupsAndLeaves(root).map((node) => {
    const key = node.path.join(" ")
    const words = [...node.children.map((c) => c.name), ...optionsFor(node, root).map(optionWord)]
    const valueCases = optionsFor(node, root)
      .filter((o) => o.takesValue)
      .map((o) =>
        `        ${optionWord(o)}) ${
          o.values !== undefined ? `COMPREPLY=($(compgen -W "${o.values.join(" ")}" -- "$cur"))` : `COMPREPLY=()`
        }; return 0 ;;`
      )
    return [
      `    "${key}")`,
      ...(valueCases.length > 0 ? [`      case "$prev" in`, ...valueCases, `      esac`] : []),
      `      COMPREPLY=($(compgen -W "${words.join(" ")}" -- "$cur")) ;;`
    ].join("\n")
  })
  const aliasCases = ALIASES.map((a) =>
    `      "${[root.name, ...a.from].join(" ")}") path="${[root.name, ...a.to].join(" ")}" ;;`
  )
  const groups = groupsAndLeaves(root).filter((n) => n.children.length > 0).map((n) => n.path.join(" "))
  return `# bash completion for ${root.name} (generated by '${root.name} --completions bash')
_${root.name}_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="${root.name}" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in -*) continue ;; esac
    case "$path" in
      ${groups.map((g) => `"${g}"`).join("|")}) ;;
      *) continue ;;
    esac
    case "$path $w" in
${aliasCases.join("\n")}
      *) path="$path $w" ;;
    esac
  done
  case "$path" in
${cases.join("\n")}
    *) COMPREPLY=() ;;
  esac
  return 0
}
complete -o default -F _${root.name}_complete ${root.name}
`
}

const zshQuote = (s: string) => s.replace(/'/g, "'\\''").replace(/:/g, "\\:").replace(/\[/g, "\\[").replace(/]/g, "\\]")

/** The zsh completion script (`source <(blue --completions zsh)`, or save it as `_blue` on $fpath). */
export const zshCompletion = (root: CommandSpec): string => {
  const fns = groupsAndLeaves(root).map((node) => {
    const fn = `_${node.path.join("_").replace(/-/g, "_")}`
    const opts = optionsFor(node, root).map((o) => {
      const action = o.takesValue ? `:${o.name}:${o.values !== undefined ? `(${o.values.join(" ")})` : "_files"}` : ""
      return `    '${optionWord(o)}[${zshQuote(o.description)}]${action}'`
    })
    if (node.children.length === 0) {
      return `${fn}() {\n  _arguments -s \\\n${[...opts, `    '*:file:_files'`].join(" \\\n")}\n}`
    }
    const subs = node.children.map((c) => `'${c.name}:${zshQuote(c.description)}'`)
    const aliases = ALIASES.filter((a) =>
      a.from.length === node.path.length && node.path[0] === root.name &&
      a.from.slice(0, -1).every((w, k) => w === node.path[k + 1])
    )
    const dispatch = [
      ...node.children.map((c) => `    ${c.name}) _${c.path.join("_").replace(/-/g, "_")} ;;`),
      ...aliases.map((a) => `    ${a.from.at(-1)}) _${[root.name, ...a.to].join("_").replace(/-/g, "_")} ;;`)
    ]
    return `${fn}() {
  local curcontext="$curcontext" state line
  typeset -A opt_args
  _arguments -C \\
${[...opts, `    '1:command:->cmd'`, `    '*::arg:->args'`].join(" \\\n")}
  case $state in
    cmd)
      local -a commands
      commands=(${subs.join(" ")})
      _describe -t commands 'command' commands ;;
    args)
      case $words[1] in
${dispatch.map((l) => `    ${l}`).join("\n")}
      esac ;;
  esac
}`
  })
  return `#compdef ${root.name}
# zsh completion for ${root.name} (generated by '${root.name} --completions zsh')
${fns.join("\n\n")}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _${root.name} "$@"
else
  compdef _${root.name} ${root.name}
fi
`
}

const fishQuote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

/** The fish completion script (`blue --completions fish > ~/.config/fish/completions/blue.fish`). */
export const fishCompletion = (root: CommandSpec): string => {
  const fn = `__${root.name}_at`
  const lines = [
    `# fish completion for ${root.name} (generated by '${root.name} --completions fish')`,
    `# True when the words typed after '${root.name}' (options left out) are $argv[1] (a group) or start with it (a`,
    `# command, whose option values follow).`,
    `function ${fn}`,
    `    set -l w (commandline -opc | string match -v -- '-*')`,
    `    set -e w[1]`,
    `    if test "$argv[2]" = leaf`,
    `        string match -q -- "$argv[1]*" "$w"`,
    `    else`,
    `        test "$w" = "$argv[1]"`,
    `    end`,
    `end`,
    `complete -c ${root.name} -f`
  ]
  const emit = (words: ReadonlyArray<string>, node: CommandSpec) => {
    const at = `"${fn} ${fishQuote(words.join(" "))}${node.children.length === 0 ? " leaf" : ""}"`
    for (const c of node.children) {
      lines.push(`complete -c ${root.name} -n ${at} -a ${fishQuote(c.name)} -d ${fishQuote(c.description)}`)
    }
    for (const o of optionsFor(node, root)) {
      const values = o.values !== undefined ? ` -x -a ${fishQuote(o.values.join(" "))}` : o.takesValue ? " -r -F" : ""
      lines.push(`complete -c ${root.name} -n ${at} -l ${o.name}${values} -d ${fishQuote(o.description)}`)
    }
  }
  for (const node of groupsAndLeaves(root)) emit(node.path.slice(1), node)
  for (const a of ALIASES) {
    const target = groupsAndLeaves(root).find((n) => n.path.join(" ") === [root.name, ...a.to].join(" "))
    if (target !== undefined) emit(a.from, target)
  }
  return lines.join("\n") + "\n"
}
