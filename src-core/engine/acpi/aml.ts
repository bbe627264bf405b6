// A tiny AML encoder: just the opcodes the DSDT needs (names, scopes, devices, packages,
// integers, strings, buffers, EISA ids). Each function returns the encoded bytes, so a table
// is built by nesting calls, mirroring the ASL it stands for.

export type Aml = number[];

/** PkgLength: the length of what follows *including* the PkgLength bytes themselves. */
export function pkgLength(contentLength: number): Aml {
  for (let n = 1; n <= 4; n++) {
    const total = contentLength + n;
    if (n === 1 && total < 0x40) return [total];
    if (n > 1 && total < 1 << (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0x0f)];
      for (let i = 1; i < n; i++) out.push((total >> (4 + 8 * (i - 1))) & 0xff);
      return out;
    }
  }
  throw new RangeError(`AML package of ${contentLength} bytes is too long`);
}

function nameSeg(seg: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new Error(`invalid AML name segment "${seg}"`);
  return [...seg.padEnd(4, '_')].map((c) => c.charCodeAt(0));
}

/** NameString: "\\_SB.PCI0", "_HID", "^FOO" style paths. */
export function nameString(path: string): Aml {
  const out: Aml = [];
  let rest = path;
  while (rest.startsWith('\\') || rest.startsWith('^')) {
    out.push(rest.charCodeAt(0));
    rest = rest.slice(1);
  }
  const segs = rest === '' ? [] : rest.split('.');
  if (segs.length === 0) out.push(0x00);
  else if (segs.length === 2) out.push(0x2e);
  else if (segs.length > 2) out.push(0x2f, segs.length);
  for (const s of segs) out.push(...nameSeg(s));
  return out;
}

export function integer(v: number | bigint): Aml {
  const n = BigInt(v);
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError(`AML integer ${v} out of range`);
  if (n === 0n) return [0x00];
  if (n === 1n) return [0x01];
  if (n === 0xffff_ffff_ffff_ffffn) return [0xff];
  const le = (bytes: number) => Array.from({ length: bytes }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  if (n <= 0xffn) return [0x0a, ...le(1)];
  if (n <= 0xffffn) return [0x0b, ...le(2)];
  if (n <= 0xffff_ffffn) return [0x0c, ...le(4)];
  return [0x0e, ...le(8)];
}

export function string(s: string): Aml {
  if (!/^[\x01-\x7f]*$/.test(s)) throw new Error('AML strings are 7-bit ASCII without NUL');
  return [0x0d, ...[...s].map((c) => c.charCodeAt(0)), 0x00];
}

export function name(path: string, value: Aml): Aml {
  return [0x08, ...nameString(path), ...value];
}

export function scope(path: string, ...body: Aml[]): Aml {
  const content = [...nameString(path), ...body.flat()];
  return [0x10, ...pkgLength(content.length), ...content];
}

export function device(path: string, ...body: Aml[]): Aml {
  const content = [...nameString(path), ...body.flat()];
  return [0x5b, 0x82, ...pkgLength(content.length), ...content];
}

export function pkg(...elements: Aml[]): Aml {
  if (elements.length > 255) throw new RangeError('AML Package holds at most 255 elements here');
  const content = [elements.length, ...elements.flat()];
  return [0x12, ...pkgLength(content.length), ...content];
}

export function buffer(bytes: number[]): Aml {
  const content = [...integer(bytes.length), ...bytes];
  return [0x11, ...pkgLength(content.length), ...content];
}

/** Method with no arguments returning a constant: Method(NAME, 0, NotSerialized) { Return(v) }. */
export function methodReturning(path: string, value: Aml): Aml {
  const content = [...nameString(path), 0x00, 0xa4, ...value];
  return [0x14, ...pkgLength(content.length), ...content];
}

/** EISAID("PNP0A03") as the compressed 32-bit id AML uses. */
export function eisaId(id: string): Aml {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new Error(`invalid EISA id "${id}"`);
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const vendor = (c(0) << 10) | (c(1) << 5) | c(2);
  const product = parseInt(id.slice(3), 16);
  // Stored big-endian vendor then product, read by AML as a little-endian dword.
  const v = ((vendor >> 8) | ((vendor & 0xff) << 8) | ((product >> 8) << 16) | ((product & 0xff) << 24)) >>> 0;
  return integer(v);
}

// ---- resource descriptors (for _CRS buffers) -----------------------------------------------

export function ioPort(base: number, length: number): number[] {
  return [0x47, 0x01, base & 0xff, base >> 8, base & 0xff, base >> 8, 0x01, length];
}

export function irqNoFlags(irq: number): number[] {
  const mask = 1 << irq;
  return [0x22, mask & 0xff, mask >> 8];
}

const u16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** Word address space descriptor: bus number (type 2) or I/O (type 1) window, producer. */
export function wordSpace(type: 1 | 2, min: number, max: number): number[] {
  const typeFlags = type === 1 ? 0x03 : 0x00;
  return [0x88, 0x0d, 0x00, type, 0x0c, typeFlags, ...u16(0), ...u16(min), ...u16(max), ...u16(0), ...u16(max - min + 1)];
}

/** DWord memory window (read/write, cacheable), producer. */
export function dwordMemory(min: number, max: number): number[] {
  return [0x87, 0x17, 0x00, 0x00, 0x0c, 0x03, ...u32(0), ...u32(min), ...u32(max), ...u32(0), ...u32(max - min + 1)];
}

export function endTag(): number[] {
  return [0x79, 0x00];
}
