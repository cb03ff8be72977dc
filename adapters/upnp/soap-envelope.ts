/**
 * SOAP 1.1 envelopes for UPnP control: building a request (arguments in order, XML-escaped,
 * same bytes as miniupnpc's), reading a request back (for tests and fake routers), and
 * reading a response into its output arguments or a typed {@link UpnpFault}.
 *
 * @example
 * ```ts
 * const body = buildSoapRequestBody(SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'DeletePinhole', [['UniqueID', 1]]);
 * soapActionHeader(SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'DeletePinhole');
 * // '"urn:schemas-upnp-org:service:WANIPv6FirewallControl:1#DeletePinhole"'
 * const out = parseSoapResponseBody(responseXml, { serviceType, action: 'AddPinhole', httpStatus: 200 });
 * out.UniqueID; // '1'
 * ```
 */
import { UpnpFault } from './upnp-fault';
import { childText, child, escapeXml, isNode, parseXmlDocument, textOf, XmlNode } from './safe-xml';
import { UpnpProtocolError } from './upnp-errors';

/** Input arguments, in the order the SCPD lists them. */
export type SoapArguments = ReadonlyArray<readonly [name: string, value: string | number | boolean]>;

/** Output arguments by name (text values; the service clients type them). */
export type SoapOutput = Record<string, string>;

const ENVELOPE_OPEN = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">';
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Most `<` a request body may hold: the largest IGD action (AddPortMapping, 8 arguments) needs
 * about 30. Counted before the XML parser runs, so a body of thousands of tags costs one scan.
 */
export const MAX_REQUEST_TAGS = 256;

/** The SOAPAction header value, quotes included. */
export function soapActionHeader(serviceType: string, action: string): string {
  return `"${serviceType}#${action}"`;
}

function checkName(what: string, name: string): void {
  if (!NAME.test(name)) throw new UpnpProtocolError(`Invalid SOAP ${what} name ${JSON.stringify(name)}`);
}

function valueText(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** The request body for `action` of `serviceType` with `args`. */
export function buildSoapRequestBody(serviceType: string, action: string, args: SoapArguments = []): string {
  checkName('action', action);
  if (/["<>&\s]/.test(serviceType)) throw new UpnpProtocolError(`Invalid service type ${JSON.stringify(serviceType)}`);
  let inner = '';
  for (const [name, value] of args) {
    checkName('argument', name);
    inner += `<${name}>${escapeXml(valueText(value))}</${name}>`;
  }
  return `<?xml version="1.0" encoding="utf-8"?>\r\n${ENVELOPE_OPEN}<s:Body><u:${action} xmlns:u="${serviceType}">${inner}</u:${action}></s:Body></s:Envelope>\r\n`;
}

/** A request read back from its HTTP parts. */
export interface ParsedSoapRequest {
  serviceType: string;
  action: string;
  /** Arguments in document order. */
  args: Array<[string, string]>;
}

/**
 * Reads a SOAPAction header: `"serviceType#action"` (quotes optional, surrounding whitespace
 * ignored). Linear in the header's length: a scan, no backtracking regex (an 8 KiB header of
 * spaces cost ~166 ms with the old pattern). Throws {@link UpnpProtocolError}.
 *
 * @example
 * ```ts
 * parseSoapActionHeader('"urn:schemas-upnp-org:service:WANIPv6FirewallControl:1#AddPinhole"').action; // 'AddPinhole'
 * ```
 */
export function parseSoapActionHeader(value: string): { serviceType: string; action: string } {
  let v = value.trim();
  if (v.startsWith('"')) v = v.slice(1);
  if (v.endsWith('"')) v = v.slice(0, -1);
  const hash = v.indexOf('#');
  const serviceType = hash < 0 ? '' : v.slice(0, hash);
  const action = hash < 0 ? '' : v.slice(hash + 1);
  if (serviceType === '' || action === '' || v.includes('"')) {
    const shown = value.length > 120 ? `${value.slice(0, 120)}... (${value.length} characters)` : value;
    throw new UpnpProtocolError(`Bad SOAPAction header ${JSON.stringify(shown)}`);
  }
  return { serviceType, action };
}

/**
 * Reads a SOAP request (SOAPAction header + body). Used by the gateway's IGD server, tests and
 * fake routers; also checks the header and the body name the same action. Linear in the size
 * of header and body: one XML parse and one scan of the body for the arguments' order.
 */
export function parseSoapRequest(soapActionHeaderValue: string, body: string): ParsedSoapRequest {
  const { serviceType, action } = parseSoapActionHeader(soapActionHeaderValue);
  let tags = 0;
  for (let i = body.indexOf('<'); i >= 0; i = body.indexOf('<', i + 1)) {
    if (++tags > MAX_REQUEST_TAGS) {
      throw new UpnpProtocolError(`SOAP request: more than ${MAX_REQUEST_TAGS} tags (an IGD action has at most a dozen arguments)`);
    }
  }
  const doc = parseXmlDocument(body, 'SOAP request');
  const b = child(child(doc, 'Envelope'), 'Body');
  if (!b) throw new UpnpProtocolError('SOAP request: no Envelope/Body');
  const names = Object.keys(b);
  if (names.length !== 1 || names[0] !== action) {
    throw new UpnpProtocolError(`SOAP request: body names ${names.join(',') || 'nothing'}, header names ${action}`);
  }
  const el = b[action];
  const args: Array<[string, string]> = [];
  if (isNode(el)) {
    for (const [k, v] of Object.entries(el)) args.push([k, textOf(v) ?? '']);
  }
  // Document order: fast-xml-parser keeps insertion order of first occurrences, which is the document order.
  const ordered = orderByDocument(body, action, args);
  return { serviceType, action, args: ordered };
}

/** Start tags, with an optional namespace prefix; one left-to-right scan of the body. */
const START_TAG = /<(?:[A-Za-z0-9_]+:)?([A-Za-z_][A-Za-z0-9_.-]*)[\s/>]/g;

/** Arguments in the order of their start tags inside the action element (found by one scan). */
function orderByDocument(body: string, action: string, args: Array<[string, string]>): Array<[string, string]> {
  const wanted = new Set(args.map(([name]) => name));
  const first = new Map<string, number>();
  let inside = false; // tags before the action's own (Envelope, Body, the action) are not arguments
  START_TAG.lastIndex = 0;
  for (let m = START_TAG.exec(body); m !== null && first.size < wanted.size; m = START_TAG.exec(body)) {
    const name = m[1];
    if (!inside) inside = name === action;
    else if (wanted.has(name) && !first.has(name)) first.set(name, m.index);
  }
  const pos = (name: string): number => first.get(name) ?? Number.MAX_SAFE_INTEGER;
  return [...args].sort((a, b) => pos(a[0]) - pos(b[0]));
}

/** What the response answers. */
export interface SoapResponseContext {
  serviceType: string;
  action: string;
  httpStatus: number;
}

/**
 * Reads a SOAP response body. Returns the output arguments of `<actionResponse>`; throws a
 * {@link UpnpFault} for a UPnPError, {@link UpnpProtocolError} for anything unusable.
 */
export function parseSoapResponseBody(body: string, ctx: SoapResponseContext): SoapOutput {
  const doc = parseXmlDocument(body, `${ctx.action} response`);
  const envelope = child(doc, 'Envelope');
  const b = child(envelope, 'Body');
  if (!b) throw new UpnpProtocolError(`${ctx.action} response: no SOAP Envelope/Body`, { httpStatus: ctx.httpStatus });
  const fault = child(b, 'Fault');
  if (fault) {
    const upnpError = child(child(fault, 'detail'), 'UPnPError');
    const codeText = childText(upnpError, 'errorCode');
    if (!upnpError || codeText === undefined || !/^\d{1,4}$/.test(codeText.trim())) {
      const fs = childText(fault, 'faultstring') ?? '';
      throw new UpnpProtocolError(`${ctx.action}: SOAP fault without a UPnPError code (${fs})`, { httpStatus: ctx.httpStatus });
    }
    throw new UpnpFault({
      code: Number(codeText.trim()),
      description: childText(upnpError, 'errorDescription') ?? '',
      action: ctx.action,
      serviceType: ctx.serviceType,
      httpStatus: ctx.httpStatus,
    });
  }
  if (ctx.httpStatus !== 200) {
    throw new UpnpProtocolError(`${ctx.action}: HTTP ${ctx.httpStatus} without a SOAP fault`, { httpStatus: ctx.httpStatus });
  }
  const responseName = `${ctx.action}Response`;
  if (!Object.prototype.hasOwnProperty.call(b, responseName)) {
    throw new UpnpProtocolError(`${ctx.action}: response body has no <${responseName}> (got ${Object.keys(b).join(',') || 'nothing'})`);
  }
  const el = child(b, responseName) ?? {};
  return readOutputs(el, ctx.action);
}

function readOutputs(el: XmlNode, action: string): SoapOutput {
  const out: SoapOutput = Object.create(null) as SoapOutput;
  for (const [k, v] of Object.entries(el)) {
    if (k === '#text' || k === '#cdata') continue;
    const t = textOf(v);
    if (t === undefined) throw new UpnpProtocolError(`${action}: output ${k} is not text`);
    out[k] = t;
  }
  return out;
}
