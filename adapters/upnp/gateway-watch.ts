/**
 * `watchGateways`: an rxjs Observable of gateway events for long-running use. It listens for
 * NOTIFY on port 1900 and searches periodically, and reports:
 * - `appeared`: a new gateway (with its description);
 * - `alive`: a NOTIFY ssdp:alive or search answer for the IGD device refreshed it;
 * - `byebye`: it said ssdp:byebye (for any of its devices);
 * - `expired`: nothing refreshed it within its CACHE-CONTROL max-age;
 * - `rebooted`: its BOOTID.UPNP.ORG changed (announced without ssdp:update/NEXTBOOTID), or it
 *   came back after byebye/expiry with another BOOTID. The router forgot its pinholes and
 *   mappings: whoever holds grants must add them again. The description is fetched again.
 * Gateways are keyed by (family, root UDN); the same router seen over IPv4 and IPv6 gives two.
 *
 * @example
 * ```ts
 * const sub = watchGateways({ family: 'both' }).subscribe((e) => {
 *   if (e.type === 'rebooted') console.log('re-add grants on', e.gateway.location);
 * });
 * // later: sub.unsubscribe();
 * ```
 */
import { Observable } from 'rxjs';
import { gatewayUnusableReason } from './device-description';
import { DescriptionFetcher, DiscoveredGateway, fetchDeviceDescription } from './gateway';
import { DiscoveryFamily, defaultTransports, gatewayFromAnswer } from './gateway-discovery';
import { parseHttpUrl } from './http-url';
import { sameAddress } from '../../policies/model/address';
import { InterfaceTableSource, systemInterfaceTable } from './network-interfaces';
import { GatewayAnswer, gatewayTargets, readGatewayAnswer } from './ssdp-answer';
import { SsdpTransport } from './ssdp-transport';
import { UpnpNetworkError, describeError } from './upnp-errors';

export type GatewayEvent =
  | { type: 'appeared'; gateway: DiscoveredGateway }
  | { type: 'alive'; gateway: DiscoveredGateway }
  | { type: 'byebye'; gateway: DiscoveredGateway }
  | { type: 'expired'; gateway: DiscoveredGateway }
  | { type: 'rebooted'; gateway: DiscoveredGateway; previousBootId: number | undefined; bootId: number | undefined };

export interface WatchGatewaysOptions {
  /** Default 'both'. */
  family?: DiscoveryFamily;
  interfaces?: readonly string[];
  /** Periodic M-SEARCH interval; 0 = only the initial search. Default 60000 ms. */
  searchIntervalMs?: number;
  mx?: number;
  descriptionTimeoutMs?: number;
  /** Transports to use instead of the real ones (which listen for NOTIFY on port 1900). */
  transports?: readonly SsdpTransport[];
  interfaceTable?: InterfaceTableSource;
  fetchDescription?: DescriptionFetcher;
  /** Answers heard but not used, and why (diagnostics). */
  onSkip?: (reason: string, remoteAddress: string) => void;
}

interface Entry {
  gateway: DiscoveredGateway;
  bootId: number | undefined;
  expiry: NodeJS.Timeout | undefined;
}

/**
 * Watches gateways; see the module comment. Unsubscribing closes the sockets.
 *
 * @example
 * ```ts
 * watchGateways({ family: 'ipv6', searchIntervalMs: 30000 }).subscribe(console.log);
 * ```
 */
export function watchGateways(options: WatchGatewaysOptions = {}): Observable<GatewayEvent> {
  return new Observable<GatewayEvent>((subscriber) => {
    const family = options.family ?? 'both';
    const tableSource = options.interfaceTable ?? systemInterfaceTable;
    const fetchDescription = options.fetchDescription ?? fetchDeviceDescription;
    const descriptionTimeoutMs = options.descriptionTimeoutMs ?? 2000;
    const mx = options.mx ?? 1;
    const transports = [...(options.transports ?? defaultTransports(family, {
      ...(options.interfaces ? { interfaces: options.interfaces } : {}),
      interfaceTable: tableSource,
      listenForNotify: true,
    }))].filter((t) => family === 'both' || t.family === family);

    const present = new Map<string, Entry>(); // key: family|rootUdn
    const lastBootId = new Map<string, number | undefined>(); // key: family|rootUdn, after byebye/expiry
    const aliases = new Map<string, string>(); // family|any UDN -> family|rootUdn
    const byLocation = new Map<string, string>(); // family|location -> family|rootUdn
    const pending = new Set<string>(); // family|location being fetched
    const fetches = new AbortController();
    const timers = new Set<NodeJS.Timeout>();
    const unsubscribers: Array<() => void> = [];
    let closed = false;

    const emit = (e: GatewayEvent): void => {
      if (!closed) subscriber.next(e);
    };
    const skip = (reason: string, remote: string): void => {
      try {
        options.onSkip?.(reason, remote);
      } catch {
        /* caller's hook */
      }
    };
    const clearExpiry = (entry: Entry): void => {
      if (entry.expiry) {
        clearTimeout(entry.expiry);
        timers.delete(entry.expiry);
        entry.expiry = undefined;
      }
    };
    const armExpiry = (key: string, entry: Entry, maxAgeSeconds: number): void => {
      clearExpiry(entry);
      const t = setTimeout(() => {
        timers.delete(t);
        if (present.get(key) !== entry) return;
        forget(key, entry);
        emit({ type: 'expired', gateway: entry.gateway });
      }, maxAgeSeconds * 1000);
      timers.add(t);
      entry.expiry = t;
    };
    const forget = (key: string, entry: Entry): void => {
      clearExpiry(entry);
      present.delete(key);
      lastBootId.set(key, entry.bootId);
    };
    const remember = (key: string, gw: DiscoveredGateway, answer: GatewayAnswer): Entry => {
      const fam = gw.family;
      for (const u of gw.description.udns) aliases.set(`${fam}|${u}`, key);
      aliases.set(`${fam}|${answer.udn}`, key);
      byLocation.set(`${fam}|${gw.location}`, key);
      const entry: Entry = { gateway: gw, bootId: answer.bootId, expiry: undefined };
      present.set(key, entry);
      armExpiry(key, entry, answer.maxAgeSeconds ?? gw.maxAgeSeconds);
      return entry;
    };

    const learn = (answer: GatewayAnswer, fam: 'ipv4' | 'ipv6', rebootOf?: { key: string; previousBootId: number | undefined }): void => {
      const location = answer.location;
      if (!location) return;
      const locKey = `${fam}|${location.url}`;
      if (pending.has(locKey)) return;
      pending.add(locKey);
      const d = answer.datagram;
      fetchDescription(location, {
        timeoutMs: descriptionTimeoutMs,
        signal: fetches.signal,
        ...(fam === 'ipv4' && d.localAddress ? { localAddress: d.localAddress } : {}),
      }).then((description) => {
        pending.delete(locKey);
        if (closed) return;
        const unusable = gatewayUnusableReason(description, fam);
        if (unusable) {
          if (rebootOf) lastBootId.set(rebootOf.key, rebootOf.previousBootId); // its return will read as a reboot
          skip(`${location.url}: ${unusable}`, d.remoteAddress);
          return;
        }
        const gw = gatewayFromAnswer(answer, description);
        const key = `${fam}|${gw.udn}`;
        const old = present.get(key);
        if (old) forget(key, old);
        remember(key, gw, answer);
        const previous = rebootOf?.key === key ? { had: true, boot: rebootOf.previousBootId } : lastBootId.has(key)
          ? { had: true, boot: lastBootId.get(key) } : { had: false, boot: undefined };
        lastBootId.delete(key);
        if (previous.had && (rebootOf?.key === key || (previous.boot !== undefined && answer.bootId !== undefined && previous.boot !== answer.bootId))) {
          emit({ type: 'rebooted', gateway: gw, previousBootId: previous.boot, bootId: answer.bootId });
        } else {
          emit({ type: 'appeared', gateway: gw });
        }
      }, (e: unknown) => {
        pending.delete(locKey);
        // Keep the old BOOTID so that the next answer is still reported as a reboot.
        if (rebootOf) lastBootId.set(rebootOf.key, rebootOf.previousBootId);
        if (!closed) skip(`${location.url}: description: ${describeError(e)}`, d.remoteAddress);
      });
    };

    const onAnswer = (answer: GatewayAnswer, fam: 'ipv4' | 'ipv6'): void => {
      const key = aliases.get(`${fam}|${answer.udn}`)
        ?? (answer.location ? byLocation.get(`${fam}|${answer.location.url}`) : undefined);
      const entry = key ? present.get(key) : undefined;
      const isIgdTarget = gatewayTargets(fam).includes(answer.target);

      if (answer.nts === 'ssdp:byebye') {
        if (!key || !entry) return;
        // Only the gateway itself may say goodbye for it.
        const from = answer.datagram.remoteAddress;
        if (!sameAddress(from, entry.gateway.remoteAddress) && !sameAddress(from, parseHttpUrl(entry.gateway.location).host)) {
          skip(`byebye for ${answer.usn} from ${from}, not from the gateway`, from);
          return;
        }
        forget(key, entry);
        if (answer.bootId !== undefined) lastBootId.set(key, answer.bootId);
        emit({ type: 'byebye', gateway: entry.gateway });
        return;
      }
      if (key && entry) {
        if (answer.location && byLocation.get(`${fam}|${answer.location.url}`) !== key) {
          skip(`${answer.usn} announced from another location ${answer.location.url}`, answer.datagram.remoteAddress);
          return;
        }
        if (answer.nts === 'ssdp:update') {
          // A planned BOOTID change (e.g. a new interface): not a reboot.
          if (answer.nextBootId !== undefined) entry.bootId = answer.nextBootId;
          return;
        }
        if (answer.bootId !== undefined && entry.bootId !== undefined && answer.bootId !== entry.bootId) {
          const previousBootId = entry.bootId;
          forget(key, entry);
          lastBootId.delete(key);
          learn(answer, fam, { key, previousBootId });
          return;
        }
        if (answer.bootId !== undefined && entry.bootId === undefined) entry.bootId = answer.bootId;
        armExpiry(key, entry, answer.maxAgeSeconds ?? entry.gateway.maxAgeSeconds);
        if (isIgdTarget) {
          const gw: DiscoveredGateway = { ...entry.gateway };
          if (answer.maxAgeSeconds !== undefined) gw.maxAgeSeconds = answer.maxAgeSeconds;
          entry.gateway = gw;
          emit({ type: 'alive', gateway: gw });
        }
        return;
      }
      if (answer.nts === 'ssdp:update' || !isIgdTarget) return;
      learn(answer, fam);
    };

    const start = async (): Promise<void> => {
      const started: SsdpTransport[] = [];
      const failures: string[] = [];
      for (const t of transports) {
        unsubscribers.push(t.onDatagram((d) => {
          if (closed) return;
          const reading = readGatewayAnswer({ ...d, family: t.family }, tableSource());
          if (!reading.ok) {
            skip(reading.reason, d.remoteAddress);
            return;
          }
          onAnswer(reading.answer, t.family);
        }));
        try {
          await t.start();
          started.push(t);
        } catch (e) {
          failures.push(`${t.family}: ${describeError(e)}`);
        }
        if (closed) return;
      }
      if (started.length === 0) {
        subscriber.error(new UpnpNetworkError(`Cannot watch for gateways: ${failures.join('; ') || 'no transport'}`));
        return;
      }
      const searchAll = (): void => {
        for (const t of started) for (const st of gatewayTargets(t.family)) void t.search(st, mx).catch(() => undefined);
      };
      searchAll();
      const again = setTimeout(searchAll, 300);
      timers.add(again);
      const every = options.searchIntervalMs ?? 60000;
      if (every > 0) {
        const iv = setInterval(searchAll, every);
        timers.add(iv);
      }
    };
    start().catch((e: unknown) => subscriber.error(e));

    return () => {
      closed = true;
      fetches.abort();
      for (const t of timers) {
        clearTimeout(t);
        clearInterval(t);
      }
      timers.clear();
      for (const u of unsubscribers) u();
      for (const t of transports) void t.close().catch(() => undefined);
    };
  });
}
