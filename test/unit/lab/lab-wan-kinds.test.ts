/** The lab plan's access network kinds (`homenet lab up --wan`), as data: no namespaces needed. */
import { labPlan } from '../../../plugin/lab/lab-plan';
import { miniupnpdConfig } from '../../../plugin/lab/miniupnpd-config';
import { upstreamNatRuleset } from '../../../plugin/lab/upstream-nat';

describe('lab plan WAN kinds', () => {
  it('public (the default) has no upstream and the router owns the public address', () => {
    const plan = labPlan({ prefix: 'hn' });
    expect(plan.upstream).toBeUndefined();
    expect(plan.wan).toMatchObject({ kind: 'public', routerIpv4: '198.51.100.1', publicIpv4: '198.51.100.1', routerIpv6: '2001:db8:100::1', homeRouteIpv6: '2001:db8:100::1' });
    expect(plan.hosts.router.interfaces[0]).toMatchObject({ name: 'wan0', ipv4: [{ address: '198.51.100.1', prefixLength: 24 }] });
    expect(miniupnpdConfig(plan)).toContain('ext_perform_stun=yes\next_stun_host=198.51.100.2\next_stun_port=3478\n');
  });

  it.each([
    ['cgnat', 'carrier', '100.64.0.2', 10, '100.64.0.1'],
    ['double-nat', 'upstream', '192.168.100.2', 24, '192.168.100.1'],
  ] as const)('%s puts a %s namespace between router and WAN peer', (kind, role, routerIpv4, prefixLength, gateway) => {
    const plan = labPlan({ prefix: 'hn', wan: kind, udpTimeoutSeconds: 30 });
    expect(plan.upstream).toMatchObject({ role, namespace: `hn-${role}`, gatewayIpv4: gateway, gatewayIpv6: '2001:db8:101::1', udpTimeoutSeconds: 30 });
    expect(plan.wan).toMatchObject({ kind, routerIpv4, publicIpv4: '198.51.100.1', routerIpv6: '2001:db8:101::2', homeRouteIpv6: '2001:db8:100::1' });
    expect(plan.hosts.router.interfaces[0].ipv4).toEqual([{ address: routerIpv4, prefixLength }]);
    const config = miniupnpdConfig(plan);
    expect(config).toContain('ext_perform_stun=no\n');
    expect(config).not.toContain('ext_stun_host');
    expect(plan.upstream!.natMapping).toBe('eim');
    expect(upstreamNatRuleset(plan.upstream!, plan.wan.publicIpv4)).toMatch(/oifname "up0" snat to 198\.51\.100\.1 comment/);
  });

  it('--nat-mapping apdm makes the NAT pick a random port per flow', () => {
    const plan = labPlan({ prefix: 'hn', wan: 'cgnat', natMapping: 'apdm' });
    expect(upstreamNatRuleset(plan.upstream!, plan.wan.publicIpv4)).toMatch(/oifname "up0" snat to 198\.51\.100\.1 fully-random comment/);
  });

  it('refuses an unknown kind and a UDP timeout without a NAT or out of range', () => {
    expect(() => labPlan({ prefix: 'hn', wan: 'dslite' as never })).toThrow(/--wan must be one of public, cgnat, double-nat, not 'dslite'/);
    expect(() => labPlan({ prefix: 'hn', udpTimeoutSeconds: 30 })).toThrow(/--udp-timeout needs a NAT above the router/);
    expect(() => labPlan({ prefix: 'hn', natMapping: 'apdm' })).toThrow(/--nat-mapping needs a NAT above the router/);
    expect(() => labPlan({ prefix: 'hn', wan: 'cgnat', natMapping: 'full-cone' as never })).toThrow(/--nat-mapping must be one of eim, apdm, not 'full-cone'/);
    expect(() => labPlan({ prefix: 'hn', wan: 'cgnat', udpTimeoutSeconds: 0 })).toThrow(/--udp-timeout must be a whole number of seconds, 1-86400/);
    expect(() => labPlan({ prefix: 'hn', wan: 'cgnat', udpTimeoutSeconds: 2.5 })).toThrow(/whole number/);
  });
});
