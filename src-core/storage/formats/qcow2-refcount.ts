// qcow2 refcounts: the refcount table (top level) and refcount blocks (one cluster each, 2^order
// bits per entry). Hangar allocates clusters only at the end of the file and never reuses a
// freed cluster within a session, so a stale mapping can never point into reused space.
// Changes stay in memory until writeBack(); frees wait until the mappings that dropped the
// cluster are on disk (applyFrees), so a crash leaves leaks at most.
import type { HostFile } from '../host-file.ts';
import { corrupt } from '../errors.ts';
import { MAX_HOST_OFFSET, MAX_REFTABLE_BYTES, writeU64 } from './qcow2-header.ts';

export class Refcounts {
  readonly cs: number;
  readonly bits: number;
  /** Entries per refcount block, as a power of two. */
  readonly blockShift: number;
  private table: Uint8Array;
  private tableView: DataView;
  private tableDirty = false;
  private blocks = new Map<number, Uint8Array>();
  private dirtyBlocks = new Set<number>();
  private pendingFrees: number[] = [];
  private oldTable?: { offset: number; clusters: number };
  /** Next cluster index to try when allocating. */
  nextFree: number;
  /** Clusters holding refcount metadata (table and blocks): guest data must never land there. */
  private meta = new Set<number>();

  constructor(
    private file: HostFile,
    readonly clusterBits: number,
    readonly order: number,
    public tableOffset: number,
    table: Uint8Array,
    fileSize: number,
    private writeHeaderTable: (offset: number, clusters: number) => Promise<void>,
  ) {
    this.cs = 2 ** clusterBits;
    this.bits = 2 ** order;
    this.blockShift = clusterBits + 3 - order;
    this.table = table;
    this.tableView = new DataView(table.buffer, table.byteOffset, table.byteLength);
    this.nextFree = Math.ceil(fileSize / this.cs);
    this.noteTable();
    for (let i = 0; i < this.tableEntries; i++) {
      const hi = this.tableView.getUint32(i * 8);
      const lo = this.tableView.getUint32(i * 8 + 4);
      const off = hi * 2 ** 32 + ((lo & ~0x1ff) >>> 0);
      if (off !== 0 && off % this.cs === 0) this.meta.add(off / this.cs);
    }
  }

  private noteTable(): void {
    for (let i = 0; i < this.tableClusters; i++) this.meta.add(this.tableOffset / this.cs + i);
  }

  isMetadata(cluster: number): boolean {
    return this.meta.has(cluster);
  }

  static async load(
    file: HostFile,
    clusterBits: number,
    order: number,
    tableOffset: number,
    tableClusters: number,
    fileSize: number,
    writeHeaderTable: (offset: number, clusters: number) => Promise<void>,
  ): Promise<Refcounts> {
    const table = new Uint8Array(tableClusters * 2 ** clusterBits);
    await file.readExact(table, tableOffset, 'refcount table');
    return new Refcounts(file, clusterBits, order, tableOffset, table, fileSize, writeHeaderTable);
  }

  get tableEntries(): number {
    return this.table.length / 8;
  }

  get tableClusters(): number {
    return this.table.length / this.cs;
  }

  /** Host offset of refcount block `i` (0 = none). */
  blockOffset(i: number): number {
    if (i >= this.tableEntries) return 0;
    const hi = this.tableView.getUint32(i * 8);
    const lo = this.tableView.getUint32(i * 8 + 4);
    const off = hi * 2 ** 32 + ((lo & ~0x1ff) >>> 0);
    if (off !== 0 && (off % this.cs !== 0 || off > MAX_HOST_OFFSET))
      throw corrupt(this.file.path, `refcount block ${i} offset ${off} is not cluster aligned`);
    return off;
  }

  private async block(i: number): Promise<Uint8Array | undefined> {
    const cached = this.blocks.get(i);
    if (cached) return cached;
    const off = this.blockOffset(i);
    if (off === 0) return undefined;
    const b = new Uint8Array(this.cs);
    await this.file.readExact(b, off, `refcount block ${i}`);
    this.blocks.set(i, b);
    return b;
  }

  private static getEntry(b: Uint8Array, idx: number, bits: number): number {
    switch (bits) {
      case 1:
      case 2:
      case 4: {
        const per = 8 / bits;
        return (b[Math.floor(idx / per)]! >> ((idx % per) * bits)) & ((1 << bits) - 1);
      }
      case 8:
        return b[idx]!;
      case 16:
        return (b[idx * 2]! << 8) | b[idx * 2 + 1]!;
      case 32:
        return new DataView(b.buffer, b.byteOffset).getUint32(idx * 4);
      default: {
        const dv = new DataView(b.buffer, b.byteOffset);
        const hi = dv.getUint32(idx * 8);
        // Refcounts this large are absurd; report them as a saturated value rather than lose precision.
        return hi > 0x1fffff ? Number.MAX_SAFE_INTEGER : hi * 2 ** 32 + dv.getUint32(idx * 8 + 4);
      }
    }
  }

  private static setEntry(b: Uint8Array, idx: number, bits: number, v: number): void {
    switch (bits) {
      case 1:
      case 2:
      case 4: {
        const per = 8 / bits;
        const byte = Math.floor(idx / per);
        const shift = (idx % per) * bits;
        const mask = ((1 << bits) - 1) << shift;
        b[byte] = (b[byte]! & ~mask) | ((v << shift) & mask);
        return;
      }
      case 8:
        b[idx] = v;
        return;
      case 16:
        b[idx * 2] = v >> 8;
        b[idx * 2 + 1] = v & 0xff;
        return;
      case 32:
        new DataView(b.buffer, b.byteOffset).setUint32(idx * 4, v);
        return;
      default:
        writeU64(new DataView(b.buffer, b.byteOffset), idx * 8, v);
    }
  }

  get maxRefcount(): number {
    return this.bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.bits - 1;
  }

  async get(cluster: number): Promise<number> {
    const b = await this.block(Math.floor(cluster / 2 ** this.blockShift));
    if (!b) return 0;
    return Refcounts.getEntry(b, cluster % 2 ** this.blockShift, this.bits);
  }

  async set(cluster: number, value: number): Promise<void> {
    if (value < 0 || value > this.maxRefcount) throw corrupt(this.file.path, `refcount of cluster ${cluster} would become ${value}`);
    const bi = Math.floor(cluster / 2 ** this.blockShift);
    let b = await this.block(bi);
    if (!b) {
      if (value === 0) return;
      b = await this.newBlock(bi);
    }
    Refcounts.setEntry(b, cluster % 2 ** this.blockShift, this.bits, value);
    this.dirtyBlocks.add(bi);
  }

  /** Create refcount block `bi` at the end of the file; the block's own cluster is counted too. */
  private async newBlock(bi: number): Promise<Uint8Array> {
    if (bi >= this.tableEntries) {
      await this.growTable(bi + 1);
      // Counting the grown table's own clusters may already have created this block.
      const made = await this.block(bi);
      if (made) return made;
    }
    const at = await this.reserve(1);
    const b = new Uint8Array(this.cs);
    this.blocks.set(bi, b);
    this.dirtyBlocks.add(bi);
    writeU64(this.tableView, bi * 8, at * this.cs);
    this.meta.add(at);
    this.tableDirty = true;
    await this.set(at, 1);
    return b;
  }

  /** Move the refcount table to the end of the file with room for at least `entries` blocks. */
  private async growTable(entries: number): Promise<void> {
    const newEntries = Math.max(entries, this.tableEntries * 2);
    const clusters = Math.ceil((newEntries * 8) / this.cs);
    if (clusters * this.cs > MAX_REFTABLE_BYTES) throw corrupt(this.file.path, 'refcount table would exceed its size limit');
    const at = await this.reserve(clusters);
    const grown = new Uint8Array(clusters * this.cs);
    grown.set(this.table);
    if (!this.oldTable) this.oldTable = { offset: this.tableOffset, clusters: this.tableClusters };
    else for (let i = 0; i < this.tableClusters; i++) this.pendingFrees.push(this.tableOffset / this.cs + i);
    this.table = grown;
    this.tableView = new DataView(grown.buffer);
    this.tableOffset = at * this.cs;
    this.tableDirty = true;
    this.noteTable();
    for (let i = 0; i < clusters; i++) await this.set(at + i, 1);
  }

  /** Pick `n` contiguous free cluster indices at the end of the file without counting them. */
  private async reserve(n: number): Promise<number> {
    for (let tries = 0; ; tries++) {
      const start = this.nextFree;
      let clash = -1;
      for (let i = 0; i < n; i++) if ((await this.get(start + i)) !== 0) clash = start + i;
      if (clash < 0) {
        this.nextFree = start + n;
        if (this.nextFree * this.cs > MAX_HOST_OFFSET) throw corrupt(this.file.path, 'image file would grow past the supported size');
        return start;
      }
      // Clusters past the end of the file that still carry a refcount are leaks from a crash.
      this.nextFree = clash + 1;
      if (tries > 1 << 20) throw corrupt(this.file.path, 'no free clusters found after the end of the file');
    }
  }

  /** Allocate `n` contiguous clusters with refcount 1; returns the host byte offset. */
  async allocate(n: number): Promise<number> {
    const at = await this.reserve(n);
    for (let i = 0; i < n; i++) await this.set(at + i, 1);
    return at * this.cs;
  }

  /** Drop one reference to each cluster in [offset, offset+bytes) once the mapping change is durable. */
  freeLater(offset: number, clusters: number): void {
    for (let i = 0; i < clusters; i++) this.pendingFrees.push(offset / this.cs + i);
  }

  get hasPendingFrees(): boolean {
    return this.pendingFrees.length > 0;
  }

  get dirty(): boolean {
    return this.tableDirty || this.dirtyBlocks.size > 0;
  }

  /** End of the space allocated so far (the file must reach this before counts point at it). */
  get allocatedEnd(): number {
    return this.nextFree * this.cs;
  }

  /** Write dirty blocks, then the table, then (if moved) the header pointer. Caller syncs around it. */
  async writeBack(): Promise<void> {
    for (const bi of [...this.dirtyBlocks].sort((a, b) => a - b)) {
      await this.file.writeAt(this.blocks.get(bi)!, this.blockOffset(bi));
    }
    this.dirtyBlocks.clear();
    if (this.tableDirty) {
      await this.file.writeAt(this.table, this.tableOffset);
      this.tableDirty = false;
      if (this.oldTable) {
        await this.file.datasync();
        await this.writeHeaderTable(this.tableOffset, this.tableClusters);
        this.freeLater(this.oldTable.offset, this.oldTable.clusters);
        this.oldTable = undefined;
      }
    }
  }

  /** Apply deferred frees (after the mappings that dropped them are durable) and write them back. */
  async applyFrees(): Promise<void> {
    const frees = this.pendingFrees;
    this.pendingFrees = [];
    for (const c of frees) {
      const v = await this.get(c);
      if (v > 0) await this.set(c, v - 1);
    }
    await this.writeBack();
  }
}
