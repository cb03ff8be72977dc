/**
 * The default router of one address family, read from the kernel's routing
 * table (`ip -j route show default`): where the agent sends its PCP and
 * NAT-PMP requests (RFC 6887 section 8.1: the default router is the PCP
 * server). An IPv6 default router is usually link-local; it comes back with
 * its zone (`fe80::1%eth0`) so that a socket can reach it.
 *
 * @example
 * ```ts
 * const router = await readDefaultRouter('ipv6');   // { address: 'fe80::1%eth0', interfaceName: 'eth0' } or undefined
 * parseDefaultRoutes('[{"dst":"default","gateway":"192.168.77.1","dev":"eth0"}]'); // [{ address: '192.168.77.1', interfaceName: 'eth0' }]
 * ```
 */
import { runCommand } from '../../adapters/system/run-command';
import { canonicalAddress, isLinkLocalIpv6 } from '../../policies/model/address';

export interface DefaultRouter {
  /** The router's address; a link-local IPv6 one carries its zone (`fe80::1%eth0`). */
  readonly address: string;
  readonly interfaceName?: string;
}

interface RouteJson {
  readonly dst?: unknown;
  readonly gateway?: unknown;
  readonly dev?: unknown;
  readonly metric?: unknown;
  readonly nexthops?: readonly { readonly gateway?: unknown; readonly dev?: unknown }[];
}

/**
 * The default routers in `ip -j route show default` output, best (lowest
 * metric) first. Routes without a gateway (e.g. a point-to-point default) are
 * skipped. Throws a clear error when the text is not the JSON `ip` writes.
 */
export function parseDefaultRoutes(json: string): DefaultRouter[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.trim() === '' ? '[]' : json);
  } catch (error) {
    throw new Error(`cannot read the routing table: 'ip -j route' printed no JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new Error("cannot read the routing table: 'ip -j route' printed no list");
  const routes = (parsed as RouteJson[])
    .filter((r) => r !== null && typeof r === 'object' && r.dst === 'default')
    .sort((a, b) => (typeof a.metric === 'number' ? a.metric : 0) - (typeof b.metric === 'number' ? b.metric : 0));
  const out: DefaultRouter[] = [];
  for (const r of routes) {
    const hops = r.gateway !== undefined ? [{ gateway: r.gateway, dev: r.dev }] : (r.nexthops ?? []);
    for (const hop of hops) {
      if (typeof hop.gateway !== 'string') continue;
      const address = canonicalAddress(hop.gateway);
      if (address === undefined) continue;
      const dev = typeof hop.dev === 'string' ? hop.dev : undefined;
      out.push({ address: dev && isLinkLocalIpv6(address) ? `${address}%${dev}` : address, ...(dev ? { interfaceName: dev } : {}) });
    }
  }
  return out;
}

/** The best default router of `family`, or undefined when there is none. */
export async function readDefaultRouter(family: 'ipv4' | 'ipv6'): Promise<DefaultRouter | undefined> {
  const { stdout } = await runCommand('ip', ['-j', family === 'ipv6' ? '-6' : '-4', 'route', 'show', 'default'], { timeoutMs: 5000 });
  return parseDefaultRoutes(stdout)[0];
}
