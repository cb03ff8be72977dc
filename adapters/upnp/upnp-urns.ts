/**
 * The UPnP device and service types this adapter knows (IGD:1 and IGD:2).
 *
 * @example
 * ```ts
 * import { SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 } from './upnp-urns';
 * ```
 */
export const DEVICE_IGD_1 = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
export const DEVICE_IGD_2 = 'urn:schemas-upnp-org:device:InternetGatewayDevice:2';
export const DEVICE_WAN_DEVICE_PREFIX = 'urn:schemas-upnp-org:device:WANDevice:';
export const DEVICE_WAN_CONNECTION_DEVICE_PREFIX = 'urn:schemas-upnp-org:device:WANConnectionDevice:';

export const SERVICE_WAN_IP_CONNECTION_1 = 'urn:schemas-upnp-org:service:WANIPConnection:1';
export const SERVICE_WAN_IP_CONNECTION_2 = 'urn:schemas-upnp-org:service:WANIPConnection:2';
export const SERVICE_WAN_PPP_CONNECTION_1 = 'urn:schemas-upnp-org:service:WANPPPConnection:1';
export const SERVICE_WAN_PPP_CONNECTION_2 = 'urn:schemas-upnp-org:service:WANPPPConnection:2';
export const SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';
export const SERVICE_WAN_COMMON_INTERFACE_CONFIG_1 = 'urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1';

/** `urn:...:Name:2` -> `{ name: 'urn:...:Name', version: 2 }`. */
export function splitUrnVersion(urn: string): { name: string; version: number } | undefined {
  const m = /^(.*):(\d{1,4})$/.exec(urn.trim());
  if (!m) return undefined;
  return { name: m[1], version: Number(m[2]) };
}

/** True when `urn` is `family` at any version (`urn:...:WANIPConnection:2` is a `urn:...:WANIPConnection`). */
export function isUrnOf(urn: string, familyWithoutVersion: string): boolean {
  return splitUrnVersion(urn)?.name === familyWithoutVersion;
}

/** Service kinds the adapter talks to. */
export type WanServiceKind = 'wanIpConnection' | 'wanPppConnection' | 'wanIpv6FirewallControl' | 'wanCommonInterfaceConfig';

/** The service kind of a service type, or undefined for services the adapter does not use. */
export function serviceKindOf(serviceType: string): WanServiceKind | undefined {
  const v = splitUrnVersion(serviceType);
  if (!v) return undefined;
  switch (v.name) {
    case 'urn:schemas-upnp-org:service:WANIPConnection': return v.version === 1 || v.version === 2 ? 'wanIpConnection' : undefined;
    case 'urn:schemas-upnp-org:service:WANPPPConnection': return v.version === 1 || v.version === 2 ? 'wanPppConnection' : undefined;
    case 'urn:schemas-upnp-org:service:WANIPv6FirewallControl': return v.version === 1 ? 'wanIpv6FirewallControl' : undefined;
    case 'urn:schemas-upnp-org:service:WANCommonInterfaceConfig': return v.version === 1 ? 'wanCommonInterfaceConfig' : undefined;
    default: return undefined;
  }
}
