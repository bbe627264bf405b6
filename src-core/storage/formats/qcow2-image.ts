// An open qcow2 image: guest reads and writes through the L1/L2 tables, cluster allocation at
// the end of the file, copy-on-write from compressed clusters and backing images.
// Data is written at once; metadata (refcounts, L2 tables, L1 entries) is cached and written at
// flush in the order data → refcounts → L2 → L1 → frees, with fdatasync between, so a crash
// at any moment leaves an image whose only damage is leaked clusters.
import { HangarError } from '../../api/errors.ts';
import type { ImageInfo, MapRun, OpenImage } from '../format.ts';
import type { HostFile } from '../host-file.ts';
import { SerialQueue } from '../serial.ts';
import { checkRange, corrupt, readOnlyError } from '../errors.ts';
import type { Qcow2Header } from './qcow2-header.ts';
import { writeU64 } from './qcow2-header.ts';
import type { Refcounts } from './qcow2-refcount.ts';
import type { Qcow2Snapshot } from './qcow2-snapshots.ts';
import type { Mapping } from './qcow2-entries.ts';
import { ZERO_LO, compressedSpan, decodeL2, inflateCluster, l1Offset, normalEntry, setEntry } from './qcow2-entries.ts';
import { mapThroughParent } from './parent-io.ts';
import { appendRun } from './runs.ts';

interface L2Table {
  offset: number;
  bytes: Uint8Array;
  dv: DataView;
  dirty: boolean;
}

/** One host transfer: `len` bytes between buffer position `pos` and host/backing offset `at`. */
interface Op {
  backing: boolean;
  at: number;
  pos: number;
  len: number;
  data?: Uint8Array; // a prepared whole cluster (copy-on-write) instead of the caller's buffer
}

const CACHE_BYTES = 32 << 20;

export class Qcow2Image implements OpenImage {
  readonly capacity: number;
  readonly cs: number;
  private readonly l2Entries: number;
  private l1dv: DataView;
  private l1Dirty = new Set<number>();
  private cache = new Map<number, L2Table>();
  private readonly cacheLimit: number;
  private queue = new SerialQueue();
  private lastInflated?: { offset: number; data: Uint8Array };
  private closed = false;
  private fileSize: number;
  private readonly openEnd: number;
  /** L2 table clusters, for the overlap guard. */
  private l2Clusters = new Set<number>();

  constructor(
    private file: HostFile,
    readonly header: Qcow2Header,
    private l1: Uint8Array,
    readonly readOnly: boolean,
    private refs: Refcounts | undefined,
    private backing: OpenImage | undefined,
    readonly snapshots: Qcow2Snapshot[],
    fileSize: number,
  ) {
    this.capacity = header.size - (header.size % 512);
    this.cs = 2 ** header.clusterBits;
    this.l2Entries = this.cs / 8;
    this.l1dv = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
    this.cacheLimit = Math.max(16, Math.floor(CACHE_BYTES / this.cs));
    this.fileSize = fileSize;
    this.openEnd = fileSize;
    if (!readOnly) {
      for (let i = 0; i < header.l1Size; i++) {
        const hi = this.l1dv.getUint32(i * 8) & 0x00ffffff;
        const lo = this.l1dv.getUint32(i * 8 + 4) & ~0x1ff;
        const off = hi * 2 ** 32 + (lo >>> 0);
        if (off !== 0 && off % this.cs === 0) this.l2Clusters.add(off / this.cs);
      }
    }
  }

  /**
   * Overlap guard for in-place writes (a damaged or hostile mapping must not let guest data
   * overwrite metadata): the target may not be the header, a table, a refcount block, or a
   * cluster past the end of the file that Hangar has not allocated itself.
   */
  private isMetadata(off: number): boolean {
    const c = off / this.cs;
    const l1First = this.header.l1TableOffset / this.cs;
    const l1Count = Math.ceil((this.header.l1Size * 8) / this.cs);
    return c === 0 || (c >= l1First && c < l1First + l1Count) || this.l2Clusters.has(c) || !!this.refs?.isMetadata(c);
  }

  private guardTarget(off: number): void {
    if (this.isMetadata(off)) throw corrupt(this.path, `a data mapping points at metadata (host offset ${off}); refusing to write`);
    if (off + this.cs > this.openEnd && off >= this.refs!.allocatedEnd)
      throw corrupt(this.path, `a data mapping points past the end of the file (host offset ${off}); refusing to write`);
  }

  get path(): string {
    return this.file.path;
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      if (this.closed) throw new HangarError('state', `${this.path}: image is closed`);
      await this.trimCache();
      return fn();
    });
  }

  // ---- tables -------------------------------------------------------------------------------

  private async loadL2(offset: number): Promise<L2Table> {
    const hit = this.cache.get(offset);
    if (hit) {
      this.cache.delete(offset);
      this.cache.set(offset, hit); // most recently used last
      return hit;
    }
    if (offset === this.header.l1TableOffset || offset === 0 || offset + this.cs > this.fileSize)
      throw corrupt(this.path, `L2 table at ${offset} lies outside the file or on top of other metadata`);
    const bytes = new Uint8Array(this.cs);
    await this.file.readExact(bytes, offset, 'L2 table');
    const t = { offset, bytes, dv: new DataView(bytes.buffer), dirty: false };
    this.cache.set(offset, t);
    return t;
  }

  /** Evict clean tables beyond the cache budget; only between requests, so no request holds a stale table. */
  private async trimCache(): Promise<void> {
    if (this.cache.size <= this.cacheLimit) return;
    for (const [off, t] of this.cache) {
      if (this.cache.size <= this.cacheLimit) return;
      if (!t.dirty) this.cache.delete(off);
    }
    if (this.cache.size > this.cacheLimit * 2) {
      await this.flushLocked();
      await this.trimCache();
    }
  }

  private l1Index(g: number): number {
    const i = Math.floor(g / this.l2Entries);
    if (i >= this.header.l1Size) throw corrupt(this.path, `guest cluster ${g} is beyond the L1 table`);
    return i;
  }

  private async lookup(g: number): Promise<Mapping> {
    const l2off = l1Offset(this.l1dv, this.l1Index(g), this.cs, this.path);
    if (l2off === 0) return { kind: 'unallocated' };
    const t = await this.loadL2(l2off);
    return decodeL2(t.dv, g % this.l2Entries, this.header.clusterBits, this.header.version, this.path);
  }

  /** The L2 table covering guest cluster `g`, allocating it when missing. */
  private async l2ForWrite(g: number): Promise<L2Table> {
    const i = this.l1Index(g);
    const l2off = l1Offset(this.l1dv, i, this.cs, this.path);
    if (l2off !== 0) return this.loadL2(l2off);
    const off = await this.refs!.allocate(1);
    this.l2Clusters.add(off / this.cs);
    const bytes = new Uint8Array(this.cs);
    const t = { offset: off, bytes, dv: new DataView(bytes.buffer), dirty: true };
    this.cache.set(off, t);
    const [hi, lo] = normalEntry(off);
    setEntry(this.l1dv, i, hi, lo);
    this.l1Dirty.add(i);
    return t;
  }

  // ---- data ---------------------------------------------------------------------------------

  private async inflate(m: { offset: number; size: number }): Promise<Uint8Array> {
    if (this.lastInflated?.offset === m.offset) return this.lastInflated.data;
    if (m.size > 2 * this.cs + 512) throw corrupt(this.path, `compressed cluster at ${m.offset} claims ${m.size} bytes`);
    const raw = new Uint8Array(m.size);
    await this.file.readAt(raw, m.offset);
    const data = inflateCluster(raw, this.cs, this.path, m.offset);
    this.lastInflated = { offset: m.offset, data };
    return data;
  }

  private async readBacking(buf: Uint8Array, offset: number): Promise<void> {
    const b = this.backing!;
    const n = Math.max(0, Math.min(buf.length, b.capacity - offset));
    if (n > 0) await b.read(buf.subarray(0, n), offset);
    buf.fill(0, n);
  }

  private async runOps(ops: Op[], buf: Uint8Array, write: boolean): Promise<void> {
    for (const op of ops) {
      const slice = op.data ?? buf.subarray(op.pos, op.pos + op.len);
      if (write) await this.file.writeAt(slice, op.at);
      else if (op.backing) await this.readBacking(slice, op.at);
      else await this.file.readAt(slice, op.at);
    }
  }

  private static push(ops: Op[], op: Op): void {
    const last = ops[ops.length - 1];
    if (last && !last.data && !op.data && last.backing === op.backing && last.at + last.len === op.at && last.pos + last.len === op.pos)
      last.len += op.len;
    else ops.push(op);
  }

  read(buf: Uint8Array, offset: number): Promise<void> {
    return this.run(async () => {
      checkRange(this.path, this.capacity, offset, buf.length);
      const ops: Op[] = [];
      for (let pos = 0; pos < buf.length; ) {
        const g = Math.floor((offset + pos) / this.cs);
        const inner = (offset + pos) % this.cs;
        const n = Math.min(this.cs - inner, buf.length - pos);
        const m = await this.lookup(g);
        if (m.kind === 'normal') Qcow2Image.push(ops, { backing: false, at: m.offset + inner, pos, len: n });
        else if (m.kind === 'compressed') buf.set((await this.inflate(m)).subarray(inner, inner + n), pos);
        else if (m.kind === 'unallocated' && this.backing) Qcow2Image.push(ops, { backing: true, at: offset + pos, pos, len: n });
        else buf.fill(0, pos, pos + n);
        pos += n;
      }
      await this.runOps(ops, buf, false);
    });
  }

  /** The current content of guest cluster g, for copy-on-write. */
  private async clusterContent(g: number, m: Mapping): Promise<Uint8Array> {
    const out = new Uint8Array(this.cs);
    if (m.kind === 'normal') await this.file.readAt(out, m.offset);
    else if (m.kind === 'compressed') out.set(await this.inflate(m));
    else if (m.kind === 'unallocated' && this.backing) await this.readBacking(out, g * this.cs);
    return out;
  }

  /** Queue the release of whatever host space mapping `m` holds. */
  private release(m: Mapping): void {
    if ((m.kind === 'normal' || m.kind === 'zero') && m.offset !== 0 && this.isMetadata(m.offset)) return; // damaged mapping: never free metadata
    if (m.kind === 'normal' || (m.kind === 'zero' && m.offset !== 0)) this.refs!.freeLater(m.offset, 1);
    else if (m.kind === 'compressed') {
      const s = compressedSpan(m, this.cs);
      this.refs!.freeLater(s.first * this.cs, s.count);
    }
    if (m.kind === 'compressed' && this.lastInflated?.offset === m.offset) this.lastInflated = undefined;
  }

  write(buf: Uint8Array, offset: number): Promise<void> {
    return this.run(async () => {
      if (this.readOnly) throw readOnlyError(this.path);
      checkRange(this.path, this.capacity, offset, buf.length);
      await this.writeLocked(buf, offset);
    });
  }

  private async writeLocked(buf: Uint8Array, offset: number): Promise<void> {
    const ops: Op[] = [];
    const updates: { t: L2Table; i: number; hi: number; lo: number; old?: Mapping }[] = [];
    for (let pos = 0; pos < buf.length; ) {
      const g = Math.floor((offset + pos) / this.cs);
      const inner = (offset + pos) % this.cs;
      const n = Math.min(this.cs - inner, buf.length - pos);
      const t = await this.l2ForWrite(g);
      const i = g % this.l2Entries;
      const m = decodeL2(t.dv, i, this.header.clusterBits, this.header.version, this.path);
      if (m.kind === 'normal') {
        // No internal snapshots are open for writing, so an allocated cluster is ours alone.
        this.guardTarget(m.offset);
        Qcow2Image.push(ops, { backing: false, at: m.offset + inner, pos, len: n });
      } else {
        const full = inner === 0 && n === this.cs;
        const reuse = m.kind === 'zero' && m.offset !== 0;
        // A new cluster comes from past the end of the file, so it already reads as zeros: when
        // the old content is zero too, only the written part needs writing (no 16x amplification).
        const fresh = !reuse && (m.kind === 'zero' || (m.kind === 'unallocated' && !this.backing));
        let data: Uint8Array | undefined;
        if (!full && !fresh) {
          data = m.kind === 'zero' ? new Uint8Array(this.cs) : await this.clusterContent(g, m);
          data.set(buf.subarray(pos, pos + n), inner);
        }
        if (reuse) this.guardTarget(m.offset);
        const at = reuse ? m.offset : await this.refs!.allocate(1);
        if (data) ops.push({ backing: false, at, pos, len: this.cs, data });
        else Qcow2Image.push(ops, { backing: false, at: at + inner, pos, len: n });
        const [hi, lo] = normalEntry(at);
        updates.push({ t, i, hi, lo, old: reuse ? undefined : m });
      }
      pos += n;
    }
    await this.runOps(ops, buf, true);
    // Mappings change only after the data is in the file.
    for (const u of updates) {
      setEntry(u.t.dv, u.i, u.hi, u.lo);
      u.t.dirty = true;
      if (u.old) this.release(u.old);
    }
  }

  discard(offset: number, length: number): Promise<void> {
    return this.run(async () => {
      if (this.readOnly) throw readOnlyError(this.path);
      checkRange(this.path, this.capacity, offset, length);
      const end = offset + length;
      for (let pos = offset; pos < end; ) {
        const g = Math.floor(pos / this.cs);
        const inner = pos % this.cs;
        const n = Math.min(this.cs - inner, end - pos);
        const m = await this.lookup(g);
        const readsZero = !this.backing && (m.kind === 'unallocated' || m.kind === 'zero');
        if (readsZero) {
          // nothing to do
        } else if (n < this.cs) {
          await this.writeLocked(new Uint8Array(n), pos);
        } else {
          const t = await this.l2ForWrite(g);
          // With a backing file the cluster must read as zero, not fall through to the base.
          setEntry(t.dv, g % this.l2Entries, 0, this.backing ? ZERO_LO : 0);
          t.dirty = true;
          this.release(m);
        }
        pos += n;
      }
    });
  }

  // ---- durability ---------------------------------------------------------------------------

  flush(): Promise<void> {
    return this.run(() => this.flushLocked());
  }

  private async flushLocked(): Promise<void> {
    if (this.readOnly) return;
    const refs = this.refs!;
    const dirtyL2 = [...this.cache.values()].filter((t) => t.dirty);
    if (!refs.dirty && dirtyL2.length === 0 && this.l1Dirty.size === 0 && !refs.hasPendingFrees) {
      await this.file.datasync();
      return;
    }
    // Every allocated cluster must exist in the file before a refcount or mapping names it.
    if (this.fileSize < refs.allocatedEnd) {
      await this.file.truncate(refs.allocatedEnd);
      this.fileSize = refs.allocatedEnd;
    } else this.fileSize = Math.max(this.fileSize, await this.file.size());
    await this.file.datasync(); // data
    if (refs.dirty) {
      await refs.writeBack();
      await this.file.datasync(); // refcounts
    }
    if (dirtyL2.length > 0) {
      dirtyL2.sort((a, b) => a.offset - b.offset);
      for (const t of dirtyL2) {
        await this.file.writeAt(t.bytes, t.offset);
        t.dirty = false;
      }
      await this.file.datasync(); // L2 tables
    }
    if (this.l1Dirty.size > 0) {
      const idx = [...this.l1Dirty].sort((a, b) => a - b);
      const lo = idx[0]!;
      const hi = idx[idx.length - 1]!;
      await this.file.writeAt(this.l1.subarray(lo * 8, hi * 8 + 8), this.header.l1TableOffset + lo * 8);
      this.l1Dirty.clear();
      await this.file.datasync(); // L1
    }
    if (refs.hasPendingFrees) {
      await refs.applyFrees();
      await this.file.datasync(); // frees, only once nothing points at them
    }
  }

  /** Set or clear the v3 dirty bit (incompatible feature 0) and make it durable. */
  async setDirtyBit(on: boolean): Promise<void> {
    const inc = on ? this.header.incompatible | 1 : this.header.incompatible & ~1;
    const b = new Uint8Array(8);
    writeU64(new DataView(b.buffer), 0, inc);
    await this.file.writeAt(b, 72);
    await this.file.datasync();
    this.header.incompatible = inc;
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      try {
        if (!this.readOnly) {
          await this.flushLocked();
          if (this.header.version === 3) await this.setDirtyBit(false);
        }
      } finally {
        this.closed = true;
        await this.file.close();
        if (this.backing) await this.backing.close();
      }
    });
  }

  // ---- introspection ------------------------------------------------------------------------

  info(): Promise<ImageInfo> {
    return this.run(async () => ({
      format: 'qcow2',
      subformat: this.header.version === 3 ? 'v3' : 'v2',
      virtualSize: this.capacity,
      actualSize: await this.file.allocatedSize(),
      clusterSize: this.cs,
      backing: this.header.backingFile
        ? { path: this.header.backingFile, format: (this.header.backingFormat === 'vpc' ? 'vhd' : this.header.backingFormat) as ImageInfo['format'] | undefined }
        : undefined,
      snapshots: this.snapshots.map((s) => ({ id: s.id, name: s.name, vmStateSize: s.vmStateSize, date: s.date })),
      dirty: (this.header.incompatible & 1) !== 0,
    }));
  }

  mapRanges(offset: number, length: number): Promise<MapRun[]> {
    return this.run(async () => {
      checkRange(this.path, this.capacity, offset, length);
      type Run = MapRun & { fromBacking?: boolean };
      const runs: Run[] = [];
      const add = (r: Run) => {
        const last = runs[runs.length - 1];
        if (last && last.allocated === r.allocated && !!last.zero === !!r.zero && !!last.fromBacking === !!r.fromBacking && last.offset + last.length === r.offset)
          last.length += r.length;
        else runs.push(r);
      };
      const end = offset + length;
      for (let pos = offset; pos < end; ) {
        const g = Math.floor(pos / this.cs);
        const n = Math.min(this.cs - (pos % this.cs), end - pos);
        const m = await this.lookup(g);
        if (m.kind === 'normal' || m.kind === 'compressed') add({ offset: pos, length: n, allocated: true });
        else if (m.kind === 'unallocated' && this.backing) add({ offset: pos, length: n, allocated: true, fromBacking: true });
        else add({ offset: pos, length: n, allocated: false, zero: true });
        pos += n;
      }
      const out: MapRun[] = [];
      const b = this.backing;
      // A base without an allocation map counts as allocated throughout.
      const mapBase = async (o: number, l: number): Promise<MapRun[]> => (b!.mapRanges ? b!.mapRanges(o, l) : [{ offset: o, length: l, allocated: true }]);
      for (const r of runs) {
        if (r.fromBacking) await mapThroughParent(b!.capacity, mapBase, out, r.offset, r.length);
        else appendRun(out, { offset: r.offset, length: r.length, allocated: r.allocated, zero: r.zero });
      }
      return out;
    });
  }
}

