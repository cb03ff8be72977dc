import { Subject, VirtualTimeScheduler } from 'rxjs';
import { watchIpv6Mostly, DhcpSeen } from '../../../adapters/observe/ipv6-mostly-detector';
import { CapturedRa } from '../../../adapters/observe/ra-capture';
import { encodeRouterAdvertisement } from '../../../adapters/observe/router-advertisement';
import { encodeDhcpDiscover } from '../../../adapters/observe/dhcpv4-message';
import type { PolicyEvent } from '../../../policies/model/event';
import type { ObserverProblem } from '../../../adapters/observe/observer-problem';

function ra(pref64: string | undefined, lifetime = 1800, hopLimit = 255): CapturedRa {
  const message = encodeRouterAdvertisement({ routerLifetime: 1800, pref64: pref64 ? [{ prefix: pref64, prefixLength: 96, lifetime }] : [] });
  return { from: 'fe80::1', hopLimit, message, at: 0 };
}

function setup() {
  const scheduler = new VirtualTimeScheduler();
  const ras = new Subject<CapturedRa>();
  const dhcp = new Subject<DhcpSeen>();
  const events: PolicyEvent[] = [];
  const problems: ObserverProblem[] = [];
  const sub = watchIpv6Mostly({ routerAdvertisements: ras, dhcp, dns64Server: null, scheduler, onProblem: (p) => problems.push(p) }).subscribe((e) => events.push(e));
  return { scheduler, ras, dhcp, events, problems, sub };
}

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
});
