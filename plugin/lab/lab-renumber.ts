import { runCommand } from '../../adapters/system/run-command';
import { LAN_ROLES, labPlan, LabPlanOptions } from './lab-plan';
import { readLabState, writeLabState } from './lab-state';
import { LAB_NAT64_PREFIX, updateLabRouterAdvertisement } from './lab-ipv6-mostly';
import { inPrefix } from '../../policies/model/address';

export interface LabRenumbering {
  /** The prefix now preferred, e.g. `2001:db8:78::/64`. */
  readonly current: string;
  /** The prefixes still valid but deprecated (preferred lifetime 0). */
  readonly deprecated: readonly string[];
  /** Each LAN host's new stable address. */
  readonly addresses: Readonly<Record<string, string>>;
}

/** The n-th LAN prefix of the lab: 2001:db8:77::/64, 2001:db8:78::/64, ... */
export function labLanPrefix(index: number): string {
  return `2001:db8:${(0x77 + index).toString(16)}::/64`;
}

function hostPart(address: string): string {
  return address.slice(address.lastIndexOf(':') + 1);
}

/**
 * Renumbers the lab's LAN as an ISP changing the delegated prefix does: a new
 * /64 on the router's LAN and on every LAN host (same interface id, managed
 * as SLAAC so the kernel also makes a temporary address), the old prefix's
 * addresses deprecated (preferred lifetime 0, still valid), the WAN peer's
 * route to the new prefix through the router, and, under the ipv6-mostly
 * profile, an RA at once with the new PIO and the old one deprecated.
 *
 * @example
 * ```ts
 * const r = await labRenumber({ prefix: 'm1' }); // r.current === '2001:db8:78::/64'
 * ```
 */
export async function labRenumber(options: LabPlanOptions): Promise<LabRenumbering> {
  const plan = labPlan(options);
  const state = await readLabState(plan.runDir);
  if (!state) throw new Error(`lab '${plan.prefix}' is not up`);
  if (state.wan && state.wan !== 'public') throw new Error(`renumbering needs the public WAN kind; lab '${plan.prefix}' runs --wan ${state.wan}`);
  const prefixes = state.lanPrefixes ?? [plan.wan.lanIpv6Prefix];
  const current = labLanPrefix(prefixes.length);
  const base = current.replace(/::\/64$/, '::');
  const old = prefixes[0].replace(/::\/64$/, '::');
  const router = plan.hosts.router.namespace;
  const ip = (namespace: string, args: string[], allowFailure = false) => runCommand('ip', ['-n', namespace, ...args], { allowFailure });

  await ip(router, ['addr', 'add', `${base}1/64`, 'dev', plan.lan.bridge, 'nodad']);
  await ip(router, ['addr', 'change', `${old}1/64`, 'dev', plan.lan.bridge, 'valid_lft', '86400', 'preferred_lft', '0']);
  const addresses: Record<string, string> = {};
  for (const role of LAN_ROLES) {
    const host = plan.hosts[role];
    const stable = host.interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!;
    const id = hostPart(stable.address);
    addresses[role] = `${base}${id}`;
    await ip(host.namespace, ['addr', 'add', `${base}${id}/64`, 'dev', 'eth0', 'nodad', 'mngtmpaddr', 'valid_lft', '86400', 'preferred_lft', '14400']);
    // Deprecate every address of the old prefix: the stable one and its temporaries.
    const { stdout } = await ip(host.namespace, ['-j', '-6', 'addr', 'show', 'dev', 'eth0']);
    const links = JSON.parse(stdout) as { addr_info?: { local: string; prefixlen: number }[] }[];
    for (const info of links.flatMap((l) => l.addr_info ?? [])) {
      if (!inPrefix(info.local, old, 64)) continue;
      await ip(host.namespace, ['addr', 'change', `${info.local}/${info.prefixlen}`, 'dev', 'eth0', 'valid_lft', '86400', 'preferred_lft', '0'], true);
    }
    await ip(host.namespace, ['route', 'replace', 'default', 'via', `${base}1`, 'dev', 'eth0']);
  }
  await ip(plan.hosts.wan.namespace, ['route', 'replace', current, 'via', plan.wan.routerIpv6, 'dev', 'eth0']);
  const next = { ...state, lanPrefixes: [current, ...prefixes] };
  await writeLabState(next);
  if (state.profile === 'ipv6-mostly') await updateLabRouterAdvertisement(plan, next, next.pref64 ?? LAB_NAT64_PREFIX);
  return { current, deprecated: prefixes, addresses };
}
