import { DeviceDirectory, MAX_LEARNED_DEVICES } from '../../../plugin/gateway/device-directory';
import type { Neighbour } from '../../../adapters/observe/neighbour-table';
import type { PolicyEvent } from '../../../policies/model/event';

const hex = (i: number) => [(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':');

describe('the device directory under a flood of made-up neighbours', () => {
  it('keeps lookups for a bounded number of learned devices, and always for the configured ones', async () => {
    const submitted: PolicyEvent[] = [];
    const directory = new DeviceDirectory({
      submit: (e) => submitted.push(e),
      known: [{ id: 'plug', kind: 'matter', mac: '06:00:00:00:00:20', addresses: ['2001:db8:77::20'] }],
      allow: [],
    });
    const flood: Neighbour[] = [];
    for (let i = 0; i < MAX_LEARNED_DEVICES + 1000; i++) flood.push({ interface: 'lan0', address: `10.${hex(i).split(':').map((h) => parseInt(h, 16)).join('.')}`, mac: `0a:00:00:${hex(i)}`, state: ['STALE'], router: false });
    // The plug's own entry, then the flood.
    directory.neighbours([{ interface: 'lan0', address: '192.168.77.20', mac: '06:00:00:00:00:20', state: ['REACHABLE'], router: false }]);
    directory.neighbours(flood);
    expect(directory.deviceOf('2001:db8:77::20')).toBe('plug');
    expect(directory.deviceOf('192.168.77.20')).toBe('plug');
    expect(await directory.resolve(flood[0].address)).toBe(`host:${flood[0].address}`);
    expect(await directory.resolve(flood[flood.length - 1].address)).toBe(`mac:${flood[flood.length - 1].mac}`);
    let known = 0;
    for (const n of flood) if (directory.deviceOf(n.address) !== undefined) known++;
    expect(known).toBe(MAX_LEARNED_DEVICES);
    // What the engine was told about the plug keeps its kind.
    expect(submitted.filter((e) => e.type === 'device-seen' && e.deviceId === 'plug').every((e) => e.type === 'device-seen' && e.kinds?.[0]?.kind === 'matter')).toBe(true);
  });
});
