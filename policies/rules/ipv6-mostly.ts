import { Family } from '../model/address';
import { Change } from '../model/decision';
import { Ipv6OnlyEvidence } from '../model/device';
import { NetworkFacts } from '../model/network';
import { Reason, reason } from '../model/reason';

/** Which legs a need gets, and what happened to the ones it asked for. */
export interface FamilyPlan {
  /** Families to try to grant. */
  readonly legs: readonly Family[];
  /** Families asked for that cannot work: hole punching or a relay is the answer. */
  readonly ineffective: readonly Reason[];
  readonly changes: readonly Change[];
  readonly reasons: readonly Reason[];
}

const WAN = { kind: 'network' as const, id: 'wan-ipv4' };

/** Why an IPv4 mapping on this network would not make the host reachable, if it would not. */
export function ipv4Ineffective(network: NetworkFacts): Reason | undefined {
  if (network.ipv4OverIpv6.mode === 'ds-lite') {
    return reason('ipv6-mostly', 'ds-lite', {
      family: 'ipv4',
      conflictsWith: WAN,
      detail: "DS-Lite: the AFTR's NAPT sits above the router, an IPv4 mapping is ineffective; use IPv6, hole punching or a relay",
    });
  }
  if (network.ipv4OverIpv6.mode === 'map-e') return undefined;
  switch (network.wanIpv4) {
    case 'cgnat':
      return reason('ipv6-mostly', 'cgnat', {
        family: 'ipv4',
        conflictsWith: WAN,
        detail: 'the WAN IPv4 address is CGNAT (100.64.0.0/10): an IPv4 mapping is ineffective; use IPv6, hole punching or a relay',
      });
    case 'private':
      return reason('ipv6-mostly', 'double-nat', {
        family: 'ipv4',
        conflictsWith: WAN,
        detail: 'the WAN IPv4 address is private (double NAT): an IPv4 mapping is ineffective',
      });
    case 'none':
      return reason('ipv6-mostly', 'no-ipv4-wan', { family: 'ipv4', conflictsWith: WAN, detail: 'the WAN has no IPv4' });
    default:
      return undefined;
  }
}

/**
 * Rule 8, IPv6-mostly: an IPv4 need from an IPv6-only host (RFC 8925 option
 * 108 accepted, or CLAT) becomes an IPv6 pinhole (granted-with-changes); under
 * CGNAT / DS-Lite (or double NAT) an IPv4 need is `ineffective` with the
 * reason, so the game can pick hole punching or a relay at once.
 */
const V6_ONLY: FamilyPlan = Object.freeze({ legs: Object.freeze(['ipv6'] as Family[]), ineffective: [], changes: [], reasons: [] });
const V4_ONLY: FamilyPlan = Object.freeze({ legs: Object.freeze(['ipv4'] as Family[]), ineffective: [], changes: [], reasons: [] });
const BOTH: FamilyPlan = Object.freeze({ legs: Object.freeze(['ipv6', 'ipv4'] as Family[]), ineffective: [], changes: [], reasons: [] });

export function planFamilies(
  wanted: Family | 'both',
  ipv6Only: Ipv6OnlyEvidence | undefined,
  network: NetworkFacts,
): FamilyPlan {
  if (wanted === 'ipv6') return V6_ONLY;
  if (ipv6Only) {
    const r = reason('ipv6-mostly', 'ipv6-only-host', {
      family: 'ipv4',
      detail: `the host is IPv6-only (${ipv6Only}); it is reachable through an IPv6 pinhole instead`,
    });
    return {
      legs: ['ipv6'],
      ineffective: [],
      changes: wanted === 'ipv4' ? [{ field: 'family', wanted: 'ipv4', got: 'ipv6' }] : [{ field: 'family', wanted: 'both', got: 'ipv6' }],
      reasons: [r],
    };
  }
  const why = ipv4Ineffective(network);
  if (wanted === 'ipv4') {
    return why ? { legs: [], ineffective: [why], changes: [], reasons: [] } : V4_ONLY;
  }
  return why
    ? { legs: ['ipv6'], ineffective: [why], changes: [{ field: 'family', wanted: 'both', got: 'ipv6' }], reasons: [] }
    : BOTH;
}
