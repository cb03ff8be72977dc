import { decodeRouterAdvertisement, encodeRouterAdvertisement, RouterAdvertisementFormatError } from '../../../adapters/observe/router-advertisement';

const lab = {
  routerLifetime: 1800,
  prefixes: [
    { prefix: '2001:db8:78::/64', onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 },
    { prefix: '2001:db8:77::/64', onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 0 },
  ],
  rdnss: [{ lifetime: 1800, servers: ['2001:db8:77::1'] }],
  pref64: [{ prefix: '64:ff9b::/96', prefixLength: 96 as const, lifetime: 1800 }],
  mtu: 1500,
  sourceLinkLayerAddress: '02:00:00:00:00:01',
};

describe('router advertisements', () => {
  it('round-trips PIO (current and deprecated), RDNSS, PREF64, MTU and SLLAO', () => {
    const bytes = encodeRouterAdvertisement(lab);
    expect(bytes.length).toBe(16 + 8 + 8 + 32 * 2 + 24 + 16);
    const ra = decodeRouterAdvertisement(bytes);
    expect(ra).toEqual({ hopLimit: 64, managed: false, otherConfig: false, ...lab });
  });

  it('rejects zero-length options, options past the end and non-RA messages', () => {
    const bytes = encodeRouterAdvertisement(lab);
    const zero = Uint8Array.from(bytes);
    zero[17] = 0;
    expect(() => decodeRouterAdvertisement(zero)).toThrow(/length 0/);
    expect(() => decodeRouterAdvertisement(bytes.slice(0, bytes.length - 3))).toThrow(/runs past the end/);
    const ns = Uint8Array.from(bytes);
    ns[0] = 135;
    expect(() => decodeRouterAdvertisement(ns)).toThrow(RouterAdvertisementFormatError);
    expect(() => decodeRouterAdvertisement(new Uint8Array(4))).toThrow(RouterAdvertisementFormatError);
  });

  it('skips unknown options', () => {
    const bytes = encodeRouterAdvertisement({ routerLifetime: 0 });
    const withUnknown = Uint8Array.from([...bytes, 200, 1, 0, 0, 0, 0, 0, 0]);
    expect(decodeRouterAdvertisement(withUnknown).prefixes).toEqual([]);
  });
});
