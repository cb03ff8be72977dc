/**
 * The UPnP adapter (client side): discovery of Internet Gateway Devices over IPv4 and IPv6,
 * their descriptions, SOAP control of WANIPConnection (IPv4 port mappings) and
 * WANIPv6FirewallControl (IPv6 pinholes), and a gateway report. Facts and faults only; the
 * decisions are the policy engine's.
 *
 * @example
 * ```ts
 * import { discoverGateway, SoapClient, WanIpv6FirewallControlClient } from '../adapters/upnp';
 * const gw = await discoverGateway({ family: 'ipv6' });
 * const soap = new SoapClient();
 * const fw = new WanIpv6FirewallControlClient(gw.services.wanIpv6FirewallControl!, { caller: soap, zone: gw.zone });
 * const id = await fw.addPinhole({ internalClient: '2001:db8:77::10', internalPort: 40000, protocol: 'udp', leaseTimeSeconds: 3600 });
 * ```
 */
export { UpnpError, UpnpProtocolError, UpnpTimeoutError, UpnpAbortError, UpnpNetworkError, UpnpInputError, SsdpParseError, RogueLocationError, UpnpDescriptionError } from './upnp-errors';
export { UpnpFault, describeFault, isUpnpFault } from './upnp-fault';
export * from './upnp-urns';
export { classifyExternalIpv4, toRfc5952, isIpv4Literal, isIpv6Literal, isNonUlaGlobalIpv6, splitZone } from '../../policies/model/address';
export type { ExternalIpv4Kind } from '../../policies/model/address';
export { parseSsdpMessage, tryParseSsdpMessage, formatMSearch, formatSearchResponse, formatNotify, udnOfUsn, SSDP_MAX_MESSAGE_BYTES, SSDP_MAX_HEADERS, SSDP_IPV4_GROUP, SSDP_IPV6_LINK_LOCAL_GROUP, SSDP_IPV6_SITE_LOCAL_GROUP, SSDP_PORT } from './ssdp-message';
export type { SsdpMessage, SsdpSearchRequest, SsdpSearchResponse, SsdpNotify, SsdpNts, MSearchOptions, SsdpAnnouncement } from './ssdp-message';
export type { SsdpTransport, SsdpDatagram, SsdpDatagramListener } from './ssdp-transport';
export { Ipv4SsdpTransport } from './ssdp-ipv4-transport';
export type { Ipv4SsdpTransportOptions } from './ssdp-ipv4-transport';
export { Ipv6SsdpTransport } from './ssdp-ipv6-transport';
export type { Ipv6SsdpTransportOptions } from './ssdp-ipv6-transport';
export { systemInterfaceTable, ipv4SearchInterfaces, ipv6SearchInterfaces, isOnLinkIpv6 } from './network-interfaces';
export type { InterfaceTable, InterfaceTableSource, SearchInterface } from './network-interfaces';
export { checkLocation } from './location-check';
export type { AnswerOrigin, CheckedLocation } from './location-check';
export { parseHttpUrl, resolveUpnpUrl } from './http-url';
export type { ParsedHttpUrl } from './http-url';
export { httpFetch } from './http-fetch';
export type { HttpFetchOptions, HttpFetchResult } from './http-fetch';
export { parseDeviceDescription, gatewayUnusableReason } from './device-description';
export type { DeviceDescription, UpnpDeviceInfo, UpnpServiceInfo, GatewayServices } from './device-description';
export { parseServiceDescription } from './service-description';
export type { ServiceDescription, ServiceAction } from './service-description';
export { buildSoapRequestBody, parseSoapRequest, parseSoapResponseBody, soapActionHeader } from './soap-envelope';
export type { SoapArguments, SoapOutput, ParsedSoapRequest } from './soap-envelope';
export { SoapClient } from './soap-client';
export type { SoapCaller, SoapCallRequest, SoapClientOptions } from './soap-client';
export { WanIpv6FirewallControlClient, pinholeProtocolNumber, PINHOLE_MAX_LEASE_SECONDS } from './wan-ipv6-firewall-control';
export type { ServiceEndpoint, ServiceClientOptions, CallOptions, PinholeProtocol, PinholeSpec, AddPinholeSpec, FirewallStatus } from './wan-ipv6-firewall-control';
export { WanIpConnectionClient, parsePortListing } from './wan-ip-connection';
export type { MappingProtocol, PortMappingKey, PortMappingSpec, PortMappingEntry, ConnectionStatusInfo, PortRangeQuery } from './wan-ip-connection';
export { fetchDeviceDescription, fetchServiceDescription } from './gateway';
export type { DiscoveredGateway, DescriptionFetcher, DescriptionFetchOptions } from './gateway';
export { discoverGateway, GatewayNotFoundError, defaultTransports } from './gateway-discovery';
export type { DiscoverGatewayOptions, DiscoveryFamily, SkippedAnswer } from './gateway-discovery';
export { watchGateways } from './gateway-watch';
export type { WatchGatewaysOptions, GatewayEvent } from './gateway-watch';
export { buildGatewayReport } from './gateway-report';
export type { GatewayReport, GatewayReportOptions, JaipaGrade } from './gateway-report';
// The IGD front (server side) under its own namespace: its types (ServedPortMapping, PortMappingKey,
// Requester ...) must not shadow or be shadowed by the client's. Import it as `server.*` or from './server'.
export * as server from './server';
