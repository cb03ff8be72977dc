/**
 * The port between the IGD front and whatever decides: the SOAP server checks the protocol
 * (argument syntax, ranges, the requester's own address) and hands every **decision** to a
 * {@link GatewayDecider}. Each answer is a result or a typed {@link ControlRefusal} carrying the
 * UPnP errorCode (and errorDescription) to send. The one implementation the daemon ships is the
 * gateway's (`plugin/gateway/needs-decider.ts`: journal, engine, firewall, then the answer from
 * `upnp-answer-table.ts`); tests may script one. Methods may answer synchronously or with a
 * Promise (a daemon journals first).
 *
 * @example
 * ```ts
 * const decider: GatewayDecider = {
 *   ...refuseEverything(501),
 *   firewallStatus: () => accept({ firewallEnabled: true, inboundPinholeAllowed: true }),
 *   addPinhole: (req, who) => who.address === req.internalClient ? accept({ uniqueId: 1 }) : refuse(606, 'not yours'),
 * };
 * ```
 */

/** Who sent a control request: the TCP peer, RFC 5952 text (IPv4-mapped IPv6 shown as IPv4). */
export interface Requester {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly port: number;
}

/** A refusal: the UPnP errorCode to answer with, and why (for logs and the admin API). */
export interface ControlRefusal {
  readonly ok: false;
  readonly code: number;
  /** Sentence for the log. */
  readonly detail: string;
  /** The errorDescription to send (default: the standard text of `code`). */
  readonly description?: string;
  /** The policy reasons behind it, when a policy decided. */
  readonly reasons?: readonly unknown[];
}

export interface Accepted<T> {
  readonly ok: true;
  readonly value: T;
}

export type Answer<T> = Accepted<T> | ControlRefusal;
export type Awaitable<T> = T | Promise<T>;

/** An accepted answer. */
export function accept<T>(value: T): Accepted<T> {
  return { ok: true, value };
}

/** A refusal with `code` (and, when given, the errorDescription to send). */
export function refuse(code: number, detail: string, reasons?: readonly unknown[], description?: string): ControlRefusal {
  return { ok: false, code, detail, ...(reasons !== undefined ? { reasons } : {}), ...(description !== undefined ? { description } : {}) };
}

export type TransportProtocol = 'udp' | 'tcp';

/** AddPinhole, after protocol validation. */
export interface PinholeRequest {
  /** '' = any remote host; otherwise an IPv6 literal in RFC 5952 form. */
  readonly remoteHost: string;
  /** 0 = any. */
  readonly remotePort: number;
  /** RFC 5952 IPv6 literal, equal to the requester's address. */
  readonly internalClient: string;
  readonly internalPort: number;
  readonly protocol: TransportProtocol;
  /** 1..86400. */
  readonly leaseSeconds: number;
}

/** AddPortMapping / AddAnyPortMapping, after protocol validation. */
export interface PortMappingRequest {
  /** '' = any remote host. */
  readonly remoteHost: string;
  /** AddPortMapping: 1..65535. AddAnyPortMapping: 0 = any. */
  readonly externalPort: number;
  readonly protocol: TransportProtocol;
  readonly internalPort: number;
  /** Dotted-quad IPv4, equal to the requester's address. */
  readonly internalClient: string;
  readonly enabled: boolean;
  readonly description: string;
  /** 0 = as long as possible (the decider picks), otherwise seconds (IGD:2 range 1..604800). */
  readonly leaseSeconds: number;
}

export interface PortMappingKey {
  readonly remoteHost: string;
  readonly externalPort: number;
  readonly protocol: TransportProtocol;
}

/** One port mapping as GetSpecific/GetGeneric/GetListOfPortMappings report it. */
export interface ServedPortMapping {
  readonly remoteHost: string;
  readonly externalPort: number;
  readonly protocol: TransportProtocol;
  readonly internalPort: number;
  readonly internalClient: string;
  readonly enabled: boolean;
  readonly description: string;
  /** Seconds left. */
  readonly leaseSeconds: number;
}

export interface PortRangeRequest {
  readonly startPort: number;
  readonly endPort: number;
  readonly protocol: TransportProtocol;
  readonly manage: boolean;
}

export interface ServedFirewallStatus {
  readonly firewallEnabled: boolean;
  readonly inboundPinholeAllowed: boolean;
}

export interface ConnectionStatus {
  readonly status: 'Unconfigured' | 'Connecting' | 'Connected' | 'PendingDisconnect' | 'Disconnecting' | 'Disconnected';
  readonly lastError: 'ERROR_NONE' | 'ERROR_UNKNOWN';
  readonly uptimeSeconds: number;
}

export interface LinkProperties {
  readonly accessType: 'DSL' | 'POTS' | 'Cable' | 'Ethernet';
  readonly upstreamMaxBitRate: number;
  readonly downstreamMaxBitRate: number;
  readonly physicalLinkStatus: 'Up' | 'Down' | 'Initializing' | 'Unavailable';
}

export interface TrafficCounters {
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly packetsSent: number;
  readonly packetsReceived: number;
}

/**
 * Everything the IGD front needs decided. The server has already checked syntax, ranges and
 * that the request targets the requester's own address; the decider applies policy and state.
 */
export interface GatewayDecider {
  // WANIPv6FirewallControl:1
  firewallStatus(): Awaitable<Answer<ServedFirewallStatus>>;
  addPinhole(request: PinholeRequest, requester: Requester): Awaitable<Answer<{ uniqueId: number }>>;
  updatePinhole(request: { uniqueId: number; leaseSeconds: number }, requester: Requester): Awaitable<Answer<void>>;
  deletePinhole(request: { uniqueId: number }, requester: Requester): Awaitable<Answer<void>>;
  /** Packets through the pinhole (GetPinholePackets; CheckPinholeWorking answers 709 for 0). */
  pinholePackets(request: { uniqueId: number }, requester: Requester): Awaitable<Answer<{ packets: number }>>;
  /** Optional: absent means 501 ActionFailed, as miniupnpd answers. */
  outboundPinholeTimeout?(request: Omit<PinholeRequest, 'leaseSeconds'>, requester: Requester): Awaitable<Answer<{ seconds: number }>>;

  // WANIPConnection:1/2
  externalIpv4(): Awaitable<Answer<{ address: string }>>;
  connectionStatus(): Awaitable<Answer<ConnectionStatus>>;
  addPortMapping(request: PortMappingRequest, requester: Requester): Awaitable<Answer<void>>;
  addAnyPortMapping(request: PortMappingRequest, requester: Requester): Awaitable<Answer<{ reservedPort: number }>>;
  deletePortMapping(request: PortMappingKey, requester: Requester): Awaitable<Answer<void>>;
  deletePortMappingRange(request: PortRangeRequest, requester: Requester): Awaitable<Answer<void>>;
  getPortMapping(request: PortMappingKey, requester: Requester): Awaitable<Answer<ServedPortMapping>>;
  /** The entry at `index` (0-based) or a 713 refusal past the end. */
  getPortMappingAt(index: number, requester: Requester): Awaitable<Answer<ServedPortMapping>>;
  listPortMappings(request: PortRangeRequest & { maxEntries: number }, requester: Requester): Awaitable<Answer<readonly ServedPortMapping[]>>;

  // WANCommonInterfaceConfig:1 (optional: defaults are Ethernet/Up and zero counters)
  linkProperties?(): Awaitable<Answer<LinkProperties>>;
  trafficCounters?(): Awaitable<Answer<TrafficCounters>>;
}

/** A decider that refuses everything with `code` (a base for scripted deciders in tests). */
export function refuseEverything(code: number): GatewayDecider {
  const no = (): ControlRefusal => refuse(code, 'refused by a refuse-everything decider');
  return {
    firewallStatus: no, addPinhole: no, updatePinhole: no, deletePinhole: no, pinholePackets: no,
    externalIpv4: no, connectionStatus: no, addPortMapping: no, addAnyPortMapping: no, deletePortMapping: no,
    deletePortMappingRange: no, getPortMapping: no, getPortMappingAt: no, listPortMappings: no,
  };
}
