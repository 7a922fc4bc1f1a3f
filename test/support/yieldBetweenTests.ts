/**
 * Lets the worker's event loop turn after every test. Most e2e tests are synchronous (spawnSync of the CLI), and
 * vitest chains synchronous tests through microtasks, so a file of them can keep the worker's event loop blocked for
 * its whole run. Under load that exceeds the 60 s timeout of vitest's worker RPC: the answer to an
 * `onTaskUpdate` sits unread while its timer expires, and the run fails with "Timeout calling onTaskUpdate" although
 * every test passed. One `setImmediate` per test bounds each block to a single test.
 */
import { afterEach } from "vitest"

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)))
