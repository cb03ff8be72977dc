/**
 * SOAP 1.1 response bodies of the IGD front: an `<u:ActionResponse>` with output arguments in
 * SCPD order, or an HTTP 500 fault with `UPnPError/{errorCode,errorDescription}` in the shape
 * miniupnpd and the UPnP Device Architecture use. Output values are XML-escaped; the
 * GetListOfPortMappings listing goes in CDATA (as miniupnpd sends it).
 *
 * @example
 * ```ts
 * soapSuccessBody(SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'AddPinhole', [['UniqueID', 1]]);
 * soapFaultBody(606); // '<s:Envelope ...><errorCode>606</errorCode><errorDescription>Action not authorized</errorDescription>...'
 * ```
 */
import { escapeXml } from '../safe-xml';

const ENVELOPE_OPEN = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">';

/** errorDescription texts, as UPnP-arch and miniupnpd spell them (clients match on the code). */
const DESCRIPTIONS: Record<number, string> = {
  401: 'Invalid Action',
  402: 'Invalid Args',
  501: 'Action Failed',
  606: 'Action not authorized',
  701: 'PinholeSpaceExhausted',
  702: 'FirewallDisabled',
  703: 'InboundPinholeNotAllowed',
  704: 'NoSuchEntry',
  705: 'ProtocolNotSupported',
  706: 'InternalPortWilcardingNotAllowed',
  707: 'ProtocolWilcardingNotAllowed',
  708: 'WildCardNotPermittedInSrcIP',
  709: 'NoPacketSent',
  713: 'SpecifiedArrayIndexInvalid',
  714: 'NoSuchEntryInArray',
  715: 'WildCardNotPermittedInSrcIP',
  716: 'WildCardNotPermittedInExtPort',
  718: 'ConflictInMappingEntry',
  724: 'SamePortValuesRequired',
  725: 'OnlyPermanentLeasesSupported',
  726: 'RemoteHostOnlySupportsWildcard',
  727: 'ExternalPortOnlySupportsWildcard',
  728: 'NoPortMapsAvailable',
  729: 'ConflictWithOtherMechanisms',
  730: 'PortMappingNotFound',
  733: 'InconsistentParameters',
};

/** The standard errorDescription for `code` ('Action Failed' style text for unknown codes). */
export function faultDescription(code: number): string {
  return DESCRIPTIONS[code] ?? 'Action Failed';
}

export type OutputValue = string | number | boolean | { readonly cdata: string };

function valueText(v: OutputValue): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return escapeXml(v);
  // CDATA cannot contain its own terminator: split it the standard way.
  return `<![CDATA[${v.cdata.split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/** The 200 body answering `action` of `serviceType` (the version the request named). */
export function soapSuccessBody(serviceType: string, action: string, outputs: ReadonlyArray<readonly [string, OutputValue]> = []): string {
  const inner = outputs.map(([name, value]) => `<${name}>${valueText(value)}</${name}>`).join('');
  return `<?xml version="1.0"?>\r\n${ENVELOPE_OPEN}<s:Body><u:${action}Response xmlns:u="${escapeXml(serviceType)}">${inner}</u:${action}Response></s:Body></s:Envelope>\r\n`;
}

/** The 500 body of UPnP error `code`. */
export function soapFaultBody(code: number, description = faultDescription(code)): string {
  return `<?xml version="1.0"?>\r\n${ENVELOPE_OPEN}<s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${
    code}</errorCode><errorDescription>${escapeXml(description)}</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>\r\n`;
}
