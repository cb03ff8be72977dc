import { neighbourEvents, parseIpNeighJson } from '../../../adapters/observe/neighbour-table';

const SAMPLE = JSON.stringify([
  { dst: '192.168.77.20', dev: 'eth0', lladdr: 'B6:2E:2E:C5:2D:D9', state: ['REACHABLE'] },
  { dst: '2001:db8:77:0:0:0:0:20', dev: 'eth0', lladdr: 'b6:2e:2e:c5:2d:d9', state: ['STALE'] },
  { dst: 'fe80::1', dev: 'eth0', lladdr: '02:00:00:00:00:01', router: null, state: ['REACHABLE'] },
  { dst: '192.168.77.99', dev: 'eth0', state: ['FAILED'] },
  { dst: '192.168.77.98', dev: 'eth0', lladdr: '02:00:00:00:00:98', state: ['INCOMPLETE'] },
  { dst: 'nonsense', dev: 'eth0', lladdr: '02:00:00:00:00:97', state: ['STALE'] },
  { dst: '192.168.77.96', dev: 'eth0', lladdr: 'zz', state: ['STALE'] },
]);

describe('neighbour table', () => {
  it('keeps usable entries, canonical and lowercase, and groups them by MAC', () => {
    const list = parseIpNeighJson(SAMPLE);
    expect(list.map((n) => n.address)).toEqual(['192.168.77.20', '2001:db8:77::20', 'fe80::1']);
    expect(neighbourEvents(list)).toEqual([
      { type: 'device-seen', deviceId: 'mac:02:00:00:00:00:01', identities: { mac: '02:00:00:00:00:01' }, kinds: [{ kind: 'router', evidence: 'ndp:router-flag' }], addresses: [{ address: 'fe80::1' }] },
      {
        type: 'device-seen',
        deviceId: 'mac:b6:2e:2e:c5:2d:d9',
        identities: { mac: 'b6:2e:2e:c5:2d:d9' },
        kinds: [],
        addresses: [{ address: '192.168.77.20' }, { address: '2001:db8:77::20' }],
      },
    ]);
  });

  it('errors clearly on output that is not a JSON list', () => {
    expect(() => parseIpNeighJson('{')).toThrow(/cannot parse 'ip -j neigh' output/);
    expect(() => parseIpNeighJson('{}')).toThrow(/not a list/);
  });
});
