/**
 * `describe` for tests that need root (network namespaces, nftables). Outside
 * CI a non-root run skips them; in CI (CI=true) they always run, so a missing
 * privilege fails loudly instead of hiding as a skip.
 */
export const describeAsRoot: jest.Describe = process.getuid?.() === 0 || process.env.CI === 'true' ? describe : describe.skip;
