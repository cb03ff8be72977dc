/**
 * The answer a game needs from port opening, one per address family: can a
 * peer reach me directly, at which address and port, and if not, why — so the
 * game can pick its connection pattern (direct, hole punching, relay) at once.
 */
export type ReachabilityVerdict = 'open' | 'not-needed' | 'unsupported' | 'ineffective' | 'denied';

interface VerdictBase {
  readonly family: 'ipv4' | 'ipv6';
  readonly verdict: ReachabilityVerdict;
  /** One sentence for the user. */
  readonly reason: string;
  /** The protocol that gave this verdict (absent: UPnP IGD). */
  readonly via?: 'upnp' | 'pcp' | 'natpmp';
}

export interface OpenReachability extends VerdictBase {
  readonly verdict: 'open';
  readonly protocol: 'udp' | 'tcp';
  /** What peers should use: the host's GUA for IPv6, the router's external address for IPv4. */
  readonly externalAddress: string;
  readonly externalPort: number;
  readonly internalClient: string;
  readonly internalPort: number;
  /** Seconds granted by the router (0 = permanent). */
  readonly leaseSeconds: number;
  /** The router's pinhole id (IPv6). */
  readonly uniqueId?: number;
  /** The gateway's description URL (UPnP), or `pcp://<router>:5351` / `natpmp://<router>:5351`. */
  readonly gateway: string;
  /** PCP: the mapping's nonce (24 hex digits), which deletes it later (`homenet close`). */
  readonly nonce?: string;
  /** PCP / NAT-PMP: the router's address the requests went to (a link-local one with its zone). */
  readonly server?: string;
}

export interface NotNeededReachability extends VerdictBase {
  readonly verdict: 'not-needed';
  readonly gateway?: string;
}

export interface UnsupportedReachability extends VerdictBase {
  readonly verdict: 'unsupported';
  /** JAIPA grade: C = answers discovery but cannot open, D = no discovery. */
  readonly grade: 'C' | 'D';
  readonly gateway?: string;
}

export interface IneffectiveReachability extends VerdictBase {
  readonly verdict: 'ineffective';
  readonly externalIpv4?: string;
  readonly externalIpv4Kind: 'private' | 'cgnat' | 'none';
  readonly gateway: string;
}

export interface DeniedReachability extends VerdictBase {
  readonly verdict: 'denied';
  /** The router's UPnP error code (606, 703, 701, ...) or PCP / NAT-PMP result code (2 NOT_AUTHORIZED, 5 UNSUPP_OPTION, ...), when it gave one. */
  readonly code?: number;
  /** The code's standard name. */
  readonly name?: string;
  readonly gateway?: string;
}

export type Reachability =
  | OpenReachability
  | NotNeededReachability
  | UnsupportedReachability
  | IneffectiveReachability
  | DeniedReachability;
