/**
 * PCP messages as data (RFC 6887): the request and response headers, the MAP
 * and PEER opcode fields, and the options THIRD_PARTY, PREFER_FAILURE and
 * FILTER. Addresses are text (IPv4 as dotted quad, IPv6 canonical); nonces are
 * 12 raw bytes. `pcp-codec.ts` turns these into bytes and back.
 *
 * @example
 * ```ts
 * const req: PcpRequest = { opcode: 'map', lifetime: 120, clientAddress: '2001:db8:77::10', options: [],
 *   mapping: { nonce: Buffer.alloc(12, 1), protocol: 17, internalPort: 40030, externalPort: 0, externalAddress: '::' } };
 * ```
 */

/** PCP's version number; NAT-PMP is version 0. */
export const PCP_VERSION = 2;
/** The UDP port a PCP (and NAT-PMP) server listens on. */
export const PCP_SERVER_PORT = 5351;
/** The UDP port clients listen on for unsolicited ANNOUNCE (and NAT-PMP address-change) messages. */
export const PCP_CLIENT_PORT = 5350;
/** The IPv4 and IPv6 groups unsolicited announcements are sent to. */
export const PCP_ANNOUNCE_GROUP_IPV4 = '224.0.0.1';
export const PCP_ANNOUNCE_GROUP_IPV6 = 'ff02::1';
/** Largest PCP message (RFC 6887 section 7). */
export const PCP_MAX_MESSAGE_BYTES = 1100;
export const PCP_HEADER_BYTES = 24;
export const PCP_NONCE_BYTES = 12;
export const PCP_MAP_DATA_BYTES = 36;
export const PCP_PEER_DATA_BYTES = 56;

export const PCP_OPCODES = { announce: 0, map: 1, peer: 2 } as const;
export type PcpOpcode = keyof typeof PCP_OPCODES;

export const PCP_OPTION_CODES = { 'third-party': 1, 'prefer-failure': 2, filter: 3 } as const;

/** IANA protocol numbers the client names. */
export const IP_PROTOCOLS = { tcp: 6, udp: 17 } as const;

/** THIRD_PARTY (code 1): the internal host the request is for, when it is not the sender. */
export interface PcpThirdPartyOption {
  readonly type: 'third-party';
  readonly address: string;
}
/** PREFER_FAILURE (code 2): fail rather than give another external address or port than suggested. */
export interface PcpPreferFailureOption {
  readonly type: 'prefer-failure';
}
/** FILTER (code 3): only let this remote peer (prefix) in. */
export interface PcpFilterOption {
  readonly type: 'filter';
  readonly prefixLength: number;
  readonly remotePeerPort: number;
  readonly remotePeerAddress: string;
}
/** An option this codec does not interpret, kept as its code and raw data. */
export interface PcpUnknownOption {
  readonly type: 'unknown';
  readonly code: number;
  readonly data: Buffer;
}
export type PcpOption = PcpThirdPartyOption | PcpPreferFailureOption | PcpFilterOption | PcpUnknownOption;

/** MAP opcode fields; in a request the external pair is the suggestion, in a response the assignment. */
export interface PcpMapData {
  readonly nonce: Buffer;
  /** IANA protocol number (17 UDP, 6 TCP, 0 all). */
  readonly protocol: number;
  readonly internalPort: number;
  readonly externalPort: number;
  readonly externalAddress: string;
}
/** PEER opcode fields: a MAP plus the remote peer. */
export interface PcpPeerData extends PcpMapData {
  readonly remotePeerPort: number;
  readonly remotePeerAddress: string;
}

interface PcpRequestBase {
  /** Requested lifetime in seconds (0 deletes a mapping). */
  readonly lifetime: number;
  /** The sender's own address (the packet's source). */
  readonly clientAddress: string;
  readonly options: readonly PcpOption[];
}
export type PcpRequest =
  | (PcpRequestBase & { readonly opcode: 'announce' })
  | (PcpRequestBase & { readonly opcode: 'map'; readonly mapping: PcpMapData })
  | (PcpRequestBase & { readonly opcode: 'peer'; readonly mapping: PcpPeerData });

interface PcpResponseBase {
  /** PCP result code (0 = SUCCESS; names in `pcp-result-codes.ts`). */
  readonly resultCode: number;
  /** Seconds the mapping (on success) or the error (on failure) holds. */
  readonly lifetime: number;
  /** The server's epoch: seconds since it last lost its state. */
  readonly epoch: number;
  readonly options: readonly PcpOption[];
}
export type PcpResponse =
  | (PcpResponseBase & { readonly opcode: 'announce' })
  | (PcpResponseBase & { readonly opcode: 'map'; readonly mapping?: PcpMapData })
  | (PcpResponseBase & { readonly opcode: 'peer'; readonly mapping?: PcpPeerData })
  /** An error answer to an opcode this codec does not know (e.g. UNSUPP_OPCODE): header only. */
  | (PcpResponseBase & { readonly opcode: 'unknown'; readonly opcodeCode: number });
