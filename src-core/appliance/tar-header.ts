// USTAR header blocks: encoding (with a pax extended header for long names and for sizes over
// 8 GiB, plus GNU base-256 in the size field so pax-unaware GNU readers agree) and decoding.
import { HangarError } from '../api/errors.ts';

export const BLOCK = 512;
/** Largest size the 11 octal digits of a USTAR size field hold: 8 GiB - 1. */
export const USTAR_MAX_SIZE = 0o77777777777;

function putString(b: Buffer, off: number, len: number, s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > len) throw new Error(`tar: ${JSON.stringify(s)} does not fit in ${len} bytes`);
  bytes.copy(b, off);
}

function putOctal(b: Buffer, off: number, len: number, n: number): void {
  putString(b, off, len, n.toString(8).padStart(len - 1, '0') + '\0');
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
  return sum;
}

function ustarBlock(name: string, size: number, type: string, mtime: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  putString(b, 0, 100, name);
  putOctal(b, 100, 8, 0o644);
  putOctal(b, 108, 8, 0);
  putOctal(b, 116, 8, 0);
  if (size <= USTAR_MAX_SIZE) putOctal(b, 124, 12, size);
  else {
    // GNU base-256: high bit of the first byte set, big-endian value in the rest.
    b[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      b[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  putOctal(b, 136, 12, Math.floor(mtime));
  b.write(type, 156, 'latin1');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  putString(b, 265, 32, 'hangar');
  putString(b, 297, 32, 'hangar');
  putString(b, 148, 8, checksum(b).toString(8).padStart(6, '0') + '\0 ');
  return b;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Header block(s) for one regular file: a pax header first when the name or size needs it. */
export function fileHeader(name: string, size: number, mtime = Date.now() / 1000): Buffer {
  const nameFits = Buffer.byteLength(name) <= 100 && /^[\x20-\x7e]*$/.test(name);
  const records = (nameFits ? '' : paxRecord('path', name)) + (size > USTAR_MAX_SIZE ? paxRecord('size', String(size)) : '');
  const shortName = nameFits ? name : Buffer.from(name).subarray(0, 90).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
  const main = ustarBlock(shortName, size, '0', mtime);
  if (!records) return main;
  const data = Buffer.from(records, 'utf8');
  const pad = Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK);
  return Buffer.concat([ustarBlock(`PaxHeaders/${shortName}`.slice(0, 100), data.length, 'x', mtime), data, pad, main]);
}

export interface RawHeader {
  name: string;
  size: number;
  type: string;
  linkName: string;
}

function readString(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function readNumber(b: Buffer, off: number, len: number, what: string): number {
  if (b[off]! & 0x80) {
    if (b[off] !== 0x80) throw new HangarError('corrupt', `tar: negative or oversized ${what}`);
    let v = 0n;
    for (let i = off + 1; i < off + len; i++) v = (v << 8n) | BigInt(b[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new HangarError('corrupt', `tar: ${what} too large`);
    return Number(v);
  }
  const s = b.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new HangarError('corrupt', `tar: ${what} ${JSON.stringify(s)} is not an octal number`);
  return parseInt(s, 8);
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

export function parseHeader(b: Buffer): RawHeader {
  const stored = readNumber(b, 148, 8, 'checksum');
  if (stored !== checksum(b)) throw new HangarError('corrupt', 'tar: header checksum mismatch (not a tar archive, or damaged)');
  const magic = b.toString('latin1', 257, 263);
  const prefix = magic.startsWith('ustar') ? readString(b, 345, 155) : '';
  const name = readString(b, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    size: readNumber(b, 124, 12, 'size'),
    type: b[156] === 0 ? '0' : String.fromCharCode(b[156]!),
    linkName: readString(b, 157, 100),
  };
}

/** Parse pax records ("len key=value\n"...). */
export function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp < 0) throw new HangarError('corrupt', 'tar: malformed pax header');
    const len = Number(data.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= sp - off || off + len > data.length) throw new HangarError('corrupt', 'tar: malformed pax header record');
    const rec = data.toString('utf8', sp + 1, off + len - 1);
    const eq = rec.indexOf('=');
    if (eq < 0) throw new HangarError('corrupt', 'tar: malformed pax header record');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return out;
}
