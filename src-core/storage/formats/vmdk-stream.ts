// Writing a stream-optimized VMDK extent: every grain is zlib-compressed (78 9c) behind a grain
// marker and appended; the grain tables, the grain directory, the footer (a copy of the header
// holding the real directory offset) and the end-of-stream marker follow the last grain, as
// VMware writes them. Appending moves that tail; it is rewritten at flush and close.
// Stream images are an export format: a crash while one is being written leaves it unreadable.
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import { corrupt, isAllZero, roundUp } from './vdi-vhd-vmdk-common.ts';
import type { ImageFile } from './vdi-vhd-vmdk-common.ts';
import { encodeDirectory } from './vmdk-grains.ts';
import type { GrainTables } from './vmdk-grains.ts';
import {
  FLAG_COMPRESSED, FLAG_MARKERS, FLAG_NEWLINE_TEST, FLAG_ZERO_GRAIN, GD_AT_END, gdEntries, MARKER_FOOTER, MARKER_GD, MARKER_GT,
  metadataMarker, serializeSparseHeader,
} from './vmdk-header.ts';
import type { SparseHeader } from './vmdk-header.ts';
import { SparseExtent } from './vmdk-sparse.ts';

const deflateAsync = promisify(deflate);
/** Partly written grains held in memory before they are compressed as they are. */
const MAX_PENDING = 64;
/** Grains compressed concurrently (zlib runs on the libuv thread pool). */
const COMPRESS_BATCH = 32;

export function streamFlags(h: SparseHeader): number {
  return FLAG_NEWLINE_TEST | FLAG_COMPRESSED | FLAG_MARKERS | (h.flags & FLAG_ZERO_GRAIN);
}

/** The metadata that ends a stream: GTs, GD, footer, end-of-stream marker. Returns the buffers. */
export function streamTail(h: SparseHeader, tables: Map<number, Uint32Array>, gtes: number, startSector: number): { bufs: Uint8Array[]; gd: Uint32Array } {
  const n = gdEntries(h);
  const gd = new Uint32Array(n);
  const gtSectors = roundUp(gtes * 4, 512) / 512;
  const bufs: Uint8Array[] = [];
  let sector = startSector;
  for (const i of [...tables.keys()].sort((a, b) => a - b)) {
    const t = tables.get(i)!;
    if (i >= n || t.every((e) => e === 0)) continue; // empty tables are left out (GD entry 0)
    bufs.push(metadataMarker(gtSectors, MARKER_GT));
    gd[i] = sector + 1;
    const out = new Uint8Array(gtSectors * 512);
    const dv = new DataView(out.buffer);
    for (let k = 0; k < gtes; k++) dv.setUint32(k * 4, t[k]!, true);
    bufs.push(out);
    sector += 1 + gtSectors;
  }
  const gdBytes = encodeDirectory(gd);
  bufs.push(metadataMarker(gdBytes.length / 512, MARKER_GD), gdBytes);
  const gdSector = sector + 1;
  const footer = serializeSparseHeader({ ...h, flags: streamFlags(h), gdOffset: BigInt(gdSector), rgdOffset: 0 });
  bufs.push(metadataMarker(1, MARKER_FOOTER), footer, new Uint8Array(512)); // ... and end of stream
  return { bufs, gd };
}

/** One grain as it sits in a stream: marker {lba, size} + zlib data, padded to a sector. */
function grainRecord(lba: number, compressed: Uint8Array): Uint8Array {
  const rec = new Uint8Array(roundUp(12 + compressed.length, 512));
  const dv = new DataView(rec.buffer);
  dv.setBigUint64(0, BigInt(lba), true);
  dv.setUint32(8, compressed.length, true);
  rec.set(compressed, 12);
  return rec;
}

export class StreamExtent extends SparseExtent {
  private appendPos = 0;
  /** Whether the header at sector 0 already says "directory at the end" (VMware's layout). */
  private gdAtEnd = true;
  private tailDirty = false;
  private readonly pending = new Map<number, { data: Uint8Array; filled: number }>();

  static async openStream(file: ImageFile, size: number): Promise<StreamExtent> {
    const { h, tables, gdAtEnd } = await SparseExtent.load(file, size);
    const ext = new StreamExtent(file, h, tables, size);
    ext.gdAtEnd = gdAtEnd;
    if (!file.readOnly) await ext.prepareAppend();
    return ext;
  }

  private constructor(file: ImageFile, h: SparseHeader, tables: GrainTables, size: number) {
    super(file, h, tables, size);
  }

  /** New grains go right after the last grain in the file; everything after it is rewritten. */
  private async prepareAppend(): Promise<void> {
    await this.tables.loadAll();
    let last = 0;
    for (const t of this.tables.tables().values()) for (const e of t) if (this.present(e) && e > last) last = e;
    let pos = Math.max(this.h.overHead, this.h.descriptorOffset + this.h.descriptorSize, 1) * 512;
    if (last > 0) {
      const head = await this.file.read(12, last * 512, 'last grain marker');
      const len = new DataView(head.buffer).getUint32(8, true);
      if (len === 0 || len > 2 * this.grainBytes + 1024) throw corrupt(this.file.path, `grain marker at sector ${last} has a size of ${len} bytes`);
      pos = Math.max(pos, last * 512 + roundUp(12 + len, 512));
    }
    this.appendPos = pos;
  }

  private grainLength(grain: number): number {
    return Math.min(this.grainBytes, this.size - grain * this.grainBytes);
  }

  protected override async readInGrain(grain: number, inGrain: number, piece: Uint8Array): Promise<void> {
    const p = this.pending.get(grain);
    if (p) piece.set(p.data.subarray(inGrain, inGrain + piece.length));
    else await super.readInGrain(grain, inGrain, piece);
  }

  override async write(buf: Uint8Array, offset: number): Promise<void> {
    const gb = this.grainBytes;
    const ready: { grain: number; data: Uint8Array }[] = [];
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const grain = Math.floor(pos / gb);
      const inGrain = pos - grain * gb;
      const len = this.grainLength(grain);
      const n = Math.min(len - inGrain, buf.length - done);
      const piece = buf.subarray(done, done + n);
      if (n === len && !this.pending.has(grain)) {
        ready.push({ grain, data: piece });
      } else {
        let p = this.pending.get(grain);
        if (!p) {
          // Start from the grain's current contents: a rewrite appends a new copy.
          const data = new Uint8Array(gb);
          await super.readInGrain(grain, 0, data.subarray(0, len));
          p = { data, filled: 0 };
          this.pending.set(grain, p);
        }
        p.data.set(piece, inGrain);
        p.filled += n;
        if (p.filled >= len) {
          this.pending.delete(grain);
          ready.push({ grain, data: p.data.subarray(0, len) });
        }
      }
      done += n;
    }
    while (this.pending.size > MAX_PENDING) {
      const [grain, p] = this.pending.entries().next().value!;
      this.pending.delete(grain);
      ready.push({ grain, data: p.data.subarray(0, this.grainLength(grain)) });
    }
    await this.emit(ready);
  }

  /** Compress grains (in parallel) and append them in order. */
  private async emit(grains: { grain: number; data: Uint8Array }[]): Promise<void> {
    for (let i = 0; i < grains.length; i += COMPRESS_BATCH) {
      const batch = grains.slice(i, i + COMPRESS_BATCH);
      const nonZero: { grain: number; data: Uint8Array }[] = [];
      for (const g of batch) {
        this.forgetGrain(g.grain);
        if (!isAllZero(g.data)) nonZero.push(g);
        else if (this.present(await this.tables.get(g.grain))) {
          await this.tables.set(g.grain, 0); // now all zeros: unallocated reads as zeros
          this.tailDirty = true;
        }
      }
      if (nonZero.length === 0) continue;
      const compressed = await Promise.all(nonZero.map((g) => deflateAsync(g.data)));
      const records = compressed.map((c, k) => grainRecord(nonZero[k]!.grain * this.h.grainSize, c));
      await this.file.writev(records, this.appendPos);
      let at = this.appendPos;
      for (let k = 0; k < records.length; k++) {
        await this.tables.set(nonZero[k]!.grain, at / 512);
        at += records[k]!.length;
      }
      this.appendPos = at;
      this.tailDirty = true;
    }
  }

  override async discard(offset: number, length: number): Promise<void> {
    await this.write(new Uint8Array(length), offset);
  }

  override async flush(): Promise<void> {
    if (this.readOnly) return;
    if (this.pending.size > 0) {
      const all = [...this.pending].map(([grain, p]) => ({ grain, data: p.data.subarray(0, this.grainLength(grain)) }));
      this.pending.clear();
      await this.emit(all);
    }
    if (this.tailDirty) {
      const { bufs, gd } = streamTail(this.h, this.tables.tables(), this.tables.gtes, this.appendPos / 512);
      await this.file.writev(bufs, this.appendPos);
      const end = this.appendPos + bufs.reduce((s, b) => s + b.length, 0);
      await this.file.truncate(end);
      this.tables.gd.set(gd);
      this.tables.dirtyGT.clear();
      this.tables.newGT.clear();
      if (!this.gdAtEnd) {
        // An image in QEMU's layout (directory up front) becomes VMware's (directory at the end).
        await this.file.sync();
        await this.file.write(serializeSparseHeader({ ...this.h, flags: streamFlags(this.h), gdOffset: GD_AT_END, rgdOffset: 0 }), 0);
        this.gdAtEnd = true;
      }
      this.tailDirty = false;
    }
    await this.file.sync();
  }
}
