import fc from 'fast-check';
import { decodeNatPmpRequest, decodeNatPmpResponse, encodeNatPmpRequest, encodeNatPmpResponse, NatPmpResponse, PcpParseError, PcpRequestError } from '../../../adapters/pcp';

describe('NAT-PMP codec (RFC 6886)', () => {
  it('writes the public-address and mapping requests', () => {
    expect(encodeNatPmpRequest({ opcode: 'public-address' }).toString('hex')).toBe('0000');
    expect(encodeNatPmpRequest({ opcode: 'map-udp', internalPort: 40040, suggestedExternalPort: 40041, lifetime: 120 }).toString('hex')).toBe('00010000' + '9c68' + '9c69' + '00000078');
    expect(encodeNatPmpRequest({ opcode: 'map-tcp', internalPort: 1, suggestedExternalPort: 0, lifetime: 0 })[1]).toBe(2);
  });

  it('round-trips requests and answers', () => {
    const req = { opcode: 'map-tcp', internalPort: 8080, suggestedExternalPort: 8081, lifetime: 7200 } as const;
    expect(decodeNatPmpRequest(encodeNatPmpRequest(req))).toEqual(req);
    const answers: NatPmpResponse[] = [
      { opcode: 'public-address', resultCode: 0, epoch: 42, externalAddress: '198.51.100.1' },
      { opcode: 'map-udp', resultCode: 0, epoch: 43, internalPort: 40040, externalPort: 40040, lifetime: 120 },
    ];
    for (const a of answers) expect(decodeNatPmpResponse(encodeNatPmpResponse(a))).toEqual(a);
    expect(encodeNatPmpResponse(answers[0]).toString('hex')).toBe('008000000000002ac6336401');
  });

  it('is strict: version, opcode direction, sizes; error answers need only 8 bytes', () => {
    expect(() => decodeNatPmpResponse(Buffer.from('0080000000000001c63364', 'hex'))).toThrow(/a NAT-PMP public-address answer is 12/);
    expect(() => decodeNatPmpResponse(Buffer.from('0100000000000000', 'hex'))).toThrow(/version 1/);
    expect(() => decodeNatPmpResponse(Buffer.from('0001000000000000', 'hex'))).toThrow(/is a request/);
    expect(() => decodeNatPmpResponse(Buffer.from('0083000000000000', 'hex'))).toThrow(/unknown NAT-PMP answer opcode 131/);
    expect(decodeNatPmpResponse(Buffer.from('0081000200000005', 'hex'))).toEqual({ opcode: 'map-udp', resultCode: 2, epoch: 5 });
    expect(() => decodeNatPmpRequest(Buffer.from('000100', 'hex'))).toThrow(/3 bytes, a NAT-PMP map-udp request is 12/);
    expect(() => encodeNatPmpRequest({ opcode: 'map-udp', internalPort: 0, suggestedExternalPort: 0, lifetime: 1 })).toThrow(PcpRequestError);
    expect(() => encodeNatPmpResponse({ opcode: 'public-address', resultCode: 0, epoch: 0, externalAddress: '2001:db8::1' })).toThrow(/not an IPv4 address/);
  });

  it('throws nothing but PcpParseError on arbitrary bytes (fuzz)', () => {
    for (const decode of [decodeNatPmpResponse, decodeNatPmpRequest]) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
          try {
            decode(bytes);
          } catch (error) {
            if (!(error instanceof PcpParseError)) throw error;
          }
        }),
        { numRuns: 500, seed: 6886 },
      );
    }
  });
});
