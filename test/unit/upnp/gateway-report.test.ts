import {
  DiscoveredGateway, SoapCallRequest, SoapCaller, SoapOutput, UpnpFault, buildGatewayReport, classifyExternalIpv4, parseDeviceDescription,
  parseSoapResponseBody, toRfc5952,
} from '../../../adapters/upnp';
import { readHttpCapture, readReference } from '../../support/reference-fixtures';

const rootDesc = readReference('rootDesc.xml').toString('utf8');

function gatewayFrom(xml: string, family: 'ipv4' | 'ipv6' = 'ipv4'): DiscoveredGateway {
  const description = parseDeviceDescription(xml, 'http://192.168.77.1:5000/rootDesc.xml');
  return {
    family, remoteAddress: '192.168.77.1', location: description.descriptionUrl, udn: description.udns[0],
    searchTarget: 'x', usn: 'x', maxAgeSeconds: 120, igdVersion: description.igdVersion ?? 2, description, services: description.services,
    localAddress: '192.168.77.10', server: 'MiniUPnPd/2.3.1',
  };
}

/** Answers each action from a captured case, or from an inline body. */
function caller(answers: Record<string, string | { status: number; body: string }>): SoapCaller & { calls: SoapCallRequest[] } {
  const calls: SoapCallRequest[] = [];
  return {
    calls,
    async call(req: SoapCallRequest): Promise<SoapOutput> {
      calls.push(req);
      const a = answers[req.action];
      if (a === undefined) throw new Error(`unexpected ${req.action}`);
      const res = typeof a === 'string' ? (() => { const c = readHttpCapture(`${a}.response.http`); return { status: Number(c.startLine.split(' ')[1]), body: c.body }; })() : a;
      return parseSoapResponseBody(res.body, { serviceType: req.serviceType, action: req.action, httpStatus: res.status });
    },
  };
}

const envelope = (inner: string): string => `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`;

describe('gateway report', () => {
  it('grades the lab miniupnpd A, with a public (documentation-range) external IPv4', async () => {
    const c = caller({ GetExternalIPAddress: 'ipc-GetExternalIPAddress', GetFirewallStatus: '6fc-GetFirewallStatus' });
    const r = await buildGatewayReport(gatewayFrom(rootDesc), { caller: c, localAddressV6: '2001:db8:77::10' });
    expect(r).toMatchObject({
      grade: 'A', discovered: true, igdVersion: 2, externalIpv4: '198.51.100.1', externalIpv4Kind: 'public',
      firewallStatus: { firewallEnabled: true, inboundPinholeAllowed: true }, pinholesNeeded: true,
      hasWanIpv6FirewallControl: true, hasWanIpConnection: true, hasWanPppConnection: false, friendlyName: 'Lab miniupnpd router', problems: [],
    });
    expect(r.serviceTypes).toContain('urn:schemas-upnp-org:service:WANIPv6FirewallControl:1');
    expect(c.calls.find((x) => x.action === 'GetFirewallStatus')?.localAddress).toBe('2001:db8:77::10');
    expect(c.calls.find((x) => x.action === 'GetExternalIPAddress')?.localAddress).toBe('192.168.77.10');
  });

  it('grades B when inbound pinholes are disabled (InboundPinholeAllowed=0, or fault 703)', async () => {
    const off = envelope('<u:GetFirewallStatusResponse><FirewallEnabled>1</FirewallEnabled><InboundPinholeAllowed>0</InboundPinholeAllowed></u:GetFirewallStatusResponse>');
    const r = await buildGatewayReport(gatewayFrom(rootDesc), { caller: caller({ GetExternalIPAddress: 'ipc-GetExternalIPAddress', GetFirewallStatus: { status: 200, body: off } }) });
    expect(r.grade).toBe('B');
    const f703 = envelope('<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError><errorCode>703</errorCode><errorDescription>InboundPinholeNotAllowed</errorDescription></UPnPError></detail></s:Fault>');
    const r2 = await buildGatewayReport(gatewayFrom(rootDesc), { caller: caller({ GetExternalIPAddress: 'ipc-GetExternalIPAddress', GetFirewallStatus: { status: 500, body: f703 } }) });
    expect(r2.grade).toBe('B');
    expect(r2.problems).toEqual([expect.objectContaining({ action: 'GetFirewallStatus', faultCode: 703 })]);
  });

  it('grades A with pinholesNeeded=false when the IPv6 firewall is off', async () => {
    const off = envelope('<u:GetFirewallStatusResponse><FirewallEnabled>0</FirewallEnabled><InboundPinholeAllowed>0</InboundPinholeAllowed></u:GetFirewallStatusResponse>');
    const r = await buildGatewayReport(gatewayFrom(rootDesc), { caller: caller({ GetExternalIPAddress: 'ipc-GetExternalIPAddress', GetFirewallStatus: { status: 200, body: off } }) });
    expect(r).toMatchObject({ grade: 'A', pinholesNeeded: false });
  });

  it('grades C without a usable 6FC (absent, IGD:1, or failing), and reports double NAT / CGNAT', async () => {
    const no6fc = rootDesc.replace(/<service><serviceType>urn:schemas-upnp-org:service:WANIPv6FirewallControl:1<\/serviceType>.*?<\/service>/, '');
    const ext = (ip: string) => ({ status: 200, body: envelope(`<u:GetExternalIPAddressResponse><NewExternalIPAddress>${ip}</NewExternalIPAddress></u:GetExternalIPAddressResponse>`) });
    const r = await buildGatewayReport(gatewayFrom(no6fc), { caller: caller({ GetExternalIPAddress: ext('10.0.0.7') }) });
    expect(r).toMatchObject({ grade: 'C', hasWanIpv6FirewallControl: false, externalIpv4: '10.0.0.7', externalIpv4Kind: 'private' });
    const igd1 = no6fc.replace('InternetGatewayDevice:2', 'InternetGatewayDevice:1');
    const r1 = await buildGatewayReport(gatewayFrom(igd1), { caller: caller({ GetExternalIPAddress: ext('100.64.12.1') }) });
    expect(r1).toMatchObject({ grade: 'C', igdVersion: 1, externalIpv4Kind: 'cgnat' });
    expect(r1.gradeReason).toMatch(/IGD:1/);
    const failing: SoapCaller = { call: async (req) => { if (req.action === 'GetFirewallStatus') throw new UpnpFault({ code: 401, description: 'Invalid Action', action: req.action, serviceType: req.serviceType }); return { NewExternalIPAddress: '' }; } };
    const r2 = await buildGatewayReport(gatewayFrom(rootDesc), { caller: failing });
    expect(r2).toMatchObject({ grade: 'C', externalIpv4: '', externalIpv4Kind: 'none' });
  });

  it('grades D when nothing answered', async () => {
    expect(await buildGatewayReport(undefined)).toMatchObject({ grade: 'D', discovered: false, externalIpv4Kind: 'none' });
  });
});

describe('address helpers', () => {
  it.each([
    ['198.51.100.1', 'public'], ['192.0.2.9', 'public'], ['203.0.113.200', 'public'], ['8.8.8.8', 'public'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['172.32.0.1', 'public'], ['192.168.0.1', 'private'],
    ['100.64.0.1', 'cgnat'], ['100.127.255.254', 'cgnat'], ['100.128.0.1', 'public'],
    ['', 'none'], ['0.0.0.0', 'none'], ['127.0.0.1', 'none'], ['169.254.1.1', 'none'], ['1.2.3', 'none'], ['2001:db8::1', 'none'], ['garbage', 'none'],
  ])('classifies %s as %s', (ip, kind) => {
    expect(classifyExternalIpv4(ip)).toBe(kind);
  });

  it('writes IPv6 in RFC 5952 form', () => {
    expect(toRfc5952('2001:DB8:77:0:0:0:0:10')).toBe('2001:db8:77::10');
    expect(toRfc5952('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(toRfc5952('FE80::0:1%lan0')).toBe('fe80::1%lan0');
    expect(toRfc5952('::FFFF:192.0.2.1')).toBe('::ffff:192.0.2.1');
  });
});
