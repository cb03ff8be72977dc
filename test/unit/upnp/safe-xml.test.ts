import { performance } from 'node:perf_hooks';
import { MAX_XML_TAGS, parseXmlDocument, textOf } from '../../../adapters/upnp/safe-xml';
import { UpnpProtocolError } from '../../../adapters/upnp/upnp-errors';

/** A document of exactly `tags` '<' characters: a root and empty distinct children. */
function withTags(tags: number): string {
  return `<root>${Array.from({ length: tags - 2 }, (_, i) => `<t${i.toString(36)}/>`).join('')}</root>`;
}

describe('parseXmlDocument limits', () => {
  it(`accepts a document of ${MAX_XML_TAGS} tags`, () => {
    const doc = parseXmlDocument(withTags(MAX_XML_TAGS), 'test');
    expect(Object.keys(doc.root as object)).toHaveLength(MAX_XML_TAGS - 2);
  });

  it(`refuses one more tag before parsing, in one linear scan`, () => {
    const xml = withTags(MAX_XML_TAGS + 1);
    expect(() => parseXmlDocument(xml, 'device description')).toThrow(UpnpProtocolError);
    expect(() => parseXmlDocument(xml, 'device description')).toThrow(`device description: more than ${MAX_XML_TAGS} tags`);
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      expect(() => parseXmlDocument(xml, 'x')).toThrow();
      best = Math.min(best, performance.now() - t0);
    }
    expect(best).toBeLessThan(20); // parsing it would take tens of milliseconds
  });

  it('still refuses DOCTYPE and decodes entities once', () => {
    expect(() => parseXmlDocument('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', 'x')).toThrow(/DOCTYPE/);
    expect(textOf(parseXmlDocument('<x>&amp;lt;</x>', 'x').x)).toBe('&lt;');
  });
});
