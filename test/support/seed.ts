/**
 * The seeds' realm built with the real binary, shared by the end-to-end suites: letemcook; aperture joins and
 * creates s3-access (aperture → fungal-image-analysis, contract s3-permissions) before fungal joins; fungal and
 * ml-infra join; fungal creates training-pipeline (fungal → ml-infra, contract job-schema).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as YAML from "yaml"
import type { Run, Workspace } from "./workspace.js"

/** Repo and realm names of the seed. */
export const APERTURE = "aperture"
export const FUNGAL = "fungal-image-analysis"
export const ML = "ml-infra"
export const REALM = "realm-letemcook"
export const S3 = "s3-permissions"

/** Fails with the run's whole output unless it exited 0. */
export const ok = (run: Run, what: string): Run => {
  if (run.code !== 0) throw new Error(`${what}: exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`)
  return run
}

/** A YAML file, parsed. */
export const readYaml = (file: string): any => YAML.parse(fs.readFileSync(file, "utf8"))

/** Paths of the seeded realm and repos. */
export interface Seeded {
  readonly ws: Workspace
  readonly realm: string
  readonly aperture: string
  readonly fungal: string
  readonly ml: string
}

/** Builds the seed's realm in `ws`. */
export const seedStory = (ws: Workspace): Seeded => {
  const aperture = ws.repo(APERTURE)
  const fungal = ws.repo(FUNGAL)
  const ml = ws.repo(ML)
  const domain = (cwd: string, name: string, repos: string, contract: string) =>
    ok(
      ws.blue(cwd, "realm", "admin", "domain", "create", name, "--repos", repos, "--contract", contract),
      `domain create ${name}`
    )
  ok(ws.blue(".", "realm", "admin", "init", "--name", "letemcook"), "init")
  ok(ws.blue(APERTURE, "realm", "admin", "join", `../${REALM}`), "join aperture")
  domain(APERTURE, "s3-access", `${APERTURE},${FUNGAL}`, S3)
  ok(ws.blue(FUNGAL, "realm", "admin", "join", `../${REALM}`), "join fungal")
  ok(ws.blue(ML, "realm", "admin", "join", `../${REALM}`), "join ml-infra")
  domain(FUNGAL, "training-pipeline", `${FUNGAL},${ML}`, "job-schema")
  return { ws, realm: ws.path(REALM), aperture, fungal, ml }
}

/** Declares `exports` (extractors per contract) in the repo's `.blue/config.yaml`, keeping the rest. */
export const setExports = (repo: string, exports: Record<string, unknown> | undefined) => {
  const file = path.join(repo, ".blue", "config.yaml")
  const config = readYaml(file)
  if (exports === undefined) delete config.exports
  else config.exports = exports
  fs.writeFileSync(file, YAML.stringify(config))
}
