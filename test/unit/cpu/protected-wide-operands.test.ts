// Wide memory operands are checked over their whole width, like integer operands: x87 m80,
// m64 and the 14/28-byte environments and 94/108-byte save areas, FXSAVE's 512 bytes, SSE
// m128/m64 and MMX m64 against the segment limit (#GP(0), #SS(0) through SS) and the segment
// type (stores to read-only data), and in 64-bit mode against the canonical boundary (an
// operand whose first byte is canonical but whose last is not). Each fault names the faulting
// instruction and leaves memory and the x87 stack as they were.
import { describe, expect, it } from 'vitest';
import { ACC_DATA, DATA, FREE, KCODE, Machine32, desc, le, loadSeg } from './helpers/machine32.ts';
import { KCODE as KCODE64, Machine64, le as le64 } from './helpers/machine64.ts';

const SEL = FREE * 8;
const DS = 3, SS = 2;

function limited(acc = ACC_DATA): Machine32 {
  const m = new Machine32();
  m.setDesc(FREE, desc(DATA, 0xfff, acc, 0x4));
  m.cpu.cr4 |= 0x200; // OSFXSR for the SSE cases
  return m;
}

/** [prefix..., opcode..., modrm with rm=101 (disp32)] at offset `off`. */
const at = (bytes: number[], off: number): number[] => [...bytes, ...le(off, 4)];

/** Run `ok` then `bad` (both at DS offsets); expect #GP(0) at `bad` (or success when bad is null). */
function expectLimit(ins: number[], okOff: number, badOff: number, acc = ACC_DATA): Machine32 {
  const m = limited(acc);
  const pre = [...loadSeg(DS, SEL), 0xdb, 0xe3, 0xd9, 0xe8]; // fninit; fld1
  const ok = at(ins, okOff);
  m.load(KCODE, [...pre, ...ok, ...at(ins, badOff), 0xf4]);
  m.runToHalt();
  expect(m.stoppedVector()).toBe(13);
  expect(m.frame(0)).toBe(0);
  expect(m.frame(1)).toBe(KCODE + pre.length + ok.length);
  return m;
}

describe('x87 operand limits', () => {
  it('checks all ten bytes of m80 loads and stores', () => {
    expectLimit([0xdb, 0x2d], 0xff6, 0xff7); // fld tbyte
    const m = expectLimit([0xdb, 0x3d], 0xff6, 0xff7); // fstp tbyte (the first one pops)
    expect(m.cpu.fpu.top).toBe(0);
  });

  it('checks all eight bytes of an m64 store and writes nothing when it faults', () => {
    const m = limited();
    for (let i = 0; i < 8; i++) m.bus.write8(DATA + 0xff8 + i, 0xa5);
    const pre = [...loadSeg(DS, SEL), 0xdb, 0xe3, 0xd9, 0xe8];
    m.load(KCODE, [...pre, ...at([0xdd, 0x1d], 0xff9), 0xf4]); // fstp qword [0xff9]
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + pre.length);
    expect(m.cpu.fpu.top).toBe(7); // not popped
    expect([...m.bus.readBytes(DATA + 0xff8, 8)]).toEqual(Array(8).fill(0xa5));
  });

  it('checks the 28- and 14-byte environments and the 108-byte save area', () => {
    expectLimit([0xd9, 0x35], 0xfe4, 0xfe5); // fnstenv (32-bit)
    expectLimit([0x66, 0xd9, 0x35], 0xff2, 0xff3); // fnstenv (16-bit)
    expectLimit([0xd9, 0x25], 0xfe4, 0xfe5); // fldenv
    expectLimit([0xdd, 0x35], 0xf94, 0xf95); // fnsave
    expectLimit([0xdd, 0x25], 0xf94, 0xf95); // frstor
  });

  it('refuses x87 stores to a read-only segment but allows loads from it', () => {
    const m = limited(0x90);
    const pre = [...loadSeg(DS, SEL), 0xdb, 0xe3, ...at([0xd9, 0x05], 0x10)]; // fld dword [0x10]
    m.load(KCODE, [...pre, ...at([0xd9, 0x15], 0x20), 0xf4]); // fst dword [0x20]
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + pre.length);
    expect(m.cpu.fpu.top).toBe(7); // the load ran
  });

  it('raises #SS(0) for an m80 through SS past its limit', () => {
    const m = limited();
    const code = [...loadSeg(SS, SEL), 0xbc, ...le(0xf00, 4), 0xbd, ...le(0xff7, 4)]; // ss = SEL; esp; ebp
    m.load(KCODE, [...code, 0xdb, 0x6d, 0x00, 0xf4]); // fld tbyte [ebp]
    m.runToHalt();
    expect(m.stoppedVector()).toBe(12);
    const frame = (i: number): number => m.bus.read32(DATA + m.esp() + 4 * i) >>> 0;
    expect(frame(0)).toBe(0);
    expect(frame(1)).toBe(KCODE + code.length);
  });
});

describe('FXSAVE and SSE/MMX operand limits', () => {
  it('checks the whole 512-byte FXSAVE/FXRSTOR area', () => {
    expectLimit([0x0f, 0xae, 0x05], 0xe00, 0xe10); // fxsave
    expectLimit([0x0f, 0xae, 0x0d], 0xe00, 0xe10); // fxrstor
  });

  it('checks m128 loads and stores, m64 scalar sources and MMX m64', () => {
    expectLimit([0xf3, 0x0f, 0x6f, 0x05], 0xff0, 0xff1); // movdqu xmm0, [m]
    expectLimit([0xf3, 0x0f, 0x7f, 0x05], 0xff0, 0xff1); // movdqu [m], xmm0
    expectLimit([0xf2, 0x0f, 0x58, 0x05], 0xff8, 0xff9); // addsd xmm0, [m]
    expectLimit([0xf3, 0x0f, 0x58, 0x05], 0xffc, 0xffd); // addss xmm0, [m]
    expectLimit([0x0f, 0x6f, 0x05], 0xff8, 0xff9); // movq mm0, [m]
  });
});

describe('canonical operands in 64-bit mode', () => {
  const EDGE = 0x7ffffffffff8n; // canonical; +8 is not

  function run64(code: number[]): Machine64 {
    const m = new Machine64();
    m.load(KCODE64, [...code, 0xf4]);
    m.runToHalt();
    return m;
  }

  it('raises #GP(0) for an m80 or m128 that runs past the canonical boundary, #SS(0) through RBP', () => {
    const movRax = [0x48, 0xb8, ...le64(EDGE, 8)];
    for (const ins of [[0xdb, 0x28], [0xf3, 0x0f, 0x6f, 0x00], [0xdb, 0x38]]) { // fld tbyte; movdqu; fstp tbyte
      const m = run64([...movRax, 0xdb, 0xe3, 0xd9, 0xe8, ...ins]);
      expect(m.stoppedVector()).toBe(13);
      expect(m.frame(0)).toBe(0n);
      expect(m.frame(1)).toBe(BigInt(KCODE64 + movRax.length + 4));
    }
    const m = run64([0x48, 0xbd, ...le64(EDGE, 8), 0xdb, 0x6d, 0x00]); // mov rbp; fld tbyte [rbp]
    expect(m.stoppedVector()).toBe(12);
    expect(m.frame(1)).toBe(BigInt(KCODE64 + 10));
  });

  it('raises #UD for an undefined x87 memory form before a pending exception or an address check', () => {
    const m = new Machine64();
    m.bus.write16(0x40000, 0x37b); // divide-by-zero unmasked
    const pre = [0xb8, ...le64(0x40000, 4), 0xdb, 0xe3, 0xd9, 0x28, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9]; // ... fdivp: ZE pending
    const movRax = [0x48, 0xb8, ...le64(EDGE, 8)];
    m.load(KCODE64, [...pre, ...movRax, 0xd9, 0x08, 0xf4]); // d9 /1 [rax]: undefined
    m.runToHalt();
    expect(m.stoppedVector()).toBe(6);
    expect(m.frame(0)).toBe(BigInt(KCODE64 + pre.length + movRax.length));
  });

  it('checks the last byte of the FXSAVE area', () => {
    const m = run64([0x48, 0xb8, ...le64(0x7fffffffff00n, 8), 0x0f, 0xae, 0x00]); // fxsave [rax]
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(BigInt(KCODE64 + 10));
  });
});
