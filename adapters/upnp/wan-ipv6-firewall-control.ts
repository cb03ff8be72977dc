/**
 * Client of WANIPv6FirewallControl:1 (IGD:2 IPv6 pinholes). Typed inputs: protocol 'udp' |
 * 'tcp' (sent as 17 / 6; a raw IANA number is accepted for diagnostics), InternalClient and
 * RemoteHost written in RFC 5952 form (miniupnpd answers 606 to uppercase or uncompressed
 * text). Only what the specification forbids is refused locally (LeaseTime outside 1..86400,
 * out-of-range numbers); everything else — a port below 1024, a wildcard port, an address
 * that is not ours — goes to the router, whose fault is reported as a {@link UpnpFault}.
 * The connection is sent from `localAddress`; for AddPinhole it defaults to InternalClient,
 * because routers accept a pinhole only from the address it opens.
 *
 * @example
 * ```ts
 * const fw = new WanIpv6FirewallControlClient(gateway.services.wanIpv6FirewallControl!, { caller: new SoapClient() });
 * const { firewallEnabled, inboundPinholeAllowed } = await fw.getFirewallStatus();
 * const id = await fw.addPinhole({ internalClient: '2001:db8:77::10', internalPort: 40000, protocol: 'udp', leaseTimeSeconds: 3600 });
 * await fw.updatePinhole(id, 3600);
 * await fw.deletePinhole(id);
 * ```
 */
import { isIpv6Literal, splitZone, toRfc5952 } from '../../policies/model/address';
import { SoapArguments } from './soap-envelope';
import { CallOptions, ServiceClientOptions, ServiceEndpoint, UpnpServiceClient } from './upnp-service-client';
import { UpnpInputError } from './upnp-errors';
import { isUpnpFault } from './upnp-fault';
import { SERVICE_WAN_IPV6_FIREWALL_CONTROL_1 } from './upnp-urns';
import { checkInteger, readBoolean, readUi2, readUi4 } from './upnp-values';

export type { CallOptions, ServiceClientOptions, ServiceEndpoint } from './upnp-service-client';

/** 'udp' (17), 'tcp' (6), or a raw protocol number (65535 is the spec's wildcard). */
export type PinholeProtocol = 'udp' | 'tcp' | number;

export interface PinholeSpec {
  /** Remote peer allowed in; '' or omitted = any. */
  remoteHost?: string;
  /** Remote peer's source port; 0 or omitted = any. (It filters the sender's port, it is not an "external port".) */
  remotePort?: number;
  /** The IPv6 address the pinhole opens to (this host's address the game socket uses). */
  internalClient: string;
  internalPort: number;
  protocol: PinholeProtocol;
}

export interface AddPinholeSpec extends PinholeSpec {
  /** 1..86400 seconds. */
  leaseTimeSeconds: number;
}

export interface FirewallStatus {
  firewallEnabled: boolean;
  inboundPinholeAllowed: boolean;
}

export const PINHOLE_MAX_LEASE_SECONDS = 86400;

export class WanIpv6FirewallControlClient extends UpnpServiceClient {
  constructor(service: ServiceEndpoint, options: ServiceClientOptions = {}) {
    super(service, options, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1);
  }

  /** GetFirewallStatus: is the IPv6 firewall on, and are inbound pinholes allowed. */
  async getFirewallStatus(opts: CallOptions = {}): Promise<FirewallStatus> {
    const action = 'GetFirewallStatus';
    const out = await this.call(action, [], opts);
    return {
      firewallEnabled: readBoolean(out, 'FirewallEnabled', action),
      inboundPinholeAllowed: readBoolean(out, 'InboundPinholeAllowed', action),
    };
  }

  /** GetOutboundPinholeTimeout (optional action; miniupnpd answers 501). Seconds. */
  async getOutboundPinholeTimeout(spec: PinholeSpec, opts: CallOptions = {}): Promise<number> {
    const action = 'GetOutboundPinholeTimeout';
    const out = await this.call(action, pinholeArgs(spec), opts);
    return readUi4(out, 'OutboundPinholeTimeout', action);
  }

  /** AddPinhole; resolves with the UniqueID. Sent from `localAddress`, else from InternalClient. */
  async addPinhole(spec: AddPinholeSpec, opts: CallOptions = {}): Promise<number> {
    const action = 'AddPinhole';
    checkInteger(spec.leaseTimeSeconds, 'LeaseTime', 1, PINHOLE_MAX_LEASE_SECONDS);
    const args: SoapArguments = [...pinholeArgs(spec), ['LeaseTime', spec.leaseTimeSeconds]];
    const from = opts.localAddress ?? this.options.localAddress ?? defaultSource(spec.internalClient);
    const out = await this.call(action, args, from !== undefined ? { ...opts, localAddress: from } : opts);
    return readUi2(out, 'UniqueID', action);
  }

  /** UpdatePinhole: sets a new lease (1..86400 s) on an existing pinhole. */
  async updatePinhole(uniqueId: number, leaseTimeSeconds: number, opts: CallOptions = {}): Promise<void> {
    checkInteger(uniqueId, 'UniqueID', 0, 0xffff);
    checkInteger(leaseTimeSeconds, 'NewLeaseTime', 1, PINHOLE_MAX_LEASE_SECONDS);
    await this.call('UpdatePinhole', [['UniqueID', uniqueId], ['NewLeaseTime', leaseTimeSeconds]], opts);
  }

  /** DeletePinhole. */
  async deletePinhole(uniqueId: number, opts: CallOptions = {}): Promise<void> {
    checkInteger(uniqueId, 'UniqueID', 0, 0xffff);
    await this.call('DeletePinhole', [['UniqueID', uniqueId]], opts);
  }

  /** GetPinholePackets: packets that went through (miniupnpd nftables always says 0). */
  async getPinholePackets(uniqueId: number, opts: CallOptions = {}): Promise<number> {
    checkInteger(uniqueId, 'UniqueID', 0, 0xffff);
    const out = await this.call('GetPinholePackets', [['UniqueID', uniqueId]], opts);
    return readUi4(out, 'PinholePackets', 'GetPinholePackets');
  }

  /**
   * CheckPinholeWorking (optional action): true when traffic went through. Fault 709
   * (NoTrafficReceived) is answered as `false` — "no packet yet", not a failure; every other
   * fault (401/602 absent, 402/704 unknown id...) is thrown.
   */
  async checkPinholeWorking(uniqueId: number, opts: CallOptions = {}): Promise<boolean> {
    checkInteger(uniqueId, 'UniqueID', 0, 0xffff);
    try {
      const out = await this.call('CheckPinholeWorking', [['UniqueID', uniqueId]], opts);
      return readBoolean(out, 'IsWorking', 'CheckPinholeWorking');
    } catch (e) {
      if (isUpnpFault(e, 709)) return false;
      throw e;
    }
  }

}

function defaultSource(internalClient: string): string | undefined {
  return internalClient && isIpv6Literal(internalClient) ? toRfc5952(internalClient) : undefined;
}

/** Maps a pinhole protocol to its number. */
export function pinholeProtocolNumber(p: PinholeProtocol): number {
  if (p === 'udp') return 17;
  if (p === 'tcp') return 6;
  return checkInteger(p, 'Protocol', 0, 65535);
}

/** '' stays '' (a wildcard: the router decides, e.g. 708 for InternalClient); a literal is written in RFC 5952 form. */
function ipv6Arg(text: string | undefined, argument: string): string {
  const t = (text ?? '').trim();
  if (t === '') return '';
  if (!isIpv6Literal(t)) throw new UpnpInputError(`${argument} must be an IPv6 address literal, got ${JSON.stringify(t)}`, argument);
  return toRfc5952(splitZone(t).address);
}

function pinholeArgs(spec: PinholeSpec): Array<[string, string | number]> {
  return [
    ['RemoteHost', ipv6Arg(spec.remoteHost, 'RemoteHost')],
    ['RemotePort', checkInteger(spec.remotePort ?? 0, 'RemotePort', 0, 65535)],
    ['InternalClient', ipv6Arg(spec.internalClient, 'InternalClient')],
    ['InternalPort', checkInteger(spec.internalPort, 'InternalPort', 0, 65535)],
    ['Protocol', pinholeProtocolNumber(spec.protocol)],
  ];
}
