// VHD images: fixed (raw data + footer), dynamic (BAT of 2 MiB blocks, each a sector bitmap then
// data) and differencing (read-only here: sectors whose bitmap bit is clear come from the parent).
// New blocks are appended: the footer moves to the new end first, then the bitmap and data are
// written, and the BAT entry reaches the disk only at flush, after the data is durable.
import { HangarError } from '../../api/errors.ts';
import type { CreateOptions, ImageFormat, ImageInfo, OpenImage, OpenOptions } from '../format.ts';
import {
  corrupt, ImageFile, MAX_CHAIN_DEPTH, randomUuidBytes, roundUp, uuidHex,
} from './vdi-vhd-vmdk-common.ts';
import { QueuedImage } from './queued-image.ts';
import { isZero } from '../zero.ts';
import {
  newVhdFooter, parseVhdDynHeader, parseVhdFooter, probeVhd, serializeVhdDynHeader, serializeVhdFooter, VHD_BAT_FREE, VHD_MAX_SIZE,
  VHD_TYPE_DIFF, VHD_TYPE_DYNAMIC, VHD_TYPE_FIXED, vhdVirtualSize,
} from './vhd-footer.ts';
import type { VhdDynHeader, VhdFooter } from './vhd-footer.ts';
import { checkVhd } from './vhd-check.ts';
import { resizeVhd } from './vhd-resize.ts';
import { findVhdParent } from './vhd-parent.ts';
import { blockSpans } from './block-spans.ts';
import { dirtyTableSectors, encodeTableSector } from './block-table.ts';
import { mapThroughParent, readThroughParent } from './parent-io.ts';
import { appendRun } from './runs.ts';
import type { Run } from './runs.ts';

interface Sparse {
  dyn: VhdDynHeader;
  bat: Uint32Array;
  bitmapSize: number;
}

export class VhdImage extends QueuedImage implements OpenImage {
  private readonly dirtyBat = new Set<number>();
  private readonly bitmaps = new Map<number, Uint8Array>();

  constructor(
    file: ImageFile,
    readonly footer: VhdFooter,
    capacity: number,
    private readonly sparse: Sparse | undefined,
    private nextFree: number,
    private readonly parent: VhdImage | undefined,
    private readonly parentPath: string | undefined,
  ) {
    super(file, capacity, parent);
  }

  private readParent(buf: Uint8Array, offset: number): Promise<void> {
    const p = this.parent!;
    return readThroughParent(p.capacity, (b, o) => p.readUnlocked(b, o), buf, offset);
  }

  /** A differencing block's sector bitmap (cached: a block's bitmap never changes here). */
  private async bitmap(block: number, entry: number): Promise<Uint8Array> {
    let bm = this.bitmaps.get(block);
    if (!bm) {
      bm = await this.file.read(this.sparse!.bitmapSize, entry * 512, `sector bitmap of block ${block}`);
      if (this.bitmaps.size > 256) this.bitmaps.clear();
      this.bitmaps.set(block, bm);
    }
    return bm;
  }

  protected async readUnlocked(buf: Uint8Array, offset: number): Promise<void> {
    const sp = this.sparse;
    if (!sp) {
      await this.file.readInto(buf, offset);
      return;
    }
    for (const { block, inBlock, pos, done, n } of blockSpans(offset, buf.length, sp.dyn.blockSize)) {
      const piece = buf.subarray(done, done + n);
      const entry = sp.bat[block]!;
      const dataPos = entry * 512 + sp.bitmapSize;
      if (entry === VHD_BAT_FREE) {
        if (this.parent) await this.readParent(piece, pos);
        else piece.fill(0);
      } else if (!this.parent) {
        await this.file.readInto(piece, dataPos + inBlock, `block ${block}`);
      } else {
        // Differencing: runs of sectors present here (bit set, MSB first) or in the parent.
        const bm = await this.bitmap(block, entry);
        let at = 0;
        while (at < n) {
          const sector = Math.floor((inBlock + at) / 512);
          const here = (bm[sector >>> 3]! & (0x80 >>> (sector & 7))) !== 0;
          let end = Math.min(n, (sector + 1) * 512 - inBlock);
          for (let s = sector + 1; end < n; s++) {
            if (((bm[s >>> 3]! & (0x80 >>> (s & 7))) !== 0) !== here) break;
            end = Math.min(n, (s + 1) * 512 - inBlock);
          }
          const sub = piece.subarray(at, end);
          if (here) await this.file.readInto(sub, dataPos + inBlock + at, `block ${block}`);
          else await this.readParent(sub, pos + at);
          at = end;
        }
      }
    }
  }

  protected async writeUnlocked(buf: Uint8Array, offset: number): Promise<void> {
    const sp = this.sparse;
    if (!sp) {
      await this.file.write(buf, offset);
      return;
    }
    for (const { block, inBlock, done, n } of blockSpans(offset, buf.length, sp.dyn.blockSize)) {
      await this.writeInBlock(sp, block, inBlock, buf.subarray(done, done + n));
    }
  }

  private async writeInBlock(sp: Sparse, block: number, inBlock: number, piece: Uint8Array): Promise<void> {
    const entry = sp.bat[block]!;
    if (entry !== VHD_BAT_FREE) {
      await this.file.write(piece, entry * 512 + sp.bitmapSize + inBlock);
      return;
    }
    if (isZero(piece)) return; // unallocated blocks already read as zeros
    const start = this.nextFree;
    const end = start + sp.bitmapSize + sp.dyn.blockSize;
    // Footer to the new end first: the file always ends in a valid footer (and dynamic disks
    // keep a copy at offset 0 should a crash land between these writes).
    await this.file.write(serializeVhdFooter(this.footer), end);
    // The bitmap overwrites the old footer; everything after it is fresh space (a hole).
    await this.file.write(new Uint8Array(sp.bitmapSize).fill(0xff), start);
    await this.file.write(piece, start + sp.bitmapSize + inBlock);
    sp.bat[block] = start / 512;
    this.dirtyBat.add(block);
    this.nextFree = end;
  }

  protected async flushUnlocked(): Promise<void> {
    if (this.readOnly || this.closed) return;
    await this.file.sync();
    const sp = this.sparse;
    if (sp && this.dirtyBat.size > 0) {
      for (const s of dirtyTableSectors(this.dirtyBat)) {
        await this.file.write(encodeTableSector(sp.bat, s, false), sp.dyn.tableOffset + s * 512);
      }
      this.dirtyBat.clear();
      await this.file.sync();
    }
  }

  protected async discardUnlocked(offset: number, length: number): Promise<void> {
    const sp = this.sparse;
    if (!sp) {
      for (let done = 0; done < length; done += 1 << 20) {
        await this.file.write(new Uint8Array(Math.min(1 << 20, length - done)), offset + done);
      }
      return;
    }
    const bs = sp.dyn.blockSize;
    for (const { block, inBlock, n } of blockSpans(offset, length, bs)) {
      const entry = sp.bat[block]!;
      if (entry !== VHD_BAT_FREE) {
        if (n === bs) {
          // Drop the whole block from the BAT; its space stays in the file (a harmless leak).
          sp.bat[block] = VHD_BAT_FREE;
          this.dirtyBat.add(block);
        } else {
          await this.file.write(new Uint8Array(n), entry * 512 + sp.bitmapSize + inBlock);
        }
      }
    }
  }

  protected async mapUnlocked(offset: number, length: number): Promise<Run[]> {
    const sp = this.sparse;
    if (!sp) return length > 0 ? [{ offset, length, allocated: true }] : [];
    const out: Run[] = [];
    const parent = this.parent;
    for (const { block, pos, n } of blockSpans(offset, length, sp.dyn.blockSize)) {
      if (sp.bat[block] !== VHD_BAT_FREE) appendRun(out, { offset: pos, length: n, allocated: true });
      else if (parent) await mapThroughParent(parent.capacity, (o, l) => parent.mapUnlocked(o, l), out, pos, n);
      else appendRun(out, { offset: pos, length: n, allocated: false, zero: true });
    }
    return out;
  }

  async info(): Promise<ImageInfo> {
    const t = this.footer.diskType;
    return {
      format: 'vhd',
      subformat: t === VHD_TYPE_FIXED ? 'fixed' : t === VHD_TYPE_DYNAMIC ? 'dynamic' : 'differencing',
      virtualSize: this.capacity,
      actualSize: await this.file.allocatedBytes(),
      ...(this.sparse ? { clusterSize: this.sparse.dyn.blockSize } : {}),
      ...(this.parentPath ? { backing: { path: this.parentPath, format: 'vhd' as const } } : {}),
    };
  }
}

export interface VhdOpenInternal extends OpenOptions {
  depth?: number;
  seen?: Set<string>;
}

async function openVhd(path: string, opts: VhdOpenInternal): Promise<VhdImage> {
  const depth = opts.depth ?? 0;
  const seen = opts.seen ?? new Set<string>();
  if (depth > MAX_CHAIN_DEPTH) throw corrupt(path, `VHD parent chain is deeper than ${MAX_CHAIN_DEPTH} images`);
  const file = await ImageFile.open(path, opts.readOnly ?? false);
  let parent: VhdImage | undefined;
  try {
    if (file.size < 512) throw corrupt(path, 'file too small for a VHD footer');
    // The footer at the end is authoritative; a dynamic disk's copy at offset 0 covers a
    // crash that lost the end (the same order QEMU and Windows use to find it).
    let footer = parseVhdFooter(path, await file.read(512, file.size - 512, 'VHD footer'));
    let footerAtEnd = footer !== undefined;
    if (!footer) {
      footer = parseVhdFooter(path, await file.read(512, 0, 'VHD footer copy'));
      if (!footer || footer.diskType === VHD_TYPE_FIXED) throw corrupt(path, 'no VHD footer at the end of the file');
    }
    const capacity = vhdVirtualSize(path, footer);
    if (footer.diskType === VHD_TYPE_FIXED) {
      if (capacity > file.size - 512) throw corrupt(path, `fixed VHD of ${capacity} bytes is truncated (file holds ${file.size - 512})`);
      return new VhdImage(file, footer, capacity, undefined, 0, undefined, undefined);
    }
    if (footer.diskType === VHD_TYPE_DIFF && !(opts.readOnly ?? false)) {
      throw new HangarError('unsupported', `${path}: VHD differencing images can only be opened read-only`, { path });
    }
    const dynOff = footer.dataOffset;
    if (dynOff > BigInt(file.size) - 1024n || dynOff % 512n !== 0n) throw corrupt(path, 'VHD dynamic header offset lies outside the file');
    const dyn = parseVhdDynHeader(path, await file.read(1024, Number(dynOff), 'VHD dynamic header'), file.size);
    const blocks = Math.ceil(capacity / dyn.blockSize);
    if (dyn.maxTableEntries < blocks) throw corrupt(path, `VHD block table has ${dyn.maxTableEntries} entries, ${blocks} needed`);
    const raw = await file.read(blocks * 4, dyn.tableOffset, 'VHD block table');
    const dv = new DataView(raw.buffer);
    const bat = new Uint32Array(blocks);
    const bitmapSize = roundUp(dyn.blockSize / 512 / 8, 512);
    const batEnd = roundUp(dyn.tableOffset + dyn.maxTableEntries * 4, 512);
    let nextFree = Math.max(batEnd, Number(dynOff) + 1024, roundUp(footerAtEnd ? file.size - 512 : file.size, 512));
    for (let i = 0; i < blocks; i++) {
      const e = dv.getUint32(i * 4);
      bat[i] = e;
      if (e === VHD_BAT_FREE) continue;
      const from = e * 512;
      const to = from + bitmapSize + dyn.blockSize;
      const overlaps = (a: number, b: number) => from < b && a < to;
      // A block laid over the footer copy, dynamic header or BAT would let guest writes corrupt them.
      if (overlaps(0, 512) || overlaps(Number(dynOff), Number(dynOff) + 1024) || overlaps(dyn.tableOffset, batEnd)) {
        throw corrupt(path, `VHD block ${i} overlaps the image's metadata`);
      }
      nextFree = Math.max(nextFree, e * 512 + bitmapSize + dyn.blockSize);
    }
    let parentPath: string | undefined;
    if (footer.diskType === VHD_TYPE_DIFF) {
      const id = uuidHex(footer.uniqueId);
      if (seen.has(id)) throw corrupt(path, `VHD parent chain loops back to image ${id}`);
      seen.add(id);
      parentPath = await findVhdParent(path, file, dyn, opts.allowUnsafePaths ?? false);
      parent = await openVhd(parentPath, { readOnly: true, allowUnsafePaths: opts.allowUnsafePaths, depth: depth + 1, seen });
      if (uuidHex(parent.footer.uniqueId) !== uuidHex(dyn.parentUniqueId)) {
        throw corrupt(path, `parent ${parentPath} has unique id ${uuidHex(parent.footer.uniqueId)}, expected ${uuidHex(dyn.parentUniqueId)}`);
      }
    }
    if (!footerAtEnd && !file.readOnly) {
      // Restore the lost footer before anything else is appended.
      await file.write(serializeVhdFooter(footer), nextFree);
      footerAtEnd = true;
    }
    return new VhdImage(file, footer, capacity, { dyn, bat, bitmapSize }, nextFree, parent, parentPath);
  } catch (err) {
    await file.close();
    if (parent) await parent.close();
    throw err;
  }
}

async function createVhd(path: string, size: number, opts: CreateOptions = {}): Promise<void> {
  const sub = opts.subformat?.toLowerCase() ?? 'dynamic';
  if (sub !== 'dynamic' && sub !== 'fixed') throw new HangarError('usage', `unknown VHD subformat "${opts.subformat}" (dynamic, fixed)`);
  if (opts.backing) throw new HangarError('unsupported', 'creating VHD differencing images is not supported; use qcow2 or VDI for overlays');
  if (!Number.isSafeInteger(size) || size < 0 || size % 512 !== 0 || size > VHD_MAX_SIZE) {
    throw new HangarError('usage', `VHD size ${size} must be a multiple of 512 bytes, at most 2040 GiB`);
  }
  const blockSize = opts.cluster ?? 2 * 1024 * 1024;
  if (blockSize < 4096 || blockSize > 32 * 2 ** 20 || (blockSize & (blockSize - 1)) !== 0) {
    throw new HangarError('usage', `VHD block size ${blockSize} must be a power of two between 4 KiB and 32 MiB`);
  }
  const footer = serializeVhdFooter(newVhdFooter(size, sub === 'fixed' ? VHD_TYPE_FIXED : VHD_TYPE_DYNAMIC, randomUuidBytes()));
  const file = await ImageFile.create(path);
  try {
    if (sub === 'fixed') {
      await file.truncate(size);
      await file.write(footer, size);
    } else {
      const entries = Math.ceil(size / blockSize);
      const tableOffset = 1536;
      const tableBytes = roundUp(entries * 4, 512);
      const meta = new Uint8Array(tableOffset + tableBytes + 512).fill(0xff, tableOffset, tableOffset + tableBytes);
      meta.set(footer, 0);
      meta.set(serializeVhdDynHeader({ tableOffset, maxTableEntries: entries, blockSize }), 512);
      meta.set(footer, tableOffset + tableBytes);
      await file.write(meta, 0);
    }
    await file.sync();
  } finally {
    await file.close();
  }
}

export const vhdFormat: ImageFormat = {
  name: 'vhd',
  probe: probeVhd,
  open: (path: string, opts: OpenOptions = {}) => openVhd(path, opts),
  create: createVhd,
  check: checkVhd,
  resize: resizeVhd,
};
