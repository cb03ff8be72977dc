import { addressFromBytes, addressToBytes, isIpv6Literal } from '../../policies/model/address';
import { decodePref64, encodePref64, Pref64, PREF64_OPTION_TYPE, Pref64FormatError } from './pref64-option';

/** A Prefix Information option (RFC 4861 §4.6.2). */
export interface PrefixInformation {
  /** e.g. `2001:db8:77::/64`. */
  readonly prefix: string;
  readonly onLink: boolean;
  readonly autonomous: boolean;
  readonly validLifetime: number;
  /** 0 means deprecated (renumbering). */
  readonly preferredLifetime: number;
}

/** Recursive DNS servers (RFC 8106). */
export interface RecursiveDnsServers {
  readonly lifetime: number;
  readonly servers: readonly string[];
}

/** What one router advertisement carries. */
export interface RouterAdvertisement {
  readonly hopLimit: number;
  readonly managed: boolean;
  readonly otherConfig: boolean;
  readonly routerLifetime: number;
  readonly prefixes: readonly PrefixInformation[];
  readonly rdnss: readonly RecursiveDnsServers[];
  readonly pref64: readonly Pref64[];
  readonly mtu?: number;
  readonly sourceLinkLayerAddress?: string;
}

export class RouterAdvertisementFormatError extends Error {
  constructor(detail: string) {
    super(`malformed router advertisement: ${detail}`);
    this.name = 'RouterAdvertisementFormatError';
  }
}

function ipv6At(bytes: Uint8Array, offset: number): string {
  const address = addressFromBytes(bytes.subarray(offset, offset + 16));
  if (address === undefined) throw new RouterAdvertisementFormatError(`no 16-byte address at offset ${offset}`);
  return address;
}

/** The 16 bytes of an IPv6 literal to encode; a clear error for anything else. */
function ipv6Bytes(address: string, what: string): number[] {
  const bytes = isIpv6Literal(address) ? addressToBytes(address) : undefined;
  if (bytes === undefined) throw new RouterAdvertisementFormatError(`${what} ${JSON.stringify(address)} is not an IPv6 address`);
  return bytes;
}

/**
 * Decodes an ICMPv6 router advertisement (the ICMPv6 message, from its type
 * byte). Options with length 0 or running past the end make the whole RA
 * invalid (RFC 4861 §4.6); unknown options are skipped.
 *
 * @example
 * ```ts
 * const ra = decodeRouterAdvertisement(bytes);
 * ra.pref64[0]?.prefix; // '64:ff9b::/96'
 * ```
 */
export function decodeRouterAdvertisement(message: Uint8Array): RouterAdvertisement {
  if (message.length < 16) throw new RouterAdvertisementFormatError(`${message.length} bytes; an RA has at least 16`);
  if (message[0] !== 134) throw new RouterAdvertisementFormatError(`ICMPv6 type ${message[0]} is not 134`);
  if (message[1] !== 0) throw new RouterAdvertisementFormatError(`ICMPv6 code ${message[1]} is not 0`);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const prefixes: PrefixInformation[] = [];
  const rdnss: RecursiveDnsServers[] = [];
  const pref64: Pref64[] = [];
  let mtu: number | undefined;
  let sourceLinkLayerAddress: string | undefined;
  let offset = 16;
  while (offset < message.length) {
    if (offset + 2 > message.length) throw new RouterAdvertisementFormatError(`an option header at byte ${offset} is cut off`);
    const type = message[offset];
    const length = message[offset + 1] * 8;
    if (length === 0) throw new RouterAdvertisementFormatError(`option type ${type} at byte ${offset} has length 0`);
    if (offset + length > message.length) throw new RouterAdvertisementFormatError(`option type ${type} at byte ${offset} runs past the end`);
    const body = message.subarray(offset, offset + length);
    switch (type) {
      case 1:
        if (length === 8) sourceLinkLayerAddress = Array.from(body.subarray(2, 8), (b) => b.toString(16).padStart(2, '0')).join(':');
        break;
      case 3:
        if (length !== 32) throw new RouterAdvertisementFormatError(`prefix information of ${length} bytes (32 expected)`);
        if (body[2] > 128) throw new RouterAdvertisementFormatError(`prefix length ${body[2]}`);
        prefixes.push({
          prefix: `${ipv6At(body, 16)}/${body[2]}`,
          onLink: (body[3] & 0x80) !== 0,
          autonomous: (body[3] & 0x40) !== 0,
          validLifetime: view.getUint32(offset + 4),
          preferredLifetime: view.getUint32(offset + 8),
        });
        break;
      case 5:
        if (length === 8) mtu = view.getUint32(offset + 4);
        break;
      case 25: {
        if (length < 24 || (length - 8) % 16 !== 0) throw new RouterAdvertisementFormatError(`RDNSS option of ${length} bytes`);
        const servers: string[] = [];
        for (let p = 8; p < length; p += 16) servers.push(ipv6At(body, p));
        rdnss.push({ lifetime: view.getUint32(offset + 4), servers });
        break;
      }
      case PREF64_OPTION_TYPE:
        try {
          pref64.push(decodePref64(body));
        } catch (error) {
          if (error instanceof Pref64FormatError) throw new RouterAdvertisementFormatError(error.message);
          throw error;
        }
        break;
      default:
        break;
    }
    offset += length;
  }
  return {
    hopLimit: message[4],
    managed: (message[5] & 0x80) !== 0,
    otherConfig: (message[5] & 0x40) !== 0,
    routerLifetime: view.getUint16(6),
    prefixes,
    rdnss,
    pref64,
    ...(mtu !== undefined ? { mtu } : {}),
    ...(sourceLinkLayerAddress ? { sourceLinkLayerAddress } : {}),
  };
}

/**
 * Encodes an RA (checksum left 0: the kernel fills it for a raw ICMPv6
 * socket). The lab's RA sender sends these bytes.
 *
 * @example
 * ```ts
 * encodeRouterAdvertisement({ routerLifetime: 1800, prefixes: [{ prefix: '2001:db8:77::/64', onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 }],
 *   rdnss: [{ lifetime: 1800, servers: ['2001:db8:77::1'] }], pref64: [{ prefix: '64:ff9b::/96', prefixLength: 96, lifetime: 1800 }] });
 * ```
 */
export function encodeRouterAdvertisement(ra: Partial<RouterAdvertisement> & Pick<RouterAdvertisement, 'routerLifetime'>): Uint8Array {
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(16);
  const hv = new DataView(header.buffer);
  header[0] = 134;
  header[4] = ra.hopLimit ?? 64;
  header[5] = (ra.managed ? 0x80 : 0) | (ra.otherConfig ? 0x40 : 0);
  hv.setUint16(6, ra.routerLifetime);
  parts.push(header);
  if (ra.sourceLinkLayerAddress) {
    const o = new Uint8Array(8);
    o[0] = 1;
    o[1] = 1;
    o.set(ra.sourceLinkLayerAddress.split(':').map((h) => parseInt(h, 16)), 2);
    parts.push(o);
  }
  if (ra.mtu !== undefined) {
    const o = new Uint8Array(8);
    o[0] = 5;
    o[1] = 1;
    new DataView(o.buffer).setUint32(4, ra.mtu);
    parts.push(o);
  }
  for (const p of ra.prefixes ?? []) {
    const [address, length] = p.prefix.split('/');
    const o = new Uint8Array(32);
    const v = new DataView(o.buffer);
    o[0] = 3;
    o[1] = 4;
    o[2] = Number(length);
    o[3] = (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0);
    v.setUint32(4, p.validLifetime);
    v.setUint32(8, p.preferredLifetime);
    o.set(ipv6Bytes(address, 'prefix'), 16);
    parts.push(o);
  }
  for (const r of ra.rdnss ?? []) {
    const o = new Uint8Array(8 + 16 * r.servers.length);
    o[0] = 25;
    o[1] = o.length / 8;
    new DataView(o.buffer).setUint32(4, r.lifetime);
    r.servers.forEach((s, i) => o.set(ipv6Bytes(s, 'RDNSS server'), 8 + 16 * i));
    parts.push(o);
  }
  for (const p of ra.pref64 ?? []) parts.push(encodePref64(p));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
