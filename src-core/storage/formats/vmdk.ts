// VMDK images: monolithicSparse and streamOptimized (read and write, one sparse file with an
// embedded descriptor), monolithicFlat and split extents (twoGbMaxExtentSparse/Flat: a text
// descriptor naming the extent files, which must stay in the descriptor's folder).
import { basename, dirname, join } from 'node:path';
import { HangarError } from '../../api/errors.ts';
import type { CheckOptions, CreateOptions, ImageFormat, ImageInfo, OpenImage, OpenOptions } from '../format.ts';
import { checkRange, checkWritable, corrupt, ImageFile, MAX_VIRTUAL_SIZE, resolveRelated, roundUp, unsupported } from './vdi-vhd-vmdk-common.ts';
import { SerialQueue } from '../serial.ts';
import { checkVmdk } from './vmdk-check.ts';
import { looksLikeDescriptor, MAX_DESCRIPTOR_BYTES, parseDescriptor, serializeDescriptor } from './vmdk-descriptor.ts';
import type { VmdkDescriptor } from './vmdk-descriptor.ts';
import { FlatExtent, NoAccessExtent, ZeroExtent } from './vmdk-extents.ts';
import type { VmdkExtent } from './vmdk-extents.ts';
import { encodeDirectory } from './vmdk-grains.ts';
import {
  COMPRESSION_DEFLATE, FLAG_COMPRESSED, FLAG_MARKERS, FLAG_NEWLINE_TEST, FLAG_REDUNDANT_GT, GD_AT_END, isVmdkSparse, parseSparseHeader,
  serializeSparseHeader,
} from './vmdk-header.ts';
import type { SparseHeader } from './vmdk-header.ts';
import { SparseExtent } from './vmdk-sparse.ts';
import { streamTail, StreamExtent } from './vmdk-stream.ts';
import { appendRun } from './runs.ts';
import type { Run } from './runs.ts';

/** Grain offsets are 32-bit sector numbers: a hosted sparse file cannot pass 2 TiB. */
const MAX_SPARSE_SIZE = 2 * 2 ** 40;
const DEFAULT_GRAIN = 64 * 1024;

export class VmdkImage implements OpenImage {
  readonly capacity: number;
  private readonly starts: number[] = [];
  private readonly queue = new SerialQueue();
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly extents: VmdkExtent[],
    private readonly createType: string,
    readonly readOnly: boolean,
    private readonly descriptorFile: boolean,
  ) {
    let at = 0;
    for (const e of extents) {
      this.starts.push(at);
      at += e.size;
    }
    this.capacity = at;
  }

  /** Split [offset, offset+length) over the extents. */
  private async each(offset: number, length: number, fn: (e: VmdkExtent, at: number, done: number, n: number) => Promise<void>): Promise<void> {
    if (this.closed) throw new HangarError('state', `${this.path} is closed`);
    checkRange(this.path, this.capacity, offset, length);
    let i = this.extents.length - 1;
    while (i > 0 && this.starts[i]! > offset) i--;
    let done = 0;
    while (done < length) {
      const e = this.extents[i]!;
      const at = offset + done - this.starts[i]!;
      const n = Math.min(e.size - at, length - done);
      if (n > 0) await fn(e, at, done, n);
      done += n;
      i++;
    }
  }

  read(buf: Uint8Array, offset: number): Promise<void> {
    return this.queue.run(() => this.each(offset, buf.length, (e, at, done, n) => e.read(buf.subarray(done, done + n), at)));
  }

  write(buf: Uint8Array, offset: number): Promise<void> {
    return this.queue.run(() => {
      checkWritable(this.path, this.readOnly);
      return this.each(offset, buf.length, (e, at, done, n) => e.write(buf.subarray(done, done + n), at));
    });
  }

  discard(offset: number, length: number): Promise<void> {
    return this.queue.run(() => {
      checkWritable(this.path, this.readOnly);
      return this.each(offset, length, (e, at, _done, n) => (e.readOnly ? Promise.resolve() : e.discard(at, n)));
    });
  }

  mapRanges(offset: number, length: number): Promise<Run[]> {
    return this.queue.run(async () => {
      const out: Run[] = [];
      await this.each(offset, length, async (e, at, done, n) => {
        for (const r of await e.map(at, n)) {
          appendRun(out, { ...r, offset: offset + done + (r.offset - at) });
        }
      });
      return out;
    });
  }

  flush(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed || this.readOnly) return;
      for (const e of this.extents) if (!e.readOnly) await e.flush();
    });
  }

  /** The extents in disk order (for check). */
  extentList(): readonly VmdkExtent[] {
    return this.extents;
  }

  async info(): Promise<ImageInfo> {
    let actual = 0;
    for (const e of this.extents) actual += await e.allocatedBytes();
    if (this.descriptorFile) {
      const f = await ImageFile.open(this.path, true);
      actual += await f.allocatedBytes();
      await f.close();
    }
    const grain = this.extents.find((e) => e.grainBytes)?.grainBytes;
    return { format: 'vmdk', subformat: this.createType, virtualSize: this.capacity, actualSize: actual, ...(grain ? { clusterSize: grain } : {}) };
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      let first: unknown;
      for (const e of this.extents) {
        try {
          await e.close();
        } catch (err) {
          first ??= err;
        }
      }
      if (first) throw first;
    });
  }
}

async function openSparseFile(file: ImageFile, size: number): Promise<VmdkExtent> {
  const head = parseSparseHeader(file.path, await file.read(Math.min(512, file.size), 0, 'VMDK header'));
  return head.flags & FLAG_COMPRESSED ? StreamExtent.openStream(file, size) : SparseExtent.open(file, size);
}

function checkNoParent(path: string, d: VmdkDescriptor): void {
  if (d.parentCID.toLowerCase() !== 'ffffffff') {
    throw unsupported(path, 'VMDK snapshot (delta) images that depend on a parent are not supported');
  }
}

async function openVmdk(path: string, opts: OpenOptions = {}): Promise<VmdkImage> {
  const readOnly = opts.readOnly ?? false;
  const first = await ImageFile.open(path, readOnly);
  const extents: VmdkExtent[] = [];
  try {
    const head = await first.read(Math.min(512, first.size), 0, 'VMDK header');
    if (isVmdkSparse(head)) {
      const h = parseSparseHeader(path, head);
      let desc: VmdkDescriptor | undefined;
      if (h.descriptorOffset > 0 && h.descriptorSize > 0) {
        if (h.descriptorSize * 512 > MAX_DESCRIPTOR_BYTES) throw unsupported(path, 'embedded VMDK descriptor is larger than 1 MiB');
        desc = parseDescriptor(path, await first.read(h.descriptorSize * 512, h.descriptorOffset * 512, 'VMDK descriptor'));
        checkNoParent(path, desc);
        if (desc.extents.length !== 1) throw unsupported(path, 'an embedded VMDK descriptor with several extents');
      }
      const size = desc ? desc.extents[0]!.sectors * 512 : h.capacity * 512;
      extents.push(await openSparseFile(first, size));
      const type = desc?.createType ?? (h.flags & FLAG_COMPRESSED ? 'streamOptimized' : 'monolithicSparse');
      return new VmdkImage(path, extents, type, readOnly, false);
    }
    if (!looksLikeDescriptor(head)) throw corrupt(path, 'not a VMDK image (no sparse header, no descriptor)');
    if (first.size > MAX_DESCRIPTOR_BYTES) throw unsupported(path, 'VMDK descriptor file is larger than 1 MiB');
    const desc = parseDescriptor(path, await first.read(first.size, 0, 'VMDK descriptor'));
    await first.close();
    checkNoParent(path, desc);
    let total = 0;
    for (const e of desc.extents) {
      const size = e.sectors * 512;
      total += size;
      if (total > MAX_VIRTUAL_SIZE) throw unsupported(path, 'VMDK extents add up to more than 64 TiB');
      if (e.access === 'NOACCESS') {
        extents.push(new NoAccessExtent(size));
        continue;
      }
      if (e.type === 'ZERO') {
        extents.push(new ZeroExtent(size));
        continue;
      }
      if (e.type !== 'FLAT' && e.type !== 'VMFS' && e.type !== 'SPARSE') throw unsupported(path, `VMDK ${e.type} extents`);
      const extPath = await resolveRelated(path, e.file!, opts.allowUnsafePaths ?? false, 'VMDK extent');
      const f = await ImageFile.open(extPath, readOnly || e.access === 'RDONLY');
      try {
        if (e.type === 'SPARSE') {
          extents.push(await openSparseFile(f, size));
        } else {
          if (f.size < e.offset * 512 + size) throw corrupt(extPath, `flat extent holds ${f.size} bytes, ${e.offset * 512 + size} expected (truncated)`);
          extents.push(new FlatExtent(f, size, e.offset * 512, f.readOnly));
        }
      } catch (err) {
        await f.close();
        throw err;
      }
    }
    return new VmdkImage(path, extents, desc.createType, readOnly, true);
  } catch (err) {
    for (const e of extents) await e.close().catch(() => undefined);
    await first.close().catch(() => undefined);
    throw err;
  }
}

function sparseHeaderFor(size: number, grainBytes: number, stream: boolean, descSectors: number): SparseHeader {
  return {
    version: stream ? 3 : 1,
    flags: stream ? FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS : FLAG_NEWLINE_TEST | FLAG_REDUNDANT_GT,
    capacity: size / 512,
    grainSize: grainBytes / 512,
    descriptorOffset: 1,
    descriptorSize: descSectors,
    numGTEsPerGT: 512,
    rgdOffset: 0,
    gdOffset: GD_AT_END,
    overHead: 0,
    uncleanShutdown: 0,
    compressAlgorithm: stream ? COMPRESSION_DEFLATE : 0,
  };
}

async function createVmdk(path: string, size: number, opts: CreateOptions = {}): Promise<void> {
  const sub = opts.subformat ?? 'monolithicSparse';
  if (opts.backing) throw new HangarError('unsupported', 'VMDK images with a backing file are not supported; use qcow2 or VDI for overlays');
  if (sub !== 'monolithicSparse' && sub !== 'streamOptimized' && sub !== 'monolithicFlat') {
    throw new HangarError('usage', `cannot create VMDK subformat "${sub}" (monolithicSparse, streamOptimized, monolithicFlat)`);
  }
  const limit = sub === 'monolithicFlat' ? MAX_VIRTUAL_SIZE : MAX_SPARSE_SIZE;
  if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0 || size > limit) {
    throw new HangarError('usage', `VMDK size ${size} must be a positive multiple of 512 bytes, at most ${limit / 2 ** 40} TiB`);
  }
  const grain = opts.cluster ?? DEFAULT_GRAIN;
  if (grain < 4096 || grain > 1 << 20 || (grain & (grain - 1)) !== 0) {
    throw new HangarError('usage', `VMDK grain size ${grain} must be a power of two between 4 KiB and 1 MiB`);
  }
  const name = basename(path);
  const sectors = size / 512;
  if (sub === 'monolithicFlat') {
    const flatName = name.replace(/\.vmdk$/i, '') + '-flat.vmdk';
    const text = serializeDescriptor(sub, [{ access: 'RW', sectors, type: 'FLAT', file: flatName, offset: 0 }]);
    const flat = await ImageFile.create(join(dirname(path), flatName));
    try {
      await flat.truncate(size);
      await flat.sync();
    } finally {
      await flat.close();
    }
    await writeNew(path, [new TextEncoder().encode(text)]);
    return;
  }
  const stream = sub === 'streamOptimized';
  const text = new TextEncoder().encode(serializeDescriptor(sub, [{ access: 'RW', sectors, type: 'SPARSE', file: name, offset: 0 }], stream ? 'lsilogic' : 'ide'));
  const descSectors = Math.max(20, Math.ceil(text.length / 512));
  const h = sparseHeaderFor(size, grain, stream, descSectors);
  const descBlock = new Uint8Array(descSectors * 512);
  descBlock.set(text);
  if (stream) {
    // VMware's layout: header, descriptor, (grains), GTs, GD, footer, end-of-stream marker.
    h.overHead = roundUp(1 + descSectors, 128);
    const lead = new Uint8Array(h.overHead * 512);
    lead.set(serializeSparseHeader(h), 0);
    lead.set(descBlock, 512);
    await writeNew(path, [lead, ...streamTail(h, new Map(), h.numGTEsPerGT, h.overHead).bufs]);
    return;
  }
  // monolithicSparse as QEMU and VMware lay it out: redundant GD + GTs, GD + GTs, then grains.
  const n = Math.ceil(sectors / (h.grainSize * h.numGTEsPerGT));
  const gdSectors = Math.ceil((n * 4) / 512);
  const gtSectors = (h.numGTEsPerGT * 4) / 512;
  h.rgdOffset = 1 + descSectors;
  h.gdOffset = BigInt(h.rgdOffset + gdSectors + n * gtSectors);
  const gtStart = Number(h.gdOffset) + gdSectors;
  h.overHead = roundUp(gtStart + n * gtSectors, h.grainSize);
  const rgd = new Uint32Array(n);
  const gd = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    rgd[i] = h.rgdOffset + gdSectors + i * gtSectors;
    gd[i] = gtStart + i * gtSectors;
  }
  const file = await ImageFile.create(path);
  try {
    await file.write(serializeSparseHeader(h), 0);
    await file.write(descBlock, 512);
    await file.write(encodeDirectory(rgd), h.rgdOffset * 512);
    await file.write(encodeDirectory(gd), Number(h.gdOffset) * 512);
    await file.truncate(h.overHead * 512); // the grain tables start out as zeros (holes)
    await file.sync();
  } finally {
    await file.close();
  }
}

async function writeNew(path: string, bufs: Uint8Array[]): Promise<void> {
  const file = await ImageFile.create(path);
  try {
    await file.writev(bufs, 0);
    await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * Sequential writer for a new streamOptimized VMDK (export, convert): data must arrive in
 * increasing offsets; gaps stay unallocated. close() writes the grain tables and footer.
 */
export class VmdkStreamWriter {
  private end = 0;
  private constructor(private readonly img: VmdkImage) {}

  static async create(path: string, size: number, grainBytes?: number): Promise<VmdkStreamWriter> {
    await createVmdk(path, size, { subformat: 'streamOptimized', ...(grainBytes ? { cluster: grainBytes } : {}) });
    return new VmdkStreamWriter(await openVmdk(path));
  }

  get capacity(): number {
    return this.img.capacity;
  }

  async write(data: Uint8Array, offset = this.end): Promise<void> {
    if (offset < this.end) throw new HangarError('usage', `stream writer got offset ${offset} after ${this.end}: data must come in order`);
    await this.img.write(data, offset);
    this.end = offset + data.length;
  }

  close(): Promise<void> {
    return this.img.close();
  }
}

export const vmdkFormat: ImageFormat = {
  name: 'vmdk',
  probe: (head: Uint8Array) => isVmdkSparse(head) || looksLikeDescriptor(head),
  open: openVmdk,
  create: createVmdk,
  check: (path: string, opts?: CheckOptions) => checkVmdk(() => openVmdk(path, { readOnly: true }), opts),
};
