/**
 * The built-in lab home as data: which namespaces exist, how they are wired and
 * which addresses each interface carries. Everything else in `plugin/lab/`
 * builds, reports or tears down what this plan says, so the `--json` output of
 * `homenet lab status` and the tests read the same names.
 *
 * Addresses are documentation prefixes only: 198.51.100.0/24 and
 * 2001:db8:100::/64 on the WAN, RFC 1918 192.168.77.0/24, 2001:db8:77::/64 and
 * the ULA fd00:77::/64 on the LAN.
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

export interface LabPlan {
  readonly prefix: string;
  readonly runDir: string;
  readonly hosts: Readonly<Record<LabRole, LabHost>>;
  /** Addresses the WAN peer (the remote player) uses. */
  readonly wan: {
    readonly routerIpv4: string;
    readonly routerIpv6: string;
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
  return {
    prefix,
    runDir: options.runDir ?? `/run/homenet-lab/${prefix}`,
    hosts: {
      router: {
        role: 'router',
        namespace: `${prefix}-router`,
        interfaces: [
          {
            name: 'wan0',
            ipv4: [{ address: '198.51.100.1', prefixLength: 24 }],
            ipv6: [{ address: '2001:db8:100::1', prefixLength: 64, kind: 'wan' }],
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
      routerIpv4: '198.51.100.1',
      routerIpv6: '2001:db8:100::1',
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
