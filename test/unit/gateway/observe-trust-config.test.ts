import { GatewayConfigError, parseGatewayConfig } from '../../../plugin/gateway/gateway-config';

const TOKEN = { admin: { token: 'a-token-long-enough' } };

function errorOf(input: object): string {
  try {
    parseGatewayConfig({ ...input, ...TOKEN });
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayConfigError);
    return (error as Error).message;
  }
  throw new Error('no error');
}

describe('devices.observe: who may state DHCP and RA facts', () => {
  it('is absent by default (only the router itself is trusted) and keeps the addresses given, canonical', () => {
    expect(parseGatewayConfig(TOKEN).devices.observe).toEqual({ matter: false, ipv6Mostly: false });
    const config = parseGatewayConfig({ ...TOKEN, devices: { observe: { ipv6Mostly: true, dhcpServers: ['192.168.1.2'], routers: ['FE80::0:2'] } } });
    expect(config.devices.observe).toEqual({ matter: false, ipv6Mostly: true, dhcpServers: ['192.168.1.2'], routers: ['fe80::2'] });
  });

  it.each<[string, object, string]>([
    ['a DHCP server that is not IPv4', { dhcpServers: ['2001:db8::1'] }, `config key 'devices.observe.dhcpServers[0]': expected an IPv4 address, got "2001:db8::1"`],
    ['DHCP servers not a list', { dhcpServers: '192.168.1.2' }, `config key 'devices.observe.dhcpServers': expected a list of IPv4 addresses, got "192.168.1.2"`],
    ['a router that is not link-local', { routers: ['2001:db8::1'] }, `config key 'devices.observe.routers[0]': expected a link-local IPv6 address, got "2001:db8::1"`],
  ])('refuses %s', (_name, observe, message) => {
    expect(errorOf({ devices: { observe } })).toBe(message);
  });
});
