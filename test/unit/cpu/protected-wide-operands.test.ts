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

describe('SSE and MMX stores', () => {
  // Each store with a [disp32] operand (ModR/M 05: xmm0/mm0/eax, or reg field as given).
  const STORES: [string, number[]][] = [
    ['movups', [0x0f, 0x11, 0x05]], ['movupd', [0x66, 0x0f, 0x11, 0x05]],
    ['movss', [0xf3, 0x0f, 0x11, 0x05]], ['movsd', [0xf2, 0x0f, 0x11, 0x05]],
    ['movlps', [0x0f, 0x13, 0x05]], ['movhps', [0x0f, 0x17, 0x05]],
    ['movlpd', [0x66, 0x0f, 0x13, 0x05]], ['movhpd', [0x66, 0x0f, 0x17, 0x05]],
    ['movaps', [0x0f, 0x29, 0x05]], ['movntps', [0x0f, 0x2b, 0x05]],
    ['movnti', [0x0f, 0xc3, 0x05]], ['movd m32,xmm', [0x66, 0x0f, 0x7e, 0x05]],
    ['movd m32,mm', [0x0f, 0x7e, 0x05]], ['movq m64,mm', [0x0f, 0x7f, 0x05]],
    ['movntq', [0x0f, 0xe7, 0x05]], ['movntdq', [0x66, 0x0f, 0xe7, 0x05]],
    ['movq m64,xmm', [0x66, 0x0f, 0xd6, 0x05]], ['movdqa', [0x66, 0x0f, 0x7f, 0x05]],
    ['movdqu', [0xf3, 0x0f, 0x7f, 0x05]],
  ];

  it('refuses every store to a read-only data segment and leaves memory alone', () => {
    const faults: string[] = [];
    for (const [name, ins] of STORES) {
      const m = limited(0x90);
      for (let i = 0; i < 16; i++) m.bus.write8(DATA + 0x20 + i, 0xa5);
      const pre = [...loadSeg(DS, SEL), 0xb8, ...le(0x12345678, 4), 0x66, 0x0f, 0x6e, 0xc0, 0x0f, 0x6e, 0xc0]; // eax; movd xmm0/mm0, eax
      m.load(KCODE, [...pre, ...at(ins, 0x20), 0xf4]);
      m.runToHalt();
      faults.push(`${name}: vector ${m.stoppedVector()} error ${m.frame(0)} at +${m.frame(1) - KCODE} memory ${[...m.bus.readBytes(DATA + 0x20, 16)].every((b) => b === 0xa5) ? 'untouched' : 'written'}`);
      if (name === 'movups') expect(m.cpu.fpu.top).toBe(0); // the movd to mm0 ran
      faults[faults.length - 1] = faults[faults.length - 1]!.replace(`+${pre.length} `, '+insn ');
    }
    expect(faults).toEqual(STORES.map(([n]) => `${n}: vector 13 error 0 at +insn memory untouched`));
  });

  it('refuses MASKMOVDQU and MASKMOVQ to a read-only segment but lets an empty mask through', () => {
    for (const [mmx, ones] of [[false, [0x66, 0x0f, 0x74, 0xc9]], [true, [0x0f, 0x74, 0xc9]]] as const) {
      const mask = mmx ? [0x0f, 0xf7, 0xc1] : [0x66, 0x0f, 0xf7, 0xc1]; // mask*movq [edi], reg0 under mask reg1
      const pre = [...loadSeg(DS, SEL), 0xbf, ...le(0x20, 4), ...ones]; // edi = 0x20; pcmpeqb r1, r1 (all ones)
      const m = limited(0x90);
      m.load(KCODE, [...pre, ...mask, 0xf4]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(13);
      expect(m.frame(1)).toBe(KCODE + pre.length);
      // pxor r1, r1: no byte is selected, nothing is stored and nothing faults.
      const none = [...loadSeg(DS, SEL), 0xbf, ...le(0x20, 4), ...(mmx ? [0x0f, 0xef, 0xc9] : [0x66, 0x0f, 0xef, 0xc9])];
      const m2 = limited(0x90);
      m2.load(KCODE, [...none, ...mask, 0xf4]);
      m2.runToHalt();
      expect(m2.stoppedVector()).toBe(-1);
      expect(m2.cpu.halted).toBe(true);
    }
  });

  it('checks the last byte of every store and of the scalar and half loads against the limit', () => {
    expectLimit([0x0f, 0x11, 0x05], 0xff0, 0xff1); // movups [m], xmm0
    expectLimit([0xf2, 0x0f, 0x11, 0x05], 0xff8, 0xff9); // movsd [m], xmm0
    expectLimit([0xf3, 0x0f, 0x11, 0x05], 0xffc, 0xffd); // movss [m], xmm0
    expectLimit([0x0f, 0x13, 0x05], 0xff8, 0xff9); // movlps [m], xmm0
    expectLimit([0x66, 0x0f, 0xd6, 0x05], 0xff8, 0xff9); // movq [m], xmm0
    expectLimit([0x0f, 0x7f, 0x05], 0xff8, 0xff9); // movq [m], mm0
    expectLimit([0x0f, 0xe7, 0x05], 0xff8, 0xff9); // movntq [m], mm0
    expectLimit([0x0f, 0xc3, 0x05], 0xffc, 0xffd); // movnti [m], eax
    expectLimit([0x66, 0x0f, 0x7e, 0x05], 0xffc, 0xffd); // movd [m], xmm0
    expectLimit([0xf3, 0x0f, 0x10, 0x05], 0xffc, 0xffd); // movss xmm0, [m]
    expectLimit([0xf2, 0x0f, 0x10, 0x05], 0xff8, 0xff9); // movsd xmm0, [m]
    expectLimit([0x0f, 0x16, 0x05], 0xff8, 0xff9); // movhps xmm0, [m]
  });

  it('writes nothing when a 16-byte store ends past the limit', () => {
    const m = limited();
    for (let i = 0; i < 16; i++) m.bus.write8(DATA + 0xff0 + i, 0xa5);
    const pre = [...loadSeg(DS, SEL), 0x66, 0x0f, 0x76, 0xc0]; // pcmpeqd xmm0, xmm0
    m.load(KCODE, [...pre, ...at([0x0f, 0x11, 0x05], 0xff4), 0xf4]); // movups [0xff4], xmm0
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(KCODE + pre.length);
    expect([...m.bus.readBytes(DATA + 0xff0, 16)]).toEqual(Array(16).fill(0xa5));
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

  it('raises #UD for undefined x87 register forms before a pending exception', () => {
    const pre = [0xb8, ...le64(0x40000, 4), 0xdb, 0xe3, 0xd9, 0x28, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9]; // ... fdivp: ZE pending
    for (const ins of [[0xd9, 0xd1], [0xd9, 0xef], [0xda, 0xe0], [0xdb, 0xe5], [0xdb, 0xff], [0xdd, 0xf0], [0xde, 0xd8], [0xdf, 0xe1], [0xdf, 0xf8]]) {
      const m = new Machine64();
      m.bus.write16(0x40000, 0x37b); // divide-by-zero unmasked
      m.load(KCODE64, [...pre, ...ins, 0xf4]);
      m.runToHalt();
      expect([ins, m.stoppedVector(), m.frame(0)]).toEqual([ins, 6, BigInt(KCODE64 + pre.length)]);
      expect(m.cpu.fpu.statusWord() & 0x8080).toBe(0x8080); // still pending
    }
  });

  it('raises #GP(0) for SSE/MMX stores whose last byte is not canonical, #SS(0) through RBP', () => {
    const NEAR = 0x7ffffffffffcn; // canonical; +4 is not
    const cases: [bigint, number[]][] = [
      [EDGE, [0x0f, 0x11, 0x00]], // movups [rax], xmm0
      [EDGE, [0x66, 0x0f, 0xe7, 0x00]], // movntdq [rax], xmm0
      [NEAR, [0xf2, 0x0f, 0x11, 0x00]], // movsd [rax], xmm0
      [NEAR, [0x0f, 0x17, 0x00]], // movhps [rax], xmm0
      [NEAR, [0x66, 0x0f, 0xd6, 0x00]], // movq [rax], xmm0
      [NEAR, [0x0f, 0x7f, 0x00]], // movq [rax], mm0
      [NEAR, [0x0f, 0xe7, 0x00]], // movntq [rax], mm0
      [NEAR, [0x48, 0x0f, 0xc3, 0x00]], // movnti [rax], rax
      [NEAR, [0x66, 0x48, 0x0f, 0x7e, 0x00]], // movq [rax], xmm0
    ];
    for (const [addr, ins] of cases) {
      const movRax = [0x48, 0xb8, ...le64(addr, 8)];
      const m = run64([...movRax, ...ins]);
      expect([ins, m.stoppedVector(), m.frame(0), m.frame(1)]).toEqual([ins, 13, 0n, BigInt(KCODE64 + movRax.length)]);
    }
    // Integer sources of SSE/MMX instructions: the whole operand, not only its first byte.
    for (const [addr, ins] of [
      [NEAR, [0x66, 0x48, 0x0f, 0x6e, 0x00]], // movq xmm0, [rax]
      [NEAR, [0xf2, 0x48, 0x0f, 0x2a, 0x00]], // cvtsi2sd xmm0, qword [rax]
      [0x7fffffffffffn, [0x66, 0x0f, 0xc4, 0x00, 0x01]], // pinsrw xmm0, word [rax], 1
      [0x7ffffffffffdn, [0x0f, 0x6e, 0x00]], // movd mm0, dword [rax]
    ] as [bigint, number[]][]) {
      const movRax = [0x48, 0xb8, ...le64(addr, 8)];
      const r = run64([...movRax, ...ins]);
      expect([ins, r.stoppedVector(), r.frame(0), r.frame(1)]).toEqual([ins, 13, 0n, BigInt(KCODE64 + movRax.length)]);
    }
    const m = run64([0x48, 0xbd, ...le64(EDGE, 8), 0x0f, 0x11, 0x45, 0x00]); // mov rbp; movups [rbp], xmm0
    expect(m.stoppedVector()).toBe(12);
    expect(m.frame(1)).toBe(BigInt(KCODE64 + 10));
  });

  it('raises #GP(0) for MASKMOVDQU when a selected byte is not canonical', () => {
    const movRdi = [0x48, 0xbf, ...le64(0x7ffffffffff8n, 8)];
    const ones = [0x66, 0x0f, 0x74, 0xc9]; // pcmpeqb xmm1, xmm1
    const m = run64([...movRdi, ...ones, 0x66, 0x0f, 0xf7, 0xc1]); // maskmovdqu xmm0, xmm1
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(BigInt(KCODE64 + movRdi.length + ones.length));
  });

  it('EMMS raises #MF for a pending x87 exception', () => {
    const m = new Machine64();
    m.bus.write16(0x40000, 0x37b); // divide-by-zero unmasked
    const pre = [0xb8, ...le64(0x40000, 4), 0xdb, 0xe3, 0xd9, 0x28, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9]; // ... fdivp: ZE pending
    m.load(KCODE64, [...pre, 0x0f, 0x77, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(16);
    expect(m.frame(0)).toBe(BigInt(KCODE64 + pre.length)); // #MF has no error code
    expect(m.cpu.fpu.tag.some((t) => t !== 3)).toBe(true); // the tags were not emptied
  });

  it('checks the last byte of the FXSAVE area', () => {
    const m = run64([0x48, 0xb8, ...le64(0x7fffffffff00n, 8), 0x0f, 0xae, 0x00]); // fxsave [rax]
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(1)).toBe(BigInt(KCODE64 + 10));
  });
});
