import { LAN_ROLES, LabInterface, LabPlan, upstreamNamespaces } from './lab-plan';
import { runCommand } from '../../adapters/system/run-command';

/** Runs `ip -n NS -batch -` with the given lines. */
async function ipBatch(namespace: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await runCommand('ip', ['-n', namespace, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

export async function sysctl(namespace: string, settings: Record<string, string | number>): Promise<void> {
  const args = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await runCommand('ip', ['netns', 'exec', namespace, 'sysctl', '-qw', ...args]);
}

export async function existingNamespaces(): Promise<Set<string>> {
  const { stdout } = await runCommand('ip', ['-j', 'netns', 'list'], { allowFailure: true });
  const list = stdout.trim() ? (JSON.parse(stdout) as { name: string }[]) : [];
  return new Set(list.map((n) => n.name));
}

function addressLines(host: { readonly interfaces: readonly LabInterface[] }): string[] {
  const lines: string[] = [];
  for (const iface of host.interfaces) {
    lines.push(`link set ${iface.name} up`);
    for (const a of iface.ipv4) lines.push(`addr add ${a.address}/${a.prefixLength} dev ${iface.name}`);
    for (const a of iface.ipv6) {
      // A LAN host's stable GUA is managed like a SLAAC address (mngtmpaddr) with
      // finite lifetimes, so the kernel also makes an RFC 8981 temporary address
      // from it: the console has stable, temporary, ULA and link-local addresses.
      const slaac = a.kind === 'gua-stable' ? ' mngtmpaddr valid_lft 86400 preferred_lft 14400' : '';
      lines.push(`addr add ${a.address}/${a.prefixLength} dev ${iface.name} nodad${slaac}`);
    }
  }
  return lines;
}

const QUIET_IPV6 = (iface: string) => ({
  [`net.ipv6.conf.${iface}.accept_dad`]: 0,
  [`net.ipv6.conf.${iface}.accept_ra`]: 0,
  [`net.ipv6.conf.${iface}.dad_transmits`]: 0,
});

/**
 * Creates the namespaces, links, addresses and routes of the plan. The caller
 * has made sure none of the plan's namespaces exist.
 */
export async function buildLabNetwork(plan: LabPlan): Promise<void> {
  const { router, wan } = plan.hosts;
  const hosts = Object.values(plan.hosts);
  const upstream = plan.upstream;
  for (const host of [...hosts, ...(upstream ? [{ role: upstream.role, namespace: upstream.namespace }] : [])]) {
    await runCommand('ip', ['netns', 'add', host.namespace]);
    await sysctl(host.namespace, {
      'net.ipv6.conf.all.accept_dad': 0,
      'net.ipv6.conf.default.accept_dad': 0,
      'net.ipv6.conf.default.dad_transmits': 0,
      'net.ipv6.conf.all.accept_ra': 0,
      'net.ipv6.conf.default.accept_ra': 0,
      'net.ipv6.conf.default.use_tempaddr': host.role === 'router' || host.role === 'wan' ? 0 : 2,
    });
    await ipBatch(host.namespace, ['link set lo up']);
  }

  if (upstream) {
    // NAT access kinds: router wan0 <-> upstream down0, upstream up0 <-> WAN peer eth0.
    await runCommand('ip', ['link', 'add', 'wan0', 'netns', router.namespace, 'type', 'veth', 'peer', 'name', 'down0', 'netns', upstream.namespace]);
    await runCommand('ip', ['link', 'add', 'up0', 'netns', upstream.namespace, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', wan.namespace]);
  } else {
    // WAN link: router wan0 <-> WAN peer eth0, created directly in both namespaces.
    await runCommand('ip', ['link', 'add', 'wan0', 'netns', router.namespace, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', wan.namespace]);
  }
  // LAN: a bridge on the router, one veth port per LAN host.
  await ipBatch(router.namespace, [`link add ${plan.lan.bridge} type bridge mcast_snooping 0 stp_state 0`]);
  for (const role of LAN_ROLES) {
    const host = plan.hosts[role];
    const port = `lan-${role}`;
    await runCommand('ip', ['link', 'add', port, 'netns', router.namespace, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace]);
    await ipBatch(router.namespace, [`link set ${port} master ${plan.lan.bridge}`, `link set ${port} up`]);
  }

  for (const host of hosts) {
    const settings: Record<string, number> = {};
    for (const iface of host.interfaces) Object.assign(settings, QUIET_IPV6(iface.name));
    if (host.role !== 'router' && host.role !== 'wan') {
      for (const iface of host.interfaces) settings[`net.ipv6.conf.${iface.name}.use_tempaddr`] = 2;
    }
    await sysctl(host.namespace, settings);
    await ipBatch(host.namespace, addressLines(host));
  }

  if (upstream) {
    const settings: Record<string, number> = { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 };
    for (const iface of upstream.interfaces) Object.assign(settings, QUIET_IPV6(iface.name));
    await sysctl(upstream.namespace, settings);
    await ipBatch(upstream.namespace, [...addressLines(upstream), `route add ${plan.wan.lanIpv6Prefix} via ${plan.wan.routerIpv6} dev down0`]);
    await ipBatch(router.namespace, [`route add default via ${upstream.gatewayIpv4} dev wan0`, `route add default via ${upstream.gatewayIpv6} dev wan0`]);
  }
  await sysctl(router.namespace, { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 });
  // With br_netfilter loaded, bridged LAN-to-LAN frames would cross the
  // router's forward chain (default drop) and mDNS between LAN hosts would die.
  await runCommand(
    'ip',
    ['netns', 'exec', router.namespace, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-iptables=0'],
    { allowFailure: true },
  );
  // The WAN peer reaches the LAN /64 through the router, as an ISP routes a
  // delegated prefix; it has no route to the private IPv4 LAN.
  await ipBatch(wan.namespace, [`route add ${plan.wan.lanIpv6Prefix} via ${plan.wan.homeRouteIpv6} dev eth0`]);
  for (const role of LAN_ROLES) {
    const host = plan.hosts[role];
    const v4 = host.interfaces[0].ipv4.length > 0 ? [`route add default via ${plan.lan.routerIpv4} dev eth0`] : [];
    await ipBatch(host.namespace, [...v4, `route add default via ${plan.lan.routerIpv6} dev eth0`]);
  }
}

/**
 * Deletes the plan's namespaces that exist (and with them every link in them),
 * including this prefix's carrier/upstream namespace whatever the plan's WAN kind.
 */
export async function removeLabNetwork(plan: LabPlan): Promise<string[]> {
  const present = await existingNamespaces();
  const removed: string[] = [];
  for (const namespace of [...Object.values(plan.hosts).map((h) => h.namespace), ...upstreamNamespaces(plan.prefix)]) {
    if (!present.has(namespace)) continue;
    await runCommand('ip', ['netns', 'del', namespace], { allowFailure: true });
    removed.push(namespace);
  }
  return removed;
}
