import fc from 'fast-check';
import {
  decodeNatPmpResponse,
  decodePcpRequest,
  decodePcpResponse,
  encodePcpRequest,
  encodePcpResponse,
  PcpOption,
  PcpParseError,
  PcpRequest,
  PcpRequestError,
  PcpResponse,
  pcpResultName,
  PCP_RESULT_NAMES,
} from '../../../adapters/pcp';
import { listReference, readReference } from '../../support/reference-fixtures';
import { pcpFuzzTargets } from './pcp-fuzz-targets';

const pcp = (name: string) => readReference('pcp', name);
const captures = listReference('pcp');
const hex = (s: string) => Buffer.from(s, 'hex');

describe('PCP codec against the captured miniupnpd 2.3.1 exchanges', () => {
  const wellFormed = captures.filter((n) => n.endsWith('.request.bin') && !n.startsWith('malformed'));

  it('has the captures the tests are about', () => {
    expect(wellFormed).toHaveLength(8);
    expect(captures.filter((n) => n.endsWith('.response.bin'))).toHaveLength(9);
  });

  it.each(wellFormed)('%s: decodes and encodes back byte-identical', (name) => {
    const bytes = pcp(name);
    const decoded = decodePcpRequest(bytes);
    expect(encodePcpRequest(decoded)).toEqual(bytes);
  });

  it.each(captures.filter((n) => n.endsWith('.response.bin') && !n.startsWith('malformed')))('%s: decodes and encodes back byte-identical', (name) => {
    const bytes = pcp(name);
    const decoded = decodePcpResponse(bytes);
    expect(encodePcpResponse(decoded)).toEqual(bytes);
  });

  it('encodes the IPv6 MAP the capture sent, field by field', () => {
    const request: PcpRequest = {
      opcode: 'map',
      lifetime: 120,
      clientAddress: '2001:db8:77::10',
      options: [],
      mapping: { nonce: Buffer.from('lab-nonce-v6'), protocol: 17, internalPort: 40030, externalPort: 0, externalAddress: '::' },
    };
    expect(encodePcpRequest(request)).toEqual(pcp('map-v6-udp.request.bin'));
  });

  it('encodes the IPv4 MAP with the client address and the "any" external address IPv4-mapped', () => {
    const request: PcpRequest = {
      opcode: 'map',
      lifetime: 120,
      clientAddress: '192.168.77.10',
      options: [],
      mapping: { nonce: Buffer.from('lab-nonce-v4'), protocol: 17, internalPort: 40031, externalPort: 40031, externalAddress: '0.0.0.0' },
    };
    const bytes = encodePcpRequest(request);
    expect(bytes).toEqual(pcp('map-v4-udp.request.bin'));
    expect(bytes.subarray(8, 24).toString('hex')).toBe('00000000000000000000ffffc0a84d0a');
    expect(bytes.subarray(44, 60).toString('hex')).toBe('00000000000000000000ffff00000000');
  });

  it('decodes the IPv6 pinhole grant', () => {
    const r = decodePcpResponse(pcp('map-v6-udp.response.bin'));
    expect(r).toMatchObject({ opcode: 'map', resultCode: 0, lifetime: 120, epoch: 0 });
    if (r.opcode !== 'map') throw new Error('not a MAP');
    expect(r.mapping).toMatchObject({ protocol: 17, internalPort: 40030, externalPort: 40030, externalAddress: '2001:db8:77::10' });
    expect(r.mapping!.nonce.toString()).toBe('lab-nonce-v6');
  });

  it('decodes the IPv4 mapping grant with the external address as dotted quad', () => {
    const r = decodePcpResponse(pcp('map-v4-udp.response.bin'));
    expect(r).toMatchObject({ opcode: 'map', resultCode: 0, lifetime: 120, epoch: 3, mapping: { externalAddress: '198.51.100.1', externalPort: 40031 } });
  });

  it('decodes the delete, wrong-nonce, mismatch and short-lifetime answers', () => {
    expect(decodePcpResponse(pcp('map-v6-delete.response.bin'))).toMatchObject({ resultCode: 0, lifetime: 0 });
    expect(decodePcpResponse(pcp('map-v4-delete.response.bin'))).toMatchObject({ resultCode: 0, lifetime: 0, epoch: 3 });
    const wrong = decodePcpResponse(pcp('map-v6-delete-wrong-nonce.response.bin'));
    expect(pcpResultName(wrong.resultCode)).toBe('NOT_AUTHORIZED');
    expect(pcpResultName(decodePcpResponse(pcp('map-v6-address-mismatch.response.bin')).resultCode)).toBe('ADDRESS_MISMATCH');
    expect(decodePcpResponse(pcp('map-v6-short-lifetime.response.bin'))).toMatchObject({ resultCode: 0, lifetime: 120 });
    expect(decodePcpRequest(pcp('map-v6-short-lifetime.request.bin')).lifetime).toBe(30);
  });

  it('decodes ANNOUNCE both ways', () => {
    expect(decodePcpRequest(pcp('announce-v6.request.bin'))).toEqual({ opcode: 'announce', lifetime: 0, clientAddress: '2001:db8:77::10', options: [] });
    expect(decodePcpResponse(pcp('announce-v6.response.bin'))).toEqual({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: 0, options: [] });
  });

  it('refuses the malformed 61-byte request and reads miniupnpd\'s version-0 answer as NAT-PMP', () => {
    expect(() => decodePcpRequest(pcp('malformed-61-bytes.request.bin'))).toThrow(/length at byte 0: 61 bytes is not a multiple of 4/);
    const answer = pcp('malformed-61-bytes.response.bin');
    expect(() => decodePcpResponse(answer)).toThrow(PcpParseError);
    expect(() => decodePcpResponse(answer)).toThrow(/version at byte 0: version 0/);
    expect(decodeNatPmpResponse(answer)).toMatchObject({ opcode: 'public-address', resultCode: 3, epoch: 0 }); // NAT-PMP's epoch field is PCP's lifetime field (0) here
  });
});

describe('PCP options', () => {
  const base = { lifetime: 60, clientAddress: '2001:db8:77::5' } as const;
  const mapping = { nonce: Buffer.alloc(12, 7), protocol: 17, internalPort: 40070, externalPort: 0, externalAddress: '::' };

  it('writes THIRD_PARTY as code 1, length 16, the other host\'s address (IPv4-mapped for IPv4)', () => {
    const v6 = encodePcpRequest({ ...base, opcode: 'map', mapping, options: [{ type: 'third-party', address: '2001:db8:77::10' }] });
    expect(v6).toHaveLength(60 + 20);
    expect(v6.subarray(60, 64).toString('hex')).toBe('01000010');
    expect(v6.subarray(64).toString('hex')).toBe('20010db8007700000000000000000010');
    const v4 = encodePcpRequest({ ...base, clientAddress: '192.168.77.5', opcode: 'map', mapping: { ...mapping, externalAddress: '0.0.0.0' }, options: [{ type: 'third-party', address: '192.168.77.10' }] });
    expect(v4.subarray(64).toString('hex')).toBe('00000000000000000000ffffc0a84d0a');
    expect(decodePcpRequest(v4).options).toEqual([{ type: 'third-party', address: '192.168.77.10' }]);
  });

  it('round-trips PREFER_FAILURE, FILTER and an unknown option (padded to 4 bytes)', () => {
    const options: PcpOption[] = [
      { type: 'prefer-failure' },
      { type: 'filter', prefixLength: 64, remotePeerPort: 3074, remotePeerAddress: '2001:db8:100::' },
      { type: 'unknown', code: 200, data: Buffer.from([1, 2, 3]) },
    ];
    const bytes = encodePcpRequest({ ...base, opcode: 'map', mapping, options });
    expect(bytes.length % 4).toBe(0);
    expect(bytes).toHaveLength(60 + 4 + 24 + 8);
    expect(decodePcpRequest(bytes).options).toEqual(options);
  });

  it('round-trips PEER with its remote peer', () => {
    const req: PcpRequest = { ...base, opcode: 'peer', options: [], mapping: { ...mapping, remotePeerPort: 3478, remotePeerAddress: '2001:db8:100::2' } };
    const bytes = encodePcpRequest(req);
    expect(bytes).toHaveLength(80);
    expect(decodePcpRequest(bytes)).toEqual(req);
    const resp: PcpResponse = { opcode: 'peer', resultCode: 0, lifetime: 60, epoch: 9, options: [], mapping: req.mapping };
    expect(decodePcpResponse(encodePcpResponse(resp))).toEqual(resp);
  });

  it('names every result code 0-13', () => {
    expect(PCP_RESULT_NAMES.map((_, i) => pcpResultName(i))).toEqual([
      'SUCCESS', 'UNSUPP_VERSION', 'NOT_AUTHORIZED', 'MALFORMED_REQUEST', 'UNSUPP_OPCODE', 'UNSUPP_OPTION', 'MALFORMED_OPTION',
      'NETWORK_FAILURE', 'NO_RESOURCES', 'UNSUPP_PROTOCOL', 'USER_EX_QUOTA', 'CANNOT_PROVIDE_EXTERNAL', 'ADDRESS_MISMATCH', 'EXCESSIVE_REMOTE_PEERS',
    ]);
    expect(pcpResultName(99)).toBe('RESULT_99');
  });
});

describe('PCP decoding is strict', () => {
  const good = () => Buffer.from(pcp('map-v6-udp.response.bin'));
  const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['too short', (b) => b.subarray(0, 20), /length at byte 0: 20 bytes/],
    ['too long', () => Buffer.concat([good(), Buffer.alloc(1100)]), /more than PCP's 1100/],
    ['not 4-aligned', (b) => Buffer.concat([b, Buffer.alloc(2)]), /not a multiple of 4/],
    ['version 1', (b) => (b.writeUInt8(1, 0), b), /version at byte 0: version 1/],
    ['a request where a response is expected', (b) => (b.writeUInt8(1, 1), b), /R bit at byte 1/],
    ['a MAP success cut short', (b) => b.subarray(0, 40), /MAP response needs at least 60/],
    ['an option that does not fit', (b) => Buffer.concat([b, hex('01000010')]), /option 1 length at byte 62: 16 bytes/],
    ['THIRD_PARTY of the wrong length', (b) => Buffer.concat([b, hex('0100000400000000')]), /option 1 length at byte 62: 4, this option is 16 bytes/],
    ['PREFER_FAILURE with data', (b) => Buffer.concat([b, hex('0200000400000000')]), /option 2 length/],
    ['a FILTER prefix over 128', (b) => Buffer.concat([b, hex('03000014'), hex('00ff0000'), Buffer.alloc(16)]), /filter prefix length at byte 65: 255/],
    ['unknown opcode in a success', (b) => (b.writeUInt8(0x85, 1), b), /opcode at byte 1: unknown opcode 5/],
  ];
  it.each(cases)('refuses %s with a PcpParseError', (_name, mutate, message) => {
    const bytes = mutate(good());
    let error: unknown;
    try {
      decodePcpResponse(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PcpParseError);
    expect((error as Error).message).toMatch(message);
  });

  it('keeps an error answer to an unknown opcode as a header', () => {
    const b = Buffer.alloc(24);
    b.writeUInt8(2, 0);
    b.writeUInt8(0x80 | 9, 1);
    b.writeUInt8(4, 3);
    expect(decodePcpResponse(b)).toMatchObject({ opcode: 'unknown', opcodeCode: 9, resultCode: 4 });
  });

  it('refuses bad fields on encoding with a PcpRequestError', () => {
    const mapping = { nonce: Buffer.alloc(11), protocol: 17, internalPort: 1, externalPort: 0, externalAddress: '::' };
    expect(() => encodePcpRequest({ opcode: 'map', lifetime: 1, clientAddress: '::1', options: [], mapping })).toThrow(/nonce must be 12 bytes, got 11/);
    expect(() => encodePcpRequest({ opcode: 'map', lifetime: 1, clientAddress: 'not-an-ip', options: [], mapping: { ...mapping, nonce: Buffer.alloc(12) } })).toThrow(PcpRequestError);
    expect(() => encodePcpRequest({ opcode: 'map', lifetime: -1, clientAddress: '::1', options: [], mapping: { ...mapping, nonce: Buffer.alloc(12) } })).toThrow(/lifetime must be an integer/);
    expect(() => encodePcpRequest({ opcode: 'map', lifetime: 1, clientAddress: '::1', options: [], mapping: { ...mapping, nonce: Buffer.alloc(12), internalPort: 70000 } })).toThrow(/internal port/);
  });
});

describe('PCP decoder fuzzing (fast-check)', () => {
  const onlyParseErrors = (decode: (b: Uint8Array) => unknown) => (bytes: Uint8Array) => {
    try {
      decode(bytes);
    } catch (error) {
      if (!(error instanceof PcpParseError)) throw error;
    }
  };

  it('throws nothing but PcpParseError on arbitrary bytes (responses and requests)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1200 }), onlyParseErrors(decodePcpResponse)), { numRuns: 1000, seed: 6887 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1200 }), onlyParseErrors(decodePcpRequest)), { numRuns: 500, seed: 6888 });
  });

  it('throws nothing but PcpParseError on mutated captures, and what decodes encodes back identically (bar reserved bytes)', () => {
    const seeds = captures.filter((n) => !n.startsWith('malformed')).map((n) => pcp(n));
    let decoded = 0;
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.uint8Array({ maxLength: 24 }), (seed, flips, tail) => {
        const bytes = Buffer.concat([seed, Buffer.from(tail)]);
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        const isResponse = (bytes[1] & 0x80) !== 0;
        let message: PcpRequest | PcpResponse;
        try {
          message = isResponse ? decodePcpResponse(bytes) : decodePcpRequest(bytes);
        } catch (error) {
          if (error instanceof PcpParseError) return;
          throw error;
        }
        decoded += 1;
        const again = isResponse ? decodePcpResponse(encodePcpResponse(message as PcpResponse)) : decodePcpRequest(encodePcpRequest(message as PcpRequest));
        expect(again).toEqual(message);
      }),
      { numRuns: 1500, seed: 5351 },
    );
    expect(decoded).toBeGreaterThan(100);
  });

  it.each(pcpFuzzTargets().map((t) => [t.name, t] as const))('fuzz target %s: seeds with random bytes spliced in fail only with PcpParseError', (_name, t) => {
    expect(t.seeds.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.constantFrom(...t.seeds), fc.nat(), fc.uint8Array({ maxLength: 64 }), (seed, at, splice) => {
        const cut = at % (seed.length + 1);
        t.run(Buffer.concat([seed.subarray(0, cut), Buffer.from(splice), seed.subarray(cut + splice.length)]));
      }),
      { numRuns: 250, seed: 5350 },
    );
  });

  it('round-trips arbitrary valid MAP requests with options', () => {
    const address = fc.oneof(fc.ipV4(), fc.ipV6());
    const option: fc.Arbitrary<PcpOption> = fc.oneof(
      address.map((a) => ({ type: 'third-party' as const, address: a })),
      fc.constant({ type: 'prefer-failure' as const }),
      fc.record({ prefixLength: fc.integer({ min: 0, max: 128 }), remotePeerPort: fc.integer({ min: 0, max: 65535 }), remotePeerAddress: address }).map((f) => ({ type: 'filter' as const, ...f })),
      fc.record({ code: fc.integer({ min: 4, max: 255 }), data: fc.uint8Array({ maxLength: 40 }).map((d) => Buffer.from(d)) }).map((u) => ({ type: 'unknown' as const, ...u })),
    );
    fc.assert(
      fc.property(
        fc.record({
          lifetime: fc.nat(),
          clientAddress: address,
          options: fc.array(option, { maxLength: 5 }),
          nonce: fc.uint8Array({ minLength: 12, maxLength: 12 }),
          protocol: fc.integer({ min: 1, max: 255 }),
          internalPort: fc.integer({ min: 0, max: 65535 }),
          externalPort: fc.integer({ min: 0, max: 65535 }),
          externalAddress: address,
        }),
        (r) => {
          const request: PcpRequest = {
            opcode: 'map', lifetime: r.lifetime, clientAddress: r.clientAddress, options: r.options,
            mapping: { nonce: Buffer.from(r.nonce), protocol: r.protocol, internalPort: r.internalPort, externalPort: r.externalPort, externalAddress: r.externalAddress },
          };
          const bytes = encodePcpRequest(request);
          const back = decodePcpRequest(bytes);
          expect(encodePcpRequest(back)).toEqual(bytes);
          expect(back.lifetime).toBe(r.lifetime);
          expect(back.options).toHaveLength(r.options.length);
        },
      ),
      { numRuns: 500, seed: 1100 },
    );
  });
});
