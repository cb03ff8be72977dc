import { LabPlan, LabUpstream } from './lab-plan';
import { runCommand } from '../../adapters/system/run-command';

/**
 * The NAT44 of the lab's carrier (`--wan cgnat`) or upstream home router
 * (`--wan double-nat`): IPv4 leaving `up0` is source-NATed to the public
 * address (198.51.100.1) with nftables `snat`, which is Linux conntrack NAT:
 *
 * - **Mapping** (`--nat-mapping`): `eim` (default) is plain `snat`,
 *   endpoint-independent in practice — the source port is preserved when no
 *   other flow uses it, so a second destination from the same socket gets
 *   the same public port; a clash picks another port. `apdm` adds
 *   `fully-random`: a random public port per new flow, so every destination
 *   sees another one (a "symmetric" NAT).
 * - **Filtering**: address-and-port-dependent (RFC 4787 terms): only the
 *   exact remote address and port a flow was sent to can answer; anything
 *   else sent to the public address has no conntrack entry, is not translated
 *   and is delivered to the upstream itself (ICMP port unreachable). There is
 *   no endpoint-independent ("full cone") filtering in stock nftables, so an
 *   inbound port mapping through this NAT is impossible — which is why UPnP
 *   on the inner router is `ineffective` for IPv4.
 * - **Timeouts**: a UDP mapping dies after `net.netfilter.nf_conntrack_udp_timeout`
 *   (30 s) idle, 120 s (`..._udp_timeout_stream`) once packets went both ways
 *   for a while; `--udp-timeout S` sets both to S inside the upstream's
 *   namespace (conntrack timeouts are per network namespace), as cheap CPE do.
 *
 * IPv6 is routed through the upstream untouched (no NAT, no filter): the
 * inner router's firewall and pinholes decide, as with native IPv6 and a
 * delegated prefix.
 *
 * @example
 * ```ts
 * const plan = labPlan({ prefix: 'cg', wan: 'cgnat', udpTimeoutSeconds: 30, natMapping: 'apdm' });
 * upstreamNatRuleset(plan.upstream!, plan.wan.publicIpv4); // 'table ip homenet_lab_nat { ... snat to 198.51.100.1 fully-random ... }'
 * ```
 */
export function upstreamNatRuleset(upstream: LabUpstream, publicIpv4: string): string {
  return `add table ip homenet_lab_nat
delete table ip homenet_lab_nat

table ip homenet_lab_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "up0" snat to ${publicIpv4}${upstream.natMapping === 'apdm' ? ' fully-random' : ''} comment "${upstream.role === 'carrier' ? 'carrier-grade NAT44 (RFC 6598 inside)' : 'upstream home router NAT44'}"
  }
}
`;
}

/** Loads the upstream's NAT and sets its conntrack UDP timeout when the plan asks for one. */
export async function loadUpstreamNat(plan: LabPlan): Promise<void> {
  const upstream = plan.upstream;
  if (!upstream) return;
  await runCommand('ip', ['netns', 'exec', upstream.namespace, 'nft', '-f', '-'], { input: upstreamNatRuleset(upstream, plan.wan.publicIpv4) });
  if (upstream.udpTimeoutSeconds !== undefined) {
    // nf_conntrack is loaded by the NAT table above, so its per-namespace sysctls exist now.
    await runCommand('ip', [
      'netns',
      'exec',
      upstream.namespace,
      'sysctl',
      '-qw',
      `net.netfilter.nf_conntrack_udp_timeout=${upstream.udpTimeoutSeconds}`,
      `net.netfilter.nf_conntrack_udp_timeout_stream=${upstream.udpTimeoutSeconds}`,
    ]);
  }
}
