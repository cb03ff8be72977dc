/**
 * A minimal DNS-SD responder (RFC 6762 / RFC 6763) for one service instance:
 * it answers PTR queries for its service type (and SRV/TXT queries for the
 * instance, A/AAAA queries for its host name) with PTR + SRV + TXT + the
 * host's LAN addresses, announces at start and says goodbye (TTL 0) at stop.
 *
 * Every packet is untrusted LAN input, and the answer goes somewhere the
 * sender chose, so:
 * - at most ONE answer per query packet, and an answer is a fixed, small
 *   record set (a reflection gains an attacker at most that, once per query);
 * - a unicast answer (the query's unicast-response bit, or a one-shot query
 *   from a port other than 5353) goes only to an on-link source — an IPv4
 *   address in one of the interfaces' subnets, an IPv6 link-local or on-link
 *   address — and each source gets at most `perSourcePerSecond` answers;
 * - multicast answers go to the group (which the sender cannot choose) at most
 *   once per second per family, unless a query's known answers suppress it;
 * - the decoder bounds everything (`adapters/matter/dns-message.ts`).
 *
 * @example
 * ```ts
 * const ad = await DnssdAdvertiser.start({
 *   serviceType: '_homenet._tcp.local', instance: 'homenet hub', host: 'hub',
 *   port: 5390, txt: ['path=/homenet/v1', 'deployment=hub'],
 *   interfaces: ['eth0'], addresses: readHostAddresses,
 * });
 * // … later
 * await ad.stop();   // goodbye: every record with TTL 0
 * ```
 */
import { DnsMessage, DnsType, decodeDnsMessage } from '../matter/dns-message';
import type { HostAddress } from '../observe/host-address';
import { inPrefix, isLinkLocalIpv6, splitZone } from '../../policies/model/address';
import { encodeDnsResponse, OutRecord } from './dns-record-encoder';
import { DnssdSender, DnssdSockets, MDNS_PORT, openDnssdSockets } from './dnssd-sockets';

export interface DnssdAdvertiserInit {
  /** `_service._tcp.local`. */
  readonly serviceType: string;
  /** The instance label (no dots), e.g. `homenet hub on box`. */
  readonly instance: string;
  /** The host label (no dots): the records name `<host>.local`. */
  readonly host: string;
  /** The service's TCP port (SRV). */
  readonly port: number;
  /** TXT `key=value` entries. */
  readonly txt: readonly string[];
  /** Interfaces to answer on. */
  readonly interfaces: readonly string[];
  /** This host's addresses (read at start and when answering, so renumbering shows). */
  readonly addresses: () => Promise<readonly HostAddress[]> | readonly HostAddress[];
  /** Port to listen on and announce to (default 5353; tests use another). */
  readonly mdnsPort?: number;
  /** Unicast answers per source address per second (default 4). */
  readonly perSourcePerSecond?: number;
  /** Clock in ms (tests). */
  readonly now?: () => number;
  /** Announce at start (default true). */
  readonly announce?: boolean;
  /** How long a read of the addresses is reused (default 5000 ms): a flood of queries must not become a flood of `ip` runs. */
  readonly addressCacheMs?: number;
}

/** What the responder did, for tests and the daemon's status. */
export interface DnssdAdvertiserStats {
  queries: number;
  answered: number;
  /** Dropped: rate limit per source, or an off-link source asking for a unicast answer. */
  limited: number;
  offLink: number;
  malformed: number;
}

const SHARED_TTL = 4500; // PTR, TXT (RFC 6762 §10)
const HOST_TTL = 120; // SRV, A, AAAA
const LEGACY_TTL = 10; // one-shot (legacy unicast) answers, RFC 6762 §6.7
const MAX_SOURCES = 1024;

function label(text: string, what: string): string {
  if (text.length === 0 || text.includes('.') || Buffer.byteLength(text) > 63) throw new RangeError(`${what} '${text}' must be one DNS label: 1-63 bytes, no dots`);
  return text;
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export class DnssdAdvertiser {
  readonly stats: DnssdAdvertiserStats = { queries: 0, answered: 0, limited: 0, offLink: 0, malformed: 0 };
  private readonly instanceName: string;
  private readonly hostName: string;
  private readonly now: () => number;
  private readonly perSecond: number;
  private readonly sources = new Map<string, { windowStart: number; count: number }>();
  private readonly lastMulticast = { ipv4: -Infinity, ipv6: -Infinity };
  private current: readonly HostAddress[] = [];
  private currentAt = -Infinity;
  private reading: Promise<readonly HostAddress[]> | undefined;
  private announceTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly init: DnssdAdvertiserInit,
    private readonly sockets: DnssdSockets,
  ) {
    this.instanceName = `${init.instance}.${init.serviceType}`;
    this.hostName = `${init.host}.local`;
    this.now = init.now ?? Date.now;
    this.perSecond = init.perSourcePerSecond ?? 4;
  }

  /** Opens the sockets, joins the groups, and announces. */
  static async start(init: DnssdAdvertiserInit): Promise<DnssdAdvertiser> {
    label(init.instance, 'instance');
    label(init.host, 'host');
    if (!/^_[a-z0-9-]+\._(tcp|udp)\.local$/i.test(init.serviceType)) throw new RangeError(`service type '${init.serviceType}' must look like _name._tcp.local`);
    if (!Number.isInteger(init.port) || init.port < 1 || init.port > 65535) throw new RangeError(`port ${init.port} is not 1-65535`);
    if (init.interfaces.length === 0) throw new RangeError('at least one interface is needed');
    const addresses = usable(await init.addresses(), init.interfaces);
    const interfaces = init.interfaces.map((name) => {
      const v4 = addresses.find((a) => a.interface === name && a.family === 'ipv4');
      return { name, ...(v4 ? { ipv4: v4.address } : {}), ipv6: true };
    });
    const sockets = await openDnssdSockets({ port: init.mdnsPort ?? MDNS_PORT, groupPort: init.mdnsPort ?? MDNS_PORT, interfaces, join: true });
    const ad = new DnssdAdvertiser(init, sockets);
    ad.current = addresses;
    ad.currentAt = ad.now();
    sockets.onMessage((packet, from) => void ad.onPacket(packet, from));
    if (init.announce !== false) {
      ad.sendAnnouncement();
      ad.announceTimer = setTimeout(() => ad.sendAnnouncement(), 1000); // RFC 6762 §8.3: at least twice, a second apart
      ad.announceTimer.unref();
    }
    return ad;
  }

  /** Says goodbye (every record with TTL 0) and closes the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.announceTimer) clearTimeout(this.announceTimer);
    try {
      this.sockets.multicast(encodeDnsResponse(this.records(this.current, 'goodbye')));
      await new Promise((resolve) => setTimeout(resolve, 20)); // let the goodbye leave before the sockets close
    } finally {
      this.sockets.close();
    }
  }

  private sendAnnouncement(): void {
    if (this.stopped) return;
    this.sockets.multicast(encodeDnsResponse(this.records(this.current, 'announce')));
  }

  /** The full record set: PTR answer, SRV + TXT + addresses additional. */
  private records(addresses: readonly HostAddress[], mode: 'announce' | 'goodbye' | 'answer' | 'legacy'): { answers: OutRecord[]; additionals: OutRecord[] } {
    const ttl = (t: number) => (mode === 'goodbye' ? 0 : mode === 'legacy' ? Math.min(t, LEGACY_TTL) : t);
    const flush = mode !== 'legacy';
    const ptr: OutRecord = { type: DnsType.PTR, name: this.init.serviceType, ttl: ttl(SHARED_TTL), target: this.instanceName };
    const srv: OutRecord = { type: DnsType.SRV, name: this.instanceName, ttl: ttl(HOST_TTL), port: this.init.port, target: this.hostName, cacheFlush: flush };
    const txt: OutRecord = { type: DnsType.TXT, name: this.instanceName, ttl: ttl(SHARED_TTL), entries: this.init.txt, cacheFlush: flush };
    const hosts: OutRecord[] = addresses.map((a) =>
      a.family === 'ipv4'
        ? { type: DnsType.A, name: this.hostName, ttl: ttl(HOST_TTL), address: a.address, cacheFlush: flush }
        : { type: DnsType.AAAA, name: this.hostName, ttl: ttl(HOST_TTL), address: a.address, cacheFlush: flush },
    );
    return { answers: [ptr], additionals: [srv, txt, ...hosts] };
  }

  private async onPacket(packet: Uint8Array, from: DnssdSender): Promise<void> {
    if (this.stopped) return;
    let message: DnsMessage;
    try {
      message = decodeDnsMessage(packet);
    } catch {
      this.stats.malformed += 1;
      return;
    }
    if (message.isResponse || message.opcode !== 0 || message.questions.length === 0) return;
    this.stats.queries += 1;
    const asked = message.questions.filter(
      (q) =>
        ((q.type === DnsType.PTR || q.type === DnsType.ANY) && same(q.name, this.init.serviceType)) ||
        ((q.type === DnsType.SRV || q.type === DnsType.TXT || q.type === DnsType.ANY) && same(q.name, this.instanceName)) ||
        ((q.type === DnsType.A || q.type === DnsType.AAAA || q.type === DnsType.ANY) && same(q.name, this.hostName)),
    );
    if (asked.length === 0) return;
    const mdnsPort = this.init.mdnsPort ?? MDNS_PORT;
    const legacy = from.port !== mdnsPort;
    const unicast = legacy || asked.some((q) => q.unicastResponse);
    // Known-answer suppression (RFC 6762 §7.1): the querier already holds our PTR with at least half its TTL.
    const known = message.answers.some((r) => r.type === DnsType.PTR && same(r.name, this.init.serviceType) && 'target' in r && same(r.target, this.instanceName) && r.ttl >= SHARED_TTL / 2);
    if (known && !legacy) return;
    const addresses = await this.addresses();
    if (this.stopped) return;
    const sourceLink = addresses.filter((a) => inPrefix(splitZone(from.address).address, a.address, a.prefixLength));
    const onLink = sourceLink.length > 0 || (from.family === 'ipv6' && isLinkLocalIpv6(splitZone(from.address).address));
    // Answer with the addresses of the interface the source is on (all of them when it cannot be told).
    const ifaces = new Set(sourceLink.map((a) => a.interface));
    const answerAddresses = ifaces.size > 0 ? addresses.filter((a) => ifaces.has(a.interface)) : addresses;
    if (unicast) {
      if (!onLink) {
        this.stats.offLink += 1;
        return;
      }
      if (!this.allow(from.address)) {
        this.stats.limited += 1;
        return;
      }
      const set = this.records(answerAddresses, legacy ? 'legacy' : 'answer');
      const bytes = encodeDnsResponse({
        ...(legacy ? { id: message.id, questions: asked.map((q) => ({ name: q.name, type: q.type })) } : {}),
        ...set,
      });
      this.sockets.unicast(bytes, from);
      this.stats.answered += 1;
      return;
    }
    const t = this.now();
    if (t - this.lastMulticast[from.family] < 1000) {
      this.stats.limited += 1;
      return;
    }
    this.lastMulticast[from.family] = t;
    this.sockets.multicast(encodeDnsResponse(this.records(addresses, 'answer')));
    this.stats.answered += 1;
  }

  /** The usable addresses, read again at most every `addressCacheMs` (one read shared by concurrent queries; on failure, the last known). */
  private async addresses(): Promise<readonly HostAddress[]> {
    if (this.now() - this.currentAt < (this.init.addressCacheMs ?? 5000)) return this.current;
    this.reading ??= (async () => {
      try {
        this.current = usable(await this.init.addresses(), this.init.interfaces);
      } catch {
        /* keep the last known addresses */
      }
      this.currentAt = this.now();
      this.reading = undefined;
      return this.current;
    })();
    return this.reading;
  }

  /** A fixed window per source; the table is bounded (the oldest entries go first). */
  private allow(source: string): boolean {
    const t = this.now();
    const entry = this.sources.get(source);
    if (!entry || t - entry.windowStart >= 1000) {
      this.sources.delete(source);
      if (this.sources.size >= MAX_SOURCES) this.sources.delete(this.sources.keys().next().value!);
      this.sources.set(source, { windowStart: t, count: 1 });
      return true;
    }
    if (entry.count >= this.perSecond) return false;
    entry.count += 1;
    return true;
  }
}

/**
 * A host name or text as one DNS label: dots become '-', cut to 63 bytes.
 *
 * @example
 * ```ts
 * toDnsLabel('hub.home.arpa'); // 'hub-home-arpa'
 * ```
 */
export function toDnsLabel(text: string): string {
  let label = text.replace(/\./g, '-').trim() || 'homenet';
  while (Buffer.byteLength(label) > 63) label = label.slice(0, -1);
  return label;
}

/** The addresses worth advertising: on the given interfaces, not link-local, temporary, deprecated or tentative. */
function usable(addresses: readonly HostAddress[], interfaces: readonly string[]): HostAddress[] {
  return addresses.filter(
    (a) => interfaces.includes(a.interface) && !a.tentative && !a.deprecated && !a.temporary && a.scope !== 'link-local' && !(a.family === 'ipv6' && isLinkLocalIpv6(a.address)),
  );
}
