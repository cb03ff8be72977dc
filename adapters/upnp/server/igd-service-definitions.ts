/**
 * Typed definitions of the services the IGD front serves: WANIPConnection (v2, and v1 for a
 * `forceIgdVersion: 1` device), WANIPv6FirewallControl:1 and WANCommonInterfaceConfig:1.
 * The SCPDs are generated from these (see `scpd-xml.ts`) and the SOAP dispatcher knows an
 * action exists only when it is defined here, so the description and the control code
 * cannot disagree.
 *
 * @example
 * ```ts
 * import { WAN_IPV6_FIREWALL_CONTROL_1 } from './igd-service-definitions';
 * WAN_IPV6_FIREWALL_CONTROL_1.actions.map((a) => a.name); // ['GetFirewallStatus', ..., 'CheckPinholeWorking']
 * ```
 */
import {
  SERVICE_WAN_COMMON_INTERFACE_CONFIG_1, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, SERVICE_WAN_IP_CONNECTION_1, SERVICE_WAN_IP_CONNECTION_2,
} from '../upnp-urns';

export type UpnpDataType = 'string' | 'boolean' | 'ui1' | 'ui2' | 'ui4' | 'i4';

/** One state variable of an SCPD. */
export interface StateVariableDefinition {
  readonly name: string;
  readonly dataType: UpnpDataType;
  readonly sendEvents: boolean;
  readonly defaultValue?: string;
  readonly allowedValues?: readonly string[];
  readonly range?: { readonly minimum: number; readonly maximum: number; readonly step?: number };
}

/** One argument of an action. */
export interface ArgumentDefinition {
  readonly name: string;
  readonly direction: 'in' | 'out';
  readonly relatedStateVariable: string;
}

export interface ActionDefinition {
  readonly name: string;
  readonly arguments: readonly ArgumentDefinition[];
}

/** Which service of the IGD tree a definition is. */
export type ServedServiceKind = 'wanIpConnection' | 'wanIpv6FirewallControl' | 'wanCommonInterfaceConfig';

export interface ServiceDefinition {
  readonly kind: ServedServiceKind;
  readonly serviceType: string;
  readonly serviceId: string;
  readonly actions: readonly ActionDefinition[];
  readonly stateVariables: readonly StateVariableDefinition[];
}

const arg = (name: string, direction: 'in' | 'out', relatedStateVariable: string): ArgumentDefinition => ({ name, direction, relatedStateVariable });
const sv = (name: string, dataType: UpnpDataType, extra: Partial<StateVariableDefinition> = {}): StateVariableDefinition => ({
  name, dataType, sendEvents: false, ...extra,
});

const MAPPING_IN = [
  arg('NewRemoteHost', 'in', 'RemoteHost'),
  arg('NewExternalPort', 'in', 'ExternalPort'),
  arg('NewProtocol', 'in', 'PortMappingProtocol'),
  arg('NewInternalPort', 'in', 'InternalPort'),
  arg('NewInternalClient', 'in', 'InternalClient'),
  arg('NewEnabled', 'in', 'PortMappingEnabled'),
  arg('NewPortMappingDescription', 'in', 'PortMappingDescription'),
  arg('NewLeaseDuration', 'in', 'PortMappingLeaseDuration'),
];
const ENTRY_OUT = [
  arg('NewInternalPort', 'out', 'InternalPort'),
  arg('NewInternalClient', 'out', 'InternalClient'),
  arg('NewEnabled', 'out', 'PortMappingEnabled'),
  arg('NewPortMappingDescription', 'out', 'PortMappingDescription'),
  arg('NewLeaseDuration', 'out', 'PortMappingLeaseDuration'),
];
const MAPPING_KEY = [
  arg('NewRemoteHost', 'in', 'RemoteHost'),
  arg('NewExternalPort', 'in', 'ExternalPort'),
  arg('NewProtocol', 'in', 'PortMappingProtocol'),
];

const COMMON_CONNECTION_ACTIONS: ActionDefinition[] = [
  { name: 'GetConnectionTypeInfo', arguments: [arg('NewConnectionType', 'out', 'ConnectionType'), arg('NewPossibleConnectionTypes', 'out', 'PossibleConnectionTypes')] },
  { name: 'GetStatusInfo', arguments: [arg('NewConnectionStatus', 'out', 'ConnectionStatus'), arg('NewLastConnectionError', 'out', 'LastConnectionError'), arg('NewUptime', 'out', 'Uptime')] },
  { name: 'GetNATRSIPStatus', arguments: [arg('NewRSIPAvailable', 'out', 'RSIPAvailable'), arg('NewNATEnabled', 'out', 'NATEnabled')] },
  {
    name: 'GetGenericPortMappingEntry',
    arguments: [
      arg('NewPortMappingIndex', 'in', 'PortMappingNumberOfEntries'),
      arg('NewRemoteHost', 'out', 'RemoteHost'),
      arg('NewExternalPort', 'out', 'ExternalPort'),
      arg('NewProtocol', 'out', 'PortMappingProtocol'),
      ...ENTRY_OUT,
    ],
  },
  { name: 'GetSpecificPortMappingEntry', arguments: [...MAPPING_KEY, ...ENTRY_OUT] },
  { name: 'AddPortMapping', arguments: MAPPING_IN },
  { name: 'DeletePortMapping', arguments: MAPPING_KEY },
  { name: 'GetExternalIPAddress', arguments: [arg('NewExternalIPAddress', 'out', 'ExternalIPAddress')] },
];

const CONNECTION_V2_ACTIONS: ActionDefinition[] = [
  {
    name: 'DeletePortMappingRange',
    arguments: [
      arg('NewStartPort', 'in', 'ExternalPort'),
      arg('NewEndPort', 'in', 'ExternalPort'),
      arg('NewProtocol', 'in', 'PortMappingProtocol'),
      arg('NewManage', 'in', 'A_ARG_TYPE_Manage'),
    ],
  },
  {
    name: 'GetListOfPortMappings',
    arguments: [
      arg('NewStartPort', 'in', 'ExternalPort'),
      arg('NewEndPort', 'in', 'ExternalPort'),
      arg('NewProtocol', 'in', 'PortMappingProtocol'),
      arg('NewManage', 'in', 'A_ARG_TYPE_Manage'),
      arg('NewNumberOfPorts', 'in', 'PortMappingNumberOfEntries'),
      arg('NewPortListing', 'out', 'A_ARG_TYPE_PortListing'),
    ],
  },
  { name: 'AddAnyPortMapping', arguments: [...MAPPING_IN, arg('NewReservedPort', 'out', 'ExternalPort')] },
];

function connectionStateVariables(version: 1 | 2): StateVariableDefinition[] {
  const vars: StateVariableDefinition[] = [
    sv('ConnectionType', 'string', { defaultValue: 'IP_Routed' }),
    sv('PossibleConnectionTypes', 'string', { sendEvents: true, allowedValues: ['Unconfigured', 'IP_Routed', 'IP_Bridged'] }),
    sv('ConnectionStatus', 'string', {
      sendEvents: true, defaultValue: 'Unconfigured',
      allowedValues: ['Unconfigured', 'Connecting', 'Connected', 'PendingDisconnect', 'Disconnecting', 'Disconnected'],
    }),
    sv('Uptime', 'ui4'),
    sv('LastConnectionError', 'string', { defaultValue: 'ERROR_NONE', allowedValues: ['ERROR_NONE', 'ERROR_UNKNOWN'] }),
    sv('RSIPAvailable', 'boolean'),
    sv('NATEnabled', 'boolean'),
    sv('ExternalIPAddress', 'string', { sendEvents: true }),
    sv('PortMappingNumberOfEntries', 'ui2', { sendEvents: true }),
    sv('PortMappingEnabled', 'boolean'),
    sv('PortMappingLeaseDuration', 'ui4', version === 2 ? { range: { minimum: 0, maximum: 604800 } } : {}),
    sv('RemoteHost', 'string'),
    sv('ExternalPort', 'ui2'),
    sv('InternalPort', 'ui2', { range: { minimum: 1, maximum: 65535 } }),
    sv('PortMappingProtocol', 'string', { allowedValues: ['TCP', 'UDP'] }),
    sv('InternalClient', 'string'),
    sv('PortMappingDescription', 'string'),
  ];
  if (version === 2) {
    vars.push(sv('SystemUpdateID', 'ui4', { sendEvents: true }), sv('A_ARG_TYPE_Manage', 'boolean'), sv('A_ARG_TYPE_PortListing', 'string'));
  }
  return vars;
}

/** WANIPConnection:2 (IGD:2). */
export const WAN_IP_CONNECTION_2: ServiceDefinition = {
  kind: 'wanIpConnection',
  serviceType: SERVICE_WAN_IP_CONNECTION_2,
  serviceId: 'urn:upnp-org:serviceId:WANIPConn1',
  actions: [...COMMON_CONNECTION_ACTIONS, ...CONNECTION_V2_ACTIONS],
  stateVariables: connectionStateVariables(2),
};

/** WANIPConnection:1 (served by an IGD:1 device). */
export const WAN_IP_CONNECTION_1: ServiceDefinition = {
  kind: 'wanIpConnection',
  serviceType: SERVICE_WAN_IP_CONNECTION_1,
  serviceId: 'urn:upnp-org:serviceId:WANIPConn1',
  actions: COMMON_CONNECTION_ACTIONS,
  stateVariables: connectionStateVariables(1),
};

const PINHOLE_SPEC = [
  arg('RemoteHost', 'in', 'A_ARG_TYPE_IPv6Address'),
  arg('RemotePort', 'in', 'A_ARG_TYPE_Port'),
  arg('InternalClient', 'in', 'A_ARG_TYPE_IPv6Address'),
  arg('InternalPort', 'in', 'A_ARG_TYPE_Port'),
  arg('Protocol', 'in', 'A_ARG_TYPE_Protocol'),
];

/** WANIPv6FirewallControl:1: all seven actions. */
export const WAN_IPV6_FIREWALL_CONTROL_1: ServiceDefinition = {
  kind: 'wanIpv6FirewallControl',
  serviceType: SERVICE_WAN_IPV6_FIREWALL_CONTROL_1,
  serviceId: 'urn:upnp-org:serviceId:WANIPv6Firewall1',
  actions: [
    { name: 'GetFirewallStatus', arguments: [arg('FirewallEnabled', 'out', 'FirewallEnabled'), arg('InboundPinholeAllowed', 'out', 'InboundPinholeAllowed')] },
    { name: 'GetOutboundPinholeTimeout', arguments: [...PINHOLE_SPEC, arg('OutboundPinholeTimeout', 'out', 'A_ARG_TYPE_OutboundPinholeTimeout')] },
    { name: 'AddPinhole', arguments: [...PINHOLE_SPEC, arg('LeaseTime', 'in', 'A_ARG_TYPE_LeaseTime'), arg('UniqueID', 'out', 'A_ARG_TYPE_UniqueID')] },
    { name: 'UpdatePinhole', arguments: [arg('UniqueID', 'in', 'A_ARG_TYPE_UniqueID'), arg('NewLeaseTime', 'in', 'A_ARG_TYPE_LeaseTime')] },
    { name: 'DeletePinhole', arguments: [arg('UniqueID', 'in', 'A_ARG_TYPE_UniqueID')] },
    { name: 'GetPinholePackets', arguments: [arg('UniqueID', 'in', 'A_ARG_TYPE_UniqueID'), arg('PinholePackets', 'out', 'A_ARG_TYPE_PinholePackets')] },
    { name: 'CheckPinholeWorking', arguments: [arg('UniqueID', 'in', 'A_ARG_TYPE_UniqueID'), arg('IsWorking', 'out', 'A_ARG_TYPE_Boolean')] },
  ],
  stateVariables: [
    sv('FirewallEnabled', 'boolean', { sendEvents: true }),
    sv('InboundPinholeAllowed', 'boolean', { sendEvents: true }),
    sv('A_ARG_TYPE_IPv6Address', 'string'),
    sv('A_ARG_TYPE_Port', 'ui2'),
    sv('A_ARG_TYPE_Protocol', 'ui2'),
    sv('A_ARG_TYPE_UniqueID', 'ui2'),
    sv('A_ARG_TYPE_LeaseTime', 'ui4', { range: { minimum: 1, maximum: 86400 } }),
    sv('A_ARG_TYPE_OutboundPinholeTimeout', 'ui4'),
    sv('A_ARG_TYPE_Boolean', 'boolean'),
    sv('A_ARG_TYPE_PinholePackets', 'ui4'),
  ],
};

/** WANCommonInterfaceConfig:1 (link properties; traffic counters). */
export const WAN_COMMON_INTERFACE_CONFIG_1: ServiceDefinition = {
  kind: 'wanCommonInterfaceConfig',
  serviceType: SERVICE_WAN_COMMON_INTERFACE_CONFIG_1,
  serviceId: 'urn:upnp-org:serviceId:WANCommonIFC1',
  actions: [
    {
      name: 'GetCommonLinkProperties',
      arguments: [
        arg('NewWANAccessType', 'out', 'WANAccessType'),
        arg('NewLayer1UpstreamMaxBitRate', 'out', 'Layer1UpstreamMaxBitRate'),
        arg('NewLayer1DownstreamMaxBitRate', 'out', 'Layer1DownstreamMaxBitRate'),
        arg('NewPhysicalLinkStatus', 'out', 'PhysicalLinkStatus'),
      ],
    },
    { name: 'GetTotalBytesSent', arguments: [arg('NewTotalBytesSent', 'out', 'TotalBytesSent')] },
    { name: 'GetTotalBytesReceived', arguments: [arg('NewTotalBytesReceived', 'out', 'TotalBytesReceived')] },
    { name: 'GetTotalPacketsSent', arguments: [arg('NewTotalPacketsSent', 'out', 'TotalPacketsSent')] },
    { name: 'GetTotalPacketsReceived', arguments: [arg('NewTotalPacketsReceived', 'out', 'TotalPacketsReceived')] },
  ],
  stateVariables: [
    sv('WANAccessType', 'string', { allowedValues: ['DSL', 'POTS', 'Cable', 'Ethernet'] }),
    sv('Layer1UpstreamMaxBitRate', 'ui4'),
    sv('Layer1DownstreamMaxBitRate', 'ui4'),
    sv('PhysicalLinkStatus', 'string', { sendEvents: true, allowedValues: ['Up', 'Down', 'Initializing', 'Unavailable'] }),
    sv('TotalBytesSent', 'ui4'),
    sv('TotalBytesReceived', 'ui4'),
    sv('TotalPacketsSent', 'ui4'),
    sv('TotalPacketsReceived', 'ui4'),
  ],
};

/** The action of `service` named `name`, if the service defines it. */
export function findAction(service: ServiceDefinition, name: string): ActionDefinition | undefined {
  return service.actions.find((a) => a.name === name);
}
