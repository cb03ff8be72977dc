/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Latency targets under attack (p99 ≤ 50 ms) are measured alone, after everything else:
  // `jest.quiet.config.js` runs the `*.quiet.test.ts` files one at a time (npm test runs both).
  testPathIgnorePatterns: ['/node_modules/', '\\.quiet\\.test\\.ts$'],
  transform: {
    // Type checking is done once by `npm run typecheck`; ts-jest only transpiles here.
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Integration tests build real network namespaces: give them room, and keep
  // the two cores of CI from being oversubscribed.
  maxWorkers: 2,
  testTimeout: 30000,
  reporters: ['default', '<rootDir>/test/support/closing-line-reporter.js'],
};
