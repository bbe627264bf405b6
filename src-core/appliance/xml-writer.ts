// Building XML text. Elements are plain objects so the OVF writer reads like the document it
// produces; escaping happens in one place so every value, whatever it holds, stays well-formed.

export interface XNode {
  name: string;
  attrs?: Record<string, string | number | undefined>;
  children?: (XNode | undefined)[];
  text?: string;
}

/** Shorthand constructor: `x('ovf:File', { 'ovf:href': 'a.vmdk' })`. */
export function x(name: string, attrs?: XNode['attrs'], ...children: (XNode | string | undefined)[]): XNode {
  const kids: XNode[] = [];
  let text: string | undefined;
  for (const c of children) {
    if (c === undefined) continue;
    if (typeof c === 'string') text = (text ?? '') + c;
    else kids.push(c);
  }
  if (text !== undefined && kids.length) throw new Error(`xml-writer: <${name}> mixes text and elements`);
  return { name, attrs, children: kids, text };
}

// Characters XML 1.0 cannot carry at all (C0 controls other than tab/newline/CR, lone surrogates).
// eslint-disable-next-line no-control-regex
const ILLEGAL = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function escapeText(s: string): string {
  return s.replace(ILLEGAL, '\ufffd').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

function write(node: XNode, indent: string, out: string[]): void {
  const attrs = Object.entries(node.attrs ?? {})
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
    .join('');
  const kids = (node.children ?? []).filter((c): c is XNode => c !== undefined);
  if (!kids.length && node.text === undefined) {
    out.push(`${indent}<${node.name}${attrs}/>`);
  } else if (!kids.length) {
    out.push(`${indent}<${node.name}${attrs}>${escapeText(node.text ?? '')}</${node.name}>`);
  } else {
    out.push(`${indent}<${node.name}${attrs}>`);
    for (const k of kids) write(k, indent + '  ', out);
    out.push(`${indent}</${node.name}>`);
  }
}

export function serializeXml(root: XNode): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  write(root, '', out);
  return out.join('\n') + '\n';
}
