import {
  DEVICE_IGD_1, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, UpnpProtocolError, gatewayUnusableReason, parseDeviceDescription, parseServiceDescription,
} from '../../../adapters/upnp';
import { readReference } from '../../support/reference-fixtures';

const rootDesc = readReference('rootDesc.xml').toString('utf8');

describe('the real miniupnpd rootDesc.xml', () => {
  it('walks IGD:2 -> WANDevice:2 -> WANConnectionDevice:2 over IPv6', () => {
    const d = parseDeviceDescription(rootDesc, 'http://[2001:db8:77::1]:5000/rootDesc.xml');
    expect(d.igdVersion).toBe(2);
    expect(d.root.friendlyName).toBe('Lab miniupnpd router');
    expect(d.udns).toEqual([
      'uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d01', 'uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d02', 'uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d03',
    ]);
    expect(d.services.wanIpv6FirewallControl).toMatchObject({
      serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1,
      controlUrl: 'http://[2001:db8:77::1]:5000/ctl/IP6FCtl',
      scpdUrl: 'http://[2001:db8:77::1]:5000/WANIP6FC.xml',
    });
    expect(d.services.wanIpConnection?.serviceType).toBe('urn:schemas-upnp-org:service:WANIPConnection:2');
    expect(d.services.wanIpConnection?.controlUrl).toBe('http://[2001:db8:77::1]:5000/ctl/IPConn');
    expect(d.services.wanCommonInterfaceConfig?.controlUrl).toBe('http://[2001:db8:77::1]:5000/ctl/CmnIfCfg');
    expect(d.services.wanPppConnection).toBeUndefined();
    expect(d.allServices.map((s) => s.serviceId)).toEqual([
      'urn:upnp-org:serviceId:L3Forwarding1', 'urn:upnp-org:serviceId:DeviceProtection1', 'urn:upnp-org:serviceId:WANCommonIFC1',
      'urn:upnp-org:serviceId:WANIPConn1', 'urn:upnp-org:serviceId:WANIPv6Firewall1',
    ]);
    expect(gatewayUnusableReason(d, 'ipv6')).toBeUndefined();
    expect(d.warnings).toEqual([]);
  });

  it('resolves against an IPv4 description URL too', () => {
    const d = parseDeviceDescription(rootDesc, 'http://192.168.77.1:5000/rootDesc.xml');
    expect(d.services.wanIpConnection?.controlUrl).toBe('http://192.168.77.1:5000/ctl/IPConn');
  });
});

describe('the real SCPDs', () => {
  it('lists the pinhole actions of WANIPv6FirewallControl:1', () => {
    const s = parseServiceDescription(readReference('scpd', 'WANIP6FC.xml').toString('utf8'));
    for (const a of ['GetFirewallStatus', 'GetOutboundPinholeTimeout', 'AddPinhole', 'UpdatePinhole', 'DeletePinhole', 'GetPinholePackets', 'CheckPinholeWorking']) {
      expect(s.offers(a)).toBe(true);
    }
    expect(s.actions.get('AddPinhole')).toEqual({
      name: 'AddPinhole',
      inArguments: ['RemoteHost', 'RemotePort', 'InternalClient', 'InternalPort', 'Protocol', 'LeaseTime'],
      outArguments: ['UniqueID'],
    });
    expect(s.offers('AddPortMapping')).toBe(false);
  });

  it('lists the IGD:2 mapping actions of WANIPConnection:2', () => {
    const s = parseServiceDescription(readReference('scpd', 'WANIPCn.xml').toString('utf8'));
    for (const a of ['AddPortMapping', 'AddAnyPortMapping', 'DeletePortMapping', 'DeletePortMappingRange', 'GetExternalIPAddress', 'GetListOfPortMappings', 'GetSpecificPortMappingEntry', 'GetGenericPortMappingEntry', 'GetStatusInfo']) {
      expect(s.offers(a)).toBe(true);
    }
    // miniupnpd 2.3.1's SCPD names the output NewExternalPort, while its answer (and the spec) say NewReservedPort.
    expect(s.actions.get('AddAnyPortMapping')?.outArguments).toEqual(['NewExternalPort']);
  });

  it.each(['DP.xml', 'L3F.xml', 'WANCfg.xml'])('parses %s', (f) => {
    expect(parseServiceDescription(readReference('scpd', f).toString('utf8')).actions.size).toBeGreaterThan(0);
  });
});

const igd1 = (body: string, urlBase = ''): string => `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  ${urlBase}
  <device>
    <deviceType>${DEVICE_IGD_1}</deviceType>
    <friendlyName>Old &amp; Trusty</friendlyName>
    <UDN>uuid:aaaa</UDN>
    <deviceList><device>
      <deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType><UDN>uuid:bbbb</UDN>
      <deviceList><device>
        <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType><UDN>uuid:cccc</UDN>
        <serviceList>${body}</serviceList>
      </device></deviceList>
    </device></deviceList>
  </device>
</root>`;
const svc = (type: string, control: string, scpd = '/x.xml'): string =>
  `<service><serviceType>${type}</serviceType><serviceId>id</serviceId><SCPDURL>${scpd}</SCPDURL><controlURL>${control}</controlURL><eventSubURL>/e</eventSubURL></service>`;

describe('synthetic descriptions', () => {
  it('walks an IGD:1 with WANIPConnection:1 and WANPPPConnection:1, relative URLs', () => {
    const xml = igd1(svc('urn:schemas-upnp-org:service:WANPPPConnection:1', 'ppp/ctl') + svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'ipc/ctl', 'ipc.xml'));
    const d = parseDeviceDescription(xml, 'http://192.168.0.1:49152/desc/igd.xml');
    expect(d.igdVersion).toBe(1);
    expect(d.root.friendlyName).toBe('Old & Trusty');
    expect(d.services.wanIpConnection).toMatchObject({
      controlUrl: 'http://192.168.0.1:49152/desc/ipc/ctl', scpdUrl: 'http://192.168.0.1:49152/desc/ipc.xml',
    });
    expect(d.services.wanPppConnection?.controlUrl).toBe('http://192.168.0.1:49152/desc/ppp/ctl');
    expect(d.services.wanIpv6FirewallControl).toBeUndefined();
    expect(gatewayUnusableReason(d, 'ipv4')).toBeUndefined();
    expect(gatewayUnusableReason(d, 'ipv6')).toMatch(/IGD:1 found over IPv6/);
  });

  it('resolves against URLBase when present', () => {
    const xml = igd1(svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'ctl/ipc'), '<URLBase>http://192.168.0.1:8080/base/</URLBase>');
    const d = parseDeviceDescription(xml, 'http://192.168.0.1:49152/igd.xml');
    expect(d.baseUrl).toBe('http://192.168.0.1:8080/base/');
    expect(d.services.wanIpConnection?.controlUrl).toBe('http://192.168.0.1:8080/base/ctl/ipc');
  });

  it('takes absolute controlURLs on the same host, drops those on another host', () => {
    const xml = igd1(svc('urn:schemas-upnp-org:service:WANIPConnection:1', 'http://192.168.0.1:5555/ctl')
      + svc('urn:schemas-upnp-org:service:WANPPPConnection:1', 'http://203.0.113.9/steal'));
    const d = parseDeviceDescription(xml, 'http://192.168.0.1:49152/igd.xml');
    expect(d.services.wanIpConnection?.controlUrl).toBe('http://192.168.0.1:5555/ctl');
    expect(d.services.wanPppConnection).toBeUndefined();
    expect(d.warnings.join()).toMatch(/another host/);
  });

  it('ignores a URLBase on another host', () => {
    const xml = igd1(svc('urn:schemas-upnp-org:service:WANIPConnection:1', '/ctl'), '<URLBase>http://203.0.113.9/</URLBase>');
    const d = parseDeviceDescription(xml, 'http://[2001:db8::1]:5000/igd.xml');
    expect(d.services.wanIpConnection?.controlUrl).toBe('http://[2001:db8::1]:5000/ctl');
    expect(d.warnings[0]).toMatch(/URLBase/);
  });

  it('says a non-IGD root is not a gateway', () => {
    const d = parseDeviceDescription('<root><device><deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType></device></root>', 'http://10.0.0.1/d.xml');
    expect(d.igdVersion).toBeUndefined();
    expect(gatewayUnusableReason(d, 'ipv4')).toMatch(/not an InternetGatewayDevice/);
  });

  it('refuses DOCTYPE, entities and garbage with UpnpProtocolError', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><root>&lol2;</root>`;
    expect(() => parseDeviceDescription(laughs, 'http://10.0.0.1/d.xml')).toThrow(/DOCTYPE\/ENTITY declarations are refused/);
    expect(() => parseDeviceDescription('<root><device>', 'http://10.0.0.1/d.xml')).toThrow(UpnpProtocolError);
    expect(() => parseDeviceDescription('not xml at all', 'http://10.0.0.1/d.xml')).toThrow(UpnpProtocolError);
    expect(() => parseDeviceDescription('<other/>', 'http://10.0.0.1/d.xml')).toThrow(/no <root>/);
  });
});
