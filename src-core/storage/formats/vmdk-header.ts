// VMDK hosted sparse extent header ("KDMV", 512 bytes, little-endian) and the stream-optimized
// markers. Offsets and sizes in the header are in 512-byte sectors.
import { corrupt, MAX_VIRTUAL_SIZE, unsupported } from './vdi-vhd-vmdk-common.ts';

export const VMDK_MAGIC = 0x564d444b; // "KDMV" read little-endian
export const GD_AT_END = 0xffffffffffffffffn;
export const FLAG_NEWLINE_TEST = 1 << 0;
export const FLAG_REDUNDANT_GT = 1 << 1;
export const FLAG_ZERO_GRAIN = 1 << 2; // a grain-table entry of 1 means "reads as zeros"
export const FLAG_COMPRESSED = 1 << 16;
export const FLAG_MARKERS = 1 << 17;
export const COMPRESSION_DEFLATE = 1;
export const MARKER_EOS = 0;
export const MARKER_GT = 1;
export const MARKER_GD = 2;
export const MARKER_FOOTER = 3;
/** Bounds on untrusted fields: grains up to 2 MiB (as QEMU), at most 4 Mi grain-directory entries. */
const MAX_GRAIN_SECTORS = 4096;
const MAX_GTES_PER_GT = 4096;
export const MAX_GD_ENTRIES = 4 * 2 ** 20;
/** 512 MiB of grain tables: a 2 TiB disk with 64 KiB grains needs 128 MiB. */
const MAX_GT_BYTES = 512 * 2 ** 20;

export interface SparseHeader {
  version: number;
  flags: number;
  capacity: number; // sectors
  grainSize: number; // sectors
  descriptorOffset: number;
  descriptorSize: number;
  numGTEsPerGT: number;
  rgdOffset: number;
  gdOffset: bigint; // GD_AT_END for stream-optimized images with a footer
  overHead: number;
  uncleanShutdown: number;
  compressAlgorithm: number;
}

export function isVmdkSparse(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) === VMDK_MAGIC;
}

export function parseSparseHeader(path: string, b: Uint8Array): SparseHeader {
  if (b.length < 512 || !isVmdkSparse(b)) throw corrupt(path, 'missing VMDK sparse extent header');
  const dv = new DataView(b.buffer, b.byteOffset, 512);
  const u64 = (at: number) => dv.getBigUint64(at, true);
  const num = (at: number, what: string) => {
    const v = u64(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) / 512n) throw corrupt(path, `VMDK ${what} ${v} is out of range`);
    return Number(v);
  };
  const h: SparseHeader = {
    version: dv.getUint32(4, true),
    flags: dv.getUint32(8, true),
    capacity: num(12, 'capacity'),
    grainSize: num(20, 'grain size'),
    descriptorOffset: num(28, 'descriptor offset'),
    descriptorSize: num(36, 'descriptor size'),
    numGTEsPerGT: dv.getUint32(44, true),
    rgdOffset: num(48, 'redundant grain directory offset'),
    gdOffset: u64(56),
    overHead: num(64, 'overhead'),
    uncleanShutdown: b[72]!,
    compressAlgorithm: dv.getUint16(77, true),
  };
  if (h.version < 1 || h.version > 3) throw unsupported(path, `VMDK sparse extent version ${h.version}`);
  if (h.flags & FLAG_NEWLINE_TEST && (b[73] !== 0x0a || b[74] !== 0x20 || b[75] !== 0x0d || b[76] !== 0x0a)) {
    throw corrupt(path, 'VMDK newline check failed (the file was altered by a text-mode transfer)');
  }
  if (h.capacity * 512 > MAX_VIRTUAL_SIZE) throw unsupported(path, `VMDK capacity of ${h.capacity} sectors is too large`);
  const g = h.grainSize;
  if (g < 1 || g > MAX_GRAIN_SECTORS || (g & (g - 1)) !== 0) throw corrupt(path, `VMDK grain size ${g} sectors is invalid`);
  const n = h.numGTEsPerGT;
  if (n < 1 || n > MAX_GTES_PER_GT || (n & (n - 1)) !== 0) throw corrupt(path, `VMDK has ${n} entries per grain table`);
  if (h.flags & FLAG_COMPRESSED && h.compressAlgorithm !== COMPRESSION_DEFLATE) {
    throw unsupported(path, `VMDK compression algorithm ${h.compressAlgorithm}`);
  }
  if (gdEntries(h) > MAX_GD_ENTRIES) throw unsupported(path, `VMDK grain directory of ${gdEntries(h)} entries is too large`);
  // All grain tables together (what a stream-optimized writer keeps in memory) stay bounded.
  if (gdEntries(h) * n * 4 > MAX_GT_BYTES) throw unsupported(path, `VMDK grain tables of ${gdEntries(h) * n * 4} bytes are too large`);
  return h;
}

export function gdEntries(h: SparseHeader): number {
  return Math.ceil(h.capacity / (h.grainSize * h.numGTEsPerGT));
}

export function serializeSparseHeader(h: SparseHeader): Uint8Array {
  const b = new Uint8Array(512);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, VMDK_MAGIC, true);
  dv.setUint32(4, h.version, true);
  dv.setUint32(8, h.flags, true);
  dv.setBigUint64(12, BigInt(h.capacity), true);
  dv.setBigUint64(20, BigInt(h.grainSize), true);
  dv.setBigUint64(28, BigInt(h.descriptorOffset), true);
  dv.setBigUint64(36, BigInt(h.descriptorSize), true);
  dv.setUint32(44, h.numGTEsPerGT, true);
  dv.setBigUint64(48, BigInt(h.rgdOffset), true);
  dv.setBigUint64(56, h.gdOffset, true);
  dv.setBigUint64(64, BigInt(h.overHead), true);
  b[72] = h.uncleanShutdown;
  b[73] = 0x0a;
  b[74] = 0x20;
  b[75] = 0x0d;
  b[76] = 0x0a;
  dv.setUint16(77, h.compressAlgorithm, true);
  return b;
}

/** A stream-optimized metadata marker sector: {numSectors, size = 0, type}. */
export function metadataMarker(numSectors: number, type: number): Uint8Array {
  const b = new Uint8Array(512);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(numSectors), true);
  dv.setUint32(12, type, true);
  return b;
}
