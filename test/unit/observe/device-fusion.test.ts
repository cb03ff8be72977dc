import { DeviceFusion } from '../../../adapters/observe/device-fusion';

describe('DeviceFusion', () => {
  it('keeps the first id when an unknown neighbour is revealed as Matter, with the union of addresses', () => {
    const fusion = new DeviceFusion();
    const first = fusion.add('neighbours', { type: 'device-seen', deviceId: 'mac:b6:2e:2e:c5:2d:d9', identities: { mac: 'b6:2e:2e:c5:2d:d9' }, addresses: [{ address: '2001:db8:77::20' }, { address: '192.168.77.20' }] });
    expect(first).toEqual([
      { type: 'device-seen', deviceId: 'mac:b6:2e:2e:c5:2d:d9', identities: { mac: 'b6:2e:2e:c5:2d:d9' }, kinds: [], addresses: [{ address: '192.168.77.20' }, { address: '2001:db8:77::20' }] },
    ]);
    const revealed = fusion.add('matter-mdns', {
      type: 'device-seen',
      deviceId: 'mdns:b62e2ec52dd90000.local',
      identities: { mdnsHost: 'b62e2ec52dd90000.local' },
      kinds: [{ kind: 'matter', evidence: 'mdns:_matterc._udp X' }],
      addresses: [{ address: '2001:db8:77::20' }, { address: 'fe80::b42e:2eff:fec5:2dd9' }],
    });
    expect(revealed).toHaveLength(1);
    expect(revealed[0].deviceId).toBe('mac:b6:2e:2e:c5:2d:d9');
    expect(revealed[0].kinds).toEqual([{ kind: 'matter', evidence: 'mdns:_matterc._udp X' }]);
    expect(revealed[0].addresses!.map((a) => a.address)).toEqual(['192.168.77.20', '2001:db8:77::20', 'fe80::b42e:2eff:fec5:2dd9']);
    expect(revealed[0].identities).toEqual({ mac: 'b6:2e:2e:c5:2d:d9', mdnsHost: 'b62e2ec52dd90000.local' });
  });

  it('links the controller read to the mDNS host through the Matter node identity and keeps every address', () => {
    const fusion = new DeviceFusion();
    fusion.add('matter-mdns', { type: 'device-seen', deviceId: 'mdns:h.local', identities: { mdnsHost: 'h.local', matterNodeId: 'AA-01' }, kinds: [{ kind: 'matter', evidence: 'mdns' }], addresses: [{ address: '2001:db8:77::20' }] });
    const out = fusion.add('matter-controller', { type: 'device-seen', deviceId: 'matter:AA-01', identities: { matterNodeId: 'AA-01' }, kinds: [{ kind: 'matter', evidence: 'read' }], addresses: [{ address: '2001:db8:77::20' }, { address: '2001:db8:78::20' }] });
    expect(out[0].deviceId).toBe('mdns:h.local');
    expect(out[0].addresses!.map((a) => a.address)).toEqual(['2001:db8:77::20', '2001:db8:78::20']);
    // An mDNS update that shows only the new address does not drop the old one the controller read.
    const later = fusion.add('matter-mdns', { type: 'device-seen', deviceId: 'mdns:h.local', addresses: [{ address: '2001:db8:78::20' }] });
    expect(later).toEqual([]);
  });

  it('links parts that write the same address differently (one canonical form)', () => {
    const fusion = new DeviceFusion();
    fusion.add('neighbours', { type: 'device-seen', deviceId: 'mac:02:00:00:00:00:20', identities: { mac: '02:00:00:00:00:20' }, addresses: [{ address: '2001:db8:77::20' }] });
    const out = fusion.add('matter-mdns', { type: 'device-seen', deviceId: 'mdns:x.local', identities: { mdnsHost: 'x.local' }, addresses: [{ address: '2001:DB8:77:0:0:0:0:20' }] });
    expect(out).toHaveLength(1);
    expect(out[0].deviceId).toBe('mac:02:00:00:00:00:20');
    expect(out[0].identities).toEqual({ mac: '02:00:00:00:00:20', mdnsHost: 'x.local' });
  });

  it('links parts by identity keys case-insensitively, as the engine indexes them', () => {
    const fusion = new DeviceFusion();
    fusion.add('neighbours', { type: 'device-seen', deviceId: 'mac:02:aa', identities: { mac: '02:AA:00:00:00:01' }, addresses: [{ address: '192.168.77.30' }] });
    const out = fusion.add('ipv6-mostly', { type: 'device-seen', deviceId: 'other', identities: { mac: '02:aa:00:00:00:01' }, ipv6Only: 'dhcpv4-option-108' });
    expect(out[0].deviceId).toBe('mac:02:aa');
  });

  it('emits nothing when nothing changed, and carries IPv6-only evidence', () => {
    const fusion = new DeviceFusion();
    const e = { type: 'device-seen' as const, deviceId: 'mac:02:00:00:00:00:10', identities: { mac: '02:00:00:00:00:10' }, addresses: [{ address: '192.168.77.10' }] };
    expect(fusion.add('neighbours', e)).toHaveLength(1);
    expect(fusion.add('neighbours', e)).toEqual([]);
    const out = fusion.add('ipv6-mostly', { type: 'device-seen', deviceId: 'mac:02:00:00:00:00:10', identities: { mac: '02:00:00:00:00:10' }, ipv6Only: 'dhcpv4-option-108' });
    expect(out[0]).toMatchObject({ deviceId: 'mac:02:00:00:00:00:10', ipv6Only: 'dhcpv4-option-108', addresses: [{ address: '192.168.77.10' }] });
  });
});
