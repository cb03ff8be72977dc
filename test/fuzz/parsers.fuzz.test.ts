/**
 * Fuzzes every parser on attacker input (see `parser-targets.ts` and `fuzz-engine.ts`).
 * Inside `npm test` it is a smoke run of 2,000 cases per parser; `npm run fuzz` runs
 * 100,000 per parser (`HOMENET_FUZZ_CASES`), with another seed each time unless
 * `HOMENET_FUZZ_SEED` is set. A failure prints the seed and the input.
 */
import fc from 'fast-check';
import { buildSoapRequestBody, parseSoapRequest } from '../../adapters/upnp/soap-envelope';
import { describeInput, fuzzParser } from './fuzz-engine';
import { parserTargets } from './parser-targets';

const CASES = Number(process.env.HOMENET_FUZZ_CASES ?? 2000);
const SEED = Number(process.env.HOMENET_FUZZ_SEED ?? (process.env.HOMENET_FUZZ_CASES ? Date.now() % 1_000_000 : 20261129));

describe(`parsers under fuzzing (${CASES} cases each, seed ${SEED})`, () => {
  it.each(parserTargets().map((t) => [t.name, t] as const))('%s: declared errors only, bounded time, consistent output', (_name, target) => {
    if (target.knownSlow) console.warn(`${target.name}: known slow, time budget ${JSON.stringify(target.knownSlow.budget)}: ${target.knownSlow.why}`);
    const result = fuzzParser(target, { cases: CASES, seed: SEED });
    if (result.failure) {
      throw new Error(`${result.failure.message}\nseed ${SEED}; input ${describeInput(result.failure.input)}`);
    }
    expect(result.cases).toBe(CASES);
    // Both paths are exercised: some inputs are accepted, most mutations are refused.
    expect(result.accepted).toBeGreaterThan(0);
    expect(result.rejected).toBeGreaterThan(0);
  });

  it('soap-request: what buildSoapRequestBody writes, parseSoapRequest reads back in order', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/);
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean());
    fc.assert(
      fc.property(name, fc.uniqueArray(fc.tuple(name, value), { maxLength: 12, selector: ([n]) => n }), (action, args) => {
        const serviceType = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';
        const parsed = parseSoapRequest(`"${serviceType}#${action}"`, buildSoapRequestBody(serviceType, action, args));
        const text = (v: string | number | boolean) => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
        // The XML parser trims text values.
        expect(parsed.args).toEqual(args.map(([n, v]) => [n, text(v).trim()]));
        expect(parsed).toMatchObject({ serviceType, action });
      }),
      { numRuns: Math.max(100, Math.floor(CASES / 10)), seed: SEED },
    );
  });
});
