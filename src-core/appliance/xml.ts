// A small, strict XML 1.0 parser for OVF descriptors. It builds a namespace-resolved element
// tree and refuses anything not well-formed. DOCTYPE is refused outright: OVF never needs one
// and internal entity declarations are how "billion laughs" descriptors exhaust memory.
import { HangarError } from '../api/errors.ts';

export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';

export interface XmlAttr {
  /** Qualified name as written (`ovf:id`). */
  name: string;
  local: string;
  /** Namespace URI; '' for an unprefixed attribute. */
  ns: string;
  value: string;
}

export interface XmlElement {
  name: string;
  local: string;
  ns: string;
  attrs: XmlAttr[];
  children: XmlNode[];
  line: number;
}

export type XmlNode = XmlElement | string;

const MAX_DEPTH = 256;

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 58 || c >= 0xc0;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 0xb7;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

interface RawElement {
  name: string;
  rawAttrs: { name: string; value: string }[];
  scope: Map<string, string>;
  el: XmlElement;
}

class Parser {
  private pos = 0;
  private line = 1;

  constructor(private readonly s: string, private readonly source: string) {}

  fail(what: string): never {
    throw new HangarError('corrupt', `${this.source}: not well-formed XML at line ${this.line}: ${what}`);
  }

  private advance(n: number): void {
    for (let i = 0; i < n; i++) if (this.s.charCodeAt(this.pos + i) === 10) this.line++;
    this.pos += n;
  }

  private startsWith(t: string): boolean {
    return this.s.startsWith(t, this.pos);
  }

  private skipSpace(): boolean {
    const start = this.pos;
    while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.advance(1);
    return this.pos > start;
  }

  private name(): string {
    const start = this.pos;
    if (!isNameStart(this.s.charCodeAt(this.pos))) this.fail(`expected a name, found ${JSON.stringify(this.s.slice(this.pos, this.pos + 10))}`);
    while (this.pos < this.s.length && isNameChar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** Replace character and the five predefined entity references; anything else is an error. */
  private decode(raw: string, inAttr: boolean): string {
    if (raw.includes('<') && inAttr) this.fail('"<" inside an attribute value');
    if (!raw.includes('&')) return inAttr ? raw.replace(/[\t\n\r]/g, ' ') : raw.replace(/\r\n?/g, '\n');
    let out = '';
    let i = 0;
    while (i < raw.length) {
      const amp = raw.indexOf('&', i);
      if (amp < 0) {
        out += raw.slice(i);
        break;
      }
      out += raw.slice(i, amp);
      const semi = raw.indexOf(';', amp);
      if (semi < 0 || semi - amp > 12) this.fail('"&" that does not start an entity reference (write &amp;)');
      const ent = raw.slice(amp + 1, semi);
      if (ent === 'lt') out += '<';
      else if (ent === 'gt') out += '>';
      else if (ent === 'amp') out += '&';
      else if (ent === 'quot') out += '"';
      else if (ent === 'apos') out += "'";
      else if (/^#[0-9]+$/.test(ent) || /^#x[0-9a-fA-F]+$/.test(ent)) {
        const cp = ent[1] === 'x' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
        if (!(cp === 9 || cp === 10 || cp === 13 || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff))) {
          this.fail(`character reference &${ent}; is not an XML character`);
        }
        out += String.fromCodePoint(cp);
      } else this.fail(`unknown entity &${ent}; (only the five predefined entities are allowed)`);
      i = semi + 1;
    }
    return inAttr ? out : out.replace(/\r\n?/g, '\n');
  }

  private skipMisc(allowDecl: boolean): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith('<!--')) this.comment();
      else if (this.startsWith('<?')) this.pi(allowDecl && this.pos === 0);
      else if (this.startsWith('<!DOCTYPE')) this.fail('DOCTYPE declarations are not accepted in OVF descriptors');
      else return;
    }
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) this.fail('unterminated comment');
    if (this.s.slice(this.pos + 4, end).includes('--')) this.fail('"--" inside a comment');
    this.advance(end + 3 - this.pos);
  }

  private pi(atStart: boolean): void {
    this.advance(2);
    const target = this.name();
    const end = this.s.indexOf('?>', this.pos);
    if (end < 0) this.fail('unterminated processing instruction');
    const body = this.s.slice(this.pos, end);
    if (target.toLowerCase() === 'xml') {
      if (target !== 'xml' || !atStart) this.fail('the XML declaration must come first in the file');
      const version = /version\s*=\s*["']([^"']*)["']/.exec(body)?.[1];
      if (version !== '1.0' && version !== '1.1') this.fail(`unsupported XML version ${JSON.stringify(version)}`);
      const enc = /encoding\s*=\s*["']([^"']*)["']/.exec(body)?.[1];
      if (enc !== undefined && !/^utf-?8$/i.test(enc)) throw new HangarError('unsupported', `${this.source}: XML encoding ${enc} is not supported (only UTF-8)`);
    }
    this.advance(end + 2 - this.pos);
  }

  parse(): XmlElement {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    const declAt = this.pos;
    this.skipSpace();
    if (this.startsWith('<?xml') && this.pos !== declAt) this.fail('the XML declaration must come first in the file');
    this.pos = declAt;
    if (this.startsWith('<?xml')) this.pi(true);
    this.skipMisc(false);
    if (!this.startsWith('<')) this.fail('no root element');
    const root = this.element(new Map([['xml', XML_NS]]), 0);
    this.skipMisc(false);
    if (this.pos < this.s.length) this.fail('content after the root element');
    return root;
  }

  private element(parentScope: Map<string, string>, depth: number): XmlElement {
    if (depth > MAX_DEPTH) this.fail(`elements nested deeper than ${MAX_DEPTH}`);
    const line = this.line;
    this.advance(1); // '<'
    const qname = this.name();
    const rawAttrs: { name: string; value: string }[] = [];
    for (;;) {
      const spaced = this.skipSpace();
      if (this.startsWith('/>') || this.startsWith('>')) break;
      if (!spaced) this.fail(`expected whitespace before an attribute in <${qname}>`);
      const an = this.name();
      this.skipSpace();
      if (this.s[this.pos] !== '=') this.fail(`attribute ${an} of <${qname}> has no value`);
      this.advance(1);
      this.skipSpace();
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'") this.fail(`attribute ${an} of <${qname}> is not quoted`);
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0) this.fail(`unterminated value of attribute ${an}`);
      const value = this.decode(this.s.slice(this.pos + 1, end), true);
      this.advance(end + 1 - this.pos);
      if (rawAttrs.some((a) => a.name === an)) this.fail(`attribute ${an} appears twice in <${qname}>`);
      rawAttrs.push({ name: an, value });
    }
    const scope = new Map(parentScope);
    for (const a of rawAttrs) {
      if (a.name === 'xmlns') scope.set('', a.value);
      else if (a.name.startsWith('xmlns:')) {
        const p = a.name.slice(6);
        if (a.value === '') this.fail(`namespace prefix ${p} bound to an empty URI`);
        scope.set(p, a.value);
      }
    }
    const resolve = (qn: string, isAttr: boolean): { local: string; ns: string } => {
      const colon = qn.indexOf(':');
      if (colon < 0) return { local: qn, ns: isAttr ? '' : (scope.get('') ?? '') };
      const prefix = qn.slice(0, colon);
      const local = qn.slice(colon + 1);
      if (!local || local.includes(':')) this.fail(`malformed qualified name ${qn}`);
      const ns = prefix === 'xmlns' ? XMLNS_NS : scope.get(prefix);
      if (ns === undefined) this.fail(`namespace prefix "${prefix}" of ${qn} is not declared`);
      return { local, ns };
    };
    const el: XmlElement = { name: qname, ...resolve(qname, false), attrs: [], children: [], line };
    const seen = new Set<string>();
    for (const a of rawAttrs) {
      const r = a.name === 'xmlns' ? { local: 'xmlns', ns: XMLNS_NS } : resolve(a.name, true);
      const key = `${r.ns}|${r.local}`;
      if (seen.has(key)) this.fail(`attribute {${r.ns}}${r.local} appears twice in <${qname}>`);
      seen.add(key);
      el.attrs.push({ name: a.name, ...r, value: a.value });
    }
    if (this.startsWith('/>')) {
      this.advance(2);
      return el;
    }
    this.advance(1); // '>'
    for (;;) {
      if (this.pos >= this.s.length) this.fail(`<${qname}> (line ${line}) is never closed`);
      if (this.startsWith('</')) {
        this.advance(2);
        const endName = this.name();
        if (endName !== qname) this.fail(`</${endName}> closes <${qname}> opened at line ${line}`);
        this.skipSpace();
        if (this.s[this.pos] !== '>') this.fail(`malformed end tag </${endName}>`);
        this.advance(1);
        return el;
      }
      if (this.startsWith('<!--')) this.comment();
      else if (this.startsWith('<![CDATA[')) {
        const end = this.s.indexOf(']]>', this.pos);
        if (end < 0) this.fail('unterminated CDATA section');
        el.children.push(this.s.slice(this.pos + 9, end));
        this.advance(end + 3 - this.pos);
      } else if (this.startsWith('<?')) this.pi(false);
      else if (this.startsWith('<!')) this.fail('DOCTYPE or markup declarations are not accepted');
      else if (this.startsWith('<')) el.children.push(this.element(scope, depth + 1));
      else {
        const next = this.s.indexOf('<', this.pos);
        const end = next < 0 ? this.s.length : next;
        const raw = this.s.slice(this.pos, end);
        if (raw.includes(']]>')) this.fail('"]]>" in text');
        el.children.push(this.decode(raw, false));
        this.advance(end - this.pos);
      }
    }
  }
}

/** Parse a whole document; `source` names it in error messages. */
export function parseXml(text: string, source: string): XmlElement {
  return new Parser(text, source).parse();
}

// ---- navigation helpers -------------------------------------------------------------------

export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

/** Child elements with this local name whose namespace is one of `ns` (any namespace when empty). */
export function childrenNamed(el: XmlElement, local: string, ns: readonly string[] = []): XmlElement[] {
  return elements(el).filter((c) => c.local === local && (ns.length === 0 || ns.includes(c.ns)));
}

export function childNamed(el: XmlElement, local: string, ns: readonly string[] = []): XmlElement | undefined {
  return childrenNamed(el, local, ns)[0];
}

/** Concatenated text content of an element (its own text nodes and descendants'). */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

/** Attribute by namespace and local name; `ns` may list several accepted namespaces ('' = unprefixed). */
export function attrOf(el: XmlElement, local: string, ns: readonly string[]): string | undefined {
  for (const n of ns) {
    const a = el.attrs.find((x) => x.local === local && x.ns === n);
    if (a) return a.value;
  }
  return undefined;
}
