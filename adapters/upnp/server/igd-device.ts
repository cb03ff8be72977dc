/**
 * The device tree the IGD front serves, from explicit options: InternetGatewayDevice:2 ->
 * WANDevice:2 (WANCommonInterfaceConfig:1) -> WANConnectionDevice:2 (WANIPConnection:2,
 * WANIPv6FirewallControl:1). With `igdVersion: 1` ("force v1", for clients that only know
 * IGD:1) it is InternetGatewayDevice:1 -> WANDevice:1 -> WANConnectionDevice:1 with
 * WANIPConnection:1 and no pinhole service. URLs are paths on the HTTP server (no URLBase),
 * so one description is right for every interface and family the server listens on.
 *
 * @example
 * ```ts
 * const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001', friendlyName: 'homenet gateway' });
 * igd.root.deviceType;                     // 'urn:schemas-upnp-org:device:InternetGatewayDevice:2'
 * igd.services.map((s) => s.controlPath);  // ['/igd/ctl/CommonIfConfig', '/igd/ctl/IPConnection', '/igd/ctl/IPv6Firewall']
 * ```
 */
import { DEVICE_IGD_1, DEVICE_IGD_2, DEVICE_WAN_CONNECTION_DEVICE_PREFIX, DEVICE_WAN_DEVICE_PREFIX } from '../upnp-urns';
import {
  ServedServiceKind, ServiceDefinition, WAN_COMMON_INTERFACE_CONFIG_1, WAN_IPV6_FIREWALL_CONTROL_1, WAN_IP_CONNECTION_1, WAN_IP_CONNECTION_2,
} from './igd-service-definitions';

/** Paths of one service on the HTTP server. */
export interface ServicePaths {
  readonly scpd: string;
  readonly control: string;
}

/** Where things are served; every path starts with `/`. */
export interface IgdPaths {
  readonly description: string;
  readonly services: Readonly<Record<ServedServiceKind, ServicePaths>>;
}

export const DEFAULT_IGD_PATHS: IgdPaths = {
  description: '/igd/desc.xml',
  services: {
    wanCommonInterfaceConfig: { scpd: '/igd/scpd/CommonIfConfig.xml', control: '/igd/ctl/CommonIfConfig' },
    wanIpConnection: { scpd: '/igd/scpd/IPConnection.xml', control: '/igd/ctl/IPConnection' },
    wanIpv6FirewallControl: { scpd: '/igd/scpd/IPv6Firewall.xml', control: '/igd/ctl/IPv6Firewall' },
  },
};

/** Options of {@link defineIgdDevice}. Only `uuid` is required. */
export interface IgdDeviceOptions {
  /** UUID of the root device (`uuid:` prefix optional). Sub-devices get UUIDs derived from it unless given. */
  uuid: string;
  wanDeviceUuid?: string;
  wanConnectionDeviceUuid?: string;
  /** Default 'homenet gateway'. */
  friendlyName?: string;
  manufacturer?: string;
  manufacturerUrl?: string;
  modelName?: string;
  modelNumber?: string;
  modelDescription?: string;
  serialNumber?: string;
  /** 2 (default) or 1 to serve an IGD:1 device only (no WANIPv6FirewallControl). */
  igdVersion?: 1 | 2;
  /** Override any served path. */
  paths?: { description?: string; services?: Partial<Record<ServedServiceKind, Partial<ServicePaths>>> };
}

export interface ServedService {
  readonly definition: ServiceDefinition;
  readonly scpdPath: string;
  readonly controlPath: string;
}

export interface ServedDevice {
  readonly deviceType: string;
  /** `uuid:...`. */
  readonly udn: string;
  readonly friendlyName: string;
  readonly modelDescription: string;
  readonly services: readonly ServedService[];
  readonly devices: readonly ServedDevice[];
}

/** The whole served tree. */
export interface IgdDevice {
  readonly igdVersion: 1 | 2;
  readonly root: ServedDevice;
  readonly descriptionPath: string;
  /** Every service, in document order. */
  readonly services: readonly ServedService[];
  readonly manufacturer: string;
  readonly manufacturerUrl: string;
  readonly modelName: string;
  readonly modelNumber: string;
  readonly serialNumber: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function normaliseUuid(text: string, what: string): string {
  const bare = text.trim().replace(/^uuid:/i, '');
  if (!UUID.test(bare)) throw new RangeError(`${what} must be a UUID like 2f1c9e3a-5b7d-4c1e-9a2b-000000000001, got ${JSON.stringify(text)}`);
  return bare.toLowerCase();
}

/** The root UUID with its last 16 bits plus `n` (mod 2^16): stable, distinct sub-device UUIDs. */
function derivedUuid(root: string, n: number): string {
  const tail = parseInt(root.slice(-4), 16);
  return `${root.slice(0, -4)}${((tail + n) & 0xffff).toString(16).padStart(4, '0')}`;
}

function checkPath(path: string, what: string): string {
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(path) || path.includes('//')) {
    throw new RangeError(`${what} must be an absolute URL path such as /igd/desc.xml, got ${JSON.stringify(path)}`);
  }
  return path;
}

/**
 * Builds the served device tree; throws `RangeError` naming the bad option.
 *
 * @example
 * ```ts
 * defineIgdDevice({ uuid: 'uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000001', igdVersion: 1 }).root.deviceType;
 * // 'urn:schemas-upnp-org:device:InternetGatewayDevice:1'
 * ```
 */
/**
 * The control path of the service of `kind` that `igd` serves; throws when it serves none.
 *
 * @example
 * ```ts
 * controlPathOf(defineIgdDevice({ uuid }), 'wanIpv6FirewallControl'); // '/igd/ctl/IPv6Firewall'
 * ```
 */
export function controlPathOf(igd: IgdDevice, kind: ServedServiceKind): string {
  const service = igd.services.find((s) => s.definition.kind === kind);
  if (!service) throw new Error(`this IGD serves no ${kind} service`);
  return service.controlPath;
}

export function defineIgdDevice(options: IgdDeviceOptions): IgdDevice {
  const version = options.igdVersion ?? 2;
  if (version !== 1 && version !== 2) throw new RangeError(`igdVersion must be 1 or 2, got ${String(version)}`);
  const rootUuid = normaliseUuid(options.uuid, 'uuid');
  const wanUuid = options.wanDeviceUuid !== undefined ? normaliseUuid(options.wanDeviceUuid, 'wanDeviceUuid') : derivedUuid(rootUuid, 1);
  const connUuid = options.wanConnectionDeviceUuid !== undefined
    ? normaliseUuid(options.wanConnectionDeviceUuid, 'wanConnectionDeviceUuid') : derivedUuid(rootUuid, 2);
  if (new Set([rootUuid, wanUuid, connUuid]).size !== 3) throw new RangeError('the three device UUIDs must differ');
  const pathOf = (kind: ServedServiceKind): ServicePaths => {
    const p = { ...DEFAULT_IGD_PATHS.services[kind], ...(options.paths?.services?.[kind] ?? {}) };
    return { scpd: checkPath(p.scpd, `paths.services.${kind}.scpd`), control: checkPath(p.control, `paths.services.${kind}.control`) };
  };
  const descriptionPath = checkPath(options.paths?.description ?? DEFAULT_IGD_PATHS.description, 'paths.description');
  const served = (definition: ServiceDefinition): ServedService => {
    const p = pathOf(definition.kind);
    return { definition, scpdPath: p.scpd, controlPath: p.control };
  };
  const friendlyName = options.friendlyName ?? 'homenet gateway';
  if (friendlyName.length === 0 || friendlyName.length > 64) throw new RangeError('friendlyName must be 1..64 characters');
  const common = served(WAN_COMMON_INTERFACE_CONFIG_1);
  const connectionServices = version === 2 ? [served(WAN_IP_CONNECTION_2), served(WAN_IPV6_FIREWALL_CONTROL_1)] : [served(WAN_IP_CONNECTION_1)];
  const connectionDevice: ServedDevice = {
    deviceType: `${DEVICE_WAN_CONNECTION_DEVICE_PREFIX}${version}`,
    udn: `uuid:${connUuid}`,
    friendlyName: 'WANConnectionDevice',
    modelDescription: 'WAN connection device',
    services: connectionServices,
    devices: [],
  };
  const wanDevice: ServedDevice = {
    deviceType: `${DEVICE_WAN_DEVICE_PREFIX}${version}`,
    udn: `uuid:${wanUuid}`,
    friendlyName: 'WANDevice',
    modelDescription: 'WAN device',
    services: [common],
    devices: [connectionDevice],
  };
  const root: ServedDevice = {
    deviceType: version === 2 ? DEVICE_IGD_2 : DEVICE_IGD_1,
    udn: `uuid:${rootUuid}`,
    friendlyName,
    modelDescription: options.modelDescription ?? 'homenet-controller policy-enforcing Internet Gateway Device',
    services: [],
    devices: [wanDevice],
  };
  const paths = [descriptionPath, ...[common, ...connectionServices].flatMap((s) => [s.scpdPath, s.controlPath])];
  if (new Set(paths).size !== paths.length) throw new RangeError('served paths must all differ');
  return {
    igdVersion: version,
    root,
    descriptionPath,
    services: [common, ...connectionServices],
    manufacturer: options.manufacturer ?? 'homenet-controller',
    manufacturerUrl: options.manufacturerUrl ?? 'https://example.invalid/homenet-controller',
    modelName: options.modelName ?? 'homenet gateway',
    modelNumber: options.modelNumber ?? '1',
    serialNumber: options.serialNumber ?? rootUuid.slice(-12),
  };
}

/** Every device of the tree, root first. */
export function allDevices(igd: IgdDevice): ServedDevice[] {
  const out: ServedDevice[] = [];
  const walk = (d: ServedDevice): void => {
    out.push(d);
    d.devices.forEach(walk);
  };
  walk(igd.root);
  return out;
}
