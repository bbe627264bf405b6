// Guest physical address space: RAM (one JavaScript-owned buffer) plus MMIO regions.
//
// Layout, the PC's: guest RAM [0, lowRamEnd) is ram[0, lowRamEnd); the rest of the RAM,
// if any, is mapped from 4 GiB up so the PCI hole below 4 GiB stays free for devices.
// MMIO regions overlay anything, including the legacy 0xA0000-0xFFFFF window.
//
// The CPU caches, per 4 KiB page, the answer of ramOffset(); `mapVersion` changes whenever
// the mapping changes so such caches know when to drop their entries.
//
// The A20 gate (port 0x92 bit 1 OR the i8042 output port bit 1, combined by the machine):
// while it is off, address bit 20 of every physical access reads as 0, so 1 MiB wraps to 0
// as on an 8086. That is the bus's job, not the CPU's: the CPU's cached page translations are
// dropped through mapVersion when the gate changes.

export type MmioSize = 1 | 2 | 4;

export interface MmioHandler {
  read(offset: number, size: MmioSize): number;
  write(offset: number, size: MmioSize, value: number): void;
}

interface MmioRegion {
  base: number;
  end: number; // exclusive
  handler: MmioHandler;
  owner: string;
}

export const PAGE_SIZE = 4096;
export const FOUR_GIB = 0x1_0000_0000;
/** Highest guest RAM address below 4 GiB; RAM beyond it moves above 4 GiB. */
export const DEFAULT_LOW_RAM_LIMIT = 0xc000_0000;

export class MemoryBus {
  readonly ram: Uint8Array;
  readonly lowRamEnd: number;
  readonly highRamEnd: number; // exclusive; equals FOUR_GIB when there is no high RAM
  private regions: MmioRegion[] = [];
  private mmioPages = new Set<number>(); // page numbers touched by an MMIO region
  mapVersion = 0;
  private a20 = true;
  /** Called for accesses to unmapped addresses (reads return all ones). */
  onUnhandled?: (addr: number, size: MmioSize, write: boolean) => void;

  constructor(ramBytes: number, lowRamLimit = DEFAULT_LOW_RAM_LIMIT) {
    if (!Number.isInteger(ramBytes) || ramBytes <= 0 || ramBytes % PAGE_SIZE !== 0) {
      throw new RangeError(`guest RAM must be a positive multiple of 4 KiB, got ${ramBytes}`);
    }
    this.ram = new Uint8Array(new ArrayBuffer(ramBytes));
    this.lowRamEnd = Math.min(ramBytes, lowRamLimit);
    this.highRamEnd = FOUR_GIB + (ramBytes - this.lowRamEnd);
  }

  get ramSize(): number {
    return this.ram.length;
  }

  addMmio(base: number, length: number, handler: MmioHandler, owner: string): void {
    const end = base + length;
    for (const r of this.regions) {
      if (base < r.end && r.base < end) {
        throw new Error(`${owner}: MMIO 0x${base.toString(16)}+0x${length.toString(16)} overlaps ${r.owner}`);
      }
    }
    this.regions.push({ base, end, handler, owner });
    for (let p = Math.floor(base / PAGE_SIZE); p * PAGE_SIZE < end; p++) this.mmioPages.add(p);
    this.mapVersion++;
  }

  removeMmio(base: number): void {
    this.regions = this.regions.filter((r) => r.base !== base);
    this.mmioPages.clear();
    for (const r of this.regions) {
      for (let p = Math.floor(r.base / PAGE_SIZE); p * PAGE_SIZE < r.end; p++) this.mmioPages.add(p);
    }
    this.mapVersion++;
  }

  /** A20 gate: false masks physical address bit 20 (see the file comment). */
  get a20Enabled(): boolean {
    return this.a20;
  }

  setA20(enabled: boolean): void {
    if (enabled === this.a20) return;
    this.a20 = enabled;
    this.mapVersion++;
  }

  /** Offset into `ram` of guest physical `addr`, or -1 when the page is MMIO or unmapped. */
  ramOffset(addr: number): number {
    // `& 0x100000` looks at the low 32 bits only, which holds bit 20 for addresses above 4 GiB too.
    if (!this.a20 && addr & 0x100000) addr -= 0x100000;
    if (this.mmioPages.size !== 0 && this.mmioPages.has(Math.floor(addr / PAGE_SIZE))) return -1;
    if (addr < this.lowRamEnd) return addr;
    if (addr >= FOUR_GIB && addr < this.highRamEnd) return addr - FOUR_GIB + this.lowRamEnd;
    return -1;
  }

  private regionAt(addr: number): MmioRegion | undefined {
    for (const r of this.regions) if (addr >= r.base && addr < r.end) return r;
    return undefined;
  }

  read8(addr: number): number {
    const o = this.ramOffset(addr);
    if (o >= 0) return this.ram[o]!;
    return this.slowRead(addr, 1);
  }

  read16(addr: number): number {
    return this.read8(addr) | (this.read8(addr + 1) << 8);
  }

  read32(addr: number): number {
    const o = this.ramOffset(addr);
    if (o >= 0 && (addr & 0xfff) <= 0xffc) {
      const r = this.ram;
      return (r[o]! | (r[o + 1]! << 8) | (r[o + 2]! << 16) | (r[o + 3]! << 24)) >>> 0;
    }
    if (o < 0 && (addr & 3) === 0) return this.slowRead(addr, 4) >>> 0;
    return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
  }

  write8(addr: number, value: number): void {
    const o = this.ramOffset(addr);
    if (o >= 0) this.ram[o] = value;
    else this.slowWrite(addr, 1, value & 0xff);
  }

  write16(addr: number, value: number): void {
    this.write8(addr, value & 0xff);
    this.write8(addr + 1, (value >>> 8) & 0xff);
  }

  write32(addr: number, value: number): void {
    const o = this.ramOffset(addr);
    if (o < 0 && (addr & 3) === 0) {
      this.slowWrite(addr, 4, value >>> 0);
      return;
    }
    this.write16(addr, value & 0xffff);
    this.write16(addr + 2, (value >>> 16) & 0xffff);
  }

  /** Copy guest memory out (DMA, loaders, tests). Crosses MMIO byte by byte. */
  readBytes(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; ) {
      const o = this.ramOffset(addr + i);
      const pageLeft = PAGE_SIZE - ((addr + i) % PAGE_SIZE);
      const n = Math.min(pageLeft, length - i);
      if (o >= 0) out.set(this.ram.subarray(o, o + n), i);
      else for (let k = 0; k < n; k++) out[i + k] = this.slowRead(addr + i + k, 1);
      i += n;
    }
    return out;
  }

  /** Copy bytes into guest memory (DMA, loaders, tests). */
  writeBytes(addr: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; ) {
      const o = this.ramOffset(addr + i);
      const pageLeft = PAGE_SIZE - ((addr + i) % PAGE_SIZE);
      const n = Math.min(pageLeft, data.length - i);
      if (o >= 0) this.ram.set(data.subarray(i, i + n), o);
      else for (let k = 0; k < n; k++) this.slowWrite(addr + i + k, 1, data[i + k]!);
      i += n;
    }
  }

  private slowRead(addr: number, size: MmioSize): number {
    if (!this.a20 && addr & 0x100000) addr -= 0x100000;
    const r = this.regionAt(addr);
    if (r) return r.handler.read(addr - r.base, size);
    this.onUnhandled?.(addr, size, false);
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  private slowWrite(addr: number, size: MmioSize, value: number): void {
    if (!this.a20 && addr & 0x100000) addr -= 0x100000;
    const r = this.regionAt(addr);
    if (r) r.handler.write(addr - r.base, size, value);
    else this.onUnhandled?.(addr, size, true);
  }
}
