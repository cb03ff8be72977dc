import { embeddedIpv4, nat64PrefixFromAddress } from '../../../adapters/observe/nat64-prefix';

describe('NAT64 prefix from ipv4only.arpa (RFC 7050)', () => {
  it('finds the well-known /96 and network-specific prefixes', () => {
    expect(nat64PrefixFromAddress('64:ff9b::c000:aa')).toBe('64:ff9b::/96');
    expect(nat64PrefixFromAddress('64:ff9b::192.0.0.171')).toBe('64:ff9b::/96');
    // A /64 NSP: IPv4 in bytes 9-12 (byte 8, the u octet, is skipped).
    expect(nat64PrefixFromAddress('2001:db8:6464:0:c0:0:aa00:0')).toBe('2001:db8:6464::/64');
    expect(embeddedIpv4('2001:db8:6464:0:c0:0:aa00:0', 64)).toBe('192.0.0.170');
  });

  it('says nothing for addresses without the well-known IPv4 addresses', () => {
    expect(nat64PrefixFromAddress('2001:db8::1')).toBeUndefined();
    expect(nat64PrefixFromAddress('not an address')).toBeUndefined();
  });
});
