// The served description and SCPDs: generated from our definitions, accepted by our own
// client's parsers, action-compatible with the captured miniupnpd SCPDs, CONFIGID that
// follows the content, and our own SOAP client against our own server.
import { DEVICE_IGD_1, DEVICE_IGD_2, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, WanIpConnectionClient, WanIpv6FirewallControlClient, fetchDeviceDescription, gatewayUnusableReason, parseDeviceDescription, parseServiceDescription } from '../../../adapters/upnp';
import { accept, buildIgdDocuments, createIgdHttpServer, defineIgdDevice, refuse, refuseEverything, GatewayDecider } from '../../../adapters/upnp/server';
import { readReference } from '../../support/reference-fixtures';
import { exchange, parseRawResponse } from './server-support';

const UUID = '2f1c9e3a-5b7d-4c1e-9a2b-000000000001';

describe('device description', () => {
  it('is an IGD:2 tree our own parser walks to every service', () => {
    const igd = defineIgdDevice({ uuid: UUID, friendlyName: 'Home <gateway> & co' });
    const docs = buildIgdDocuments(igd);
    const d = parseDeviceDescription(docs.descriptionXml, 'http://[2001:db8:77::1]:5000/igd/desc.xml');
    expect(d.igdVersion).toBe(2);
    expect(d.root.friendlyName).toBe('Home <gateway> & co');
    expect(d.udns).toEqual([`uuid:${UUID}`, 'uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000002', 'uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000003']);
    expect(d.services.wanIpv6FirewallControl?.controlUrl).toBe('http://[2001:db8:77::1]:5000/igd/ctl/IPv6Firewall');
    expect(d.services.wanIpConnection?.serviceType).toBe('urn:schemas-upnp-org:service:WANIPConnection:2');
    expect(d.services.wanCommonInterfaceConfig?.devicePath).toHaveLength(2);
    expect(d.warnings).toEqual([]);
    expect(gatewayUnusableReason(d, 'ipv6')).toBeUndefined();
    expect(docs.descriptionXml).toContain(`configId="${docs.configId}"`);
  });

  it('serves IGD:1 with WANIPConnection:1 and no pinhole service when forced to v1', () => {
    const docs = buildIgdDocuments(defineIgdDevice({ uuid: UUID, igdVersion: 1 }));
    const d = parseDeviceDescription(docs.descriptionXml, 'http://192.168.77.1:5000/igd/desc.xml');
    expect(d.root.deviceType).toBe(DEVICE_IGD_1);
    expect(d.services.wanIpConnection?.serviceType).toBe('urn:schemas-upnp-org:service:WANIPConnection:1');
    expect(d.services.wanIpv6FirewallControl).toBeUndefined();
    expect(gatewayUnusableReason(d, 'ipv4')).toBeUndefined();
  });

  it('offers every action miniupnpd 2.3.1 offers, except the WAN connection controls', () => {
    const docs = buildIgdDocuments(defineIgdDevice({ uuid: UUID }));
    const pairs: Array<[string, string, string[]]> = [
      ['WANIPCn.xml', '/igd/scpd/IPConnection.xml', ['SetConnectionType', 'RequestConnection', 'ForceTermination']],
      ['WANIP6FC.xml', '/igd/scpd/IPv6Firewall.xml', []],
      ['WANCfg.xml', '/igd/scpd/CommonIfConfig.xml', []],
    ];
    for (const [ref, path, notServed] of pairs) {
      const theirs = parseServiceDescription(readReference('scpd', ref).toString('utf8'));
      const ours = parseServiceDescription(docs.byPath.get(path) as string);
      expect([...ours.actions.keys()].sort()).toEqual([...theirs.actions.keys()].filter((a) => !notServed.includes(a)).sort());
      for (const [name, action] of ours.actions) {
        expect(action.inArguments).toEqual(theirs.actions.get(name)?.inArguments);
      }
    }
  });

  it('changes CONFIGID when the description changes, and only then', () => {
    const a = buildIgdDocuments(defineIgdDevice({ uuid: UUID })).configId;
    expect(buildIgdDocuments(defineIgdDevice({ uuid: UUID })).configId).toBe(a);
    expect(buildIgdDocuments(defineIgdDevice({ uuid: UUID, friendlyName: 'other' })).configId).not.toBe(a);
    expect(a).toBeLessThan(2 ** 24);
  });

  it('rejects bad options with a message naming them', () => {
    expect(() => defineIgdDevice({ uuid: 'not-a-uuid' })).toThrow(/uuid must be a UUID/);
    expect(() => defineIgdDevice({ uuid: UUID, paths: { description: 'desc.xml' } })).toThrow(/paths.description/);
    expect(() => defineIgdDevice({ uuid: UUID, igdVersion: 3 as 2 })).toThrow(/igdVersion/);
    expect(() => createIgdHttpServer({ igd: defineIgdDevice({ uuid: UUID }), decider: refuseEverything(501), listen: [], limits: {} })).toThrow(/listen/);
    expect(() => createIgdHttpServer({ igd: defineIgdDevice({ uuid: UUID }), decider: refuseEverything(501), listen: [{ host: '127.0.0.1', port: 0 }], limits: { maxBodyBytes: -1 } })).toThrow(/limits.maxBodyBytes/);
  });
});

describe('our own client against our own server', () => {
  it('fetches the description and calls both services', async () => {
    const igd = defineIgdDevice({ uuid: UUID });
    const seen: Array<[string, unknown]> = [];
    const decider: GatewayDecider = {
      ...refuseEverything(501),
      firewallStatus: () => accept({ firewallEnabled: true, inboundPinholeAllowed: true }),
      externalIpv4: () => accept({ address: '198.51.100.1' }),
      addPinhole: (req, who) => { seen.push(['addPinhole', { req, who }]); return accept({ uniqueId: 7 }); },
      addPortMapping: (req) => (req.externalPort === 80 ? refuse(606, 'no') : accept(undefined)),
    };
    const server = createIgdHttpServer({ igd, decider, listen: [{ host: '::1', port: 0 }, { host: '127.0.0.1', port: 0 }] });
    await server.start();
    try {
      const [v6, v4] = server.urls();
      const d6 = await fetchDeviceDescription({ url: `${v6}${igd.descriptionPath}`, host: '::1', port: server.addresses()[0].port, family: 'ipv6', acceptedBecause: 'sender' }, { timeoutMs: 2000 });
      expect(d6.igdVersion).toBe(2);
      const fw = new WanIpv6FirewallControlClient(d6.services.wanIpv6FirewallControl!);
      expect(await fw.getFirewallStatus()).toEqual({ firewallEnabled: true, inboundPinholeAllowed: true });
      expect(await fw.addPinhole({ internalClient: '::1', internalPort: 40000, protocol: 'udp', leaseTimeSeconds: 600 })).toBe(7);
      expect(seen[0]?.[1]).toMatchObject({ req: { internalClient: '::1', protocol: 'udp', leaseSeconds: 600 }, who: { address: '::1', family: 'ipv6' } });
      const d4 = await fetchDeviceDescription({ url: `${v4}${igd.descriptionPath}`, host: '127.0.0.1', port: server.addresses()[1].port, family: 'ipv4', acceptedBecause: 'sender' }, { timeoutMs: 2000 });
      const ipc = new WanIpConnectionClient(d4.services.wanIpConnection!);
      expect(await ipc.getExternalIpAddress()).toBe('198.51.100.1');
      await expect(ipc.addPortMapping({ internalClient: '127.0.0.1', internalPort: 80, externalPort: 80, protocol: 'tcp', leaseDurationSeconds: 60, description: 'x' }))
        .rejects.toMatchObject({ code: 606 });
      const raw = parseRawResponse(await exchange(server.addresses()[1].port, `GET ${igd.descriptionPath} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      expect(raw.body).toContain(DEVICE_IGD_2);
      expect(raw.body).toContain(SERVICE_WAN_IPV6_FIREWALL_CONTROL_1);
    } finally {
      await server.close();
    }
  });
});
