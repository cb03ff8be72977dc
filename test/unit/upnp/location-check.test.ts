import {
  RogueLocationError, checkLocation, ipv4SearchInterfaces, ipv6SearchInterfaces, isOnLinkIpv6, parseHttpUrl, resolveUpnpUrl,
} from '../../../adapters/upnp';
import { LAB_TABLE } from './fake-interfaces';
import { readReference } from '../../support/reference-fixtures';

describe('rogue-router hygiene: LOCATION check', () => {
  it('accepts miniupnpd over IPv6: reply from fe80::1, LOCATION on its global address on-link on lan0', () => {
    const loc = checkLocation('http://[2001:db8:77::1]:5000/rootDesc.xml', { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }, LAB_TABLE);
    expect(loc).toMatchObject({ url: 'http://[2001:db8:77::1]:5000/rootDesc.xml', host: '2001:db8:77::1', port: 5000, family: 'ipv6', acceptedBecause: 'on-link' });
    expect(loc.zone).toBeUndefined();
  });

  it('rejects the same LOCATION when the reply arrived on another link', () => {
    expect(() => checkLocation('http://[2001:db8:77::1]:5000/rootDesc.xml', { remoteAddress: 'fe80::1%lan1', interfaceName: 'lan1' }, LAB_TABLE))
      .toThrow(/2001:db8:77::1 is not on-link for lan1/);
  });

  it('rejects a LOCATION on another host (IPv4)', () => {
    const err = (() => {
      try {
        checkLocation('http://192.168.77.66:5000/rootDesc.xml', { remoteAddress: '192.168.77.1', interfaceName: 'lan0' }, LAB_TABLE);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RogueLocationError);
    expect((err as RogueLocationError).message).toMatch(/not the address that answered/);
    expect((err as RogueLocationError).remoteAddress).toBe('192.168.77.1');
  });

  it('accepts a LOCATION on the sender itself, whatever its text form', () => {
    expect(checkLocation('http://192.168.77.1:5000/rootDesc.xml', { remoteAddress: '192.168.77.1' }, LAB_TABLE).acceptedBecause).toBe('sender');
    expect(checkLocation('http://[2001:DB8:77:0::1]:5000/x', { remoteAddress: '2001:db8:77::1', interfaceName: 'lan0' }, LAB_TABLE).host).toBe('2001:db8:77::1');
  });

  it('handles zone ids on link-local LOCATIONs', () => {
    const same = checkLocation('http://[fe80::1]:5000/d.xml', { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }, LAB_TABLE);
    expect(same).toMatchObject({ url: 'http://[fe80::1]:5000/d.xml', zone: 'lan0', acceptedBecause: 'sender' });
    const zoned = checkLocation('http://[fe80::1%25lan0]:5000/d.xml', { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }, LAB_TABLE);
    expect(zoned.zone).toBe('lan0');
    expect(() => checkLocation('http://[fe80::1%25lan1]:5000/d.xml', { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }, LAB_TABLE)).toThrow(RogueLocationError);
    // Another link-local host on the same link is a redirect to another neighbour.
    expect(() => checkLocation('http://[fe80::9]:5000/d.xml', { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }, LAB_TABLE))
      .toThrow(/link-local address other than the sender's/);
  });

  it.each([
    ['the client\'s own global address', 'http://[2001:db8:77::10]:8080/admin', /this host's own address/],
    ['the client\'s own ULA', 'http://[fd00:77::10]:5000/rootDesc.xml', /this host's own address/],
    ['the client\'s own link-local address', 'http://[fe80::10]:631/', /link-local address other than the sender's/],
    ['loopback', 'http://[::1]:5000/rootDesc.xml', /not on-link/],
    ['an off-link global address', 'http://[2001:db8:5::1]:5000/rootDesc.xml', /not on-link/],
  ])('refuses an answer from a link-local sender pointing at %s', (_what, location, why) => {
    expect(() => checkLocation(location, { remoteAddress: 'fe80::66%lan0', interfaceName: 'lan0' }, LAB_TABLE)).toThrow(why);
  });

  it('refuses a global sender naming another on-link address; accepts it naming its own', () => {
    expect(() => checkLocation('http://[2001:db8:77::1]:5000/rootDesc.xml', { remoteAddress: '2001:db8:77::66', interfaceName: 'lan0' }, LAB_TABLE))
      .toThrow(/routable address must name its own address/);
    expect(checkLocation('http://[2001:db8:77::66]:5000/rootDesc.xml', { remoteAddress: '2001:db8:77::66', interfaceName: 'lan0' }, LAB_TABLE).acceptedBecause).toBe('sender');
  });

  it('keeps the captured miniupnpd 2.3.1 IPv6 answer working: fe80 sender, global LOCATION', () => {
    const answer = readReference('ssdp', 'v6-igd2.response-0.txt').toString('utf8');
    const location = /^LOCATION:\s*(\S+)/im.exec(answer)?.[1] as string;
    expect(location).toBe('http://[2001:db8:77::1]:5000/rootDesc.xml');
    expect(checkLocation(location, { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }, LAB_TABLE).acceptedBecause).toBe('on-link');
  });

  it('rejects host names, IPv4 LOCATIONs from IPv6 senders, and non-http URLs', () => {
    expect(() => checkLocation('http://router.lan:5000/d.xml', { remoteAddress: '192.168.77.1' }, LAB_TABLE)).toThrow(/names a host/);
    expect(() => checkLocation('http://192.168.77.1:5000/d.xml', { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }, LAB_TABLE)).toThrow(RogueLocationError);
    expect(() => checkLocation('https://192.168.77.1/d.xml', { remoteAddress: '192.168.77.1' }, LAB_TABLE)).toThrow(RogueLocationError);
    expect(() => checkLocation('http://[2001:db8:77::1]:5000/d.xml', { remoteAddress: 'fe80::1' }, LAB_TABLE)).toThrow(/arrival interface is unknown/);
  });
});

describe('interface selection', () => {
  it('gates IPv6 search on a non-ULA global address', () => {
    expect(ipv6SearchInterfaces(LAB_TABLE).map((i) => i.name)).toEqual(['lan0', 'lan1']);
    expect(ipv6SearchInterfaces(LAB_TABLE, ['ula0', 'lan0']).map((i) => i.name)).toEqual(['lan0']);
    expect(ipv6SearchInterfaces(LAB_TABLE)[0]).toMatchObject({ name: 'lan0', address: '2001:db8:77::10', linkLocalAddress: 'fe80::10', scopeId: 2 });
  });

  it('lists IPv4 interfaces, internal ones only when named', () => {
    expect(ipv4SearchInterfaces(LAB_TABLE).map((i) => i.address)).toEqual(['192.168.77.10', '10.9.0.2']);
    expect(ipv4SearchInterfaces(LAB_TABLE, ['lo']).map((i) => i.address)).toEqual(['127.0.0.1']);
  });

  it('knows on-link prefixes', () => {
    expect(isOnLinkIpv6(LAB_TABLE, 'lan0', '2001:db8:77::1')).toBe(true);
    expect(isOnLinkIpv6(LAB_TABLE, 'lan0', '2001:db8:78::1')).toBe(false);
    expect(isOnLinkIpv6(LAB_TABLE, 'lan0', 'fd00:77::1')).toBe(true);
  });
});

describe('URLs', () => {
  it('parses bracketed IPv6 hosts with zones and canonicalizes them', () => {
    expect(parseHttpUrl('http://[FE80::0:1%25eth0]:5000/a?b=1')).toMatchObject({ host: 'fe80::1', zone: 'eth0', port: 5000, path: '/a?b=1', href: 'http://[fe80::1]:5000/a?b=1' });
    expect(parseHttpUrl('http://192.168.1.1/x')).toMatchObject({ host: '192.168.1.1', port: 80, hostKind: 'ipv4' });
    expect(() => parseHttpUrl('ftp://1.2.3.4/')).toThrow(/http/);
  });

  it('resolves absolute, rooted and relative references', () => {
    expect(resolveUpnpUrl('/ctl/IPConn', 'http://[2001:db8:77::1]:5000/rootDesc.xml')).toBe('http://[2001:db8:77::1]:5000/ctl/IPConn');
    expect(resolveUpnpUrl('ctl/IPConn', 'http://192.168.1.1:5000/desc/root.xml')).toBe('http://192.168.1.1:5000/desc/ctl/IPConn');
    expect(resolveUpnpUrl('http://192.168.1.1:49000/upnp/control', 'http://192.168.1.1:5000/')).toBe('http://192.168.1.1:49000/upnp/control');
  });
});
