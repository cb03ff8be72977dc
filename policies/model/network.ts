import { PortSet } from './port-set';

/**
 * What the WAN side gives the home's IPv4: a public address, a private one
 * (double NAT behind another router), a CGNAT one (100.64.0.0/10), or nothing.
 */
export type WanIpv4Kind = 'public' | 'private' | 'cgnat' | 'none';

/** IPv4-over-IPv6 transition in use on the WAN. */
export type Ipv4OverIpv6 =
  | { readonly mode: 'none' }
  | { readonly mode: 'ds-lite' }
  | { readonly mode: 'map-e'; readonly portSet: PortSet };

/** The home's network facts (one WAN). */
export interface NetworkFacts {
  readonly wanIpv4: WanIpv4Kind;
  readonly ipv4OverIpv6: Ipv4OverIpv6;
  /** PREF64 / NAT64 prefix (RFC 8781 / RFC 7050), when present. */
  readonly pref64?: string;
}

export const DEFAULT_NETWORK: NetworkFacts = { wanIpv4: 'public', ipv4OverIpv6: { mode: 'none' } };
