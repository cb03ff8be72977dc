import { Subject, VirtualTimeScheduler } from 'rxjs';
import { watchIpv6Mostly, DhcpSeen, WatchIpv6MostlyOptions, MAX_DHCP_CLIENTS, DHCP_CLIENT_TTL_MS } from '../../../adapters/observe/ipv6-mostly-detector';
import { CapturedRa } from '../../../adapters/observe/ra-capture';
import { encodeRouterAdvertisement } from '../../../adapters/observe/router-advertisement';
import { encodeDhcpDiscover } from '../../../adapters/observe/dhcpv4-message';
import type { PolicyEvent } from '../../../policies/model/event';
import type { ObserverProblem } from '../../../adapters/observe/observer-problem';

function ra(pref64: string | undefined, lifetime = 1800, hopLimit = 255): CapturedRa {
  const message = encodeRouterAdvertisement({ routerLifetime: 1800, pref64: pref64 ? [{ prefix: pref64, prefixLength: 96, lifetime }] : [] });
  return { from: 'fe80::1', hopLimit, message, at: 0 };
}

function setup(trust: Partial<WatchIpv6MostlyOptions> = { dhcpServers: { addresses: ['192.168.77.1'] } }) {
  const scheduler = new VirtualTimeScheduler();
  const ras = new Subject<CapturedRa>();
  const dhcp = new Subject<DhcpSeen>();
  const events: PolicyEvent[] = [];
  const problems: ObserverProblem[] = [];
  const sub = watchIpv6Mostly({ routerAdvertisements: ras, dhcp, dns64Server: null, scheduler, onProblem: (p) => problems.push(p), ...trust }).subscribe((e) => events.push(e));
  return { scheduler, ras, dhcp, events, problems, sub };
}

/** A DHCPOFFER (or ACK) to `mac` carrying option 108. */
function offer108(mac: string, type = 2): Uint8Array {
  const head = Array.from(encodeDhcpDiscover({ mac, xid: 1, requested: [] }).slice(0, 240));
  head[0] = 2;
  return Uint8Array.from([...head, 53, 1, type, 54, 4, 192, 168, 77, 1, 108, 4, 0, 0, 0x07, 0x08, 255]);
}
const VICTIM = '06:00:00:00:00:0c';
const ATTACKER = '06:00:00:00:00:66';
const ROUTER_MAC = '06:00:00:00:00:01';

describe('watchIpv6Mostly', () => {
  it('follows PREF64: announced, changed, withdrawn with lifetime 0; an RA without it changes nothing', () => {
    const { ras, events, sub } = setup();
    ras.next(ra('64:ff9b::/96'));
    ras.next(ra('64:ff9b::/96'));
    ras.next(ra(undefined));
    ras.next(ra('2001:db8:6464::/96'));
    ras.next(ra('2001:db8:6464::/96', 0));
    expect(events).toEqual([
      { type: 'network-changed', pref64: '64:ff9b::/96' },
      { type: 'network-changed', pref64: '2001:db8:6464::/96' },
      { type: 'network-changed', pref64: null },
    ]);
    sub.unsubscribe();
  });

  it('expires PREF64 when its lifetime runs out', () => {
    const { scheduler, ras, events, sub } = setup();
    ras.next(ra('64:ff9b::/96', 16));
    scheduler.flush();
    expect(events).toEqual([
      { type: 'network-changed', pref64: '64:ff9b::/96' },
      { type: 'network-changed', pref64: null },
    ]);
    expect(scheduler.now()).toBe(16_000);
    sub.unsubscribe();
  });

  it('ignores RAs with a hop limit other than 255 and reports malformed ones', () => {
    const { ras, events, problems, sub } = setup();
    ras.next(ra('64:ff9b::/96', 1800, 64));
    ras.next({ from: 'fe80::2', hopLimit: 255, message: Uint8Array.from([134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 38, 0]), at: 0 });
    expect(events).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([expect.stringContaining('hop limit 64'), expect.stringContaining('length 0')]);
    sub.unsubscribe();
  });

  it('marks a client that asked for option 108 IPv6-only once the server offers it', () => {
    const { dhcp, events, problems, sub } = setup();
    dhcp.next({ from: '0.0.0.0', bytes: encodeDhcpDiscover({ mac: '06:61:78:46:13:e1', xid: 1, requested: [1, 3, 6, 108] }) });
    dhcp.next({ from: '0.0.0.0', bytes: encodeDhcpDiscover({ mac: '06:00:00:00:00:02', xid: 2, requested: [1, 3, 6] }) });
    expect(events).toEqual([]);
    const offer = Array.from(encodeDhcpDiscover({ mac: '06:61:78:46:13:e1', xid: 1, requested: [] }).slice(0, 240));
    offer[0] = 2;
    dhcp.next({ from: '192.168.77.1', bytes: Uint8Array.from([...offer, 53, 1, 2, 108, 4, 0, 0, 0x07, 0x08, 255]) });
    dhcp.next({ from: '192.168.77.66', bytes: new Uint8Array(12) });
    expect(events).toEqual([{ type: 'device-seen', deviceId: 'mac:06:61:78:46:13:e1', identities: { mac: '06:61:78:46:13:e1' }, ipv6Only: 'dhcpv4-option-108' }]);
    expect(problems).toHaveLength(1);
    sub.unsubscribe();
  });

  it('believes option 108 only from a trusted DHCP server: a forged OFFER for a victim changes nothing', () => {
    const { dhcp, events, problems, sub } = setup({ dhcpServers: { addresses: ['192.168.77.1'], macs: [ROUTER_MAC] } });
    // From an untrusted address, with the router's server identifier (option 54) written in.
    dhcp.next({ from: '192.168.77.66', sourceMac: ATTACKER, bytes: offer108(VICTIM) });
    // The router's address forged, but the frame came from the attacker's MAC.
    dhcp.next({ from: '192.168.77.1', sourceMac: ATTACKER, bytes: offer108(VICTIM) });
    dhcp.next({ from: '192.168.77.1', sourceMac: ATTACKER, bytes: offer108(VICTIM, 5) });
    expect(events).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('192.168.77.66 is not a trusted DHCP server'),
      expect.stringContaining(`its frame came from ${ATTACKER}`),
    ]);
    // The real server, from its own MAC: believed.
    dhcp.next({ from: '192.168.77.1', sourceMac: ROUTER_MAC, bytes: offer108('06:00:00:00:00:0d') });
    expect(events).toEqual([{ type: 'device-seen', deviceId: 'mac:06:00:00:00:00:0d', identities: { mac: '06:00:00:00:00:0d' }, ipv6Only: 'dhcpv4-option-108' }]);
    sub.unsubscribe();
  });

  it('with no trusted DHCP server, no offer is believed', () => {
    const { dhcp, events, problems, sub } = setup({});
    dhcp.next({ from: '192.168.77.1', bytes: offer108(VICTIM) });
    expect(events).toEqual([]);
    expect(problems[0].message).toContain('no DHCP server is trusted');
    sub.unsubscribe();
  });

  it('in gateway mode (ownOnly) only offers this host sent count, whatever their addresses', () => {
    const { dhcp, events, sub } = setup({ dhcpServers: { addresses: [], ownOnly: true } });
    dhcp.next({ from: '192.168.77.1', sourceMac: ROUTER_MAC, outgoing: false, bytes: offer108(VICTIM) });
    expect(events).toEqual([]);
    dhcp.next({ from: '192.168.77.1', sourceMac: ROUTER_MAC, outgoing: true, bytes: offer108(VICTIM) });
    expect(events).toEqual([{ type: 'device-seen', deviceId: `mac:${VICTIM}`, identities: { mac: VICTIM }, ipv6Only: 'dhcpv4-option-108' }]);
    sub.unsubscribe();
  });

  it('a client speaks only for its own MAC: a request for a victim sent from another MAC, or relayed, is ignored', () => {
    const { dhcp, events, problems, sub } = setup();
    dhcp.next({ from: '192.168.77.1', bytes: offer108('06:00:00:00:00:0d') }); // the server does offer 108
    events.length = 0;
    dhcp.next({ from: '0.0.0.0', sourceMac: ATTACKER, bytes: encodeDhcpDiscover({ mac: VICTIM, xid: 5, requested: [108] }) });
    const relayed = encodeDhcpDiscover({ mac: VICTIM, xid: 6, requested: [108] });
    relayed.set([192, 168, 77, 66], 24);
    dhcp.next({ from: '192.168.77.66', sourceMac: VICTIM, bytes: relayed });
    expect(events).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([expect.stringContaining(`request for ${VICTIM} sent from ${ATTACKER} ignored`)]);
    sub.unsubscribe();
  });

  it('remembers clients known only from their own DISCOVERs for a while and a bounded number: 30,000 spoofed DISCOVERs do not pile up', () => {
    const { scheduler, dhcp, sub } = setup();
    let facts: { v6OnlyCapable: readonly string[] } | undefined;
    const s2 = watchIpv6Mostly({ routerAdvertisements: new Subject<CapturedRa>(), dhcp, dns64Server: null, scheduler, dhcpServers: { addresses: ['192.168.77.1'] }, onFacts: (f) => (facts = f) }).subscribe();
    const mac = (i: number) => `0a:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    for (let i = 0; i < 30_000; i++) {
      const m = mac(i);
      dhcp.next({ from: '0.0.0.0', sourceMac: m, bytes: encodeDhcpDiscover({ mac: m, xid: i, requested: [108] }) });
    }
    // No trusted offer yet: nobody is IPv6-only.
    expect(facts?.v6OnlyCapable).toEqual([]);
    dhcp.next({ from: '192.168.77.1', bytes: offer108('06:00:00:00:00:0d') });
    expect(facts?.v6OnlyCapable.length).toBe(MAX_DHCP_CLIENTS + 1);
    expect(facts?.v6OnlyCapable).toContain(mac(29_999));
    expect(facts?.v6OnlyCapable).not.toContain(mac(0));
    scheduler.schedule(() => undefined, DHCP_CLIENT_TTL_MS);
    scheduler.flush();
    dhcp.next({ from: '192.168.77.1', bytes: offer108('06:00:00:00:00:0d') });
    // Clients only seen in DISCOVERs expire; the one the server answered stays.
    expect(facts?.v6OnlyCapable).toEqual(['06:00:00:00:00:0d']);
    s2.unsubscribe();
    sub.unsubscribe();
  });

  it('believes RAs only from a link-local source with hop limit 255, and with `routers` only from those routers', () => {
    const { ras, events, problems, sub } = setup({ routers: ['fe80::1'] });
    ras.next({ ...ra('2001:db8:bad::/96'), from: '2001:db8:1::66' });
    ras.next({ ...ra('2001:db8:bad::/96'), hopLimit: -1 });
    ras.next({ ...ra('2001:db8:bad::/96'), from: 'fe80::66' });
    expect(events).toEqual([]);
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('requires a link-local source'),
      expect.stringContaining('hop limit unknown'),
      expect.stringContaining('RA from fe80::66 ignored: not one of the routers'),
    ]);
    ras.next(ra('64:ff9b::/96'));
    // A LAN host's RA with another PREF64 does not change the network facts.
    ras.next({ ...ra('2001:db8:bad::/96'), from: 'fe80::66' });
    expect(events).toEqual([{ type: 'network-changed', pref64: '64:ff9b::/96' }]);
    sub.unsubscribe();
  });
});
