/**
 * The device description (rootDesc.xml) of an Internet Gateway Device: walks root
 * InternetGatewayDevice:1|2 -> WANDevice -> WANConnectionDevice -> services, and resolves
 * every controlURL / SCPDURL against URLBase (when present) or the description URL, in all
 * forms (absolute, `/`-rooted, relative) and with bracketed IPv6 hosts. A URL that points
 * at another host than the description's is dropped (a description must not send our SOAP
 * calls elsewhere) and reported in `warnings`.
 *
 * @example
 * ```ts
 * const d = parseDeviceDescription(xml, 'http://[2001:db8:77::1]:5000/rootDesc.xml');
 * d.igdVersion;                             // 2
 * d.services.wanIpv6FirewallControl?.controlUrl; // 'http://[2001:db8:77::1]:5000/ctl/IP6FCtl'
 * ```
 */
import { parseHttpUrl, resolveUpnpUrl } from './http-url';
import { childText, children, child, parseXmlDocument, XmlNode } from './safe-xml';
import { UpnpDescriptionError, UpnpProtocolError } from './upnp-errors';
import {
  DEVICE_IGD_1, DEVICE_IGD_2, DEVICE_WAN_CONNECTION_DEVICE_PREFIX, DEVICE_WAN_DEVICE_PREFIX, WanServiceKind, serviceKindOf,
} from './upnp-urns';

/** One service of the description, URLs resolved. */
export interface UpnpServiceInfo {
  serviceType: string;
  serviceId: string;
  controlUrl: string;
  scpdUrl?: string;
  eventSubUrl?: string;
  /** deviceType of the device holding the service. */
  deviceType: string;
  /** deviceType chain from the root to the holding device. */
  devicePath: string[];
}

/** One device of the tree. */
export interface UpnpDeviceInfo {
  deviceType: string;
  friendlyName?: string;
  manufacturer?: string;
  modelName?: string;
  modelNumber?: string;
  udn?: string;
  services: UpnpServiceInfo[];
  devices: UpnpDeviceInfo[];
}

/** The services the adapter uses, picked from the proper place of the IGD tree. */
export type GatewayServices = Partial<Record<WanServiceKind, UpnpServiceInfo>>;

export interface DeviceDescription {
  descriptionUrl: string;
  /** URLBase when present, else the description URL: what relative URLs were resolved against. */
  baseUrl: string;
  root: UpnpDeviceInfo;
  /** 1 or 2 for an InternetGatewayDevice root, undefined otherwise. */
  igdVersion?: 1 | 2;
  /** Every UDN in the tree (root first): byebye messages name any of them. */
  udns: string[];
  services: GatewayServices;
  /** Every service of the tree, in document order. */
  allServices: UpnpServiceInfo[];
  /** Things dropped while walking (foreign hosts, missing controlURL...). */
  warnings: string[];
}

const MAX_DEVICES = 64;

/** Parses and resolves a device description; throws {@link UpnpProtocolError} for bad XML. */
export function parseDeviceDescription(xml: string, descriptionUrl: string): DeviceDescription {
  const doc = parseXmlDocument(xml, 'device description');
  const root = child(doc, 'root');
  if (!root) throw new UpnpProtocolError('device description: no <root> element');
  const rootDevice = child(root, 'device');
  if (!rootDevice) throw new UpnpProtocolError('device description: no root <device>');
  const descUrl = parseHttpUrl(descriptionUrl);
  const warnings: string[] = [];
  let baseUrl = descUrl.href;
  const urlBase = childText(root, 'URLBase');
  if (urlBase) {
    try {
      const b = parseHttpUrl(urlBase);
      if (b.host !== descUrl.host) warnings.push(`URLBase ${urlBase} names another host; ignored`);
      else baseUrl = b.href;
    } catch {
      warnings.push(`URLBase ${JSON.stringify(urlBase)} is not an http URL; ignored`);
    }
  }
  let count = 0;
  const walk = (node: XmlNode, path: string[]): UpnpDeviceInfo => {
    count += 1;
    if (count > MAX_DEVICES) throw new UpnpProtocolError(`device description: more than ${MAX_DEVICES} devices`);
    const deviceType = childText(node, 'deviceType') ?? '';
    const here = [...path, deviceType];
    const info: UpnpDeviceInfo = { deviceType, services: [], devices: [] };
    const opt = (k: 'friendlyName' | 'manufacturer' | 'modelName' | 'modelNumber', tag: string): void => {
      const v = childText(node, tag);
      if (v !== undefined && v !== '') info[k] = v;
    };
    opt('friendlyName', 'friendlyName');
    opt('manufacturer', 'manufacturer');
    opt('modelName', 'modelName');
    opt('modelNumber', 'modelNumber');
    const udn = childText(node, 'UDN');
    if (udn) info.udn = udn;
    for (const s of children(child(node, 'serviceList'), 'service')) {
      const svc = readService(s, here, deviceType, baseUrl, descUrl.host, warnings);
      if (svc) info.services.push(svc);
    }
    for (const d of children(child(node, 'deviceList'), 'device')) info.devices.push(walk(d, here));
    return info;
  };
  const tree = walk(rootDevice, []);
  const allServices: UpnpServiceInfo[] = [];
  const udns: string[] = [];
  const collect = (d: UpnpDeviceInfo): void => {
    if (d.udn) udns.push(d.udn);
    allServices.push(...d.services);
    d.devices.forEach(collect);
  };
  collect(tree);
  const description: DeviceDescription = {
    descriptionUrl: descUrl.href, baseUrl, root: tree, udns, allServices, warnings,
    services: pickServices(allServices),
  };
  if (tree.deviceType === DEVICE_IGD_1) description.igdVersion = 1;
  else if (tree.deviceType === DEVICE_IGD_2) description.igdVersion = 2;
  return description;
}

function readService(
  s: XmlNode, devicePath: string[], deviceType: string, baseUrl: string, host: string, warnings: string[],
): UpnpServiceInfo | undefined {
  const serviceType = childText(s, 'serviceType') ?? '';
  const control = childText(s, 'controlURL');
  if (!serviceType || !control) {
    warnings.push(`service ${serviceType || '(no serviceType)'} has no controlURL; ignored`);
    return undefined;
  }
  const resolve = (ref: string | undefined): string | undefined => {
    if (ref === undefined || ref === '') return undefined;
    const url = resolveUpnpUrl(ref, baseUrl);
    if (parseHttpUrl(url).host !== host) throw new UpnpDescriptionError(`${ref} points at another host than the description`);
    return url;
  };
  try {
    const info: UpnpServiceInfo = {
      serviceType,
      serviceId: childText(s, 'serviceId') ?? '',
      controlUrl: resolve(control) as string,
      deviceType,
      devicePath,
    };
    const scpd = resolve(childText(s, 'SCPDURL'));
    if (scpd) info.scpdUrl = scpd;
    const evt = resolve(childText(s, 'eventSubURL'));
    if (evt) info.eventSubUrl = evt;
    return info;
  } catch (e) {
    warnings.push(`service ${serviceType}: ${(e as Error).message}; ignored`);
    return undefined;
  }
}

const isWanDevice = (t: string | undefined): boolean => !!t && t.startsWith(DEVICE_WAN_DEVICE_PREFIX);
const isWanConnDevice = (t: string | undefined): boolean => !!t && t.startsWith(DEVICE_WAN_CONNECTION_DEVICE_PREFIX);

/**
 * Picks one service per kind: the first one at its specified place (connection services and
 * 6FC in a WANConnectionDevice under a WANDevice under the root; WANCommonInterfaceConfig in a
 * WANDevice), else the first one anywhere. For the connection services (WANIPConnection and
 * WANPPPConnection, versions 1 and 2 as IGD:1/IGD:2 define them) version 2 is preferred over 1.
 */
function pickServices(all: UpnpServiceInfo[]): GatewayServices {
  const out: GatewayServices = {};
  const proper = (s: UpnpServiceInfo, kind: WanServiceKind): boolean => {
    const p = s.devicePath;
    if (kind === 'wanCommonInterfaceConfig') return p.length === 2 && isWanDevice(p[1]);
    return p.length === 3 && isWanDevice(p[1]) && isWanConnDevice(p[2]);
  };
  for (const pass of [true, false]) {
    for (const s of all) {
      const kind = serviceKindOf(s.serviceType);
      if (!kind || (pass && !proper(s, kind))) continue;
      const have = out[kind];
      if (!have) out[kind] = s;
      else if (
        (kind === 'wanIpConnection' || kind === 'wanPppConnection')
        && have.serviceType.endsWith(':1') && s.serviceType.endsWith(':2') && proper(s, kind) === proper(have, kind)
      ) {
        out[kind] = s;
      }
    }
  }
  return out;
}

/**
 * Checks that a description is a usable gateway for `family`; returns the reason it is not, or
 * undefined when it is. A gateway is never called usable for a family it cannot serve:
 * - `ipv4` needs an IPv4 connection service (WANIPConnection:1/2 or WANPPPConnection:1/2);
 * - `ipv6` needs IGD:2 (an IGD:1 found over IPv6 has no pinhole service, and its
 *   WANIPConnection is IPv4-only) and a WANIPv6FirewallControl service.
 *
 * @example
 * ```ts
 * gatewayUnusableReason(parseDeviceDescription(xml, url), 'ipv4'); // undefined, or why not
 * ```
 */
export function gatewayUnusableReason(d: DeviceDescription, family: 'ipv4' | 'ipv6'): string | undefined {
  if (!d.igdVersion) return `root device is ${d.root.deviceType || '(none)'}, not an InternetGatewayDevice`;
  const s = d.services;
  if (family === 'ipv4') {
    if (!s.wanIpConnection && !s.wanPppConnection) {
      return 'no WANIPConnection or WANPPPConnection (IPv4 connection) service with a control URL';
    }
    return undefined;
  }
  if (d.igdVersion !== 2) return 'an IGD:1 found over IPv6 is ignored (no pinhole service)';
  if (!s.wanIpv6FirewallControl) return 'no WANIPv6FirewallControl (IPv6 pinhole) service with a control URL';
  return undefined;
}
