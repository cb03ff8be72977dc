/**
 * The agent (its gateway report, from GetExternalIPAddress) and the gateway
 * daemon (from its WAN address) classify an external IPv4 address the same
 * way: both through the address module, checked end to end on one table.
 */
import { buildGatewayReport, DiscoveredGateway, parseDeviceDescription, parseSoapResponseBody, SoapCallRequest, SoapCaller, SoapOutput } from '../../../../adapters/upnp';
import { classifyExternalIpv4 } from '../../../../policies/model/address';
import type { WanIpv4Kind } from '../../../../policies/model/network';
import { readReference } from '../../../support/reference-fixtures';
import { startTestDaemon, testConfig, testWorld } from '../../gateway/support';

const TABLE: ReadonlyArray<readonly [string, WanIpv4Kind]> = [
  ['198.51.100.1', 'public'],
  ['8.8.8.8', 'public'],
  ['192.0.2.9', 'public'],
  ['10.1.2.3', 'private'],
  ['172.20.0.1', 'private'],
  ['192.168.0.1', 'private'],
  ['100.64.0.1', 'cgnat'],
  ['169.254.1.1', 'none'], // the daemon used to call this one public
  ['127.0.0.1', 'none'],
  ['0.0.0.0', 'none'],
  ['224.0.0.1', 'none'],
  ['240.0.0.1', 'none'],
];

const envelope = (inner: string): string => `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`;

function gateway(): DiscoveredGateway {
  const description = parseDeviceDescription(readReference('rootDesc.xml').toString('utf8'), 'http://192.168.77.1:5000/rootDesc.xml');
  return {
    family: 'ipv4', remoteAddress: '192.168.77.1', location: description.descriptionUrl, udn: description.udns[0],
    searchTarget: 'x', usn: 'x', maxAgeSeconds: 120, igdVersion: description.igdVersion ?? 2, description, services: description.services,
    localAddress: '192.168.77.10', server: 'MiniUPnPd/2.3.1',
  };
}

/** A router whose GetExternalIPAddress answers `external`. */
function router(external: string): SoapCaller {
  const bodies: Record<string, string> = {
    GetExternalIPAddress: envelope(`<u:GetExternalIPAddressResponse><NewExternalIPAddress>${external}</NewExternalIPAddress></u:GetExternalIPAddressResponse>`),
    GetFirewallStatus: envelope('<u:GetFirewallStatusResponse><FirewallEnabled>1</FirewallEnabled><InboundPinholeAllowed>1</InboundPinholeAllowed></u:GetFirewallStatusResponse>'),
  };
  return {
    async call(req: SoapCallRequest): Promise<SoapOutput> {
      const body = bodies[req.action];
      if (body === undefined) throw new Error(`unexpected ${req.action}`);
      return parseSoapResponseBody(body, { serviceType: req.serviceType, action: req.action, httpStatus: 200 });
    },
  };
}

async function agentKind(address: string): Promise<WanIpv4Kind> {
  const report = await buildGatewayReport(gateway(), { caller: router(address), localAddressV6: '2001:db8:77::10' });
  expect(report.externalIpv4).toBe(address);
  return report.externalIpv4Kind;
}

async function daemonKind(address: string): Promise<WanIpv4Kind> {
  const world = testWorld();
  const daemon = await startTestDaemon(world, testConfig({ wan: { interface: 'wan0', ipv4: { source: 'static', address } } }));
  try {
    return daemon.engine.snapshot().network.wanIpv4;
  } finally {
    await daemon.stop();
  }
}

describe('agent and daemon classify a WAN IPv4 address alike', () => {
  it.each(TABLE)('%s: %s for both', async (address, kind) => {
    expect(classifyExternalIpv4(address)).toBe(kind);
    expect(await agentKind(address)).toBe(kind);
    expect(await daemonKind(address)).toBe(kind);
  });
});
