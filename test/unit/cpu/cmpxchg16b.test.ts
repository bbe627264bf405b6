// CMPXCHG16B and CMPXCHG8B as the system sees them (Intel SDM vol. 2A): CMPXCHG16B needs a
// 16-byte aligned operand (#GP(0) otherwise, with memory and RDX:RAX untouched), CMPXCHG8B
// does not; a register operand is #UD. The compare-and-exchange results themselves are in
// the differential suite.
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';

const MOV_RDI = (v: number): number[] => [0x48, 0xbf, ...le(v, 8)];
const CMPXCHG16B_RDI = [0xf0, 0x48, 0x0f, 0xc7, 0x0f]; // lock cmpxchg16b [rdi]
const CMPXCHG8B_RDI = [0xf0, 0x0f, 0xc7, 0x0f]; // lock cmpxchg8b [rdi]
const SETE_BL = [0x0f, 0x94, 0xc3];

function machine(): Machine64 {
  const m = new Machine64();
  m.w64(DATA, 0x1111111111111111n);
  m.w64(DATA + 8, 0x2222222222222222n);
  m.w64(DATA + 16, 0x3333333333333333n);
  const c = m.cpu;
  // RDX:RAX = the expected old value, RCX:RBX = the new one.
  [c.rl[0], c.rh[0], c.rl[2], c.rh[2]] = [0x11111111, 0x11111111, 0x22222222, 0x22222222];
  [c.rl[3], c.rh[3], c.rl[1], c.rh[1]] = [0xaaaaaaaa | 0, 0xaaaaaaaa | 0, 0xbbbbbbbb | 0, 0xbbbbbbbb | 0];
  return m;
}

describe('CMPXCHG16B alignment', () => {
  it('exchanges at a 16-byte aligned address', () => {
    const m = machine();
    m.load(KCODE, [...MOV_RDI(DATA), ...CMPXCHG16B_RDI, ...SETE_BL, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(3) & 0xffn).toBe(1n);
    expect([m.r64(DATA), m.r64(DATA + 8)]).toEqual([0xaaaaaaaaaaaaaaaan, 0xbbbbbbbbbbbbbbbbn]);
  });

  it('raises #GP(0) at an address that is 8 but not 16-byte aligned, changing nothing', () => {
    const m = machine();
    m.load(KCODE, [...MOV_RDI(DATA + 8), ...CMPXCHG16B_RDI, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0n);
    expect(m.frame(1)).toBe(BigInt(KCODE + 10));
    expect([m.r64(DATA), m.r64(DATA + 8), m.r64(DATA + 16)]).toEqual([0x1111111111111111n, 0x2222222222222222n, 0x3333333333333333n]);
    expect([m.reg(0), m.reg(2)]).toEqual([0x1111111111111111n, 0x2222222222222222n]);
  });

  it('CMPXCHG8B has no alignment requirement', () => {
    const m = machine();
    m.cpu.rl[0] = 0x11111111; m.cpu.rl[2] = 0x22222222; // EDX:EAX = the dword pair at DATA + 4
    m.load(KCODE, [...MOV_RDI(DATA + 4), ...CMPXCHG8B_RDI, ...SETE_BL, 0xf4]);
    m.runToHalt();
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(3) & 0xffn).toBe(1n);
    expect(m.bus.read32(DATA + 4)).toBe(0xaaaaaaaa);
    expect(m.bus.read32(DATA + 8)).toBe(0xbbbbbbbb);
  });

  it('a register operand is #UD', () => {
    const m = machine();
    m.load(KCODE, [0x48, 0x0f, 0xc7, 0xc8, 0xf4]); // cmpxchg16b with ModRM.mod = 3
    m.runToHalt();
    expect(m.stoppedVector()).toBe(6);
    expect(m.frame(0)).toBe(BigInt(KCODE));
  });
});
