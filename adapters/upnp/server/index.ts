/**
 * The IGD front (UPnP server side): a policy-enforcing InternetGatewayDevice:2 that unmodified
 * clients use. Description and SCPDs generated from typed definitions, an SSDP responder
 * (IPv4 over node-ssdp's sockets, IPv6 over dgram), a hardened SOAP control server, and the
 * decider port and the table that turns an engine decision into a UPnP answer.
 *
 * @example
 * ```ts
 * import { createIgdHttpServer, defineIgdDevice, Ipv4SsdpResponderTransport,
 *   Ipv6SsdpResponderTransport, SsdpResponder } from './adapters/upnp/server';
 *
 * // `decider`: the gateway daemon's (startGatewayDaemon(...).decider), or a scripted one in tests.
 * const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
 * const http = createIgdHttpServer({ igd, listen: [{ host: '::', port: 5000 }], decider });
 * await http.start();
 * const ssdp = new SsdpResponder({ igd, configId: http.documents.configId, interfaces: ['br-lan'], httpPort: 5000,
 *   transports: [new Ipv4SsdpResponderTransport({ interfaces: ['br-lan'] }), new Ipv6SsdpResponderTransport({ interfaces: ['br-lan'] })] });
 * await ssdp.start();
 * ```
 */
export {
  WAN_COMMON_INTERFACE_CONFIG_1, WAN_IPV6_FIREWALL_CONTROL_1, WAN_IP_CONNECTION_1, WAN_IP_CONNECTION_2, findAction,
} from './igd-service-definitions';
export type {
  ActionDefinition, ArgumentDefinition, ServedServiceKind, ServiceDefinition, StateVariableDefinition, UpnpDataType,
} from './igd-service-definitions';
export { DEFAULT_IGD_PATHS, allDevices, controlPathOf, defineIgdDevice } from './igd-device';
export type { IgdDevice, IgdDeviceOptions, IgdPaths, ServedDevice, ServedService, ServicePaths } from './igd-device';
export { buildIgdDocuments, buildScpdXml } from './description-xml';
export type { IgdDocuments } from './description-xml';
export { accept, refuse, refuseEverything } from './gateway-decider';
export type {
  Accepted, Answer, Awaitable, ConnectionStatus, ControlRefusal, GatewayDecider, LinkProperties, PinholeRequest, PortMappingKey,
  PortMappingRequest, PortRangeRequest, Requester, ServedFirewallStatus, ServedPortMapping, TrafficCounters, TransportProtocol,
} from './gateway-decider';
export { soapFaultBody, soapSuccessBody, faultDescription } from './soap-response';
export { ControlArguments, ControlFault } from './control-arguments';
export { handleControl, requesterOf, portListingXml, serviceTypeMatches, MAX_MAPPING_LEASE_SECONDS, MAX_PINHOLE_LEASE_SECONDS } from './soap-control';
export type { ControlCall, ControlOutcome } from './soap-control';
export { createIgdHttpServer, DEFAULT_IGD_HTTP_LIMITS, DEFAULT_SERVER_HEADER } from './igd-http-server';
export type { ControlLogEntry, IgdHttpLimits, IgdHttpServer, IgdHttpServerOptions } from './igd-http-server';
export { UPNP_ANSWERS, MAX_DESCRIPTION_LENGTH, describeAnswer, upnpAnswerOf, upnpAnswerOfReason } from './upnp-answer-table';
export type { DecidedOperation, UpnpAnswer } from './upnp-answer-table';
export type { SsdpResponderTransport } from './ssdp-responder-transport';
export { SsdpResponder, searchMatches, ssdpGroups, ssdpTargets } from './ssdp-responder';
export type { SsdpResponderOptions, SsdpTarget } from './ssdp-responder';
export { Ipv4SsdpResponderTransport } from './ssdp-ipv4-responder-transport';
export type { Ipv4SsdpResponderTransportOptions } from './ssdp-ipv4-responder-transport';
export { Ipv6SsdpResponderTransport } from './ssdp-ipv6-responder-transport';
export type { Ipv6SsdpResponderTransportOptions } from './ssdp-ipv6-responder-transport';
