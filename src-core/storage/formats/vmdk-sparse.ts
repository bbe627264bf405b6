// A VMDK hosted sparse extent (monolithicSparse, the pieces of twoGbMaxExtentSparse, and the
// read side of streamOptimized). Grains are allocated at the end of the file; grain-table
// entries reach the disk only at flush, after the grains are durable (data → GT → GD).
import { inflateSync } from 'node:zlib';
import { corrupt, roundUp } from './vdi-vhd-vmdk-common.ts';
import { isZero } from '../zero.ts';
import type { ImageFile } from './vdi-vhd-vmdk-common.ts';
import type { VmdkExtent } from './vmdk-extents.ts';
import { blockSpans } from './block-spans.ts';
import { appendRun } from './runs.ts';
import type { Run } from './runs.ts';
import { encodeDirectory, GrainTables, readGrainDirectory } from './vmdk-grains.ts';
import {
  FLAG_COMPRESSED, FLAG_MARKERS, FLAG_REDUNDANT_GT, FLAG_ZERO_GRAIN, GD_AT_END, gdEntries, parseSparseHeader,
} from './vmdk-header.ts';
import type { SparseHeader } from './vmdk-header.ts';

/** Decompressed grains kept for small sequential reads. */
const GRAIN_CACHE = 32;

export class SparseExtent implements VmdkExtent {
  readonly size: number;
  readonly readOnly: boolean;
  readonly grainBytes: number;
  protected readonly compressed: boolean;
  protected readonly markers: boolean;
  protected nextFree: number;
  private readonly grainCache = new Map<number, Uint8Array>();

  protected constructor(
    protected readonly file: ImageFile,
    /** The header as found (for stream images with the directory at the end: the footer's). */
    protected readonly h: SparseHeader,
    protected readonly tables: GrainTables,
    size: number,
  ) {
    this.size = size;
    this.readOnly = file.readOnly;
    this.grainBytes = h.grainSize * 512;
    this.compressed = (h.flags & FLAG_COMPRESSED) !== 0;
    this.markers = (h.flags & FLAG_MARKERS) !== 0;
    this.nextFree = roundUp(file.size, 512);
  }

  /** Parse the header (and footer when the directory is at the end) and load the directory. */
  static async load(file: ImageFile, size: number): Promise<{ h: SparseHeader; tables: GrainTables; gdAtEnd: boolean }> {
    let h = parseSparseHeader(file.path, await file.read(Math.min(512, file.size), 0, 'VMDK header'));
    if (h.capacity * 512 < size) throw corrupt(file.path, `VMDK extent holds ${h.capacity} sectors, the descriptor says ${size / 512}`);
    const gdAtEnd = h.gdOffset === GD_AT_END;
    if (gdAtEnd) {
      // Stream-optimized (VMware layout): the real directory offset is in the footer, a copy
      // of the header 1024 bytes before the end (then the end-of-stream marker).
      if (file.size < 1536) throw corrupt(file.path, 'VMDK footer missing (file truncated)');
      const footer = parseSparseHeader(file.path, await file.read(512, file.size - 1024, 'VMDK footer'));
      if (footer.gdOffset === GD_AT_END) throw corrupt(file.path, 'VMDK footer has no grain directory offset');
      if (footer.grainSize !== h.grainSize || footer.numGTEsPerGT !== h.numGTEsPerGT || footer.capacity !== h.capacity) {
        throw corrupt(file.path, 'VMDK footer disagrees with the header');
      }
      h = { ...h, gdOffset: footer.gdOffset };
    }
    if (h.gdOffset * 512n >= BigInt(file.size)) throw corrupt(file.path, 'VMDK grain directory lies past the end of the file (truncated)');
    const n = gdEntries(h);
    const useRgd = (h.flags & FLAG_REDUNDANT_GT) !== 0 && (h.flags & FLAG_COMPRESSED) === 0;
    const gd = await readGrainDirectory(file, Number(h.gdOffset), n, 'grain directory');
    const rgd = useRgd ? await readGrainDirectory(file, h.rgdOffset, n, 'redundant grain directory') : undefined;
    for (let i = 0; i < n; i++) {
      if (gd[i]! * 512 >= file.size || (rgd && rgd[i]! * 512 >= file.size)) throw corrupt(file.path, `VMDK grain table ${i} lies past the end of the file`);
    }
    return { h, tables: new GrainTables(file, gd, rgd, h.numGTEsPerGT), gdAtEnd };
  }

  static async open(file: ImageFile, size: number): Promise<SparseExtent> {
    const { h, tables } = await SparseExtent.load(file, size);
    return new SparseExtent(file, h, tables, size);
  }

  /** Is a grain-table entry a grain in the file (rather than unallocated or zero)? */
  protected present(entry: number): boolean {
    return entry > 1 || (entry === 1 && (this.h.flags & FLAG_ZERO_GRAIN) === 0);
  }

  async read(buf: Uint8Array, offset: number): Promise<void> {
    for (const { block: grain, inBlock, done, n } of blockSpans(offset, buf.length, this.grainBytes)) {
      await this.readInGrain(grain, inBlock, buf.subarray(done, done + n));
    }
  }

  protected async readInGrain(grain: number, inGrain: number, piece: Uint8Array): Promise<void> {
    const entry = await this.tables.get(grain);
    if (!this.present(entry)) piece.fill(0);
    else if (this.compressed) piece.set((await this.inflateGrain(grain, entry)).subarray(inGrain, inGrain + piece.length));
    else await this.file.readInto(piece, entry * 512 + inGrain, `grain ${grain}`);
  }

  /** Decompress one grain: a marker {lba, size} then zlib data, or bare zlib data. */
  protected async inflateGrain(grain: number, entry: number): Promise<Uint8Array> {
    const hit = this.grainCache.get(grain);
    if (hit) return hit;
    const gb = this.grainBytes;
    const pos = entry * 512;
    const maxCompressed = gb + (gb >>> 8) + 1024; // deflate's worst case is a little over the input
    let data: Uint8Array;
    if (this.markers) {
      const head = await this.file.read(12, pos, `grain ${grain} marker`);
      const dv = new DataView(head.buffer);
      const lba = Number(dv.getBigUint64(0, true));
      const len = dv.getUint32(8, true);
      if (len === 0 || len > maxCompressed) throw corrupt(this.file.path, `grain ${grain} has a compressed size of ${len} bytes`);
      if (lba !== grain * this.h.grainSize) throw corrupt(this.file.path, `grain ${grain} points at the data of sector ${lba}`);
      data = await this.file.read(len, pos + 12, `grain ${grain}`);
    } else {
      data = await this.file.read(Math.min(maxCompressed, this.file.size - pos), pos, `grain ${grain}`);
    }
    let out: Uint8Array;
    try {
      out = inflateSync(data, { maxOutputLength: gb });
    } catch (err) {
      throw corrupt(this.file.path, `grain ${grain} does not decompress (${(err as Error).message})`);
    }
    const grainData = new Uint8Array(gb);
    grainData.set(out);
    if (this.grainCache.size >= GRAIN_CACHE) this.grainCache.delete(this.grainCache.keys().next().value!);
    this.grainCache.set(grain, grainData);
    return grainData;
  }

  protected forgetGrain(grain: number): void {
    this.grainCache.delete(grain);
  }

  async write(buf: Uint8Array, offset: number): Promise<void> {
    for (const { block: grain, inBlock, done, n } of blockSpans(offset, buf.length, this.grainBytes)) {
      await this.writeInGrain(grain, inBlock, buf.subarray(done, done + n));
    }
  }

  private async writeInGrain(grain: number, inGrain: number, piece: Uint8Array): Promise<void> {
    const entry = await this.tables.get(grain);
    if (this.present(entry)) {
      // Never let a damaged table aim guest writes at the header, descriptor or tables.
      if (entry < this.h.overHead) throw corrupt(this.file.path, `grain ${grain} points into the image's metadata`);
      await this.file.write(piece, entry * 512 + inGrain);
      return;
    }
    if (isZero(piece)) return; // unallocated and zero grains already read as zeros
    const whole = piece.length === this.grainBytes ? piece : new Uint8Array(this.grainBytes);
    if (whole !== piece) whole.set(piece, inGrain);
    const at = this.nextFree;
    await this.file.write(whole, at);
    this.nextFree = at + this.grainBytes;
    await this.tables.set(grain, at / 512);
  }

  async discard(offset: number, length: number): Promise<void> {
    // Grains cannot be returned to a hosted sparse file, so allocated ranges are zeroed.
    for (const { block: grain, pos, n } of blockSpans(offset, length, this.grainBytes)) {
      if (this.present(await this.tables.get(grain))) await this.write(new Uint8Array(n), pos);
    }
  }

  async map(offset: number, length: number): Promise<Run[]> {
    const out: Run[] = [];
    for (const { block: grain, pos, n } of blockSpans(offset, length, this.grainBytes)) {
      const allocated = this.present(await this.tables.get(grain));
      appendRun(out, allocated ? { offset: pos, length: n, allocated } : { offset: pos, length: n, allocated, zero: true });
    }
    return out;
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    const t = this.tables;
    await this.file.sync(); // grains first
    if (t.dirtyGT.size === 0) return;
    const gtSpan = roundUp(t.gtBytes, 512);
    for (const i of t.newGT) {
      // A table that never had a place (GD entry 0): give it one at the end of the file.
      t.gd[i] = this.nextFree / 512;
      this.nextFree += gtSpan;
      if (t.rgd) {
        t.rgd[i] = this.nextFree / 512;
        this.nextFree += gtSpan;
      }
    }
    for (const i of [...t.dirtyGT].sort((a, b) => a - b)) {
      const bytes = t.encode(i);
      await this.file.write(bytes, t.gd[i]! * 512);
      if (t.rgd) await this.file.write(bytes, t.rgd[i]! * 512);
    }
    if (t.newGT.size > 0) {
      await this.file.sync(); // tables before the directory that points at them
      await this.file.write(encodeDirectory(t.gd), Number(this.h.gdOffset) * 512);
      if (t.rgd) await this.file.write(encodeDirectory(t.rgd), this.h.rgdOffset * 512);
      t.newGT.clear();
    }
    t.dirtyGT.clear();
    await this.file.sync();
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.file.close();
    }
  }

  allocatedBytes(): Promise<number> {
    return this.file.allocatedBytes();
  }

  /**
   * Consistency check: every grain inside the file, past the metadata, used once (compressed:
   * its marker names the grain and a sane size). In plain sparse files, space between the
   * metadata and the end that no grain or table uses is counted as leaked.
   */
  async audit(): Promise<{ corruptions: number; leaks: number; messages: string[] }> {
    const out = { corruptions: 0, leaks: 0, messages: [] as string[] };
    const bad = (m: string) => {
      out.corruptions++;
      out.messages.push(`${this.file.path}: ${m}`);
    };
    const grains = Math.ceil(this.size / this.grainBytes);
    const owner = new Map<number, number>();
    const spans: [number, number][] = [];
    for (let g = 0; g < grains; g++) {
      const e = await this.tables.get(g);
      if (!this.present(e)) continue;
      const from = e * 512;
      if (e < this.h.overHead) {
        bad(`grain ${g} points into the metadata (sector ${e})`);
        continue;
      }
      if (owner.has(e)) {
        bad(`grains ${owner.get(e)} and ${g} share sector ${e}`);
        continue;
      }
      owner.set(e, g);
      let len = this.grainBytes;
      if (this.compressed && this.markers) {
        if (from + 12 > this.file.size) {
          bad(`grain ${g} lies past the end of the file`);
          continue;
        }
        const dv = new DataView((await this.file.read(12, from)).buffer);
        const lba = Number(dv.getBigUint64(0, true));
        len = 12 + dv.getUint32(8, true);
        if (lba !== g * this.h.grainSize || len === 12 || len > 2 * this.grainBytes + 1024) bad(`grain ${g} has a bad marker (lba ${lba}, ${len - 12} bytes)`);
      }
      if (from + len > this.file.size) bad(`grain ${g} lies past the end of the file`);
      else spans.push([from, from + len]);
    }
    if (!this.compressed) {
      const gtBytes = roundUp(this.tables.gtBytes, 512);
      for (const e of this.tables.gd) if (e !== 0) spans.push([e * 512, e * 512 + gtBytes]);
      if (this.tables.rgd) for (const e of this.tables.rgd) if (e !== 0) spans.push([e * 512, e * 512 + gtBytes]);
      spans.sort((a, b) => a[0] - b[0]);
      let at = this.h.overHead * 512;
      for (const [from, to] of spans) {
        if (to <= at) continue;
        if (from > at) out.leaks++;
        at = Math.max(at, to);
      }
      if (this.file.size > at) out.leaks++;
      if (out.leaks > 0) out.messages.push(`${this.file.path}: ${out.leaks} region(s) used by no grain (leaked space)`);
    }
    return out;
  }
}
