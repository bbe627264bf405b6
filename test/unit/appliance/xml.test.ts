import { describe, expect, it } from 'vitest';
import { attrOf, childNamed, childrenNamed, parseXml, textOf } from '../../../src-core/appliance/xml.ts';
import { escapeAttr, serializeXml, x } from '../../../src-core/appliance/xml-writer.ts';

describe('XML parser', () => {
  it('resolves default and prefixed namespaces, entities, CDATA and comments', () => {
    const doc = parseXml(`<?xml version="1.0" encoding="UTF-8"?>
<!-- lead -->
<Envelope xmlns="urn:a" xmlns:b="urn:b" b:x="1 &amp; 2" y='&#65;&#x42;'>
  <b:Item>text &lt;here&gt; <![CDATA[<raw & stuff>]]></b:Item>
  <Item/>
</Envelope>`, 't.xml');
    expect(doc.local).toBe('Envelope');
    expect(doc.ns).toBe('urn:a');
    expect(attrOf(doc, 'x', ['urn:b'])).toBe('1 & 2');
    expect(attrOf(doc, 'y', [''])).toBe('AB');
    expect(childrenNamed(doc, 'Item', ['urn:b'])).toHaveLength(1);
    expect(childrenNamed(doc, 'Item', ['urn:a'])).toHaveLength(1);
    expect(textOf(childNamed(doc, 'Item', ['urn:b'])!)).toBe('text <here> <raw & stuff>');
  });

  const bad: [string, string, RegExp][] = [
    ['doctype', '<!DOCTYPE a [<!ENTITY x "y">]><a/>', /DOCTYPE/],
    ['mismatched', '<a><b></a>', /<\/a> closes <b>/],
    ['unclosed', '<a><b/>', /never closed/],
    ['unbound prefix', '<p:a/>', /prefix "p"/],
    ['duplicate attribute', '<a x="1" x="2"/>', /appears twice/],
    ['duplicate expanded attribute', '<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>', /appears twice/],
    ['unknown entity', '<a>&nbsp;</a>', /unknown entity/],
    ['bare ampersand', '<a>fish & chips</a>', /entity reference/],
    ['two roots', '<a/><b/>', /after the root/],
    ['lt in attribute', '<a x="<"/>', /inside an attribute/],
    ['unquoted attribute', '<a x=1/>', /not quoted/],
    ['late declaration', ' <?xml version="1.0"?><a/>', /declaration must come first/],
    ['empty', '', /no root element/],
    ['bad char ref', '<a>&#0;</a>', /not an XML character/],
  ];
  for (const [what, text, msg] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parseXml(text, 'bad.xml')).toThrow(msg);
    });
  }

  it('refuses encodings other than UTF-8', () => {
    expect(() => parseXml('<?xml version="1.0" encoding="ISO-8859-1"?><a/>', 'l1.xml')).toThrow(/encoding ISO-8859-1 is not supported/);
  });

  it('names the line of the problem', () => {
    expect(() => parseXml('<a>\n\n<b>\n</a>', 'f.xml')).toThrow(/f\.xml: not well-formed XML at line 4/);
  });
});

describe('XML writer', () => {
  it('escapes any text and attribute so the parser reads back exactly what was written', () => {
    const nasty = 'a < b && c > "d" \'e\' \t tab\nnewline ]]> end';
    const doc = parseXml(serializeXml(x('r', { v: nasty }, x('c', undefined, nasty))), 'w.xml');
    expect(attrOf(doc, 'v', [''])).toBe(nasty);
    expect(textOf(childNamed(doc, 'c')!)).toBe(nasty);
  });

  it('replaces characters XML cannot carry instead of writing a broken document', () => {
    const out = serializeXml(x('r', { v: 'bell\x07' }, 'nul\x00'));
    expect(() => parseXml(out, 'w.xml')).not.toThrow();
    expect(escapeAttr('\x01')).toBe('\ufffd');
  });
});
