/**
 * `closePort({ hub })` and `homenet open/close --hub`: a need the hub holds is
 * ended at the hub without touching the router; a bad --hub is a usage error.
 */
import type { CoordinationAsk, CoordinationGrant, CoordinationOutcome } from '../../../plugin/hub/coordination-protocol';
import { HubAnswer, HubCalls, HubUnavailableError } from '../../../plugin/agent/hub-client';
import { closePort } from '../../../plugin/agent/close-port';
import type { HostAddress } from '../../../adapters/observe/host-address';
import type { DiscoveredGateway } from '../../../adapters/upnp/gateway';
import { DiscoverGatewayOptions, GatewayNotFoundError } from '../../../adapters/upnp/gateway-discovery';
import { CliIo } from '../../../plugin/cli/command';
import { openCommand } from '../../../plugin/cli/commands/open';
import { closeCommand } from '../../../plugin/cli/commands/close';

const URL_V4 = 'http://192.168.77.5:5390/homenet/v1';
const v4: HostAddress = { interface: 'eth0', family: 'ipv4', address: '192.168.77.10', prefixLength: 24, scope: 'private', temporary: false, deprecated: false, tentative: false, preferredLifetime: Infinity, validLifetime: Infinity };

function hubAnswering(answer: HubAnswer | Error) {
  const calls = { asks: [] as { ask: CoordinationAsk; from: string }[], ended: [] as { id: string; from: string }[] };
  const hub: HubCalls = {
    url: URL_V4,
    ask: async (ask, from) => {
      calls.asks.push({ ask, from });
      if (answer instanceof Error) throw answer;
      return answer;
    },
    report: async (_id: string, _o: CoordinationOutcome) => Promise.reject(new Error('not expected')),
    end: async (id, from) => {
      calls.ended.push({ id, from });
      return true;
    },
  };
  return { hub, calls };
}

const grant = (applier: 'hub' | 'agent'): CoordinationGrant => ({
  verdict: 'granted', needId: 'need-4', applier, family: 'ipv4', protocol: 'udp', internalClient: v4.address, internalPort: 3074,
  externalPort: 3074, leaseSeconds: 3600, applied: true, reasons: [],
});

function routerSide() {
  const asked: string[] = [];
  return { asked, discover: async (o: DiscoverGatewayOptions): Promise<DiscoveredGateway> => { asked.push(String(o.family)); throw new GatewayNotFoundError(100, [], 0); } };
}

describe('closePort with a hub', () => {
  test('a need the hub holds: ended at the hub, from this host\'s address, and the router is not asked', async () => {
    const { hub, calls } = hubAnswering({ kind: 'grant', grant: grant('hub') });
    const router = routerSide();
    const results = await closePort({ protocol: 'udp', port: 3074, family: 'ipv4', discover: router.discover, addresses: { read: async () => [v4] }, hub: { url: URL_V4, clientFor: () => hub } });
    expect(router.asked).toEqual([]);
    expect(calls.ended).toEqual([{ id: 'need-4', from: '192.168.77.10' }]);
    expect(results).toEqual([{ family: 'ipv4', closed: true, detail: 'the hub removes need need-4 from the router; hub need need-4 ended' }]);
  });

  test('a need this host applied: the router is asked first, and a router that cannot be reached leaves the need for the hub to see', async () => {
    const { hub, calls } = hubAnswering({ kind: 'grant', grant: grant('agent') });
    const router = routerSide();
    await expect(closePort({ protocol: 'udp', port: 3074, family: 'ipv4', discover: router.discover, addresses: { read: async () => [v4] }, hub: { url: URL_V4, clientFor: () => hub } })).rejects.toBeInstanceOf(GatewayNotFoundError);
    expect(router.asked).toEqual(['ipv4']);
    expect(calls.ended).toEqual([]); // the router could not be reached: the need stays for the hub to see
  });

  test('a hub that is down: closed on the router as without a hub, and said', async () => {
    const { hub } = hubAnswering(new HubUnavailableError('timeout', URL_V4, 'no complete answer'));
    const router = routerSide();
    const logs: string[] = [];
    await expect(closePort({ protocol: 'udp', port: 3074, family: 'ipv4', discover: router.discover, addresses: { read: async () => [v4] }, hub: { url: URL_V4, clientFor: () => hub, log: (m) => logs.push(m) } })).rejects.toBeInstanceOf(GatewayNotFoundError);
    expect(router.asked).toEqual(['ipv4']);
    expect(logs[0]).toMatch(/closing ipv4 on the router without the hub/);
  });
});

describe('--hub on the command line', () => {
  function io(): CliIo & { stdout: string[] } {
    const stdout: string[] = [];
    return { stdout, out: (l) => stdout.push(l), err: () => undefined, interrupted: () => new Promise<void>(() => undefined) };
  }

  test.each([
    ['ftp://hub/homenet/v1', /must be http/],
    ['hub', /is not a URL/],
    ['', /must be auto or the hub URL/],
  ])('open --hub %j is a usage error', async (value, message) => {
    const out = io();
    expect(await openCommand.run(['--protocol', 'udp', '--port', '3074', '--hub', value, '--json'], out)).toBe(2);
    const body = JSON.parse(out.stdout[0]) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('bad-arguments');
    expect(body.error.message).toMatch(message);
  });

  test('close --hub with a bad URL is a usage error too', async () => {
    const out = io();
    expect(await closeCommand.run(['--protocol', 'udp', '--port', '3074', '--hub', 'gopher://x', '--json'], out)).toBe(2);
  });
});
