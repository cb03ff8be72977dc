import { createSocket, Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { asyncScheduler, EMPTY, merge, Observable, SchedulerLike, Subscription, timer } from 'rxjs';
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
  readonly from: string;
}

export interface WatchIpv6MostlyOptions {
  /** The LAN interface (for the RA capture). */
  readonly interfaceName?: string;
  /** Router advertisements (default: the raw-socket capture on `interfaceName`). */
  readonly routerAdvertisements?: Observable<CapturedRa>;
  /** DHCPv4 packets on the link (default: passive listeners on UDP 67 and 68; `null`: none). */
  readonly dhcp?: Observable<DhcpSeen> | null;
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
    const capable = new Set<string>();
    const announced = new Set<string>();
    let expiry: Subscription | undefined;

    const facts = (): Ipv6MostlyFacts => {
      const ra = [...fromRas.values()].sort((a, b) => a.prefix.localeCompare(b.prefix))[0];
      return {
        ...(ra ? { pref64: ra.prefix, pref64Source: 'ra' as const } : fromDns64 ? { pref64: fromDns64, pref64Source: 'dns64' as const } : {}),
        option108Offered: offered,
        ...(v6OnlyWait !== undefined ? { v6OnlyWait } : {}),
        v6OnlyCapable: [...capable].sort(),
      };
    };

    const publish = () => {
      const f = facts();
      options.onFacts?.(f);
      const pref64 = f.pref64 ?? null;
      if (pref64 !== emittedPref64 && !(emittedPref64 === undefined && pref64 === null)) {
        emittedPref64 = pref64;
        subscriber.next({ type: 'network-changed', pref64 });
      }
      if (offered) {
        for (const mac of capable) {
          if (announced.has(mac)) continue;
          announced.add(mac);
          subscriber.next({ type: 'device-seen', deviceId: `mac:${mac}`, identities: { mac }, ipv6Only: 'dhcpv4-option-108' });
        }
      }
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
      if (captured.hopLimit !== 255 && captured.hopLimit !== -1) {
        report({ source: 'ipv6-mostly', message: `RA with hop limit ${captured.hopLimit} ignored (RFC 4861 requires 255)`, subject: captured.from, at: scheduler.now() });
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

    const onDhcp = (seen: DhcpSeen) => {
      let message: DhcpMessage;
      try {
        message = decodeDhcpMessage(seen.bytes);
      } catch (error) {
        const text = error instanceof DhcpFormatError ? error.message : String(error);
        report({ source: 'ipv6-mostly', message: text, subject: seen.from, at: scheduler.now() });
        return;
      }
      if (message.op === 1 && message.requested.includes(DHCP_OPTION_V6ONLY) && message.clientMac) capable.add(message.clientMac);
      if (message.op === 2 && (message.messageType === DhcpMessageType.OFFER || message.messageType === DhcpMessageType.ACK)) {
        if (message.v6OnlyWait !== undefined) {
          offered = true;
          v6OnlyWait = message.v6OnlyWait;
          if (message.clientMac) capable.add(message.clientMac);
        }
      }
      publish();
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
