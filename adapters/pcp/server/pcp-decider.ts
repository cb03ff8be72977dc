/**
 * What the PCP/NAT-PMP listener asks of the gateway, protocol-neutral: open
 * (or renew) a mapping, end one, the external IPv4 address, the epoch. The
 * gateway implements it over its one decision path
 * (`plugin/gateway/pcp-front.ts`: journal, engine, firewall); the listener
 * decides nothing itself, it only turns bytes into asks and answers back.
 *
 * @example
 * ```ts
 * const decider: PcpDecider = {
 *   map: async (ask) => ({ ok: true, lifetime: ask.lifetime, externalPort: ask.suggestedExternalPort || ask.internalPort }),
 *   unmap: async () => true,
 *   externalIpv4: () => '198.51.100.1',
 *   epochSeconds: () => 42,
 * };
 * ```
 */
import type { Decision } from '../../../policies';

/** One MAP (PCP) or mapping request (NAT-PMP), after the listener checked who asks. */
export interface PcpMapAsk {
  /** `ipv6`: a pinhole to the internal client; `ipv4`: a port mapping on the WAN address. */
  readonly family: 'ipv4' | 'ipv6';
  readonly protocol: 'udp' | 'tcp';
  /** The host the mapping is for (canonical): the sender, or the THIRD_PARTY host. */
  readonly internalClient: string;
  readonly internalPort: number;
  /** IPv4: the external port suggested (0: any). */
  readonly suggestedExternalPort: number;
  /** Seconds asked for (the engine's lease rule decides what is granted). */
  readonly lifetime: number;
  /** The packet's source address (canonical). */
  readonly sender: string;
  /** True when a controller asked for another host (THIRD_PARTY). */
  readonly thirdParty: boolean;
  /** PREFER_FAILURE: no other external port than the one suggested. */
  readonly preferFailure: boolean;
  readonly via: 'pcp' | 'natpmp';
}

export type PcpMapResult =
  | { readonly ok: true; readonly lifetime: number; readonly externalPort: number }
  /** The engine refused: its decision is what the answer table reads. */
  | { readonly ok: false; readonly decision: Decision }
  /** Not a need at all (the engine's schema rejected a field). */
  | { readonly ok: false; readonly invalid: string };

export interface PcpDecider {
  map(ask: PcpMapAsk): Promise<PcpMapResult>;
  /** Ends the mapping `ask` names; true when one existed. */
  unmap(ask: PcpMapAsk): Promise<boolean>;
  /** The WAN IPv4 address ('' when none). */
  externalIpv4(): string;
  /** Seconds since the gateway's mapping state began (RFC 6887 8.5). */
  epochSeconds(): number;
}
