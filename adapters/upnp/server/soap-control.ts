/**
 * The SOAP control dispatcher of the IGD front: one parsed request of one served service ->
 * protocol validation with miniupnpd's fault codes -> the {@link GatewayDecider} for every
 * decision -> the response body. No I/O here: `igd-http-server.ts` feeds it.
 *
 * It decides nothing: whether the InternalClient is the requester's own address (a pinhole
 * asked over IPv4 HTTP, another client's address, the address spelt differently) is the
 * engine's requester-owns-target rule, answered through the decider (606; 718 for
 * AddPortMapping, as miniupnpd's secure mode).
 *
 * Protocol-level faults (the same codes miniupnpd 2.3.1 answers for the same request):
 * - any service: action not offered by the service (or SOAPAction names another service) 401;
 *   missing or malformed argument 402.
 * - WANIPv6FirewallControl: Protocol not an integer 402; InternalPort 0 706; InternalClient
 *   empty or `*` 708; firewall disabled 702; inbound pinholes not allowed 703; Protocol 65535
 *   707; Protocol not 6/17 705; LeaseTime outside 1..86400 402; RemoteHost not IPv6 402;
 *   InternalClient not an IPv6 literal 402; GetOutboundPinholeTimeout without a decider method
 *   501; CheckPinholeWorking with no packet yet 709.
 * - WANIPConnection: NewProtocol not TCP/UDP 402; NewExternalPort 0 on AddPortMapping 716;
 *   NewInternalPort 0 or NewInternalClient not an IPv4 literal 402; NewStartPort > NewEndPort 733.
 *
 * Accepted like miniupnpd, because real clients send them (each a `quirk` of the outcome, which
 * the front logs once per client; the engine still decides every need):
 * - the WANIPv6FirewallControl actions posted to the WANIPConnection:2 control URL with a
 *   `WANIPConnection:2` SOAPAction (@achingbrain/nat-port-mapper; miniupnpd dispatches by
 *   action name): answered as if posted to the pinhole service;
 * - an empty `RemotePort` on a pinhole action: any remote port (0);
 * - an empty `NewProtocol` on DeletePortMapping (nat-port-mapper's IPv4 unmap): deletes the
 *   requester's TCP and UDP mappings of that external port, or answers 714 when there is none —
 *   never a 200 that leaves the port open (miniupnpd answers 200 and keeps the mapping).
 * Also as miniupnpd: an empty GetListOfPortMappings range is an empty list (not 730); a
 * NewLeaseDuration of 0 asks for the IGD:2 maximum (604800 s) and a longer one is that
 * maximum; the engine's lease rule then grants its class cap, with its `lease-capped` reason.
 * Every deliberate difference with miniupnpd: `plugin/gateway/UPNP-DIFFERENCES.md`.
 *
 * @example
 * ```ts
 * const out = await handleControl({ service, serviceType, action: 'AddPinhole', args, requester }, decider);
 * out.status; // 200 or 500
 * ```
 */
import { familyOf, isIpv4Literal, isIpv6Literal, toRfc5952, unmappedAddress } from '../../../policies/model/address';
import { isUrnOf, splitUrnVersion } from '../upnp-urns';
import { ControlArguments, ControlFault } from './control-arguments';
import {
  Answer, GatewayDecider, ServedPortMapping, PortMappingRequest, PortRangeRequest, Requester, TransportProtocol,
} from './gateway-decider';
import { ServedService } from './igd-device';
import { findAction } from './igd-service-definitions';
import { OutputValue, soapFaultBody, soapSuccessBody } from './soap-response';

/** One control request, already read off the wire. */
export interface ControlCall {
  /** The service whose control URL was posted to. */
  readonly service: ServedService;
  /** The service type the SOAPAction header named (may be an older version than served). */
  readonly serviceType: string;
  readonly action: string;
  readonly args: ReadonlyArray<readonly [string, string]>;
  readonly requester: Requester;
}

/** What to answer, and what the log should say. */
export interface ControlOutcome {
  readonly status: 200 | 500;
  readonly body: string;
  readonly action: string;
  /** The UPnP errorCode of a fault. */
  readonly code?: number;
  /** Why it was refused (for logs). */
  readonly detail?: string;
  /** Which side refused: the protocol checks or the decider. */
  readonly refusedBy?: 'protocol' | 'decider';
  readonly reasons?: readonly unknown[];
  /** Client quirks accepted for this request (e.g. `pinhole-action-at-wanipconnection-url`). */
  readonly quirks?: readonly ControlQuirk[];
}

/** The non-standard requests accepted because real clients send them (see the module doc). */
export type ControlQuirk = 'pinhole-action-at-wanipconnection-url' | 'empty-remote-port' | 'empty-protocol-delete';

/** WANIPv6FirewallControl:1's actions: unambiguous names, also dispatched from the WANIPConnection:2 URL. */
const PINHOLE_ACTIONS: ReadonlySet<string> = new Set([
  'GetFirewallStatus', 'GetOutboundPinholeTimeout', 'AddPinhole', 'UpdatePinhole', 'DeletePinhole', 'GetPinholePackets', 'CheckPinholeWorking',
]);

/** True for a pinhole action posted to a WANIPConnection:2 control URL with a WANIPConnection:2 SOAPAction. */
function isPinholeActionAtConnectionUrl(call: ControlCall): boolean {
  return call.service.definition.kind === 'wanIpConnection' && splitUrnVersion(call.serviceType)?.version === 2
    && PINHOLE_ACTIONS.has(call.action) && !findAction(call.service.definition, call.action);
}

/** IGD:2 caps a mapping lease at a week (and 0 means that week); miniupnpd stores longer ones as a week. */
export const MAX_MAPPING_LEASE_SECONDS = 604800;
export const MAX_PINHOLE_LEASE_SECONDS = 86400;

type Outputs = Array<readonly [string, OutputValue]>;

class DeciderRefusal extends Error {
  constructor(readonly code: number, readonly detail: string, readonly reasons: readonly unknown[] | undefined, readonly description: string | undefined) {
    super(detail);
  }
}

async function decided<T>(answer: Answer<T> | Promise<Answer<T>>): Promise<T> {
  const a = await answer;
  if (a.ok) return a.value;
  throw new DeciderRefusal(a.code, a.detail, a.reasons, a.description);
}

/** True when `serviceType` names the served service at a version it covers. */
export function serviceTypeMatches(service: ServedService, serviceType: string): boolean {
  const served = splitUrnVersion(service.definition.serviceType);
  const asked = splitUrnVersion(serviceType);
  return !!served && !!asked && isUrnOf(serviceType, served.name) && asked.version >= 1 && asked.version <= served.version;
}

/**
 * Validates and dispatches one control call. Never throws: every failure is a fault outcome
 * (a decider that throws is answered 501 and reported as such).
 */
export async function handleControl(call: ControlCall, decider: GatewayDecider): Promise<ControlOutcome> {
  const { service, action } = call;
  const quirks: ControlQuirk[] = [];
  const withQuirks = (): { quirks?: readonly ControlQuirk[] } => (quirks.length > 0 ? { quirks: [...quirks] } : {});
  const fault = (code: number, detail: string, refusedBy: 'protocol' | 'decider', reasons?: readonly unknown[], description?: string): ControlOutcome => ({
    status: 500, body: soapFaultBody(code, description), action, code, detail, refusedBy, ...(reasons !== undefined ? { reasons } : {}), ...withQuirks(),
  });
  const pinholeAtConnectionUrl = serviceTypeMatches(service, call.serviceType) && isPinholeActionAtConnectionUrl(call);
  if (!serviceTypeMatches(service, call.serviceType) || (!findAction(service.definition, action) && !pinholeAtConnectionUrl)) {
    return fault(401, `${call.serviceType}#${action} is not an action of ${service.definition.serviceType}`, 'protocol');
  }
  if (pinholeAtConnectionUrl) quirks.push('pinhole-action-at-wanipconnection-url');
  try {
    const args = new ControlArguments(call.args);
    const outputs = pinholeAtConnectionUrl ? await firewallControl(call, args, decider, quirks) : await dispatch(call, args, decider, quirks);
    return { status: 200, body: soapSuccessBody(call.serviceType, action, outputs), action, ...withQuirks() };
  } catch (e) {
    if (e instanceof ControlFault) return fault(e.code, e.detail, 'protocol');
    if (e instanceof DeciderRefusal) return fault(e.code, e.detail, 'decider', e.reasons, e.description);
    return fault(501, `the decider failed: ${e instanceof Error ? e.message : String(e)}`, 'decider');
  }
}

function dispatch(call: ControlCall, args: ControlArguments, decider: GatewayDecider, quirks: ControlQuirk[]): Promise<Outputs> {
  switch (call.service.definition.kind) {
    case 'wanIpv6FirewallControl':
      return firewallControl(call, args, decider, quirks);
    case 'wanIpConnection':
      return ipConnection(call, args, decider, quirks);
    case 'wanCommonInterfaceConfig':
      return commonInterfaceConfig(call.action, decider);
  }
}

// ------------------------------------------------------------ WANIPv6FirewallControl:1

async function checkFirewall(decider: GatewayDecider): Promise<void> {
  const status = await decided(decider.firewallStatus());
  if (!status.firewallEnabled) throw new ControlFault(702, 'the IPv6 firewall is disabled');
  if (!status.inboundPinholeAllowed) throw new ControlFault(703, 'inbound pinholes are not allowed');
}

/** Protocol, port, client and ownership checks of AddPinhole / GetOutboundPinholeTimeout, in miniupnpd's order. */
async function pinholeSpec(args: ControlArguments, requester: Requester, decider: GatewayDecider, withLease: boolean, quirks: ControlQuirk[]) {
  const protocolNumber = args.uint('Protocol', 0, 65535);
  const internalPort = args.uint('InternalPort', 0, 65535);
  if (internalPort === 0) throw new ControlFault(706, 'InternalPort 0 (wildcard) is not allowed');
  const clientText = args.optionalText('InternalClient', '').trim();
  if (clientText === '' || clientText === '*') throw new ControlFault(708, 'InternalClient must name the host');
  await checkFirewall(decider);
  if (protocolNumber === 65535) throw new ControlFault(707, 'Protocol 65535 (wildcard) is not allowed');
  if (protocolNumber !== 6 && protocolNumber !== 17) throw new ControlFault(705, `Protocol ${protocolNumber} is not TCP (6) or UDP (17)`);
  const leaseSeconds = withLease ? args.uint('LeaseTime', 1, MAX_PINHOLE_LEASE_SECONDS) : 0;
  const remoteHost = args.ipv6RemoteHost('RemoteHost');
  let remotePort = 0; // an empty RemotePort is any port, as in miniupnpd
  if (args.text('RemotePort').trim() === '') quirks.push('empty-remote-port');
  else remotePort = args.uint('RemotePort', 0, 65535);
  if (!isIpv6Literal(clientText) || clientText.includes('%')) throw new ControlFault(402, `InternalClient ${JSON.stringify(clientText)} is not an IPv6 address`);
  // Whether the InternalClient is the requester's own address (as written, like miniupnpd) is the
  // engine's requester-owns-target rule: the need carries both, the answer comes from its decision.
  const protocol: TransportProtocol = protocolNumber === 6 ? 'tcp' : 'udp';
  return { remoteHost, remotePort, internalClient: clientText, internalPort, protocol, leaseSeconds };
}

async function firewallControl(call: ControlCall, args: ControlArguments, decider: GatewayDecider, quirks: ControlQuirk[]): Promise<Outputs> {
  const who = call.requester;
  switch (call.action) {
    case 'GetFirewallStatus': {
      const s = await decided(decider.firewallStatus());
      return [['FirewallEnabled', s.firewallEnabled], ['InboundPinholeAllowed', s.inboundPinholeAllowed]];
    }
    case 'GetOutboundPinholeTimeout': {
      if (!decider.outboundPinholeTimeout) throw new ControlFault(501, 'outbound pinhole timeouts are not reported');
      const { leaseSeconds: _unused, ...spec } = await pinholeSpec(args, who, decider, false, quirks);
      const r = await decided(decider.outboundPinholeTimeout(spec, who));
      return [['OutboundPinholeTimeout', r.seconds]];
    }
    case 'AddPinhole': {
      const spec = await pinholeSpec(args, who, decider, true, quirks);
      const r = await decided(decider.addPinhole(spec, who));
      return [['UniqueID', r.uniqueId]];
    }
    case 'UpdatePinhole': {
      const uniqueId = args.uint('UniqueID', 0, 65535);
      const leaseSeconds = args.uint('NewLeaseTime', 1, MAX_PINHOLE_LEASE_SECONDS);
      await checkFirewall(decider);
      await decided(decider.updatePinhole({ uniqueId, leaseSeconds }, who));
      return [];
    }
    case 'DeletePinhole': {
      const uniqueId = args.uint('UniqueID', 0, 65535);
      await checkFirewall(decider);
      await decided(decider.deletePinhole({ uniqueId }, who));
      return [];
    }
    case 'GetPinholePackets': {
      const uniqueId = args.uint('UniqueID', 0, 65535);
      await checkFirewall(decider);
      const r = await decided(decider.pinholePackets({ uniqueId }, who));
      return [['PinholePackets', r.packets]];
    }
    case 'CheckPinholeWorking': {
      const uniqueId = args.uint('UniqueID', 0, 65535);
      await checkFirewall(decider);
      const r = await decided(decider.pinholePackets({ uniqueId }, who));
      if (r.packets === 0) throw new ControlFault(709, `no packet went through pinhole ${uniqueId} yet`);
      return [['IsWorking', true]];
    }
    default:
      throw new ControlFault(401, `${call.action} is not handled`);
  }
}

// ------------------------------------------------------------ WANIPConnection:1/2

function mappingRequest(args: ControlArguments, requester: Requester, any: boolean): PortMappingRequest {
  const remoteHost = args.ipv4RemoteHost('NewRemoteHost');
  const externalPort = args.uint('NewExternalPort', 0, 65535);
  const protocol = args.mappingProtocol('NewProtocol');
  const internalPort = args.uint('NewInternalPort', 1, 65535);
  const clientText = args.text('NewInternalClient').trim();
  if (!isIpv4Literal(clientText)) throw new ControlFault(402, `NewInternalClient ${JSON.stringify(clientText)} is not an IPv4 address`);
  const enabled = args.bool('NewEnabled');
  const description = args.optionalText('NewPortMappingDescription', '');
  const lease = args.uint('NewLeaseDuration', 0, 0xffffffff);
  if (externalPort === 0 && !any) throw new ControlFault(716, 'NewExternalPort 0 (wildcard) is not allowed');
  const internalClient = toRfc5952(clientText);
  // Another client's address: the engine's requester-owns-target rule (718 for AddPortMapping, 606 for
  // AddAnyPortMapping from the answer table, as miniupnpd's secure mode).
  // IGD:2: 0 asks for the maximum, a longer lease is the maximum. What is granted is the engine's
  // lease rule's decision (its class cap, with a lease-capped reason), not ours.
  return {
    remoteHost, externalPort, protocol, internalPort, internalClient, enabled, description,
    leaseSeconds: lease === 0 ? MAX_MAPPING_LEASE_SECONDS : Math.min(lease, MAX_MAPPING_LEASE_SECONDS),
  };
}

function mappingKey(args: ControlArguments) {
  return {
    remoteHost: args.ipv4RemoteHost('NewRemoteHost'),
    externalPort: args.uint('NewExternalPort', 0, 65535),
    protocol: args.mappingProtocol('NewProtocol'),
  };
}

function portRange(args: ControlArguments): PortRangeRequest {
  const startPort = args.uint('NewStartPort', 0, 65535);
  const endPort = args.uint('NewEndPort', 0, 65535);
  const protocol = args.mappingProtocol('NewProtocol');
  const manage = args.bool('NewManage');
  if (startPort > endPort) throw new ControlFault(733, `NewStartPort ${startPort} > NewEndPort ${endPort}`);
  return { startPort, endPort, protocol, manage };
}

const upper = (p: TransportProtocol): string => p.toUpperCase();

function entryOutputs(e: ServedPortMapping): Outputs {
  return [
    ['NewInternalPort', e.internalPort],
    ['NewInternalClient', e.internalClient],
    ['NewEnabled', e.enabled],
    ['NewPortMappingDescription', e.description],
    ['NewLeaseDuration', e.leaseSeconds],
  ];
}

/** The NewPortListing document of GetListOfPortMappings (WANIPConnection:2 schema). */
export function portListingXml(entries: readonly ServedPortMapping[]): string {
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const items = entries.map((e) => `<p:PortMappingEntry><p:NewRemoteHost>${esc(e.remoteHost)}</p:NewRemoteHost><p:NewExternalPort>${e.externalPort}</p:NewExternalPort><p:NewProtocol>${
    upper(e.protocol)}</p:NewProtocol><p:NewInternalPort>${e.internalPort}</p:NewInternalPort><p:NewInternalClient>${esc(e.internalClient)}</p:NewInternalClient><p:NewEnabled>${
    e.enabled ? 1 : 0}</p:NewEnabled><p:NewDescription>${esc(e.description)}</p:NewDescription><p:NewLeaseTime>${e.leaseSeconds}</p:NewLeaseTime></p:PortMappingEntry>`).join('');
  return `<p:PortMappingList xmlns:p="urn:schemas-upnp-org:gw:WANIPConnection" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:schemas-upnp-org:gw:WANIPConnection http://www.upnp.org/schemas/gw/WANIPConnection-v2.xsd">${items}</p:PortMappingList>`;
}

/**
 * DeletePortMapping with an empty NewProtocol (nat-port-mapper's IPv4 unmap): deletes the
 * requester's mappings of that external port for both protocols; 714 when there is none, so
 * the client is never told a port is closed while it stays open.
 */
async function deleteEitherProtocol(args: ControlArguments, who: Requester, decider: GatewayDecider): Promise<Outputs> {
  const remoteHost = args.ipv4RemoteHost('NewRemoteHost');
  const externalPort = args.uint('NewExternalPort', 0, 65535);
  const held: TransportProtocol[] = [];
  for (const protocol of ['tcp', 'udp'] as const) {
    if ((await decider.getPortMapping({ remoteHost, externalPort, protocol }, who)).ok) held.push(protocol);
  }
  if (held.length === 0) throw new ControlFault(714, `NewProtocol is empty and no TCP or UDP mapping holds external port ${externalPort}`);
  for (const protocol of held) await decided(decider.deletePortMapping({ remoteHost, externalPort, protocol }, who));
  return [];
}

async function ipConnection(call: ControlCall, args: ControlArguments, decider: GatewayDecider, quirks: ControlQuirk[]): Promise<Outputs> {
  const who = call.requester;
  switch (call.action) {
    case 'GetExternalIPAddress': {
      const r = await decided(decider.externalIpv4());
      return [['NewExternalIPAddress', r.address]];
    }
    case 'GetStatusInfo': {
      const s = await decided(decider.connectionStatus());
      return [['NewConnectionStatus', s.status], ['NewLastConnectionError', s.lastError], ['NewUptime', Math.max(0, Math.floor(s.uptimeSeconds))]];
    }
    case 'GetConnectionTypeInfo':
      return [['NewConnectionType', 'IP_Routed'], ['NewPossibleConnectionTypes', 'IP_Routed']];
    case 'GetNATRSIPStatus':
      return [['NewRSIPAvailable', false], ['NewNATEnabled', true]];
    case 'AddPortMapping': {
      await decided(decider.addPortMapping(mappingRequest(args, who, false), who));
      return [];
    }
    case 'AddAnyPortMapping': {
      const r = await decided(decider.addAnyPortMapping(mappingRequest(args, who, true), who));
      return [['NewReservedPort', r.reservedPort]];
    }
    case 'DeletePortMapping':
      if (args.text('NewProtocol').trim() === '') {
        quirks.push('empty-protocol-delete');
        return deleteEitherProtocol(args, who, decider);
      }
      await decided(decider.deletePortMapping(mappingKey(args), who));
      return [];
    case 'DeletePortMappingRange':
      await decided(decider.deletePortMappingRange(portRange(args), who));
      return [];
    case 'GetSpecificPortMappingEntry': {
      const e = await decided(decider.getPortMapping(mappingKey(args), who));
      return entryOutputs(e);
    }
    case 'GetGenericPortMappingEntry': {
      const index = args.uint('NewPortMappingIndex', 0, 65535);
      const e = await decided(decider.getPortMappingAt(index, who));
      return [['NewRemoteHost', e.remoteHost], ['NewExternalPort', e.externalPort], ['NewProtocol', upper(e.protocol)], ...entryOutputs(e)];
    }
    case 'GetListOfPortMappings': {
      const range = portRange(args);
      const n = args.uint('NewNumberOfPorts', 0, 65535);
      const list = await decided(decider.listPortMappings({ ...range, maxEntries: n === 0 ? 65535 : n }, who));
      // An empty range is an empty list, as miniupnpd answers (upnpc -L prints nothing instead of an error).
      return [['NewPortListing', { cdata: portListingXml(list.slice(0, n === 0 ? undefined : n)) }]];
    }
    default:
      throw new ControlFault(401, `${call.action} is not handled`);
  }
}

// ------------------------------------------------------------ WANCommonInterfaceConfig:1

async function commonInterfaceConfig(action: string, decider: GatewayDecider): Promise<Outputs> {
  if (action === 'GetCommonLinkProperties') {
    const p = decider.linkProperties
      ? await decided(decider.linkProperties())
      : { accessType: 'Ethernet', upstreamMaxBitRate: 0, downstreamMaxBitRate: 0, physicalLinkStatus: 'Up' };
    return [
      ['NewWANAccessType', p.accessType],
      ['NewLayer1UpstreamMaxBitRate', p.upstreamMaxBitRate],
      ['NewLayer1DownstreamMaxBitRate', p.downstreamMaxBitRate],
      ['NewPhysicalLinkStatus', p.physicalLinkStatus],
    ];
  }
  const c = decider.trafficCounters ? await decided(decider.trafficCounters()) : { bytesSent: 0, bytesReceived: 0, packetsSent: 0, packetsReceived: 0 };
  const ui4 = (n: number): number => Math.max(0, Math.floor(n)) % 2 ** 32; // ui4 counters wrap
  switch (action) {
    case 'GetTotalBytesSent': return [['NewTotalBytesSent', ui4(c.bytesSent)]];
    case 'GetTotalBytesReceived': return [['NewTotalBytesReceived', ui4(c.bytesReceived)]];
    case 'GetTotalPacketsSent': return [['NewTotalPacketsSent', ui4(c.packetsSent)]];
    case 'GetTotalPacketsReceived': return [['NewTotalPacketsReceived', ui4(c.packetsReceived)]];
    default: throw new ControlFault(401, `${action} is not handled`);
  }
}

/** The requester as the decider sees it, from a socket's remote address. */
export function requesterOf(remoteAddress: string, port: number): Requester | undefined {
  const address = unmappedAddress(remoteAddress.trim());
  return address === undefined ? undefined : { address, family: familyOf(address), port };
}
