/**
 * A one-shot DNS-SD browse (RFC 6762 §5.1, RFC 6763): a PTR query for a
 * service type with the unicast-response bit, multicast to 224.0.0.251 and
 * ff02::fb on the given interfaces from an ephemeral port (so the answers come
 * back by unicast to this process alone, even with avahi or matter.js on
 * 5353), answers collected for a bounded time, and the first COMPLETE
 * instance — PTR, SRV, and at least one address of its target — returned.
 *
 * Bounded and linear: each packet is decoded once by the hardened decoder
 * (size, record count and name limits), records go into maps capped at
 * {@link MAX_BROWSE_RECORDS}, and a check for a complete instance walks the
 * known instances once.
 *
 * @example
 * ```ts
 * const found = await browseService({ serviceType: '_homenet._tcp.local', interfaces: [{ name: 'eth0', ipv4: '192.168.1.10' }], timeoutMs: 1500 });
 * if (found) console.log(found.instance, found.port, found.addresses, found.txt);
 * ```
 */
import { randomInt } from 'node:crypto';
import { DnsMessage, DnsType, decodeDnsMessage, encodeDnsQuery } from '../matter/dns-message';
import { isLinkLocalIpv6 } from '../../policies/model/address';
import { DnssdInterface, DnssdSockets, MDNS_PORT, openDnssdSockets } from './dnssd-sockets';

/** Most records the browser keeps from all answers together. */
export const MAX_BROWSE_RECORDS = 512;

export interface BrowseOptions {
  /** `_service._tcp.local`. */
  readonly serviceType: string;
  readonly interfaces: readonly DnssdInterface[];
  /** How long to wait for a complete answer (default 500 ms). */
  readonly timeoutMs?: number;
  /** The responders' port (default 5353; tests use another). */
  readonly mdnsPort?: number;
  /** Test seam: the sockets. */
  readonly openSockets?: typeof openDnssdSockets;
}

/** One service instance, complete. */
export interface BrowsedService {
  /** The instance's full name (`<instance>.<type>`). */
  readonly instance: string;
  readonly host: string;
  readonly port: number;
  /** Its addresses (never link-local), IPv6 first. */
  readonly addresses: readonly string[];
  /** TXT entries as key → value (`key` alone → ''). */
  readonly txt: Readonly<Record<string, string>>;
  /** Who answered. */
  readonly from: string;
}

interface Collected {
  readonly instances: Map<string, string>; // lower-case instance name → original spelling, in arrival order
  readonly srv: Map<string, { port: number; target: string }>;
  readonly txt: Map<string, Record<string, string>>;
  readonly addresses: Map<string, Set<string>>; // lower-case host → addresses
  count: number;
}

function keep(c: Collected, message: DnsMessage, serviceType: string): void {
  const type = serviceType.toLowerCase();
  for (const r of [...message.answers, ...message.additionals]) {
    if (c.count >= MAX_BROWSE_RECORDS) return;
    if (r.ttl === 0) continue; // a goodbye
    const name = r.name.toLowerCase();
    c.count += 1;
    if (r.type === DnsType.PTR && 'target' in r && name === type) {
      if (r.target.toLowerCase().endsWith(`.${type}`)) c.instances.set(r.target.toLowerCase(), r.target);
    } else if (r.type === DnsType.SRV && 'port' in r) {
      c.srv.set(name, { port: r.port, target: r.target.toLowerCase() });
    } else if (r.type === DnsType.TXT && 'entries' in r) {
      const txt: Record<string, string> = {};
      for (const e of r.entries.slice(0, 32)) {
        const i = e.indexOf('=');
        const key = (i < 0 ? e : e.slice(0, i)).toLowerCase();
        if (key && !(key in txt)) txt[key] = i < 0 ? '' : e.slice(i + 1);
      }
      c.txt.set(name, txt);
    } else if ((r.type === DnsType.A || r.type === DnsType.AAAA) && 'address' in r) {
      if (r.type === DnsType.AAAA && isLinkLocalIpv6(r.address)) continue;
      const set = c.addresses.get(name) ?? new Set<string>();
      set.add(r.address);
      c.addresses.set(name, set);
    }
  }
}

function complete(c: Collected, from: string): BrowsedService | undefined {
  for (const [key, instance] of c.instances) {
    const srv = c.srv.get(key);
    if (!srv || srv.port === 0) continue;
    const addresses = c.addresses.get(srv.target);
    if (!addresses || addresses.size === 0) continue;
    const list = [...addresses].sort((a, b) => Number(!a.includes(':')) - Number(!b.includes(':')));
    return { instance, host: srv.target, port: srv.port, addresses: list, txt: c.txt.get(key) ?? {}, from };
  }
  return undefined;
}

/**
 * Browses once; resolves with the first complete instance, or `undefined`
 * when none answered within the time. Throws only when no socket could be
 * opened on any interface.
 */
export async function browseService(options: BrowseOptions): Promise<BrowsedService | undefined> {
  const timeoutMs = options.timeoutMs ?? 500;
  if (!(timeoutMs > 0) || timeoutMs > 60_000) throw new RangeError('timeoutMs must be 1-60000');
  if (options.interfaces.length === 0) return undefined;
  const mdnsPort = options.mdnsPort ?? MDNS_PORT;
  const open = options.openSockets ?? openDnssdSockets;
  const sockets: DnssdSockets = await open({ port: 0, groupPort: mdnsPort, interfaces: options.interfaces, join: false });
  const id = randomInt(1, 0xffff);
  const query = encodeDnsQuery([{ name: options.serviceType, type: DnsType.PTR, unicastResponse: true }]);
  new DataView(query.buffer, query.byteOffset, query.byteLength).setUint16(0, id);
  const collected: Collected = { instances: new Map(), srv: new Map(), txt: new Map(), addresses: new Map(), count: 0 };
  return new Promise<BrowsedService | undefined>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const finish = (found: BrowsedService | undefined) => {
      timers.forEach(clearTimeout);
      sockets.close();
      resolve(found);
    };
    sockets.onMessage((packet, from) => {
      if (from.port !== mdnsPort) return; // answers come from the responders' port
      let message: DnsMessage;
      try {
        message = decodeDnsMessage(packet);
      } catch {
        return;
      }
      if (!message.isResponse || (message.id !== 0 && message.id !== id)) return;
      keep(collected, message, options.serviceType);
      const found = complete(collected, from.address);
      if (found) finish(found);
    });
    sockets.multicast(query);
    // One retransmission a third of the way in: a lost first query still finds the hub.
    timers.push(setTimeout(() => sockets.multicast(query), Math.max(50, Math.floor(timeoutMs / 3))));
    timers.push(setTimeout(() => finish(complete(collected, '')), timeoutMs));
  });
}
