/**
 * Client of WANIPConnection:1/2 (and WANPPPConnection:1, same actions): IPv4 port mappings
 * and the external address. Typed inputs (protocol 'udp' | 'tcp' sent as 'UDP' / 'TCP',
 * IPv4 literals in canonical form); numbers are range-checked locally, but the router's
 * own rules (lease 0 or > 604800, ports below 1024, another client) are left to the router
 * and reported as {@link UpnpFault}s. Send the call from the InternalClient's address
 * (`localAddress`) — routers in secure mode map only for the requester.
 *
 * @example
 * ```ts
 * const ipc = new WanIpConnectionClient(gateway.services.wanIpConnection!, { caller: soap, localAddress: '192.168.77.10' });
 * await ipc.getExternalIpAddress(); // '198.51.100.1'
 * await ipc.addPortMapping({ externalPort: 40001, internalPort: 40001, internalClient: '192.168.77.10', protocol: 'udp', leaseDurationSeconds: 3600, description: 'game' });
 * const port = await ipc.addAnyPortMapping({ externalPort: 40001, internalPort: 40001, internalClient: '192.168.77.10', protocol: 'udp', leaseDurationSeconds: 3600 });
 * await ipc.deletePortMapping({ externalPort: port, protocol: 'udp' });
 * ```
 */
import { isIpv4Literal, toRfc5952 } from '../../policies/model/address';
import { parseXmlDocument, childText, children, child } from './safe-xml';
import { SoapArguments, SoapOutput } from './soap-envelope';
import { UpnpInputError, UpnpProtocolError } from './upnp-errors';
import { SERVICE_WAN_IP_CONNECTION_2 } from './upnp-urns';
import { checkInteger, readBoolean, readString, readUi2, readUi4 } from './upnp-values';
import { CallOptions, ServiceClientOptions, ServiceEndpoint, UpnpServiceClient } from './upnp-service-client';

export type MappingProtocol = 'udp' | 'tcp';

export interface PortMappingKey {
  /** '' or omitted = any remote host. */
  remoteHost?: string;
  externalPort: number;
  protocol: MappingProtocol;
}

export interface PortMappingSpec extends PortMappingKey {
  internalPort: number;
  /** IPv4 address of the device receiving the traffic. */
  internalClient: string;
  /** Default true. */
  enabled?: boolean;
  /** Default ''. */
  description?: string;
  /** Seconds; 0 = the router's maximum/permanent (IGD:2 routers store 604800). */
  leaseDurationSeconds: number;
}

export interface PortMappingEntry {
  remoteHost: string;
  externalPort: number;
  protocol: MappingProtocol;
  internalPort: number;
  internalClient: string;
  enabled: boolean;
  description: string;
  leaseDurationSeconds: number;
}

export interface ConnectionStatusInfo {
  connectionStatus: string;
  lastConnectionError: string;
  uptimeSeconds: number;
}

export interface PortRangeQuery {
  startPort: number;
  endPort: number;
  protocol: MappingProtocol;
  /** Manage=1 asks for every client's mappings (needs rights); default false. */
  manage?: boolean;
}

const UI4_MAX = 0xffffffff;

export class WanIpConnectionClient extends UpnpServiceClient {
  constructor(service: ServiceEndpoint, options: ServiceClientOptions = {}) {
    super(service, options, SERVICE_WAN_IP_CONNECTION_2);
  }

  /** GetExternalIPAddress: the router's WAN IPv4 address as text ('' when it has none). */
  async getExternalIpAddress(opts: CallOptions = {}): Promise<string> {
    const out = await this.call('GetExternalIPAddress', [], opts);
    return readString(out, 'NewExternalIPAddress', 'GetExternalIPAddress');
  }

  /** GetStatusInfo. */
  async getStatusInfo(opts: CallOptions = {}): Promise<ConnectionStatusInfo> {
    const a = 'GetStatusInfo';
    const out = await this.call(a, [], opts);
    return {
      connectionStatus: readString(out, 'NewConnectionStatus', a),
      lastConnectionError: out.NewLastConnectionError?.trim() ?? '',
      uptimeSeconds: readUi4(out, 'NewUptime', a),
    };
  }

  /** AddPortMapping. */
  async addPortMapping(spec: PortMappingSpec, opts: CallOptions = {}): Promise<void> {
    await this.call('AddPortMapping', mappingArgs(spec), opts);
  }

  /** AddAnyPortMapping (IGD:2): the router may pick another external port; resolves with the one reserved. */
  async addAnyPortMapping(spec: PortMappingSpec, opts: CallOptions = {}): Promise<number> {
    const out = await this.call('AddAnyPortMapping', mappingArgs(spec), opts);
    // The spec (and miniupnpd's answer) say NewReservedPort; miniupnpd's own SCPD says NewExternalPort.
    return readUi2(out, out.NewReservedPort === undefined && out.NewExternalPort !== undefined ? 'NewExternalPort' : 'NewReservedPort', 'AddAnyPortMapping');
  }

  /** DeletePortMapping (miniupnpd answers 200 for a mapping that does not exist). */
  async deletePortMapping(key: PortMappingKey, opts: CallOptions = {}): Promise<void> {
    await this.call('DeletePortMapping', keyArgs(key), opts);
  }

  /** DeletePortMappingRange (IGD:2). */
  async deletePortMappingRange(q: PortRangeQuery, opts: CallOptions = {}): Promise<void> {
    await this.call('DeletePortMappingRange', rangeArgs(q), opts);
  }

  /** GetSpecificPortMappingEntry: the mapping of one external port (fault 714 when none). */
  async getSpecificPortMappingEntry(key: PortMappingKey, opts: CallOptions = {}): Promise<PortMappingEntry> {
    const a = 'GetSpecificPortMappingEntry';
    const out = await this.call(a, keyArgs(key), opts);
    return {
      remoteHost: ipv4Arg(key.remoteHost, 'NewRemoteHost'),
      externalPort: key.externalPort,
      protocol: key.protocol,
      internalPort: readUi2(out, 'NewInternalPort', a),
      internalClient: readString(out, 'NewInternalClient', a),
      enabled: readBoolean(out, 'NewEnabled', a),
      description: out.NewPortMappingDescription ?? '',
      leaseDurationSeconds: readUi4(out, 'NewLeaseDuration', a),
    };
  }

  /** GetGenericPortMappingEntry: the mapping at `index` (fault 713 past the end). */
  async getGenericPortMappingEntry(index: number, opts: CallOptions = {}): Promise<PortMappingEntry> {
    const a = 'GetGenericPortMappingEntry';
    checkInteger(index, 'NewPortMappingIndex', 0, 0xffff);
    const out = await this.call(a, [['NewPortMappingIndex', index]], opts);
    return {
      remoteHost: out.NewRemoteHost?.trim() ?? '',
      externalPort: readUi2(out, 'NewExternalPort', a),
      protocol: readProtocol(readString(out, 'NewProtocol', a), a),
      internalPort: readUi2(out, 'NewInternalPort', a),
      internalClient: readString(out, 'NewInternalClient', a),
      enabled: readBoolean(out, 'NewEnabled', a),
      description: out.NewPortMappingDescription ?? '',
      leaseDurationSeconds: readUi4(out, 'NewLeaseDuration', a),
    };
  }

  /** GetListOfPortMappings (IGD:2): up to `numberOfPorts` mappings in a port range; its inner XML is parsed safely. */
  async getListOfPortMappings(q: PortRangeQuery & { numberOfPorts: number }, opts: CallOptions = {}): Promise<PortMappingEntry[]> {
    const a = 'GetListOfPortMappings';
    const args: SoapArguments = [...rangeArgs(q), ['NewNumberOfPorts', checkInteger(q.numberOfPorts, 'NewNumberOfPorts', 0, 0xffff)]];
    const out = await this.call(a, args, opts);
    return parsePortListing(readString(out, 'NewPortListing', a));
  }

}

/** Reads the `p:PortMappingList` document of GetListOfPortMappings. */
export function parsePortListing(xml: string): PortMappingEntry[] {
  const a = 'GetListOfPortMappings';
  if (xml.trim() === '') return [];
  const doc = parseXmlDocument(xml, 'NewPortListing');
  const list = child(doc, 'PortMappingList');
  if (!list) throw new UpnpProtocolError(`${a}: NewPortListing has no PortMappingList`);
  return children(list, 'PortMappingEntry').map((e) => {
    const out: SoapOutput = {};
    for (const k of ['NewRemoteHost', 'NewExternalPort', 'NewProtocol', 'NewInternalPort', 'NewInternalClient', 'NewEnabled', 'NewDescription', 'NewLeaseTime']) {
      const v = childText(e, k);
      if (v !== undefined) out[k] = v;
    }
    return {
      remoteHost: out.NewRemoteHost ?? '',
      externalPort: readUi2(out, 'NewExternalPort', a),
      protocol: readProtocol(readString(out, 'NewProtocol', a), a),
      internalPort: readUi2(out, 'NewInternalPort', a),
      internalClient: readString(out, 'NewInternalClient', a),
      enabled: readBoolean(out, 'NewEnabled', a),
      description: out.NewDescription ?? '',
      leaseDurationSeconds: readUi4(out, 'NewLeaseTime', a),
    };
  });
}

function readProtocol(text: string, action: string): MappingProtocol {
  const t = text.toUpperCase();
  if (t === 'UDP') return 'udp';
  if (t === 'TCP') return 'tcp';
  throw new UpnpProtocolError(`${action}: unknown protocol ${JSON.stringify(text)}`);
}

function protocolArg(p: MappingProtocol): string {
  if (p === 'udp') return 'UDP';
  if (p === 'tcp') return 'TCP';
  throw new UpnpInputError(`NewProtocol must be 'udp' or 'tcp', got ${JSON.stringify(p)}`, 'NewProtocol');
}

function ipv4Arg(text: string | undefined, argument: string): string {
  const t = (text ?? '').trim();
  if (t === '') return '';
  if (!isIpv4Literal(t)) throw new UpnpInputError(`${argument} must be an IPv4 address literal, got ${JSON.stringify(t)}`, argument);
  return toRfc5952(t);
}

function keyArgs(k: PortMappingKey): Array<[string, string | number]> {
  return [
    ['NewRemoteHost', ipv4Arg(k.remoteHost, 'NewRemoteHost')],
    ['NewExternalPort', checkInteger(k.externalPort, 'NewExternalPort', 0, 65535)],
    ['NewProtocol', protocolArg(k.protocol)],
  ];
}

function mappingArgs(s: PortMappingSpec): SoapArguments {
  if (!s.internalClient || !isIpv4Literal(s.internalClient.trim())) {
    throw new UpnpInputError(`NewInternalClient must be an IPv4 address literal, got ${JSON.stringify(s.internalClient)}`, 'NewInternalClient');
  }
  const description = s.description ?? '';
  if (description.length > 256) throw new UpnpInputError('NewPortMappingDescription longer than 256 characters', 'NewPortMappingDescription');
  return [
    ...keyArgs(s),
    ['NewInternalPort', checkInteger(s.internalPort, 'NewInternalPort', 0, 65535)],
    ['NewInternalClient', toRfc5952(s.internalClient.trim())],
    ['NewEnabled', s.enabled ?? true],
    ['NewPortMappingDescription', description],
    ['NewLeaseDuration', checkInteger(s.leaseDurationSeconds, 'NewLeaseDuration', 0, UI4_MAX)],
  ];
}

function rangeArgs(q: PortRangeQuery): Array<[string, string | number | boolean]> {
  return [
    ['NewStartPort', checkInteger(q.startPort, 'NewStartPort', 0, 65535)],
    ['NewEndPort', checkInteger(q.endPort, 'NewEndPort', 0, 65535)],
    ['NewProtocol', protocolArg(q.protocol)],
    ['NewManage', q.manage ?? false],
  ];
}
