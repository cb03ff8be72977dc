/**
 * The NAT-PMP wire format (RFC 6886), both directions: the public-address
 * request and answer (opcode 0 / 128) and the UDP (1 / 129) and TCP (2 / 130)
 * mapping requests and answers. Version 0 only. Strict: a request has its
 * exact size; a SUCCESS answer has its exact size; an error answer needs only
 * the common 8 bytes (version, opcode, result, epoch) and at most 1100. Errors
 * are {@link PcpParseError}s naming the field.
 *
 * @example
 * ```ts
 * encodeNatPmpRequest({ opcode: 'map-udp', internalPort: 40040, suggestedExternalPort: 40040, lifetime: 120 });
 * decodeNatPmpResponse(answerBytes); // { opcode: 'map-udp', resultCode: 0, epoch, internalPort, externalPort, lifetime }
 * ```
 */
import { PcpParseError, PcpRequestError } from './pcp-errors';
import { PCP_MAX_MESSAGE_BYTES } from './pcp-message';

export const NATPMP_VERSION = 0;
export const NATPMP_OPCODES = { 'public-address': 0, 'map-udp': 1, 'map-tcp': 2 } as const;
export type NatPmpOpcode = keyof typeof NATPMP_OPCODES;

export type NatPmpRequest =
  | { readonly opcode: 'public-address' }
  | {
      readonly opcode: 'map-udp' | 'map-tcp';
      readonly internalPort: number;
      /** 0: no preference. */
      readonly suggestedExternalPort: number;
      /** Seconds; 0 deletes the mapping. */
      readonly lifetime: number;
    };

interface NatPmpResponseBase {
  readonly resultCode: number;
  /** Seconds since the gateway's port-mapping table was (re)initialised. */
  readonly epoch: number;
}
export type NatPmpResponse =
  | (NatPmpResponseBase & { readonly opcode: 'public-address'; readonly externalAddress?: string })
  | (NatPmpResponseBase & {
      readonly opcode: 'map-udp' | 'map-tcp';
      readonly internalPort?: number;
      readonly externalPort?: number;
      readonly lifetime?: number;
    });

function opcodeName(code: number): NatPmpOpcode | undefined {
  return (Object.keys(NATPMP_OPCODES) as NatPmpOpcode[]).find((k) => NATPMP_OPCODES[k] === code);
}

function checkInteger(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new PcpRequestError(`${what} must be an integer 0..${max}, got ${value}`);
}

/** Bytes of a NAT-PMP request (2 bytes for the public address, 12 for a mapping). */
export function encodeNatPmpRequest(request: NatPmpRequest): Buffer {
  if (request.opcode === 'public-address') return Buffer.from([NATPMP_VERSION, 0]);
  checkInteger('internal port', request.internalPort, 65535);
  checkInteger('suggested external port', request.suggestedExternalPort, 65535);
  checkInteger('lifetime', request.lifetime, 0xffffffff);
  if (request.internalPort === 0) throw new PcpRequestError('internal port 0 is not a mapping (NAT-PMP uses it only to delete all mappings)');
  const out = Buffer.alloc(12);
  out.writeUInt8(NATPMP_OPCODES[request.opcode], 1);
  out.writeUInt16BE(request.internalPort, 4);
  out.writeUInt16BE(request.suggestedExternalPort, 6);
  out.writeUInt32BE(request.lifetime, 8);
  return out;
}

/** A NAT-PMP request from bytes (the server side; and how natpmpc's requests are checked). */
export function decodeNatPmpRequest(data: Uint8Array): NatPmpRequest {
  const buf = Buffer.from(data);
  if (buf.length < 2) throw new PcpParseError('length', 0, `${buf.length} bytes, a NAT-PMP request has at least 2`);
  if (buf[0] !== NATPMP_VERSION) throw new PcpParseError('version', 0, `version ${buf[0]}, NAT-PMP is ${NATPMP_VERSION}`);
  const opcode = opcodeName(buf[1]);
  if (opcode === undefined) throw new PcpParseError('opcode', 1, `unknown NAT-PMP request opcode ${buf[1]}`);
  const size = opcode === 'public-address' ? 2 : 12;
  if (buf.length !== size) throw new PcpParseError('length', 0, `${buf.length} bytes, a NAT-PMP ${opcode} request is ${size}`);
  if (opcode === 'public-address') return { opcode };
  return { opcode, internalPort: buf.readUInt16BE(4), suggestedExternalPort: buf.readUInt16BE(6), lifetime: buf.readUInt32BE(8) };
}

/** Bytes of a NAT-PMP answer (the server side of the codec). */
export function encodeNatPmpResponse(response: NatPmpResponse): Buffer {
  checkInteger('result code', response.resultCode, 0xffff);
  checkInteger('epoch', response.epoch, 0xffffffff);
  const address = response.opcode === 'public-address';
  const out = Buffer.alloc(address ? 12 : 16);
  out.writeUInt8(0x80 | NATPMP_OPCODES[response.opcode], 1);
  out.writeUInt16BE(response.resultCode, 2);
  out.writeUInt32BE(response.epoch, 4);
  if (response.opcode === 'public-address') {
    const parts = (response.externalAddress ?? '0.0.0.0').split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new PcpRequestError(`'${response.externalAddress}' is not an IPv4 address`);
    parts.forEach((p, i) => out.writeUInt8(Number(p), 8 + i));
  } else {
    checkInteger('internal port', response.internalPort ?? 0, 65535);
    checkInteger('external port', response.externalPort ?? 0, 65535);
    checkInteger('lifetime', response.lifetime ?? 0, 0xffffffff);
    out.writeUInt16BE(response.internalPort ?? 0, 8);
    out.writeUInt16BE(response.externalPort ?? 0, 10);
    out.writeUInt32BE(response.lifetime ?? 0, 12);
  }
  return out;
}

/** A NAT-PMP answer from bytes. */
export function decodeNatPmpResponse(data: Uint8Array): NatPmpResponse {
  const buf = Buffer.from(data);
  if (buf.length < 8) throw new PcpParseError('length', 0, `${buf.length} bytes, a NAT-PMP answer has at least 8`);
  if (buf.length > PCP_MAX_MESSAGE_BYTES) throw new PcpParseError('length', 0, `${buf.length} bytes, more than ${PCP_MAX_MESSAGE_BYTES}`);
  if (buf[0] !== NATPMP_VERSION) throw new PcpParseError('version', 0, `version ${buf[0]}, NAT-PMP is ${NATPMP_VERSION}`);
  if (!(buf[1] & 0x80)) throw new PcpParseError('opcode', 1, `opcode ${buf[1]} is a request (answers have 128 added)`);
  const opcode = opcodeName(buf[1] & 0x7f);
  if (opcode === undefined) throw new PcpParseError('opcode', 1, `unknown NAT-PMP answer opcode ${buf[1]}`);
  const base = { resultCode: buf.readUInt16BE(2), epoch: buf.readUInt32BE(4) };
  const size = opcode === 'public-address' ? 12 : 16;
  if (base.resultCode === 0 && buf.length !== size) throw new PcpParseError('length', 0, `${buf.length} bytes, a NAT-PMP ${opcode} answer is ${size}`);
  if (buf.length < size) return { ...base, opcode };
  if (opcode === 'public-address') return { ...base, opcode, externalAddress: Array.from(buf.subarray(8, 12)).join('.') };
  return { ...base, opcode, internalPort: buf.readUInt16BE(8), externalPort: buf.readUInt16BE(10), lifetime: buf.readUInt32BE(12) };
}
