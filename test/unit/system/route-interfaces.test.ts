import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  chooseGatewayInterfaces,
  InterfaceChoiceError,
  parseDefaultRoutesJson,
  parseIpAddrJson,
  readRouterInterfaces,
  RouterInterfaces,
  RouterLink,
} from '../../../adapters/system/route-interfaces';

const FIXTURES = join(__dirname, '../../fixtures/ip-router');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

/** The lab-like router captured in test/fixtures/ip-router. */
function labRouter(): RouterInterfaces {
  return {
    links: parseIpAddrJson(fixture('addr.json')),
    defaultRoutes: [...parseDefaultRoutesJson(fixture('route-default-v4.json'), 'ipv4'), ...parseDefaultRoutesJson(fixture('route-default-v6.json'), 'ipv6')],
  };
}

function link(name: string, addresses: string[], extra: Partial<RouterLink> = {}): RouterLink {
  return {
    name,
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    addresses: addresses.map((a) => {
      const [address, length] = a.split('/');
      return { family: address.includes(':') ? 'ipv6' : 'ipv4', address, prefixLength: Number(length) };
    }),
    ...extra,
  };
}

function errorOf(state: RouterInterfaces, given?: { wan?: string; lan?: string[] }): InterfaceChoiceError {
  try {
    chooseGatewayInterfaces(state, given);
  } catch (error) {
    expect(error).toBeInstanceOf(InterfaceChoiceError);
    return error as InterfaceChoiceError;
  }
  throw new Error('expected an InterfaceChoiceError');
}

describe('route-interfaces: parsing real ip -j output', () => {
  it('reads links, their kind, bridge ports and addresses', () => {
    const links = parseIpAddrJson(fixture('addr.json'));
    expect(links.map((l) => l.name)).toEqual(['lo', 'wan0', 'lan0', 'lc-peer', 'lan-console']);
    const lan0 = links.find((l) => l.name === 'lan0');
    expect(lan0?.kind).toBe('bridge');
    expect(lan0?.addresses.map((a) => `${a.address}/${a.prefixLength}`)).toEqual(expect.arrayContaining(['192.168.77.1/24', '2001:db8:77::1/64', 'fd00:77::1/64']));
    expect(links.find((l) => l.name === 'lan-console')?.master).toBe('lan0');
  });

  it('reads default routes with metric and gateway', () => {
    expect(parseDefaultRoutesJson(fixture('route-default-v4.json'), 'ipv4')).toEqual([{ family: 'ipv4', dev: 'wan0', metric: 0, gateway: '198.51.100.2' }]);
    expect(parseDefaultRoutesJson(fixture('route-default-v6.json'), 'ipv6')).toEqual([{ family: 'ipv6', dev: 'wan0', metric: 1024, gateway: '2001:db8:100::2' }]);
    expect(parseDefaultRoutesJson('', 'ipv4')).toEqual([]);
    expect(() => parseIpAddrJson('{oops')).toThrow(/not JSON/);
  });

  it('readRouterInterfaces asks ip for addresses and both default routes', async () => {
    const calls: string[] = [];
    const outputs: Record<string, string> = {
      '-j -d addr show': fixture('addr.json'),
      '-j -4 route show default': fixture('route-default-v4.json'),
      '-j -6 route show default': fixture('route-default-v6.json'),
    };
    const state = await readRouterInterfaces(async (file, args) => {
      calls.push(`${file} ${args.join(' ')}`);
      return { code: 0, stdout: outputs[args.join(' ')] ?? '', stderr: '' };
    });
    expect(calls.sort()).toEqual(['ip -j -4 route show default', 'ip -j -6 route show default', 'ip -j -d addr show']);
    expect(chooseGatewayInterfaces(state)).toMatchObject({ wan: 'wan0', lan: ['lan0'] });
  });
});

describe('chooseGatewayInterfaces', () => {
  it('on the lab router: WAN by the IPv4 default route, LAN the bridge (not its port, not a link-local-only veth)', () => {
    const choice = chooseGatewayInterfaces(labRouter());
    expect(choice.wan).toBe('wan0');
    expect(choice.lan).toEqual(['lan0']);
    expect(choice.why.wan).toBe('wan0: the IPv4 default route (via 198.51.100.2) leaves through it');
    expect(choice.why.lan).toContain('lan0: bridge with 192.168.77.1/24');
  });

  it.each([
    ['IPv4 default route wins over IPv6', [{ family: 'ipv6', dev: 'ppp6', metric: 0 }, { family: 'ipv4', dev: 'eth0', metric: 100 }], 'eth0'],
    ['IPv6 only router', [{ family: 'ipv6', dev: 'eth0', metric: 1024 }], 'eth0'],
    ['lowest metric wins', [{ family: 'ipv4', dev: 'eth1', metric: 200 }, { family: 'ipv4', dev: 'eth0', metric: 100 }], 'eth0'],
  ] as const)('WAN: %s', (_name, defaultRoutes, wan) => {
    const links = [link('eth0', ['203.0.113.5/24']), link('eth1', ['203.0.113.9/24']), link('ppp6', ['2001:db8:1::5/64']), link('br-lan', ['192.168.1.1/24'], { kind: 'bridge' })];
    expect(chooseGatewayInterfaces({ links, defaultRoutes }).wan).toBe(wan);
  });

  it('LAN: every private/ULA/global interface when there is no bridge; bridges preferred when there are', () => {
    const routes = [{ family: 'ipv4' as const, dev: 'eth0', metric: 0 }];
    const plain = [link('eth0', ['203.0.113.5/24']), link('eth1', ['10.0.0.1/24']), link('eth2', ['fd12::1/64']), link('eth3', ['fe80::1/64']), link('eth4', ['100.64.0.1/10'])];
    expect(chooseGatewayInterfaces({ links: plain, defaultRoutes: routes }).lan).toEqual(['eth1', 'eth2']);
    const withBridge = [...plain, link('br0', ['192.168.1.1/24'], { kind: 'bridge' })];
    const choice = chooseGatewayInterfaces({ links: withBridge, defaultRoutes: routes });
    expect(choice.lan).toEqual(['br0']);
    expect(choice.why.lan).toContain('bridges preferred over eth1, eth2');
  });

  it('LAN: skips down, point-to-point, loopback and bridge-port interfaces', () => {
    const links = [
      link('eth0', ['203.0.113.5/24']),
      link('down0', ['192.168.2.1/24'], { flags: ['BROADCAST', 'MULTICAST'] }),
      link('wg0', ['10.8.0.1/24'], { flags: ['POINTOPOINT', 'NOARP', 'UP', 'LOWER_UP'] }),
      link('port0', ['192.168.3.1/24'], { master: 'br0' }),
      link('lan1', ['192.168.4.1/24']),
    ];
    expect(chooseGatewayInterfaces({ links, defaultRoutes: [{ family: 'ipv4', dev: 'eth0', metric: 0 }] }).lan).toEqual(['lan1']);
  });

  it('keeps what the configuration names', () => {
    const choice = chooseGatewayInterfaces(labRouter(), { wan: 'lan-console' });
    expect(choice.wan).toBe('lan-console');
    expect(choice.why.wan).toBe('lan-console: set by wan.interface');
    expect(choice.lan).toEqual(['lan0']);
    expect(chooseGatewayInterfaces(labRouter(), { lan: ['lc-peer'] })).toMatchObject({ wan: 'wan0', lan: ['lc-peer'] });
  });

  it('no default route: names the candidates and the key to set', () => {
    const error = errorOf({ ...labRouter(), defaultRoutes: [] });
    expect(error.message).toContain('cannot choose the WAN interface: there is no default route');
    expect(error.message).toContain('wan0 (198.51.100.1/24, 2001:db8:100::1/64)');
    expect(error.message).toContain('lan0 (bridge; 192.168.77.1/24');
    expect(error.message).toContain('{"wan": {"interface": "NAME"}}');
    expect(error.candidates).toEqual(['wan0', 'lan0', 'lc-peer', 'lan-console']);
  });

  it('two default routes of equal metric: ambiguous, both named', () => {
    const links = [link('eth0', ['203.0.113.5/24']), link('eth1', ['198.51.100.7/24']), link('br0', ['192.168.1.1/24'], { kind: 'bridge' })];
    const error = errorOf({ links, defaultRoutes: [{ family: 'ipv4', dev: 'eth0', metric: 0 }, { family: 'ipv4', dev: 'eth1', metric: 0 }] });
    expect(error.message).toContain('IPv4 default routes with metric 0 leave through eth0 and eth1');
    expect(error.candidates).toEqual(['eth0', 'eth1']);
  });

  it('no LAN candidate: names the interfaces and the key to set', () => {
    const links = [link('eth0', ['203.0.113.5/24']), link('eth1', ['fe80::1/64'])];
    const error = errorOf({ links, defaultRoutes: [{ family: 'ipv4', dev: 'eth0', metric: 0 }] });
    expect(error.message).toContain('cannot choose the LAN interface');
    expect(error.message).toContain('eth1 (no addresses)');
    expect(error.message).toContain('{"lan": {"interfaces": ["NAME"]}}');
    expect(error.candidates).toEqual(['eth1']);
  });
});
