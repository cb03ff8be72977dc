/**
 * Where the hub is, per address family: from DNS-SD (`--hub auto`: a one-shot
 * browse for `_homenet._tcp.local` on this host's LAN interfaces) or from a
 * URL the user gave. The agent asks the hub from its own address of a family
 * (the hub takes the TCP source as the requester), so it needs a hub address
 * of that same family: a hub found with only an IPv4 address cannot settle
 * this host's IPv6 pinhole, and that family is decided alone.
 *
 * @example
 * ```ts
 * const hub = await discoverHub({ timeoutMs: 1500 });
 * if (hub) console.log(hub.url, hub.byFamily.ipv4, hub.byFamily.ipv6);
 * const given = hubLocationFromUrl('http://192.168.77.5:5390/homenet/v1');   // byFamily: { ipv4: … }
 * ```
 */
import type { HostAddress } from '../../adapters/observe/host-address';
import { readHostAddresses } from '../../adapters/observe/host-addresses';
import { browseService, BrowsedService } from '../../adapters/dnssd/dnssd-browser';
import type { DnssdInterface } from '../../adapters/dnssd/dnssd-sockets';
import { canonicalAddress, familyOf } from '../../policies/model/address';
import { COORDINATION_PATH, HUB_SERVICE_TYPE } from '../hub/coordination-protocol';
import { parseHubUrl } from './hub-client';

/** A hub's base URLs. */
export interface HubLocation {
  /** The first (preferred) URL, for messages and the JSON output. */
  readonly url: string;
  /** A URL per family the agent can ask from (a host name: both). */
  readonly byFamily: Readonly<Partial<Record<'ipv4' | 'ipv6', string>>>;
  /** The DNS-SD instance, when found by browsing. */
  readonly instance?: string;
}

export interface DiscoverHubOptions {
  /** Interfaces to browse on (default: every non-loopback interface with an address). */
  readonly interfaces?: readonly string[];
  /** Default 500 ms: a hub on the link answers its QU query in tens of ms; a home without one pays this once per start. */
  readonly timeoutMs?: number;
  /** This host's addresses (default: the kernel's). */
  readonly addresses?: () => Promise<readonly HostAddress[]>;
  /** The responders' port (default 5353; tests use another). */
  readonly mdnsPort?: number;
}

function urlOf(address: string, port: number, path: string): string {
  return `http://${familyOf(address) === 'ipv6' ? `[${address}]` : address}:${port}${path}`;
}

/** The TXT `path`, when it is a plain absolute path; else the protocol's. */
function pathOf(txt: Readonly<Record<string, string>>): string {
  const p = txt.path;
  return p !== undefined && /^\/[A-Za-z0-9._~/-]{0,200}$/.test(p) ? p.replace(/\/$/, '') : COORDINATION_PATH;
}

/** A browsed instance as hub URLs (its first address of each family). */
export function hubLocationOf(service: BrowsedService): HubLocation {
  const path = pathOf(service.txt);
  const byFamily: Partial<Record<'ipv4' | 'ipv6', string>> = {};
  for (const a of service.addresses) {
    const f = familyOf(a);
    byFamily[f] ??= urlOf(a, service.port, path);
  }
  return { url: byFamily.ipv6 ?? byFamily.ipv4!, byFamily, instance: service.instance };
}

/** A URL the user gave: an address literal serves its family, a host name both. Throws a RangeError for a bad URL. */
export function hubLocationFromUrl(url: string): HubLocation {
  const parsed = parseHubUrl(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const normal = parsed.href.replace(/\/$/, '');
  if (canonicalAddress(host) === undefined) return { url: normal, byFamily: { ipv4: normal, ipv6: normal } };
  return { url: normal, byFamily: { [familyOf(host)]: normal } };
}

/** The interfaces to browse on: those with a usable address, with their IPv4 address. */
export function browseInterfacesOf(addresses: readonly HostAddress[], only?: readonly string[]): DnssdInterface[] {
  const names = [...new Set(addresses.filter((a) => a.scope !== 'loopback').map((a) => a.interface))].filter((n) => !only || only.includes(n));
  return names.map((name) => {
    const v4 = addresses.find((a) => a.interface === name && a.family === 'ipv4' && !a.tentative);
    const v6 = addresses.some((a) => a.interface === name && a.family === 'ipv6');
    return { name, ...(v4 ? { ipv4: v4.address } : {}), ipv6: v6 };
  });
}

/** Browses DNS-SD once for a hub; `undefined` when none answered in time. */
export async function discoverHub(options: DiscoverHubOptions = {}): Promise<HubLocation | undefined> {
  const addresses = await (options.addresses ?? readHostAddresses)();
  const interfaces = browseInterfacesOf(addresses, options.interfaces);
  if (interfaces.length === 0) return undefined;
  const found = await browseService({
    serviceType: HUB_SERVICE_TYPE,
    interfaces,
    timeoutMs: options.timeoutMs ?? 500,
    ...(options.mdnsPort ? { mdnsPort: options.mdnsPort } : {}),
  });
  return found ? hubLocationOf(found) : undefined;
}
