/**
 * Encodes DNS response messages (RFC 1035, mDNS flags of RFC 6762) with the
 * record kinds DNS-SD needs: PTR, SRV, TXT, A, AAAA. No name compression: a
 * DNS-SD answer is a handful of records, and an uncompressed message is one
 * the decoder (`adapters/matter/dns-message.ts`) reads back exactly.
 *
 * @example
 * ```ts
 * const bytes = encodeDnsResponse({
 *   answers: [{ type: DnsType.PTR, name: '_homenet._tcp.local', ttl: 4500, target: 'hub._homenet._tcp.local' }],
 * });
 * ```
 */
import { DnsType, encodeDnsName } from '../matter/dns-message';
import { addressToBytes, splitZone } from '../../policies/model/address';

interface OutBase {
  readonly name: string;
  readonly ttl: number;
  /** mDNS cache-flush bit (unique records: SRV, TXT, A, AAAA). */
  readonly cacheFlush?: boolean;
}

/** A record to encode. */
export type OutRecord =
  | (OutBase & { readonly type: typeof DnsType.PTR; readonly target: string })
  | (OutBase & { readonly type: typeof DnsType.SRV; readonly port: number; readonly target: string; readonly priority?: number; readonly weight?: number })
  | (OutBase & { readonly type: typeof DnsType.TXT; readonly entries: readonly string[] })
  | (OutBase & { readonly type: typeof DnsType.A; readonly address: string })
  | (OutBase & { readonly type: typeof DnsType.AAAA; readonly address: string });

export interface OutMessage {
  /** 0 for mDNS; a legacy unicast answer echoes the query's id. */
  readonly id?: number;
  /** Questions echoed (legacy unicast answers only). */
  readonly questions?: readonly { name: string; type: number }[];
  readonly answers: readonly OutRecord[];
  readonly additionals?: readonly OutRecord[];
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function addressBytes(address: string, family: 'ipv4' | 'ipv6'): number[] {
  const bytes = addressToBytes(splitZone(address).address);
  if (bytes === undefined || bytes.length !== (family === 'ipv4' ? 4 : 16)) throw new RangeError(`'${address}' is not an ${family} address`);
  return bytes;
}

function rdata(r: OutRecord): number[] {
  switch (r.type) {
    case DnsType.PTR:
      return encodeDnsName(r.target);
    case DnsType.SRV:
      if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535) throw new RangeError(`SRV port ${r.port} is not 0-65535`);
      return [...u16(r.priority ?? 0), ...u16(r.weight ?? 0), ...u16(r.port), ...encodeDnsName(r.target)];
    case DnsType.TXT: {
      const out: number[] = [];
      for (const e of r.entries) {
        const bytes = Buffer.from(e, 'utf8');
        if (bytes.length > 255) throw new RangeError(`TXT entry '${e.slice(0, 20)}…' is longer than 255 bytes`);
        out.push(bytes.length, ...bytes);
      }
      return out.length > 0 ? out : [0]; // an empty TXT record is one empty string (RFC 6763 §6.1)
    }
    case DnsType.A:
      return addressBytes(r.address, 'ipv4');
    case DnsType.AAAA:
      return addressBytes(r.address, 'ipv6');
  }
}

function record(r: OutRecord): number[] {
  const data = rdata(r);
  const klass = 1 | (r.cacheFlush ? 0x8000 : 0);
  if (!Number.isInteger(r.ttl) || r.ttl < 0 || r.ttl > 0x7fffffff) throw new RangeError(`TTL ${r.ttl} is not a valid DNS TTL`);
  return [...encodeDnsName(r.name), ...u16(r.type), ...u16(klass), ...u32(r.ttl), ...u16(data.length), ...data];
}

/** Encodes an authoritative response (QR and AA set). Throws a RangeError on a record that cannot be encoded. */
export function encodeDnsResponse(message: OutMessage): Uint8Array {
  const questions = message.questions ?? [];
  const additionals = message.additionals ?? [];
  const out: number[] = [
    ...u16(message.id ?? 0),
    0x84,
    0x00,
    ...u16(questions.length),
    ...u16(message.answers.length),
    ...u16(0),
    ...u16(additionals.length),
  ];
  for (const q of questions) out.push(...encodeDnsName(q.name), ...u16(q.type), ...u16(1));
  for (const r of message.answers) out.push(...record(r));
  for (const r of additionals) out.push(...record(r));
  return Uint8Array.from(out);
}
