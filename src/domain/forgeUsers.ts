/**
 * How a repo's maintainers map to forge accounts (docs/forges.md): an entry of `repos/<repo>.yaml`'s `maintainers`
 * is either an email (Blue's own identity: commit authorship, `blue realm ack`) or `forge:<login>` — the account
 * on the realm's forge. A forge login is asked to review a proposal's pull request, and its approval there counts
 * as its repo's acknowledgement. No guessing from emails: forges reveal a user's email only to admins or when the
 * user made it public, so a repo without a `forge:` entry is named in the PR body and acknowledges through Blue.
 */

/** The prefix of a maintainer entry naming a forge account. */
export const FORGE_LOGIN_PREFIX = "forge:"

/** The forge login in a maintainer entry, or undefined for an email (or anything else). */
export const forgeLoginOf = (entry: string): string | undefined => {
  if (!entry.startsWith(FORGE_LOGIN_PREFIX)) return undefined
  const login = entry.slice(FORGE_LOGIN_PREFIX.length).trim()
  // Forgejo and GitHub logins: letters, digits, '-', '_', '.'; nothing that could smuggle a path or a mention.
  return /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,38})$/.test(login) ? login : undefined
}

/** The maintainer entry for a forge login. */
export const forgeMaintainer = (login: string): string => `${FORGE_LOGIN_PREFIX}${login}`

/** The reviewers to ask on the forge for these repos, and the repos that have no forge account to ask. */
export const forgeReviewers = (
  repos: Readonly<Record<string, { readonly maintainers: ReadonlyArray<string> }>>,
  affected: ReadonlyArray<string>
): { readonly logins: ReadonlyArray<string>; readonly unmapped: ReadonlyArray<string> } => {
  const logins = new Set<string>()
  const unmapped: Array<string> = []
  for (const repo of affected) {
    const mine = (repos[repo]?.maintainers ?? []).flatMap((m) => forgeLoginOf(m) ?? [])
    if (mine.length === 0) unmapped.push(repo)
    for (const l of mine) logins.add(l)
  }
  return { logins: [...logins].sort(), unmapped }
}

/** The repos among `affected` whose maintainers include forge account `login` (case-insensitive, as forges are). */
export const reposOfForgeLogin = (
  repos: Readonly<Record<string, { readonly maintainers: ReadonlyArray<string> }>>,
  affected: ReadonlyArray<string>,
  login: string
): ReadonlyArray<string> =>
  affected.filter((repo) =>
    (repos[repo]?.maintainers ?? []).some((m) => forgeLoginOf(m)?.toLowerCase() === login.toLowerCase())
  )
