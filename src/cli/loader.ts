/**
 * Loads the bundled CLI (`dist/cli.cjs`) through a V8 code cache kept in BLUE_HOME, so that the ~1.5 MB bundle
 * is not parsed and compiled again on every run (Node 20 has no compile cache for ES modules). The cache is keyed
 * by a hash of the bundle and the node version; a missing or rejected cache is rebuilt after the run, including
 * the functions that run compiled lazily.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import Module, { createRequire } from "node:module"
import * as os from "node:os"
import * as nodePath from "node:path"
import * as vm from "node:vm"
import { writeFileAtomicSync } from "../adapters/atomicFs.js"

/** Runs the CommonJS bundle at `file` with a code cache under `cacheDir`. */
export const loadWithCodeCache = (file: string, cacheDir: string): void => {
  const source = fs.readFileSync(file, "utf8")
  const key = createHash("sha1").update(source).update(process.version).update(process.arch).digest("hex").slice(0, 16)
  const prefix = `${nodePath.basename(file, ".cjs")}-`
  const cacheFile = nodePath.join(cacheDir, `${prefix}${key}.v8`)
  let cachedData: Buffer | undefined
  try {
    cachedData = fs.readFileSync(cacheFile)
  } catch {
    cachedData = undefined
  }
  const script = new vm.Script((Module as unknown as { wrap: (s: string) => string }).wrap(source), {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData })
  })
  if (cachedData === undefined || script.cachedDataRejected === true) {
    process.once("exit", () => {
      try {
        fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 })
        for (const old of fs.readdirSync(cacheDir)) {
          if (old.startsWith(prefix) && old !== nodePath.basename(cacheFile)) {
            fs.rmSync(nodePath.join(cacheDir, old), { force: true })
          }
        }
        writeFileAtomicSync(cacheFile, script.createCachedData())
      } catch {
        // A cache we cannot write only costs speed.
      }
    })
  }
  const module = { exports: {} }
  const fn = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: unknown,
    filename: string,
    dirname: string
  ) => void
  fn(module.exports, createRequire(file), module, file, nodePath.dirname(file))
}

/** Where code caches live: BLUE_HOME/cache (BLUE_HOME defaults to ~/.blue). */
export const codeCacheDir = (): string =>
  nodePath.join(process.env["BLUE_HOME"] ?? nodePath.join(os.homedir(), ".blue"), "cache")
