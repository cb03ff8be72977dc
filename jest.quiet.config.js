/**
 * The tests whose targets are latencies under load (the hostile-LAN acceptance: p99 ≤ 50 ms for
 * the victims while one host attacks): run one at a time after the rest of the suite, so the
 * numbers are the daemon's and not another jest worker's. `npm test` runs `jest` then this.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testMatch: ['**/*.quiet.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
};
