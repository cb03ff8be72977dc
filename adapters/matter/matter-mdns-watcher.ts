import { asyncScheduler, Observable, SchedulerLike, Subscription } from 'rxjs';
import type { DeviceSeen } from '../../policies/model/event';
import { ProblemSink } from '../observe/observer-problem';
import { decodeDnsMessage, DnsFormatError, DnsRecord, DnsType, encodeDnsQuery } from './dns-message';
import { MATTER_SERVICES, MatterHost, matterHosts } from './matter-advertisement';
import { matterHostEvent } from './matter-host-event';
import { MdnsRecordCache } from './mdns-record-cache';
import { MdnsTransport } from './mdns-transport';

export interface WatchMatterMdnsOptions {
  /** The mDNS sockets (see `openMdnsTransport`), or a function that opens them on subscribe. */
  readonly transport: MdnsTransport | (() => Promise<MdnsTransport>);
  /** Clock and timers (default `asyncScheduler`); tests pass a `TestScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Ask again for Matter services this often (default 60 000 ms; 0: only at start). */
  readonly queryIntervalMs?: number;
  /** Malformed packets and socket errors land here; the watcher keeps running. */
  readonly onProblem?: ProblemSink;
  /** Every host state the watcher derives, with the time; for diagnostics and measurements. */
  readonly onHost?: (host: MatterHost, at: number) => void;
}

const SERVICE_NAMES = new Set(Object.values(MATTER_SERVICES).map((s) => s.toLowerCase()));

function isMatterRelated(record: DnsRecord): boolean {
  const name = record.name.toLowerCase();
  for (const service of SERVICE_NAMES) if (name === service || name.endsWith(`.${service}`)) return true;
  return false;
}

/**
 * Passive Matter watcher: listens to mDNS on the link and turns what Matter
 * devices advertise into engine events, without commissioning anything.
 * `_matter._tcp` (commissioned), `_matterc._udp` (commissionable, with its
 * subtypes and TXT: vendor, product, device type, commissioning mode) and
 * `_meshcop._udp` (Thread border routers) instances are grouped by host, with
 * the host's AAAA/A records. TTLs count down on the injected scheduler;
 * goodbyes (TTL 0) remove a record one second later (RFC 6762 §10.1). An
 * address the device withdraws leaves the device's address list; a device
 * that goes silent keeps its last list (it is still Matter: no protection is
 * dropped because a device stops talking).
 *
 * Hostile packets (compression loops, oversized names, bogus records) are
 * reported through `onProblem` and ignored whole.
 *
 * @example
 * ```ts
 * const transport = await openMdnsTransport({ interfaceName: 'eth0', ipv4: false });
 * watchMatterMdns({ transport }).subscribe((event) => console.log(event.deviceId, event.kinds));
 * ```
 */
export function watchMatterMdns(options: WatchMatterMdnsOptions): Observable<DeviceSeen> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const report = options.onProblem ?? (() => undefined);
  const queryIntervalMs = options.queryIntervalMs ?? 60_000;
  return new Observable<DeviceSeen>((subscriber) => {
    const cache = new MdnsRecordCache();
    const emitted = new Map<string, string>();
    const asked = new Map<string, number>();
    const timers = new Subscription();
    let sweep: Subscription | undefined;
    let transport: MdnsTransport | undefined;
    let closed = false;

    const publish = () => {
      const now = scheduler.now();
      for (const host of matterHosts(cache)) {
        options.onHost?.(host, now);
        if (host.addresses.length === 0 && !emitted.has(host.host)) continue; // wait for an address
        const event = matterHostEvent(host);
        const signature = JSON.stringify(event);
        if (emitted.get(host.host) === signature) continue;
        emitted.set(host.host, signature);
        subscriber.next(event);
      }
    };

    const scheduleSweep = () => {
      sweep?.unsubscribe();
      const next = cache.nextExpiry();
      if (next === undefined) return;
      sweep = scheduler.schedule(() => {
        if (closed) return;
        if (cache.expire(scheduler.now()).length > 0) publish();
        scheduleSweep();
      }, Math.max(0, next - scheduler.now()));
      timers.add(sweep);
    };

    const ask = (names: { name: string; type: number }[]) => {
      const now = scheduler.now();
      const fresh = names.filter((n) => now - (asked.get(`${n.name}|${n.type}`) ?? -Infinity) >= 1000);
      if (fresh.length === 0 || !transport) return;
      for (const n of fresh) asked.set(`${n.name}|${n.type}`, now);
      if (asked.size > 4096) asked.clear();
      transport.send(encodeDnsQuery(fresh));
    };

    /** Follow-up questions for instances without SRV/TXT and hosts without addresses. */
    const followUp = (records: readonly DnsRecord[]) => {
      const questions: { name: string; type: number }[] = [];
      for (const r of records) {
        if (r.type === DnsType.PTR && r.ttl > 0 && SERVICE_NAMES.has(r.name.toLowerCase())) {
          const target = (r as DnsRecord & { target: string }).target;
          if (cache.find(target, DnsType.SRV).length === 0) questions.push({ name: target, type: DnsType.SRV }, { name: target, type: DnsType.TXT });
        }
        if (r.type === DnsType.SRV && r.ttl > 0 && isMatterRelated(r)) {
          const host = (r as DnsRecord & { target: string }).target;
          if (cache.find(host, DnsType.AAAA).length === 0) questions.push({ name: host, type: DnsType.AAAA });
        }
      }
      if (questions.length > 0) ask(questions.slice(0, 16));
    };

    const onPacket = (packet: Uint8Array, from: { address: string }) => {
      if (closed) return;
      let message;
      try {
        message = decodeDnsMessage(packet);
      } catch (error) {
        const text = error instanceof DnsFormatError ? error.message : `unexpected decoder failure: ${String(error)}`;
        report({ source: 'matter-mdns', message: text, subject: from.address, at: scheduler.now() });
        return;
      }
      if (!message.isResponse) return;
      const now = scheduler.now();
      const records = [...message.answers, ...message.additionals];
      // Keep Matter records and the addresses of any host (a Matter host's AAAA may come before its SRV).
      const useful = records.filter((r) => isMatterRelated(r) || r.type === DnsType.A || r.type === DnsType.AAAA);
      if (useful.length === 0) return;
      for (const r of useful) cache.add(r, now);
      publish();
      followUp(useful);
      scheduleSweep();
    };

    const query = () => ask(Object.values(MATTER_SERVICES).map((name) => ({ name, type: DnsType.PTR })));

    const start = (t: MdnsTransport) => {
      if (closed) {
        t.close();
        return;
      }
      transport = t;
      t.onPacket(onPacket);
      t.onError((error) => report({ source: 'matter-mdns', message: `socket error: ${error.message}`, at: scheduler.now() }));
      query();
      if (queryIntervalMs > 0) {
        timers.add(
          scheduler.schedule(function (this: { schedule(state?: unknown, delay?: number): void }) {
            if (closed) return;
            asked.clear();
            query();
            this.schedule(undefined, queryIntervalMs);
          }, queryIntervalMs),
        );
      }
    };

    if (typeof options.transport === 'function') {
      options.transport().then(start, (error: unknown) => subscriber.error(error));
    } else {
      start(options.transport);
    }
    return () => {
      closed = true;
      timers.unsubscribe();
      transport?.close();
    };
  });
}
