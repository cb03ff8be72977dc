/**
 * Reading SOAP input arguments into typed values, with the fault codes miniupnpd 2.3.1 gives
 * for the same bad input (402 for anything missing or malformed; the service-specific codes
 * are chosen by `soap-control.ts`). A {@link ControlFault} carries the code to answer with.
 *
 * @example
 * ```ts
 * const args = new ControlArguments([['InternalPort', '40000'], ['Protocol', '17']]);
 * args.uint('InternalPort', 0, 65535); // 40000
 * args.uint('LeaseTime', 1, 86400);    // throws ControlFault(402): LeaseTime is missing
 * ```
 */
import { isIpv4Literal, isIpv6Literal, toRfc5952 } from '../../../policies/model/address';
import { TransportProtocol } from './gateway-decider';

/** A protocol-level refusal: answered as a SOAP fault with `code`. */
export class ControlFault extends Error {
  constructor(readonly code: number, readonly detail: string) {
    super(`UPnP error ${code}: ${detail}`);
    this.name = 'ControlFault';
  }
}

/** The largest text argument we accept (a description is ~20 characters in practice). */
export const MAX_ARGUMENT_LENGTH = 1024;

export class ControlArguments {
  private readonly values = new Map<string, string>();

  constructor(args: ReadonlyArray<readonly [string, string]>) {
    // First occurrence wins, as in miniupnpd's name/value parser.
    for (const [name, value] of args) if (!this.values.has(name)) this.values.set(name, value);
  }

  /** The raw text, or a 402 when absent. */
  text(name: string): string {
    const v = this.values.get(name);
    if (v === undefined) throw new ControlFault(402, `${name} is missing`);
    if (v.length > MAX_ARGUMENT_LENGTH) throw new ControlFault(402, `${name} is longer than ${MAX_ARGUMENT_LENGTH} characters`);
    return v;
  }

  /** The raw text, or `fallback` when absent. */
  optionalText(name: string, fallback: string): string {
    return this.values.has(name) ? this.text(name) : fallback;
  }

  /** An unsigned decimal integer in `min..max`; 402 otherwise. */
  uint(name: string, min: number, max: number): number {
    const t = this.text(name).trim();
    if (!/^\d{1,10}$/.test(t)) throw new ControlFault(402, `${name} ${JSON.stringify(t)} is not an unsigned integer`);
    const n = Number(t);
    if (n < min || n > max) throw new ControlFault(402, `${name} ${n} is outside ${min}..${max}`);
    return n;
  }

  /** A UPnP boolean (1/0/true/false/yes/no); 402 otherwise. */
  bool(name: string): boolean {
    const t = this.text(name).trim().toLowerCase();
    if (t === '1' || t === 'true' || t === 'yes') return true;
    if (t === '0' || t === 'false' || t === 'no') return false;
    throw new ControlFault(402, `${name} ${JSON.stringify(t)} is not a boolean`);
  }

  /** WANIPConnection's NewProtocol: exactly TCP or UDP (as miniupnpd); 402 otherwise. */
  mappingProtocol(name: string): TransportProtocol {
    const t = this.text(name).trim();
    if (t === 'TCP') return 'tcp';
    if (t === 'UDP') return 'udp';
    throw new ControlFault(402, `${name} ${JSON.stringify(t)} is not TCP or UDP`);
  }

  /** An IPv4 remote host: '' (or '*') = any, else a dotted quad; 402 otherwise. */
  ipv4RemoteHost(name: string): string {
    const t = this.optionalText(name, '').trim();
    if (t === '' || t === '*') return '';
    if (!isIpv4Literal(t)) throw new ControlFault(402, `${name} ${JSON.stringify(t)} is not an IPv4 address`);
    return toRfc5952(t);
  }

  /** An IPv6 remote host: '' = any, else an IPv6 literal (RFC 5952 form returned); 402 otherwise. */
  ipv6RemoteHost(name: string): string {
    const t = this.optionalText(name, '').trim();
    if (t === '' || t === '*') return '';
    if (!isIpv6Literal(t) || t.includes('%')) throw new ControlFault(402, `${name} ${JSON.stringify(t)} is not an IPv6 address`);
    return toRfc5952(t);
  }
}
