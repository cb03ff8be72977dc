/**
 * The agent's public surface (`homenet-controller/agent`): open an inbound
 * port for this host — an IPv6 pinhole and/or an IPv4 port mapping through
 * UPnP IGD or PCP (NAT-PMP for IPv4 when that is all the router speaks) —
 * keep it open, and close it, with a reachability verdict per
 * address family.
 *
 * Everything here is stable API; the modules it re-exports from are not (do
 * not deep-import `homenet-controller/dist/...`: the package's `exports` map
 * does not allow it).
 *
 * @example
 * ```ts
 * import { openPort } from 'homenet-controller/agent';
 *
 * const port = await openPort({ protocol: 'udp', port: 3074, family: 'both', leaseSeconds: 3600 });
 * for (const r of port.reachability) console.log(r.family, r.verdict, r.reason);
 * await port.close();
 * ```
 */
export { openPort } from './open-port';
export type { OpenPortOptions, OpenPortHandle, PortFamily, PortVia, PcpAccess, HostAddressSource } from './open-port';
export type { DefaultRouter } from './default-router';
export { closePort } from './close-port';
export type { ClosePortOptions, ClosedPort } from './close-port';
export { OpenedPortsStore, defaultStateDir } from './opened-ports-store';
export type { OpenedPortRecord } from './opened-ports-store';
export { InternalClientError } from './internal-client';
export type {
  Reachability,
  ReachabilityVerdict,
  OpenReachability,
  NotNeededReachability,
  UnsupportedReachability,
  IneffectiveReachability,
  DeniedReachability,
} from './reachability';
export type { HostAddress } from '../../adapters/observe/host-address';
export { UpnpError } from '../../adapters/upnp/upnp-errors';
export type { HubOption, HubAccess } from './hub-access';
export type { HubView, HubReachability } from './hub-keeper';
export type { HubLocation } from './hub-discovery';
export { discoverHub } from './hub-discovery';
export { HubClient, HubUnavailableError, HubRequestError } from './hub-client';
export type { HubCalls, HubAnswer } from './hub-client';
