// Test rig for the IDE controller: a real IoBus, guest RAM, the PCI host with the PIIX3 IDE
// function, recording IRQ lines 14/15, and raw images on disk opened through the storage layer.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IdeController } from '../../../src-core/engine/devices/ide-controller.ts';
import { PciHost } from '../../../src-core/engine/devices/pci-host.ts';
import { openImage } from '../../../src-core/storage/open.ts';
import type { OpenImage } from '../../../src-core/storage/format.ts';
import { RecordingIrq, Rig } from './harness.ts';

export const PRI = 0x1f0;
export const PRI_CTL = 0x3f6;
export const SEC = 0x170;
export const BM = 0xc000;

/** Deterministic bytes: sector `s` is filled from a tiny generator seeded by s. */
export function pattern(bytes: number, seed = 1): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export class IdeRig extends Rig {
  readonly memory = new MemoryBus(16 * 1024 * 1024);
  readonly pci = new PciHost(this.io);
  readonly irqs = new Map<number, RecordingIrq>([[14, new RecordingIrq()], [15, new RecordingIrq()]]);
  readonly ide = new IdeController(this.io, this.memory, this.pci, (irq) => this.irqs.get(irq)!);
  readonly dir = mkdtempSync(path.join(tmpdir(), 'hangar-ide-'));
  private readonly images: OpenImage[] = [];

  get irq14(): RecordingIrq {
    return this.irqs.get(14)!;
  }

  async rawImage(name: string, data: Uint8Array | number, readOnly = false): Promise<OpenImage> {
    const file = path.join(this.dir, name);
    if (typeof data === 'number') {
      writeFileSync(file, '');
      const { truncateSync } = await import('node:fs');
      truncateSync(file, data);
    } else writeFileSync(file, data);
    const img = await openImage(file, 'raw', { readOnly });
    this.images.push(img);
    return img;
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  async close(): Promise<void> {
    for (const i of this.images) await i.close().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Select a drive on the primary channel (unit 0/1), LBA mode. */
  select(unit: number, base = PRI): void {
    this.out8(base + 6, 0xe0 | (unit << 4));
  }

  status(base = PRI): number {
    return this.in8(base + 7);
  }

  lba28(lba: number, count: number, base = PRI, unit = 0): void {
    this.out8(base + 6, 0xe0 | (unit << 4) | ((lba >>> 24) & 0x0f));
    this.out8(base + 2, count & 0xff);
    this.out8(base + 3, lba & 0xff);
    this.out8(base + 4, (lba >>> 8) & 0xff);
    this.out8(base + 5, (lba >>> 16) & 0xff);
  }

  lba48(lba: number, count: number, base = PRI, unit = 0): void {
    this.out8(base + 6, 0x40 | (unit << 4));
    const hi = Math.floor(lba / 2 ** 24);
    this.out8(base + 2, (count >> 8) & 0xff);
    this.out8(base + 3, hi & 0xff);
    this.out8(base + 4, (hi >>> 8) & 0xff);
    this.out8(base + 5, (hi >>> 16) & 0xff);
    this.out8(base + 2, count & 0xff);
    this.out8(base + 3, lba & 0xff);
    this.out8(base + 4, (lba >>> 8) & 0xff);
    this.out8(base + 5, (lba >>> 16) & 0xff);
  }

  /** Read `bytes` through the 16-bit data port. */
  readData(bytes: number, base = PRI): Uint8Array {
    const out = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 2) {
      const w = this.in16(base);
      out[i] = w & 0xff;
      out[i + 1] = w >> 8;
    }
    return out;
  }

  writeData(data: Uint8Array, base = PRI): void {
    for (let i = 0; i < data.length; i += 2) this.out16(base, data[i]! | (data[i + 1]! << 8));
  }

  /** Wait for every image operation, then return the status (reading it acknowledges the IRQ). */
  async settle(base = PRI): Promise<number> {
    await this.ide.drain();
    return this.status(base);
  }

  /** A PRD table at `table` describing `chunks` (address, bytes) pairs. */
  prd(table: number, chunks: [number, number][]): void {
    chunks.forEach(([addr, len], i) => {
      this.memory.write32(table + i * 8, addr);
      this.memory.write32(table + i * 8 + 4, (len & 0xffff) | (i === chunks.length - 1 ? 0x8000_0000 : 0));
    });
  }

  /** Send an ATAPI packet to the primary channel unit `unit` (byte-count limit `limit`, PIO or DMA). */
  packet(cdb: number[], opts: { unit?: number; limit?: number; dma?: boolean } = {}): void {
    const limit = opts.limit ?? 0xfffe;
    this.out8(PRI + 6, 0xa0 | ((opts.unit ?? 0) << 4));
    this.out8(PRI + 1, opts.dma ? 1 : 0);
    this.out8(PRI + 4, limit & 0xff);
    this.out8(PRI + 5, limit >> 8);
    this.out8(PRI + 7, 0xa0);
    const p = new Uint8Array(12);
    p.set(cdb);
    this.writeData(p);
  }

  /** Bytes the device offers in this ATAPI DRQ block (LBA mid/high). */
  byteCount(): number {
    return this.in8(PRI + 4) | (this.in8(PRI + 5) << 8);
  }
}
