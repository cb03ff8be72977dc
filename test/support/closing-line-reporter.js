// Prints the plain closing line CI reads ("N passed, N failed, N skipped") and
// sets the run's outcome. "failed" counts failed tests plus every suite that
// failed outside a test (a suite that crashed at import, in a hook, or never ran
// its tests): such a suite reports no failed test of its own, so counting tests
// alone would print "0 failed" for a run that lost whole files. The run fails
// when anything failed, when any test was skipped while CI=true (a skipped test
// is a failure in CI), or when no test passed at all.
class ClosingLineReporter {
  constructor() {
    this.error = undefined;
  }

  onRunComplete(_contexts, results) {
    const passed = results.numPassedTests;
    // Suites that failed without a failed test of their own: load errors,
    // beforeAll/afterAll failures, a worker that died.
    const brokenSuites = results.testResults.filter(
      (suite) => (suite.testExecError !== undefined && suite.testExecError !== null) || (suite.failureMessage && suite.numFailingTests === 0),
    );
    const failed = results.numFailedTests + brokenSuites.length;
    const skipped = results.numPendingTests + results.numTodoTests;
    for (const suite of brokenSuites) {
      process.stdout.write(`suite failed outside its tests: ${suite.testFilePath}\n`);
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    if (failed > 0) {
      this.error = new Error(`${failed} failure(s): ${results.numFailedTests} test(s), ${brokenSuites.length} suite(s) that failed outside their tests`);
    } else if (process.env.CI === 'true' && skipped > 0) {
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
