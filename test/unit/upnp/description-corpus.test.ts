import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayUnusableReason, parseDeviceDescription } from '../../../adapters/upnp';

/** What the agent must find in each real description of test/fixtures/descriptions/ (see its README). */
interface Expected {
  file: string;
  descriptionUrl: string;
  igdVersion: 1 | 2;
  /** serviceType and control URL of the IPv4 connection service the agent must use. */
  ipv4: { serviceType: string; controlUrl: string };
  pinhole?: string;
  commonInterfaceConfig: string;
  ipv4Usable: true;
  ipv6Unusable?: RegExp;
}

const CORPUS: Expected[] = [
  {
    file: 'orange-livebox-igd2.xml',
    descriptionUrl: 'http://192.168.1.1:49152/87895a19/rootDesc.xml',
    igdVersion: 2,
    ipv4: { serviceType: 'urn:schemas-upnp-org:service:WANPPPConnection:2', controlUrl: 'http://192.168.1.1:49152/87895a19/upnp/control/WANIPConn1' },
    pinhole: 'http://192.168.1.1:49152/87895a19/upnp/control/WANIPv6FwCtrl1',
    commonInterfaceConfig: 'http://192.168.1.1:49152/87895a19/upnp/control/WANCommonIFC1',
    ipv4Usable: true,
  },
  {
    file: 'linksys-wag200g-igd1.xml',
    descriptionUrl: 'http://192.168.1.1:49152/gatedesc.xml',
    igdVersion: 1,
    ipv4: { serviceType: 'urn:schemas-upnp-org:service:WANPPPConnection:1', controlUrl: 'http://192.168.1.1:49152/upnp/control/WANPPPConn1' },
    commonInterfaceConfig: 'http://192.168.1.1:49152/upnp/control/WANCommonIFC1',
    ipv4Usable: true,
    ipv6Unusable: /IGD:1 found over IPv6/,
  },
  {
    file: 'avm-fritzbox-7430-igd1.xml',
    descriptionUrl: 'http://192.168.178.1:49000/igddesc.xml',
    igdVersion: 1,
    ipv4: { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: 'http://192.168.178.1:49000/igdupnp/control/WANIPConn1' },
    pinhole: 'http://192.168.178.1:49000/igd2upnp/control/WANIPv6Firewall1',
    commonInterfaceConfig: 'http://192.168.178.1:49000/igdupnp/control/WANCommonIFC1',
    ipv4Usable: true,
    ipv6Unusable: /IGD:1 found over IPv6/,
  },
  {
    file: 'miniupnpd-20180615-igd1.xml',
    descriptionUrl: 'http://192.168.0.1:5000/rootDesc.xml',
    igdVersion: 1,
    ipv4: { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: 'http://192.168.0.1:5000/ctl/IPConn' },
    commonInterfaceConfig: 'http://192.168.0.1:5000/ctl/CmnIfCfg',
    ipv4Usable: true,
    ipv6Unusable: /IGD:1 found over IPv6/,
  },
  {
    file: 'isp-box-igd1-no-root-services.xml',
    descriptionUrl: 'http://192.168.1.254:80/upnp/IGD.xml',
    igdVersion: 1,
    ipv4: { serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1', controlUrl: 'http://192.168.1.254/upnp/control/WANIPConn1' },
    commonInterfaceConfig: 'http://192.168.1.254/upnp/control/WANCommonIFC1',
    ipv4Usable: true,
    ipv6Unusable: /IGD:1 found over IPv6/,
  },
];

const read = (file: string): string => readFileSync(join(__dirname, '../../fixtures/descriptions', file), 'utf8');

describe('real router descriptions (test/fixtures/descriptions)', () => {
  it('covers every file of the corpus, each named in its README', () => {
    const files = readdirSync(join(__dirname, '../../fixtures/descriptions')).filter((f) => f.endsWith('.xml'));
    expect(new Set(files)).toEqual(new Set(CORPUS.map((c) => c.file)));
    const readme = readFileSync(join(__dirname, '../../fixtures/descriptions/README.md'), 'utf8');
    for (const f of files) expect(readme).toContain(`| \`${f}\` |`);
  });

  describe.each(CORPUS.map((c) => [c.file, c] as const))('%s', (_file, c) => {
    const d = parseDeviceDescription(read(c.file), c.descriptionUrl);

    it('is an IGD of the expected version with no dropped service', () => {
      expect(d.igdVersion).toBe(c.igdVersion);
      expect(d.warnings).toEqual([]);
    });

    it('yields the IPv4 connection service and its control URL', () => {
      const conn = d.services.wanIpConnection ?? d.services.wanPppConnection;
      expect(conn).toBeDefined();
      expect({ serviceType: conn?.serviceType, controlUrl: conn?.controlUrl }).toEqual(c.ipv4);
    });

    it('yields the pinhole and common interface services where published', () => {
      expect(d.services.wanIpv6FirewallControl?.controlUrl).toBe(c.pinhole);
      expect(d.services.wanCommonInterfaceConfig?.controlUrl).toBe(c.commonInterfaceConfig);
    });

    it('is usable for IPv4, and for IPv6 only with IGD:2 and a pinhole service', () => {
      expect(gatewayUnusableReason(d, 'ipv4')).toBeUndefined();
      if (c.ipv6Unusable) expect(gatewayUnusableReason(d, 'ipv6')).toMatch(c.ipv6Unusable);
      else expect(gatewayUnusableReason(d, 'ipv6')).toBeUndefined();
    });
  });

  it('calls the Livebox unusable for IPv4 once its WANPPPConnection:2 is gone (never usable for a family it cannot serve)', () => {
    const xml = read('orange-livebox-igd2.xml').replace('WANPPPConnection:2', 'X_Vendor_Connection:1');
    const d = parseDeviceDescription(xml, 'http://192.168.1.1:49152/87895a19/rootDesc.xml');
    expect(gatewayUnusableReason(d, 'ipv4')).toMatch(/no WANIPConnection or WANPPPConnection/);
    expect(gatewayUnusableReason(d, 'ipv6')).toBeUndefined();
  });

  it('calls an IGD:2 without a pinhole service unusable for IPv6', () => {
    const xml = read('orange-livebox-igd2.xml').replace('WANIPv6FirewallControl:1', 'X_Vendor_Firewall:1');
    const d = parseDeviceDescription(xml, 'http://192.168.1.1:49152/87895a19/rootDesc.xml');
    expect(gatewayUnusableReason(d, 'ipv6')).toMatch(/no WANIPv6FirewallControl/);
    expect(gatewayUnusableReason(d, 'ipv4')).toBeUndefined();
  });

  it('prefers WANPPPConnection:2 over :1 at the same place', () => {
    const xml = read('orange-livebox-igd2.xml').replace(
      '<serviceType>urn:schemas-upnp-org:service:WANPPPConnection:2</serviceType>',
      '<serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><serviceId>a</serviceId><controlURL>/v1</controlURL></service><service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:2</serviceType>',
    );
    const d = parseDeviceDescription(xml, 'http://192.168.1.1:49152/87895a19/rootDesc.xml');
    expect(d.services.wanPppConnection?.serviceType).toBe('urn:schemas-upnp-org:service:WANPPPConnection:2');
  });
});
