// VirtualBox VDI header (version 1.1), little-endian. Layout from the pre-header at 0x40:
// signature 0xbeda107f, version, header size, then the v1 header: type, flags, description,
// block-map and data offsets, legacy geometry, disk size, block size, extra bytes per block,
// block counts, and four UUIDs (image, last modification, parent image, parent modification).
import { corrupt, MAX_VIRTUAL_SIZE, unsupported } from './vdi-vhd-vmdk-common.ts';

export const VDI_SIGNATURE = 0xbeda107f;
export const VDI_VERSION_1_1 = 0x00010001;
export const VDI_TYPE_DYNAMIC = 1;
export const VDI_TYPE_FIXED = 2;
export const VDI_TYPE_UNDO = 3;
export const VDI_TYPE_DIFF = 4;
/** Block-map value: block not allocated here (zeros, or the parent's data in a diff image). */
export const VDI_BLOCK_FREE = 0xffffffff;
/** Block-map value: block reads as zeros even in a differencing image. */
export const VDI_BLOCK_ZERO = 0xfffffffe;
export const VDI_HEADER_BYTES = 512;
const HEADER_SIZE_V1 = 0x180; // up to and including the parent-modification UUID
const HEADER_SIZE_V1_PLUS = 0x190; // VirtualBox adds the LCHS geometry
/** Bounds on untrusted fields: 64 MiB blocks (VirtualBox uses 1 MiB), 64 Mi blocks (a 256 MiB map). */
const MAX_BLOCK_SIZE = 64 * 2 ** 20;
const MAX_BLOCKS = 64 * 2 ** 20;

export interface VdiHeader {
  headerSize: number;
  type: number;
  flags: number;
  offsetBmap: number;
  offsetData: number;
  diskSize: number;
  blockSize: number;
  blockExtra: number;
  blocks: number;
  allocated: number;
  uuidImage: Uint8Array;
  uuidModify: Uint8Array;
  uuidLink: Uint8Array;
  uuidParentModify: Uint8Array;
}

export function probeVdi(head: Uint8Array): boolean {
  if (head.length < 0x48) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.length);
  return dv.getUint32(0x40, true) === VDI_SIGNATURE;
}

/** Parse and validate the first 512 bytes. fileSize bounds the tables that the header places. */
export function parseVdiHeader(path: string, b: Uint8Array, fileSize: number): VdiHeader {
  if (b.length < VDI_HEADER_BYTES) throw corrupt(path, 'file too small for a VDI header');
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  if (dv.getUint32(0x40, true) !== VDI_SIGNATURE) throw corrupt(path, 'missing VDI signature');
  const version = dv.getUint32(0x44, true);
  if (version >>> 16 !== 1) throw unsupported(path, `VDI version ${version >>> 16}.${version & 0xffff} (only 1.x is supported)`);
  const h: VdiHeader = {
    headerSize: dv.getUint32(0x48, true),
    type: dv.getUint32(0x4c, true),
    flags: dv.getUint32(0x50, true),
    offsetBmap: dv.getUint32(0x154, true),
    offsetData: dv.getUint32(0x158, true),
    diskSize: Number(dv.getBigUint64(0x170, true)),
    blockSize: dv.getUint32(0x178, true),
    blockExtra: dv.getUint32(0x17c, true),
    blocks: dv.getUint32(0x180, true),
    allocated: dv.getUint32(0x184, true),
    uuidImage: b.slice(0x188, 0x198),
    uuidModify: b.slice(0x198, 0x1a8),
    uuidLink: b.slice(0x1a8, 0x1b8),
    uuidParentModify: b.slice(0x1b8, 0x1c8),
  };
  if (h.headerSize < HEADER_SIZE_V1 || h.headerSize > VDI_HEADER_BYTES - 0x48) {
    throw corrupt(path, `VDI header size ${h.headerSize} is invalid`);
  }
  if (h.type === VDI_TYPE_UNDO) throw unsupported(path, 'VDI undo images are not supported');
  if (h.type !== VDI_TYPE_DYNAMIC && h.type !== VDI_TYPE_FIXED && h.type !== VDI_TYPE_DIFF) {
    throw corrupt(path, `unknown VDI image type ${h.type}`);
  }
  const bs = h.blockSize;
  if (bs < 512 || bs > MAX_BLOCK_SIZE || (bs & (bs - 1)) !== 0) throw corrupt(path, `VDI block size ${bs} is invalid`);
  if (h.blockExtra % 512 !== 0 || h.blockExtra > MAX_BLOCK_SIZE) throw corrupt(path, `VDI extra block data size ${h.blockExtra} is invalid`);
  if (h.diskSize % 512 !== 0 || h.diskSize > MAX_VIRTUAL_SIZE) throw corrupt(path, `VDI disk size ${h.diskSize} is invalid`);
  if (h.blocks > MAX_BLOCKS) throw unsupported(path, `VDI block map of ${h.blocks} entries is too large`);
  if (h.blocks * bs < h.diskSize) throw corrupt(path, `VDI has ${h.blocks} blocks of ${bs} bytes, too few for ${h.diskSize} bytes`);
  if (h.allocated > h.blocks) throw corrupt(path, `VDI claims ${h.allocated} allocated blocks of ${h.blocks}`);
  if (h.offsetBmap % 512 !== 0 || h.offsetBmap < 0x48 + HEADER_SIZE_V1) throw corrupt(path, `VDI block map offset ${h.offsetBmap} is invalid`);
  if (h.offsetData % 512 !== 0 || h.offsetData < h.offsetBmap + h.blocks * 4) {
    throw corrupt(path, `VDI data offset ${h.offsetData} overlaps the block map`);
  }
  if (h.offsetBmap + h.blocks * 4 > fileSize) throw corrupt(path, 'VDI block map lies past the end of the file (truncated)');
  return h;
}

export function serializeVdiHeader(h: VdiHeader): Uint8Array {
  const b = new Uint8Array(VDI_HEADER_BYTES);
  const dv = new DataView(b.buffer);
  b.set(new TextEncoder().encode('<<< Oracle VM VirtualBox Disk Image >>>\n'), 0);
  dv.setUint32(0x40, VDI_SIGNATURE, true);
  dv.setUint32(0x44, VDI_VERSION_1_1, true);
  dv.setUint32(0x48, HEADER_SIZE_V1_PLUS, true);
  dv.setUint32(0x4c, h.type, true);
  dv.setUint32(0x50, h.flags, true);
  dv.setUint32(0x154, h.offsetBmap, true);
  dv.setUint32(0x158, h.offsetData, true);
  dv.setUint32(0x168, 512, true); // legacy geometry sector size
  dv.setBigUint64(0x170, BigInt(h.diskSize), true);
  dv.setUint32(0x178, h.blockSize, true);
  dv.setUint32(0x17c, h.blockExtra, true);
  dv.setUint32(0x180, h.blocks, true);
  dv.setUint32(0x184, h.allocated, true);
  b.set(h.uuidImage, 0x188);
  b.set(h.uuidModify, 0x198);
  b.set(h.uuidLink, 0x1a8);
  b.set(h.uuidParentModify, 0x1b8);
  dv.setUint32(0x1d4, 512, true); // LCHS sector size; geometry left for the VMM to choose
  return b;
}
