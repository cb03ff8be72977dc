/**
 * A hardened decoder of DNS / mDNS messages (RFC 1035, RFC 6762). Every
 * packet that reaches the passive Matter watcher is untrusted input from the
 * LAN, so the decoder bounds everything: name length (255 bytes), label length
 * (63), compression pointers (must point strictly backwards, at most 64 jumps,
 * which also ends loops), record counts, and each record's data must lie
 * inside the packet and inside its own RDLENGTH. Any violation is a
 * {@link DnsFormatError} naming what is wrong and where; nothing else is
 * thrown.
 *
 * @example
 * ```ts
 * const message = decodeDnsMessage(packet);
 * for (const r of message.answers) if (r.type === DnsType.AAAA) console.log(r.name, r.address, r.ttl);
 * ```
 */
import { addressFromBytes } from '../../policies/model/address';

/** Record types the watcher understands; others are kept as raw data. */
export const DnsType = {
  A: 1,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NSEC: 47,
  ANY: 255,
} as const;

/** Why a packet was rejected. */
export type DnsFormatProblem =
  | 'truncated'
  | 'label-too-long'
  | 'name-too-long'
  | 'bad-label-type'
  | 'pointer-loop'
  | 'pointer-forward'
  | 'too-many-records'
  | 'bad-rdata'
  | 'packet-too-large';

/** A malformed or hostile DNS message. */
export class DnsFormatError extends Error {
  constructor(
    readonly problem: DnsFormatProblem,
    readonly offset: number,
    detail: string,
  ) {
    super(`malformed DNS message (${problem} at byte ${offset}): ${detail}`);
    this.name = 'DnsFormatError';
  }
}

export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  /** Class without the mDNS unicast-response bit. */
  readonly class: number;
  readonly unicastResponse: boolean;
}

interface RecordBase {
  readonly name: string;
  readonly class: number;
  /** mDNS cache-flush bit (RFC 6762 §10.2). */
  readonly cacheFlush: boolean;
  /** Seconds; 0 is an mDNS goodbye. */
  readonly ttl: number;
}

export type DnsRecord =
  | (RecordBase & { readonly type: typeof DnsType.A; readonly address: string })
  | (RecordBase & { readonly type: typeof DnsType.AAAA; readonly address: string })
  | (RecordBase & { readonly type: typeof DnsType.PTR; readonly target: string })
  | (RecordBase & { readonly type: typeof DnsType.SRV; readonly priority: number; readonly weight: number; readonly port: number; readonly target: string })
  | (RecordBase & { readonly type: typeof DnsType.TXT; readonly entries: readonly string[] })
  | (RecordBase & { readonly type: number; readonly data: Uint8Array; readonly unknown: true });

export interface DnsMessage {
  readonly id: number;
  readonly isResponse: boolean;
  readonly opcode: number;
  readonly authoritative: boolean;
  readonly truncated: boolean;
  readonly rcode: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

/** Limits; the defaults follow RFC 1035 and the size of an mDNS packet. */
export interface DnsDecodeLimits {
  /** Largest packet accepted (default 9000, RFC 6762 §17). */
  readonly maxPacketBytes?: number;
  /** Most records in all sections together (default 256). */
  readonly maxRecords?: number;
  /** Most compression pointers followed for one name (default 64). */
  readonly maxPointerJumps?: number;
}

const MAX_NAME_BYTES = 255;
const MAX_LABEL = 63;

class Reader {
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    readonly maxJumps: number,
  ) {}

  need(offset: number, length: number, what: string): void {
    if (offset < 0 || offset + length > this.bytes.length) {
      throw new DnsFormatError('truncated', offset, `${what} needs ${length} bytes, the packet has ${Math.max(0, this.bytes.length - offset)} left`);
    }
  }

  u8(offset: number, what: string): number {
    this.need(offset, 1, what);
    return this.bytes[offset];
  }

  u16(offset: number, what: string): number {
    this.need(offset, 2, what);
    return this.view.getUint16(offset);
  }

  u32(offset: number, what: string): number {
    this.need(offset, 4, what);
    return this.view.getUint32(offset);
  }

  /** Reads a possibly compressed name; returns it and the offset after it in the original position. */
  name(start: number): { name: string; end: number } {
    const labels: string[] = [];
    let offset = start;
    let end = -1;
    let jumps = 0;
    let wireLength = 1; // the final root label
    for (;;) {
      const length = this.u8(offset, 'a name label');
      const kind = length & 0xc0;
      if (kind === 0xc0) {
        const pointer = this.u16(offset, 'a compression pointer') & 0x3fff;
        if (end < 0) end = offset + 2;
        if (++jumps > this.maxJumps) throw new DnsFormatError('pointer-loop', offset, `more than ${this.maxJumps} compression pointers in one name`);
        // A pointer must go strictly backwards: that alone makes loops impossible.
        if (pointer >= offset) throw new DnsFormatError('pointer-forward', offset, `compression pointer to ${pointer} does not point backwards`);
        offset = pointer;
        continue;
      }
      if (kind !== 0) throw new DnsFormatError('bad-label-type', offset, `label type 0x${kind.toString(16)} is not supported`);
      if (length === 0) {
        if (end < 0) end = offset + 1;
        break;
      }
      if (length > MAX_LABEL) throw new DnsFormatError('label-too-long', offset, `label of ${length} bytes (limit ${MAX_LABEL})`);
      wireLength += length + 1;
      if (wireLength > MAX_NAME_BYTES) throw new DnsFormatError('name-too-long', start, `name longer than ${MAX_NAME_BYTES} bytes`);
      this.need(offset + 1, length, 'a label');
      labels.push(labelText(this.bytes.subarray(offset + 1, offset + 1 + length)));
      offset += 1 + length;
    }
    return { name: labels.join('.'), end };
  }
}

/** Label bytes as text; dots and backslashes inside a label are escaped so names stay unambiguous. */
function labelText(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  return text.replace(/\\/g, '\\\\').replace(/\./g, '\\.');
}

function readRecord(reader: Reader, offset: number): { record: DnsRecord; end: number } {
  const { name, end: afterName } = reader.name(offset);
  const type = reader.u16(afterName, 'a record type');
  const klass = reader.u16(afterName + 2, 'a record class');
  const ttl = reader.u32(afterName + 4, 'a record TTL');
  const rdLength = reader.u16(afterName + 8, 'a record length');
  const rdStart = afterName + 10;
  reader.need(rdStart, rdLength, `the data of ${name}`);
  const rdEnd = rdStart + rdLength;
  const base = { name, class: klass & 0x7fff, cacheFlush: (klass & 0x8000) !== 0, ttl };
  const bogus = (detail: string) => new DnsFormatError('bad-rdata', rdStart, `${name} type ${type}: ${detail}`);
  let record: DnsRecord;
  switch (type) {
    case DnsType.A:
      if (rdLength !== 4) throw bogus(`an A record has 4 bytes of data, not ${rdLength}`);
      record = { ...base, type, address: addressFromBytes(reader.bytes.subarray(rdStart, rdEnd)) as string };
      break;
    case DnsType.AAAA:
      if (rdLength !== 16) throw bogus(`an AAAA record has 16 bytes of data, not ${rdLength}`);
      record = { ...base, type, address: addressFromBytes(reader.bytes.subarray(rdStart, rdEnd)) as string };
      break;
    case DnsType.PTR: {
      const target = reader.name(rdStart);
      if (target.end > rdEnd) throw bogus('the PTR target runs past the record data');
      record = { ...base, type, target: target.name };
      break;
    }
    case DnsType.SRV: {
      if (rdLength < 7) throw bogus(`an SRV record needs at least 7 bytes of data, not ${rdLength}`);
      const target = reader.name(rdStart + 6);
      if (target.end > rdEnd) throw bogus('the SRV target runs past the record data');
      record = {
        ...base,
        type,
        priority: reader.u16(rdStart, 'SRV priority'),
        weight: reader.u16(rdStart + 2, 'SRV weight'),
        port: reader.u16(rdStart + 4, 'SRV port'),
        target: target.name,
      };
      break;
    }
    case DnsType.TXT: {
      const entries: string[] = [];
      let p = rdStart;
      while (p < rdEnd) {
        const length = reader.bytes[p];
        if (p + 1 + length > rdEnd) throw bogus('a TXT string runs past the record data');
        if (length > 0) entries.push(Buffer.from(reader.bytes.subarray(p + 1, p + 1 + length)).toString('utf8'));
        p += 1 + length;
      }
      record = { ...base, type, entries };
      break;
    }
    default:
      record = { ...base, type, data: reader.bytes.slice(rdStart, rdEnd), unknown: true };
  }
  return { record, end: rdEnd };
}

/**
 * Decodes one DNS message. Throws {@link DnsFormatError} (only) on malformed
 * or hostile input.
 */
export function decodeDnsMessage(packet: Uint8Array, limits: DnsDecodeLimits = {}): DnsMessage {
  const maxPacket = limits.maxPacketBytes ?? 9000;
  const maxRecords = limits.maxRecords ?? 256;
  if (packet.length > maxPacket) throw new DnsFormatError('packet-too-large', 0, `${packet.length} bytes (limit ${maxPacket})`);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const reader = new Reader(packet, view, limits.maxPointerJumps ?? 64);
  if (packet.length < 12) throw new DnsFormatError('truncated', 0, `a DNS header is 12 bytes, got ${packet.length}`);
  const id = view.getUint16(0);
  const flags = view.getUint16(2);
  const counts = [view.getUint16(4), view.getUint16(6), view.getUint16(8), view.getUint16(10)];
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > maxRecords) throw new DnsFormatError('too-many-records', 4, `${total} questions and records (limit ${maxRecords})`);
  // Each question takes at least 5 bytes and each record at least 11: a count the packet cannot hold is a lie.
  const minimum = 12 + counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11;
  if (minimum > packet.length) throw new DnsFormatError('truncated', 4, `the header announces ${total} entries that cannot fit in ${packet.length} bytes`);
  let offset = 12;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, end } = reader.name(offset);
    const type = reader.u16(end, 'a question type');
    const klass = reader.u16(end + 2, 'a question class');
    questions.push({ name, type, class: klass & 0x7fff, unicastResponse: (klass & 0x8000) !== 0 });
    offset = end + 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const { record, end } = readRecord(reader, offset);
      sections[s].push(record);
      offset = end;
    }
  }
  return {
    id,
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    questions,
    answers: sections[0],
    authorities: sections[1],
    additionals: sections[2],
  };
}

/**
 * Encodes a query (no compression) for the given names and type; used to ask
 * for Matter services on start.
 *
 * @example
 * ```ts
 * const bytes = encodeDnsQuery([{ name: '_matter._tcp.local', type: DnsType.PTR }]);
 * ```
 */
export function encodeDnsQuery(questions: readonly { name: string; type: number; unicastResponse?: boolean }[]): Uint8Array {
  const parts: number[] = [0, 0, 0, 0, (questions.length >> 8) & 0xff, questions.length & 0xff, 0, 0, 0, 0, 0, 0];
  for (const q of questions) {
    parts.push(...encodeDnsName(q.name));
    const klass = 1 | (q.unicastResponse ? 0x8000 : 0);
    parts.push(q.type >> 8, q.type & 0xff, klass >> 8, klass & 0xff);
  }
  return Uint8Array.from(parts);
}

/** A name in wire form (uncompressed). Throws on labels or names over the RFC 1035 limits. */
export function encodeDnsName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.').filter((l) => l.length > 0)) {
    const bytes = Buffer.from(label, 'utf8');
    if (bytes.length > MAX_LABEL) throw new Error(`DNS label '${label}' is longer than ${MAX_LABEL} bytes`);
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  if (out.length > MAX_NAME_BYTES) throw new Error(`DNS name '${name}' is longer than ${MAX_NAME_BYTES} bytes`);
  return out;
}
