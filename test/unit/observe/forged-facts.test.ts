/**
 * Issue 9 item 3 and the trust model (docs/trust-model.md): what one LAN host
 * can forge changes no decision about another host, removes no protection,
 * and makes the observers remember a bounded number of things.
 */
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { DeviceFusion } from '../../../adapters/observe/device-fusion';
import { encodeDhcpDiscover } from '../../../adapters/observe/dhcpv4-message';
import { DhcpSeen, watchIpv6Mostly } from '../../../adapters/observe/ipv6-mostly-detector';
import type { CapturedRa } from '../../../adapters/observe/ra-capture';
import { createPolicyEngine } from '../../../policies';
import type { DeviceSeen } from '../../../policies/model/event';

const CONSOLE_MAC = '06:00:00:00:00:0c';
const PLUG_MAC = '06:00:00:00:00:20';
const ROUTER_MAC = '06:00:00:00:00:01';
const CONSOLE4 = '192.168.77.12';
const CONSOLE6 = '2001:db8:77::12';

function offer108(mac: string): Uint8Array {
  const head = Array.from(encodeDhcpDiscover({ mac, xid: 9, requested: [] }).slice(0, 240));
  head[0] = 2;
  return Uint8Array.from([...head, 53, 1, 2, 54, 4, 192, 168, 77, 1, 108, 4, 0, 0, 0x07, 0x08, 255]);
}

/** The gateway's path for observer facts: detector -> fusion -> engine, as lan-observation.ts wires it. */
function home() {
  const scheduler = new VirtualTimeScheduler();
  const engine = createPolicyEngine({ scheduler });
  const forgotten: string[] = [];
  const fusion = new DeviceFusion({ unconfirmedSources: ['ipv6-mostly'], maxUnconfirmed: 64, onForget: (id) => (forgotten.push(id), engine.submit({ type: 'device-left', deviceId: id })) });
  const observe = (source: string, e: DeviceSeen) => {
    for (const out of fusion.add(source, e)) engine.submit(out);
  };
  const dhcp = new Subject<DhcpSeen>();
  const ras = new Subject<CapturedRa>();
  const networkFacts: unknown[] = [];
  const sub = watchIpv6Mostly({ routerAdvertisements: ras, dhcp, dns64Server: null, scheduler, dhcpServers: { addresses: [], ownOnly: true }, routers: ['fe80::1'] }).subscribe((e) => {
    if (e.type === 'device-seen') observe('ipv6-mostly', e);
    else {
      networkFacts.push(e);
      engine.submit(e);
    }
  });
  engine.submit({ type: 'gateway-seen', gatewayId: 'gw', bootId: '1' });
  observe('neighbours', { type: 'device-seen', deviceId: `mac:${CONSOLE_MAC}`, identities: { mac: CONSOLE_MAC }, addresses: [{ address: CONSOLE4 }, { address: CONSOLE6 }] });
  observe('neighbours', { type: 'device-seen', deviceId: `mac:${PLUG_MAC}`, identities: { mac: PLUG_MAC }, addresses: [{ address: '192.168.77.20' }, { address: '2001:db8:77::20' }] });
  observe('matter-mdns', { type: 'device-seen', deviceId: 'mdns:plug.local', identities: { mdnsHost: 'plug.local' }, kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }], addresses: [{ address: '2001:db8:77::20' }] });
  return { scheduler, engine, fusion, forgotten, observe, dhcp, ras, networkFacts, sub };
}

const ipv4Need = (id: string, internalPort = 42300) => ({ id, requester: { deviceId: `mac:${CONSOLE_MAC}`, address: CONSOLE4 }, internalClient: CONSOLE4, protocol: 'udp', internalPort, family: 'ipv4' as const, class: 'admin' as const });

describe('forged facts from a LAN host', () => {
  it("a forged DHCPOFFER with option 108 and the console's MAC changes nothing: its IPv4 need stays IPv4", () => {
    const h = home();
    // From the plug host, forging the router's IPv4 and MAC: it came in, it did not leave the router.
    h.dhcp.next({ from: '192.168.77.1', sourceMac: ROUTER_MAC, outgoing: false, bytes: offer108(CONSOLE_MAC) });
    h.dhcp.next({ from: '192.168.77.20', sourceMac: PLUG_MAC, outgoing: false, bytes: offer108(CONSOLE_MAC) });
    expect(h.engine.snapshot().devices.find((d) => d.id === `mac:${CONSOLE_MAC}`)?.ipv6Only).toBeUndefined();
    const d = h.engine.request(ipv4Need('forged'));
    expect(d.verdict).toBe('granted');
    expect(d.grants.map((g) => g.family)).toEqual(['ipv4']);
    expect(d.reasons.some((r) => r.code === 'ipv6-only-host')).toBe(false);
    // The control: the same offer sent by the router's own DHCP server does change it (so the check above can fail).
    h.dhcp.next({ from: '192.168.77.1', sourceMac: ROUTER_MAC, outgoing: true, bytes: offer108(CONSOLE_MAC) });
    const real = h.engine.request(ipv4Need('real', 42301));
    expect(real.reasons.map((r) => r.code)).toContain('ipv6-only-host');
    expect(real.grants.map((g) => g.family)).toEqual(['ipv6']);
    h.sub.unsubscribe();
  });

  it("a LAN host's RA with another PREF64 does not change the network facts", () => {
    const h = home();
    const { encodeRouterAdvertisement } = jest.requireActual<typeof import('../../../adapters/observe/router-advertisement')>('../../../adapters/observe/router-advertisement');
    const ra = (prefix: string, from: string): CapturedRa => ({ from, hopLimit: 255, at: 0, message: encodeRouterAdvertisement({ routerLifetime: 1800, pref64: [{ prefix, prefixLength: 96, lifetime: 1800 }] }) });
    h.ras.next(ra('64:ff9b::/96', 'fe80::1'));
    h.ras.next(ra('2001:db8:bad::/96', 'fe80::20'));
    expect(h.networkFacts).toEqual([{ type: 'network-changed', pref64: '64:ff9b::/96' }]);
    expect(h.engine.snapshot().network.pref64).toBe('64:ff9b::/96');
    h.sub.unsubscribe();
  });

  it('a host may claim things that only restrict itself; it cannot remove the Matter kind or an address from another device', () => {
    const h = home();
    const plug = () => h.engine.snapshot().devices.find((d) => d.id === `mac:${PLUG_MAC}`)!;
    expect(plug().kinds.map((k) => k.kind)).toEqual(['matter']);
    // An mDNS "goodbye" for the plug's host name (no records, no addresses), and a DHCP fact about its MAC.
    h.observe('matter-mdns', { type: 'device-seen', deviceId: 'mdns:plug.local', identities: { mdnsHost: 'plug.local' }, kinds: [], addresses: [] });
    h.observe('ipv6-mostly', { type: 'device-seen', deviceId: `mac:${PLUG_MAC}`, identities: { mac: PLUG_MAC }, ipv6Only: 'dhcpv4-option-108' });
    expect(plug().kinds.map((k) => k.kind)).toEqual(['matter']);
    expect(plug().addresses.map((a) => a.address).sort()).toEqual(['192.168.77.20', '2001:db8:77::20']);
    const denied = h.engine.request({ id: 'plug-in', requester: { deviceId: `mac:${PLUG_MAC}` }, protocol: 'tcp', internalPort: 5540, family: 'ipv6', class: 'service' });
    expect(denied.verdict).toBe('denied');
    // A host claiming to be Matter restricts only itself: the console is untouched.
    h.observe('matter-mdns', { type: 'device-seen', deviceId: 'mdns:evil.local', identities: { mdnsHost: 'evil.local' }, kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }], addresses: [{ address: '2001:db8:77::66' }] });
    expect(h.engine.request(ipv4Need('console')).verdict).toBe('granted');
    h.sub.unsubscribe();
  });

  it('30,000 spoofed DISCOVERs (answered by the real server) leave a bounded number of devices, and forget no protected one', () => {
    const h = home();
    const before = h.engine.snapshot().devices.length;
    // The console's own DHCP-learned fact, backed by its neighbour entry: confirmed, never forgotten.
    h.dhcp.next({ from: '0.0.0.0', sourceMac: CONSOLE_MAC, bytes: encodeDhcpDiscover({ mac: CONSOLE_MAC, xid: 1, requested: [108] }) });
    const mac = (i: number) => `0a:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const started = performance.now();
    for (let i = 0; i < 30_000; i++) {
      const m = mac(i);
      h.dhcp.next({ from: '0.0.0.0', sourceMac: m, bytes: encodeDhcpDiscover({ mac: m, xid: i, requested: [108] }) });
      h.dhcp.next({ from: '192.168.77.1', sourceMac: ROUTER_MAC, outgoing: true, bytes: offer108(m) });
    }
    const elapsed = performance.now() - started;
    const devices = h.engine.snapshot().devices;
    expect(devices.length).toBeLessThanOrEqual(before + 64);
    expect(h.fusion.size).toBeLessThanOrEqual(3 + 1 + 64);
    expect(h.forgotten.length).toBeGreaterThanOrEqual(30_000 - 64);
    expect(devices.find((d) => d.id === `mac:${PLUG_MAC}`)?.kinds.map((k) => k.kind)).toEqual(['matter']);
    expect(devices.find((d) => d.id === `mac:${CONSOLE_MAC}`)?.ipv6Only).toBe('dhcpv4-option-108');
    expect(elapsed).toBeLessThan(20_000);
    process.stdout.write(`30,000 spoofed DISCOVER+OFFER pairs: ${devices.length} engine devices, fusion ${h.fusion.size} parts, ${Math.round(elapsed)} ms\n`);
    h.sub.unsubscribe();
  });
});
