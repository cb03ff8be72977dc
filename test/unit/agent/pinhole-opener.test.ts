import { SoapClient, WanIpv6FirewallControlClient, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 } from '../../../adapters/upnp';
import { routerFaultOf } from '../../../plugin/agent/connect-gateway';
import { PinholeControl } from '../../../plugin/agent/gateway-control';
import { PinholeOpener } from '../../../plugin/agent/pinhole-opener';
import { faultCode, ScriptedAnswer, ScriptedRouter, startScriptedRouter } from '../../support/scripted-router';

// Answers replayed from the real miniupnpd captures; the InternalClient is ::1 so that
// the client can bind its socket to it, as it binds to the console's GUA in the lab.
describe('PinholeOpener against replayed router answers', () => {
  let router: ScriptedRouter | undefined;
  const soap = new SoapClient({ timeoutMs: 2000 });
  afterEach(async () => router?.close());
  afterAll(() => soap.close());

  async function opener(script: Record<string, ScriptedAnswer[]>, lease = 3600) {
    router = await startScriptedRouter('::1', script);
    const service = { controlUrl: router.url('/ctl/IP6FCtl'), serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 };
    const control = (localAddress: string): PinholeControl => {
      const c = new WanIpv6FirewallControlClient(service, { caller: soap, localAddress });
      return {
        getFirewallStatus: () => c.getFirewallStatus(),
        addPinhole: (a) => c.addPinhole({ ...a, leaseTimeSeconds: a.leaseTime }),
        updatePinhole: (id, l) => c.updatePinhole(id, l),
        deletePinhole: (id) => c.deletePinhole(id),
      };
    };
    return new PinholeOpener({ gateway: router.url('/rootDesc.xml'), control, faultOf: routerFaultOf, protocol: 'udp', port: 40000, leaseSeconds: lease });
  }

  const status = { GetFirewallStatus: [{ capture: '6fc-GetFirewallStatus' }] };

  it('opens: GetFirewallStatus, then AddPinhole sent from the InternalClient', async () => {
    const o = await opener({ ...status, AddPinhole: [{ capture: '6fc-AddPinhole-ok' }] });
    const r = await o.open('::1');
    expect(r.held).toBe(1);
    expect(r.reachability).toMatchObject({ family: 'ipv6', verdict: 'open', uniqueId: 1, externalAddress: '::1', externalPort: 40000, leaseSeconds: 3600 });
    expect(router!.received.map((x) => x.action)).toEqual(['GetFirewallStatus', 'AddPinhole']);
    expect(router!.received[1].remoteAddress).toBe('::1');
    expect(router!.received[1].body).toContain('<InternalClient>::1</InternalClient>');
    expect(router!.received[1].body).toContain('<LeaseTime>3600</LeaseTime>');
  });

  it('clamps the lease to 86400 s', async () => {
    const o = await opener({ ...status, AddPinhole: [{ capture: '6fc-AddPinhole-ok' }] }, 7 * 86400);
    expect((await o.open('::1')).reachability).toMatchObject({ leaseSeconds: 86400 });
    expect(router!.received[1].body).toContain('<LeaseTime>86400</LeaseTime>');
  });

  it('firewall disabled: not needed, and no pinhole is asked for', async () => {
    const o = await opener({
      GetFirewallStatus: [{ capture: '6fc-GetFirewallStatus', rewrite: (t) => t.replace(/<FirewallEnabled>1</, '<FirewallEnabled>0<') }],
    });
    expect((await o.open('::1')).reachability).toMatchObject({ verdict: 'not-needed' });
    expect(router!.received.map((x) => x.action)).toEqual(['GetFirewallStatus']);
  });

  it('inbound pinholes not allowed: denied, grade B, with the setting to change', async () => {
    const o = await opener({
      GetFirewallStatus: [{ capture: '6fc-GetFirewallStatus', rewrite: (t) => t.replace(/<InboundPinholeAllowed>1</, '<InboundPinholeAllowed>0<') }],
    });
    const r = (await o.open('::1')).reachability;
    expect(r).toMatchObject({ verdict: 'denied', code: 703, name: 'InboundPinholeNotAllowed' });
    expect(r.reason).toMatch(/grade B/);
  });

  it("606 from the router is a denied verdict with the router's code and meaning", async () => {
    const o = await opener({ ...status, AddPinhole: [{ capture: '6fc-AddPinhole-fault-port443' }] });
    const r = (await o.open('::1')).reachability;
    expect(r).toMatchObject({ verdict: 'denied', code: 606, name: 'ActionNotAuthorized' });
    // miniupnpd sends only the standard text: the reason is our guess at what 606 means.
    expect(r.reason).toMatch(/^The router refused: only the device that receives the traffic may ask/);
  });

  it("606 whose errorDescription says more than the standard text: the reason is the router's own words", async () => {
    const said = 'Action not authorized: matter-device-isolation — matter-plug is matter (mdns:_matter._tcp)';
    const o = await opener({ ...status, AddPinhole: [{ capture: '6fc-AddPinhole-fault-port443', rewrite: faultCode(606, said) }] });
    const r = (await o.open('::1')).reachability;
    expect(r).toMatchObject({ verdict: 'denied', code: 606, name: 'ActionNotAuthorized', reason: `The router says: ${said}` });
  });

  it('701 (no room for pinholes) is denied with the code, never retried in a loop', async () => {
    const o = await opener({ ...status, AddPinhole: [{ capture: '6fc-AddPinhole-fault-port443', rewrite: faultCode(701, 'PinholeSpaceExhausted') }] });
    expect((await o.open('::1')).reachability).toMatchObject({ verdict: 'denied', code: 701, name: 'PinholeSpaceExhausted' });
    expect(router!.received.filter((x) => x.action === 'AddPinhole')).toHaveLength(1);
  });

  it('renewal is UpdatePinhole; the pinhole id stays', async () => {
    const o = await opener({ ...status, AddPinhole: [{ capture: '6fc-AddPinhole-ok' }], UpdatePinhole: [{ capture: '6fc-UpdatePinhole-ok' }] });
    await o.open('::1');
    const r = await o.renew('::1', 1);
    expect(r).toMatchObject({ held: 1, reachability: { verdict: 'open', uniqueId: 1 } });
    expect(router!.received.map((x) => x.action)).toEqual(['GetFirewallStatus', 'AddPinhole', 'UpdatePinhole']);
  });

  it('402 on renewal (the router rebooted and forgot it) re-adds the pinhole', async () => {
    const o = await opener({
      ...status,
      AddPinhole: [{ capture: '6fc-AddPinhole-ok' }, { capture: '6fc-AddPinhole-ok-second-client' }],
      UpdatePinhole: [{ capture: '6fc-UpdatePinhole-fault-no-such' }],
    });
    await o.open('::1');
    const r = await o.renew('::1', 1);
    expect(router!.received.map((x) => x.action)).toEqual(['GetFirewallStatus', 'AddPinhole', 'UpdatePinhole', 'AddPinhole']);
    expect(r.reachability).toMatchObject({ verdict: 'open' });
    expect(r.held).toBe(r.reachability.verdict === 'open' ? r.reachability.uniqueId : -1);
  });

  it('704 on renewal (NoSuchEntry on other routers) re-adds too', async () => {
    const o = await opener({
      ...status,
      AddPinhole: [{ capture: '6fc-AddPinhole-ok' }],
      UpdatePinhole: [{ capture: '6fc-UpdatePinhole-fault-no-such', rewrite: faultCode(704, 'NoSuchEntry') }],
    });
    await o.open('::1');
    await o.renew('::1', 1);
    expect(router!.received.map((x) => x.action)).toEqual(['GetFirewallStatus', 'AddPinhole', 'UpdatePinhole', 'AddPinhole']);
  });

  it('closing a pinhole the router already forgot is not an error', async () => {
    const o = await opener({ DeletePinhole: [{ capture: '6fc-DeletePinhole-fault-no-such' }] });
    await expect(o.close('::1', 9)).resolves.toBeUndefined();
    expect(router!.received.map((x) => x.action)).toEqual(['DeletePinhole']);
  });
});
