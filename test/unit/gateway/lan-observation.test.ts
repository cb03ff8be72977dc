import type { HostAddress } from '../../../adapters/observe/host-address';
import { deprecatedLanPrefixes, prefix64 } from '../../../plugin/gateway/lan-observation';
import { scopeOf } from '../../../policies/model/address';

const host = (address: string, deprecated: boolean, iface = 'lan0'): HostAddress => ({
  interface: iface, family: address.includes(':') ? 'ipv6' : 'ipv4', address, prefixLength: 64, scope: scopeOf(address),
  temporary: false, deprecated, tentative: false, preferredLifetime: deprecated ? 0 : 3600, validLifetime: 7200,
});

describe('LAN prefixes', () => {
  it('the /64 of an address is its canonical network address, whatever its spelling', () => {
    expect(prefix64('2001:db8:0:1::20')).toBe('2001:db8:0:1::');
    expect(prefix64('2001:DB8:0:1:0:0:0:20')).toBe('2001:db8:0:1::');
    expect(prefix64('2001:db8::1:2:3:4')).toBe('2001:db8::');
    expect(prefix64('192.168.1.1')).toBeUndefined();
    expect(prefix64('nope:')).toBeUndefined();
  });

  it('a /64 is deprecated when the router holds only deprecated addresses in it, on its LAN interfaces', () => {
    const list = [
      host('2001:db8:0:1::1', true), // old prefix, deprecated
      host('2001:db8:0:2::1', false), // new prefix
      host('2001:db8:0:3::1', true), host('2001:db8:0:3::2', false), // still preferred by another address
      host('fd00:0:0:4::1', true), // a ULA counts too
      host('fe80::1', true), // link-local never
      host('2001:db8:0:5::1', true, 'wan0'), // not a LAN interface
    ];
    expect([...deprecatedLanPrefixes(list, ['lan0'])].sort()).toEqual(['2001:db8:0:1::', 'fd00:0:0:4::']);
  });
});
