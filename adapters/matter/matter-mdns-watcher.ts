import { asyncScheduler, Observable, SchedulerLike, Subscription } from 'rxjs';
import type { DeviceSeen } from '../../policies/model/event';
import { ProblemSink } from '../observe/observer-problem';
import { decodeDnsMessage, DnsFormatError, DnsRecord, DnsType, encodeDnsQuery } from './dns-message';
import { MATTER_SERVICES, MatterHost, hostsTouchedBy, matterHost } from './matter-advertisement';
import { matterHostEvent } from './matter-host-event';
import { CachedRecord, MdnsRecordCache } from './mdns-record-cache';
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
  /** Every host state the watcher derives (hosts a packet or an expiry touched), with the time; for diagnostics and measurements. */
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
 * reported through `onProblem` and ignored whole. A flood cannot slow it down or
 * blind it: each packet recomputes only the hosts it touches (indexed lookups,
 * no scan of the cache), and the record cache binds records to their sender,
 * with per-sender quotas, a largest-sender-first global cap and clamped TTLs
 * (see `MdnsRecordCache`), so one host's flood never evicts another host's
 * records. The map of what was emitted shrinks when a host's last instance
 * expires or says goodbye.
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

    /** Recomputes only the hosts a packet or an expiry touched. */
    const publish = (touched: ReadonlySet<string>) => {
      const now = scheduler.now();
      for (const name of [...touched].sort()) {
        const host = matterHost(cache, name);
        if (!host) {
          emitted.delete(name); // no instance left: forget what was sent (the engine keeps the device)
          continue;
        }
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
        const gone = cache.expire(scheduler.now());
        if (gone.length > 0) publish(touchedBy(gone));
        scheduleSweep();
      }, Math.max(0, next - scheduler.now()));
      timers.add(sweep);
    };

    const touchedBy = (records: readonly CachedRecord[], into = new Set<string>()): Set<string> => {
      for (const r of records) for (const h of hostsTouchedBy(cache, r.record)) into.add(h);
      return into;
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
      const touched = new Set<string>();
      for (const r of useful) {
        // Records are bound to their sender: another host's goodbye or cache-flush cannot remove them.
        touchedBy(cache.add(r, now, from.address), touched);
        for (const h of hostsTouchedBy(cache, r)) touched.add(h);
      }
      publish(touched);
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
