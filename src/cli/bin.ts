/**
 * The `blue` executable: try the start-up fast path, else load the full CLI.
 */
import { tryFastStatus } from "./fastStatus.js"

if (!tryFastStatus(process.argv.slice(2))) await import("./main.js")
