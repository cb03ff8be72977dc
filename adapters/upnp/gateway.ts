/**
 * A discovered Internet Gateway Device: where it answered from, its checked description URL,
 * its SSDP facts (BOOTID, CONFIGID, max-age) and its parsed description with the services the
 * adapter uses. Also the default description fetcher (hardened HTTP + strict XML).
 *
 * @example
 * ```ts
 * const gw = await discoverGateway({ family: 'ipv6' });
 * gw.igdVersion;                              // 2
 * gw.services.wanIpv6FirewallControl?.controlUrl;
 * const scpd = await fetchServiceDescription(gw.services.wanIpConnection!, { zone: gw.zone });
 * ```
 */
import { DeviceDescription, GatewayServices, UpnpServiceInfo, parseDeviceDescription } from './device-description';
import { httpFetch } from './http-fetch';
import { CheckedLocation } from './location-check';
import { ServiceDescription, parseServiceDescription } from './service-description';
import { UpnpDescriptionError } from './upnp-errors';

export interface DiscoveredGateway {
  /** Family of the SSDP exchange that found it. */
  family: 'ipv4' | 'ipv6';
  /** Interface the answer arrived on. */
  interfaceName?: string;
  /** Who answered (IPv6 link-local senders carry `%zone`). */
  remoteAddress: string;
  /** Description URL (zone-free), checked against the sender. */
  location: string;
  /** Zone to use when the gateway's host is link-local. */
  zone?: string;
  /** Root device UDN (from the description). */
  udn: string;
  /** The ST/NT and USN of the answer. */
  searchTarget: string;
  usn: string;
  server?: string;
  bootId?: number;
  configId?: number;
  maxAgeSeconds: number;
  igdVersion: 1 | 2;
  description: DeviceDescription;
  services: GatewayServices;
  /** IPv4: our address on the socket the answer came to (a good default for SOAP over IPv4). */
  localAddress?: string;
}

export interface DescriptionFetchOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  localAddress?: string;
}

/** Fetches and parses a description; injectable in discovery and watching. */
export type DescriptionFetcher = (location: CheckedLocation, options: DescriptionFetchOptions) => Promise<DeviceDescription>;

export const MAX_DESCRIPTION_BYTES = 256 * 1024;

/**
 * The default {@link DescriptionFetcher}: hardened GET (no redirects, 256 KiB cap, timeouts),
 * then {@link parseDeviceDescription}.
 */
export const fetchDeviceDescription: DescriptionFetcher = async (location, options) => {
  const res = await httpFetch(location.url, {
    timeoutMs: options.timeoutMs,
    connectTimeoutMs: Math.min(options.timeoutMs, 2000),
    maxBodyBytes: MAX_DESCRIPTION_BYTES,
    ...(location.zone ? { zone: location.zone } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  return parseDeviceDescription(res.body.toString('utf8'), location.url);
};

/**
 * Fetches a service's SCPD, to learn which actions it offers.
 *
 * @example
 * ```ts
 * (await fetchServiceDescription(gw.services.wanIpConnection!)).offers('AddAnyPortMapping');
 * ```
 */
export async function fetchServiceDescription(
  service: UpnpServiceInfo,
  options: { timeoutMs?: number; zone?: string; signal?: AbortSignal; localAddress?: string } = {},
): Promise<ServiceDescription> {
  if (!service.scpdUrl) throw new UpnpDescriptionError(`${service.serviceType} has no SCPDURL`);
  const res = await httpFetch(service.scpdUrl, {
    timeoutMs: options.timeoutMs ?? 3000,
    maxBodyBytes: MAX_DESCRIPTION_BYTES,
    ...(options.zone ? { zone: options.zone } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  return parseServiceDescription(res.body.toString('utf8'));
}
