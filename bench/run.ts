/**
 * `npm run bench [-- NAME...]`: runs the benchmarks (all, or those named:
 * `upnp`, `policy`, `gateway`, `pcp`, `gateway-pcp`, `parsers`, `hub`), printing numbers and ratios against a peer measured in the
 * same run.
 */
import { benchPolicyEngine } from './policy-engine';
import { benchUpnp } from './upnp';
import { benchGateway } from './gateway';
import { benchPcp } from './pcp';
import { benchGatewayPcp } from './gateway-pcp';
import { benchParsers } from './parsers';
import { benchHub } from './hub';

const SUITES: Record<string, (log: (line: string) => void) => Promise<void>> = {
  upnp: (log) => benchUpnp(log),
  policy: (log) => benchPolicyEngine(log),
  gateway: (log) => benchGateway(log),
  pcp: (log) => benchPcp(log),
  'gateway-pcp': (log) => benchGatewayPcp(log),
  parsers: (log) => benchParsers(log),
  hub: (log) => benchHub(log),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(SUITES);
  for (const name of names) {
    const suite = SUITES[name];
    if (!suite) throw new Error(`unknown benchmark '${name}'; known: ${Object.keys(SUITES).join(', ')}`);
    console.log(`\n=== ${name}`);
    await suite((line) => console.log(line));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
