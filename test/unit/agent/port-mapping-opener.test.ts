import { SoapClient, WanIpConnectionClient } from '../../../adapters/upnp';
import { routerFaultOf } from '../../../plugin/agent/connect-gateway';
import { PortMappingArgs, PortMappingControl } from '../../../plugin/agent/gateway-control';
import { PortMappingOpener } from '../../../plugin/agent/port-mapping-opener';
import { faultCode, ScriptedAnswer, ScriptedRouter, startScriptedRouter } from '../../support/scripted-router';

describe('PortMappingOpener against replayed router answers', () => {
  let router: ScriptedRouter | undefined;
  const soap = new SoapClient({ timeoutMs: 2000 });
  afterEach(async () => router?.close());
  afterAll(() => soap.close());

  async function opener(script: Record<string, ScriptedAnswer[]>, options: { igd1?: boolean; lease?: number } = {}) {
    router = await startScriptedRouter('127.0.0.1', script);
    const serviceType = `urn:schemas-upnp-org:service:WANIPConnection:${options.igd1 ? 1 : 2}`;
    const client = new WanIpConnectionClient({ controlUrl: router.url('/ctl/IPConn'), serviceType }, { caller: soap, localAddress: '127.0.0.1' });
    const spec = (a: PortMappingArgs) => ({ ...a, leaseDurationSeconds: a.leaseDuration });
    const control = (): PortMappingControl => ({
      getExternalIPAddress: () => client.getExternalIpAddress(),
      addPortMapping: (a) => client.addPortMapping(spec(a)),
      ...(options.igd1 ? {} : { addAnyPortMapping: (a: PortMappingArgs) => client.addAnyPortMapping(spec(a)) }),
      deletePortMapping: (k) => client.deletePortMapping(k),
    });
    return new PortMappingOpener({ gateway: 'lab', control, faultOf: routerFaultOf, protocol: 'udp', port: 40001, leaseSeconds: options.lease ?? 600 });
  }

  const external = { GetExternalIPAddress: [{ capture: 'ipc-GetExternalIPAddress' }] };
  const externalAs = (ip: string) => ({
    GetExternalIPAddress: [{ capture: 'ipc-GetExternalIPAddress', rewrite: (t: string) => t.replace(/198\.51\.100\.1/, ip) }],
  });
  const actions = () => router!.received.map((x) => x.action);

  it('opens with the external address peers should use', async () => {
    const o = await opener({ ...external, AddPortMapping: [{ capture: 'ipc-AddPortMapping-ok' }] });
    const r = await o.open('127.0.0.1');
    expect(r.reachability).toMatchObject({ family: 'ipv4', verdict: 'open', externalAddress: '198.51.100.1', externalPort: 40001, internalClient: '127.0.0.1', leaseSeconds: 600 });
    expect(r.held).toEqual({ externalPort: 40001, leaseSeconds: 600, externalAddress: '198.51.100.1' });
    expect(router!.received[1].body).toContain('<NewLeaseDuration>600</NewLeaseDuration>');
  });

  it.each([
    ['100.64.3.4', 'cgnat', /carrier-grade NAT/],
    ['192.168.1.20', 'private', /double NAT/],
    ['0.0.0.0', 'none', /no external IPv4/],
  ])('external address %s: ineffective (%s), and no mapping is asked for', async (ip, kind, why) => {
    const o = await opener(externalAs(ip));
    const r = (await o.open('127.0.0.1')).reachability;
    expect(r).toMatchObject({ verdict: 'ineffective', externalIpv4Kind: kind });
    expect(r.reason).toMatch(why);
    expect(actions()).toEqual(['GetExternalIPAddress']);
  });

  it('718 (port held by another host) falls back to AddAnyPortMapping on IGD:2', async () => {
    const o = await opener({
      ...external,
      AddPortMapping: [{ capture: 'ipc-AddPortMapping-fault-taken-by-other' }],
      AddAnyPortMapping: [{ capture: 'ipc-AddAnyPortMapping-conflict-alt' }],
    });
    const r = (await o.open('127.0.0.1')).reachability;
    expect(actions()).toEqual(['GetExternalIPAddress', 'AddPortMapping', 'AddAnyPortMapping']);
    expect(r).toMatchObject({ verdict: 'open', externalPort: 40002 });
    expect(r.reason).toMatch(/external port 40001 is held by another host/);
  });

  it('718 on IGD:1 tries the next external ports', async () => {
    const o = await opener(
      { ...external, AddPortMapping: [{ capture: 'ipc-AddPortMapping-fault-taken-by-other' }, { capture: 'ipc-AddPortMapping-fault-taken-by-other' }, { capture: 'ipc-AddPortMapping-ok' }] },
      { igd1: true },
    );
    const r = (await o.open('127.0.0.1')).reachability;
    expect(r).toMatchObject({ verdict: 'open', externalPort: 40003 });
    expect(router!.received.map((x) => /<NewExternalPort>(\d+)/.exec(x.body)?.[1]).filter(Boolean)).toEqual(['40001', '40002', '40003']);
  });

  it('725 (only permanent leases): retried with lease 0', async () => {
    const o = await opener({
      ...external,
      // miniupnpd accepts any lease; 725 is what some ISP routers answer.
      AddPortMapping: [{ capture: 'ipc-AddPortMapping-fault-port80', rewrite: faultCode(725, 'OnlyPermanentLeasesSupported') }, { capture: 'ipc-AddPortMapping-ok' }],
    });
    const r = (await o.open('127.0.0.1')).reachability;
    expect(r).toMatchObject({ verdict: 'open', leaseSeconds: 0 });
    expect(router!.received[2].body).toContain('<NewLeaseDuration>0</NewLeaseDuration>');
  });

  it("606: denied with the router's code", async () => {
    const o = await opener({ ...external, AddPortMapping: [{ capture: 'ipc-AddPortMapping-fault-port80' }] });
    expect((await o.open('127.0.0.1')).reachability).toMatchObject({ verdict: 'denied', code: 606, name: 'ActionNotAuthorized' });
  });

  it('renewal re-adds the same external port; if another host took it meanwhile, it moves', async () => {
    const o = await opener({
      ...external,
      AddPortMapping: [{ capture: 'ipc-AddPortMapping-ok' }, { capture: 'ipc-AddPortMapping-ok' }, { capture: 'ipc-AddPortMapping-fault-taken-by-other' }],
      AddAnyPortMapping: [{ capture: 'ipc-AddAnyPortMapping-conflict-alt' }],
    });
    const first = await o.open('127.0.0.1');
    const again = await o.renew('127.0.0.1', first.held!);
    expect(again.reachability).toMatchObject({ verdict: 'open', externalPort: 40001 });
    const moved = await o.renew('127.0.0.1', again.held!);
    expect(moved.reachability).toMatchObject({ verdict: 'open', externalPort: 40002 });
    expect(actions()).toEqual(['GetExternalIPAddress', 'AddPortMapping', 'AddPortMapping', 'AddPortMapping', 'AddAnyPortMapping']);
  });
});
