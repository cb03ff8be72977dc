/**
 * The configuration of `homenet serve --mode gateway`: an optional JSON file
 * (`--config FILE`). Every key is optional; unknown keys are errors (a typo
 * must not silently fall back to a default). The file's shape is a valibot
 * schema (`gateway-config-schema.ts`), checked once at start-up; the checks
 * that relate keys are in {@link parseGatewayConfig}. Errors name the key path
 * and the value: `config key 'upnp.httpPort': expected an integer in
 * 1..65535, got "abc"`; `homenet serve` exits 2 on them.
 *
 * **First start without a file.** `homenet serve --mode gateway` on a router
 * needs nothing written by hand (`effective-gateway-config.ts`):
 * - the WAN is the interface of the default route (IPv4, else IPv6; lowest
 *   metric); the LAN is every interface that is up, not the WAN, not a bridge
 *   port, with a global/ULA IPv6 or private IPv4 address — only the bridges
 *   among them when there are bridges (`adapters/system/route-interfaces.ts`).
 *   The choice and the reason are logged (`interfaces chosen`); when it cannot
 *   decide (no default route, two equal ones, no LAN candidate) it exits 2
 *   naming the candidates and the key to set;
 * - the admin token is read from `<stateDir>/admin-token`, created on the first
 *   start (32 random bytes, mode 0600, the directory 0700) and its path logged
 *   (`admin token created`); a token file group or others can read is refused;
 * - the journal is `<stateDir>/gateway.db`.
 *
 * `--check` prints the effective configuration — every default filled in, the
 * token itself redacted — as `{"ok":true,"config":{...},"chosen":{...}}`
 * (`chosen`: the interfaces and why, where the token comes from) and exits 0,
 * creating nothing.
 *
 * Defaults (see {@link DEFAULT_GATEWAY_CONFIG}):
 *
 * | key | default | meaning |
 * | --- | --- | --- |
 * | `stateDir` | `"/var/lib/homenet"` | where the journal and the admin token file live by default (`--state-dir` overrides it; absolute) |
 * | `lan.interfaces` | found (see above) | LAN interfaces: SSDP/HTTP are served there, neighbours are read there |
 * | `wan.interface` | found (see above) | WAN interface: inbound pinholes and mappings apply to packets arriving on it |
 * | `wan.ipv4.source` | `"interface"` | where GetExternalIPAddress comes from: the WAN interface's address, or `"static"` |
 * | `wan.ipv4.address` | — | the external IPv4 address when `source` is `"static"` |
 * | `firewall.table` | `"homenet"` | the nftables table (family `inet`) the daemon owns; nothing else is touched |
 * | `firewall.enabled` | `true` | `false`: decide and journal only (no kernel changes; for development) |
 * | `journal.path` | `"<stateDir>/gateway.db"` | the SQLite journal; `null` keeps it in memory (nothing survives a restart) |
 * | `admin.listen` | `"127.0.0.1:8780"` | admin API address (`host:port`, `[v6]:port`); `null` turns the API off |
 * | `admin.token` / `admin.tokenFile` | `tokenFile`: `"<stateDir>/admin-token"`, created if missing | the bearer token (at least 16 characters, no spaces), inline or read from a file (mode 0600 or stricter) |
 * | `admin.maxMessageBytes` | `65536` | largest HTTP body / WebSocket message (256..16777216) |
 * | `admin.maxConnections` | `32` | open WebSocket + HTTP connections at once |
 * | `admin.messagesPerSecond` / `admin.burst` | `50` / `100` | per-connection (WebSocket) and per-address (HTTP) rate limit |
 * | `admin.decisionsKept` | `1000` | how many recent decisions the API can list |
 * | `upnp.enabled` | `true` | serve the IGD (SSDP + description + SOAP) on the LAN |
 * | `upnp.httpPort` | `5000` | the IGD's HTTP port |
 * | `upnp.class` | `"game-session"` | the class of needs made from UPnP requests (`game-session`, `voice`, `service`) |
 * | `upnp.answerAfter` | `"firewall"` | answer a granted request once the kernel holds the entry (`"firewall"`), or once the need is journaled and granted (`"journal"`: faster; the kernel follows within milliseconds and a failure shows as a decision) |
 * | `leases.capSeconds` | engine defaults | lease cap per class (`game-session`, `voice`, `service`, `admin`), 2..86400 |
 * | `leases.maxPinholes` / `leases.maxPortMappings` | `1024` / `1024` | table sizes (UPnP 728 / capacity rule beyond) |
 * | `leases.maxPerClient` | `64` | needs one LAN address may hold at once |
 * | `devices.known` | `[]` | devices the daemon knows up front: `{id, kind?, mac?, addresses?}` (`kind` defaults to `matter`; a `mac` or an address is required); `kind` `matter` / `thread-border-router` / `iot` are isolated |
 * | `devices.allow` | `[]` | ids of isolated devices the owner allows inbound reachability to |
 * | `devices.watchNeighbours` | `true` | learn LAN hosts (MAC and every address) from the kernel's neighbour table |
 * | `devices.observe.matter` | `false` | passive Matter mDNS watcher on the LAN interfaces: Matter devices are learned and isolated without being configured (see `lan-observation.ts`) |
 * | `devices.observe.ipv6Mostly` | `false` | IPv6-mostly detector on the first LAN interface: PREF64 / DNS64 facts, and hosts that accept DHCPv4 option 108 are IPv6-only |
 * | `devices.observe.dhcpServers` | `[]` | IPv4 addresses of other DHCP servers on the LAN whose option 108 offers count; the router's own DHCP server (packets this host sends) always counts, a LAN host's forged offer never (docs/trust-model.md) |
 * | `devices.observe.routers` | `[]` | link-local addresses of other routers whose RAs (PREF64) count; this router's own link-local addresses always do, any other RA is ignored |
 * | `log.level` | `"info"` | `debug`, `info`, `warn` or `error` |
 *
 * Used as a library, {@link parseGatewayConfig} finds nothing on the system:
 * interfaces not named are `lan0` / `wan0`, the journal path is
 * `/var/lib/homenet/gateway.db`, and a token (or token file) is required
 * while the admin API is on.
 *
 * @example
 * ```ts
 * import { parseGatewayConfig } from './gateway-config';
 * const config = parseGatewayConfig({ admin: { token: 'a-long-enough-secret' }, journal: { path: null } });
 * config.firewall.table; // 'homenet'
 * ```
 */
import { readFileSync } from 'node:fs';
import type { DeviceKind } from '../../policies/model/device';
import type { NeedClass } from '../../policies/model/need';
import { checkGatewayConfigFile, GatewayConfigError, ListenAddress, listenAddressOf, LogLevel } from './gateway-config-schema';

export { GatewayConfigError, LOG_LEVELS } from './gateway-config-schema';
export type { ListenAddress, LogLevel } from './gateway-config-schema';

/** A device the configuration names (e.g. a Matter plug by its MAC). */
export interface ConfiguredDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly mac?: string;
  readonly addresses: readonly string[];
}

export interface GatewayConfig {
  /** Where the default journal and admin token file live (`stateDir` key or `--state-dir`; default `/var/lib/homenet`). */
  readonly stateDir?: string;
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
    /** The file the token was read from (or created in, on a first start). */
    readonly tokenFile?: string;
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
    readonly observe: { readonly matter: boolean; readonly ipv6Mostly: boolean; readonly dhcpServers?: readonly string[]; readonly routers?: readonly string[] };
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

/**
 * Checks a parsed JSON configuration and fills in the defaults: the file's
 * shape (every key's type and range, unknown keys) is the schema's
 * (`gateway-config-schema.ts`); the checks that relate keys are here.
 * `readFile` reads `admin.tokenFile` (injected for tests). Interfaces not
 * named fall back to `lan0` / `wan0` here; `homenet serve` finds them on the
 * router first (`effective-gateway-config.ts`).
 *
 * @throws GatewayConfigError naming the first bad key and its value.
 */
export function parseGatewayConfig(input: unknown, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): GatewayConfig {
  const file = checkGatewayConfigFile(input);
  const d = DEFAULT_GATEWAY_CONFIG;

  const lanInterfaces = file.lan?.interfaces ?? d.lan.interfaces;
  const wanInterface = file.wan?.interface ?? d.wan.interface;
  if (lanInterfaces.includes(wanInterface)) throw new GatewayConfigError('wan.interface', wanInterface, 'an interface that is not also in lan.interfaces');
  const ipv4In = file.wan?.ipv4 ?? {};
  let ipv4: GatewayConfig['wan']['ipv4'] = { source: 'interface' };
  if (ipv4In.source === 'static') {
    if (ipv4In.address === undefined) throw new GatewayConfigError('wan.ipv4.address', undefined, 'an IPv4 address');
    ipv4 = { source: 'static', address: ipv4In.address };
  } else if (ipv4In.address !== undefined) throw new GatewayConfigError('wan.ipv4.address', ipv4In.address, 'no address unless wan.ipv4.source is "static"');

  const adminIn = file.admin ?? {};
  const listen = adminIn.listen === undefined ? d.admin.listen : adminIn.listen;
  let token: string | undefined = adminIn.token;
  if (adminIn.token !== undefined && adminIn.tokenFile !== undefined) throw new GatewayConfigError('admin.tokenFile', adminIn.tokenFile, 'either admin.token or admin.tokenFile, not both');
  if (adminIn.tokenFile !== undefined) {
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

  const known = file.devices?.known ?? [];
  const ids = new Set<string>();
  known.forEach((dev, i) => {
    if (ids.has(dev.id)) throw new GatewayConfigError(`devices.known[${i}].id`, dev.id, 'an id not used by another device');
    ids.add(dev.id);
  });
  const allow = file.devices?.allow ?? [];
  allow.forEach((id, i) => {
    if (!ids.has(id)) throw new GatewayConfigError(`devices.allow[${i}]`, id, `the id of a device in devices.known (${[...ids].join(', ') || 'none'})`);
  });

  const capSeconds: Partial<Record<NeedClass, number>> = {};
  for (const [cls, cap] of Object.entries(file.leases?.capSeconds ?? {})) if (cap !== undefined) capSeconds[cls as NeedClass] = cap;

  const upnp = { ...d.upnp, ...defined(file.upnp) };
  const leases = { ...d.leases, ...defined(file.leases), capSeconds };
  return {
    ...(file.stateDir !== undefined ? { stateDir: file.stateDir } : {}),
    lan: { interfaces: lanInterfaces },
    wan: { interface: wanInterface, ipv4 },
    firewall: { ...d.firewall, ...defined(file.firewall) },
    journal: { path: file.journal?.path === undefined ? d.journal.path : file.journal.path },
    admin: {
      ...d.admin,
      ...defined({ ...adminIn, token: undefined, tokenFile: undefined, listen: undefined }),
      listen,
      ...(token !== undefined ? { token } : {}),
      ...(adminIn.tokenFile !== undefined ? { tokenFile: adminIn.tokenFile } : {}),
    },
    upnp,
    leases,
    devices: {
      known: known.map((dev) => ({ id: dev.id, kind: dev.kind, ...(dev.mac !== undefined ? { mac: dev.mac } : {}), addresses: dev.addresses })),
      allow,
      watchNeighbours: file.devices?.watchNeighbours ?? d.devices.watchNeighbours,
      observe: { ...d.devices.observe, ...defined(file.devices?.observe) },
    },
    log: { ...d.log, ...defined(file.log) },
  };
}

/** The keys of `obj` whose value is not undefined (a JSON file never holds undefined; the schema's absent keys do). */
function defined<T extends object>(obj: T | undefined): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj ?? {})) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** Parses `host:port` or `[v6]:port`. */
export function parseListenAddress(value: unknown, key: string): ListenAddress {
  const expected = '"host:port" (or "[v6]:port") with a port in 0..65535';
  const parsed = typeof value === 'string' ? listenAddressOf(value) : undefined;
  if (parsed === undefined) throw new GatewayConfigError(key, value, expected);
  return parsed;
}

/**
 * Reads a configuration file's JSON, unchecked. A missing file and a file
 * that is not JSON are errors whose message says which.
 */
export function readGatewayConfigFile(path: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): unknown {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    throw new Error(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
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
  const json = readGatewayConfigFile(path, readFile);
  try {
    return parseGatewayConfig(json, readFile);
  } catch (error) {
    if (error instanceof GatewayConfigError) error.message = `${path}: ${error.message}`;
    throw error;
  }
}
