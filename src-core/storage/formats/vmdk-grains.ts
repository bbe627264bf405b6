// The two-level grain map of a VMDK sparse extent: a grain directory (GD) of sector offsets of
// grain tables (GT), each GT holding the sector offsets of its grains. GTs are loaded on demand
// and cached; changed entries are remembered so that flush can write them after the data.
import { corrupt } from './vdi-vhd-vmdk-common.ts';
import type { ImageFile } from './vdi-vhd-vmdk-common.ts';

/** Bytes of clean GTs kept in memory before the cache is trimmed. */
const MAX_CACHED_BYTES = 32 * 2 ** 20;

export class GrainTables {
  /** Tables changed since the last flush (index into the GD). */
  readonly dirtyGT = new Set<number>();
  /** Tables created in memory that have no place in the file yet (GD entry 0). */
  readonly newGT = new Set<number>();
  private readonly cache = new Map<number, Uint32Array>();

  constructor(
    private readonly file: ImageFile,
    readonly gd: Uint32Array,
    readonly rgd: Uint32Array | undefined,
    readonly gtes: number,
  ) {}

  get gtBytes(): number {
    return this.gtes * 4;
  }

  /** The GT for directory entry i, or undefined when it was never allocated. */
  async table(i: number): Promise<Uint32Array | undefined> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const sector = this.gd[i]!;
    if (sector === 0) return undefined;
    const raw = await this.file.read(this.gtBytes, sector * 512, `VMDK grain table ${i}`);
    const dv = new DataView(raw.buffer);
    const t = new Uint32Array(this.gtes);
    for (let k = 0; k < this.gtes; k++) t[k] = dv.getUint32(k * 4, true);
    this.trim();
    this.cache.set(i, t);
    return t;
  }

  async get(grain: number): Promise<number> {
    const t = await this.table(Math.floor(grain / this.gtes));
    return t ? t[grain % this.gtes]! : 0;
  }

  async set(grain: number, value: number): Promise<void> {
    const i = Math.floor(grain / this.gtes);
    let t = await this.table(i);
    if (!t) {
      t = new Uint32Array(this.gtes);
      this.cache.set(i, t);
      this.newGT.add(i);
    }
    t[grain % this.gtes] = value;
    this.dirtyGT.add(i);
  }

  /**
   * Load every allocated GT and keep all tables in memory from now on: a stream-optimized
   * extent rewrites them all when it writes its tail.
   */
  async loadAll(): Promise<void> {
    this.pinned = true;
    for (let i = 0; i < this.gd.length; i++) if (this.gd[i] !== 0) await this.table(i);
  }

  /** Every table in memory with its directory index (after loadAll: all of them). */
  tables(): Map<number, Uint32Array> {
    return this.cache;
  }

  private pinned = false;

  private trim(): void {
    const limit = Math.max(64, Math.floor(MAX_CACHED_BYTES / this.gtBytes));
    if (this.pinned || this.cache.size < limit) return;
    for (const i of this.cache.keys()) {
      if (this.cache.size < limit / 2) break;
      if (!this.dirtyGT.has(i) && !this.newGT.has(i)) this.cache.delete(i);
    }
  }

  /** Serialise one table little-endian. */
  encode(i: number): Uint8Array {
    const t = this.cache.get(i);
    const out = new Uint8Array(this.gtBytes);
    if (t) {
      const dv = new DataView(out.buffer);
      for (let k = 0; k < this.gtes; k++) dv.setUint32(k * 4, t[k]!, true);
    }
    return out;
  }
}

/** Read a grain directory of n entries at `sector`. */
export async function readGrainDirectory(file: ImageFile, sector: number, n: number, what: string): Promise<Uint32Array> {
  if (sector === 0) throw corrupt(file.path, `VMDK ${what} offset is zero`);
  const raw = await file.read(n * 4, sector * 512, `VMDK ${what}`);
  const dv = new DataView(raw.buffer);
  const gd = new Uint32Array(n);
  for (let i = 0; i < n; i++) gd[i] = dv.getUint32(i * 4, true);
  return gd;
}

export function encodeDirectory(gd: Uint32Array): Uint8Array {
  const out = new Uint8Array(Math.ceil((gd.length * 4) / 512) * 512);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < gd.length; i++) dv.setUint32(i * 4, gd[i]!, true);
  return out;
}
