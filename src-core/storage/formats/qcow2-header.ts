// qcow2 header: parsing with every field bounded before use, and serialisation for create.
// Layout (big-endian) from QEMU's docs/interop/qcow2.txt. v2 headers are 72 bytes; v3 add
// feature bits, refcount order and header length (104+, 112 with compression type).
import { corrupt, unsupported } from '../errors.ts';

export const QCOW2_MAGIC = 0x514649fb;
export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_TABLE = 0x6803f857;
export const EXT_DATA_FILE = 0x44415441;

export const INCOMPAT_DIRTY = 1;
export const INCOMPAT_CORRUPT = 2;
export const INCOMPAT_DATA_FILE = 4;
export const INCOMPAT_COMPRESSION = 8;
export const INCOMPAT_EXTL2 = 16;

// Bounds QEMU itself uses; anything larger is refused before we allocate for it.
export const MAX_L1_BYTES = 32 << 20;
export const MAX_REFTABLE_BYTES = 8 << 20;
export const MAX_SNAPSHOTS = 65536;
export const MAX_VIRTUAL_SIZE = 2 ** 52; // keeps every byte offset an exact JS number
export const MAX_HOST_OFFSET = 2 ** 52;

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: number; // low 32 bits; unknown high bits are rejected at parse
  compatible: number;
  autoclear: number;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  backingFile?: string;
  backingFormat?: string;
  hasDataFile: boolean;
}

function u64(dv: DataView, off: number, path: string, what: string): number {
  const hi = dv.getUint32(off);
  const lo = dv.getUint32(off + 4);
  const v = hi * 2 ** 32 + lo;
  if (v > Number.MAX_SAFE_INTEGER) throw corrupt(path, `${what} ${hi.toString(16)}${lo.toString(16).padStart(8, '0')}h is out of range`);
  return v;
}

export function writeU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, Math.floor(v / 2 ** 32));
  dv.setUint32(off + 4, v >>> 0);
}

/** Parse and validate the first cluster-or-less of a qcow2 file (`head` holds at least 4 KiB or the whole file). */
export function parseHeader(head: Uint8Array, path: string, fileSize: number): Qcow2Header {
  if (head.length < 72) throw corrupt(path, 'file too small for a qcow2 header');
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (dv.getUint32(0) !== QCOW2_MAGIC) throw corrupt(path, 'not a qcow2 image (bad magic)');
  const version = dv.getUint32(4);
  if (version !== 2 && version !== 3) throw unsupported(path, `qcow2 version ${version} is not supported (only 2 and 3)`);
  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(dv, 8, path, 'backing file offset'),
    backingFileSize: dv.getUint32(16),
    clusterBits: dv.getUint32(20),
    size: u64(dv, 24, path, 'virtual size'),
    cryptMethod: dv.getUint32(32),
    l1Size: dv.getUint32(36),
    l1TableOffset: u64(dv, 40, path, 'L1 table offset'),
    refcountTableOffset: u64(dv, 48, path, 'refcount table offset'),
    refcountTableClusters: dv.getUint32(56),
    nbSnapshots: dv.getUint32(60),
    snapshotsOffset: u64(dv, 64, path, 'snapshot table offset'),
    incompatible: 0,
    compatible: 0,
    autoclear: 0,
    refcountOrder: 4,
    headerLength: 72,
    compressionType: 0,
    hasDataFile: false,
  };
  if (h.clusterBits < 9 || h.clusterBits > 21) throw corrupt(path, `cluster bits ${h.clusterBits} outside 9..21`);
  const cs = 2 ** h.clusterBits;
  if (version === 3) {
    if (head.length < 104) throw corrupt(path, 'file too small for a qcow2 v3 header');
    const incHi = dv.getUint32(72);
    h.incompatible = dv.getUint32(76);
    h.compatible = dv.getUint32(84);
    h.autoclear = dv.getUint32(92);
    h.refcountOrder = dv.getUint32(96);
    h.headerLength = dv.getUint32(100);
    if (h.headerLength < 104 || h.headerLength > Math.min(cs, head.length)) throw corrupt(path, `header length ${h.headerLength} is invalid`);
    if (h.headerLength > 104) h.compressionType = head[104]!;
    const known = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;
    if (incHi !== 0 || (h.incompatible & ~known) !== 0)
      throw unsupported(path, `qcow2 image uses unknown incompatible features (${incHi.toString(16)}:${h.incompatible.toString(16)})`);
    if (h.incompatible & INCOMPAT_DATA_FILE) throw unsupported(path, 'qcow2 images with an external data file are not supported');
    if (h.incompatible & INCOMPAT_EXTL2) throw unsupported(path, 'qcow2 images with extended L2 entries (subclusters) are not supported');
    if (h.incompatible & INCOMPAT_COMPRESSION) {
      if (h.headerLength <= 104) throw corrupt(path, 'compression type feature set but header has no compression type field');
      if (h.compressionType !== 0) throw unsupported(path, `qcow2 compression type ${h.compressionType} (zstd) is not supported; only zlib`);
    } else if (h.compressionType !== 0) throw corrupt(path, 'compression type set without the compression type feature bit');
  }
  if (h.refcountOrder > 6) throw corrupt(path, `refcount order ${h.refcountOrder} exceeds 6`);
  if (h.cryptMethod !== 0) throw unsupported(path, 'encrypted qcow2 images are not supported');
  if (h.size > MAX_VIRTUAL_SIZE) throw unsupported(path, `virtual size ${h.size} is too large`);
  const l2Entries = cs / 8;
  const needL1 = Math.ceil(h.size / (cs * l2Entries));
  if (h.l1Size < needL1) throw corrupt(path, `L1 table has ${h.l1Size} entries but the disk size needs ${needL1}`);
  if (h.l1Size * 8 > MAX_L1_BYTES) throw corrupt(path, `L1 table size ${h.l1Size} is too large`);
  if (h.refcountTableClusters === 0) throw corrupt(path, 'refcount table is empty');
  if (h.refcountTableClusters * cs > MAX_REFTABLE_BYTES) throw corrupt(path, `refcount table of ${h.refcountTableClusters} clusters is too large`);
  if (h.nbSnapshots > MAX_SNAPSHOTS) throw corrupt(path, `${h.nbSnapshots} snapshots is more than ${MAX_SNAPSHOTS}`);
  checkTable(path, 'L1 table', h.l1TableOffset, h.l1Size * 8, cs, fileSize, h.l1Size > 0);
  checkTable(path, 'refcount table', h.refcountTableOffset, h.refcountTableClusters * cs, cs, fileSize, true);
  if (h.nbSnapshots > 0) checkTable(path, 'snapshot table', h.snapshotsOffset, 1, cs, fileSize, true);

  // Header extensions follow the fixed header and end with type 0; they must stay in cluster 0.
  let off = version === 3 ? h.headerLength : 72;
  const limit = Math.min(cs, head.length);
  for (let n = 0; ; n++) {
    if (n > 1024) throw corrupt(path, 'too many header extensions');
    if (off + 8 > limit) {
      if (off === limit && version === 2) break; // a v2 header may fill the cluster exactly
      throw corrupt(path, 'header extensions run past the first cluster');
    }
    const type = dv.getUint32(off);
    const len = dv.getUint32(off + 4);
    if (type === EXT_END) break;
    const data = off + 8;
    if (len > limit - data) throw corrupt(path, `header extension ${type.toString(16)} runs past the first cluster`);
    if (type === EXT_BACKING_FORMAT) {
      h.backingFormat = new TextDecoder().decode(head.subarray(data, data + len)).replace(/\0+$/, '');
    } else if (type === EXT_DATA_FILE) {
      h.hasDataFile = true;
    }
    off = data + Math.ceil(len / 8) * 8;
  }

  if (h.backingFileOffset !== 0) {
    if (h.backingFileSize === 0 || h.backingFileSize > 1023) throw corrupt(path, `backing file name length ${h.backingFileSize} is invalid`);
    if (h.backingFileOffset + h.backingFileSize > limit) throw corrupt(path, 'backing file name lies outside the first cluster');
    h.backingFile = new TextDecoder().decode(head.subarray(h.backingFileOffset, h.backingFileOffset + h.backingFileSize));
  }
  return h;
}

function checkTable(path: string, what: string, offset: number, bytes: number, cs: number, fileSize: number, required: boolean): void {
  if (!required) return;
  if (offset === 0 || offset % cs !== 0) throw corrupt(path, `${what} offset ${offset} is not a non-zero multiple of the cluster size`);
  if (offset > MAX_HOST_OFFSET || offset + bytes > fileSize) throw corrupt(path, `${what} at ${offset} (+${bytes} bytes) lies past the end of the file (${fileSize} bytes)`);
}

export interface NewHeader {
  clusterBits: number;
  size: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  backingFile?: string;
  backingFormat?: string;
}

/** Bytes of a fresh v3 header (refcount order 4, no features) with its extensions, padded to a cluster. */
export function buildHeader(n: NewHeader): Uint8Array {
  const cs = 2 ** n.clusterBits;
  const out = new Uint8Array(cs);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, QCOW2_MAGIC);
  dv.setUint32(4, 3);
  dv.setUint32(20, n.clusterBits);
  writeU64(dv, 24, n.size);
  dv.setUint32(36, n.l1Size);
  writeU64(dv, 40, n.l1TableOffset);
  writeU64(dv, 48, n.refcountTableOffset);
  dv.setUint32(56, n.refcountTableClusters);
  dv.setUint32(96, 4);
  dv.setUint32(100, 112); // compression type byte at 104 = 0 (zlib), padded to 112
  let off = 112;
  const enc = new TextEncoder();
  const ext = (type: number, data: Uint8Array) => {
    dv.setUint32(off, type);
    dv.setUint32(off + 4, data.length);
    out.set(data, off + 8);
    off += 8 + Math.ceil(data.length / 8) * 8;
  };
  if (n.backingFormat) ext(EXT_BACKING_FORMAT, enc.encode(n.backingFormat));
  // Feature name table so qemu-img can name the dirty bit it sees after a crash.
  const names: [number, number, string][] = [
    [0, 0, 'dirty bit'],
    [0, 1, 'corrupt bit'],
    [0, 3, 'compression type'],
  ];
  const table = new Uint8Array(names.length * 48);
  names.forEach(([type, bit, name], i) => {
    table[i * 48] = type;
    table[i * 48 + 1] = bit;
    table.set(enc.encode(name), i * 48 + 2);
  });
  ext(EXT_FEATURE_TABLE, table);
  dv.setUint32(off, EXT_END);
  dv.setUint32(off + 4, 0);
  off += 8;
  if (n.backingFile) {
    const name = enc.encode(n.backingFile);
    if (name.length > 1023 || off + name.length > cs) throw new Error('backing file name too long');
    writeU64(dv, 8, off);
    dv.setUint32(16, name.length);
    out.set(name, off);
  }
  return out;
}
