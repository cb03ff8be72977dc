// Prints the plain closing line CI reads ("N passed, N failed, N skipped") and
// fails the run when any test was skipped while CI=true (a skipped test is a
// failure in CI), or when no test passed at all.
class ClosingLineReporter {
  constructor() {
    this.error = undefined;
  }

  onRunComplete(_contexts, results) {
    const passed = results.numPassedTests;
    const failed = results.numFailedTests;
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    if (process.env.CI === 'true' && skipped > 0) {
      this.error = new Error(`CI=true and ${skipped} test(s) were skipped: that is a failure`);
    } else if (passed === 0) {
      this.error = new Error('no test passed: that is a failure');
    }
    if (this.error) process.stdout.write(`${this.error.message}\n`);
  }

  getLastError() {
    return this.error;
  }
}
module.exports = ClosingLineReporter;
