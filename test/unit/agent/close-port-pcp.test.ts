/**
 * `homenet close` for a port that `homenet open --once --via pcp` left: the
 * recorded nonce deletes it at the recorded router (MAP, lifetime 0), without
 * any UPnP discovery; a record with a broken nonce is a clear error.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { decodePcpRequest, encodePcpResponse, PcpRequest } from '../../../adapters/pcp';
import { HostAddress } from '../../../adapters/observe/host-address';
import { closePort } from '../../../plugin/agent/close-port';
import { OpenedPortsStore } from '../../../plugin/agent/opened-ports-store';
import { FakePcpTransport } from '../pcp/fake-pcp-transport';

const v6: HostAddress = {
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

const NONCE = '00112233445566778899aabb';

async function setup(nonce: string) {
  const store = new OpenedPortsStore(mkdtempSync(join(tmpdir(), 'homenet-close-pcp-')));
  await store.put({ family: 'ipv6', protocol: 'udp', gateway: 'pcp://[2001:db8:77::1]:5351', internalClient: '2001:db8:77::10', internalPort: 40000, externalPort: 40000, via: 'pcp', nonce, server: '2001:db8:77::1' });
  const scheduler = new VirtualTimeScheduler();
  const transports: FakePcpTransport[] = [];
  const discover = jest.fn(async () => {
    throw new Error('UPnP discovery must not be needed');
  });
  const openTransport = async (init: { localAddress: string; serverAddress: string }) => {
    const t = new FakePcpTransport(init.localAddress, init.serverAddress, scheduler);
    // The router answers every MAP at once with SUCCESS.
    const send = t.send.bind(t);
    t.send = async (data) => {
      await send(data);
      const r = decodePcpRequest(data) as Extract<PcpRequest, { opcode: 'map' }>;
      setImmediate(() => t.deliver(encodePcpResponse({ opcode: 'map', resultCode: 0, lifetime: 0, epoch: 9, options: [], mapping: { ...r.mapping } })));
    };
    transports.push(t);
    return t;
  };
  return { store, transports, discover, openTransport };
}

describe('closePort for a PCP record', () => {
  it('deletes by the recorded nonce at the recorded router, and forgets the record', async () => {
    const { store, transports, discover, openTransport } = await setup(NONCE);
    const results = await closePort({ protocol: 'udp', port: 40000, family: 'ipv6', store, discover, addresses: { read: async () => [v6] }, pcp: { openTransport } });
    expect(results).toEqual([{ family: 'ipv6', closed: true, detail: 'PCP mapping for [2001:db8:77::10]:40000 deleted at 2001:db8:77::1 (lifetime 0)' }]);
    expect(discover).not.toHaveBeenCalled();
    expect(transports).toHaveLength(1);
    expect(transports[0].serverAddress).toBe('2001:db8:77::1');
    const sent = decodePcpRequest(transports[0].sent[0].data) as Extract<PcpRequest, { opcode: 'map' }>;
    expect(sent.lifetime).toBe(0);
    expect(sent.mapping.nonce.toString('hex')).toBe(NONCE);
    expect(sent.mapping.internalPort).toBe(40000);
    expect(transports[0].closed).toBe(true);
    expect(await store.list()).toEqual([]);
  });

  it('a record with a broken nonce is a clear "not closed", and the record is kept', async () => {
    const { store, discover, openTransport } = await setup('not-a-nonce');
    const results = await closePort({ protocol: 'udp', port: 40000, family: 'ipv6', store, discover, addresses: { read: async () => [v6] }, pcp: { openTransport } });
    expect(results).toEqual([{ family: 'ipv6', closed: false, detail: 'the record of ipv6 udp/40000 has no valid PCP nonce' }]);
    expect(await store.list()).toHaveLength(1);
  });
});
