/**
 * The configuration of `homenet serve --mode gateway`: a JSON file, checked
 * key by key. Every key is optional except the admin token (or token file)
 * when the admin API is on; unknown keys are errors (a typo must not silently
 * fall back to a default). Errors name the key and the value:
 * `config key 'admin.listen': expected "host:port", got "8080"`.
 *
 * Defaults (see {@link DEFAULT_GATEWAY_CONFIG}):
 *
 * | key | default | meaning |
 * | --- | --- | --- |
 * | `lan.interfaces` | `["lan0"]` | LAN interfaces: SSDP/HTTP are served there, neighbours are read there |
 * | `wan.interface` | `"wan0"` | WAN interface: inbound pinholes and mappings apply to packets arriving on it |
 * | `wan.ipv4.source` | `"interface"` | where GetExternalIPAddress comes from: the WAN interface's address, or `"static"` |
 * | `wan.ipv4.address` | — | the external IPv4 address when `source` is `"static"` |
 * | `firewall.table` | `"homenet"` | the nftables table (family `inet`) the daemon owns; nothing else is touched |
 * | `firewall.enabled` | `true` | `false`: decide and journal only (no kernel changes; for development) |
 * | `journal.path` | `"/var/lib/homenet/gateway.db"` | the SQLite journal; `null` keeps it in memory (nothing survives a restart) |
 * | `admin.listen` | `"127.0.0.1:8780"` | admin API address (`host:port`, `[v6]:port`); `null` turns the API off |
 * | `admin.token` / `admin.tokenFile` | — | the bearer token (at least 16 characters), inline or read from a file |
 * | `admin.maxMessageBytes` | `65536` | largest HTTP body / WebSocket message |
 * | `admin.maxConnections` | `32` | open WebSocket + HTTP connections at once |
 * | `admin.messagesPerSecond` / `admin.burst` | `50` / `100` | per-connection (WebSocket) and per-address (HTTP) rate limit |
 * | `admin.decisionsKept` | `1000` | how many recent decisions the API can list |
 * | `upnp.enabled` | `true` | serve the IGD (SSDP + description + SOAP) on the LAN |
 * | `upnp.httpPort` | `5000` | the IGD's HTTP port |
 * | `upnp.class` | `"game-session"` | the class of needs made from UPnP requests |
 * | `upnp.answerAfter` | `"firewall"` | answer a granted request once the kernel holds the entry (`"firewall"`), or once the need is journaled and granted (`"journal"`: faster; the kernel follows within milliseconds and a failure shows as a decision) |
 * | `leases.capSeconds` | engine defaults | lease cap per class (`game-session`, `voice`, `service`, `admin`), 2..86400 |
 * | `leases.maxPinholes` / `leases.maxPortMappings` | `1024` / `1024` | table sizes (UPnP 728 / capacity rule beyond) |
 * | `leases.maxPerClient` | `64` | needs one LAN address may hold at once |
 * | `devices.known` | `[]` | devices the daemon knows up front: `{id, kind?, mac?, addresses?}`; `kind` `matter` / `thread-border-router` / `iot` are isolated |
 * | `devices.allow` | `[]` | ids of isolated devices the owner allows inbound reachability to |
 * | `devices.watchNeighbours` | `true` | learn LAN hosts (MAC and every address) from the kernel's neighbour table |
 * | `devices.observe.matter` | `false` | passive Matter mDNS watcher on the LAN interfaces: Matter devices are learned and isolated without being configured (see `lan-observation.ts`) |
 * | `devices.observe.ipv6Mostly` | `false` | IPv6-mostly detector on the first LAN interface: PREF64 / DNS64 facts, and hosts that accept DHCPv4 option 108 are IPv6-only |
 * | `log.level` | `"info"` | `debug`, `info`, `warn` or `error` |
 *
 * @example
 * ```ts
 * import { parseGatewayConfig } from './gateway-config';
 * const config = parseGatewayConfig({ admin: { token: 'a-long-enough-secret' }, journal: { path: null } });
 * config.firewall.table; // 'homenet'
 * ```
 */
import { readFileSync } from 'node:fs';
import { canonicalAddress, familyOf } from '../../policies/model/address';
import { DeviceKind } from '../../policies/model/device';
import { NEED_CLASSES, NeedClass } from '../../policies/model/need';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A device the configuration names (e.g. a Matter plug by its MAC). */
export interface ConfiguredDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly mac?: string;
  readonly addresses: readonly string[];
}

/** A listen address, parsed. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface GatewayConfig {
  readonly lan: { readonly interfaces: readonly string[] };
  readonly wan: {
    readonly interface: string;
    readonly ipv4: { readonly source: 'interface' } | { readonly source: 'static'; readonly address: string };
  };
  readonly firewall: { readonly table: string; readonly enabled: boolean };
  readonly journal: { readonly path: string | null };
  readonly admin: {
    readonly listen: ListenAddress | null;
    /** The token itself (read from `tokenFile` when that was given). */
    readonly token?: string;
    readonly maxMessageBytes: number;
    readonly maxConnections: number;
    readonly messagesPerSecond: number;
    readonly burst: number;
    readonly decisionsKept: number;
  };
  readonly upnp: { readonly enabled: boolean; readonly httpPort: number; readonly class: NeedClass; readonly answerAfter: 'firewall' | 'journal' };
  readonly leases: {
    readonly capSeconds: Partial<Record<NeedClass, number>>;
    readonly maxPinholes: number;
    readonly maxPortMappings: number;
    readonly maxPerClient: number;
  };
  readonly devices: {
    readonly known: readonly ConfiguredDevice[];
    readonly allow: readonly string[];
    readonly watchNeighbours: boolean;
    // LAN observation (Matter mDNS watcher, IPv6-mostly detector): see lan-observation.ts.
    readonly observe: { readonly matter: boolean; readonly ipv6Mostly: boolean };
  };
  readonly log: { readonly level: LogLevel };
}

export const DEFAULT_GATEWAY_CONFIG: GatewayConfig = {
  lan: { interfaces: ['lan0'] },
  wan: { interface: 'wan0', ipv4: { source: 'interface' } },
  firewall: { table: 'homenet', enabled: true },
  journal: { path: '/var/lib/homenet/gateway.db' },
  admin: {
    listen: { host: '127.0.0.1', port: 8780 },
    maxMessageBytes: 65536,
    maxConnections: 32,
    messagesPerSecond: 50,
    burst: 100,
    decisionsKept: 1000,
  },
  upnp: { enabled: true, httpPort: 5000, class: 'game-session', answerAfter: 'firewall' },
  leases: { capSeconds: {}, maxPinholes: 1024, maxPortMappings: 1024, maxPerClient: 64 },
  devices: { known: [], allow: [], watchNeighbours: true, observe: { matter: false, ipv6Mostly: false } },
  log: { level: 'info' },
};

/** A configuration error: names the key (dotted path) and the value found. */
export class GatewayConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`config key '${key}': expected ${expected}, got ${show(value)}`);
    this.name = 'GatewayConfigError';
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

type Json = Record<string, unknown>;

const DEVICE_KINDS: readonly DeviceKind[] = ['matter', 'thread-border-router', 'iot', 'game-console', 'hub', 'router', 'computer', 'phone', 'unknown'];
const INTERFACE_NAME = /^[A-Za-z0-9_.@:-]{1,15}$/;
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;

/** Reads a section (an object) and checks it has no unknown keys. */
function section(parent: Json, key: string, path: string, known: readonly string[]): Json {
  const value = parent[key];
  if (value === undefined) return {};
  const here = path ? `${path}.${key}` : key;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new GatewayConfigError(here, value, 'an object');
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) throw new GatewayConfigError(`${here}.${k}`, (value as Json)[k], `one of the known keys of '${here}' (${known.join(', ')})`);
  }
  return value as Json;
}

function integer(obj: Json, key: string, path: string, fallback: number, min: number, max: number): number {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new GatewayConfigError(`${path}.${key}`, value, `an integer in ${min}..${max}`);
  }
  return value;
}

function bool(obj: Json, key: string, path: string, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new GatewayConfigError(`${path}.${key}`, value, 'true or false');
  return value;
}

function oneOf<T extends string>(obj: Json, key: string, path: string, fallback: T, allowed: readonly T[]): T {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new GatewayConfigError(`${path}.${key}`, value, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  }
  return value as T;
}

function interfaceName(value: unknown, key: string): string {
  if (typeof value !== 'string' || !INTERFACE_NAME.test(value)) throw new GatewayConfigError(key, value, 'an interface name (1-15 characters)');
  return value;
}

function address(value: unknown, key: string, family?: 'ipv4' | 'ipv6'): string {
  const canonical = typeof value === 'string' ? canonicalAddress(value) : undefined;
  if (canonical === undefined || (family !== undefined && familyOf(canonical) !== family)) {
    throw new GatewayConfigError(key, value, family ? `an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address` : 'an IP address');
  }
  return canonical;
}

/** Parses `host:port` or `[v6]:port`. */
export function parseListenAddress(value: unknown, key: string): ListenAddress {
  const expected = '"host:port" (or "[v6]:port") with a port in 0..65535';
  if (typeof value !== 'string') throw new GatewayConfigError(key, value, expected);
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:[\]]+):(\d{1,5})$/.exec(value);
  if (!match) throw new GatewayConfigError(key, value, expected);
  const port = Number(match[2]);
  if (port > 65535) throw new GatewayConfigError(key, value, expected);
  const host = match[1] === 'localhost' ? '127.0.0.1' : canonicalAddress(match[1]);
  if (host === undefined) throw new GatewayConfigError(key, value, `${expected}; the host must be an IP address`);
  return { host, port };
}

function stringList(value: unknown, key: string, each: (v: unknown, key: string) => string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new GatewayConfigError(key, value, 'a list');
  return value.map((v, i) => each(v, `${key}[${i}]`));
}

function device(value: unknown, key: string): ConfiguredDevice {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new GatewayConfigError(key, value, 'an object {id, kind?, mac?, addresses?}');
  const known = ['id', 'kind', 'mac', 'addresses'];
  for (const k of Object.keys(value)) if (!known.includes(k)) throw new GatewayConfigError(`${key}.${k}`, (value as Json)[k], `one of ${known.join(', ')}`);
  const obj = value as Json;
  if (typeof obj.id !== 'string' || !DEVICE_ID.test(obj.id)) throw new GatewayConfigError(`${key}.id`, obj.id, 'a device id (letters, digits, _.:@-, up to 64)');
  const kind = oneOf(obj, 'kind', key, 'matter', DEVICE_KINDS);
  let mac: string | undefined;
  if (obj.mac !== undefined) {
    if (typeof obj.mac !== 'string' || !MAC.test(obj.mac)) throw new GatewayConfigError(`${key}.mac`, obj.mac, 'a MAC address like "02:00:00:00:00:01"');
    mac = obj.mac.toLowerCase();
  }
  const addresses = stringList(obj.addresses, `${key}.addresses`, (v, k) => address(v, k));
  if (mac === undefined && addresses.length === 0) throw new GatewayConfigError(key, value, 'a device with a "mac" or at least one address');
  return { id: obj.id, kind, ...(mac ? { mac } : {}), addresses };
}

/**
 * Checks a parsed JSON configuration and fills in the defaults. `readFile`
 * reads `admin.tokenFile` (injected for tests).
 *
 * @throws GatewayConfigError naming the first bad key and its value.
 */
export function parseGatewayConfig(input: unknown, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): GatewayConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new GatewayConfigError('(top level)', input, 'a JSON object');
  const root = input as Json;
  const topKeys = ['lan', 'wan', 'firewall', 'journal', 'admin', 'upnp', 'leases', 'devices', 'log'];
  for (const k of Object.keys(root)) if (!topKeys.includes(k)) throw new GatewayConfigError(k, root[k], `one of the known top-level keys (${topKeys.join(', ')})`);
  const d = DEFAULT_GATEWAY_CONFIG;

  const lanIn = section(root, 'lan', '', ['interfaces']);
  let lanInterfaces = d.lan.interfaces;
  if (lanIn.interfaces !== undefined) {
    lanInterfaces = stringList(lanIn.interfaces, 'lan.interfaces', interfaceName);
    if (lanInterfaces.length === 0) throw new GatewayConfigError('lan.interfaces', lanIn.interfaces, 'at least one interface');
  }

  const wanIn = section(root, 'wan', '', ['interface', 'ipv4']);
  const wanInterface = wanIn.interface === undefined ? d.wan.interface : interfaceName(wanIn.interface, 'wan.interface');
  if (lanInterfaces.includes(wanInterface)) throw new GatewayConfigError('wan.interface', wanInterface, 'an interface that is not also in lan.interfaces');
  const ipv4In = section(wanIn, 'ipv4', 'wan', ['source', 'address']);
  const source = oneOf(ipv4In, 'source', 'wan.ipv4', 'interface', ['interface', 'static'] as const);
  let ipv4: GatewayConfig['wan']['ipv4'] = { source: 'interface' };
  if (source === 'static') ipv4 = { source: 'static', address: address(ipv4In.address, 'wan.ipv4.address', 'ipv4') };
  else if (ipv4In.address !== undefined) throw new GatewayConfigError('wan.ipv4.address', ipv4In.address, 'no address unless wan.ipv4.source is "static"');

  const fwIn = section(root, 'firewall', '', ['table', 'enabled']);
  const table = fwIn.table === undefined ? d.firewall.table : String(fwIn.table);
  if (typeof fwIn.table !== 'undefined' && (typeof fwIn.table !== 'string' || !TABLE_NAME.test(fwIn.table) || fwIn.table === 'filter' || fwIn.table === 'nat')) {
    throw new GatewayConfigError('firewall.table', fwIn.table, 'a table name of our own (letters, digits, _; not "filter" or "nat")');
  }

  const journalIn = section(root, 'journal', '', ['path']);
  let journalPath: string | null = d.journal.path;
  if (journalIn.path !== undefined) {
    if (journalIn.path !== null && (typeof journalIn.path !== 'string' || journalIn.path.trim() === '')) {
      throw new GatewayConfigError('journal.path', journalIn.path, 'a file path, or null for an in-memory journal');
    }
    journalPath = journalIn.path as string | null;
  }

  const adminIn = section(root, 'admin', '', ['listen', 'token', 'tokenFile', 'maxMessageBytes', 'maxConnections', 'messagesPerSecond', 'burst', 'decisionsKept']);
  const listen = adminIn.listen === null ? null : adminIn.listen === undefined ? d.admin.listen : parseListenAddress(adminIn.listen, 'admin.listen');
  let token: string | undefined;
  if (adminIn.token !== undefined && adminIn.tokenFile !== undefined) throw new GatewayConfigError('admin.tokenFile', adminIn.tokenFile, 'either admin.token or admin.tokenFile, not both');
  if (adminIn.token !== undefined) {
    if (typeof adminIn.token !== 'string' || adminIn.token.length < 16 || /\s/.test(adminIn.token)) {
      throw new GatewayConfigError('admin.token', adminIn.token === undefined ? undefined : '(hidden)', 'a token of at least 16 characters without spaces');
    }
    token = adminIn.token;
  } else if (adminIn.tokenFile !== undefined) {
    if (typeof adminIn.tokenFile !== 'string') throw new GatewayConfigError('admin.tokenFile', adminIn.tokenFile, 'a file path');
    let text: string;
    try {
      text = readFile(adminIn.tokenFile).trim();
    } catch (error) {
      throw new GatewayConfigError('admin.tokenFile', adminIn.tokenFile, `a readable file (${(error as Error).message})`);
    }
    if (text.length < 16 || /\s/.test(text)) throw new GatewayConfigError('admin.tokenFile', adminIn.tokenFile, 'a file holding a token of at least 16 characters without spaces');
    token = text;
  }
  if (listen !== null && token === undefined) throw new GatewayConfigError('admin.token', undefined, 'a token (or admin.tokenFile) while admin.listen is set; set admin.listen to null to run without the admin API');

  const upnpIn = section(root, 'upnp', '', ['enabled', 'httpPort', 'class', 'answerAfter']);
  const leasesIn = section(root, 'leases', '', ['capSeconds', 'maxPinholes', 'maxPortMappings', 'maxPerClient']);
  const capsIn = section(leasesIn, 'capSeconds', 'leases', NEED_CLASSES);
  const capSeconds: Partial<Record<NeedClass, number>> = {};
  for (const cls of NEED_CLASSES) if (capsIn[cls] !== undefined) capSeconds[cls] = integer(capsIn, cls, 'leases.capSeconds', 0, 2, 86400);

  const devicesIn = section(root, 'devices', '', ['known', 'allow', 'watchNeighbours', 'observe']);
  // LAN observation switches (lan-observation.ts).
  const observeIn = section(devicesIn, 'observe', 'devices', ['matter', 'ipv6Mostly']);
  const known = devicesIn.known === undefined ? [] : Array.isArray(devicesIn.known) ? devicesIn.known.map((v, i) => device(v, `devices.known[${i}]`)) : (() => {
    throw new GatewayConfigError('devices.known', devicesIn.known, 'a list of devices');
  })();
  const ids = new Set<string>();
  known.forEach((dev, i) => {
    if (ids.has(dev.id)) throw new GatewayConfigError(`devices.known[${i}].id`, dev.id, 'an id not used by another device');
    ids.add(dev.id);
  });
  const allow = stringList(devicesIn.allow, 'devices.allow', (v, k) => {
    if (typeof v !== 'string' || !ids.has(v)) throw new GatewayConfigError(k, v, `the id of a device in devices.known (${[...ids].join(', ') || 'none'})`);
    return v;
  });

  const logIn = section(root, 'log', '', ['level']);
  return {
    lan: { interfaces: lanInterfaces },
    wan: { interface: wanInterface, ipv4 },
    firewall: { table, enabled: bool(fwIn, 'enabled', 'firewall', d.firewall.enabled) },
    journal: { path: journalPath },
    admin: {
      listen,
      ...(token !== undefined ? { token } : {}),
      maxMessageBytes: integer(adminIn, 'maxMessageBytes', 'admin', d.admin.maxMessageBytes, 256, 16 * 1024 * 1024),
      maxConnections: integer(adminIn, 'maxConnections', 'admin', d.admin.maxConnections, 1, 10_000),
      messagesPerSecond: integer(adminIn, 'messagesPerSecond', 'admin', d.admin.messagesPerSecond, 1, 100_000),
      burst: integer(adminIn, 'burst', 'admin', d.admin.burst, 1, 100_000),
      decisionsKept: integer(adminIn, 'decisionsKept', 'admin', d.admin.decisionsKept, 1, 1_000_000),
    },
    upnp: {
      enabled: bool(upnpIn, 'enabled', 'upnp', d.upnp.enabled),
      httpPort: integer(upnpIn, 'httpPort', 'upnp', d.upnp.httpPort, 1, 65535),
      class: oneOf(upnpIn, 'class', 'upnp', d.upnp.class, NEED_CLASSES.filter((c) => c !== 'admin')),
      answerAfter: oneOf(upnpIn, 'answerAfter', 'upnp', d.upnp.answerAfter, ['firewall', 'journal'] as const),
    },
    leases: {
      capSeconds,
      maxPinholes: integer(leasesIn, 'maxPinholes', 'leases', d.leases.maxPinholes, 1, 1_000_000),
      maxPortMappings: integer(leasesIn, 'maxPortMappings', 'leases', d.leases.maxPortMappings, 1, 1_000_000),
      maxPerClient: integer(leasesIn, 'maxPerClient', 'leases', d.leases.maxPerClient, 1, 1_000_000),
    },
    devices: {
      known,
      allow,
      watchNeighbours: bool(devicesIn, 'watchNeighbours', 'devices', d.devices.watchNeighbours),
      observe: { matter: bool(observeIn, 'matter', 'devices.observe', d.devices.observe.matter), ipv6Mostly: bool(observeIn, 'ipv6Mostly', 'devices.observe', d.devices.observe.ipv6Mostly) },
    },
    log: { level: oneOf(logIn, 'level', 'log', d.log.level, LOG_LEVELS) },
  };
}

/**
 * Reads and checks a configuration file. A missing file, a file that is not
 * JSON, and a bad key are errors whose message says which.
 *
 * @example
 * ```ts
 * const config = loadGatewayConfig('/etc/homenet/gateway.json');
 * ```
 */
export function loadGatewayConfig(path: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): GatewayConfig {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new Error(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return parseGatewayConfig(json, readFile);
  } catch (error) {
    if (error instanceof GatewayConfigError) error.message = `${path}: ${error.message}`;
    throw error;
  }
}
