/**
 * Prints the slowest test files (the suite's time budget is kept in view in every CI log),
 * then one plain closing line, `tests: N passed, N failed, N skipped`, that CI reads.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") failedHere++;
        else counts.skipped++;
      }
      // A file that failed to load, or whose hook failed (its tests then show as skipped),
      // must count as a failure too.
      if (module.state() === "failed" && failedHere === 0) failedHere = 1;
      counts.failed += failedHere;
    }
    const slowest = testModules
      .map((module) => ({ file: module.moduleId.replace(`${process.cwd()}/`, ""), ms: module.diagnostic().duration }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 15);
    if (slowest.length > 1) {
      process.stdout.write("\nslowest files:\n");
      for (const { file, ms } of slowest) process.stdout.write(`${(ms / 1000).toFixed(1).padStart(8)} s  ${file}\n`);
    }
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
