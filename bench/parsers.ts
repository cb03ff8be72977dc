/**
 * `npm run bench -- parsers`: every parser on attacker input, typical against worst case.
 *
 * 1. Per parser (SOAP request and response, SSDP, device description XML, mDNS, DHCPv4, RA):
 *    time of a typical real input, of each crafted worst case (the issue's 16 KiB body of
 *    distinct empty tags, the 8 KiB SOAPAction header, pointer chains, ...) and of the
 *    slowest input a short fuzz run finds, per KiB, and the ratio worst/typical per byte.
 *    A linear parser keeps that ratio small; a quadratic one grows it with the input size.
 * 2. Before/after for issue 9 items 1 and 2, measured the same way in the same run: SOAP
 *    request parsing (typical, 16 KiB distinct tags, 8 KiB header) and the mDNS flood (a
 *    watcher that has taken 60 packets of 40 new hosts each from one sender, then the time
 *    of each further packet). The "before" modules are loaded from the build named by
 *    `HOMENET_BENCH_BASELINE` (a `dist` directory of an older build), when set.
 *
 * @example
 * ```sh
 * HOMENET_BENCH_BASELINE=/path/to/old/dist npm run bench -- parsers
 * HOMENET_BENCH_FUZZ_CASES=20000 npm run bench -- parsers
 * ```
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { VirtualTimeScheduler } from 'rxjs';
import type * as SoapEnvelope from '../adapters/upnp/soap-envelope';
import type * as MdnsWatcher from '../adapters/matter/matter-mdns-watcher';
import type { MdnsTransport } from '../adapters/matter/mdns-transport';
import { fuzzParser } from '../test/fuzz/fuzz-engine';
import { distinctEmptyTagsBody, longSoapActionHeader, matterAnnouncement, mdnsFloodPacket, parserTargets, ParserTarget } from '../test/fuzz/parser-targets';

type Log = (line: string) => void;

/** Median milliseconds per call of `fn`, over enough calls to fill ~`budgetMs`. */
export function timePerCall(fn: () => void, budgetMs = 150, maxCalls = 2000): number {
  // Warm up (JIT) for a tenth of the budget first.
  const warm = performance.now();
  for (let i = 0; i < 3 || (i < 50 && performance.now() - warm < budgetMs / 10); i++) fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 3 || (performance.now() - start < budgetMs && samples.length < maxCalls)) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function swallow(run: () => unknown): () => void {
  return () => {
    try {
      run();
    } catch {
      /* a rejected input is timed like an accepted one */
    }
  };
}

const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
const perKiB = (ms: number, bytes: number): number => (ms * 1024) / Math.max(1, bytes);

function benchTarget(target: ParserTarget, fuzzCases: number, log: Log): void {
  const typicalMs = timePerCall(swallow(() => target.run(target.typical)));
  const typicalPerKiB = perKiB(typicalMs, target.typical.length);
  log(`${target.name}: typical ${target.typical.length} B: ${us(typicalMs)} (${us(typicalPerKiB)}/KiB)`);
  let worst = { name: 'typical', perKiB: typicalPerKiB };
  for (const c of target.crafted) {
    const ms = timePerCall(swallow(() => target.run(c.input)), 150, 200);
    const p = perKiB(ms, c.input.length);
    log(`  crafted ${c.name} (${c.input.length} B): ${us(ms)} (${us(p)}/KiB)`);
    if (p > worst.perKiB) worst = { name: c.name, perKiB: p };
  }
  if (fuzzCases > 0) {
    const fuzz = fuzzParser(target, { cases: fuzzCases, seed: 9 });
    const ms = timePerCall(swallow(() => target.run(fuzz.slowest.input)), 100, 200);
    const p = perKiB(ms, fuzz.slowest.input.length);
    log(`  fuzz-found slowest of ${fuzz.cases} cases (${fuzz.slowest.input.length} B): ${us(ms)} (${us(p)}/KiB)${fuzz.failure ? `; FAILURE: ${fuzz.failure.message}` : ''}`);
    if (p > worst.perKiB) worst = { name: 'fuzz-found', perKiB: p };
  }
  log(`  worst/typical per byte: ${(worst.perKiB / typicalPerKiB).toFixed(1)}x (${worst.name})`);
}

/** SOAP request parsing of one build (item 1). */
function benchSoap(soap: typeof SoapEnvelope, label: string, log: Log): void {
  const target = parserTargets()[0];
  const typical = Buffer.from(target.typical).toString('utf8');
  const nl = typical.indexOf('\n');
  const header = typical.slice(0, nl);
  const body = typical.slice(nl + 1);
  const big = distinctEmptyTagsBody();
  const longHeader = longSoapActionHeader();
  const t = timePerCall(swallow(() => soap.parseSoapRequest(header, body)));
  const b = timePerCall(swallow(() => soap.parseSoapRequest(header, big)), 300, 50);
  const h = timePerCall(swallow(() => soap.parseSoapRequest(longHeader, body)), 300, 50);
  log(`${label}: typical AddPinhole ${us(t)}; 16 KiB distinct empty tags ${(b).toFixed(2)} ms; 8 KiB SOAPAction header ${h.toFixed(2)} ms`);
}

/** The mDNS flood (item 2) against one build's watcher: ms per packet after 60 flood packets. */
function benchMdnsFlood(watcher: typeof MdnsWatcher, label: string, log: Log): void {
  const scheduler = new VirtualTimeScheduler();
  let handler: (packet: Uint8Array, from: { address: string; port: number }) => void = () => undefined;
  const transport: MdnsTransport = { onPacket: (h) => (handler = h), onError: () => undefined, send: () => undefined, close: () => undefined };
  let events = 0;
  const sub = watcher.watchMatterMdns({ transport, scheduler, queryIntervalMs: 0 }).subscribe(() => events++);
  handler(matterAnnouncement('ABCDEF0123450000.local', 'E7D2BAC0A7D627ED', 0x20), { address: 'fe80::1', port: 5353 });
  const packet0 = mdnsFloodPacket(0);
  const t0 = performance.now();
  for (let i = 0; i < 60; i++) handler(mdnsFloodPacket(i), { address: 'fe80::bad', port: 5353 });
  const fillMs = performance.now() - t0;
  const further: number[] = [];
  for (let i = 60; i < 70; i++) {
    const p = mdnsFloodPacket(i);
    const s = performance.now();
    handler(p, { address: 'fe80::bad', port: 5353 });
    further.push(performance.now() - s);
  }
  sub.unsubscribe();
  further.sort((a, b) => a - b);
  log(`${label}: 60 flood packets of ${packet0.length} B (40 new hosts each) took ${fillMs.toFixed(0)} ms; each further packet: median ${(further[5]).toFixed(2)} ms, max ${(further[9]).toFixed(2)} ms; ${events} events`);
}

export async function benchParsers(log: Log): Promise<void> {
  const fuzzCases = Number(process.env.HOMENET_BENCH_FUZZ_CASES ?? 2000);
  log(`-- per parser: typical vs worst case (crafted, and the slowest of ${fuzzCases} fuzz cases), per KiB`);
  for (const target of parserTargets()) benchTarget(target, fuzzCases, log);

  log('-- issue 9 items 1 and 2: before/after, same measurement');
  const builds: Array<{ label: string; root: string }> = [];
  const baseline = process.env.HOMENET_BENCH_BASELINE;
  if (baseline) builds.push({ label: 'before', root: path.resolve(baseline) });
  else log('(no HOMENET_BENCH_BASELINE: only this build is measured)');
  builds.push({ label: 'after', root: path.join(__dirname, '..') });
  for (const b of builds) {
     
    const soap = require(path.join(b.root, 'adapters/upnp/soap-envelope.js')) as typeof SoapEnvelope;
    benchSoap(soap, `SOAP ${b.label}`, log);
  }
  for (const b of builds) {
     
    const watcher = require(path.join(b.root, 'adapters/matter/matter-mdns-watcher.js')) as typeof MdnsWatcher;
    benchMdnsFlood(watcher, `mDNS flood ${b.label}`, log);
  }
}
