import { addressFromBytes, addressToBytes, isIpv6Literal } from '../../policies/model/address';

/** The NAT64 prefix a router announces in an RA (RFC 8781). */
export interface Pref64 {
  /** e.g. `64:ff9b::/96`. */
  readonly prefix: string;
  readonly prefixLength: 32 | 40 | 48 | 56 | 64 | 96;
  /** Seconds; a multiple of 8 (0 withdraws the prefix). */
  readonly lifetime: number;
}

/** ND option type of PREF64 (RFC 8781 §4). */
export const PREF64_OPTION_TYPE = 38;

/** Prefix Length Code (3 bits) -> prefix length (RFC 8781 §4). */
const PLC_LENGTHS = [96, 64, 56, 48, 40, 32] as const;

/** The largest lifetime the 13-bit scaled field holds: 8191 x 8 s. */
export const PREF64_MAX_LIFETIME = 8191 * 8;

/** A PREF64 option that cannot be used. */
export class Pref64FormatError extends Error {
  constructor(detail: string) {
    super(`malformed PREF64 option: ${detail}`);
    this.name = 'Pref64FormatError';
  }
}

/**
 * Encodes a PREF64 ND option: type 38, length 2 (16 bytes), 13-bit scaled
 * lifetime (units of 8 s, rounded up as the RFC asks) and 3-bit PLC, then the
 * highest 96 bits of the prefix.
 *
 * @example
 * ```ts
 * encodePref64({ prefix: '64:ff9b::', prefixLength: 96, lifetime: 1800 });
 * // Uint8Array [38, 2, 0x07, 0x10, 0x00, 0x64, 0xff, 0x9b, 0, ...]
 * ```
 */
export function encodePref64(option: Pref64): Uint8Array {
  const plc = PLC_LENGTHS.indexOf(option.prefixLength);
  if (plc < 0) throw new Pref64FormatError(`prefix length ${option.prefixLength} is not one of ${PLC_LENGTHS.join(', ')}`);
  if (!Number.isInteger(option.lifetime) || option.lifetime < 0 || option.lifetime > PREF64_MAX_LIFETIME) {
    throw new Pref64FormatError(`lifetime ${option.lifetime} s is outside 0-${PREF64_MAX_LIFETIME}`);
  }
  const bare = option.prefix.replace(/\/\d+$/, '');
  const bytes = isIpv6Literal(bare) && !bare.includes('%') ? addressToBytes(bare) : undefined;
  if (bytes === undefined) throw new Pref64FormatError(`'${option.prefix}' is not an IPv6 prefix`);
  const scaled = Math.ceil(option.lifetime / 8);
  const out = new Uint8Array(16);
  out[0] = PREF64_OPTION_TYPE;
  out[1] = 2;
  const field = (scaled << 3) | plc;
  out[2] = field >> 8;
  out[3] = field & 0xff;
  out.set(bytes.slice(0, 12), 4);
  return out;
}

/**
 * Decodes a PREF64 option (its 16 bytes, type and length included). A wrong
 * type or length, or a reserved PLC, is a {@link Pref64FormatError}. Bits of
 * the prefix beyond its length are cleared, as RFC 8781 §4 says to ignore
 * them.
 *
 * @example
 * ```ts
 * decodePref64(bytes); // { prefix: '64:ff9b::/96', prefixLength: 96, lifetime: 1800 }
 * ```
 */
export function decodePref64(option: Uint8Array): Pref64 {
  if (option.length < 2) throw new Pref64FormatError(`${option.length} bytes`);
  if (option[0] !== PREF64_OPTION_TYPE) throw new Pref64FormatError(`option type ${option[0]} is not ${PREF64_OPTION_TYPE}`);
  if (option[1] !== 2 || option.length !== 16) throw new Pref64FormatError(`length field ${option[1]} (x8 bytes) with ${option.length} bytes; PREF64 is 2 (16 bytes)`);
  const field = (option[2] << 8) | option[3];
  const plc = field & 0x7;
  const prefixLength = PLC_LENGTHS[plc];
  if (prefixLength === undefined) throw new Pref64FormatError(`prefix length code ${plc} is reserved`);
  const bytes = new Array<number>(16).fill(0);
  for (let i = 0; i < 12; i++) bytes[i] = option[4 + i];
  for (let bit = prefixLength; bit < 128; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7)) & 0xff;
  const address = addressFromBytes(bytes);
  return { prefix: `${address}/${prefixLength}`, prefixLength, lifetime: (field >> 3) * 8 };
}
