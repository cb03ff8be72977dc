import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIpAddrJson, HostAddress } from '../../../adapters/observe/host-address';
import { chooseInternalClient, InternalClientError } from '../../../plugin/agent/internal-client';

// `ip -j addr show` captured in the lab console: stable GUA (mngtmpaddr), an RFC 8981
// temporary address, a ULA, link-local, and a deprecated GUA added for this fixture.
const console = parseIpAddrJson(readFileSync(join(__dirname, '../../fixtures/ip-addr-console.json'), 'utf8'));

describe('parseIpAddrJson on a real lab console', () => {
  it('reads every address with its scope and flags', () => {
    const byAddress = new Map(console.map((a) => [a.address, a]));
    expect(byAddress.get('2001:db8:77::10')).toMatchObject({ family: 'ipv6', scope: 'gua', temporary: false, deprecated: false, prefixLength: 64, interface: 'eth0' });
    expect(byAddress.get('2001:db8:77::99')).toMatchObject({ scope: 'gua', deprecated: true });
    expect(byAddress.get('fd00:77::10')).toMatchObject({ scope: 'ula' });
    expect(byAddress.get('192.168.77.10')).toMatchObject({ family: 'ipv4', scope: 'private', preferredLifetime: Infinity });
    expect(console.filter((a) => a.temporary)).toHaveLength(1);
    expect(console.filter((a) => a.scope === 'link-local')).toHaveLength(1);
  });

  it('rejects output that is not JSON and skips entries it cannot read', () => {
    expect(() => parseIpAddrJson('not json')).toThrow(/cannot parse 'ip -j addr'/);
    expect(() => parseIpAddrJson('{}')).toThrow(/not a list/);
    expect(parseIpAddrJson('[{"ifname":"x","addr_info":[{"family":"inet6","local":"zz"},{"family":"inet","local":"10.0.0.1","prefixlen":8}]}]')).toEqual([
      expect.objectContaining({ address: '10.0.0.1', scope: 'private' }),
    ]);
  });
});

describe('chooseInternalClient', () => {
  it('IPv6: the stable, preferred global address — not the temporary, deprecated, ULA or link-local ones', () => {
    expect(chooseInternalClient(console, { family: 'ipv6', gateway: '2001:db8:77::1' }).address).toBe('2001:db8:77::10');
    expect(chooseInternalClient(console, { family: 'ipv6' }).address).toBe('2001:db8:77::10');
  });

  it('IPv4: the address on the gateway subnet', () => {
    expect(chooseInternalClient(console, { family: 'ipv4', gateway: '192.168.77.1' }).address).toBe('192.168.77.10');
    expect(() => chooseInternalClient(console, { family: 'ipv4', gateway: '10.1.1.1' })).toThrow(/no IPv4 address on the gateway 10.1.1.1's subnet/);
  });

  it('an explicit address must be one of this host, in any spelling', () => {
    expect(chooseInternalClient(console, { family: 'ipv6', address: '2001:DB8:77:0:0:0:0:10' }).address).toBe('2001:db8:77::10');
    expect(chooseInternalClient(console, { family: 'ipv6', address: 'fd00:77::10' }).scope).toBe('ula'); // asked for: allowed
    expect(() => chooseInternalClient(console, { family: 'ipv6', address: '2001:db8:77::11' })).toThrow(InternalClientError);
    expect(() => chooseInternalClient(console, { family: 'ipv6', address: 'bogus' })).toThrow(/not an IP address/);
    expect(() => chooseInternalClient(console, { family: 'ipv6', address: '192.168.77.10' })).toThrow(/ipv4 address, not ipv6/);
  });

  it('no usable IPv6 address: a clear error naming why', () => {
    const onlyTemporary: HostAddress[] = console.filter((a) => a.temporary || a.scope !== 'gua');
    expect(() => chooseInternalClient(onlyTemporary, { family: 'ipv6' })).toThrow(/no stable, preferred global IPv6 address/);
  });
});
