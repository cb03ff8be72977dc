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
 * | `journal.retentionSeconds` | `604800` (7 days) | history (decisions, ended needs, settled firewall intents) older than this is pruned while running; live needs and pending intents are never pruned |
 * | `journal.maxBytes` | `16777216` (16 MiB) | bound on the journal database + WAL: the oldest history goes first once the database passes 3/4 of it (down to 60%), the WAL is limited to 1/8 and truncated at every prune. 16 MiB keeps the last ~4,000-5,000 UPnP open+close cycles of history (about 2.4 KiB each: the need, two decisions, two intents; weeks of a home's use), peaks at about 14 MB on disk, and fits the spare flash of small routers (1 MiB..1 TiB) |
 * | `journal.pruneIntervalSeconds` | `300` | how often the daemon prunes on its timer (the journal also prunes itself every few hundred writes) |
 * | `admin.listen` | `"127.0.0.1:8780"` | admin API address (`host:port`, `[v6]:port`); `null` turns the API off |
 * | `admin.token` / `admin.tokenFile` | `tokenFile`: `"<stateDir>/admin-token"`, created if missing | the bearer token (at least 16 characters, no spaces), inline or read from a file (mode 0600 or stricter) |
 * | `admin.maxMessageBytes` | `65536` | largest HTTP body / WebSocket message (256..16777216) |
 * | `admin.maxConnections` | `32` | open WebSocket + HTTP connections at once from LAN sources (loopback is counted apart, never locked out) |
 * | `admin.maxConnectionsPerSource` | `8` | connections one source address may hold (the other 24 stay for the rest) |
 * | `admin.maxUnauthenticated` / `admin.maxUnauthenticatedPerSource` | `16` / `4` | connections not yet authenticated, in all / per source address: the other 16 are a reserve for token holders; when full, the newest unauthenticated socket of the heaviest source makes room |
 * | `admin.authDeadlineMs` | `5000` | a connection (HTTP or WebSocket) that has not shown the token within this is closed |
 * | `admin.allowedHosts` | `[]` | Host header names/addresses accepted besides loopback (`localhost`, `127.0.0.1`, `::1`), the listen address and the address the client connected to; any other Host gets 421 `host_not_allowed` (DNS rebinding) |
 * | `admin.allowedOrigins` | `[]` | browser Origins accepted besides `http://<allowed host>:<port>`; any other Origin gets 403 `origin_not_allowed`; no Origin (a non-browser client) is fine |
 * | `admin.messagesPerSecond` / `admin.burst` | `50` / `100` | per-connection (WebSocket) and per-address (HTTP) rate limit |
 * | `admin.decisionsKept` | `1000` | how many recent decisions the API can list |
 * | `upnp.enabled` | `true` | serve the IGD (SSDP + description + SOAP) on the LAN |
 * | `upnp.httpPort` | `5000` | the IGD's HTTP port |
 * | `upnp.class` | `"game-session"` | the class of needs made from UPnP requests (`game-session`, `voice`, `service`) |
 * | `upnp.maxConnections` / `upnp.maxConnectionsPerSource` | `128` / `16` | the IGD's HTTP connections at once / per source address; when full, the newest socket of the heaviest source makes room |
 * | `upnp.answerAfter` | `"firewall"` | answer a granted request once the kernel holds the entry (`"firewall"`), or once the need is journaled and granted (`"journal"`: faster; the kernel follows within milliseconds and a failure shows as a decision) |
 * | `pcp.enabled` | `true` | serve PCP and NAT-PMP on UDP `pcp.port` of the LAN addresses (one decision path with UPnP) |
 * | `pcp.port` | `5351` | the PCP / NAT-PMP server port (RFC 6887: 5351) |
 * | `pcp.controllers` | `[]` | LAN addresses allowed to map for another host (PCP THIRD_PARTY); empty: THIRD_PARTY is answered UNSUPP_OPTION |
 * | `pcp.requestsPerSecond` / `pcp.burst` | `20` / `50` | per-source request rate limit of the PCP listener |
 * | `leases.capSeconds` | engine defaults | lease cap per class (`game-session`, `voice`, `service`, `admin`), 2..86400 |
 * | `leases.maxPinholes` / `leases.maxPortMappings` | `1024` / `1024` | table sizes (UPnP 728 / capacity rule beyond) |
 * | `leases.maxPerClient` | `64` | needs one LAN address may hold at once |
 * | `devices.known` | `[]` | devices the daemon knows up front: `{id, kind?, mac?, addresses?}` (`kind` defaults to `matter`; a `mac` or an address is required); `kind` `matter` / `thread-border-router` / `iot` are isolated |
 * | `devices.allow` | `[]` | ids of isolated devices the owner allows inbound reachability to |
 * | `devices.watchNeighbours` | `true` | learn LAN hosts (MAC and every address) from the kernel's neighbour table |
 * | `devices.observe.matter` | `false` | passive Matter mDNS watcher on the LAN interfaces: Matter devices are learned and isolated without being configured (see `lan-observation.ts`) |
 * | `mqtt.url` | absent (off) | Home Assistant via MQTT discovery: the broker, `mqtt://host[:port]` or `mqtts://host[:port]` (see docs/home-assistant.md) |
 * | `mqtt.username` / `mqtt.passwordFile` | none | broker credentials (the password is read from the file at start) |
 * | `mqtt.ca` / `mqtt.cert` / `mqtt.key` | none | PEM files for `mqtts://`: the broker's CA, a client certificate and its key |
 * | `mqtt.baseTopic` / `mqtt.discoveryPrefix` | `"homenet"` / `"homeassistant"` | our state topics / Home Assistant's discovery prefix |
 * | `mqtt.clientId` | `"homenet-<mode>-<table>"` | the MQTT client id |
 * | `devices.observe.ipv6Mostly` | `false` | IPv6-mostly detector on the first LAN interface: PREF64 / DNS64 facts, and hosts that accept DHCPv4 option 108 are IPv6-only |
 * | `devices.observe.dhcpServers` | `[]` | IPv4 addresses of other DHCP servers on the LAN whose option 108 offers count; the router's own DHCP server (packets this host sends) always counts, a LAN host's forged offer never (docs/trust-model.md) |
 * | `devices.observe.routers` | `[]` | link-local addresses of other routers whose RAs (PREF64) count; this router's own link-local addresses always do, any other RA is ignored |
 * | `log.level` | `"info"` | `debug`, `info`, `warn` or `error` |
 * | `log.refusalWindowSeconds` | `60` | repeated refusals of one client for one reason are logged once per window, then as one line with a count |
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
import { checkGatewayConfigFile, GatewayConfigError, GatewayConfigFile, ListenAddress, listenAddressOf, LogLevel } from './gateway-config-schema';

export { GatewayConfigError, LOG_LEVELS } from './gateway-config-schema';
export type { ListenAddress, LogLevel } from './gateway-config-schema';

/** A device the configuration names (e.g. a Matter plug by its MAC). */
export interface ConfiguredDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly mac?: string;
  readonly addresses: readonly string[];
}

/** How the hub applies settled needs: PCP THIRD_PARTY on the router, or each agent itself; `auto` probes the router. */
export type HubApplierChoice = 'auto' | 'pcp-third-party' | 'agents' | 'gateway-admin';

/** The hub's own settings (`homenet serve --mode hub`; see plugin/hub/hub-daemon.ts). */
export interface HubSettings {
  /** The router's LAN address (default: the default route's gateway). */
  readonly router?: string;
  /** The router's IPv6 address its PCP server answers on (default: the IPv6 default route's gateway). */
  readonly routerIpv6?: string;
  readonly applier: HubApplierChoice;
  /** TCP port of the coordination listener (agents ask here; plugin/hub/coordination-server.ts). */
  readonly coordinationPort: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
  /** Advertise the hub over DNS-SD (`_homenet._tcp`). */
  readonly advertise: boolean;
  /** How often the router's mappings are audited (0: never). */
  readonly auditSeconds: number;
  /** Only the hub may program the router (its UPnP/PCP closed to other hosts): protections are enforced, not advised. */
  readonly exclusiveRouter: boolean;
  /** The router is a homenet gateway: the hub programs it through its admin API (the gateway enforces). */
  readonly gatewayAdmin?: { readonly url: string; readonly tokenFile: string };
}

/** The `mqtt` section: the broker and the topics Home Assistant reads (see docs/home-assistant.md). */
export interface MqttSettings {
  /** `mqtt://host[:port]` or `mqtts://host[:port]`. */
  readonly url: string;
  readonly username?: string;
  /** The password's file: checked readable and not empty here, read by the bridge at start (the password itself never sits in the config, which `--check` prints). */
  readonly passwordFile?: string;
  /** PEM files: the broker's CA, and a client certificate with its key (mqtts:// only). */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Our topics: `<baseTopic>/status`, `<baseTopic>/device/...` (default `homenet`). */
  readonly baseTopic: string;
  /** Home Assistant's discovery prefix (default `homeassistant`). */
  readonly discoveryPrefix: string;
  /** Default `homenet-<deployment>-<firewall table>`. */
  readonly clientId: string;
}

/** Where the engine runs: on the router (gateway) or beside it (hub). */
export type Deployment = 'gateway' | 'hub';

export interface GatewayConfig {
  /** `gateway` (on the router) or `hub` (beside it); the config's `mode` key or `homenet serve --mode`. */
  readonly deployment: Deployment;
  readonly hub: HubSettings;
  /** Where the default journal and admin token file live (`stateDir` key or `--state-dir`; default `/var/lib/homenet`). */
  readonly stateDir?: string;
  readonly lan: { readonly interfaces: readonly string[] };
  readonly wan: {
    readonly interface: string;
    readonly ipv4: { readonly source: 'interface' } | { readonly source: 'static'; readonly address: string };
  };
  readonly firewall: { readonly table: string; readonly enabled: boolean };
  readonly journal: {
    readonly path: string | null;
    /** History kept (decisions, ended needs, settled intents), seconds; default 7 days. */
    readonly retentionSeconds?: number;
    /** Bound on database + WAL, bytes; default 16 MiB. */
    readonly maxBytes?: number;
    /** The daemon's prune timer, seconds; default 300. */
    readonly pruneIntervalSeconds?: number;
  };
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
    readonly maxConnectionsPerSource: number;
    readonly maxUnauthenticated: number;
    readonly maxUnauthenticatedPerSource: number;
    readonly authDeadlineMs: number;
    readonly allowedHosts: readonly string[];
    readonly allowedOrigins: readonly string[];
  };
  readonly upnp: {
    readonly enabled: boolean;
    readonly httpPort: number;
    readonly class: NeedClass;
    readonly answerAfter: 'firewall' | 'journal';
    readonly maxConnections: number;
    readonly maxConnectionsPerSource: number;
  };
  readonly pcp: { readonly enabled: boolean; readonly port: number; readonly controllers: readonly string[]; readonly requestsPerSecond: number; readonly burst: number };
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
  /** Home Assistant via MQTT discovery (plugin/homeassistant/); absent: off. */
  readonly mqtt?: MqttSettings;
  readonly log: {
    readonly level: LogLevel;
    /** Repeated refusals (one client, one reason) are logged once per this window with a count; default 60. */
    readonly refusalWindowSeconds?: number;
  };
}

export const DEFAULT_HUB_SETTINGS: HubSettings = {
  applier: 'auto',
  coordinationPort: 5390,
  maxConnections: 64,
  maxConnectionsPerSource: 8,
  advertise: true,
  auditSeconds: 30,
  exclusiveRouter: false,
};

export const DEFAULT_GATEWAY_CONFIG: GatewayConfig = {
  deployment: 'gateway',
  hub: DEFAULT_HUB_SETTINGS,
  lan: { interfaces: ['lan0'] },
  wan: { interface: 'wan0', ipv4: { source: 'interface' } },
  firewall: { table: 'homenet', enabled: true },
  journal: {
    path: '/var/lib/homenet/gateway.db',
    retentionSeconds: 7 * 86_400,
    maxBytes: 16 * 1024 * 1024,
    pruneIntervalSeconds: 300,
  },
  admin: {
    listen: { host: '127.0.0.1', port: 8780 },
    maxMessageBytes: 65536,
    maxConnections: 32,
    messagesPerSecond: 50,
    burst: 100,
    decisionsKept: 1000,
    maxConnectionsPerSource: 8,
    maxUnauthenticated: 16,
    maxUnauthenticatedPerSource: 4,
    authDeadlineMs: 5000,
    allowedHosts: [],
    allowedOrigins: [],
  },
  upnp: { enabled: true, httpPort: 5000, class: 'game-session', answerAfter: 'firewall', maxConnections: 128, maxConnectionsPerSource: 16 },
  pcp: { enabled: true, port: 5351, controllers: [], requestsPerSecond: 20, burst: 50 },
  leases: { capSeconds: {}, maxPinholes: 1024, maxPortMappings: 1024, maxPerClient: 64 },
  devices: { known: [], allow: [], watchNeighbours: true, observe: { matter: false, ipv6Mostly: false } },
  log: {
    level: 'info',
    refusalWindowSeconds: 60,
  },
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
  const deployment = file.mode ?? 'gateway';
  // A hub has no WAN of its own (its router's is reported by the router); a gateway's WAN is not a LAN.
  if (deployment === 'gateway' && lanInterfaces.includes(wanInterface)) throw new GatewayConfigError('wan.interface', wanInterface, 'an interface that is not also in lan.interfaces');
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
  const adminBudget = connectionBudgetOf('admin', { ...d.admin, ...defined(adminIn) }, adminIn);
  const upnpBudget = connectionBudgetOf('upnp', { ...d.upnp, ...defined(file.upnp), maxUnauthenticated: Infinity, maxUnauthenticatedPerSource: Infinity }, file.upnp ?? {});

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

  const mqtt = file.mqtt === undefined ? undefined : mqttSettingsOf(file.mqtt, deployment, file.firewall?.table ?? d.firewall.table, readFile);

  const upnp = { ...d.upnp, ...defined(file.upnp), maxConnections: upnpBudget.maxConnections, maxConnectionsPerSource: upnpBudget.maxConnectionsPerSource };
  const leases = { ...d.leases, ...defined(file.leases), capSeconds };
  return {
    deployment,
    hub: { ...DEFAULT_HUB_SETTINGS, ...defined(file.hub) },
    ...(file.stateDir !== undefined ? { stateDir: file.stateDir } : {}),
    lan: { interfaces: lanInterfaces },
    wan: { interface: wanInterface, ipv4 },
    // A hub neither serves IGD/PCP nor owns a firewall: it programs the router it sits beside.
    firewall: { ...d.firewall, ...(deployment === 'hub' ? { enabled: false } : {}), ...defined(file.firewall) },
    journal: {
      ...d.journal,
      ...defined({ ...file.journal, path: undefined }),
      path: file.journal?.path === undefined ? d.journal.path : file.journal.path,
    },
    admin: {
      ...d.admin,
      ...defined({ ...adminIn, token: undefined, tokenFile: undefined, listen: undefined }),
      listen,
      ...adminBudget,
      ...(token !== undefined ? { token } : {}),
      ...(adminIn.tokenFile !== undefined ? { tokenFile: adminIn.tokenFile } : {}),
    },
    upnp: deployment === 'hub' ? { ...upnp, enabled: file.upnp?.enabled ?? false } : upnp,
    pcp: { ...d.pcp, ...(deployment === 'hub' ? { enabled: false } : {}), ...defined(file.pcp) },
    leases,
    devices: {
      known: known.map((dev) => ({ id: dev.id, kind: dev.kind, ...(dev.mac !== undefined ? { mac: dev.mac } : {}), addresses: dev.addresses })),
      allow,
      watchNeighbours: file.devices?.watchNeighbours ?? d.devices.watchNeighbours,
      observe: { ...d.devices.observe, ...defined(file.devices?.observe) },
    },
    ...(mqtt ? { mqtt } : {}),
    log: { ...d.log, ...defined(file.log) },
  };
}

/** The MQTT password in its file: the file's text without its final line break. */
export function readMqttPassword(path: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): string {
  return readFile(path).replace(/\r?\n$/, '');
}

/** The `mqtt` section with its defaults; the password and TLS files checked readable. */
function mqttSettingsOf(m: NonNullable<GatewayConfigFile['mqtt']>, deployment: Deployment, table: string, readFile: (path: string) => string): MqttSettings {
  const tls = m.url.startsWith('mqtts://');
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = m[key];
    if (path === undefined) continue;
    if (!tls) throw new GatewayConfigError(`mqtt.${key}`, path, 'no TLS file unless mqtt.url is mqtts://');
    try {
      readFile(path);
    } catch (error) {
      throw new GatewayConfigError(`mqtt.${key}`, path, `a readable file (${(error as Error).message})`);
    }
  }
  if ((m.cert === undefined) !== (m.key === undefined)) throw new GatewayConfigError(m.cert === undefined ? 'mqtt.cert' : 'mqtt.key', undefined, `a value: a client certificate needs both mqtt.cert and mqtt.key`);
  if (m.passwordFile !== undefined) {
    if (m.username === undefined) throw new GatewayConfigError('mqtt.username', undefined, 'a user name when mqtt.passwordFile is set');
    let password: string;
    try {
      password = readMqttPassword(m.passwordFile, readFile);
    } catch (error) {
      throw new GatewayConfigError('mqtt.passwordFile', m.passwordFile, `a readable file (${(error as Error).message})`);
    }
    if (password === '') throw new GatewayConfigError('mqtt.passwordFile', m.passwordFile, 'a file holding the password (it is empty)');
  }
  const baseTopic = m.baseTopic ?? 'homenet';
  const discoveryPrefix = m.discoveryPrefix ?? 'homeassistant';
  if (baseTopic === discoveryPrefix) throw new GatewayConfigError('mqtt.baseTopic', baseTopic, `a topic other than mqtt.discoveryPrefix ("${discoveryPrefix}")`);
  return {
    url: m.url.replace(/\/$/, ''),
    ...(m.username !== undefined ? { username: m.username } : {}),
    ...(m.passwordFile !== undefined ? { passwordFile: m.passwordFile } : {}),
    ...(m.ca !== undefined ? { ca: m.ca } : {}),
    ...(m.cert !== undefined ? { cert: m.cert } : {}),
    ...(m.key !== undefined ? { key: m.key } : {}),
    baseTopic,
    discoveryPrefix,
    clientId: m.clientId ?? `homenet-${deployment}-${table}`,
  };
}

interface BudgetKeys {
  maxConnections: number;
  maxConnectionsPerSource: number;
  maxUnauthenticated: number;
  maxUnauthenticatedPerSource: number;
}

/**
 * The connection budget's caps, nested: per source <= all; unauthenticated <= all (admin-server.ts,
 * igd-http-server.ts). A default shrinks to fit a smaller cap the file sets; caps the file sets
 * that do not nest are an error.
 */
function connectionBudgetOf(section: 'admin' | 'upnp', merged: BudgetKeys, given: Partial<Record<keyof BudgetKeys, unknown>>): BudgetKeys {
  const c = { ...merged };
  if (given.maxConnectionsPerSource === undefined) c.maxConnectionsPerSource = Math.min(c.maxConnectionsPerSource, c.maxConnections);
  if (given.maxUnauthenticated === undefined) c.maxUnauthenticated = Math.min(c.maxUnauthenticated, c.maxConnections);
  if (given.maxUnauthenticatedPerSource === undefined) c.maxUnauthenticatedPerSource = Math.min(c.maxUnauthenticatedPerSource, c.maxConnectionsPerSource, c.maxUnauthenticated);
  checkConnectionBudget(section, c);
  return c;
}

function checkConnectionBudget(section: 'admin' | 'upnp', c: BudgetKeys): void {
  if (c.maxConnectionsPerSource > c.maxConnections) throw new GatewayConfigError(`${section}.maxConnectionsPerSource`, c.maxConnectionsPerSource, `at most ${section}.maxConnections (${c.maxConnections})`);
  if (c.maxUnauthenticated > c.maxConnections) throw new GatewayConfigError(`${section}.maxUnauthenticated`, c.maxUnauthenticated, `at most ${section}.maxConnections (${c.maxConnections})`);
  if (c.maxUnauthenticatedPerSource > Math.min(c.maxConnectionsPerSource, c.maxUnauthenticated)) {
    throw new GatewayConfigError(`${section}.maxUnauthenticatedPerSource`, c.maxUnauthenticatedPerSource, `at most ${section}.maxConnectionsPerSource and ${section}.maxUnauthenticated`);
  }
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
