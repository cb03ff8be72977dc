/**
 * The built-in lab home as data: which namespaces exist, how they are wired and
 * which addresses each interface carries. Everything else in `plugin/lab/`
 * builds, reports or tears down what this plan says, so the `--json` output of
 * `homenet lab status` and the tests read the same names.
 *
 * Addresses are documentation prefixes only: 198.51.100.0/24 and
 * 2001:db8:100::/64 on the WAN, RFC 1918 192.168.77.0/24, 2001:db8:77::/64 and
 * the ULA fd00:77::/64 on the LAN. The NAT access kinds (`--wan cgnat|double-nat`)
 * add 100.64.0.0/10 (RFC 6598) or 192.168.100.0/24 and 2001:db8:101::/64
 * between the router and its upstream.
 *
 * @example
 * ```ts
 * const plan = labPlan({ prefix: 'hn' });
 * plan.hosts.console.namespace; // 'hn-console'
 * ```
 */

/** A LAN host of the lab: two game consoles, a hub, and two Matter devices. */
export type LabLanRole = 'console' | 'console2' | 'hub' | 'plug' | 'lock';
export type LabRole = 'router' | 'wan' | LabLanRole;
export const LAN_ROLES: readonly LabLanRole[] = ['console', 'console2', 'hub', 'plug', 'lock'];
export const LAB_ROLES: readonly LabRole[] = ['router', 'wan', ...LAN_ROLES];

/** What an IPv6 address is for; `temporary` ones are made by the kernel (RFC 8981). */
export type LabIpv6Kind = 'gua-stable' | 'ula' | 'wan' | 'router';

export interface LabIpv6Address {
  readonly address: string;
  readonly prefixLength: number;
  readonly kind: LabIpv6Kind;
}

export interface LabInterface {
  readonly name: string;
  readonly ipv4: readonly { address: string; prefixLength: number }[];
  readonly ipv6: readonly LabIpv6Address[];
}

export interface LabHost {
  readonly role: LabRole;
  readonly namespace: string;
  readonly interfaces: readonly LabInterface[];
}

/**
 * What sits between the router's WAN and the Internet (`homenet lab up --wan`):
 * - `public`: the router's WAN is public IPv4 198.51.100.1 + native IPv6 on
 *   the WAN peer's link (the default, unchanged).
 * - `cgnat`: a `carrier` namespace between router and WAN peer; the router's
 *   WAN is 100.64.0.2/10 (RFC 6598), the carrier NAT44s it to 198.51.100.1.
 * - `double-nat`: an `upstream` home router namespace; the router's WAN is
 *   192.168.100.2/24 (RFC 1918), the upstream NAT44s it to 198.51.100.1.
 *
 * In both NAT kinds IPv6 stays native: 2001:db8:101::/64 between router and
 * upstream, the LAN /64 routed through the upstream without filtering.
 */
export type LabWanKind = 'public' | 'cgnat' | 'double-nat';
export const LAB_WAN_KINDS: readonly LabWanKind[] = ['public', 'cgnat', 'double-nat'];

/**
 * The upstream NAT44's mapping behaviour (RFC 4787), `--nat-mapping`:
 * - `eim` (default): plain Linux `snat`, which keeps the internal source port
 *   when it is free, so every destination sees the same public port
 *   (endpoint-independent in practice, not guaranteed on a port clash).
 * - `apdm`: `snat ... fully-random`, a random public port per new flow, so
 *   each destination sees another port (a "symmetric" NAT; STUN-learned
 *   candidates do not work for hole punching).
 * Filtering is address-and-port-dependent in both (conntrack).
 */
export type LabNatMapping = 'eim' | 'apdm';
export const LAB_NAT_MAPPINGS: readonly LabNatMapping[] = ['eim', 'apdm'];

/** The namespace between the router and the WAN peer in the NAT kinds. */
export interface LabUpstream {
  readonly role: 'carrier' | 'upstream';
  readonly namespace: string;
  /** `down0` faces the router's `wan0`, `up0` the WAN peer's `eth0`. */
  readonly interfaces: readonly LabInterface[];
  /** The router's default gateways (the upstream's `down0` addresses). */
  readonly gatewayIpv4: string;
  readonly gatewayIpv6: string;
  /** The conntrack UDP timeout (s) set in the upstream; absent: the kernel's default (30 s, 120 s for streams). */
  readonly udpTimeoutSeconds?: number;
  readonly natMapping: LabNatMapping;
}

export interface LabPlan {
  readonly prefix: string;
  readonly runDir: string;
  readonly hosts: Readonly<Record<LabRole, LabHost>>;
  /** The carrier (`cgnat`) or upstream home router (`double-nat`); absent for `public`. */
  readonly upstream?: LabUpstream;
  /** Addresses the WAN peer (the remote player) uses. */
  readonly wan: {
    readonly kind: LabWanKind;
    /** The router's own WAN IPv4 address (what miniupnpd sees on `wan0`). */
    readonly routerIpv4: string;
    /** The public IPv4 address the WAN peer sees the home as (the router's own for `public`, the upstream's NAT address otherwise). */
    readonly publicIpv4: string;
    readonly routerIpv6: string;
    /** The WAN peer's next hop to the LAN /64 (the router for `public`, the upstream otherwise). */
    readonly homeRouteIpv6: string;
    readonly peerIpv4: string;
    readonly peerIpv4Alternate: string;
    readonly peerIpv6: string;
    readonly lanIpv6Prefix: string;
  };
  readonly lan: {
    readonly routerIpv4: string;
    readonly routerIpv6: string;
    readonly routerUla: string;
    readonly bridge: string;
  };
  readonly stunPort: number;
  readonly upnpHttpPort: number;
}

export interface LabPlanOptions {
  /** Namespace prefix, unique per lab instance: `[a-z][a-z0-9]{0,7}`. */
  readonly prefix: string;
  /** Where state, configs, leases and logs live (default `/run/homenet-lab/<prefix>`). */
  readonly runDir?: string;
  /** The access network kind (default `public`). */
  readonly wan?: LabWanKind;
  /** conntrack UDP timeout (s) in the carrier/upstream namespace (`--udp-timeout`); NAT kinds only. */
  readonly udpTimeoutSeconds?: number;
  /** The upstream NAT's mapping behaviour (`--nat-mapping`, default `eim`); NAT kinds only. */
  readonly natMapping?: LabNatMapping;
}

/** The namespace names a lab of this prefix may use for its upstream (so `down` removes them whatever the kind). */
export function upstreamNamespaces(prefix: string): string[] {
  return [`${prefix}-carrier`, `${prefix}-upstream`];
}

export function validateLabWanKind(kind: string): LabWanKind {
  if (!(LAB_WAN_KINDS as readonly string[]).includes(kind)) throw new Error(`--wan must be one of ${LAB_WAN_KINDS.join(', ')}, not '${kind}'`);
  return kind as LabWanKind;
}

function upstreamOf(prefix: string, kind: LabWanKind, options: LabPlanOptions): LabUpstream | undefined {
  const { udpTimeoutSeconds, natMapping } = options;
  if (kind === 'public') {
    if (udpTimeoutSeconds !== undefined) throw new Error('--udp-timeout needs a NAT above the router: --wan cgnat or double-nat');
    if (natMapping !== undefined) throw new Error('--nat-mapping needs a NAT above the router: --wan cgnat or double-nat');
    return undefined;
  }
  if (natMapping !== undefined && !(LAB_NAT_MAPPINGS as readonly string[]).includes(natMapping)) {
    throw new Error(`--nat-mapping must be one of ${LAB_NAT_MAPPINGS.join(', ')}, not '${natMapping as string}'`);
  }
  if (udpTimeoutSeconds !== undefined && (!Number.isInteger(udpTimeoutSeconds) || udpTimeoutSeconds < 1 || udpTimeoutSeconds > 86400)) {
    throw new Error(`--udp-timeout must be a whole number of seconds, 1-86400, not '${udpTimeoutSeconds}'`);
  }
  const role = kind === 'cgnat' ? 'carrier' : 'upstream';
  const down = kind === 'cgnat' ? { address: '100.64.0.1', prefixLength: 10 } : { address: '192.168.100.1', prefixLength: 24 };
  return {
    role,
    namespace: `${prefix}-${role}`,
    interfaces: [
      { name: 'down0', ipv4: [down], ipv6: [{ address: '2001:db8:101::1', prefixLength: 64, kind: 'router' }] },
      { name: 'up0', ipv4: [{ address: '198.51.100.1', prefixLength: 24 }], ipv6: [{ address: '2001:db8:100::1', prefixLength: 64, kind: 'wan' }] },
    ],
    gatewayIpv4: down.address,
    gatewayIpv6: '2001:db8:101::1',
    ...(udpTimeoutSeconds !== undefined ? { udpTimeoutSeconds } : {}),
    natMapping: natMapping ?? 'eim',
  };
}

const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,7}$/;

export function validateLabPrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`lab prefix '${prefix}' is not valid: use 1-8 lowercase letters or digits, starting with a letter`);
  }
  return prefix;
}

function lanHost(role: LabLanRole, prefix: string, host: number, options: { ipv4: boolean }): LabHost {
  return {
    role,
    namespace: `${prefix}-${role}`,
    interfaces: [
      {
        name: 'eth0',
        ipv4: options.ipv4 ? [{ address: `192.168.77.${host}`, prefixLength: 24 }] : [],
        ipv6: [
          { address: `2001:db8:77::${host}`, prefixLength: 64, kind: 'gua-stable' },
          { address: `fd00:77::${host}`, prefixLength: 64, kind: 'ula' },
        ],
      },
    ],
  };
}

export function labPlan(options: LabPlanOptions): LabPlan {
  const prefix = validateLabPrefix(options.prefix);
  const kind = validateLabWanKind(options.wan ?? 'public');
  const upstream = upstreamOf(prefix, kind, options);
  const routerWanIpv4 = kind === 'cgnat' ? { address: '100.64.0.2', prefixLength: 10 } : kind === 'double-nat' ? { address: '192.168.100.2', prefixLength: 24 } : { address: '198.51.100.1', prefixLength: 24 };
  const routerWanIpv6 = upstream ? '2001:db8:101::2' : '2001:db8:100::1';
  return {
    prefix,
    runDir: options.runDir ?? `/run/homenet-lab/${prefix}`,
    ...(upstream ? { upstream } : {}),
    hosts: {
      router: {
        role: 'router',
        namespace: `${prefix}-router`,
        interfaces: [
          {
            name: 'wan0',
            ipv4: [routerWanIpv4],
            ipv6: [{ address: routerWanIpv6, prefixLength: 64, kind: 'wan' }],
          },
          {
            name: 'lan0',
            ipv4: [{ address: '192.168.77.1', prefixLength: 24 }],
            ipv6: [
              { address: '2001:db8:77::1', prefixLength: 64, kind: 'router' },
              { address: 'fd00:77::1', prefixLength: 64, kind: 'ula' },
            ],
          },
        ],
      },
      console: lanHost('console', prefix, 10, { ipv4: true }),
      console2: lanHost('console2', prefix, 11, { ipv4: true }),
      hub: lanHost('hub', prefix, 5, { ipv4: true }),
      // Matter devices: the plug is dual-stack, the lock IPv6-only (as a Thread
      // device behind a border router would be).
      plug: lanHost('plug', prefix, 20, { ipv4: true }),
      lock: lanHost('lock', prefix, 21, { ipv4: false }),
      wan: {
        role: 'wan',
        namespace: `${prefix}-wan`,
        interfaces: [
          {
            name: 'eth0',
            ipv4: [
              { address: '198.51.100.2', prefixLength: 24 },
              { address: '198.51.100.3', prefixLength: 24 },
            ],
            ipv6: [{ address: '2001:db8:100::2', prefixLength: 64, kind: 'wan' }],
          },
        ],
      },
    },
    wan: {
      kind,
      routerIpv4: routerWanIpv4.address,
      publicIpv4: '198.51.100.1',
      routerIpv6: routerWanIpv6,
      homeRouteIpv6: '2001:db8:100::1',
      peerIpv4: '198.51.100.2',
      peerIpv4Alternate: '198.51.100.3',
      peerIpv6: '2001:db8:100::2',
      lanIpv6Prefix: '2001:db8:77::/64',
    },
    lan: { routerIpv4: '192.168.77.1', routerIpv6: '2001:db8:77::1', routerUla: 'fd00:77::1', bridge: 'lan0' },
    stunPort: 3478,
    upnpHttpPort: 5000,
  };
}
