/**
 * Run inside a lab namespace by `bench/hub.ts`: times coordination asks to the
 * hub from this host (a fresh connection each, as an agent asks): `count` new
 * needs (distinct ports from `firstPort`), then `count` renewals of the first.
 * Prints one JSON line `{ asks: ms[], renewals: ms[] }`.
 *
 * `ip netns exec NS node dist/bench/hub-ask-timings.js URL LOCAL_ADDRESS COUNT FIRST_PORT`
 */
import * as http from 'node:http';

function ask(base: URL, localAddress: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      { host: base.hostname.replace(/^\[|\]$/g, ''), port: base.port, path: `${base.pathname.replace(/\/$/, '')}/needs`, method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const [url, localAddress, countText, firstText] = process.argv.slice(2);
  const base = new URL(url);
  const count = Number(countText);
  const first = Number(firstText);
  const family = localAddress.includes(':') ? 'ipv6' : 'ipv4';
  const asks: number[] = [];
  for (let i = 0; i < count; i++) asks.push(await ask(base, localAddress, JSON.stringify({ protocol: 'udp', internalPort: first + i, family, leaseSeconds: 600 })));
  const renewals: number[] = [];
  for (let i = 0; i < count; i++) renewals.push(await ask(base, localAddress, JSON.stringify({ protocol: 'udp', internalPort: first, family, leaseSeconds: 600 })));
  process.stdout.write(`${JSON.stringify({ asks, renewals })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
