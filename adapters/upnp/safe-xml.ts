/**
 * XML parsing for text that comes from the network. DOCTYPE and entity declarations are
 * refused before the parser sees the text (no billion laughs, no external entities), the
 * parser never expands entities (only the five predefined ones and numeric character
 * references are decoded, by us, once), depth is bounded, and the document must be
 * well-formed. Namespace prefixes are dropped (`s:Envelope` -> `Envelope`). A document of
 * more than {@link MAX_XML_TAGS} tags is refused before any parsing (one scan): the parser's
 * cost per tag is large, and no UPnP document comes near (a full IGD description has ~150).
 *
 * @example
 * ```ts
 * const doc = parseXmlDocument('<a><b>1 &amp; 2</b></a>', 'example');
 * textOf((doc.a as XmlNode).b); // '1 & 2'
 * ```
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { UpnpProtocolError } from './upnp-errors';

/** A parsed element: child elements by local name, `#text`, `#cdata`. */
export type XmlNode = { [name: string]: XmlValue };
export type XmlValue = string | XmlNode | XmlValue[];

/** Most `<` a document may hold (tags, comments, CDATA); see the module comment. */
export const MAX_XML_TAGS = 8192;

/** Elements that may repeat and are always returned as arrays. */
const ALWAYS_ARRAYS = new Set(['device', 'service', 'action', 'argument', 'stateVariable', 'PortMappingEntry']);

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: false,
  maxNestedTags: 64,
  isArray: (name: string) => ALWAYS_ARRAYS.has(name),
});

/**
 * Parses a whole document; throws {@link UpnpProtocolError} (never anything else) when it is
 * not acceptable. `what` names the document in error messages.
 */
export function parseXmlDocument(text: string, what: string): XmlNode {
  const xml = text.replace(/^\uFEFF/, '');
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) {
    throw new UpnpProtocolError(`${what}: DOCTYPE/ENTITY declarations are refused`);
  }
  if (xml.trim() === '') throw new UpnpProtocolError(`${what}: empty document`);
  let tags = 0;
  for (let i = xml.indexOf('<'); i >= 0; i = xml.indexOf('<', i + 1)) {
    if (++tags > MAX_XML_TAGS) throw new UpnpProtocolError(`${what}: more than ${MAX_XML_TAGS} tags`);
  }
  let valid: true | { err: { msg: string; line: number } };
  try {
    valid = XMLValidator.validate(xml);
  } catch (cause) {
    throw new UpnpProtocolError(`${what}: not XML`, { cause });
  }
  if (valid !== true) {
    throw new UpnpProtocolError(`${what}: not well-formed XML (${valid.err.msg} at line ${valid.err.line})`);
  }
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (cause) {
    throw new UpnpProtocolError(`${what}: XML parse failed: ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
  if (!isNode(doc)) throw new UpnpProtocolError(`${what}: no root element`);
  return doc;
}

export function isNode(v: unknown): v is XmlNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** First element of a maybe-array. */
export function first(v: XmlValue | undefined): XmlValue | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A child element as a node (first occurrence), or undefined. */
export function child(node: XmlValue | undefined, name: string): XmlNode | undefined {
  const n = first(node);
  if (!isNode(n)) return undefined;
  const c = first(n[name]);
  if (isNode(c)) return c;
  // `<x/>` and `<x></x>` parse as '' — an element with no children.
  if (c === '') return {};
  return undefined;
}

/** Children with a given name, as nodes. */
export function children(node: XmlValue | undefined, name: string): XmlNode[] {
  const n = first(node);
  if (!isNode(n)) return [];
  const c = n[name];
  const list = Array.isArray(c) ? c : c === undefined ? [] : [c];
  return list.map((x) => (x === '' ? {} : x)).filter(isNode);
}

/** Text content of an element (entities decoded, CDATA kept verbatim); undefined when absent or not text. */
export function textOf(v: XmlValue | undefined): string | undefined {
  const n = first(v);
  if (n === undefined) return undefined;
  if (typeof n === 'string') return decodeXmlText(n);
  if (!isNode(n)) return undefined;
  const keys = Object.keys(n);
  if (keys.some((k) => k !== '#text' && k !== '#cdata')) return undefined;
  let out = '';
  const text = n['#text'];
  if (typeof text === 'string') out += decodeXmlText(text);
  const cdata = n['#cdata'];
  if (typeof cdata === 'string') out += cdata;
  else if (Array.isArray(cdata)) out += cdata.filter((x): x is string => typeof x === 'string').join('');
  return out;
}

/** Text of a named child element. */
export function childText(node: XmlValue | undefined, name: string): string | undefined {
  const n = first(node);
  if (!isNode(n)) return undefined;
  return textOf(n[name]);
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the five predefined entities and numeric character references, once. Unknown entities stay literal. */
export function decodeXmlText(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|lt|gt|amp|quot|apos);/g, (whole, ent: string) => {
    if (ent[0] !== '#') return PREDEFINED[ent] ?? whole;
    const cp = ent[1] === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
    if (!Number.isFinite(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return whole;
    return String.fromCodePoint(cp);
  });
}

/** Escapes text for an XML element body or attribute. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' } as Record<string, string>)[c]};`);
}
