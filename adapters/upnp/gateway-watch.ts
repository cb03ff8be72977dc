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
 * Bounded against a hostile host on the link: at most {@link MAX_WATCHED_GATEWAYS} gateways,
 * {@link MAX_GATEWAYS_PER_SENDER} from one sender address, {@link MAX_DESCRIPTION_FETCHES}
 * description fetches in flight ({@link MAX_DESCRIPTION_FETCHES_PER_SENDER} per sender), and
 * {@link MAX_REMEMBERED_BOOT_IDS} BOOTIDs of gone gateways (oldest forgotten first). A new
 * gateway past a limit is skipped (`onSkip`), never swapped for one already watched, so a
 * flood cannot push the real router out. The lookup maps (UDN aliases, locations) are pruned
 * when their gateway goes (byebye, expiry, reboot).
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
import { sameAddress, splitZone } from '../../policies/model/address';
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
  /** The sizes of the watcher's maps after each change (diagnostics and tests). */
  onBookkeeping?: (sizes: GatewayWatchBookkeeping) => void;
}

/** How much the watcher holds. */
export interface GatewayWatchBookkeeping {
  gateways: number;
  aliases: number;
  locations: number;
  bootIds: number;
  pendingFetches: number;
}

/** Most gateways watched at once. */
export const MAX_WATCHED_GATEWAYS = 32;
/** Most gateways one sender address may account for. */
export const MAX_GATEWAYS_PER_SENDER = 4;
/** Most description fetches in flight. */
export const MAX_DESCRIPTION_FETCHES = 16;
/** Most description fetches in flight for answers from one sender address. */
export const MAX_DESCRIPTION_FETCHES_PER_SENDER = 2;
/** Most BOOTIDs of gone gateways remembered (to report their return as a reboot). */
export const MAX_REMEMBERED_BOOT_IDS = 64;

interface Entry {
  gateway: DiscoveredGateway;
  bootId: number | undefined;
  expiry: NodeJS.Timeout | undefined;
  /** The address whose answer made it known. */
  sender: string;
  /** Its keys in `aliases` and `byLocation`, removed with it. */
  aliasKeys: string[];
  locationKey: string;
}

/** The sender of an answer, zone-free, for the per-sender limits. */
function senderOf(answer: GatewayAnswer): string {
  return splitZone(answer.datagram.remoteAddress).address.toLowerCase();
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
    const pendingBySender = new Map<string, number>();
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
        bookkeeping();
      }, maxAgeSeconds * 1000);
      timers.add(t);
      entry.expiry = t;
    };
    const bookkeeping = (): void => {
      try {
        options.onBookkeeping?.({ gateways: present.size, aliases: aliases.size, locations: byLocation.size, bootIds: lastBootId.size, pendingFetches: pending.size });
      } catch {
        /* caller's hook */
      }
    };
    /** Remembers a gone gateway's BOOTID; the oldest is forgotten past the cap. */
    const rememberBootId = (key: string, bootId: number | undefined): void => {
      lastBootId.delete(key);
      lastBootId.set(key, bootId);
      while (lastBootId.size > MAX_REMEMBERED_BOOT_IDS) lastBootId.delete(lastBootId.keys().next().value as string);
    };
    const forget = (key: string, entry: Entry): void => {
      clearExpiry(entry);
      present.delete(key);
      for (const a of entry.aliasKeys) if (aliases.get(a) === key) aliases.delete(a);
      if (byLocation.get(entry.locationKey) === key) byLocation.delete(entry.locationKey);
      rememberBootId(key, entry.bootId);
    };
    const remember = (key: string, gw: DiscoveredGateway, answer: GatewayAnswer): Entry => {
      const fam = gw.family;
      const aliasKeys = [...new Set([...gw.description.udns, answer.udn].map((u) => `${fam}|${u}`))];
      for (const a of aliasKeys) aliases.set(a, key);
      const locationKey = `${fam}|${gw.location}`;
      byLocation.set(locationKey, key);
      const entry: Entry = { gateway: gw, bootId: answer.bootId, expiry: undefined, sender: senderOf(answer), aliasKeys, locationKey };
      present.set(key, entry);
      armExpiry(key, entry, answer.maxAgeSeconds ?? gw.maxAgeSeconds);
      return entry;
    };
    /** Why a new gateway from this answer cannot be watched, if it cannot. */
    const overLimit = (sender: string): string | undefined => {
      if (present.size >= MAX_WATCHED_GATEWAYS) return `already watching ${MAX_WATCHED_GATEWAYS} gateways`;
      let fromSender = 0;
      for (const e of present.values()) if (e.sender === sender) fromSender++;
      if (fromSender >= MAX_GATEWAYS_PER_SENDER) return `${sender} already accounts for ${MAX_GATEWAYS_PER_SENDER} gateways`;
      return undefined;
    };

    const learn = (answer: GatewayAnswer, fam: 'ipv4' | 'ipv6', rebootOf?: { key: string; previousBootId: number | undefined }): void => {
      const location = answer.location;
      if (!location) return;
      const locKey = `${fam}|${location.url}`;
      if (pending.has(locKey)) return;
      const d = answer.datagram;
      const sender = senderOf(answer);
      const senderPending = pendingBySender.get(sender) ?? 0;
      if (pending.size >= MAX_DESCRIPTION_FETCHES || senderPending >= MAX_DESCRIPTION_FETCHES_PER_SENDER) {
        if (rebootOf) rememberBootId(rebootOf.key, rebootOf.previousBootId);
        skip(`${location.url}: too many description fetches in flight${senderPending >= MAX_DESCRIPTION_FETCHES_PER_SENDER ? ` from ${sender}` : ''}`, d.remoteAddress);
        return;
      }
      pending.add(locKey);
      pendingBySender.set(sender, senderPending + 1);
      const done = (): void => {
        pending.delete(locKey);
        const left = (pendingBySender.get(sender) ?? 1) - 1;
        if (left > 0) pendingBySender.set(sender, left);
        else pendingBySender.delete(sender);
      };
      fetchDescription(location, {
        timeoutMs: descriptionTimeoutMs,
        signal: fetches.signal,
        ...(fam === 'ipv4' && d.localAddress ? { localAddress: d.localAddress } : {}),
      }).then((description) => {
        done();
        if (closed) return;
        const unusable = gatewayUnusableReason(description, fam);
        if (unusable) {
          if (rebootOf) rememberBootId(rebootOf.key, rebootOf.previousBootId); // its return will read as a reboot
          skip(`${location.url}: ${unusable}`, d.remoteAddress);
          bookkeeping();
          return;
        }
        const gw = gatewayFromAnswer(answer, description);
        const key = `${fam}|${gw.udn}`;
        const old = present.get(key);
        const limit = old || rebootOf?.key === key ? undefined : overLimit(sender);
        if (limit) {
          skip(`${location.url}: ${limit}`, d.remoteAddress);
          bookkeeping();
          return;
        }
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
        bookkeeping();
      }, (e: unknown) => {
        done();
        // Keep the old BOOTID so that the next answer is still reported as a reboot.
        if (rebootOf) rememberBootId(rebootOf.key, rebootOf.previousBootId);
        if (!closed) skip(`${location.url}: description: ${describeError(e)}`, d.remoteAddress);
        bookkeeping();
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
        if (answer.bootId !== undefined) rememberBootId(key, answer.bootId);
        emit({ type: 'byebye', gateway: entry.gateway });
        bookkeeping();
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
