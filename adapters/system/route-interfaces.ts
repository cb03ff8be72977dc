/**
 * Which of a router's interfaces face the WAN and which the LAN, found from
 * the kernel's routes and addresses (`ip -j route`, `ip -j -d addr`), for a
 * gateway started without naming them.
 *
 * The rule:
 * - **WAN** is the interface of the default route: the IPv4 one when there is
 *   one, else the IPv6 one; among several, the lowest metric. Two default
 *   routes of the same family and metric on different interfaces cannot be
 *   decided.
 * - **LAN** is every interface that is up, multicast-capable, not loopback,
 *   not point-to-point, not a port of a bridge (the bridge stands for its
 *   ports), not the WAN, and holds a global or ULA IPv6 address or a private
 *   IPv4 address (10/8, 172.16/12, 192.168/16). When some of those are
 *   bridges, only the bridges are the LAN (a router's LAN is its bridge).
 * - When either cannot be decided, {@link InterfaceChoiceError} names the
 *   candidates and the config keys to set (`wan.interface`, `lan.interfaces`).
 *
 * @example
 * ```ts
 * const choice = chooseGatewayInterfaces(await readRouterInterfaces());
 * choice.wan;        // 'wan0'
 * choice.lan;        // ['lan0']
 * choice.why.lan;    // 'lan0: bridge with 192.168.77.1/24, 2001:db8:77::1/64, fd00:77::1/64'
 * ```
 */
import { canonicalAddress, scopeOf } from '../../policies/model/address';
import { runCommand } from './run-command';

export interface LinkAddress {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
  readonly prefixLength: number;
}

/** One interface as `ip -j -d addr show` describes it. */
export interface RouterLink {
  readonly name: string;
  readonly flags: readonly string[];
  /** `linkinfo.info_kind`: `bridge`, `veth`, `vlan`, ... (absent for plain NICs). */
  readonly kind?: string;
  /** The bridge (or bond) this interface is a port of. */
  readonly master?: string;
  readonly addresses: readonly LinkAddress[];
}

export interface DefaultRoute {
  readonly family: 'ipv4' | 'ipv6';
  readonly dev: string;
  readonly metric: number;
  readonly gateway?: string;
}

/** What the choice is made from. */
export interface RouterInterfaces {
  readonly links: readonly RouterLink[];
  readonly defaultRoutes: readonly DefaultRoute[];
}

export interface InterfaceChoice {
  readonly wan: string;
  readonly lan: readonly string[];
  /** Why, in words, for the log. */
  readonly why: { readonly wan: string; readonly lan: string };
}

/** The interfaces cannot be decided; the message names the candidates and what to set. */
export class InterfaceChoiceError extends Error {
  constructor(
    message: string,
    readonly candidates: readonly string[],
  ) {
    super(message);
    this.name = 'InterfaceChoiceError';
  }
}

type Json = Record<string, unknown>;

function jsonArray(text: string, what: string): Json[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.trim() === '' ? '[]' : text);
  } catch (error) {
    throw new Error(`cannot read ${what}: not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error(`cannot read ${what}: expected a JSON list`);
  return parsed.filter((e): e is Json => typeof e === 'object' && e !== null);
}

/** Parses `ip -j -d addr show`. */
export function parseIpAddrJson(text: string): RouterLink[] {
  return jsonArray(text, 'ip -j addr output').flatMap((link) => {
    if (typeof link.ifname !== 'string') return [];
    const info = link.linkinfo as Json | undefined;
    const addresses = (Array.isArray(link.addr_info) ? (link.addr_info as Json[]) : []).flatMap((a): LinkAddress[] => {
      const address = typeof a.local === 'string' ? canonicalAddress(a.local) : undefined;
      if (address === undefined || (a.family !== 'inet' && a.family !== 'inet6')) return [];
      return [{ family: a.family === 'inet' ? 'ipv4' : 'ipv6', address, prefixLength: typeof a.prefixlen === 'number' ? a.prefixlen : 0 }];
    });
    return [
      {
        name: link.ifname,
        flags: Array.isArray(link.flags) ? link.flags.filter((f): f is string => typeof f === 'string') : [],
        ...(typeof info?.info_kind === 'string' ? { kind: info.info_kind } : {}),
        ...(typeof link.master === 'string' ? { master: link.master } : {}),
        addresses,
      },
    ];
  });
}

/** Parses `ip -j [-6] route show default`. */
export function parseDefaultRoutesJson(text: string, family: 'ipv4' | 'ipv6'): DefaultRoute[] {
  return jsonArray(text, 'ip -j route output').flatMap((r): DefaultRoute[] => {
    if (r.dst !== 'default' || typeof r.dev !== 'string') return [];
    return [{ family, dev: r.dev, metric: typeof r.metric === 'number' ? r.metric : 0, ...(typeof r.gateway === 'string' ? { gateway: r.gateway } : {}) }];
  });
}

/** Reads this network namespace's links and default routes with `ip`. */
export async function readRouterInterfaces(run: typeof runCommand = runCommand): Promise<RouterInterfaces> {
  const [addr, v4, v6] = await Promise.all([
    run('ip', ['-j', '-d', 'addr', 'show']),
    run('ip', ['-j', '-4', 'route', 'show', 'default']),
    run('ip', ['-j', '-6', 'route', 'show', 'default']),
  ]);
  return {
    links: parseIpAddrJson(addr.stdout),
    defaultRoutes: [...parseDefaultRoutesJson(v4.stdout, 'ipv4'), ...parseDefaultRoutesJson(v6.stdout, 'ipv6')],
  };
}

function lanWorthy(a: LinkAddress): boolean {
  const scope = scopeOf(a.address);
  return a.family === 'ipv6' ? scope === 'gua' || scope === 'ula' : scope === 'private';
}

function describeLink(link: RouterLink): string {
  const addresses = link.addresses.filter((a) => scopeOf(a.address) !== 'link-local').map((a) => `${a.address}/${a.prefixLength}`);
  const traits = [link.kind === 'bridge' ? 'bridge' : undefined, link.flags.includes('UP') ? undefined : 'down', link.master ? `port of ${link.master}` : undefined].filter(Boolean);
  return `${link.name} (${[...traits, addresses.length > 0 ? addresses.join(', ') : 'no addresses'].join('; ')})`;
}

function candidatesText(links: readonly RouterLink[]): string {
  const shown = links.filter((l) => !l.flags.includes('LOOPBACK'));
  return shown.length > 0 ? shown.map(describeLink).join(', ') : 'none';
}

/**
 * Chooses the WAN and LAN interfaces by the rule in this file's header.
 * `given` are the ones the configuration names: they are kept as they are,
 * and a given WAN is never a LAN candidate.
 *
 * @throws InterfaceChoiceError naming the candidates and the key to set.
 */
export function chooseGatewayInterfaces(state: RouterInterfaces, given: { readonly wan?: string; readonly lan?: readonly string[] } = {}): InterfaceChoice {
  const byName = new Map(state.links.map((l) => [l.name, l]));
  let wan: string;
  let wanWhy: string;
  if (given.wan !== undefined) {
    wan = given.wan;
    wanWhy = `${wan}: set by wan.interface`;
  } else {
    const family = state.defaultRoutes.some((r) => r.family === 'ipv4') ? 'ipv4' : 'ipv6';
    const routes = state.defaultRoutes.filter((r) => r.family === family);
    if (routes.length === 0) {
      throw new InterfaceChoiceError(
        `cannot choose the WAN interface: there is no default route (IPv4 or IPv6). Interfaces: ${candidatesText(state.links)}. ` +
          `Add the default route, or name the WAN in a config file: {"wan": {"interface": "NAME"}} (homenet serve --mode gateway --config FILE)`,
        state.links.filter((l) => !l.flags.includes('LOOPBACK')).map((l) => l.name),
      );
    }
    const lowest = Math.min(...routes.map((r) => r.metric));
    const best = [...new Set(routes.filter((r) => r.metric === lowest).map((r) => r.dev))];
    if (best.length > 1) {
      throw new InterfaceChoiceError(
        `cannot choose the WAN interface: ${family === 'ipv4' ? 'IPv4' : 'IPv6'} default routes with metric ${lowest} leave through ${best.join(' and ')}. ` +
          `Name the WAN in a config file: {"wan": {"interface": "${best[0]}"}} (homenet serve --mode gateway --config FILE)`,
        best,
      );
    }
    wan = best[0];
    const route = routes.find((r) => r.dev === wan && r.metric === lowest);
    wanWhy = `${wan}: the ${family === 'ipv4' ? 'IPv4' : 'IPv6'} default route${route?.gateway ? ` (via ${route.gateway})` : ''} leaves through it`;
  }

  if (given.lan !== undefined) {
    if (given.lan.includes(wan)) throw new InterfaceChoiceError(`the WAN interface ${wan} is also in lan.interfaces; name the LAN in lan.interfaces without it`, [...given.lan]);
    return { wan, lan: [...given.lan], why: { wan: wanWhy, lan: `${given.lan.join(', ')}: set by lan.interfaces` } };
  }
  const candidates = state.links.filter(
    (l) =>
      l.name !== wan &&
      l.master === undefined &&
      l.flags.includes('UP') &&
      l.flags.includes('MULTICAST') &&
      !l.flags.includes('LOOPBACK') &&
      !l.flags.includes('POINTOPOINT') &&
      l.addresses.some(lanWorthy),
  );
  if (candidates.length === 0) {
    throw new InterfaceChoiceError(
      `cannot choose the LAN interface: besides the WAN (${wan}) no interface is up with a global/ULA IPv6 or private IPv4 address. Interfaces: ${candidatesText(state.links)}. ` +
        `Name the LAN in a config file: {"lan": {"interfaces": ["NAME"]}} (homenet serve --mode gateway --config FILE)`,
      state.links.filter((l) => l.name !== wan && !l.flags.includes('LOOPBACK')).map((l) => l.name),
    );
  }
  const bridges = candidates.filter((l) => l.kind === 'bridge');
  const lan = bridges.length > 0 ? bridges : candidates;
  const passedOver = bridges.length > 0 ? candidates.filter((l) => l.kind !== 'bridge').map((l) => l.name) : [];
  const lanWhy =
    lan.map((l) => `${l.name}: ${l.kind === 'bridge' ? 'bridge' : 'interface'} with ${l.addresses.filter(lanWorthy).map((a) => `${a.address}/${a.prefixLength}`).join(', ')}`).join('; ') +
    (passedOver.length > 0 ? ` (bridges preferred over ${passedOver.join(', ')})` : '');
  if (!byName.has(wan) && given.wan === undefined) throw new InterfaceChoiceError(`the default route leaves through ${wan}, which ip addr does not list`, [wan]);
  return { wan, lan: lan.map((l) => l.name), why: { wan: wanWhy, lan: lanWhy } };
}

/** A hub's interface and router: the link its default route leaves through, and that route's gateway. */
export interface HubInterfaceChoice {
  readonly lan: string;
  /** The default route's gateway (the home's router), when the route has one. */
  readonly router?: string;
  readonly why: string;
}

/**
 * Chooses a hub's LAN interface and its router: a hub sits on the home's LAN
 * beside the router, so its default route (IPv4 first: PCP and IGD:1 talk to
 * the router's IPv4 address) leaves through the LAN towards the router.
 *
 * @throws InterfaceChoiceError when there is no default route to follow.
 */
export function chooseHubInterface(state: RouterInterfaces, given: { readonly lan?: string } = {}): HubInterfaceChoice {
  const ordered = [...state.defaultRoutes].sort((a, b) => (a.family === b.family ? a.metric - b.metric : a.family === 'ipv4' ? -1 : 1));
  const route = given.lan !== undefined ? ordered.find((r) => r.dev === given.lan) : ordered[0];
  if (given.lan !== undefined) {
    return { lan: given.lan, ...(route?.gateway ? { router: route.gateway } : {}), why: `${given.lan}: set by lan.interfaces${route?.gateway ? `; router ${route.gateway} from its default route` : ''}` };
  }
  if (!route) {
    throw new InterfaceChoiceError(
      `cannot choose the hub's LAN interface: there is no default route towards the home's router. Interfaces: ${candidatesText(state.links)}. ` +
        `Name it in a config file: {"lan": {"interfaces": ["NAME"]}, "hub": {"router": "ADDRESS"}} (homenet serve --mode hub --config FILE)`,
      state.links.filter((l) => !l.flags.includes('LOOPBACK')).map((l) => l.name),
    );
  }
  return { lan: route.dev, ...(route.gateway ? { router: route.gateway } : {}), why: `${route.dev}: the ${route.family === 'ipv4' ? 'IPv4' : 'IPv6'} default route${route.gateway ? ` via the router ${route.gateway}` : ''} leaves through it` };
}
