/**
 * The shape of the gateway's JSON configuration file, as a valibot schema:
 * every key, its type and range, unknown keys refused. It checks a file once,
 * at start-up; what it cannot say alone (a key that depends on another, e.g.
 * `devices.allow` naming a known device) is checked by `parseGatewayConfig`
 * in `gateway-config.ts`, which also fills in the defaults.
 *
 * The first problem found is thrown as a {@link GatewayConfigError} naming the
 * key's path and the bad value, e.g.
 * `config key 'upnp.httpPort': expected an integer in 1..65535, got "abc"`.
 *
 * @example
 * ```ts
 * import { checkGatewayConfigFile } from './gateway-config-schema';
 * const file = checkGatewayConfigFile({ upnp: { httpPort: 5000 } });
 * file.upnp?.httpPort; // 5000
 * checkGatewayConfigFile({ upnp: { httpPort: 'abc' } }); // throws: config key 'upnp.httpPort': expected an integer in 1..65535, got "abc"
 * ```
 */
import {
  array,
  boolean,
  check,
  custom,
  integer,
  maxValue,
  minLength,
  minValue,
  nullable,
  number,
  optional,
  picklist,
  pipe,
  regex,
  safeParse,
  strictObject,
  string,
  transform,
  type GenericIssue,
  type InferOutput,
  type ObjectEntries,
} from 'valibot';
import { canonicalAddress, familyOf } from '../../policies/model/address';
import type { DeviceKind } from '../../policies/model/device';
import { NEED_CLASSES, type NeedClass } from '../../policies/model/need';

/** A configuration error: names the key (dotted path) and the value found. */
export class GatewayConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`config key '${key}': expected ${expected}, got ${showConfigValue(value)}`);
    this.name = 'GatewayConfigError';
  }

  /**
   * A key left unset whose default could not be worked out, e.g.
   * `config key 'wan.interface' is not set and cannot choose the WAN interface: ...`.
   */
  static unset(key: string, why: string): GatewayConfigError {
    const error = new GatewayConfigError(key, undefined, 'a value');
    error.message = `config key '${key}' is not set and ${why}`;
    return error;
  }
}

/** A value as an error message shows it: JSON, cut at 80 characters. */
export function showConfigValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? `(${typeof value})`; // undefined only for what JSON cannot hold (functions, symbols)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A listen address, parsed. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export const DEVICE_KINDS: readonly DeviceKind[] = ['matter', 'thread-border-router', 'iot', 'game-console', 'hub', 'router', 'computer', 'phone', 'unknown'];
const LISTEN_EXPECTED = '"host:port" (or "[v6]:port") with a port in 0..65535';

/**
 * Parses `host:port` or `[v6]:port` (`localhost` is 127.0.0.1); undefined when
 * it is not one.
 */
export function listenAddressOf(value: string): ListenAddress | undefined {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value) ?? /^([^:[\]]+):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[2]);
  const host = match[1] === 'localhost' ? '127.0.0.1' : canonicalAddress(match[1]);
  return port > 65535 || host === undefined ? undefined : { host, port };
}

// ---- building blocks -------------------------------------------------------

/** A section: an object (not a list, not null) with only the given keys, each optional. */
function section<E extends ObjectEntries>(name: string, entries: E) {
  const known = Object.keys(entries).join(', ');
  const anObject = name ? 'an object' : 'a JSON object';
  return pipe(
    custom<Record<string, unknown>>((input) => typeof input === 'object' && input !== null && !Array.isArray(input), anObject), // valibot's objects take lists
    strictObject(entries, (issue) => (issue.expected === 'never' ? (name ? `one of the known keys of '${name}' (${known})` : `one of the known top-level keys (${known})`) : anObject)),
  );
}

function int(min: number, max: number) {
  const expected = `an integer in ${min}..${max}`;
  return pipe(number(expected), integer(expected), minValue(min, expected), maxValue(max, expected));
}

const flag = boolean('true or false');

function oneOf<const T extends readonly string[]>(options: T) {
  return picklist(options, `one of ${options.map((o) => `"${o}"`).join(', ')}`);
}

function ipAddress(family?: 'ipv4' | 'ipv6') {
  const expected = family ? `an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address` : 'an IP address';
  const ok = (a: string | undefined): a is string => a !== undefined && (family === undefined || familyOf(a) === family);
  return pipe(
    string(expected),
    check((s) => ok(canonicalAddress(s)), expected),
    transform((s) => canonicalAddress(s) as string),
  );
}

const interfaceName = pipe(string('an interface name (1-15 characters)'), regex(/^[A-Za-z0-9_.@:-]{1,15}$/, 'an interface name (1-15 characters)'));

/** Why a listen string is not one: the plain expectation, or that the host must be an IP address. */
function listenExpected(input: unknown): string {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(String(input)) ?? /^([^:[\]]+):(\d{1,5})$/.exec(String(input));
  return match && Number(match[2]) <= 65535 ? `${LISTEN_EXPECTED}; the host must be an IP address` : LISTEN_EXPECTED;
}

const listenAddress = pipe(
  string(LISTEN_EXPECTED),
  check((s) => listenAddressOf(s) !== undefined, (issue) => listenExpected(issue.input)),
  transform((s) => listenAddressOf(s) as ListenAddress),
);

const TOKEN_EXPECTED = 'a token of at least 16 characters without spaces';
const filePath = (what: string) => pipe(string(what), check((s) => s.trim() !== '' && !s.includes('\0'), what));
const absolutePath = (what: string) => pipe(string(what), check((s) => s.startsWith('/') && !s.includes('\0'), what));

// Admin API Host / Origin allow lists (admin-server.ts): a host name or IP literal, an origin `scheme://host[:port]`.
const HOST_EXPECTED = 'a host name or IP address without a port (e.g. "router.lan", "192.168.1.1", "::1")';
const allowedHost = pipe(
  string(HOST_EXPECTED),
  check((h) => canonicalAddress(h.replace(/^\[(.*)\]$/, '$1')) !== undefined || /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(h), HOST_EXPECTED),
  transform((h) => canonicalAddress(h.replace(/^\[(.*)\]$/, '$1')) ?? h.toLowerCase().replace(/\.$/, '')),
);
const ORIGIN_EXPECTED = 'an origin like "http://router.lan:8780" (scheme, host, optional port; no path)';
const allowedOrigin = pipe(
  string(ORIGIN_EXPECTED),
  regex(/^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/i, ORIGIN_EXPECTED),
  transform((o) => o.toLowerCase()),
);

const device = pipe(
  section('devices.known[]', {
    id: pipe(string('a device id (letters, digits, _.:@-, up to 64)'), regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/, 'a device id (letters, digits, _.:@-, up to 64)')),
    kind: optional(oneOf(DEVICE_KINDS), 'matter'),
    mac: optional(
      pipe(
        string('a MAC address like "02:00:00:00:00:01"'),
        regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, 'a MAC address like "02:00:00:00:00:01"'),
        transform((m) => m.toLowerCase()),
      ),
    ),
    addresses: optional(array(ipAddress(), 'a list'), []),
  }),
  check((d) => d.mac !== undefined || d.addresses.length > 0, 'a device with a "mac" or at least one address'),
);

const MQTT_URL_EXPECTED = 'an MQTT broker URL like "mqtt://192.168.1.2:1883" or "mqtts://broker.lan:8883" (no path, no credentials)';
const MQTT_TOPIC_EXPECTED = 'an MQTT topic of letters, digits, _ and - levels (no wildcards, no leading or trailing /)';
const mqttTopic = pipe(string(MQTT_TOPIC_EXPECTED), regex(/^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,7}$/, MQTT_TOPIC_EXPECTED));

const capSeconds = section(
  'leases.capSeconds',
  Object.fromEntries(NEED_CLASSES.map((c) => [c, optional(int(2, 86400))])) as Record<NeedClass, ReturnType<typeof optional<ReturnType<typeof int>>>>,
);

// ---- the file ----------------------------------------------------------------

/** Every key of the configuration file; absent keys stay absent (defaults are `parseGatewayConfig`'s). */
export const GATEWAY_CONFIG_FILE_SCHEMA = section('', {
  // Which deployment this file is for (`homenet serve --mode` wins; both given must agree).
  mode: optional(oneOf(['gateway', 'hub'] as const)),
  stateDir: optional(absolutePath('an absolute directory path')),
  lan: optional(section('lan', { interfaces: optional(pipe(array(interfaceName, 'a list'), minLength(1, 'at least one interface'))) })),
  wan: optional(
    section('wan', {
      interface: optional(interfaceName),
      ipv4: optional(section('wan.ipv4', { source: optional(oneOf(['interface', 'static'] as const)), address: optional(ipAddress('ipv4')) })),
    }),
  ),
  firewall: optional(
    section('firewall', {
      table: optional(
        pipe(
          string('a table name of our own (letters, digits, _; not "filter" or "nat")'),
          regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'a table name of our own (letters, digits, _; not "filter" or "nat")'),
          check((t) => t !== 'filter' && t !== 'nat', 'a table name of our own (letters, digits, _; not "filter" or "nat")'),
        ),
      ),
      enabled: optional(flag),
    }),
  ),
  journal: optional(
    section('journal', {
      path: optional(nullable(pipe(string('a file path, or null for an in-memory journal'), check((p) => p.trim() !== '', 'a file path, or null for an in-memory journal')))),
      retentionSeconds: optional(int(60, 10 * 365 * 86_400)),
      maxBytes: optional(int(1024 * 1024, 2 ** 40)),
      pruneIntervalSeconds: optional(int(1, 86_400)),
    }),
  ),
  admin: optional(
    section('admin', {
      listen: optional(nullable(listenAddress)),
      token: optional(pipe(string(TOKEN_EXPECTED), minLength(16, TOKEN_EXPECTED), regex(/^\S+$/, TOKEN_EXPECTED))),
      tokenFile: optional(filePath('a file path')),
      maxMessageBytes: optional(int(256, 16 * 1024 * 1024)),
      maxConnections: optional(int(1, 10_000)),
      messagesPerSecond: optional(int(1, 100_000)),
      burst: optional(int(1, 100_000)),
      decisionsKept: optional(int(1, 1_000_000)),
      // Per-source connection budget and Host/Origin checks (admin-server.ts, adapters/system/connection-budget.ts).
      maxConnectionsPerSource: optional(int(1, 10_000)),
      maxUnauthenticated: optional(int(1, 10_000)),
      maxUnauthenticatedPerSource: optional(int(1, 10_000)),
      authDeadlineMs: optional(int(100, 60_000)),
      allowedHosts: optional(array(allowedHost, 'a list of host names or addresses')),
      allowedOrigins: optional(array(allowedOrigin, 'a list of origins')),
    }),
  ),
  upnp: optional(
    section('upnp', {
      enabled: optional(flag),
      httpPort: optional(int(1, 65535)),
      class: optional(oneOf(NEED_CLASSES.filter((c) => c !== 'admin'))),
      answerAfter: optional(oneOf(['firewall', 'journal'] as const)),
      // Per-source connection budget of the IGD's HTTP server (igd-http-server.ts).
      maxConnections: optional(int(1, 10_000)),
      maxConnectionsPerSource: optional(int(1, 10_000)),
    }),
  ),
  // PCP / NAT-PMP listener (adapters/pcp/server, plugin/gateway/pcp-front.ts).
  pcp: optional(
    section('pcp', {
      enabled: optional(flag),
      port: optional(int(1, 65535)),
      controllers: optional(array(ipAddress(), 'a list of IP addresses')),
      requestsPerSecond: optional(int(1, 100_000)),
      burst: optional(int(1, 100_000)),
    }),
  ),
  leases: optional(
    section('leases', {
      capSeconds: optional(capSeconds),
      maxPinholes: optional(int(1, 1_000_000)),
      maxPortMappings: optional(int(1, 1_000_000)),
      maxPerClient: optional(int(1, 1_000_000)),
    }),
  ),
  devices: optional(
    section('devices', {
      known: optional(array(device, 'a list of devices')),
      allow: optional(array(string('a device id'), 'a list')),
      watchNeighbours: optional(flag),
      // LAN observation switches (lan-observation.ts).
      observe: optional(
        section('devices.observe', {
          matter: optional(flag),
          ipv6Mostly: optional(flag),
          // Who may state DHCP and RA facts besides the router itself (docs/trust-model.md).
          dhcpServers: optional(array(ipAddress('ipv4'), 'a list of IPv4 addresses')),
          routers: optional(array(pipe(ipAddress('ipv6'), check((a) => a.startsWith('fe80:'), 'a link-local IPv6 address')), 'a list of link-local IPv6 addresses')),
        }),
      ),
    }),
  ),
  // The hub (`homenet serve --mode hub`, plugin/hub/): beside a router it does not run.
  hub: optional(
    section('hub', {
      router: optional(ipAddress()),
      // The router's IPv6 address for PCP pinholes (default: the IPv6 default route's gateway).
      routerIpv6: optional(ipAddress('ipv6')),
      applier: optional(oneOf(['auto', 'pcp-third-party', 'agents', 'gateway-admin'] as const)),
      coordinationPort: optional(int(1, 65535)),
      maxConnections: optional(int(1, 10_000)),
      maxConnectionsPerSource: optional(int(1, 10_000)),
      advertise: optional(flag),
      auditSeconds: optional(int(0, 86_400)),
      exclusiveRouter: optional(flag),
      // The router is a homenet gateway: the hub applies through its admin API (plugin/hub/gateway-admin-firewall.ts).
      gatewayAdmin: optional(section('hub.gatewayAdmin', {
        url: pipe(string('an http:// URL like "http://192.168.1.1:8780"'), regex(/^http:\/\/[^\s/]+(:\d{1,5})?\/?$/, 'an http:// URL like "http://192.168.1.1:8780"')),
        tokenFile: filePath('a file path'),
      })),
    }),
  ),
  // Home Assistant via MQTT discovery (plugin/homeassistant/, adapters/mqtt/); off unless present.
  mqtt: optional(
    section('mqtt', {
      url: pipe(string(MQTT_URL_EXPECTED), regex(/^mqtts?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\/?$/, MQTT_URL_EXPECTED), check((u) => Number(/:(\d{1,5})\/?$/.exec(u.replace(/^mqtts?:\/\/\[[^\]]*\]/, ''))?.[1] ?? 1) <= 65535, MQTT_URL_EXPECTED)),
      username: optional(pipe(string('a user name (printable, no spaces)'), regex(/^[\x21-\x7e]{1,256}$/, 'a user name (printable, no spaces)'))),
      passwordFile: optional(filePath('a file path')),
      ca: optional(filePath('a file path (PEM)')),
      cert: optional(filePath('a file path (PEM)')),
      key: optional(filePath('a file path (PEM)')),
      baseTopic: optional(mqttTopic),
      discoveryPrefix: optional(mqttTopic),
      clientId: optional(pipe(string('a client id (letters, digits, _.-, up to 64)'), regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a client id (letters, digits, _.-, up to 64)'))),
    }),
  ),
  log: optional(section('log', {
    level: optional(oneOf(LOG_LEVELS)),
    refusalWindowSeconds: optional(int(1, 3600)),
  })),
});

/** A configuration file that passed the schema (addresses canonical, listen parsed, device defaults in). */
export type GatewayConfigFile = InferOutput<typeof GATEWAY_CONFIG_FILE_SCHEMA>;

/** Keys whose value an error must not print. */
const SECRET_KEYS = new Set(['admin.token']);

function keyPath(issue: GenericIssue): string {
  const parts = issue.path ?? [];
  let key = '';
  for (const p of parts) {
    const k = p.key as string | number;
    key += typeof k === 'number' ? `[${k}]` : key === '' ? k : `.${k}`;
  }
  return key;
}

/** The key and value an issue is about: for an unknown key, that key and its value. */
function located(issue: GenericIssue): { key: string; value: unknown } {
  const key = keyPath(issue);
  const last = issue.path?.[issue.path.length - 1];
  const value = issue.expected === 'never' && last ? last.value : issue.input;
  return { key: key || '(top level)', value: SECRET_KEYS.has(key) ? '(hidden)' : value };
}

/**
 * Checks a parsed JSON document against {@link GATEWAY_CONFIG_FILE_SCHEMA}.
 *
 * @throws GatewayConfigError naming the first bad key and its value.
 */
export function checkGatewayConfigFile(input: unknown): GatewayConfigFile {
  const result = safeParse(GATEWAY_CONFIG_FILE_SCHEMA, input, { abortEarly: true, abortPipeEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0] as GenericIssue;
  const { key, value } = located(issue);
  throw new GatewayConfigError(key, value, issue.message);
}
