// A tiny 32-bit protected-mode test machine (no paging): a GDT with flat kernel/user
// segments and a 32-bit TSS, free GDT slots for each test's own descriptors, and an IDT whose
// every vector is an interrupt gate to its own HLT stub, so a test sees which vector was
// delivered and inspects the frame it left on the kernel stack.
import { MemoryBus } from '../../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../../src-core/engine/cpu/cpu.ts';

export const GDT = 0x5000;
export const IDT = 0x6000;
export const TSS = 0x7000;
export const KCODE = 0x10000;
export const UCODE = 0x20000;
export const STUBS = 0x30000; // vector v's handler: HLT at STUBS + v * 16
export const DATA = 0x40000;
export const KSTACK = 0x80000;
export const USTACK = 0x90000;

export const SEL_KCODE = 0x08;
export const SEL_KDATA = 0x10;
export const SEL_UCODE = 0x1b;
export const SEL_UDATA = 0x23;
export const SEL_TSS = 0x28;
/** First GDT slot free for a test's descriptors (selector 0x30). */
export const FREE = 6;

/** Access byte values. */
export const ACC_CODE = 0x9a; // present, DPL 0, execute/read
export const ACC_DATA = 0x92; // present, DPL 0, read/write
export const ACC_TSS32 = 0x89; // present, available 32-bit TSS

/** An 8-byte segment descriptor: `acc` is the access byte, `flags` the high nibble (G D L AVL);
 * limits above 1 MiB are stored page-granular. */
export function desc(base: number, limit: number, acc: number, flags = 0x4): bigint {
  let f = flags;
  let l = limit;
  if (l > 0xfffff) {
    f |= 0x8;
    l = Math.floor(l / 4096);
  }
  return BigInt(l & 0xffff) | (BigInt(base & 0xffffff) << 16n) | (BigInt(acc) << 40n) |
    (BigInt((l >>> 16) & 0xf) << 48n) | (BigInt(f) << 52n) | (BigInt(base >>> 24) << 56n);
}

/** A call gate (type 0xC, or 0x4 for a 16-bit one) to sel:off with `params` stack items. */
export function callGate(sel: number, off: number, dpl: number, params = 0, bits = 32, present = true): bigint {
  const type = bits === 32 ? 0xc : 0x4;
  return BigInt(off & 0xffff) | (BigInt(sel) << 16n) | (BigInt(params & 0x1f) << 32n) |
    (BigInt(type | (dpl << 5) | (present ? 0x80 : 0)) << 40n) | (BigInt((off >>> 16) & 0xffff) << 48n);
}

/** A task gate naming TSS selector `sel`. */
export function taskGate(sel: number, dpl = 0): bigint {
  return (BigInt(sel) << 16n) | (BigInt(0x85 | (dpl << 5)) << 40n);
}

export class Machine32 {
  readonly bus = new MemoryBus(2 << 20);
  readonly io = new IoBus();
  readonly cpu = new Cpu(this.bus, this.io);

  constructor() {
    this.setDesc(1, desc(0, 0xffffffff, ACC_CODE, 0xc));
    this.setDesc(2, desc(0, 0xffffffff, ACC_DATA, 0xc));
    this.setDesc(3, desc(0, 0xffffffff, ACC_CODE | 0x60, 0xc));
    this.setDesc(4, desc(0, 0xffffffff, ACC_DATA | 0x60, 0xc));
    this.setDesc(5, desc(TSS, 0x67, ACC_TSS32, 0));
    this.bus.write32(TSS + 4, KSTACK); // ESP0
    this.bus.write32(TSS + 8, SEL_KDATA); // SS0
    this.bus.write16(TSS + 0x66, 0x68); // no I/O bitmap
    for (let v = 0; v < 256; v++) {
      this.setIdt(v, STUBS + v * 16, 0, 0xe);
      this.bus.write8(STUBS + v * 16, 0xf4);
    }
    this.cpu.setBootState({
      mode: 'protected32',
      rip: KCODE,
      rsp: KSTACK,
      cr0: 0x11,
      gdt: { base: GDT, limit: 0x1ff },
      idt: { base: IDT, limit: 0x7ff },
      cs: { selector: SEL_KCODE, base: 0, limit: 0xffffffff, attributes: 0xc09b },
      data: { selector: SEL_KDATA, base: 0, limit: 0xffffffff, attributes: 0xc093 },
    });
    this.cpu.sSel[7] = SEL_TSS;
    this.cpu.sBase[7] = TSS;
    this.cpu.sLimit[7] = 0x67;
    this.cpu.sAttr[7] = 0x8b;
    this.setDesc(5, desc(TSS, 0x67, ACC_TSS32 | 2, 0)); // busy, as after LTR
  }

  setDesc(index: number, d: bigint): void {
    this.w64(GDT + index * 8, d);
  }

  /** IDT gate: type 0xE interrupt, 0xF trap, 0x5 task gate (off ignored, sel = TSS). */
  setIdt(v: number, off: number, dpl: number, type: number, sel = SEL_KCODE, present = true): void {
    const lo = BigInt(off & 0xffff) | (BigInt(sel) << 16n) |
      (BigInt(type | (dpl << 5) | (present ? 0x80 : 0)) << 40n) | (BigInt((off >>> 16) & 0xffff) << 48n);
    this.w64(IDT + v * 8, lo);
  }

  w64(a: number, v: bigint): void {
    this.bus.write32(a, Number(v & 0xffffffffn));
    this.bus.write32(a + 4, Number(v >> 32n));
  }

  r64(a: number): bigint {
    return BigInt(this.bus.read32(a)) | (BigInt(this.bus.read32(a + 4)) << 32n);
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

  /** Vector whose HLT stub the CPU stopped in, or -1 (assumes a flat CS). */
  stoppedVector(): number {
    const off = this.cpu.rip - 1 - STUBS;
    if (off < 0 || off >= 256 * 16 || off % 16 !== 0) return -1;
    return off / 16;
  }

  esp(): number {
    return this.cpu.rl[4]! >>> 0;
  }

  /** Dword at ESP + 4*i (the interrupt frame; flat SS). */
  frame(i: number): number {
    return this.bus.read32(this.esp() + 4 * i) >>> 0;
  }

  reg(i: number): number {
    return this.cpu.rl[i]! >>> 0;
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

/** mov ax, sel; mov <seg>, ax  (seg: 0 ES, 2 SS, 3 DS, 4 FS, 5 GS). */
export function loadSeg(seg: number, sel: number): number[] {
  return [0x66, 0xb8, ...le(sel, 2), 0x8e, 0xc0 | (seg << 3)];
}
