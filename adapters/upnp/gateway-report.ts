/**
 * The gateway report: facts about a discovered gateway for the user and the policy engine —
 * its services and IGD version, the IPv6 firewall status, the JAIPA grade, and the external
 * IPv4 address and what kind it is. Facts only: no decision is taken here.
 *
 * JAIPA grades: **A** pinholes work in factory settings (WANIPv6FirewallControl present,
 * GetFirewallStatus says firewall enabled and inbound pinholes allowed — or the firewall is
 * off, so inbound IPv6 already flows: `pinholesNeeded: false`); **B** the service is present
 * but inbound pinholes are disabled (InboundPinholeAllowed=0 or fault 703): works after
 * enabling a router setting; **C** the gateway answers discovery but has no usable
 * WANIPv6FirewallControl (absent, IGD:1, or its GetFirewallStatus fails); **D** no gateway.
 *
 * External IPv4 kinds: see {@link ExternalIpv4Kind} (documentation ranges count as public).
 *
 * @example
 * ```ts
 * const gw = await discoverGateway({}).catch(() => undefined);
 * const report = await buildGatewayReport(gw, { caller: new SoapClient(), localAddressV6: '2001:db8:77::10' });
 * report.grade;            // 'A'
 * report.externalIpv4Kind; // 'public'
 * ```
 */
import { DiscoveredGateway } from './gateway';
import { ExternalIpv4Kind, classifyExternalIpv4 } from '../../policies/model/address';
import { SoapCaller, SoapClient } from './soap-client';
import { UpnpFault } from './upnp-fault';
import { describeError } from './upnp-errors';
import { WanIpConnectionClient } from './wan-ip-connection';
import { FirewallStatus, WanIpv6FirewallControlClient } from './wan-ipv6-firewall-control';

export type JaipaGrade = 'A' | 'B' | 'C' | 'D';

export interface GatewayReport {
  grade: JaipaGrade;
  /** One sentence explaining the grade. */
  gradeReason: string;
  /** False when no gateway answered. */
  discovered: boolean;
  igdVersion?: 1 | 2;
  family?: 'ipv4' | 'ipv6';
  location?: string;
  friendlyName?: string;
  modelName?: string;
  server?: string;
  /** Service types found, in document order. */
  serviceTypes: string[];
  hasWanIpv6FirewallControl: boolean;
  hasWanIpConnection: boolean;
  hasWanPppConnection: boolean;
  firewallStatus?: FirewallStatus;
  /** False when the IPv6 firewall is off (no pinhole needed); undefined when unknown. */
  pinholesNeeded?: boolean;
  /** Text from GetExternalIPAddress ('' when the router has none). */
  externalIpv4?: string;
  externalIpv4Kind: ExternalIpv4Kind;
  /** Faults and failures met while building the report. */
  problems: Array<{ action: string; message: string; faultCode?: number }>;
}

export interface GatewayReportOptions {
  /** Carries the SOAP calls; default a new SoapClient (closed afterwards). */
  caller?: SoapCaller;
  /** Source address for the IPv6 firewall call (some routers answer only their IPv6 clients). */
  localAddressV6?: string;
  /** Source address for the IPv4 connection call; default the gateway's `localAddress`. */
  localAddressV4?: string;
  timeoutMs?: number;
}

/**
 * Builds the report; never rejects (failures are recorded in `problems`). Pass `undefined`
 * when discovery found nothing: that is grade D.
 */
export async function buildGatewayReport(gateway: DiscoveredGateway | undefined, options: GatewayReportOptions = {}): Promise<GatewayReport> {
  if (!gateway) {
    return {
      grade: 'D', gradeReason: 'No UPnP Internet Gateway Device answered discovery.', discovered: false,
      serviceTypes: [], hasWanIpv6FirewallControl: false, hasWanIpConnection: false, hasWanPppConnection: false,
      externalIpv4Kind: 'none', problems: [],
    };
  }
  const ownCaller = options.caller ? undefined : new SoapClient(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {});
  const caller = options.caller ?? ownCaller;
  const s = gateway.services;
  const report: GatewayReport = {
    grade: 'C', gradeReason: '', discovered: true, igdVersion: gateway.igdVersion, family: gateway.family,
    location: gateway.location,
    serviceTypes: gateway.description.allServices.map((x) => x.serviceType),
    hasWanIpv6FirewallControl: !!s.wanIpv6FirewallControl,
    hasWanIpConnection: !!s.wanIpConnection,
    hasWanPppConnection: !!s.wanPppConnection,
    externalIpv4Kind: 'none',
    problems: [],
  };
  const root = gateway.description.root;
  if (root.friendlyName) report.friendlyName = root.friendlyName;
  if (root.modelName) report.modelName = root.modelName;
  if (gateway.server) report.server = gateway.server;
  const common = {
    caller,
    ...(gateway.zone ? { zone: gateway.zone } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  };
  const problem = (action: string, e: unknown): void => {
    report.problems.push({ action, message: describeError(e), ...(e instanceof UpnpFault ? { faultCode: e.code } : {}) });
  };

  try {
    const conn = s.wanIpConnection ?? s.wanPppConnection;
    if (conn) {
      const localAddress = options.localAddressV4 ?? gateway.localAddress;
      const ipc = new WanIpConnectionClient(conn, { ...common, ...(localAddress ? { localAddress } : {}) });
      try {
        const ext = await ipc.getExternalIpAddress();
        report.externalIpv4 = ext;
        report.externalIpv4Kind = classifyExternalIpv4(ext);
      } catch (e) {
        problem('GetExternalIPAddress', e);
      }
    }

    const fc = s.wanIpv6FirewallControl;
    if (!fc) {
      report.grade = 'C';
      report.gradeReason = gateway.igdVersion === 1
        ? 'The router answers UPnP but only as IGD:1, which has no IPv6 pinhole service.'
        : 'The router answers UPnP but offers no WANIPv6FirewallControl (IPv6 pinhole) service.';
      return report;
    }
    const fw = new WanIpv6FirewallControlClient(fc, { ...common, ...(options.localAddressV6 ? { localAddress: options.localAddressV6 } : {}) });
    try {
      const st = await fw.getFirewallStatus();
      report.firewallStatus = st;
      if (!st.firewallEnabled) {
        report.grade = 'A';
        report.pinholesNeeded = false;
        report.gradeReason = 'The router\'s IPv6 firewall is off: inbound IPv6 traffic flows without pinholes.';
      } else if (st.inboundPinholeAllowed) {
        report.grade = 'A';
        report.pinholesNeeded = true;
        report.gradeReason = 'IPv6 pinholes are available with the router\'s current (factory) settings.';
      } else {
        report.grade = 'B';
        report.pinholesNeeded = true;
        report.gradeReason = 'The router has the IPv6 pinhole service but inbound pinholes are disabled; enable them in the router settings.';
      }
    } catch (e) {
      problem('GetFirewallStatus', e);
      if (e instanceof UpnpFault && e.code === 703) {
        report.grade = 'B';
        report.pinholesNeeded = true;
        report.gradeReason = 'The router refuses inbound pinholes (703 InboundPinholeNotAllowed); enable them in the router settings.';
      } else {
        report.grade = 'C';
        report.gradeReason = `The router lists the IPv6 pinhole service but GetFirewallStatus failed: ${describeError(e)}`;
      }
    }
    return report;
  } finally {
    ownCaller?.close();
  }
}
