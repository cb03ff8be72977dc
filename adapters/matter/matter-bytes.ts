/**
 * Address bytes as Matter reports them (GeneralDiagnostics NetworkInterface:
 * `IPv4Addresses` 4 bytes each, `IPv6Addresses` 16 bytes each,
 * `HardwareAddress` 6 or 8 bytes) turned into text. Wrong lengths give
 * `undefined` rather than a made-up address.
 *
 * @example
 * ```ts
 * bytesToIpv6(Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 0x20])); // '2001:db8::20'
 * ```
 */
import { addressFromBytes } from '../../policies/model/address';

function asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

export function bytesToIpv6(value: unknown): string | undefined {
  const bytes = asBytes(value);
  if (!bytes || bytes.length !== 16) return undefined;
  return addressFromBytes(bytes);
}

export function bytesToIpv4(value: unknown): string | undefined {
  const bytes = asBytes(value);
  if (!bytes || bytes.length !== 4) return undefined;
  return addressFromBytes(bytes);
}

/** `aa:bb:cc:dd:ee:ff`, lowercase; empty string for no or malformed bytes. */
export function formatHardwareAddress(value: unknown): string {
  const bytes = asBytes(value);
  if (!bytes || (bytes.length !== 6 && bytes.length !== 8)) return '';
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
