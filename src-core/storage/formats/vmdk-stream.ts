// Writing a stream-optimized VMDK extent: every grain is zlib-compressed (78 9c) behind a grain
// marker and appended; the grain tables, the grain directory, the footer (a copy of the header
// holding the real directory offset) and the end-of-stream marker follow the last grain, as
// VMware writes them. Appending moves that tail; it is rewritten at flush and close.
// Stream images are an export format: a crash while one is being written leaves it unreadable.
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import { corrupt, roundUp } from './vdi-vhd-vmdk-common.ts';
import { isZero } from '../zero.ts';
import type { ImageFile } from './vdi-vhd-vmdk-common.ts';
import { encodeDirectory } from './vmdk-grains.ts';
import type { Run } from './runs.ts';
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
const COMPRESS_BATCH = 16;
/** Grains compressed or waiting to be appended before write() waits for them. */
const MAX_INFLIGHT = 128;

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
  /** Grains queued for compression and append, readable until they land. */
  private readonly inflight = new Map<number, Uint8Array>();
  private inflightCount = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly batches: Promise<void>[] = [];
  private failed: Error | undefined;

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
    const p = this.pending.get(grain)?.data ?? this.inflight.get(grain);
    if (p) piece.set(p.subarray(inGrain, inGrain + piece.length));
    else await super.readInGrain(grain, inGrain, piece);
  }

  override async write(buf: Uint8Array, offset: number): Promise<void> {
    if (this.failed) throw this.failed;
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
        ready.push({ grain, data: piece.slice() }); // a copy: compression outlives this call
      } else {
        let p = this.pending.get(grain);
        if (!p) {
          // Start from the grain's current contents: a rewrite appends a new copy.
          const data = new Uint8Array(gb);
          await this.readInGrain(grain, 0, data.subarray(0, len));
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
    this.emit(ready);
    // Bound the grains in flight: wait for the oldest batches to land.
    while (this.inflightCount > MAX_INFLIGHT) await this.batches.shift();
  }

  /**
   * Start compressing grains now (zlib runs on the thread pool, so batches overlap) and queue
   * their append: records reach the file, and the grain tables, strictly in submission order.
   */
  private emit(grains: { grain: number; data: Uint8Array }[]): void {
    for (let i = 0; i < grains.length; i += COMPRESS_BATCH) {
      const batch = grains.slice(i, i + COMPRESS_BATCH);
      for (const g of batch) {
        this.inflight.set(g.grain, g.data);
        this.forgetGrain(g.grain);
      }
      this.inflightCount += batch.length;
      const compressed = Promise.all(batch.map((g) => (isZero(g.data) ? Promise.resolve(undefined) : deflateAsync(g.data))));
      compressed.catch(() => undefined); // reported through the chain below
      this.chain = this.chain.then(() => this.append(batch, compressed)).catch((err) => {
        this.failed ??= err as Error;
      });
      this.batches.push(this.chain);
    }
  }

  private async append(batch: { grain: number; data: Uint8Array }[], compressed: Promise<(Buffer | undefined)[]>): Promise<void> {
    try {
      if (this.failed) return;
      const comp = await compressed;
      const records: Uint8Array[] = [];
      const lands: { grain: number; at: number }[] = [];
      let at = this.appendPos;
      for (let k = 0; k < batch.length; k++) {
        const g = batch[k]!;
        const c = comp[k];
        if (!c) {
          // All zeros: unallocated reads as zeros, so drop any earlier copy.
          if (this.present(await this.tables.get(g.grain))) lands.push({ grain: g.grain, at: 0 });
          continue;
        }
        const rec = grainRecord(g.grain * this.h.grainSize, c);
        records.push(rec);
        lands.push({ grain: g.grain, at: at / 512 });
        at += rec.length;
      }
      if (records.length > 0) await this.file.writev(records, this.appendPos);
      this.appendPos = at;
      for (const l of lands) await this.tables.set(l.grain, l.at);
      if (lands.length > 0) this.tailDirty = true;
    } finally {
      for (const g of batch) if (this.inflight.get(g.grain) === g.data) this.inflight.delete(g.grain);
      this.inflightCount -= batch.length;
    }
  }

  /** Wait until every queued grain is in the file; rethrow the first failure. */
  private async drain(): Promise<void> {
    await this.chain;
    this.batches.length = 0;
    if (this.failed) throw this.failed;
  }

  override async map(offset: number, length: number): Promise<Run[]> {
    await this.drain(); // grains still in flight are not in the tables yet
    return super.map(offset, length);
  }

  override async discard(offset: number, length: number): Promise<void> {
    await this.write(new Uint8Array(length), offset);
  }

  override async flush(): Promise<void> {
    if (this.readOnly) return;
    if (this.pending.size > 0) {
      const all = [...this.pending].map(([grain, p]) => ({ grain, data: p.data.subarray(0, this.grainLength(grain)) }));
      this.pending.clear();
      this.emit(all);
    }
    await this.drain();
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
