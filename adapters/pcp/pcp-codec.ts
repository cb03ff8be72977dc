/**
 * The PCP wire format (RFC 6887), both directions, so a client and a server
 * share it: {@link encodePcpRequest} / {@link decodePcpRequest} and
 * {@link encodePcpResponse} / {@link decodePcpResponse}. Decoding is strict and
 * capped: a message is 24..1100 bytes and a multiple of 4, version 2, with the
 * R bit the direction needs, opcode data of the opcode's exact size, and
 * options that are well formed, 4-byte aligned and fit; anything else throws
 * {@link PcpParseError} naming the field and its offset. Reserved fields are
 * written as zero and ignored on receipt, as the RFC says.
 *
 * @example
 * ```ts
 * const bytes = encodePcpRequest({ opcode: 'map', lifetime: 120, clientAddress: '2001:db8:77::10', options: [],
 *   mapping: { nonce: Buffer.from('lab-nonce-v6'), protocol: 17, internalPort: 40030, externalPort: 0, externalAddress: '::' } });
 * decodePcpRequest(bytes).lifetime; // 120
 * ```
 */
import { decodePcpAddress, encodePcpAddress } from './pcp-address';
import { PcpParseError, PcpRequestError } from './pcp-errors';
import {
  PCP_HEADER_BYTES,
  PCP_MAP_DATA_BYTES,
  PCP_MAX_MESSAGE_BYTES,
  PCP_NONCE_BYTES,
  PCP_OPCODES,
  PCP_OPTION_CODES,
  PCP_PEER_DATA_BYTES,
  PCP_VERSION,
  PcpMapData,
  PcpOpcode,
  PcpOption,
  PcpPeerData,
  PcpRequest,
  PcpResponse,
} from './pcp-message';

const RESPONSE_BIT = 0x80;

function opcodeName(code: number): PcpOpcode | undefined {
  return (Object.keys(PCP_OPCODES) as PcpOpcode[]).find((k) => PCP_OPCODES[k] === code);
}

function opcodeDataBytes(opcode: PcpOpcode): number {
  return opcode === 'map' ? PCP_MAP_DATA_BYTES : opcode === 'peer' ? PCP_PEER_DATA_BYTES : 0;
}

// ---------------------------------------------------------------- encoding

function checkInteger(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new PcpRequestError(`${what} must be an integer 0..${max}, got ${value}`);
}

function encodeMapData(m: PcpMapData | PcpPeerData, peer: boolean): Buffer {
  if (!((m.nonce as unknown) instanceof Uint8Array)) throw new PcpRequestError('nonce must be bytes');
  if (m.nonce.length !== PCP_NONCE_BYTES) throw new PcpRequestError(`nonce must be ${PCP_NONCE_BYTES} bytes, got ${m.nonce.length}`);
  checkInteger('protocol', m.protocol, 255);
  checkInteger('internal port', m.internalPort, 65535);
  checkInteger('external port', m.externalPort, 65535);
  if (m.protocol === 0 && m.internalPort !== 0) throw new PcpRequestError('protocol 0 (all protocols) needs internal port 0');
  const out = Buffer.alloc(peer ? PCP_PEER_DATA_BYTES : PCP_MAP_DATA_BYTES);
  Buffer.from(m.nonce).copy(out, 0);
  out.writeUInt8(m.protocol, 12);
  out.writeUInt16BE(m.internalPort, 16);
  out.writeUInt16BE(m.externalPort, 18);
  encodePcpAddress(m.externalAddress).copy(out, 20);
  if (peer) {
    const p = m as PcpPeerData;
    checkInteger('remote peer port', p.remotePeerPort, 65535);
    out.writeUInt16BE(p.remotePeerPort, 36);
    encodePcpAddress(p.remotePeerAddress).copy(out, 40);
  }
  return out;
}

/** Bytes of the options, each padded to 4 bytes. */
export function encodePcpOptions(options: readonly PcpOption[]): Buffer {
  const parts: Buffer[] = [];
  for (const o of options) {
    let code: number;
    let data: Buffer;
    switch (o.type) {
      case 'third-party':
        code = PCP_OPTION_CODES['third-party'];
        data = encodePcpAddress(o.address);
        break;
      case 'prefer-failure':
        code = PCP_OPTION_CODES['prefer-failure'];
        data = Buffer.alloc(0);
        break;
      case 'filter':
        code = PCP_OPTION_CODES.filter;
        checkInteger('filter prefix length', o.prefixLength, 128);
        checkInteger('filter remote peer port', o.remotePeerPort, 65535);
        data = Buffer.alloc(20);
        data.writeUInt8(o.prefixLength, 1);
        data.writeUInt16BE(o.remotePeerPort, 2);
        encodePcpAddress(o.remotePeerAddress).copy(data, 4);
        break;
      case 'unknown':
        checkInteger('option code', o.code, 255);
        checkInteger('option length', o.data.length, 0xffff);
        code = o.code;
        data = Buffer.from(o.data);
        break;
    }
    const head = Buffer.alloc(4);
    head.writeUInt8(code, 0);
    head.writeUInt16BE(data.length, 2);
    const pad = (4 - (data.length % 4)) % 4;
    parts.push(head, data, Buffer.alloc(pad));
  }
  return Buffer.concat(parts);
}

function finish(parts: Buffer[]): Buffer {
  const out = Buffer.concat(parts);
  if (out.length > PCP_MAX_MESSAGE_BYTES) throw new PcpRequestError(`the message would be ${out.length} bytes, more than PCP's ${PCP_MAX_MESSAGE_BYTES}`);
  return out;
}

/**
 * Bytes of a PCP request. Throws {@link PcpRequestError} for a field out of
 * range, a nonce that is not 12 bytes or an address that is not one.
 */
export function encodePcpRequest(request: PcpRequest): Buffer {
  checkInteger('lifetime', request.lifetime, 0xffffffff);
  const head = Buffer.alloc(PCP_HEADER_BYTES);
  head.writeUInt8(PCP_VERSION, 0);
  head.writeUInt8(PCP_OPCODES[request.opcode], 1);
  head.writeUInt32BE(request.lifetime, 4);
  encodePcpAddress(request.clientAddress).copy(head, 8);
  const data = request.opcode === 'announce' ? Buffer.alloc(0) : encodeMapData(request.mapping, request.opcode === 'peer');
  return finish([head, data, encodePcpOptions(request.options)]);
}

/** Bytes of a PCP response (the server side of the codec; tests and fakes use it too). */
export function encodePcpResponse(response: PcpResponse): Buffer {
  checkInteger('result code', response.resultCode, 255);
  checkInteger('lifetime', response.lifetime, 0xffffffff);
  checkInteger('epoch', response.epoch, 0xffffffff);
  const code = response.opcode === 'unknown' ? response.opcodeCode : PCP_OPCODES[response.opcode];
  checkInteger('opcode', code, 127);
  const head = Buffer.alloc(PCP_HEADER_BYTES);
  head.writeUInt8(PCP_VERSION, 0);
  head.writeUInt8(RESPONSE_BIT | code, 1);
  head.writeUInt8(response.resultCode, 3);
  head.writeUInt32BE(response.lifetime, 4);
  head.writeUInt32BE(response.epoch, 8);
  const data =
    (response.opcode === 'map' || response.opcode === 'peer') && response.mapping
      ? encodeMapData(response.mapping, response.opcode === 'peer')
      : Buffer.alloc(0);
  return finish([head, data, encodePcpOptions(response.options)]);
}

// ---------------------------------------------------------------- decoding

function checkFrame(data: Uint8Array): void {
  if (data.length < PCP_HEADER_BYTES) throw new PcpParseError('length', 0, `${data.length} bytes, a PCP message has at least ${PCP_HEADER_BYTES}`);
  if (data.length > PCP_MAX_MESSAGE_BYTES) throw new PcpParseError('length', 0, `${data.length} bytes, more than PCP's ${PCP_MAX_MESSAGE_BYTES}`);
  if (data.length % 4 !== 0) throw new PcpParseError('length', 0, `${data.length} bytes is not a multiple of 4`);
  if (data[0] !== PCP_VERSION) throw new PcpParseError('version', 0, `version ${data[0]}, expected ${PCP_VERSION}`);
}

function decodeMapData(buf: Buffer, offset: number, peer: boolean): PcpMapData | PcpPeerData {
  const map: PcpMapData = {
    nonce: Buffer.from(buf.subarray(offset, offset + PCP_NONCE_BYTES)),
    protocol: buf.readUInt8(offset + 12),
    internalPort: buf.readUInt16BE(offset + 16),
    externalPort: buf.readUInt16BE(offset + 18),
    externalAddress: decodePcpAddress(buf, offset + 20),
  };
  if (!peer) return map;
  return { ...map, remotePeerPort: buf.readUInt16BE(offset + 36), remotePeerAddress: decodePcpAddress(buf, offset + 40) };
}

/** The options from `offset` to the end; every option must be well formed and fit. */
export function decodePcpOptions(buf: Buffer, offset: number): PcpOption[] {
  const options: PcpOption[] = [];
  let at = offset;
  while (at < buf.length) {
    if (buf.length - at < 4) throw new PcpParseError('option header', at, `${buf.length - at} bytes left, an option header is 4`);
    const code = buf.readUInt8(at);
    const length = buf.readUInt16BE(at + 2);
    const padded = length + ((4 - (length % 4)) % 4);
    if (at + 4 + padded > buf.length) throw new PcpParseError(`option ${code} length`, at + 2, `${length} bytes (padded ${padded}) do not fit in the ${buf.length - at - 4} left`);
    const body = buf.subarray(at + 4, at + 4 + length);
    const expect = (n: number) => {
      if (length !== n) throw new PcpParseError(`option ${code} length`, at + 2, `${length}, this option is ${n} bytes`);
    };
    switch (code) {
      case PCP_OPTION_CODES['third-party']:
        expect(16);
        options.push({ type: 'third-party', address: decodePcpAddress(body, 0) });
        break;
      case PCP_OPTION_CODES['prefer-failure']:
        expect(0);
        options.push({ type: 'prefer-failure' });
        break;
      case PCP_OPTION_CODES.filter: {
        expect(20);
        const prefixLength = body.readUInt8(1);
        if (prefixLength > 128) throw new PcpParseError('filter prefix length', at + 5, `${prefixLength} is more than 128`);
        options.push({ type: 'filter', prefixLength, remotePeerPort: body.readUInt16BE(2), remotePeerAddress: decodePcpAddress(body, 4) });
        break;
      }
      default:
        options.push({ type: 'unknown', code, data: Buffer.from(body) });
    }
    at += 4 + padded;
  }
  return options;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A PCP request from bytes (the server side; also how tests read captured requests). */
export function decodePcpRequest(data: Uint8Array): PcpRequest {
  const buf = asBuffer(data);
  checkFrame(buf);
  if (buf[1] & RESPONSE_BIT) throw new PcpParseError('R bit', 1, 'set: this is a response, not a request');
  const opcode = opcodeName(buf[1]);
  if (opcode === undefined) throw new PcpParseError('opcode', 1, `unknown opcode ${buf[1]}`);
  const need = PCP_HEADER_BYTES + opcodeDataBytes(opcode);
  if (buf.length < need) throw new PcpParseError('length', 0, `${buf.length} bytes, a ${opcode.toUpperCase()} request needs at least ${need}`);
  const base = { lifetime: buf.readUInt32BE(4), clientAddress: decodePcpAddress(buf, 8), options: decodePcpOptions(buf, need) };
  if (opcode === 'announce') return { ...base, opcode };
  const mapping = decodeMapData(buf, PCP_HEADER_BYTES, opcode === 'peer');
  return opcode === 'map' ? { ...base, opcode, mapping } : { ...base, opcode, mapping: mapping as PcpPeerData };
}

/**
 * A PCP response from bytes. A MAP or PEER error answer may be the bare
 * 24-byte header; a success must carry its opcode data. An error answer to an
 * opcode the codec does not know decodes as opcode `unknown`.
 */
export function decodePcpResponse(data: Uint8Array): PcpResponse {
  const buf = asBuffer(data);
  checkFrame(buf);
  if (!(buf[1] & RESPONSE_BIT)) throw new PcpParseError('R bit', 1, 'clear: this is a request, not a response');
  const code = buf[1] & 0x7f;
  const resultCode = buf.readUInt8(3);
  const base = { resultCode, lifetime: buf.readUInt32BE(4), epoch: buf.readUInt32BE(8) };
  const opcode = opcodeName(code);
  if (opcode === undefined) {
    if (resultCode === 0) throw new PcpParseError('opcode', 1, `unknown opcode ${code} in a SUCCESS answer`);
    return { ...base, opcode: 'unknown', opcodeCode: code, options: [] };
  }
  if (opcode === 'announce') return { ...base, opcode, options: decodePcpOptions(buf, PCP_HEADER_BYTES) };
  const need = PCP_HEADER_BYTES + opcodeDataBytes(opcode);
  if (buf.length < need) {
    if (resultCode !== 0 && buf.length === PCP_HEADER_BYTES) return { ...base, opcode, options: [] };
    throw new PcpParseError('length', 0, `${buf.length} bytes, a ${opcode.toUpperCase()} response needs at least ${need}`);
  }
  const options = decodePcpOptions(buf, need);
  const mapping = decodeMapData(buf, PCP_HEADER_BYTES, opcode === 'peer');
  return opcode === 'map' ? { ...base, opcode, mapping, options } : { ...base, opcode, mapping: mapping as PcpPeerData, options };
}
