/**
 * openPort on a host with no network in a family (no interface up, an
 * IPv6-only or IPv4-only host): a verdict for that family — unsupported, "no
 * network" — instead of a rejection that loses the other family's answer.
 */
import { HostAddress } from '../../../adapters/observe/host-address';
import { DiscoverGatewayOptions, GatewayNotFoundError } from '../../../adapters/upnp/gateway-discovery';
import { UpnpNetworkError } from '../../../adapters/upnp/upnp-errors';
import { openPort } from '../../../plugin/agent/open-port';

const globalV6: HostAddress = {
  interface: 'eth0',
  family: 'ipv6',
  address: '2001:db8:77::10',
  prefixLength: 64,
  scope: 'gua',
  temporary: false,
  deprecated: false,
  tentative: false,
  preferredLifetime: Infinity,
  validLifetime: Infinity,
};

/** Discovery as the real one fails: no transport could start for a family without interfaces. */
function discoverWith(byFamily: Partial<Record<'ipv4' | 'ipv6', Error>>) {
  const asked: string[] = [];
  const discover = async (options: DiscoverGatewayOptions): Promise<never> => {
    const family = options.family as 'ipv4' | 'ipv6';
    asked.push(family);
    throw byFamily[family] ?? new Error(`unexpected discovery over ${family}`);
  };
  return { discover, asked };
}

const cannotSearch = (family: string, why: string) => new UpnpNetworkError(`Cannot search for a gateway: ${family}: ${why}`);

describe('openPort without a network', () => {
  it('gives each family an unsupported "no network" verdict when the host has no addresses at all', async () => {
    const { discover, asked } = discoverWith({
      ipv6: cannotSearch('ipv6', 'No interface with a non-ULA global IPv6 address: IPv6 IGD search skipped'),
      ipv4: cannotSearch('ipv4', 'No IPv4 interface to search on'),
    });
    const handle = await openPort({ protocol: 'udp', port: 40000, family: 'both', keepOpen: false, discover, addresses: { read: async () => [] } });
    expect(asked.sort()).toEqual(['ipv4', 'ipv6']);
    expect(handle.reachability).toEqual([
      { family: 'ipv6', verdict: 'unsupported', grade: 'D', reason: expect.stringMatching(/^no network: this host has no stable, preferred global IPv6 address/) },
      { family: 'ipv4', verdict: 'unsupported', grade: 'D', reason: 'no network: this host has no IPv4 address' },
    ]);
    handle.detach();
  });

  it('keeps the other family\'s answer on an IPv6-only host', async () => {
    const { discover } = discoverWith({
      ipv6: new GatewayNotFoundError(500, [], 0),
      ipv4: cannotSearch('ipv4', 'No IPv4 interface to search on'),
    });
    const handle = await openPort({ protocol: 'tcp', port: 25565, family: 'both', keepOpen: false, discover, addresses: { read: async () => [globalV6] } });
    const [v6, v4] = handle.reachability;
    expect(v6).toMatchObject({ family: 'ipv6', verdict: 'unsupported', grade: 'D' });
    expect(v6.reason).toMatch(/^no Internet Gateway Device answered over ipv6/);
    expect(v4).toEqual({ family: 'ipv4', verdict: 'unsupported', grade: 'D', reason: 'no network: this host has no IPv4 address' });
    handle.detach();
  });

  it('still rejects when the family has an address and discovery failed for another reason (a port it cannot bind)', async () => {
    const bindFailure = new UpnpNetworkError('Cannot search for a gateway: ipv6: Cannot bind IPv6 SSDP socket on port 1900: EADDRINUSE');
    const { discover } = discoverWith({ ipv6: bindFailure });
    await expect(
      openPort({ protocol: 'udp', port: 40000, family: 'ipv6', keepOpen: false, discover, addresses: { read: async () => [globalV6] } }),
    ).rejects.toBe(bindFailure);
  });

  it('does not hide a failure to read the host addresses behind a verdict', async () => {
    const failure = cannotSearch('ipv4', 'No IPv4 interface to search on');
    const { discover } = discoverWith({ ipv4: failure });
    await expect(
      openPort({ protocol: 'udp', port: 40000, family: 'ipv4', keepOpen: false, discover, addresses: { read: async () => Promise.reject(new Error('ip: not found')) } }),
    ).rejects.toBe(failure);
  });
});
