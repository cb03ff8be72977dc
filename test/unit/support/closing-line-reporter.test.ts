// The closing line counts suites that failed outside their tests (a crash at import),
// not only failed tests, and the run fails on them.
const ClosingLineReporter = require('../../support/closing-line-reporter.js');

interface SuiteLike {
  testFilePath: string;
  numFailingTests: number;
  failureMessage?: string | null;
  testExecError?: { message: string };
}

function run(suites: SuiteLike[], counts: { passed: number; failed: number; pending?: number }): { line: string; error?: Error } {
  const reporter = new ClosingLineReporter();
  const out: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  try {
    reporter.onRunComplete(new Set(), {
      numPassedTests: counts.passed,
      numFailedTests: counts.failed,
      numPendingTests: counts.pending ?? 0,
      numTodoTests: 0,
      testResults: suites,
    });
  } finally {
    spy.mockRestore();
  }
  const line = out.join('').split('\n').find((l) => l.startsWith('tests: ')) ?? '';
  return { line, error: reporter.getLastError() };
}

test('a suite that crashed at import counts as failed and fails the run', () => {
  const r = run(
    [
      { testFilePath: '/a.test.ts', numFailingTests: 0, failureMessage: 'Cannot find module', testExecError: { message: 'Cannot find module' } },
      { testFilePath: '/b.test.ts', numFailingTests: 0, failureMessage: null },
    ],
    { passed: 5, failed: 0 },
  );
  expect(r.line).toBe('tests: 5 passed, 1 failed, 0 skipped');
  expect(r.error?.message).toMatch(/1 suite/);
});

test('a suite whose afterAll failed (no failing test) counts as failed', () => {
  const r = run([{ testFilePath: '/c.test.ts', numFailingTests: 0, failureMessage: 'afterAll threw' }], { passed: 3, failed: 0 });
  expect(r.line).toBe('tests: 3 passed, 1 failed, 0 skipped');
  expect(r.error).toBeDefined();
});

test('failed tests are counted once, not again for their suite', () => {
  const r = run([{ testFilePath: '/d.test.ts', numFailingTests: 2, failureMessage: 'two failed' }], { passed: 1, failed: 2 });
  expect(r.line).toBe('tests: 1 passed, 2 failed, 0 skipped');
  expect(r.error).toBeDefined();
});

test('a clean run has no error', () => {
  const r = run([{ testFilePath: '/e.test.ts', numFailingTests: 0, failureMessage: null }], { passed: 4, failed: 0 });
  expect(r.line).toBe('tests: 4 passed, 0 failed, 0 skipped');
  expect(r.error).toBeUndefined();
});
