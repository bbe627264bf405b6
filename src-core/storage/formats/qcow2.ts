// The qcow2 format: probe, open (v2 read-only, v3 read-write), create (v3), check, resize.
import type { CheckOptions, CheckResult, CreateOptions, FormatName, ImageFormat, OpenImage, OpenOptions, ResizeOptions } from '../format.ts';
import { HangarError } from '../../api/errors.ts';
import { HostFile } from '../host-file.ts';
import { corrupt, unsupported } from '../errors.ts';
import { backingNameFor, enterChain, resolveBackingPath } from '../backing.ts';
import { formatByName } from './index.ts';
import { openBacking } from '../open.ts';
import { INCOMPAT_CORRUPT, MAX_L1_BYTES, MAX_VIRTUAL_SIZE, QCOW2_MAGIC, buildHeader, parseHeader, writeU64 } from './qcow2-header.ts';
import type { Qcow2Header } from './qcow2-header.ts';
import { Refcounts } from './qcow2-refcount.ts';
import { readSnapshots } from './qcow2-snapshots.ts';
import { Qcow2Image } from './qcow2-image.ts';
import { checkQcow2 } from './qcow2-check.ts';
import { resizeQcow2 } from './qcow2-resize.ts';

// QEMU calls VHD "vpc"; the backing-format extension must use QEMU's driver names so qemu-img
// can open Hangar's overlays and the other way round.
const TO_QEMU: Partial<Record<FormatName, string>> = { vhd: 'vpc' };
const FROM_QEMU: Record<string, FormatName> = { vpc: 'vhd', raw: 'raw', qcow2: 'qcow2', vdi: 'vdi', vmdk: 'vmdk' };

/** Read and validate the header of an open file. */
export async function readHeader(file: HostFile): Promise<{ header: Qcow2Header; fileSize: number }> {
  const fileSize = await file.size();
  const first = new Uint8Array(Math.min(fileSize, 4096));
  await file.readAt(first, 0);
  if (first.length < 72) throw corrupt(file.path, 'file too small for a qcow2 header');
  const bits = new DataView(first.buffer).getUint32(20);
  let head = first;
  if (bits >= 9 && bits <= 21 && 2 ** bits > first.length && fileSize > first.length) {
    head = new Uint8Array(Math.min(fileSize, 2 ** bits));
    await file.readAt(head, 0);
  }
  return { header: parseHeader(head, file.path, fileSize), fileSize };
}

export function writeHeaderTablePointer(file: HostFile): (offset: number, clusters: number) => Promise<void> {
  return async (offset, clusters) => {
    const b = new Uint8Array(12);
    const dv = new DataView(b.buffer);
    writeU64(dv, 0, offset);
    dv.setUint32(8, clusters);
    await file.writeAt(b, 48);
  };
}

async function open(path: string, opts: OpenOptions = {}): Promise<OpenImage> {
  const readOnly = !!opts.readOnly;
  const chain = enterChain(path, opts.chain);
  const file = await HostFile.open(path, !readOnly);
  let backing: OpenImage | undefined;
  try {
    const { header, fileSize } = await readHeader(file);
    if (!readOnly) {
      if (header.version === 2) throw unsupported(path, 'qcow2 version 2 images open read-only; convert to v3 to write (qemu-img amend -o compat=1.1)');
      if (header.incompatible & INCOMPAT_CORRUPT) throw unsupported(path, 'image is marked corrupt; open it read-only or repair it with `hangar disk check --repair`');
      if (header.nbSnapshots > 0) throw unsupported(path, 'writing qcow2 images that hold internal snapshots is not supported; open read-only');
      if (header.refcountTableClusters * 2 ** header.clusterBits < 8) throw corrupt(path, 'refcount table too small');
    }
    const l1 = new Uint8Array(header.l1Size * 8);
    if (l1.length > 0) await file.readExact(l1, header.l1TableOffset, 'L1 table');
    const cs = 2 ** header.clusterBits;
    const snaps = header.nbSnapshots > 0 ? (await readSnapshots(file, header.snapshotsOffset, header.nbSnapshots, cs)).snapshots : [];
    const refs = readOnly
      ? undefined
      : await Refcounts.load(file, header.clusterBits, header.refcountOrder, header.refcountTableOffset, header.refcountTableClusters, fileSize, writeHeaderTablePointer(file));
    if (header.backingFile) {
      const bpath = resolveBackingPath(path, header.backingFile, !!opts.allowUnsafePaths);
      const stored = header.backingFormat;
      const bfmt = stored === undefined ? undefined : FROM_QEMU[stored];
      if (stored !== undefined && (bfmt === undefined || !formatByName(bfmt)))
        throw unsupported(path, `backing file format "${stored}" is not supported`);
      backing = await openBacking(bpath, bfmt, { allowUnsafePaths: opts.allowUnsafePaths, chain });
    }
    const img = new Qcow2Image(file, header, l1, readOnly, refs, backing, snaps, fileSize);
    if (!readOnly) await img.setDirtyBit(true);
    return img;
  } catch (err) {
    await file.close().catch(() => undefined);
    if (backing) await backing.close().catch(() => undefined);
    throw err;
  }
}

async function create(path: string, size: number, opts: CreateOptions = {}): Promise<void> {
  const cs = opts.cluster ?? 65536;
  if (!Number.isInteger(cs) || cs < 512 || cs > 2 << 20 || (cs & (cs - 1)) !== 0)
    throw new HangarError('usage', `qcow2 cluster size ${cs} must be a power of two from 512 to 2M`);
  if (opts.subformat && opts.subformat !== 'v3') throw unsupported(path, `qcow2 subformat "${opts.subformat}" is not supported (Hangar writes v3)`);
  if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0 || size > MAX_VIRTUAL_SIZE)
    throw new HangarError('usage', `invalid disk size ${size}: a positive multiple of 512`);
  const clusterBits = Math.log2(cs);
  const l1Size = Math.ceil(size / (cs * (cs / 8)));
  if (l1Size * 8 > MAX_L1_BYTES) throw new HangarError('usage', `disk size ${size} is too large for ${cs}-byte clusters`);
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / cs));
  const perBlock = cs / 2; // 16-bit refcounts
  let rtClusters = 1;
  let blocks = 1;
  for (;;) {
    const total = 1 + rtClusters + blocks + l1Clusters;
    const needBlocks = Math.ceil(total / perBlock);
    const needRt = Math.ceil((needBlocks * 8) / cs);
    if (needBlocks === blocks && needRt === rtClusters) break;
    blocks = needBlocks;
    rtClusters = needRt;
  }
  let backingFile: string | undefined;
  if (opts.backing) {
    backingFile = backingNameFor(path, opts.backing.path);
    if (new TextEncoder().encode(backingFile).length > 1023) throw new HangarError('usage', 'backing file path is longer than 1023 bytes');
  }
  const total = 1 + rtClusters + blocks + l1Clusters;
  const header = buildHeader({
    clusterBits,
    size,
    l1Size,
    l1TableOffset: (1 + rtClusters + blocks) * cs,
    refcountTableOffset: cs,
    refcountTableClusters: rtClusters,
    backingFile,
    backingFormat: opts.backing ? (TO_QEMU[opts.backing.format] ?? opts.backing.format) : undefined,
  });
  const meta = new Uint8Array(total * cs);
  meta.set(header, 0);
  const dv = new DataView(meta.buffer);
  for (let b = 0; b < blocks; b++) writeU64(dv, cs + b * 8, (1 + rtClusters + b) * cs);
  for (let c = 0; c < total; c++) {
    const blk = (1 + rtClusters + Math.floor(c / perBlock)) * cs;
    dv.setUint16(blk + (c % perBlock) * 2, 1);
  }
  const file = await HostFile.create(path);
  try {
    await file.writeAt(meta, 0);
    await file.datasync();
  } finally {
    await file.close();
  }
}

export const qcow2Format: ImageFormat = {
  name: 'qcow2',
  probe: (head) => head.length >= 8 && new DataView(head.buffer, head.byteOffset).getUint32(0) === QCOW2_MAGIC,
  open,
  create,
  check: (path: string, opts?: CheckOptions): Promise<CheckResult> => checkQcow2(path, opts),
  resize: (path: string, newSize: number, opts?: ResizeOptions): Promise<void> => resizeQcow2(path, newSize, opts),
};
