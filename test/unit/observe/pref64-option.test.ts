import { decodePref64, encodePref64, Pref64FormatError } from '../../../adapters/observe/pref64-option';

describe('PREF64 option (RFC 8781)', () => {
  it('encodes 64:ff9b::/96 with a 1800 s lifetime byte for byte', () => {
    const bytes = encodePref64({ prefix: '64:ff9b::/96', prefixLength: 96, lifetime: 1800 });
    // 1800 / 8 = 225 = 0b11100001; field = 225 << 3 | PLC 0 = 0x0708.
    expect(Array.from(bytes)).toEqual([38, 2, 0x07, 0x08, 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(decodePref64(bytes)).toEqual({ prefix: '64:ff9b::/96', prefixLength: 96, lifetime: 1800 });
  });

  it('round-trips every prefix length code and rounds lifetimes up to 8 s', () => {
    for (const [length, plc] of [[96, 0], [64, 1], [56, 2], [48, 3], [40, 4], [32, 5]] as const) {
      const bytes = encodePref64({ prefix: '2001:db8:6464::', prefixLength: length, lifetime: 601 });
      expect(bytes[3] & 7).toBe(plc);
      const decoded = decodePref64(bytes);
      expect(decoded.prefixLength).toBe(length);
      expect(decoded.lifetime).toBe(608);
    }
    expect(decodePref64(encodePref64({ prefix: '2001:db8:6464::', prefixLength: 32, lifetime: 8 })).prefix).toBe('2001:db8::/32');
  });

  it('rejects reserved PLCs, wrong lengths, bad lifetimes and bad prefixes', () => {
    const good = encodePref64({ prefix: '64:ff9b::', prefixLength: 96, lifetime: 8 });
    const reserved = Uint8Array.from(good);
    reserved[3] |= 6;
    expect(() => decodePref64(reserved)).toThrow(/prefix length code 6 is reserved/);
    const long = Uint8Array.from([...good, 0, 0, 0, 0, 0, 0, 0, 0]);
    long[1] = 3;
    expect(() => decodePref64(long)).toThrow(Pref64FormatError);
    expect(() => decodePref64(good.slice(0, 10))).toThrow(Pref64FormatError);
    expect(() => encodePref64({ prefix: '64:ff9b::', prefixLength: 96, lifetime: 65536 })).toThrow(/lifetime/);
    expect(() => encodePref64({ prefix: '64:ff9b::', prefixLength: 80 as 96, lifetime: 8 })).toThrow(/prefix length 80/);
    expect(() => encodePref64({ prefix: 'not-a-prefix', prefixLength: 96, lifetime: 8 })).toThrow(/not an IPv6 prefix/);
  });
});
