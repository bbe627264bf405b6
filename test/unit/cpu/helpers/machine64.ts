// A tiny 64-bit test machine for system-behaviour tests: identity-mapped 4 KiB pages over
// the first 2 MiB (so single pages can be made user, read-only, NX or absent), a GDT with
// kernel/user segments and a 64-bit TSS, an IDT whose every vector points at its own HLT
// stub (so a test sees which vector was delivered and inspects the frame it left).
import { MemoryBus } from '../../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../../src-core/engine/cpu/cpu.ts';

export const PML4 = 0x1000;
export const PT = 0x4000;
export const GDT = 0x5000;
export const IDT = 0x6000;
export const TSS = 0x7000;
export const KCODE = 0x10000;
export const UCODE = 0x20000;
export const STUBS = 0x30000; // vector v's handler: HLT at STUBS + v * 16
export const KSTACK = 0x80000;
export const USTACK = 0x90000;
export const ISTACK = 0xa0000;
export const DATA = 0x40000;

export const SEL_KCODE = 0x08;
export const SEL_KDATA = 0x10;
export const SEL_UCODE32 = 0x1b;
export const SEL_UDATA = 0x23;
export const SEL_UCODE = 0x2b;
export const SEL_TSS = 0x30;

export class Machine64 {
  readonly bus = new MemoryBus(4 << 20);
  readonly io = new IoBus();
  readonly cpu = new Cpu(this.bus, this.io);

  constructor() {
    const w64 = (a: number, v: bigint): void => this.w64(a, v);
    w64(PML4, 0x2000n | 7n);
    w64(0x2000, 0x3000n | 7n);
    w64(0x3000, BigInt(PT) | 7n);
    for (let p = 0; p < 512; p++) this.setPte(p * 4096, p * 4096, { user: this.isUserPage(p * 4096) });
    w64(GDT + 0x08, 0x00af9b000000ffffn);
    w64(GDT + 0x10, 0x00cf93000000ffffn);
    w64(GDT + 0x18, 0x00cffb000000ffffn);
    w64(GDT + 0x20, 0x00cff3000000ffffn);
    w64(GDT + 0x28, 0x00affb000000ffffn);
    // 64-bit available TSS (type 9), limit 0x67, base TSS.
    w64(GDT + 0x30, 0x0000890000000067n | (BigInt(TSS & 0xffffff) << 16n));
    w64(GDT + 0x38, 0n);
    this.w64(TSS + 4, BigInt(KSTACK));
    this.w64(TSS + 0x24, BigInt(ISTACK));
    for (let v = 0; v < 256; v++) {
      this.setGate(v, STUBS + v * 16, { dpl: 0, ist: 0 });
      this.bus.write8(STUBS + v * 16, 0xf4);
    }
    this.cpu.setBootState({
      mode: 'long64',
      rip: KCODE,
      rsp: KSTACK,
      cr3: PML4,
      cr0: 0x80010033,
      cr4: 0x6a0,
      efer: 0xd01,
      gdt: { base: GDT, limit: 0x3f },
      idt: { base: IDT, limit: 0xfff },
      cs: { selector: SEL_KCODE, base: 0, limit: 0xffffffff, attributes: 0xa09b },
      data: { selector: SEL_KDATA, base: 0, limit: 0xffffffff, attributes: 0xc093 },
    });
  }

  isUserPage(a: number): boolean {
    return (a >= UCODE && a < UCODE + 0x10000) || (a >= USTACK - 0x10000 && a < USTACK);
  }

  w64(a: number, v: bigint): void {
    this.bus.write32(a, Number(v & 0xffffffffn));
    this.bus.write32(a + 4, Number(v >> 32n));
  }

  r64(a: number): bigint {
    return BigInt(this.bus.read32(a)) | (BigInt(this.bus.read32(a + 4)) << 32n);
  }

  setPte(lin: number, phys: number, o: { user?: boolean; ro?: boolean; nx?: boolean; absent?: boolean } = {}): void {
    let e = BigInt(phys) | 1n | 2n;
    if (o.user) e |= 4n;
    if (o.ro) e &= ~2n;
    if (o.nx) e |= 1n << 63n;
    if (o.absent) e = 0n;
    this.w64(PT + (lin >>> 12) * 8, e);
  }

  pte(lin: number): bigint {
    return this.r64(PT + (lin >>> 12) * 8);
  }

  setGate(v: number, target: number, o: { dpl?: number; ist?: number; trap?: boolean; present?: boolean }): void {
    const a = IDT + v * 16;
    const type = o.trap ? 0xf : 0xe;
    const p = o.present === false ? 0 : 0x80;
    const lo = BigInt(target & 0xffff) | (BigInt(SEL_KCODE) << 16n) | (BigInt(o.ist ?? 0) << 32n) |
      (BigInt(type | ((o.dpl ?? 0) << 5) | p) << 40n) | (BigInt((target >>> 16) & 0xffff) << 48n);
    this.w64(a, lo);
    this.w64(a + 8, BigInt(Math.floor(target / 2 ** 32)));
  }

  load(addr: number, bytes: number[]): void {
    this.bus.writeBytes(addr, new Uint8Array(bytes));
  }

  /** Run until HLT (or the budget); returns the number of instructions. */
  runToHalt(max = 100000): number {
    let n = 0;
    while (!this.cpu.halted && n < max) n += this.cpu.run(max - n);
    return n;
  }

  /** Vector whose HLT stub the CPU stopped in, or -1. */
  stoppedVector(): number {
    const off = this.cpu.rip - 1 - STUBS;
    if (off < 0 || off >= 256 * 16 || off % 16 !== 0) return -1;
    return off / 16;
  }

  reg(i: number): bigint {
    return (BigInt(this.cpu.rh[i]! >>> 0) << 32n) | BigInt(this.cpu.rl[i]! >>> 0);
  }

  rsp(): number {
    return this.cpu.rh[4]! * 2 ** 32 + (this.cpu.rl[4]! >>> 0);
  }

  /** Qword at RSP + 8*i (the interrupt frame). */
  frame(i: number): bigint {
    return this.r64(this.rsp() + 8 * i);
  }
}

/** Little-endian bytes of a number (n bytes). */
export function le(v: number | bigint, n: number): number[] {
  let b = BigInt.asUintN(n * 8, BigInt(v));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number(b & 0xffn));
    b >>= 8n;
  }
  return out;
}
