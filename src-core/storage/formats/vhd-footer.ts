// VHD (Virtual PC / Hyper-V) on-disk structures, big-endian: the 512-byte footer at the end of
// every VHD (copied at offset 0 in dynamic and differencing images) and the 1024-byte dynamic
// disk header that locates the block allocation table (BAT) and the parent of a differencing disk.
import { corrupt, MAX_VIRTUAL_SIZE, unsupported } from './vdi-vhd-vmdk-common.ts';

export const VHD_TYPE_FIXED = 2;
export const VHD_TYPE_DYNAMIC = 3;
export const VHD_TYPE_DIFF = 4;
export const VHD_BAT_FREE = 0xffffffff;
const NO_OFFSET = 0xffffffffffffffffn;
/** 2040 GiB: the largest size the format's 32-bit sector arithmetic allows. */
export const VHD_MAX_SIZE = 2040 * 2 ** 30;
/** Seconds between the Unix epoch and the VHD epoch (2000-01-01T00:00:00Z). */
const VHD_EPOCH = 946684800;
const MAX_GEOMETRY = 65535 * 16 * 255;

export interface VhdFooter {
  features: number;
  dataOffset: bigint;
  timestamp: number;
  creatorApp: string;
  originalSize: number;
  currentSize: number;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  diskType: number;
  uniqueId: Uint8Array;
}

export interface VhdLocator {
  code: string;
  dataLength: number;
  dataOffset: number;
}

export interface VhdDynHeader {
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
  parentUniqueId: Uint8Array;
  parentName: string;
  locators: VhdLocator[];
}

function checksum(b: Uint8Array, skipAt: number): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) if (i < skipAt || i >= skipAt + 4) sum = (sum + b[i]!) >>> 0;
  return ~sum >>> 0;
}

const ascii = (b: Uint8Array) => String.fromCharCode(...b);

export function probeVhd(head: Uint8Array): boolean {
  return head.length >= 8 && ascii(head.subarray(0, 8)) === 'conectix';
}

/** Parse a footer; returns undefined when the cookie is absent, throws when it is damaged. */
export function parseVhdFooter(path: string, b: Uint8Array): VhdFooter | undefined {
  if (b.length < 512 || !probeVhd(b)) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, 512);
  if (dv.getUint32(64) !== checksum(b.subarray(0, 512), 64)) throw corrupt(path, 'VHD footer checksum mismatch');
  const f: VhdFooter = {
    features: dv.getUint32(8),
    dataOffset: dv.getBigUint64(16),
    timestamp: dv.getUint32(24),
    creatorApp: ascii(b.subarray(28, 32)),
    originalSize: Number(dv.getBigUint64(40)),
    currentSize: Number(dv.getBigUint64(48)),
    cylinders: dv.getUint16(56),
    heads: b[58]!,
    sectorsPerTrack: b[59]!,
    diskType: dv.getUint32(60),
    uniqueId: b.slice(68, 84),
  };
  const version = dv.getUint32(12);
  if (version >>> 16 !== 1) throw unsupported(path, `VHD format version ${version >>> 16}.${version & 0xffff}`);
  if (f.diskType !== VHD_TYPE_FIXED && f.diskType !== VHD_TYPE_DYNAMIC && f.diskType !== VHD_TYPE_DIFF) {
    throw corrupt(path, `unknown VHD disk type ${f.diskType}`);
  }
  return f;
}

/**
 * The virtual size. current_size is the truth, except for Virtual PC ("vpc ") and old QEMU
 * ("qemu") images, whose size is defined by the CHS geometry they record (as QEMU reads them);
 * the maximum geometry means "bigger than CHS can say", so current_size again.
 */
export function vhdVirtualSize(path: string, f: VhdFooter): number {
  let size = f.currentSize;
  const chs = f.cylinders * f.heads * f.sectorsPerTrack;
  if ((f.creatorApp === 'vpc ' || f.creatorApp === 'qemu') && chs !== MAX_GEOMETRY && chs * 512 <= f.currentSize) size = chs * 512;
  if (size % 512 !== 0 || size > VHD_MAX_SIZE || size > MAX_VIRTUAL_SIZE) throw corrupt(path, `VHD size ${size} is invalid`);
  return size;
}

export function serializeVhdFooter(f: VhdFooter): Uint8Array {
  const b = new Uint8Array(512);
  const dv = new DataView(b.buffer);
  b.set(new TextEncoder().encode('conectix'), 0);
  dv.setUint32(8, f.features);
  dv.setUint32(12, 0x00010000);
  dv.setBigUint64(16, f.dataOffset);
  dv.setUint32(24, f.timestamp);
  b.set(new TextEncoder().encode(f.creatorApp.padEnd(4).slice(0, 4)), 28);
  dv.setUint32(32, 0x00010000); // creator version
  dv.setUint32(36, 0x5769326b); // creator host OS "Wi2k"
  dv.setBigUint64(40, BigInt(f.originalSize));
  dv.setBigUint64(48, BigInt(f.currentSize));
  dv.setUint16(56, f.cylinders);
  b[58] = f.heads;
  b[59] = f.sectorsPerTrack;
  dv.setUint32(60, f.diskType);
  b.set(f.uniqueId, 68);
  dv.setUint32(64, checksum(b, 64));
  return b;
}

export function vhdTimestamp(d = new Date()): number {
  return Math.max(0, Math.floor(d.getTime() / 1000) - VHD_EPOCH) >>> 0;
}

/** CHS geometry by the algorithm in the VHD specification (appendix). */
export function vhdGeometry(size: number): { cylinders: number; heads: number; sectorsPerTrack: number } {
  let total = Math.floor(size / 512);
  if (total > MAX_GEOMETRY) total = MAX_GEOMETRY;
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}

export function newVhdFooter(size: number, diskType: number, uniqueId: Uint8Array): VhdFooter {
  return {
    features: 2,
    dataOffset: diskType === VHD_TYPE_FIXED ? NO_OFFSET : 512n,
    timestamp: vhdTimestamp(),
    creatorApp: 'hngr',
    originalSize: size,
    currentSize: size,
    ...exactGeometry(size),
    diskType,
    uniqueId,
  };
}

/**
 * The CHS geometry to record. When it does not describe the size exactly, record the maximum
 * geometry instead: readers that trust CHS for unknown creators (QEMU) then fall back to
 * current_size, so every reader agrees on the exact size.
 */
function exactGeometry(size: number): { cylinders: number; heads: number; sectorsPerTrack: number } {
  const g = vhdGeometry(size);
  if (g.cylinders * g.heads * g.sectorsPerTrack * 512 === size) return g;
  return { cylinders: 65535, heads: 16, sectorsPerTrack: 255 };
}

/** Dynamic disk header at footer.dataOffset (1024 bytes). */
export function parseVhdDynHeader(path: string, b: Uint8Array, fileSize: number): VhdDynHeader {
  if (b.length < 1024 || ascii(b.subarray(0, 8)) !== 'cxsparse') throw corrupt(path, 'VHD dynamic disk header missing');
  const dv = new DataView(b.buffer, b.byteOffset, 1024);
  if (dv.getUint32(36) !== checksum(b.subarray(0, 1024), 36)) throw corrupt(path, 'VHD dynamic header checksum mismatch');
  const tableOffset = Number(dv.getBigUint64(16));
  const maxTableEntries = dv.getUint32(28);
  const blockSize = dv.getUint32(32);
  if (blockSize < 4096 || blockSize > 32 * 2 ** 20 || (blockSize & (blockSize - 1)) !== 0) throw corrupt(path, `VHD block size ${blockSize} is invalid`);
  if (maxTableEntries > 2 ** 24) throw unsupported(path, `VHD block table of ${maxTableEntries} entries is too large`);
  if (tableOffset % 512 !== 0 || tableOffset + maxTableEntries * 4 > fileSize) throw corrupt(path, 'VHD block table lies outside the file');
  const nameBytes = b.subarray(64, 576);
  let nameLen = 0;
  while (nameLen + 1 < 512 && (nameBytes[nameLen] !== 0 || nameBytes[nameLen + 1] !== 0)) nameLen += 2;
  const parentName = Buffer.from(nameBytes.subarray(0, nameLen)).swap16().toString('utf16le');
  const locators: VhdLocator[] = [];
  for (let i = 0; i < 8; i++) {
    const at = 576 + i * 24;
    const code = ascii(b.subarray(at, at + 4));
    if (dv.getUint32(at) === 0) continue;
    locators.push({ code, dataLength: dv.getUint32(at + 8), dataOffset: Number(dv.getBigUint64(at + 16)) });
  }
  return { tableOffset, maxTableEntries, blockSize, parentUniqueId: b.slice(40, 56), parentName, locators };
}

export function serializeVhdDynHeader(h: { tableOffset: number; maxTableEntries: number; blockSize: number }): Uint8Array {
  const b = new Uint8Array(1024);
  const dv = new DataView(b.buffer);
  b.set(new TextEncoder().encode('cxsparse'), 0);
  dv.setBigUint64(8, NO_OFFSET);
  dv.setBigUint64(16, BigInt(h.tableOffset));
  dv.setUint32(24, 0x00010000);
  dv.setUint32(28, h.maxTableEntries);
  dv.setUint32(32, h.blockSize);
  dv.setUint32(36, checksum(b, 36));
  return b;
}
