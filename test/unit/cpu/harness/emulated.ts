// Runs differential cases on Hangar's CPU: 64-bit user mode (CPL 3) with the same linear
// layout as the native runner (code page and data window, nothing else mapped).
import { MemoryBus } from '../../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../../src-core/engine/cpu/cpu.ts';
import { getFlags } from '../../../../src-core/engine/cpu/flags.ts';
import { fromWords, regWords } from '../../../../src-core/engine/cpu/fpu.ts';
import type { DiffCase, DiffResult, X87State } from './types.ts';
import { CODE_ADDR, CODE_OFFSET, SIGFPE, SIGILL, SIGSEGV, SIGTRAP, WIN_ADDR, WIN_SIZE } from './types.ts';

const PML4 = 0x1000;
const GDT = 0x8000;
const WIN_PHYS = 0x10000;
const CODE_PHYS = 0x20000;

/** A CPU in 64-bit user mode with the diff layout mapped. Reused across cases. */
export class EmuEnv {
  readonly bus = new MemoryBus(1 << 20);
  readonly cpu: Cpu;
  private event: { vec: number; kind: string } | null = null;

  /** jitThreshold: executions before a block is compiled (1 compiles every block; 0 never). */
  constructor(jitThreshold?: number) {
    this.cpu = new Cpu(this.bus, new IoBus());
    if (jitThreshold !== undefined) {
      this.cpu.jitThreshold = jitThreshold;
      this.cpu.jitMinInlined = 1; // each case is one instruction (plus the INT3 that ends it)
    }
    this.buildTables();
    this.cpu.eventHook = (vec, _code, kind) => {
      this.event = { vec, kind };
      return true;
    };
  }

  private w64(addr: number, lo: number, hi = 0): void {
    this.bus.write32(addr, lo >>> 0);
    this.bus.write32(addr + 4, hi >>> 0);
  }

  /** Identity-free mapping: window and code pages at their native linear addresses. */
  private buildTables(): void {
    // Both regions live under PML4[0]/PDPT[0]; each 2 MiB region gets its own page table.
    const pts = new Map<number, number>();
    let next = 0x4000;
    const map = (lin: number, phys: number, nx: boolean): void => {
      const i2 = Math.floor(lin / 2 ** 21) & 511;
      const i1 = Math.floor(lin / 2 ** 12) & 511;
      let pt = pts.get(i2);
      if (pt === undefined) {
        pt = next;
        next += 0x1000;
        pts.set(i2, pt);
      }
      this.w64(PML4, 0x2000 | 7);
      this.w64(0x2000, 0x3000 | 7);
      this.w64(0x3000 + i2 * 8, pt | 7);
      this.w64(pt + i1 * 8, phys | 7, nx ? 0x80000000 : 0); // the window is not executable, as natively
    };
    for (let p = 0; p < WIN_SIZE / 4096; p++) map(WIN_ADDR + p * 4096, WIN_PHYS + p * 4096, true);
    for (let p = 0; p < 2; p++) map(CODE_ADDR + p * 4096, CODE_PHYS + p * 4096, false);
    // GDT: null, kernel code64, kernel data, user data, user code64.
    this.w64(GDT + 8, 0x0000ffff, 0x00af9b00);
    this.w64(GDT + 16, 0x0000ffff, 0x00cf9300);
    this.w64(GDT + 24, 0x0000ffff, 0x00cff300);
    this.w64(GDT + 32, 0x0000ffff, 0x00affb00);
  }

  /** 64-bit user mode (CPL 3) at the start of the code; `compat`: a 32-bit CS instead. */
  private boot(compat = false): void {
    this.cpu.setBootState({
      mode: 'long64',
      rip: CODE_ADDR + CODE_OFFSET,
      cr3: PML4,
      cr0: 0x80050033,
      cr4: 0x6a0, // PAE PGE OSFXSR OSXMMEXCPT
      efer: 0xd01,
      gdt: { base: GDT, limit: 39 },
      idt: { base: 0, limit: 0 },
      cs: { selector: 0x23, base: 0, limit: 0xffffffff, attributes: compat ? 0xc0fb : 0xa0fb },
      data: { selector: 0x1b, base: 0, limit: 0xffffffff, attributes: 0xc0f3 },
    });
  }

  /**
   * Run just the instruction in `code` (the rest of the page is INT3) from a fixed state
   * (RBX/RSP/RBP/RSI/RDI point into the window, RCX = 1) and return the exception vector it
   * raised, or -1. The coverage check uses it to find which encodings are implemented.
   */
  probe(code: Uint8Array): number {
    const c = this.cpu;
    const ram = this.bus.ram;
    ram.fill(0xcc, CODE_PHYS + CODE_OFFSET, CODE_PHYS + CODE_OFFSET + 32);
    ram.set(code, CODE_PHYS + CODE_OFFSET);
    // A full boot only when the last probe left 64-bit CPL-3 code (SYSCALL, far transfers):
    // at CPL 3 nothing else an instruction may change decides whether the next one is #UD.
    if (c.cpl !== 3 || c.codeMode !== 64 || c.sSel[1] !== 0x23 || c.halted) this.boot();
    else c.rip = CODE_ADDR + CODE_OFFSET;
    c.rl.fill(0); c.rh.fill(0);
    for (const r of [3, 4, 5, 6, 7]) c.rl[r] = WIN_ADDR + 0x800;
    c.rl[1] = 1;
    c.flags = 0x202;
    c.flOp = 0;
    c.mxcsr = 0x1f80;
    c.fpu.cw = 0x37f; c.fpu.sw = 0; c.fpu.top = 0; c.fpu.setAbridgedTag(0);
    this.event = null;
    c.run(1);
    return (this.event as { vec: number } | null)?.vec ?? -1;
  }

  run(k: DiffCase): DiffResult {
    const c = this.cpu;
    const bus = this.bus;
    bus.ram.fill(0xcc, CODE_PHYS, CODE_PHYS + 8192);
    bus.ram.set(k.code, CODE_PHYS + CODE_OFFSET);
    bus.ram.set(k.window, WIN_PHYS);
    this.boot(k.compat);
    for (let i = 0; i < 16; i++) {
      const v = k.gpr[i]!;
      c.rl[i] = Number(v & 0xffffffffn) | 0;
      c.rh[i] = Number(v >> 32n) | 0;
    }
    c.flags = Number(k.rflags & 0xcd5n) | 0x202;
    c.flOp = 0;
    c.mxcsr = k.mxcsr;
    const xi = new Int32Array(k.xmm.slice().buffer);
    c.xmm.set(xi);
    setX87(c, k.x87);
    this.event = null;
    let steps = 0;
    while (this.event === null && steps < 100000) {
      steps += c.run(1000);
      if (c.halted) break;
    }
    const ev = this.event as { vec: number; kind: string } | null;
    let signal = -1;
    if (ev) {
      if (ev.vec === 3 || ev.vec === 1) signal = SIGTRAP;
      else if (ev.vec === 6) signal = SIGILL;
      else if (ev.vec === 0 || ev.vec === 16 || ev.vec === 19) signal = SIGFPE;
      else signal = SIGSEGV;
    }
    const gpr: bigint[] = [];
    for (let i = 0; i < 16; i++) gpr.push((BigInt(c.rh[i]! >>> 0) << 32n) | BigInt(c.rl[i]! >>> 0));
    const rip = BigInt.asUintN(64, BigInt(c.rip));
    return {
      signal,
      gpr,
      rip,
      rflags: BigInt(getFlags(c) >>> 0),
      mxcsr: c.mxcsr,
      xmm: new Uint8Array(c.xmm.buffer.slice(0)),
      x87: getX87(c),
      window: bus.ram.slice(WIN_PHYS, WIN_PHYS + WIN_SIZE),
    };
  }
}

/** Load the FXSAVE-layout x87 state into the CPU (as FXRSTOR would). */
function setX87(c: Cpu, x: X87State): void {
  const f = c.fpu;
  f.cw = x.fcw;
  f.sw = x.fsw & ~0x3800;
  f.top = (x.fsw >> 11) & 7;
  const dv = new DataView(x.st.buffer, x.st.byteOffset, 80);
  for (let i = 0; i < 8; i++) {
    f.setPhys(f.phys(i), fromWords(dv.getUint32(i * 10, true), dv.getUint32(i * 10 + 4, true), dv.getUint16(i * 10 + 8, true)));
  }
  f.setAbridgedTag(x.ftw);
}

function getX87(c: Cpu): X87State {
  const f = c.fpu;
  const st = new Uint8Array(80);
  const dv = new DataView(st.buffer);
  for (let i = 0; i < 8; i++) {
    const [lo, hi, se] = regWords(f.get(i));
    dv.setUint32(i * 10, lo >>> 0, true);
    dv.setUint32(i * 10 + 4, hi >>> 0, true);
    dv.setUint16(i * 10 + 8, se, true);
  }
  return { fcw: f.cw, fsw: f.statusWord(), ftw: f.abridgedTag(), st };
}
