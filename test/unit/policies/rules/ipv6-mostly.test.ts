import { ipv4Ineffective, planFamilies } from '../../../../policies/rules/ipv6-mostly';
import { DEFAULT_NETWORK, NetworkFacts } from '../../../../policies';
import { consoleDevice, gateway, harness, need } from '../support';

const net = (n: Partial<NetworkFacts>): NetworkFacts => ({ ...DEFAULT_NETWORK, ...n });

describe('rule: ipv6-mostly', () => {
  it('turns an IPv4 need from an IPv6-only host into IPv6', () => {
    const p = planFamilies('ipv4', 'dhcpv4-option-108', DEFAULT_NETWORK);
    expect(p.legs).toEqual(['ipv6']);
    expect(p.changes).toEqual([{ field: 'family', wanted: 'ipv4', got: 'ipv6' }]);
    expect(p.reasons).toMatchObject([{ code: 'ipv6-only-host', rule: 'ipv6-mostly' }]);
  });

  it.each([
    [{ wanIpv4: 'cgnat' as const }, 'cgnat'],
    [{ wanIpv4: 'private' as const }, 'double-nat'],
    [{ wanIpv4: 'none' as const }, 'no-ipv4-wan'],
    [{ ipv4OverIpv6: { mode: 'ds-lite' as const } }, 'ds-lite'],
  ])('marks IPv4 ineffective under %j', (facts, code) => {
    expect(ipv4Ineffective(net(facts))).toMatchObject({ code, conflictsWith: { kind: 'network', id: 'wan-ipv4' } });
    expect(planFamilies('ipv4', undefined, net(facts))).toMatchObject({ legs: [], ineffective: [{ code }] });
    expect(planFamilies('both', undefined, net(facts))).toMatchObject({ legs: ['ipv6'], ineffective: [{ code }] });
  });

  it('keeps IPv4 under MAP-E (a port set applies) and on a public WAN', () => {
    expect(ipv4Ineffective(net({ ipv4OverIpv6: { mode: 'map-e', portSet: { offset: 6, psidLength: 8, psid: 1 } } }))).toBeUndefined();
    expect(planFamilies('both', undefined, DEFAULT_NETWORK).legs).toEqual(['ipv6', 'ipv4']);
  });

  it('in the engine: an IPv4 need is ineffective under CGNAT, at once and with the reason', () => {
    const h = harness({ network: { wanIpv4: 'cgnat' } });
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    expect(h.engine.request(need('a', 'a', { family: 'ipv4' }))).toMatchObject({
      verdict: 'ineffective', reasons: [{ code: 'cgnat', rule: 'ipv6-mostly' }], grants: [],
    });
    const both = h.engine.request(need('b', 'a', { family: 'both' }));
    expect(both).toMatchObject({ verdict: 'granted-with-changes', grants: [{ family: 'ipv6' }] });
    expect(both.reasons.map((r) => r.code)).toEqual(['admitted', 'cgnat']);
  });

  it('in the engine: a host switching to IPv6-only moves its IPv4 grant to an IPv6 pinhole', () => {
    const h = harness();
    h.send(gateway());
    h.send(consoleDevice('a', 10));
    expect(h.engine.request(need('a', 'a', { family: 'ipv4' })).grants[0].family).toBe('ipv4');
    const step = h.send({ type: 'device-seen', deviceId: 'a', ipv6Only: 'dhcpv4-option-108', addresses: [{ address: '2001:db8:1::a' }] });
    expect(step.decisions[0]).toMatchObject({
      verdict: 'granted-with-changes',
      changes: [{ field: 'family', wanted: 'ipv4', got: 'ipv6' }],
      grants: [{ family: 'ipv6', internalClient: '2001:db8:1::a', table: 'pinhole' }],
    });
    expect(step.actions.map((a) => `${a.op}:${a.table}`)).toEqual(['delete:port-mapping', 'add:pinhole']);
  });
});
