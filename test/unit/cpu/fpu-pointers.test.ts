// The x87 last-instruction pointers and opcode (FIP/FCS, FDP/FDS, FOP): which instructions
// set them (non-control ones; FIP points at the prefixes, FDP is the operand's offset and FDS
// its segment, register forms leave FDP alone), which do not (FNSTCW, FLDCW, FNSTSW, FWAIT,
// FNCLEX, FNSTENV, ...), FNINIT/FNSAVE clearing them, and every image that holds them:
// FNSTENV/FNSAVE in the protected and real-mode layouts (16- and 32-bit), FXSAVE, FXSAVE64,
// and the restores FLDENV/FXRSTOR/FXRSTOR64. Programs run in 64-bit, 32-bit protected and
// real mode.
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { Fpu } from '../../../src-core/engine/cpu/fpu.ts';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';
import { DATA as DATA32, FREE, KCODE as KCODE32, Machine32, desc, loadSeg } from './helpers/machine32.ts';

/** Concatenate instructions; `at[i]` is the offset of the i-th. */
function prog(parts: number[][]): { bytes: number[]; at: number[] } {
  const bytes: number[] = [];
  const at: number[] = [];
  for (const p of parts) {
    at.push(bytes.length);
    bytes.push(...p);
  }
  return { bytes, at };
}

const u16 = (bus: MemoryBus, a: number): number => bus.read16(a);
const u32 = (bus: MemoryBus, a: number): number => bus.read32(a) >>> 0;
const u64 = (bus: MemoryBus, a: number): bigint => BigInt(u32(bus, a)) | (BigInt(u32(bus, a + 4)) << 32n);

describe('x87 pointers in 64-bit mode', () => {
  it('records the last non-control instruction and reports it through FNSTENV, FXSAVE, FXSAVE64 and FNSAVE', () => {
    const m = new Machine64();
    const p = prog([
      [0xb8, ...le(DATA, 4)], // 0 mov eax, DATA
      [0x41, 0xb8, ...le(DATA + 0x20, 4)], // 1 mov r8d, DATA+0x20
      [0xdb, 0xe3], // 2 fninit
      [0xdd, 0x40, 0x10], // 3 fld qword [rax+0x10]
      [0x41, 0xdd, 0x00], // 4 fld qword [r8]: FIP at the REX prefix, FOP 5:00
      [0xd8, 0xc9], // 5 fmul st0, st1: FIP here, FOP 0:C9, FDP stays [r8]
      [0xd9, 0xb8, ...le(0x100, 4)], // 6 fnstcw [rax+0x100]
      [0xd9, 0xa8, ...le(0x100, 4)], // 7 fldcw [rax+0x100]
      [0xdd, 0xb8, ...le(0x102, 4)], // 8 fnstsw [rax+0x102]
      [0x9b], // 9 fwait
      [0xdb, 0xe2], // 10 fnclex
      [0xd9, 0xb0, ...le(0x200, 4)], // 11 fnstenv [rax+0x200]
      [0x48, 0x0f, 0xae, 0x80, ...le(0x400, 4)], // 12 fxsave64 [rax+0x400]
      [0x0f, 0xae, 0x80, ...le(0x600, 4)], // 13 fxsave [rax+0x600]
      [0xdd, 0xb0, ...le(0x800, 4)], // 14 fnsave [rax+0x800] (then FNINIT)
      [0xd9, 0xb0, ...le(0x900, 4)], // 15 fnstenv [rax+0x900]
      [0xf4],
    ]);
    m.bus.writeBytes(DATA + 0x10, new Uint8Array(new Float64Array([3, 5]).buffer));
    m.load(KCODE, p.bytes);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    const b = m.bus;
    const fip = KCODE + p.at[5]!;
    const ds = m.cpu.sSel[3]!;
    expect(ds).toBe(0x10);
    // FNSTENV, 32-bit protected layout.
    expect(u32(b, DATA + 0x200 + 12)).toBe(fip);
    expect(u32(b, DATA + 0x200 + 16)).toBe(0x08 | (0x0c9 << 16)); // FCS, FOP
    expect(u32(b, DATA + 0x200 + 20)).toBe(DATA + 0x20);
    expect(u32(b, DATA + 0x200 + 24)).toBe((0xffff0000 | ds) >>> 0);
    // FXSAVE64: FOP, 64-bit FIP and FDP.
    expect(u16(b, DATA + 0x400 + 6)).toBe(0x0c9);
    expect(u64(b, DATA + 0x400 + 8)).toBe(BigInt(fip));
    expect(u64(b, DATA + 0x400 + 16)).toBe(BigInt(DATA + 0x20));
    // FXSAVE: 32-bit offsets with their selectors.
    expect(u16(b, DATA + 0x600 + 6)).toBe(0x0c9);
    expect(u32(b, DATA + 0x600 + 8)).toBe(fip);
    expect(u32(b, DATA + 0x600 + 12)).toBe(0x08);
    expect(u32(b, DATA + 0x600 + 16)).toBe(DATA + 0x20);
    expect(u32(b, DATA + 0x600 + 20)).toBe(ds);
    // FNSAVE holds the same environment, then clears the pointers (FNINIT).
    for (let i = 3; i < 7; i++) expect(u32(b, DATA + 0x800 + i * 4)).toBe(u32(b, DATA + 0x200 + i * 4));
    expect([12, 16, 20].map((o) => u32(b, DATA + 0x900 + o))).toEqual([0, 0, 0]);
    expect(u32(b, DATA + 0x900 + 24)).toBe(0xffff0000);
  });

  it('restores 64-bit pointers with FXRSTOR64 and 32-bit ones with their selectors with FXRSTOR', () => {
    const m = new Machine64();
    const img = DATA + 0xa00;
    m.bus.write16(img, 0x37f);
    m.bus.write16(img + 6, 0x1e8);
    m.bus.write32(img + 8, 0x12345678); m.bus.write32(img + 12, 0xffff8000);
    m.bus.write32(img + 16, 0xfffffff0); m.bus.write32(img + 20, 0x00007fff);
    m.bus.write32(img + 24, 0x1f80);
    const img32 = DATA + 0x1000;
    m.bus.write16(img32, 0x37f);
    m.bus.write16(img32 + 6, 0x7ff);
    m.bus.write32(img32 + 8, 0x89abcdef); m.bus.write16(img32 + 12, 0x1234);
    m.bus.write32(img32 + 16, 0x01020304); m.bus.write16(img32 + 20, 0x5678);
    m.bus.write32(img32 + 24, 0x1f80);
    m.load(KCODE, [
      0xb8, ...le(DATA, 4),
      0x48, 0x0f, 0xae, 0x88, ...le(0xa00, 4), // fxrstor64 [rax+0xa00]
      0x48, 0x0f, 0xae, 0x80, ...le(0xc00, 4), // fxsave64 [rax+0xc00]
      0xd9, 0xb0, ...le(0xe00, 4), // fnstenv [rax+0xe00]
      0x0f, 0xae, 0x88, ...le(0x1000, 4), // fxrstor [rax+0x1000]
      0x0f, 0xae, 0x80, ...le(0x1200, 4), // fxsave [rax+0x1200]
      0xf4,
    ]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    const b = m.bus;
    expect(u16(b, DATA + 0xc00 + 6)).toBe(0x1e8);
    expect(u64(b, DATA + 0xc00 + 8)).toBe(0xffff800012345678n);
    expect(u64(b, DATA + 0xc00 + 16)).toBe(0x00007ffffffffff0n);
    // The 28-byte environment holds the low 32 bits; FXRSTOR64 has no selectors to load.
    expect(u32(b, DATA + 0xe00 + 12)).toBe(0x12345678);
    expect(u32(b, DATA + 0xe00 + 16)).toBe(0x1e8 << 16);
    expect(u32(b, DATA + 0xe00 + 20)).toBe(0xfffffff0);
    expect(u32(b, DATA + 0xe00 + 24)).toBe(0xffff0000);
    expect(u16(b, DATA + 0x1200 + 6)).toBe(0x7ff);
    expect(u32(b, DATA + 0x1200 + 8)).toBe(0x89abcdef);
    expect(u32(b, DATA + 0x1200 + 12)).toBe(0x1234);
    expect(u32(b, DATA + 0x1200 + 16)).toBe(0x01020304);
    expect(u32(b, DATA + 0x1200 + 20)).toBe(0x5678);
  });

  it('keeps selectors and pointers through a CPU snapshot', () => {
    const f = new Fpu();
    f.fip = -0x7fffedcba988; // a canonical upper-half RIP
    f.fcs = 0x33; f.fdp = 0x7ffff000; f.fds = 0x2b; f.fop = 0x5c1;
    const g = new Fpu();
    g.load(structuredClone(f.save()));
    expect([g.fip, g.fcs, g.fdp, g.fds, g.fop]).toEqual([f.fip, 0x33, 0x7ffff000, 0x2b, 0x5c1]);
    expect(() => g.load({ ...f.save(), fip: 1.5 })).toThrow(/FIP/);
  });
});

describe('x87 pointers in 32-bit protected mode', () => {
  it('records the prefix address, the offset and segment of an FS operand, in both environment sizes and FXSAVE', () => {
    const m = new Machine32();
    const SEL = FREE * 8;
    m.setDesc(FREE, desc(DATA32, 0xffff, 0x92, 0x4));
    m.bus.writeBytes(DATA32 + 0x10, new Uint8Array(new Float64Array([-2]).buffer));
    const p = prog([
      loadSeg(4, SEL), // 0 fs = SEL
      [0xdb, 0xe3], // 1 fninit
      [0x64, 0xdd, 0x05, ...le(0x10, 4)], // 2 fld qword fs:[0x10]
      [0xd9, 0xe1], // 3 fabs
      [0xd9, 0x35, ...le(DATA32 + 0x200, 4)], // 4 fnstenv [DATA+0x200]
      [0x66, 0xd9, 0x35, ...le(DATA32 + 0x240, 4)], // 5 fnstenv (16-bit) [DATA+0x240]
      [0x0f, 0xae, 0x05, ...le(DATA32 + 0x400, 4)], // 6 fxsave [DATA+0x400]
      [0xf4],
    ]);
    m.load(KCODE32, p.bytes);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    const b = m.bus;
    const fip = KCODE32 + p.at[3]!;
    expect(u32(b, DATA32 + 0x200 + 12)).toBe(fip);
    expect(u32(b, DATA32 + 0x200 + 16)).toBe(0x08 | (0x1e1 << 16));
    expect(u32(b, DATA32 + 0x200 + 20)).toBe(0x10); // the offset, not the linear address
    expect(u32(b, DATA32 + 0x200 + 24)).toBe((0xffff0000 | SEL) >>> 0);
    expect([3, 4, 5, 6].map((i) => u16(b, DATA32 + 0x240 + i * 2))).toEqual([fip & 0xffff, 0x08, 0x10, SEL]);
    expect(u16(b, DATA32 + 0x400 + 6)).toBe(0x1e1);
    expect(u32(b, DATA32 + 0x400 + 8)).toBe(fip);
    expect(u32(b, DATA32 + 0x400 + 12)).toBe(0x08);
    expect(u32(b, DATA32 + 0x400 + 16)).toBe(0x10);
    expect(u32(b, DATA32 + 0x400 + 20)).toBe(SEL);
  });

  it('points FIP at the segment prefix and FOP at the memory form that came last', () => {
    const m = new Machine32();
    const p = prog([
      [0xdb, 0xe3],
      [0xd9, 0xe8], // fld1
      [0x3e, 0x66, 0xdc, 0x0d, ...le(DATA32 + 0x30, 4)], // ds: (o16) fmul qword [DATA+0x30]
      [0xd9, 0x35, ...le(DATA32 + 0x200, 4)],
      [0xf4],
    ]);
    m.bus.writeBytes(DATA32 + 0x30, new Uint8Array(new Float64Array([7]).buffer));
    m.load(KCODE32, p.bytes);
    m.runToHalt();
    expect(u32(m.bus, DATA32 + 0x200 + 12)).toBe(KCODE32 + p.at[2]!);
    expect(u32(m.bus, DATA32 + 0x200 + 16) >>> 16).toBe(0x40d); // DC -> 4, ModR/M 0D
    expect(u32(m.bus, DATA32 + 0x200 + 20)).toBe(DATA32 + 0x30);
  });
});

describe('x87 pointers in real mode', () => {
  function realCpu(): { bus: MemoryBus; cpu: Cpu } {
    const bus = new MemoryBus(1 << 20);
    const cpu = new Cpu(bus, new IoBus());
    cpu.setBootState({ mode: 'real', rip: 0x100, rsp: 0x7000, cs: { selector: 0x1000, base: 0x10000, limit: 0xffff, attributes: 0x9b } });
    cpu.sSel[3] = 0x2000; cpu.sBase[3] = 0x20000; // DS
    return { bus, cpu };
  }

  it('stores linear addresses in the 16- and 32-bit real-mode layouts and loads them back', () => {
    const { bus, cpu } = realCpu();
    const p = prog([
      [0xdb, 0xe3], // fninit
      [0xdd, 0x06, ...le(0x10, 2)], // fld qword [0x10]   (DS:0010 = 0x20010)
      [0x2e, 0xd9, 0xe0], // cs: fchs
      [0xd9, 0x36, ...le(0x200, 2)], // fnstenv [0x200] (16-bit)
      [0x66, 0xd9, 0x36, ...le(0x300, 2)], // fnstenv [0x300] (32-bit)
      [0xd9, 0x26, ...le(0x400, 2)], // fldenv [0x400]
      [0xd9, 0x36, ...le(0x500, 2)], // fnstenv [0x500]
      [0xf4],
    ]);
    bus.writeBytes(0x10000 + 0x100, new Uint8Array(p.bytes));
    // A 16-bit real-mode image: FIP 0x54321, FOP 0x123, FDP 0x9abcd.
    [0x37f, 0, 0xffff, 0x4321, 0x5000 | 0x123, 0xabcd, 0x9000].forEach((w, i) => bus.write16(0x20400 + i * 2, w));
    while (!cpu.halted) cpu.run(100);
    const fip = 0x10000 + 0x100 + p.at[2]!;
    expect([3, 4, 5, 6].map((i) => u16(bus, 0x20200 + i * 2))).toEqual([fip & 0xffff, ((fip >>> 4) & 0xf000) | 0x1e0, 0x0010, 0x2000]);
    expect([3, 4, 5, 6].map((i) => u32(bus, 0x20300 + i * 4))).toEqual([
      (0xffff0000 | (fip & 0xffff)) >>> 0, ((fip >>> 4) & 0xffff000) | 0x1e0, 0xffff0010, 0x2000,
    ]);
    expect([3, 4, 5, 6].map((i) => u16(bus, 0x20500 + i * 2))).toEqual([0x4321, 0x5123, 0xabcd, 0x9000]);
    expect([cpu.fpu.fip, cpu.fpu.fcs, cpu.fpu.fdp, cpu.fpu.fds, cpu.fpu.fop]).toEqual([0x54321, 0, 0x9abcd, 0, 0x123]);
  });

  it('uses the real-mode layout in virtual-8086 mode', () => {
    const m = new Machine32();
    const push32 = (v: number): number[] => [0x68, ...le(v, 4)];
    // IRETD from ring 0 into v86: EIP, CS, EFLAGS (VM, IOPL 0), ESP, SS, ES, DS, FS, GS.
    m.load(KCODE32, [...push32(0), ...push32(0), ...push32(0x6000), ...push32(0), ...push32(0x0800), ...push32(0x1000),
      ...push32(0x20002), ...push32(0x5000), ...push32(0x0100), 0xcf]);
    const p = prog([
      [0xdb, 0xe3], // fninit
      [0xdd, 0x06, ...le(0x10, 2)], // fld qword [0x10]
      [0xd9, 0xe0], // fchs
      [0xd9, 0x36, ...le(0x200, 2)], // fnstenv [0x200]
      [0xf4], // hlt: #GP to the ring-0 stub (IOPL 0)
    ]);
    m.load(0x50100, p.bytes);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    const fip = 0x50100 + p.at[2]!;
    expect([3, 4, 5, 6].map((i) => u16(m.bus, 0x60200 + i * 2))).toEqual([fip & 0xffff, ((fip >>> 4) & 0xf000) | 0x1e0, 0x0010, 0x6000]);
  });
});
