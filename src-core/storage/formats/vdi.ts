// VirtualBox VDI images: dynamic, fixed and differencing. A block map (one u32 per block)
// says where each block lives in the file. New blocks are appended; their map entries and the
// header's allocation count reach the disk only at flush, after the data is durable (data →
// block map → header), so a crash never leaves a map entry pointing at unwritten data.
import { dirname, isAbsolute, resolve } from 'node:path';
import { HangarError } from '../../api/errors.ts';
import type { CreateOptions, ImageFormat, ImageInfo, OpenImage, OpenOptions } from '../format.ts';
import {
  corrupt, ImageFile, MAX_CHAIN_DEPTH, MAX_VIRTUAL_SIZE, randomUuidBytes, roundUp, uuidHex,
} from './vdi-vhd-vmdk-common.ts';
import { QueuedImage } from './queued-image.ts';
import { isZero } from '../zero.ts';
import {
  parseVdiHeader, probeVdi, serializeVdiHeader, VDI_BLOCK_FREE, VDI_BLOCK_ZERO, VDI_HEADER_BYTES, VDI_TYPE_DIFF, VDI_TYPE_DYNAMIC, VDI_TYPE_FIXED,
} from './vdi-header.ts';
import type { VdiHeader } from './vdi-header.ts';
import { checkVdi } from './vdi-check.ts';
import { resizeVdi } from './vdi-resize.ts';
import { findVdiParent } from './vdi-parent.ts';
import { blockSpans } from './block-spans.ts';
import { dirtyTableSectors, encodeTableEntries, encodeTableSector } from './block-table.ts';
import { mapThroughParent, readThroughParent } from './parent-io.ts';
import { appendRun } from './runs.ts';
import type { Run } from './runs.ts';

export interface VdiOpenOptions extends OpenOptions {
  /** Path of the parent of a differencing image, when it is not found by UUID next to it. */
  parent?: string;
}

export class VdiImage extends QueuedImage implements OpenImage {
  private readonly dirtyMap = new Set<number>();
  private headerDirty = false;
  private nextSlot: number;
  private readonly stride: number;

  constructor(
    file: ImageFile,
    readonly h: VdiHeader,
    private readonly map: Uint32Array,
    nextSlot: number,
    private readonly parent: VdiImage | undefined,
    private readonly parentPath: string | undefined,
  ) {
    super(file, h.diskSize, parent);
    this.nextSlot = nextSlot;
    this.stride = h.blockSize + h.blockExtra;
  }

  private dataPos(slot: number): number {
    return this.h.offsetData + slot * this.stride + this.h.blockExtra;
  }

  /** Read from the parent, zero-filling past the parent's end (a child may be larger). */
  private readParent(buf: Uint8Array, offset: number): Promise<void> {
    const p = this.parent!;
    return readThroughParent(p.capacity, (b, o) => p.read(b, o), buf, offset);
  }

  protected async readUnlocked(buf: Uint8Array, offset: number): Promise<void> {
    for (const { block, inBlock, pos, done, n } of blockSpans(offset, buf.length, this.h.blockSize)) {
      const piece = buf.subarray(done, done + n);
      const entry = this.map[block]!;
      if (entry < VDI_BLOCK_ZERO) await this.file.readInto(piece, this.dataPos(entry) + inBlock, `block ${block}`);
      else if (entry === VDI_BLOCK_FREE && this.parent) await this.readParent(piece, pos);
      else piece.fill(0);
    }
  }

  protected async writeUnlocked(buf: Uint8Array, offset: number): Promise<void> {
    for (const { block, inBlock, done, n } of blockSpans(offset, buf.length, this.h.blockSize)) {
      await this.writeInBlock(block, inBlock, buf.subarray(done, done + n));
    }
  }

  private async writeInBlock(block: number, inBlock: number, piece: Uint8Array): Promise<void> {
    this.markModified();
    const entry = this.map[block]!;
    if (entry < VDI_BLOCK_ZERO) {
      await this.file.write(piece, this.dataPos(entry) + inBlock);
      return;
    }
    const fromParent = entry === VDI_BLOCK_FREE && this.parent !== undefined;
    if (!fromParent && isZero(piece)) return; // already reads as zeros
    const slot = this.nextSlot;
    const start = this.h.offsetData + slot * this.stride;
    const bs = this.h.blockSize;
    if (piece.length === bs && this.h.blockExtra === 0) {
      await this.file.write(piece, start);
    } else if (fromParent || start < this.file.size) {
      // Build the whole block: the parent's data (copy-on-write), or zeros over whatever a
      // crashed session may have left in a slot that was never entered in the map.
      const whole = new Uint8Array(this.stride);
      const data = whole.subarray(this.h.blockExtra);
      if (fromParent) await this.readParent(data, block * bs);
      data.set(piece, inBlock);
      await this.file.write(whole, start);
    } else {
      // Fresh space past the end of the file: extend it (a hole reads as zeros), write the piece.
      await this.file.truncate(start + this.stride);
      await this.file.write(piece, this.dataPos(slot) + inBlock);
    }
    this.nextSlot = slot + 1;
    this.map[block] = slot;
    this.dirtyMap.add(block);
    this.h.allocated = this.nextSlot;
    this.headerDirty = true;
  }

  /** A crash between the map and header writes left the count low: fix it at the next flush. */
  repairCount(slots: number): void {
    this.h.allocated = slots;
    this.headerDirty = true;
  }

  private markModified(): void {
    if (!this.headerDirty) {
      // VirtualBox changes the modification UUID whenever an image is written.
      this.h.uuidModify = randomUuidBytes();
      this.headerDirty = true;
    }
  }

  protected async flushUnlocked(): Promise<void> {
    if (this.readOnly || this.closed) return;
    await this.file.sync(); // data first: nothing may point at blocks that are not durable
    if (this.dirtyMap.size === 0 && !this.headerDirty) return;
    // Then the map, then the header. They are written back to back with no sync between:
    // qemu-img check calls any disagreement between the header's count and the map corruption,
    // whichever of the two lands first, so the gap between them is kept as short as it can be
    // (and when the changed map sectors sit right after the header, one write covers both).
    // Our own open tolerates either state (the next slot is past every slot in use).
    const sectors = dirtyTableSectors(this.dirtyMap);
    const header = serializeVdiHeader(this.h);
    const last = sectors.length ? sectors[sectors.length - 1]! : -1;
    if (this.h.offsetBmap === VDI_HEADER_BYTES && (last + 1) * 512 <= 64 * 1024) {
      await this.file.writev([header, encodeTableEntries(this.map, 0, (last + 1) * 128, true)], 0);
    } else {
      for (const s of sectors) await this.file.write(encodeTableSector(this.map, s, true), this.h.offsetBmap + s * 512);
      await this.file.write(header, 0);
    }
    this.dirtyMap.clear();
    this.headerDirty = false;
    await this.file.sync();
  }

  protected async discardUnlocked(offset: number, length: number): Promise<void> {
    // A VDI block cannot be freed without compacting the file (and the header's allocation
    // count must keep matching the map), so discarded ranges are zeroed in place; unallocated
    // blocks of a differencing image are marked zero to hide the parent.
    const bs = this.h.blockSize;
    for (const { block, inBlock, n } of blockSpans(offset, length, bs)) {
      const entry = this.map[block]!;
      if (entry < VDI_BLOCK_ZERO) {
        this.markModified();
        await this.file.write(new Uint8Array(n), this.dataPos(entry) + inBlock);
      } else if (entry === VDI_BLOCK_FREE && this.parent) {
        if (n === bs) {
          this.markModified();
          this.map[block] = VDI_BLOCK_ZERO;
          this.dirtyMap.add(block);
        } else {
          await this.writeInBlock(block, inBlock, new Uint8Array(n));
        }
      }
    }
  }

  protected async mapUnlocked(offset: number, length: number): Promise<Run[]> {
    const out: Run[] = [];
    const parent = this.parent;
    for (const { block, pos, n } of blockSpans(offset, length, this.h.blockSize)) {
      const entry = this.map[block]!;
      if (entry < VDI_BLOCK_ZERO) appendRun(out, { offset: pos, length: n, allocated: true });
      else if (entry === VDI_BLOCK_FREE && parent) await mapThroughParent(parent.capacity, (o, l) => parent.mapUnlocked(o, l), out, pos, n);
      else appendRun(out, { offset: pos, length: n, allocated: false, zero: true });
    }
    return out;
  }

  async info(): Promise<ImageInfo> {
    const sub = this.h.type === VDI_TYPE_FIXED ? 'fixed' : this.h.type === VDI_TYPE_DIFF ? 'differencing' : 'dynamic';
    return {
      format: 'vdi',
      subformat: sub,
      virtualSize: this.capacity,
      actualSize: await this.file.allocatedBytes(),
      clusterSize: this.h.blockSize,
      ...(this.parentPath ? { backing: { path: this.parentPath, format: 'vdi' as const } } : {}),
    };
  }

  /** The image's own UUID (a differencing child links to it). */
  get uuid(): string {
    return uuidHex(this.h.uuidImage);
  }
}

async function openVdi(path: string, opts: VdiOpenOptions, depth: number, seen: Set<string>): Promise<VdiImage> {
  if (depth > MAX_CHAIN_DEPTH) throw corrupt(path, `VDI parent chain is deeper than ${MAX_CHAIN_DEPTH} images`);
  const file = await ImageFile.open(path, opts.readOnly ?? false);
  let parent: VdiImage | undefined;
  try {
    const head = await file.read(Math.min(VDI_HEADER_BYTES, file.size), 0, 'VDI header');
    const h = parseVdiHeader(path, head, file.size);
    const id = uuidHex(h.uuidImage);
    if (seen.has(id)) throw corrupt(path, `VDI parent chain loops back to image ${id}`);
    seen.add(id);
    const raw = await file.read(h.blocks * 4, h.offsetBmap, 'VDI block map');
    const map = new Uint32Array(h.blocks);
    const dv = new DataView(raw.buffer);
    // Every entry must be a valid slot, and no slot may back two blocks (a write to one would
    // silently change the other).
    const used = new Uint8Array(h.blocks);
    let nextSlot = h.allocated;
    for (let i = 0; i < h.blocks; i++) {
      const e = dv.getUint32(i * 4, true);
      map[i] = e;
      if (e >= VDI_BLOCK_ZERO) continue;
      if (e >= h.blocks) throw corrupt(path, `VDI block ${i} maps to slot ${e}, beyond the ${h.blocks} blocks of the image`);
      if (used[e]) throw corrupt(path, `VDI slot ${e} is used by two blocks`);
      used[e] = 1;
      if (e + 1 > nextSlot) nextSlot = e + 1; // tolerate a crash between map and header writes
    }
    let parentPath: string | undefined;
    if (h.type === VDI_TYPE_DIFF) {
      parentPath = await findVdiParent(path, h.uuidLink, depth === 0 ? opts.parent : undefined, opts.allowUnsafePaths ?? false);
      parent = await openVdi(parentPath, { readOnly: true, allowUnsafePaths: opts.allowUnsafePaths }, depth + 1, seen);
    }
    const img = new VdiImage(file, h, map, nextSlot, parent, parentPath);
    if (nextSlot > h.allocated && !file.readOnly) img.repairCount(nextSlot);
    return img;
  } catch (err) {
    await file.close();
    if (parent) await parent.close();
    throw err;
  }
}

async function createVdi(path: string, size: number, opts: CreateOptions = {}): Promise<void> {
  let type = VDI_TYPE_DYNAMIC;
  const sub = opts.subformat?.toLowerCase();
  if (sub === 'fixed' || sub === 'static') type = VDI_TYPE_FIXED;
  else if (sub !== undefined && sub !== 'dynamic' && sub !== 'differencing') {
    throw new HangarError('usage', `unknown VDI subformat "${opts.subformat}" (dynamic, fixed)`);
  }
  let blockSize = opts.cluster ?? 1024 * 1024;
  let uuidLink: Uint8Array = new Uint8Array(16);
  let uuidParentModify: Uint8Array = new Uint8Array(16);
  if (opts.backing) {
    if (opts.backing.format !== 'vdi') throw new HangarError('unsupported', 'a VDI differencing image needs a VDI parent');
    if (type === VDI_TYPE_FIXED) throw new HangarError('usage', 'a VDI differencing image cannot be fixed');
    type = VDI_TYPE_DIFF;
    const parent = await openVdi(
      await findVdiParentForCreate(path, opts.backing.path), { readOnly: true }, 0, new Set());
    try {
      const ph = parent.h;
      blockSize = ph.blockSize;
      uuidLink = ph.uuidImage;
      uuidParentModify = ph.uuidModify;
      if (size === 0) size = parent.capacity;
    } finally {
      await parent.close();
    }
  } else if (sub === 'differencing') {
    throw new HangarError('usage', 'a VDI differencing image needs a backing (parent) image');
  }
  if (!Number.isSafeInteger(size) || size < 0 || size % 512 !== 0 || size > MAX_VIRTUAL_SIZE) {
    throw new HangarError('usage', `VDI size ${size} must be a multiple of 512 bytes, at most 64 TiB`);
  }
  if (blockSize < 512 || blockSize > 64 * 2 ** 20 || (blockSize & (blockSize - 1)) !== 0) {
    throw new HangarError('usage', `VDI block size ${blockSize} must be a power of two between 512 bytes and 64 MiB`);
  }
  const blocks = Math.ceil(size / blockSize);
  const offsetBmap = VDI_HEADER_BYTES;
  const offsetData = roundUp(offsetBmap + blocks * 4, 512);
  const h: VdiHeader = {
    headerSize: 0x190, type, flags: 0, offsetBmap, offsetData, diskSize: size, blockSize, blockExtra: 0,
    blocks, allocated: type === VDI_TYPE_FIXED ? blocks : 0,
    uuidImage: randomUuidBytes(), uuidModify: randomUuidBytes(), uuidLink, uuidParentModify,
  };
  const meta = new Uint8Array(offsetData);
  meta.set(serializeVdiHeader(h), 0);
  const dv = new DataView(meta.buffer);
  for (let i = 0; i < blocks; i++) dv.setUint32(offsetBmap + i * 4, type === VDI_TYPE_FIXED ? i : VDI_BLOCK_FREE, true);
  const file = await ImageFile.create(path);
  try {
    await file.write(meta, 0);
    if (type === VDI_TYPE_FIXED) await file.truncate(offsetData + blocks * blockSize);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** The parent of a new differencing image must sit next to it: that is where open looks. */
async function findVdiParentForCreate(childPath: string, parentPath: string): Promise<string> {
  const dir = dirname(resolve(childPath));
  const full = isAbsolute(parentPath) ? parentPath : resolve(dir, parentPath);
  if (dirname(full) !== dir) {
    throw new HangarError('usage', `a VDI differencing image finds its parent by UUID in its own folder: put ${parentPath} next to ${childPath}`);
  }
  return full;
}

export const vdiFormat: ImageFormat & { open(path: string, opts?: VdiOpenOptions): Promise<OpenImage> } = {
  name: 'vdi',
  probe: probeVdi,
  open: (path: string, opts: VdiOpenOptions = {}) => openVdi(path, opts, 0, new Set()),
  create: createVdi,
  check: checkVdi,
  resize: resizeVdi,
};
