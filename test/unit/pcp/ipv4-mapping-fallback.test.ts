import { VirtualTimeScheduler } from 'rxjs';
import { decodeNatPmpRequest, decodePcpRequest, encodeNatPmpResponse, encodePcpResponse, mapIpv4WithFallback, NatPmpClient, PcpClient, PcpResultError } from '../../../adapters/pcp';
import { FakePcpTransport, settle } from './fake-pcp-transport';

function setup() {
  const scheduler = new VirtualTimeScheduler();
  const transport = new FakePcpTransport('192.168.77.10', '192.168.77.1', scheduler);
  return { transport, pcp: new PcpClient({ transport, scheduler }), natpmp: new NatPmpClient({ transport, scheduler }) };
}

describe('mapIpv4WithFallback', () => {
  it('downgrades to NAT-PMP when the router answers PCP with version 0 UNSUPP_VERSION, on one shared transport', async () => {
    const { transport, pcp, natpmp } = setup();
    const result = mapIpv4WithFallback(pcp, natpmp, { protocol: 'udp', internalPort: 3074, lifetimeSeconds: 3600 });
    expect(decodePcpRequest(transport.sent[0].data).opcode).toBe('map');
    transport.deliver(Buffer.from('0081000100000010', 'hex')); // NAT-PMP: unsupported version
    await settle();
    expect(decodeNatPmpRequest(transport.sent[1].data)).toEqual({ opcode: 'map-udp', internalPort: 3074, suggestedExternalPort: 3074, lifetime: 3600 });
    // The NAT-PMP success reaches the PCP client too, which must not take it as a refusal.
    transport.deliver(encodeNatPmpResponse({ opcode: 'map-udp', resultCode: 0, epoch: 17, internalPort: 3074, externalPort: 3075, lifetime: 3600 }));
    await expect(result).resolves.toMatchObject({ protocol: 'natpmp', externalPort: 3075 });
  });

  it('does not downgrade on a PCP refusal', async () => {
    const { transport, pcp, natpmp } = setup();
    const result = mapIpv4WithFallback(pcp, natpmp, { protocol: 'udp', internalPort: 3074, lifetimeSeconds: 3600 });
    const request = decodePcpRequest(transport.sent[0].data);
    if (request.opcode !== 'map') throw new Error('expected a MAP');
    transport.deliver(encodePcpResponse({ opcode: 'map', resultCode: 2, lifetime: 0, epoch: 5, options: [], mapping: request.mapping }));
    await expect(result).rejects.toBeInstanceOf(PcpResultError);
    expect(transport.sent).toHaveLength(1);
  });
});
