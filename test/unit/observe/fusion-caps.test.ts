/**
 * Issue 9: a LAN host that rotates its MAC, its addresses, its mDNS host
 * names or its DHCP client ids cannot grow the device fusion without bound,
 * and cannot evict a configured device or a device the engine protects.
 */
import { DeviceFusion, MAX_PARTS_PER_GROUP, MAX_RESIDUE_KINDS } from '../../../adapters/observe/device-fusion';
import { DeviceDirectory, MAX_LEARNED_DEVICES } from '../../../plugin/gateway/device-directory';
import { FUSION_PART_QUOTAS, LanObservation, NUDGES_PER_SECOND } from '../../../plugin/gateway/lan-observation';
import type { Logger } from '../../../plugin/gateway/structured-log';
import type { DeviceSeen, PolicyEvent } from '../../../policies/model/event';

const hex = (i: number) => [(i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':');
const v4 = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const v6 = (i: number) => `2001:db8:99::${(i & 0xffff).toString(16)}:${(i >> 16).toString(16)}`;
/** A rotating host's next neighbour entry: a fresh MAC with a fresh address. */
const rotating = (i: number): DeviceSeen => ({ type: 'device-seen', deviceId: `mac:0a:00:00:${hex(i)}`, identities: { mac: `0a:00:00:${hex(i)}` }, addresses: [{ address: v4(i) }] });
/** A made-up Matter host advertised over mDNS with a made-up address (huge TTLs change nothing here: the watcher already clamps them). */
const fakeMatter = (i: number): DeviceSeen => ({
  type: 'device-seen',
  deviceId: `mdns:fake${i}.local`,
  identities: { mdnsHost: `fake${i}.local` },
  kinds: [{ kind: 'matter', evidence: `mdns:_matterc._udp FAKE${i}` }],
  addresses: [{ address: v6(i) }],
});

const PLUG_MAC = '06:00:00:00:00:20';
const configuredPlug: DeviceSeen = { type: 'device-seen', deviceId: 'plug', identities: { mac: PLUG_MAC }, kinds: [{ kind: 'matter', evidence: 'config:devices.known' }], addresses: [{ address: '2001:db8:77::20' }] };
const plugNeighbour: DeviceSeen = { type: 'device-seen', deviceId: `mac:${PLUG_MAC}`, identities: { mac: PLUG_MAC }, addresses: [{ address: '192.168.77.20' }, { address: '2001:db8:77::20' }, { address: '2001:db8:77::a1b2' }] };
/** An unconfigured Matter device learned from mDNS, backed by its neighbour entry. */
const lockMdns: DeviceSeen = { type: 'device-seen', deviceId: 'mdns:lock.local', identities: { mdnsHost: 'lock.local' }, kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp LOCK' }], addresses: [{ address: '2001:db8:77::21' }] };
const lockNeighbour: DeviceSeen = { type: 'device-seen', deviceId: 'mac:06:00:00:00:00:21', identities: { mac: '06:00:00:00:00:21' }, addresses: [{ address: '2001:db8:77::21' }, { address: '2001:db8:77::b3c4' }] };
const consoleNeighbour: DeviceSeen = { type: 'device-seen', deviceId: 'mac:02:00:00:00:00:10', identities: { mac: '02:00:00:00:00:10' }, addresses: [{ address: '192.168.77.10' }] };

function home(fusion: DeviceFusion): void {
  fusion.add('directory', configuredPlug);
  fusion.add('neighbours', plugNeighbour);
  fusion.add('matter-mdns', lockMdns);
  fusion.add('neighbours', lockNeighbour);
}

/** The fused view of a device now (through one of its parts). */
function fusedOf(fusion: DeviceFusion, source: string, event: DeviceSeen): DeviceSeen {
  const view = fusion.viewOf(source, event.deviceId);
  if (!view) throw new Error(`no fused view for ${source}|${event.deviceId}`);
  return view;
}

describe('device fusion caps against a MAC-rotating host', () => {
  it('keeps at most the quota of neighbour parts while a host rotates through 20,000 MACs, and evicts only that source', () => {
    const fusion = new DeviceFusion({ partQuotas: { neighbours: 500 } });
    home(fusion);
    for (let i = 0; i < 20_000; i++) fusion.add('neighbours', rotating(i));
    expect(fusion.partsOf('neighbours')).toBe(500);
    expect(fusion.size).toBeLessThanOrEqual(502);
    expect(fusion.stats.evicted).toBe(20_000 + 2 - 500);
    // Nothing of the other sources went, and the protected devices' neighbour parts were not the ones evicted.
    expect(fusion.partsOf('directory')).toBe(1);
    expect(fusion.partsOf('matter-mdns')).toBe(1);
    expect(fusion.deviceOf('neighbours', plugNeighbour.deviceId)).toBe('plug');
    expect(fusion.deviceOf('neighbours', lockNeighbour.deviceId)).toBe('mdns:lock.local');
    // The oldest rotated MACs went, the newest are held.
    expect(fusion.deviceOf('neighbours', rotating(0).deviceId)).toBeUndefined();
    expect(fusion.deviceOf('neighbours', rotating(19_999).deviceId)).toBe(rotating(19_999).deviceId);
    const plug = fusedOf(fusion, 'directory', configuredPlug);
    expect(plug.deviceId).toBe('plug');
    expect(plug.kinds!.map((k) => k.kind)).toContain('matter');
    expect(plug.addresses!.map((a) => a.address)).toEqual(expect.arrayContaining(['192.168.77.20', '2001:db8:77::a1b2']));
  });

  it('evicts the least recently updated unprotected part: a device still being updated survives the rotation', () => {
    const fusion = new DeviceFusion({ partQuotas: { neighbours: 100 } });
    fusion.add('neighbours', consoleNeighbour);
    for (let i = 0; i < 1000; i++) {
      fusion.add('neighbours', rotating(i));
      // The console's entry changes now and then (another address, as a real host's does).
      if (i % 50 === 0) fusion.add('neighbours', { ...consoleNeighbour, addresses: [{ address: '192.168.77.10' }, { address: `2001:db8:77::10:${i}` }] });
    }
    expect(fusion.partsOf('neighbours')).toBe(100);
    expect(fusion.deviceOf('neighbours', consoleNeighbour.deviceId)).toBe(consoleNeighbour.deviceId);
  });

  it('bounds an mDNS flood of made-up Matter hosts: the oldest claims nothing backs are forgotten (engine told), never a backed or configured Matter device', () => {
    const drops: string[] = [];
    const forgotten: string[] = [];
    const fusion = new DeviceFusion({ partQuotas: { 'matter-mdns': 200, neighbours: 500 }, onDrop: (id) => drops.push(id), onForget: (id) => forgotten.push(id) });
    home(fusion);
    // A Matter device seen just before the flood: its mDNS claim, then its neighbour entry (the nudge made the kernel resolve it).
    const early: DeviceSeen = { ...fakeMatter(999_999), deviceId: 'mdns:early.local', identities: { mdnsHost: 'early.local' } };
    fusion.add('matter-mdns', early);
    fusion.add('neighbours', { type: 'device-seen', deviceId: 'mac:06:00:00:00:00:22', identities: { mac: '06:00:00:00:00:22' }, addresses: early.addresses! });
    const emitted: DeviceSeen[] = [];
    for (let i = 0; i < 10_000; i++) emitted.push(...fusion.add('matter-mdns', fakeMatter(i)));
    expect(fusion.partsOf('matter-mdns')).toBe(200);
    // Each made-up host reaches the engine, and the oldest go again (device-left): the engine holds at most the quota of them.
    expect(emitted).toHaveLength(10_000);
    expect(fusion.stats.forgottenClaims).toBe(10_000 - 198);
    expect(forgotten).toHaveLength(10_000 - 198);
    expect(forgotten.every((id) => /^mdns:fake\d+\.local$/.test(id))).toBe(true);
    expect(forgotten[0]).toBe('mdns:fake0.local');
    expect(drops).toEqual([]);
    // The newest made-up hosts are the ones held.
    expect(fusion.deviceOf('matter-mdns', fakeMatter(9_999).deviceId)).toBe(fakeMatter(9_999).deviceId);
    expect(fusion.deviceOf('matter-mdns', lockMdns.deviceId)).toBe('mdns:lock.local');
    expect(fusion.deviceOf('matter-mdns', 'mdns:early.local')).toBe('mdns:early.local');
    expect(fusion.deviceOf('neighbours', lockNeighbour.deviceId)).toBe('mdns:lock.local');
    const lock = fusedOf(fusion, 'neighbours', lockNeighbour);
    expect(lock.kinds).toContainEqual({ kind: 'matter', evidence: 'mdns:_matter._tcp LOCK' });
  });

  it('turns claims over at most claimTurnoverPerSecond a second: the rest of a flood is not admitted (nor emitted), and new claims get in again later', () => {
    let now = 1_000_000;
    const forgotten: string[] = [];
    const fusion = new DeviceFusion({ partQuotas: { 'matter-mdns': 100 }, claimTurnoverPerSecond: 5, now: () => now, onForget: (id) => forgotten.push(id) });
    const emitted: DeviceSeen[] = [];
    for (let i = 0; i < 5000; i++) emitted.push(...fusion.add('matter-mdns', fakeMatter(i)));
    expect(fusion.partsOf('matter-mdns')).toBe(100);
    expect(emitted).toHaveLength(100 + 5);
    expect(forgotten).toHaveLength(5);
    expect(fusion.stats.refusedClaims).toBe(5000 - 105);
    // A second later (the flood over): a new claim is admitted again, replacing the oldest.
    now += 1000;
    expect(fusion.add('matter-mdns', fakeMatter(90_000))).toHaveLength(1);
    expect(fusion.deviceOf('matter-mdns', fakeMatter(90_000).deviceId)).toBe(fakeMatter(90_000).deviceId);
    expect(forgotten).toHaveLength(6);
    expect(() => new DeviceFusion({ claimTurnoverPerSecond: 5 })).toThrow(/needs a clock/);
  });

  it('past the quota with only backed protected parts, the part protected last goes and leaves its kind with its device', () => {
    const drops: string[] = [];
    const fusion = new DeviceFusion({ partQuotas: { 'matter-mdns': 2 }, onDrop: (id) => drops.push(id) });
    home(fusion); // the lock: one mDNS part, backed by its neighbour entry
    fusion.add('neighbours', consoleNeighbour);
    fusion.add('matter-mdns', { ...fakeMatter(1), addresses: consoleNeighbour.addresses }); // the console claims Matter: backed by its own entry
    // A third mDNS part, another host name of the console: over the quota, no unprotected part, no unbacked claim.
    fusion.add('matter-mdns', { ...fakeMatter(2), kinds: [{ kind: 'thread-border-router', evidence: 'mdns:_meshcop._udp C' }], addresses: consoleNeighbour.addresses });
    expect(fusion.partsOf('matter-mdns')).toBe(2);
    expect(fusion.stats.evictedProtected).toBe(1);
    expect(fusion.deviceOf('matter-mdns', fakeMatter(2).deviceId)).toBeUndefined();
    expect(fusion.deviceOf('matter-mdns', lockMdns.deviceId)).toBe('mdns:lock.local');
    expect(drops).toEqual([]);
    expect(fusedOf(fusion, 'neighbours', consoleNeighbour).kinds!.map((k) => k.kind).sort()).toEqual(['matter', 'thread-border-router']);
  });

  it('a spoofer answering for the plug with rotating MACs joins the plug and is evicted, the plug keeps its kind, addresses and its own MAC part', () => {
    // No source quota in play: the bound per device is what holds (without it this loop is quadratic: minutes, not seconds).
    const fusion = new DeviceFusion();
    home(fusion);
    for (let i = 0; i < 20_000; i++) {
      // ARP/ND spoofing: a made-up MAC claiming the plug's address (the kernel keeps one at a time; the fusion saw them all).
      fusion.add('neighbours', { type: 'device-seen', deviceId: `mac:0a:00:00:${hex(i)}`, identities: { mac: `0a:00:00:${hex(i)}` }, kinds: [{ kind: 'matter', evidence: `spoof ${i}` }], addresses: [{ address: '2001:db8:77::20' }] });
    }
    // The plug's group: its own MAC part and the newest spoofers up to the bound; the lock's part.
    expect(fusion.partsOf('neighbours')).toBe(MAX_PARTS_PER_GROUP + 1);
    expect(fusion.deviceOf('neighbours', plugNeighbour.deviceId)).toBe('plug');
    expect(fusion.deviceOf('neighbours', `mac:0a:00:00:${hex(19_999)}`)).toBeUndefined(); // the newest past the bound go
    expect(fusion.deviceOf('neighbours', lockNeighbour.deviceId)).toBe('mdns:lock.local');
    const plug = fusedOf(fusion, 'directory', configuredPlug);
    expect(plug.deviceId).toBe('plug');
    expect(plug.kinds).toContainEqual({ kind: 'matter', evidence: 'config:devices.known' });
    expect(plug.kinds!.length).toBeLessThanOrEqual(1 + MAX_PARTS_PER_GROUP + MAX_RESIDUE_KINDS);
    expect(plug.identities!.mac).toBe(PLUG_MAC);
    expect(plug.addresses!.map((a) => a.address)).toEqual(expect.arrayContaining(['192.168.77.20', '2001:db8:77::20', '2001:db8:77::a1b2']));
  });

  it('keeps an evicted part kinds and IPv6-only mark in its group (a quota never lifts a restriction)', () => {
    const fusion = new DeviceFusion({ partQuotas: { 'matter-mdns': 1 } });
    fusion.add('neighbours', lockNeighbour);
    fusion.add('matter-mdns', lockMdns);
    fusion.add('ipv6-mostly', { type: 'device-seen', deviceId: lockNeighbour.deviceId, identities: lockNeighbour.identities!, ipv6Only: 'dhcpv4-option-108' });
    // A second mDNS part of the same device (another host name, a Thread border router too) is past the source's quota of 1:
    // the newest protected part goes, and leaves its kind with the device.
    fusion.add('matter-mdns', { ...lockMdns, deviceId: 'mdns:lock2.local', identities: { mdnsHost: 'lock2.local' }, kinds: [{ kind: 'thread-border-router', evidence: 'mdns:_meshcop._udp X' }] });
    expect(fusion.partsOf('matter-mdns')).toBe(1);
    expect(fusion.deviceOf('matter-mdns', 'mdns:lock2.local')).toBeUndefined();
    expect(fusion.deviceOf('matter-mdns', lockMdns.deviceId)).toBe(lockNeighbour.deviceId);
    const lock = fusedOf(fusion, 'neighbours', lockNeighbour);
    expect(lock.deviceId).toBe(lockNeighbour.deviceId);
    expect(lock.kinds).toEqual(expect.arrayContaining([{ kind: 'matter', evidence: 'mdns:_matter._tcp LOCK' }, { kind: 'thread-border-router', evidence: 'mdns:_meshcop._udp X' }]));
    expect(lock.identities!.mdnsHost).toBe('lock.local');
    expect(lock.ipv6Only).toBe('dhcpv4-option-108');
  });

  it('an evicted root part hands its group (and its device id) to a surviving member', () => {
    const fusion = new DeviceFusion({ partQuotas: { neighbours: 1 } });
    fusion.add('neighbours', consoleNeighbour);
    fusion.add('directory', { ...consoleNeighbour, addresses: [{ address: '192.168.77.10' }, { address: '2001:db8:77::10' }] });
    fusion.add('neighbours', rotating(1)); // the console's neighbour part (the group's root) is the least recently updated
    expect(fusion.deviceOf('neighbours', consoleNeighbour.deviceId)).toBeUndefined();
    expect(fusion.deviceOf('directory', consoleNeighbour.deviceId)).toBe(consoleNeighbour.deviceId);
    // The console's neighbour entry comes back: it joins the same device, under the same id, nothing lost.
    const out = fusion.add('neighbours', { ...consoleNeighbour, addresses: [{ address: '192.168.77.10' }, { address: '2001:db8:77::99' }] });
    expect(out).toHaveLength(1);
    expect(out[0].deviceId).toBe(consoleNeighbour.deviceId);
    expect(out[0].addresses!.map((a) => a.address)).toEqual(['192.168.77.10', '2001:db8:77::10', '2001:db8:77::99']);
  });

  it('never evicts a configured device part, even past its source quota', () => {
    const fusion = new DeviceFusion({ partQuotas: { directory: 2 } });
    for (let i = 0; i < 5; i++) fusion.add('directory', { ...configuredPlug, deviceId: `dev${i}`, identities: { mac: `06:00:00:00:01:${hex(i).slice(-2)}` }, addresses: [{ address: v4(i) }] });
    expect(fusion.partsOf('directory')).toBe(5);
    expect(fusion.stats.overQuota).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(fusion.deviceOf('directory', `dev${i}`)).toBe(`dev${i}`);
  });

  it('bounds DHCP parts of a host rotating client MACs even when they are backed by neighbour entries', () => {
    const fusion = new DeviceFusion({ unconfirmedSources: ['ipv6-mostly'], maxUnconfirmed: 64, partQuotas: { 'ipv6-mostly': 300, neighbours: 300 } });
    home(fusion);
    for (let i = 0; i < 3000; i++) {
      const n = rotating(i);
      fusion.add('neighbours', n);
      fusion.add('ipv6-mostly', { type: 'device-seen', deviceId: n.deviceId, identities: n.identities!, ipv6Only: 'dhcpv4-option-108' });
    }
    expect(fusion.partsOf('ipv6-mostly')).toBeLessThanOrEqual(300);
    expect(fusion.partsOf('neighbours')).toBeLessThanOrEqual(300);
    expect(fusion.deviceOf('neighbours', plugNeighbour.deviceId)).toBe('plug');
  });

  it('keeps every internal structure bounded through 50,000 refused claims and 20,000 per-device evictions', () => {
    const fusion = new DeviceFusion({ partQuotas: { 'matter-mdns': 100, neighbours: 100 } });
    home(fusion);
    for (let i = 0; i < 50_000; i++) fusion.add('matter-mdns', fakeMatter(i));
    for (let i = 0; i < 20_000; i++) fusion.add('neighbours', { type: 'device-seen', deviceId: `mac:0a:00:00:${hex(i)}`, identities: { mac: `0a:00:00:${hex(i)}` }, addresses: [{ address: '2001:db8:77::20' }] });
    const held = fusion.footprint();
    expect(fusion.stats.forgottenClaims).toBeGreaterThan(49_000);
    for (const [name, n] of Object.entries(held)) expect([name, n <= 3 * 200 + 128]).toEqual([name, true]);
  });

  it('refuses a quota that is not a positive integer', () => {
    expect(() => new DeviceFusion({ partQuotas: { neighbours: 0 } })).toThrow(/quota neighbours must be a positive integer, got 0/);
    expect(() => new DeviceFusion({ partsPerSource: 1.5 })).toThrow(RangeError);
  });
});

const silentLog: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silentLog } as unknown as Logger;

describe('the gateway LAN observation under a MAC-rotating host', () => {
  it('holds its fusion at the stated quotas, tells the engine device-left only for made-up claims, and keeps the configured plug and a learned Matter device protected', () => {
    const submitted: PolicyEvent[] = [];
    const observation = new LanObservation({ submit: (e) => submitted.push(e), log: silentLog });
    const directory = new DeviceDirectory({ submit: observation.submitter('directory'), known: [{ id: 'plug', kind: 'matter', mac: PLUG_MAC, addresses: ['2001:db8:77::20'] }], allow: [] });
    directory.seed();
    observation.observe('neighbours', plugNeighbour);
    observation.observe('matter-mdns', lockMdns);
    observation.observe('neighbours', lockNeighbour);
    const rounds = FUSION_PART_QUOTAS.neighbours + 6000;
    for (let i = 0; i < rounds; i++) {
      observation.observe('neighbours', rotating(i));
      if (i % 4 === 0) observation.observe('matter-mdns', fakeMatter(i));
    }
    const state = observation.fusionState();
    expect(state.bySource.neighbours).toBe(FUSION_PART_QUOTAS.neighbours);
    expect(state.bySource['matter-mdns']).toBe(FUSION_PART_QUOTAS['matter-mdns']);
    expect(state.parts).toBeLessThanOrEqual(FUSION_PART_QUOTAS.neighbours + FUSION_PART_QUOTAS['matter-mdns'] + 1);
    expect(state.remembered).toBeLessThanOrEqual(state.devices);
    expect(observation.stats.dropped).toBeGreaterThan(6000);
    // The engine is told device-left only for made-up Matter hosts nothing backs, and holds at most the mDNS quota of them.
    const left = submitted.filter((e) => e.type === 'device-left').map((e) => (e as { deviceId: string }).deviceId);
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((id) => /^mdns:fake\d+\.local$/.test(id))).toBe(true);
    const seenFake = new Set(submitted.filter((e) => e.type === 'device-seen' && e.deviceId.startsWith('mdns:fake')).map((e) => (e as DeviceSeen).deviceId));
    expect(seenFake.size - new Set(left).size).toBeLessThanOrEqual(FUSION_PART_QUOTAS['matter-mdns']);
    expect(observation.isProtected('neighbours', plugNeighbour.deviceId)).toBe(true);
    expect(observation.isProtected('neighbours', lockNeighbour.deviceId)).toBe(true);
    expect(observation.isProtected('matter-mdns', lockMdns.deviceId)).toBe(true);
    // The plug's and the lock's last word to the engine is still Matter.
    const last = (id: string) => [...submitted].reverse().find((e): e is DeviceSeen => e.type === 'device-seen' && e.deviceId === id);
    expect(last('plug')!.kinds!.some((k) => k.kind === 'matter')).toBe(true);
    expect(last('mdns:lock.local')!.kinds!.some((k) => k.kind === 'matter')).toBe(true);
  });
});

describe('a claim forgotten in the step that made it', () => {
  it('is not announced to the engine after its device-left', () => {
    const submitted: PolicyEvent[] = [];
    const observation = new LanObservation({ submit: (e) => submitted.push(e), log: silentLog });
    // Fill the mDNS quota with Matter devices their neighbour entries back (nothing to evict but claims).
    for (let i = 0; i < FUSION_PART_QUOTAS['matter-mdns']; i++) {
      const host = fakeMatter(i);
      observation.observe('neighbours', { type: 'device-seen', deviceId: `mac:0b:00:00:${hex(i)}`, identities: { mac: `0b:00:00:${hex(i)}` }, addresses: host.addresses! });
      observation.observe('matter-mdns', host);
    }
    submitted.length = 0;
    // One claim nothing backs: past the quota it is the oldest (only) such claim, forgotten at once.
    observation.observe('matter-mdns', fakeMatter(50_000));
    expect(submitted).toEqual([{ type: 'device-left', deviceId: fakeMatter(50_000).deviceId }]);
    expect(observation.fusionState().bySource['matter-mdns']).toBe(FUSION_PART_QUOTAS['matter-mdns']);
  });
});

describe('the device directory lookups under a MAC-rotating host', () => {
  it('forgets the least recently seen learned device that is not protected', () => {
    const protectedIds = new Set(['mac:06:00:00:00:00:21']);
    const directory = new DeviceDirectory({ submit: () => undefined, known: [], allow: [], isProtected: (id) => protectedIds.has(id) });
    directory.observe(lockNeighbour);
    directory.observe(consoleNeighbour);
    for (let i = 0; i < MAX_LEARNED_DEVICES + 2000; i++) {
      directory.observe(rotating(i));
      if (i % 1000 === 0) directory.observe(consoleNeighbour); // still there
    }
    expect(directory.deviceOf('2001:db8:77::21')).toBe('mac:06:00:00:00:00:21');
    expect(directory.deviceOf('192.168.77.10')).toBe(consoleNeighbour.deviceId);
    expect(directory.deviceOf(v4(0))).toBeUndefined();
    let known = 0;
    for (let i = 0; i < MAX_LEARNED_DEVICES + 2000; i++) if (directory.deviceOf(v4(i)) !== undefined) known++;
    expect(known).toBe(MAX_LEARNED_DEVICES - 2);
  });
});

describe('nudges of advertised addresses under an mDNS flood', () => {
  it('nudges only addresses on the LAN, at most NUDGES_PER_SECOND a second', () => {
    const observation = new LanObservation({ submit: () => undefined, log: silentLog });
    const lan = [{ interface: 'lan0', family: 'ipv6' as const, address: '2001:db8:77::1', prefixLength: 64, scope: 'gua' as const, temporary: false, deprecated: false, tentative: false, preferredLifetime: 1, validLifetime: 1 }];
    (observation as unknown as { setLanPrefixes(l: unknown, i: string[]): void }).setLanPrefixes(lan, ['lan0']);
    // Made-up hosts advertising off-LAN addresses: the router sends nothing for them.
    for (let i = 0; i < 100; i++) observation.observe('matter-mdns', fakeMatter(i));
    expect(observation.stats.nudged).toBe(0);
    // On-LAN addresses: nudged, but no more than the rate allows.
    for (let i = 0; i < 300; i++) observation.observe('matter-mdns', { ...fakeMatter(1000 + i), addresses: [{ address: `2001:db8:77::${(0x1000 + i).toString(16)}` }] });
    expect(observation.stats.nudged).toBeGreaterThan(0);
    expect(observation.stats.nudged).toBeLessThanOrEqual(NUDGES_PER_SECOND * 2);
  });
});
