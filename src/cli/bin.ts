/**
 * The `blue` executable: try the start-up fast path, else load the full CLI bundle (through a code cache).
 */
import { fileURLToPath } from "node:url"
import { tryFastStatus } from "./fastStatus.js"
import { codeCacheDir, loadWithCodeCache } from "./loader.js"

if (!tryFastStatus(process.argv.slice(2))) {
  loadWithCodeCache(fileURLToPath(new URL("./cli.cjs", import.meta.url)), codeCacheDir())
}
