import { createSocket, Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { asyncScheduler, EMPTY, merge, Observable, SchedulerLike, Subscription, timer } from 'rxjs';
import { canonicalAddress, scopeOf } from '../../policies/model/address';
import type { DeviceSeen, NetworkChanged } from '../../policies/model/event';
import { decodeDhcpMessage, DHCP_OPTION_V6ONLY, DhcpFormatError, DhcpMessage, DhcpMessageType } from './dhcpv4-message';
import { nat64PrefixFromAddress } from './nat64-prefix';
import { ProblemSink } from './observer-problem';
import { CapturedRa, captureRouterAdvertisements } from './ra-capture';
import { decodeRouterAdvertisement, RouterAdvertisementFormatError } from './router-advertisement';

/** What the detector knows about the link, for `homenet devices` and diagnostics. */
export interface Ipv6MostlyFacts {
  /** PREF64 from RAs (by router), else the NAT64 prefix DNS64 revealed. */
  readonly pref64?: string;
  readonly pref64Source?: 'ra' | 'dns64';
  /** The DHCPv4 server offers option 108 (seen in an OFFER/ACK). */
  readonly option108Offered: boolean;
  /** V6ONLY_WAIT of the last offer, seconds. */
  readonly v6OnlyWait?: number;
  /** MACs of clients that asked for option 108 (RFC 8925 capable). */
  readonly v6OnlyCapable: readonly string[];
}

/** A DHCPv4 packet seen on the link. */
export interface DhcpSeen {
  readonly bytes: Uint8Array;
  /** The IPv4 source address of the packet. */
  readonly from: string;
  /** The Ethernet source of the frame (`aa:bb:cc:dd:ee:ff`), when the sniffer sees frames (a packet socket). */
  readonly sourceMac?: string;
  /** True when this host sent the frame (the sniffer saw it leave): a DHCP server running here. */
  readonly outgoing?: boolean;
}

/**
 * Who may state DHCP facts (option 108 offered, a client's IPv6-only status):
 * only these servers. A packet's server identifier (option 54) is written by
 * whoever sent it, so it proves nothing; what is checked is where the packet
 * came from.
 */
export interface DhcpServerTrust {
  /** IPv4 source addresses of the DHCP servers the controller knows. */
  readonly addresses: readonly string[];
  /**
   * Their Ethernet addresses: a server message whose frame came from another
   * L2 source is refused (checked when the sniffer sees the frame; empty or
   * absent: not checked).
   */
  readonly macs?: readonly string[];
  /**
   * The DHCP server is this host's own (gateway mode: the router's): a server
   * message this host sent counts (a LAN host can forge both the router's IP
   * and MAC, but its frames arrive, they do not leave); an incoming one only
   * when its source is in `addresses` (and `macs`). Needs a sniffer that sees
   * the direction.
   */
  readonly ownOnly?: boolean;
}

/** At most this many DHCP clients are remembered from their own requests (DISCOVER/REQUEST asking for option 108). */
export const MAX_DHCP_CLIENTS = 1024;
/** A client known only from its own requests is forgotten after this long unless a trusted server answered it. */
export const DHCP_CLIENT_TTL_MS = 10 * 60_000;
/** At most this many IPv6-only MACs are announced; past it the oldest are forgotten here (announced again if seen again). */
export const MAX_IPV6_ONLY_HOSTS = 4096;
/** `onFacts` for a changed host list at most this often. */
const FACTS_INTERVAL_MS = 1000;

export interface WatchIpv6MostlyOptions {
  /** The LAN interface (for the RA capture). */
  readonly interfaceName?: string;
  /** Router advertisements (default: the raw-socket capture on `interfaceName`). */
  readonly routerAdvertisements?: Observable<CapturedRa>;
  /** DHCPv4 packets on the link (default: passive listeners on UDP 67 and 68; `null`: none). */
  readonly dhcp?: Observable<DhcpSeen> | null;
  /**
   * The DHCP servers whose messages count (see {@link DhcpServerTrust}).
   * Absent or with no address: no server is trusted, so no offer of option
   * 108 is believed and no host is marked IPv6-only (reported once).
   */
  readonly dhcpServers?: DhcpServerTrust;
  /**
   * Link-local addresses of the routers whose RAs are the truth (gateway
   * mode: the router's own). Absent: any RA that is valid by RFC 4861
   * (link-local source, hop limit 255) counts; present: RAs from other
   * sources are reported and ignored.
   */
  readonly routers?: readonly string[];
  /** Resolver for the RFC 7050 query; default: the RDNSS of the RAs. `null`: no DNS64 query. */
  readonly dns64Server?: string | null;
  /** Query `ipv4only.arpa` again this often (default 300 000 ms). */
  readonly dns64IntervalMs?: number;
  readonly scheduler?: SchedulerLike;
  readonly onProblem?: ProblemSink;
  readonly onFacts?: (facts: Ipv6MostlyFacts) => void;
}

function listenDhcp(port: number): Observable<DhcpSeen> {
  return new Observable<DhcpSeen>((subscriber) => {
    let socket: Socket | undefined = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('message', (msg, rinfo) => subscriber.next({ bytes: new Uint8Array(msg), from: rinfo.address }));
    socket.on('error', (error) => subscriber.error(new Error(`DHCP listener on port ${port}: ${error.message}`)));
    socket.bind(port, '0.0.0.0', () => socket?.setBroadcast(true));
    return () => {
      socket?.close();
      socket = undefined;
    };
  });
}

/** Passive DHCPv4 listeners: client broadcasts arrive on 67, broadcast offers on 68. Needs root. */
export function listenDhcpOnLink(): Observable<DhcpSeen> {
  return merge(listenDhcp(67), listenDhcp(68));
}

/**
 * IPv6-mostly detector: follows what makes a home IPv6-mostly and emits the
 * engine's facts.
 * - PREF64 (RFC 8781) from router advertisements, with its lifetime: a new
 *   or changed prefix is a `network-changed` with `pref64`, a withdrawn or
 *   expired one `pref64: null`;
 * - the NAT64 prefix from DNS64 (`AAAA ipv4only.arpa`, RFC 7050) when no RA
 *   carries PREF64, asking the RDNSS the RAs name;
 * - DHCPv4 option 108 (RFC 8925): a client that asks for it while the
 *   server offers it runs IPv6-only: a `device-seen` for its MAC with
 *   `ipv6Only: 'dhcpv4-option-108'`.
 * Malformed RAs and DHCP packets are reported through `onProblem` and skipped.
 *
 * Facts come only from who may state them (docs/trust-model.md):
 * - an RA counts only when valid by RFC 4861 (link-local source, hop limit
 *   255: sent on this link) and, with `routers`, from one of them;
 * - an OFFER/ACK with option 108 counts only from a server of `dhcpServers`
 *   (its IPv4 source, its Ethernet source when seen, or — `ownOnly` — sent
 *   by this host); option 54 (server identifier) is not evidence;
 * - a client's own request for option 108 counts only for the MAC that sent
 *   the frame (chaddr = Ethernet source, not relayed), and is remembered for
 *   {@link DHCP_CLIENT_TTL_MS} at most, {@link MAX_DHCP_CLIENTS} clients.
 * Refusals are reported once per kind and source, not once per packet.
 *
 * @example
 * ```ts
 * watchIpv6Mostly({ interfaceName: 'eth0' }).subscribe((e) => console.log(e));
 * ```
 */
export function watchIpv6Mostly(options: WatchIpv6MostlyOptions = {}): Observable<NetworkChanged | DeviceSeen> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const report = options.onProblem ?? (() => undefined);
  return new Observable<NetworkChanged | DeviceSeen>((subscriber) => {
    const subscription = new Subscription();
    /** router -> PREF64 and when it expires. */
    const fromRas = new Map<string, { prefix: string; expiresAt: number }>();
    let fromDns64: string | undefined;
    let emittedPref64: string | null | undefined;
    let rdnss: string | undefined;
    let offered = false;
    let v6OnlyWait: number | undefined;
    /** Clients that asked for option 108 themselves, before any trusted offer -> when last seen (bounded, expiring; Map order is age order). */
    const capable = new Map<string, number>();
    /** MACs known IPv6-only -> whether a trusted server answered them, and when last seen (bounded; Map order is age order). */
    const marked = new Map<string, { answered: boolean; at: number }>();
    let factsAt = -Infinity;
    let factsPending: Subscription | undefined;
    let expiry: Subscription | undefined;
    const trustedServers = new Set((options.dhcpServers?.addresses ?? []).map((a) => canonicalAddress(a) ?? a));
    const trustedServerMacs = new Set((options.dhcpServers?.macs ?? []).map((m) => m.toLowerCase()));
    const ownOnly = options.dhcpServers?.ownOnly === true;
    const trustedRouters = options.routers === undefined ? undefined : new Set(options.routers.map((a) => canonicalAddress(a) ?? a));
    const reported = new Set<string>();
    /** One problem line per kind of refusal and subject (a flood of forgeries is one line each, not one per packet). */
    const refuse = (kind: string, subject: string, message: string) => {
      const key = `${kind}|${subject}`;
      if (reported.has(key)) return;
      if (reported.size >= 256) reported.clear();
      reported.add(key);
      report({ source: 'ipv6-mostly', message, subject, at: scheduler.now() });
    };
    /** Marked MACs still believed: those a trusted server answered, and client-only ones seen within the TTL. */
    const ipv6OnlyHosts = (): string[] => {
      const now = scheduler.now();
      const out: string[] = [];
      for (const [mac, m] of marked) if (m.answered || now - m.at < DHCP_CLIENT_TTL_MS) out.push(mac);
      return out;
    };

    const facts = (): Ipv6MostlyFacts => {
      const ra = [...fromRas.values()].sort((a, b) => a.prefix.localeCompare(b.prefix))[0];
      return {
        ...(ra ? { pref64: ra.prefix, pref64Source: 'ra' as const } : fromDns64 ? { pref64: fromDns64, pref64Source: 'dns64' as const } : {}),
        option108Offered: offered,
        ...(v6OnlyWait !== undefined ? { v6OnlyWait } : {}),
        v6OnlyCapable: ipv6OnlyHosts().sort(),
      };
    };

    /** Network facts: told at once. */
    const publish = () => {
      factsAt = scheduler.now();
      factsPending?.unsubscribe();
      factsPending = undefined;
      const f = facts();
      options.onFacts?.(f);
      const pref64 = f.pref64 ?? null;
      if (pref64 !== emittedPref64 && !(emittedPref64 === undefined && pref64 === null)) {
        emittedPref64 = pref64;
        subscriber.next({ type: 'network-changed', pref64 });
      }
    };
    /** The host list changed: `onFacts` at most once a second (a flood of DHCP packets is not a flood of fact lists). */
    const publishSoon = () => {
      if (!options.onFacts || factsPending) return;
      const wait = factsAt + FACTS_INTERVAL_MS - scheduler.now();
      if (wait <= 0) publish();
      else subscription.add((factsPending = scheduler.schedule(() => publish(), wait)));
    };
    /** A MAC is IPv6-only: announced once (again after it was forgotten); the oldest forgotten past the bound. */
    const mark = (mac: string, answered: boolean, now: number) => {
      const previous = marked.get(mac);
      marked.delete(mac);
      marked.set(mac, { answered: answered || previous?.answered === true, at: now });
      for (const [old, m] of marked) {
        if (marked.size <= MAX_IPV6_ONLY_HOSTS && (m.answered || now - m.at < DHCP_CLIENT_TTL_MS)) break;
        marked.delete(old);
      }
      if (!previous) subscriber.next({ type: 'device-seen', deviceId: `mac:${mac}`, identities: { mac }, ipv6Only: 'dhcpv4-option-108' });
      publishSoon();
    };

    const scheduleExpiry = () => {
      expiry?.unsubscribe();
      const next = Math.min(...[...fromRas.values()].map((v) => v.expiresAt));
      if (!Number.isFinite(next)) return;
      expiry = scheduler.schedule(() => {
        const now = scheduler.now();
        for (const [router, v] of fromRas) if (v.expiresAt <= now) fromRas.delete(router);
        publish();
        scheduleExpiry();
      }, Math.max(0, next - scheduler.now()));
      subscription.add(expiry);
    };

    const onRa = (captured: CapturedRa) => {
      // RFC 4861 §6.1.2: a valid RA comes from a link-local source with hop limit 255 (so from a router on this link).
      if (captured.hopLimit !== 255) {
        const got = captured.hopLimit < 0 ? 'unknown' : String(captured.hopLimit);
        refuse('ra-hop', captured.from, `RA with hop limit ${got} ignored (RFC 4861 requires 255)`);
        return;
      }
      if (scopeOf(captured.from) !== 'link-local') {
        refuse('ra-source', captured.from, `RA from ${captured.from} ignored (RFC 4861 requires a link-local source)`);
        return;
      }
      if (trustedRouters !== undefined && !trustedRouters.has(captured.from)) {
        refuse('ra-router', captured.from, `RA from ${captured.from} ignored: not one of the routers whose RAs count (${[...trustedRouters].join(', ') || 'none'})`);
        return;
      }
      let ra;
      try {
        ra = decodeRouterAdvertisement(captured.message);
      } catch (error) {
        const message = error instanceof RouterAdvertisementFormatError ? error.message : `unexpected RA decoder failure: ${String(error)}`;
        report({ source: 'ipv6-mostly', message, subject: captured.from, at: scheduler.now() });
        return;
      }
      const now = scheduler.now();
      // RFC 8781 §5: a PREF64 with lifetime 0 withdraws the prefix; an RA without the option changes nothing.
      const option = ra.pref64[0];
      if (option && option.lifetime > 0) fromRas.set(captured.from, { prefix: option.prefix, expiresAt: now + option.lifetime * 1000 });
      else if (option) fromRas.delete(captured.from);
      const server = ra.rdnss.find((r) => r.lifetime > 0)?.servers[0];
      if (server && server !== rdnss) {
        rdnss = server;
        if (options.dns64Server === undefined) queryDns64();
      }
      publish();
      scheduleExpiry();
    };

    /** Why a server message is not from a server the controller knows; `undefined` when it is. */
    const untrustedServer = (seen: DhcpSeen): string | undefined => {
      if (ownOnly && seen.outgoing === true) return undefined;
      if (trustedServers.size === 0) {
        return ownOnly ? `it came in from ${seen.sourceMac ?? seen.from}; only this router's own DHCP server counts` : 'no DHCP server is trusted (observe.dhcpServers)';
      }
      const from = canonicalAddress(seen.from) ?? seen.from;
      if (!trustedServers.has(from)) return `${seen.from} is not a trusted DHCP server`;
      if (trustedServerMacs.size > 0 && seen.sourceMac !== undefined && !trustedServerMacs.has(seen.sourceMac)) {
        return `its frame came from ${seen.sourceMac}, not from the trusted server's MAC`;
      }
      return undefined;
    };

    const onDhcp = (seen: DhcpSeen) => {
      let message: DhcpMessage;
      try {
        message = decodeDhcpMessage(seen.bytes);
      } catch (error) {
        const text = error instanceof DhcpFormatError ? error.message : String(error);
        report({ source: 'ipv6-mostly', message: text, subject: seen.from, at: scheduler.now() });
        return;
      }
      const now = scheduler.now();
      if (message.op === 1) {
        if (!message.requested.includes(DHCP_OPTION_V6ONLY) || !message.clientMac) return;
        // A client speaks for itself only: its hardware address must be the frame's source, and no relay in between.
        if (message.relayAddress !== '0.0.0.0') return;
        if (seen.sourceMac !== undefined && seen.sourceMac !== message.clientMac) {
          refuse('dhcp-client', seen.sourceMac, `DHCP request for ${message.clientMac} sent from ${seen.sourceMac} ignored (a client speaks only for its own MAC)`);
          return;
        }
        if (offered) {
          mark(message.clientMac, false, now);
          return;
        }
        capable.delete(message.clientMac);
        capable.set(message.clientMac, now);
        // Bounded: expired entries first, then the oldest (a flood of made-up clients forgets made-up clients).
        for (const [mac, seenAt] of capable) {
          if (capable.size <= MAX_DHCP_CLIENTS && now - seenAt < DHCP_CLIENT_TTL_MS) break;
          capable.delete(mac);
        }
        publishSoon();
        return;
      }
      if (message.messageType !== DhcpMessageType.OFFER && message.messageType !== DhcpMessageType.ACK) return;
      if (message.v6OnlyWait === undefined) return;
      const why = untrustedServer(seen);
      if (why !== undefined) {
        refuse('dhcp-server', `${seen.from} ${seen.sourceMac ?? ''}`.trim(), `DHCP ${message.messageType === DhcpMessageType.OFFER ? 'OFFER' : 'ACK'} with option 108 for ${message.clientMac} ignored: ${why}`);
        return;
      }
      const first = !offered || v6OnlyWait !== message.v6OnlyWait;
      offered = true;
      v6OnlyWait = message.v6OnlyWait;
      // The clients that asked before the server was seen offering it.
      for (const [mac, seenAt] of capable) if (now - seenAt < DHCP_CLIENT_TTL_MS) mark(mac, false, seenAt);
      capable.clear();
      if (message.clientMac) mark(message.clientMac, true, now);
      if (first) publish();
    };

    let querying = false;
    const queryDns64 = () => {
      const server = options.dns64Server ?? rdnss;
      if (!server || querying) return;
      querying = true;
      const resolver = new Resolver({ timeout: 2000, tries: 1 });
      resolver.setServers([server]);
      resolver.resolve6('ipv4only.arpa').then(
        (addresses) => {
          querying = false;
          const prefixes = [...new Set(addresses.map(nat64PrefixFromAddress).filter((p): p is string => p !== undefined))].sort();
          fromDns64 = prefixes[0];
          publish();
        },
        (error: NodeJS.ErrnoException) => {
          querying = false;
          // No AAAA (ENODATA / ENOTFOUND) means no DNS64: a fact, not a problem.
          if (error.code !== 'ENODATA' && error.code !== 'ENOTFOUND') {
            report({ source: 'ipv6-mostly', message: `DNS64 query to ${server} failed: ${error.message}`, subject: server, at: scheduler.now() });
          }
          fromDns64 = undefined;
          publish();
        },
      );
    };

    const ras = options.routerAdvertisements ?? captureRouterAdvertisements({ interfaceName: options.interfaceName });
    subscription.add(ras.subscribe({ next: onRa, error: (e: unknown) => report({ source: 'ipv6-mostly', message: String(e), at: scheduler.now() }) }));
    const dhcp = options.dhcp === undefined ? listenDhcpOnLink() : (options.dhcp ?? EMPTY);
    subscription.add(dhcp.subscribe({ next: onDhcp, error: (e: unknown) => report({ source: 'ipv6-mostly', message: String(e), at: scheduler.now() }) }));
    if (options.dns64Server !== null) subscription.add(timer(0, options.dns64IntervalMs ?? 300_000, scheduler).subscribe(() => queryDns64()));
    return () => subscription.unsubscribe();
  });
}
