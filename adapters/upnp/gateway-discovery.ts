/**
 * `discoverGateway`: finds the Internet Gateway Device and resolves with the **first valid
 * one as soon as it answers** — no fixed listening window. It searches IGD:2 and IGD:1 over
 * IPv4 and IGD:2 over IPv6 (on interfaces with a non-ULA global address), re-sends the
 * M-SEARCH a couple of times within the timeout (UDP loss), checks each LOCATION against the
 * sender, fetches and validates the description (an IGD:1 found over IPv6 is skipped), and
 * takes the next answer when one is invalid. It rejects with {@link GatewayNotFoundError}
 * (a {@link UpnpTimeoutError} listing what was heard and skipped) when nothing valid arrives.
 *
 * @example
 * ```ts
 * const gw = await discoverGateway({ family: 'both', timeoutMs: 3000 });
 * console.log(gw.family, gw.location, gw.igdVersion, Object.keys(gw.services));
 * ```
 */
import { DeviceDescription, gatewayUnusableReason } from './device-description';
import { DescriptionFetcher, DiscoveredGateway, fetchDeviceDescription } from './gateway';
import { InterfaceTableSource, systemInterfaceTable } from './network-interfaces';
import { GatewayAnswer, gatewayTargets, readGatewayAnswer } from './ssdp-answer';
import { Ipv4SsdpTransport } from './ssdp-ipv4-transport';
import { Ipv6SsdpTransport } from './ssdp-ipv6-transport';
import { SsdpDatagram, SsdpTransport } from './ssdp-transport';
import { UpnpAbortError, UpnpNetworkError, UpnpTimeoutError, describeError } from './upnp-errors';

export type DiscoveryFamily = 'ipv4' | 'ipv6' | 'both';

export interface DiscoverGatewayOptions {
  /** Default 'both'. */
  family?: DiscoveryFamily;
  /** Interface names to search on; default every non-internal interface with a suitable address. */
  interfaces?: readonly string[];
  /** Whole discovery budget. Default 3000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** MX of the M-SEARCH (seconds a device may wait). Default 1. */
  mx?: number;
  /** When to (re-)send the M-SEARCH, in ms from the start. Default [0, 300, 1000]. */
  searchScheduleMs?: readonly number[];
  /** Budget for one description fetch. Default min(2000, timeoutMs). */
  descriptionTimeoutMs?: number;
  /** Transports to use instead of the real ones (tests). Their family says what they search for. */
  transports?: readonly SsdpTransport[];
  interfaceTable?: InterfaceTableSource;
  fetchDescription?: DescriptionFetcher;
  /** Extra filter: return a reason to skip a gateway, or undefined to accept it. */
  accept?: (gateway: DiscoveredGateway) => string | undefined;
  /** Called for every answer that was heard but not taken. */
  onSkip?: (skip: SkippedAnswer) => void;
}

/** An answer that was heard and not taken, and why. */
export interface SkippedAnswer {
  remoteAddress: string;
  interfaceName?: string;
  location?: string;
  reason: string;
}

/** Nothing valid answered within the budget. */
export class GatewayNotFoundError extends UpnpTimeoutError {
  constructor(timeoutMs: number, readonly skipped: readonly SkippedAnswer[], readonly heard: number) {
    super(`No valid Internet Gateway Device answered within ${timeoutMs} ms${
      heard === 0 ? ' (no SSDP answer at all)' : `; ${skipped.length} answer(s) skipped: ${
        skipped.slice(0, 5).map((s) => `${s.location ?? s.remoteAddress}: ${s.reason}`).join('; ')}`}`, 'discovery', timeoutMs);
  }
}

export const DEFAULT_DISCOVERY_TIMEOUT_MS = 3000;

/** Default transports for a family. */
export function defaultTransports(
  family: DiscoveryFamily,
  options: { interfaces?: readonly string[]; interfaceTable?: InterfaceTableSource; listenForNotify?: boolean } = {},
): SsdpTransport[] {
  const common = {
    ...(options.interfaces ? { interfaces: options.interfaces } : {}),
    ...(options.interfaceTable ? { interfaceTable: options.interfaceTable } : {}),
    ...(options.listenForNotify ? { listenForNotify: true } : {}),
  };
  const out: SsdpTransport[] = [];
  if (family !== 'ipv6') out.push(new Ipv4SsdpTransport(common));
  if (family !== 'ipv4') out.push(new Ipv6SsdpTransport(common));
  return out;
}

/** Builds the gateway record from a checked answer and its description. */
export function gatewayFromAnswer(answer: GatewayAnswer, description: DeviceDescription): DiscoveredGateway {
  const d = answer.datagram;
  const location = answer.location;
  if (!location || !description.igdVersion) throw new Error('gatewayFromAnswer needs a location and an IGD description');
  const gw: DiscoveredGateway = {
    family: d.family,
    remoteAddress: d.remoteAddress,
    location: location.url,
    udn: description.udns[0] ?? answer.udn,
    searchTarget: answer.target,
    usn: answer.usn,
    maxAgeSeconds: answer.maxAgeSeconds ?? 1800,
    igdVersion: description.igdVersion,
    description,
    services: description.services,
  };
  if (d.interfaceName) gw.interfaceName = d.interfaceName;
  if (location.zone) gw.zone = location.zone;
  if (answer.server !== undefined) gw.server = answer.server;
  if (answer.bootId !== undefined) gw.bootId = answer.bootId;
  if (answer.configId !== undefined) gw.configId = answer.configId;
  if (d.family === 'ipv4' && d.localAddress) gw.localAddress = d.localAddress;
  return gw;
}

/**
 * Finds the first valid gateway; see the module comment.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const gw = await discoverGateway({ family: 'ipv6', interfaces: ['eth0'], timeoutMs: 2000, signal: ac.signal });
 * ```
 */
export async function discoverGateway(options: DiscoverGatewayOptions = {}): Promise<DiscoveredGateway> {
  const family = options.family ?? 'both';
  const timeoutMs = options.timeoutMs ?? DEFAULT_DISCOVERY_TIMEOUT_MS;
  const signal = options.signal;
  if (signal?.aborted) throw new UpnpAbortError('Gateway discovery aborted', { cause: signal.reason });
  const tableSource = options.interfaceTable ?? systemInterfaceTable;
  const fetchDescription = options.fetchDescription ?? fetchDeviceDescription;
  const descriptionTimeoutMs = options.descriptionTimeoutMs ?? Math.min(2000, timeoutMs);
  const mx = options.mx ?? 1;
  const transports = [...(options.transports ?? defaultTransports(family, {
    ...(options.interfaces ? { interfaces: options.interfaces } : {}),
    interfaceTable: tableSource,
  }))].filter((t) => family === 'both' || t.family === family);

  const skipped: SkippedAnswer[] = [];
  let heard = 0;
  const seenLocations = new Set<string>();
  const fetches = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  const unsubscribers: Array<() => void> = [];
  let settled = false;

  return new Promise<DiscoveredGateway>((resolve, reject) => {
    const finish = (err: Error | undefined, gw?: DiscoveredGateway): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      for (const u of unsubscribers) u();
      signal?.removeEventListener('abort', onAbort);
      fetches.abort();
      void Promise.allSettled(transports.map((t) => t.close())).then(() => {
        if (err) reject(err);
        else resolve(gw as DiscoveredGateway);
      });
    };
    const onAbort = (): void => finish(new UpnpAbortError('Gateway discovery aborted', { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    const skip = (d: SsdpDatagram, reason: string, location?: string): void => {
      const s: SkippedAnswer = { remoteAddress: d.remoteAddress, reason };
      if (d.interfaceName) s.interfaceName = d.interfaceName;
      if (location) s.location = location;
      skipped.push(s);
      try {
        options.onSkip?.(s);
      } catch {
        /* caller's hook */
      }
    };

    const onDatagram = (transport: SsdpTransport, d: SsdpDatagram): void => {
      if (settled) return;
      heard += 1;
      const reading = readGatewayAnswer({ ...d, family: transport.family }, tableSource());
      if (!reading.ok) {
        skip(d, reading.reason);
        return;
      }
      const a = reading.answer;
      if (a.nts !== 'response') return; // NOTIFY traffic is for watchGateways
      if (!gatewayTargets(transport.family).includes(a.target)) {
        skip(d, `answer for ${a.target}, not an IGD search target for ${transport.family}`, a.location?.url);
        return;
      }
      const location = a.location;
      if (!location) return;
      const key = `${transport.family}|${location.url}|${location.zone ?? ''}`;
      if (seenLocations.has(key)) return;
      seenLocations.add(key);
      const fetchOptions = {
        timeoutMs: descriptionTimeoutMs,
        signal: fetches.signal,
        ...(transport.family === 'ipv4' && d.localAddress ? { localAddress: d.localAddress } : {}),
      };
      fetchDescription(location, fetchOptions).then((description) => {
        if (settled) return;
        const unusable = gatewayUnusableReason(description, transport.family);
        if (unusable) {
          skip(d, unusable, location.url);
          return;
        }
        const gw = gatewayFromAnswer(a, description);
        const refused = options.accept?.(gw);
        if (refused) {
          skip(d, refused, location.url);
          return;
        }
        finish(undefined, gw);
      }, (e: unknown) => {
        if (!settled) skip(d, `description: ${describeError(e)}`, location.url);
      });
    };

    const start = async (): Promise<void> => {
      const failures: string[] = [];
      const started: SsdpTransport[] = [];
      for (const t of transports) {
        unsubscribers.push(t.onDatagram((d) => onDatagram(t, d)));
        try {
          await t.start();
          started.push(t);
        } catch (e) {
          failures.push(`${t.family}: ${describeError(e)}`);
        }
        if (settled) return;
      }
      if (started.length === 0) {
        finish(new UpnpNetworkError(`Cannot search for a gateway: ${failures.join('; ') || 'no transport'}`));
        return;
      }
      const schedule = (options.searchScheduleMs ?? [0, 300, 1000]).filter((ms) => ms < timeoutMs);
      for (const at of schedule) {
        timers.push(setTimeout(() => {
          if (settled) return;
          for (const t of started) {
            for (const st of gatewayTargets(t.family)) void t.search(st, mx).catch(() => undefined);
          }
        }, at));
      }
    };
    timers.push(setTimeout(() => finish(new GatewayNotFoundError(timeoutMs, skipped, heard)), timeoutMs));
    start().catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
  });
}
