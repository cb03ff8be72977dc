/**
 * `applier: 'agent'`: the agent applies the hub's settled IPv4 external port
 * EXACTLY (AddPortMapping, never AddAnyPortMapping or a nearby port), against
 * replayed answers of the real miniupnpd, and reports what the router said.
 */
import { SoapClient } from '../../../adapters/upnp';
import type { DiscoveredGateway } from '../../../adapters/upnp/gateway';
import type { HostAddress } from '../../../adapters/observe/host-address';
import type { CoordinationGrant, CoordinationOutcome } from '../../../plugin/hub/coordination-protocol';
import type { HubCalls } from '../../../plugin/agent/hub-client';
import type { HubReachability } from '../../../plugin/agent/hub-keeper';
import { openPort } from '../../../plugin/agent/open-port';
import { ScriptedAnswer, ScriptedRouter, startScriptedRouter } from '../../support/scripted-router';

// 127.0.0.1 stands for the console's LAN address (the SOAP requests must come from it).
const self: HostAddress = { interface: 'eth0', family: 'ipv4', address: '127.0.0.1', prefixLength: 8, scope: 'private', temporary: false, deprecated: false, tentative: false, preferredLifetime: Infinity, validLifetime: Infinity };

describe('the settled external port, exactly', () => {
  let router: ScriptedRouter | undefined;
  const soap = new SoapClient({ timeoutMs: 2000 });
  afterEach(async () => router?.close());
  afterAll(() => soap.close());

  async function open(script: Record<string, ScriptedAnswer[]>) {
    router = await startScriptedRouter('127.0.0.1', script);
    const gateway = {
      family: 'ipv4', remoteAddress: '127.0.0.1', location: router.url('/rootDesc.xml'), udn: 'uuid:lab', searchTarget: 'igd', usn: 'u', maxAgeSeconds: 120, igdVersion: 2,
      services: { wanIpConnection: { controlUrl: router.url('/ctl/IPConn'), serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:2' } },
    } as unknown as DiscoveredGateway;
    const reports: CoordinationOutcome[] = [];
    const grant: CoordinationGrant = {
      verdict: 'granted-with-changes', needId: 'need-2', applier: 'agent', family: 'ipv4', protocol: 'udp', internalClient: '127.0.0.1', internalPort: 40001,
      externalPort: 40001, leaseSeconds: 600, applied: false, reasons: [{ rule: 'port-settlement', code: 'external-port-moved', conflictsWith: 'need:console2' }],
    };
    const hub: HubCalls = {
      url: 'http://127.0.0.5:5390/homenet/v1',
      ask: async () => ({ kind: 'grant', grant }),
      report: async (_id, outcome) => {
        reports.push(outcome);
        return grant;
      },
      end: async () => true,
    };
    const handle = await openPort({
      protocol: 'udp', port: 40001, family: 'ipv4', externalPort: 3074, keepOpen: false, via: 'upnp', soap,
      discover: async () => gateway, addresses: { read: async () => [self] }, hub: { url: hub.url, clientFor: () => hub },
    });
    handle.detach();
    return { verdict: handle.reachability[0] as HubReachability, reports, actions: router.received.map((r) => r.action), bodies: router.received.map((r) => r.body) };
  }

  it('asks the router for exactly the settled port and reports the success', async () => {
    const r = await open({ GetExternalIPAddress: [{ capture: 'ipc-GetExternalIPAddress' }], AddPortMapping: [{ capture: 'ipc-AddPortMapping-ok' }] });
    expect(r.actions).toEqual(['GetExternalIPAddress', 'AddPortMapping']);
    expect(r.bodies[1]).toContain('<NewExternalPort>40001</NewExternalPort>');
    expect(r.bodies[1]).toContain('<NewLeaseDuration>600</NewLeaseDuration>');
    expect(r.verdict).toMatchObject({ verdict: 'open', externalPort: 40001, hub: { applier: 'agent', needId: 'need-2' } });
    expect(r.reports).toEqual([{ ok: true, via: 'upnp', externalPort: 40001, leaseSeconds: 600 }]);
  });

  it('a 718 conflict is reported as a failure, without AddAnyPortMapping or another port', async () => {
    const r = await open({
      GetExternalIPAddress: [{ capture: 'ipc-GetExternalIPAddress' }],
      AddPortMapping: [{ capture: 'ipc-AddPortMapping-fault-taken-by-other' }],
      AddAnyPortMapping: [{ capture: 'ipc-AddAnyPortMapping-conflict-alt' }],
    });
    expect(r.actions).toEqual(['GetExternalIPAddress', 'AddPortMapping']);
    expect(r.verdict).toMatchObject({ verdict: 'denied', code: 718 });
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({ ok: false, via: 'upnp' });
    expect(r.reports[0].error).toMatch(/^denied: /);
  });
});
