/**
 * Prints one plain closing line, "Tests: N passed, N failed, N skipped", that any CI log reader understands.
 */
import type { RunnerTask, RunnerTestFile } from "vitest"
import type { Reporter } from "vitest/reporters"

const count = (tasks: ReadonlyArray<RunnerTask>, totals: { passed: number; failed: number; skipped: number }) => {
  for (const t of tasks) {
    if (t.type === "suite") count(t.tasks, totals)
    else if (t.result?.state === "pass") totals.passed++
    else if (t.result?.state === "fail") totals.failed++
    else totals.skipped++
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: ReadonlyArray<RunnerTestFile> = []) {
    const totals = { passed: 0, failed: 0, skipped: 0 }
    count(files, totals)
    process.stdout.write(`\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`)
  }
}
