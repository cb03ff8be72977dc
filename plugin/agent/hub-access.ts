/**
 * How `openPort({ hub })` reaches a hub: `'auto'` (browse DNS-SD once), a
 * URL, or a {@link HubAccess} object that may inject the discovery and the
 * client (tests). Resolves to one client per family the hub can be asked
 * over, and a log that says each thing once.
 *
 * @example
 * ```ts
 * const hub = await resolveHub('auto', { hostAddresses: readHostAddresses() });
 * if (!hub) console.log('no hub on this LAN: deciding alone, as always');
 * else console.log(hub.location.url, hub.callsFor('ipv4')?.url);
 * ```
 */
import type { HostAddress } from '../../adapters/observe/host-address';
import { HubCalls, HubClient } from './hub-client';
import { discoverHub, DiscoverHubOptions, hubLocationFromUrl, HubLocation } from './hub-discovery';

export interface HubAccess {
  /** `'auto'` (DNS-SD) or the hub's URL (`http://host:port/homenet/v1`). */
  readonly url: string;
  /** Per request to the hub (default 2000 ms). */
  readonly timeoutMs?: number;
  /** How long `'auto'` browses (default 1500 ms). */
  readonly discoveryTimeoutMs?: number;
  /** Test seam: DNS-SD browsing. */
  readonly discover?: (options: DiscoverHubOptions) => Promise<HubLocation | undefined>;
  /** Test seam: the client for one family's URL. */
  readonly clientFor?: (url: string, family: 'ipv4' | 'ipv6') => HubCalls;
  /** Where the agent says what the hub did (lost, back, not found); each message once. */
  readonly log?: (message: string) => void;
}

/** What `openPort`'s `hub` option accepts: `'auto'`, a URL, or a {@link HubAccess}. */
export type HubOption = string | HubAccess;

export interface ResolvedHub {
  readonly location: HubLocation;
  /** The client to ask over `family` (undefined: the hub has no address of that family). */
  callsFor(family: 'ipv4' | 'ipv6'): HubCalls | undefined;
  /** The hub's host for `family` (to choose the InternalClient on its subnet). */
  hostOf(family: 'ipv4' | 'ipv6'): string | undefined;
  /** Says a message once. */
  readonly log: (message: string) => void;
}

export interface ResolveHubContext {
  readonly hostAddresses: Promise<readonly HostAddress[]>;
  readonly interfaces?: readonly string[];
}

/**
 * Resolves the hub option. `'auto'` with no hub answering → `undefined` (the
 * agent behaves exactly as without a hub). A malformed URL is a RangeError.
 */
export async function resolveHub(option: HubOption, context: ResolveHubContext): Promise<ResolvedHub | undefined> {
  const access: HubAccess = typeof option === 'string' ? { url: option } : option;
  const said = new Set<string>();
  const log = (message: string) => {
    if (said.has(message)) return;
    said.add(message);
    access.log?.(message);
  };
  let location: HubLocation | undefined;
  if (access.url === 'auto') {
    const discover = access.discover ?? discoverHub;
    try {
      location = await discover({
        addresses: () => context.hostAddresses,
        ...(context.interfaces ? { interfaces: context.interfaces } : {}),
        ...(access.discoveryTimeoutMs ? { timeoutMs: access.discoveryTimeoutMs } : {}),
      });
    } catch (error) {
      log(`cannot browse for a hub (${(error as Error).message}); deciding alone`);
      return undefined;
    }
    if (!location) {
      log('no hub answered on this LAN (DNS-SD _homenet._tcp); deciding alone');
      return undefined;
    }
    log(`found the hub ${location.instance ?? ''} at ${location.url}`.replace('  ', ' '));
  } else {
    location = hubLocationFromUrl(access.url);
  }
  const clients = new Map<string, HubCalls>();
  const make = access.clientFor ?? ((url: string) => new HubClient({ url, ...(access.timeoutMs ? { timeoutMs: access.timeoutMs } : {}) }));
  const found = location;
  return {
    location: found,
    callsFor(family) {
      const url = found.byFamily[family];
      if (url === undefined) return undefined;
      let client = clients.get(family);
      if (!client) {
        client = make(url, family);
        clients.set(family, client);
      }
      return client;
    },
    hostOf(family) {
      const url = found.byFamily[family];
      return url === undefined ? undefined : new URL(url).hostname.replace(/^\[|\]$/g, '');
    },
    log,
  };
}
