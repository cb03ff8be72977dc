import { LabPlan } from './lab-plan';

/**
 * The lab router's nftables ruleset: an RFC 6092 customer-edge firewall.
 * LAN -> WAN is allowed, replies are allowed, ICMPv6 errors pass (RFC 4890),
 * everything else arriving from the WAN is dropped unless miniupnpd has put an
 * accept rule (an IPv6 pinhole or an IPv4 port mapping after DNAT) into chain
 * `miniupnpd`. miniupnpd 2.3.1 (nftables build) does not create its chains:
 * `miniupnpd`, `prerouting_miniupnpd` and `postrouting_miniupnpd` of table
 * `inet filter` are its compiled-in names, so they are created here. IPv4 from
 * the LAN leaves through masquerade (NAPT).
 *
 * LAN hosts talk to each other (mDNS, Matter) through the bridge; when the
 * kernel has br_netfilter loaded, bridged frames also cross this forward
 * chain, so bridge-port to bridge-port traffic is accepted explicitly.
 *
 * No input hook: the router itself is not filtered (miniupnpd's STUN test needs
 * unsolicited answers from the WAN peer's second address).
 */
export function routerFirewallRuleset(plan: LabPlan): string {
  const lan = plan.lan.bridge;
  return `add table inet filter
delete table inet filter

table inet filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iifname "${lan}" oifname "wan0" accept comment "LAN to WAN"
    iifname "lan-*" oifname "lan-*" accept comment "LAN to LAN through the bridge (when br_netfilter is loaded)"
    meta l4proto ipv6-icmp icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept
    jump miniupnpd
    counter comment "inbound default deny"
  }

  chain miniupnpd {
  }

  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump prerouting_miniupnpd
  }

  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump postrouting_miniupnpd
    oifname "wan0" meta nfproto ipv4 masquerade comment "IPv4 NAPT for the LAN"
  }

  chain prerouting_miniupnpd {
  }

  chain postrouting_miniupnpd {
  }
}
`;
}
