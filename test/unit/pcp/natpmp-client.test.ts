import { VirtualTimeScheduler } from 'rxjs';
import { decodeNatPmpRequest, encodeNatPmpResponse, NatPmpClient, PcpResultError, PcpTimeoutError } from '../../../adapters/pcp';
import { advance, FakePcpTransport } from './fake-pcp-transport';

function setup() {
  const scheduler = new VirtualTimeScheduler();
  const transport = new FakePcpTransport('192.168.77.10', '192.168.77.1', scheduler);
  return { scheduler, transport, client: new NatPmpClient({ transport, scheduler }) };
}

describe('NatPmpClient (RFC 6886)', () => {
  it('reads the public address', async () => {
    const { transport, client } = setup();
    const answer = client.publicAddress();
    expect(transport.sent.map((s) => s.data.toString('hex'))).toEqual(['0000']);
    transport.deliver(encodeNatPmpResponse({ opcode: 'public-address', resultCode: 0, epoch: 9, externalAddress: '198.51.100.1' }));
    await expect(answer).resolves.toEqual({ address: '198.51.100.1', epoch: 9 });
  });

  it('maps a UDP port, taking only the answer for its internal port from the server', async () => {
    const { transport, client } = setup();
    const mapped = client.map({ protocol: 'udp', internalPort: 40040, lifetimeSeconds: 120 });
    expect(decodeNatPmpRequest(transport.sent[0].data)).toEqual({ opcode: 'map-udp', internalPort: 40040, suggestedExternalPort: 40040, lifetime: 120 });
    const ok = encodeNatPmpResponse({ opcode: 'map-udp', resultCode: 0, epoch: 3, internalPort: 40040, externalPort: 40041, lifetime: 120 });
    transport.deliver(encodeNatPmpResponse({ opcode: 'map-udp', resultCode: 0, epoch: 3, internalPort: 1, externalPort: 1, lifetime: 120 }));
    transport.deliver(encodeNatPmpResponse({ opcode: 'map-tcp', resultCode: 0, epoch: 3, internalPort: 40040, externalPort: 1, lifetime: 120 }));
    transport.deliver(ok, { remoteAddress: '192.168.77.66' });
    transport.deliver(ok);
    await expect(mapped).resolves.toEqual({ protocol: 'udp', internalPort: 40040, externalPort: 40041, lifetime: 120, epoch: 3 });
  });

  it('retries after 250 ms doubling, 9 transmissions, then a typed timeout', async () => {
    const { scheduler, transport, client } = setup();
    const answer = client.publicAddress().catch((e: unknown) => e);
    advance(scheduler, 10_000);
    expect(transport.sent.map((s) => s.atMs)).toEqual([0, 250, 750, 1750, 3750, 7750]);
    expect(await answer).toBeInstanceOf(PcpTimeoutError);
    const fresh = new NatPmpClient({ transport, scheduler, giveUpAfterMs: 1_000_000 });
    const second = fresh.publicAddress().catch((e: unknown) => e);
    advance(scheduler, 200_000);
    expect(transport.sent.length - 6).toBe(9);
    expect(await second).toMatchObject({ name: 'PcpTimeoutError', attempts: 9 });
  });

  it('surfaces an error result as a typed error', async () => {
    const { transport, client } = setup();
    const refused = client.map({ protocol: 'tcp', internalPort: 80, lifetimeSeconds: 60 });
    transport.deliver(encodeNatPmpResponse({ opcode: 'map-tcp', resultCode: 2, epoch: 3, internalPort: 80, externalPort: 0, lifetime: 0 }));
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PcpResultError);
    expect(error).toMatchObject({ resultCode: 2, protocol: 'natpmp' });
  });

  it('is IPv4 only', () => {
    const scheduler = new VirtualTimeScheduler();
    expect(() => new NatPmpClient({ transport: new FakePcpTransport('2001:db8::1', '2001:db8::2', scheduler) })).toThrow(/IPv4 only/);
  });
});
