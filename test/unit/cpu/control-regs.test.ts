// MOV to control registers in 64-bit mode (Intel SDM vol. 2B, MOV—Move to/from Control
// Registers): reserved bits 63:32 of CR0 and CR4 and 63:4 of CR8 are #GP(0), as is CR0.NW
// without CR0.CD; nothing changes when the write faults.
import { describe, expect, it } from 'vitest';
import { KCODE, Machine64, le } from './helpers/machine64.ts';

const MOV_RAX_CR0 = [0x0f, 0x20, 0xc0];
const MOV_CR0_RAX = [0x0f, 0x22, 0xc0];
const MOV_RAX_CR4 = [0x0f, 0x20, 0xe0];
const MOV_CR4_RAX = [0x0f, 0x22, 0xe0];
const MOV_CR8_RAX = [0x44, 0x0f, 0x22, 0xc0];
const MOV_RBX_CR8 = [0x44, 0x0f, 0x20, 0xc3];
const BTS_RAX_32 = [0x48, 0x0f, 0xba, 0xe8, 0x20];
const OR_EAX = (v: number): number[] => [0x0d, ...le(v, 4)];
const MOV_EAX = (v: number): number[] => [0xb8, ...le(v, 4)];

function run(code: number[]): Machine64 {
  const m = new Machine64();
  m.load(KCODE, [...code, 0xf4]);
  m.runToHalt();
  return m;
}

function expectGp(m: Machine64, at: number): void {
  expect(m.stoppedVector()).toBe(13);
  expect(m.frame(0)).toBe(0n);
  expect(m.frame(1)).toBe(BigInt(KCODE + at));
}

describe('MOV to CR0, CR4 and CR8 in 64-bit mode', () => {
  it('CR0: a bit above 31 is #GP(0); NW without CD is #GP(0); NW with CD is accepted', () => {
    const before = new Machine64().cpu.cr0;
    const high = run([...MOV_RAX_CR0, ...BTS_RAX_32, ...MOV_CR0_RAX]);
    expectGp(high, 8);
    expect(high.cpu.cr0).toBe(before);
    const nw = run([...MOV_RAX_CR0, ...OR_EAX(0x20000000), ...MOV_CR0_RAX]);
    expectGp(nw, 8);
    expect(nw.cpu.cr0).toBe(before);
    const both = run([...MOV_RAX_CR0, ...OR_EAX(0x60000000), ...MOV_CR0_RAX]);
    expect(both.stoppedVector()).toBe(-1);
    expect(both.cpu.cr0 >>> 29).toBe(0b111); // PG, CD, NW
  });

  it('MOV from CR0 zero-extends (CR0.PG is bit 31): writing the value back works', () => {
    // Linux's native_write_cr0(read_cr0() | X) depends on it.
    const m = run([...MOV_RAX_CR0, 0x48, 0x89, 0xc3, ...MOV_CR0_RAX]); // mov rax, cr0; mov rbx, rax; mov cr0, rax
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(3)).toBe(BigInt(m.cpu.cr0 >>> 0));
    expect(m.reg(3) >> 31n).toBe(1n);
  });

  it('CR4: a bit above 31 is #GP(0)', () => {
    const m = run([...MOV_RAX_CR4, ...BTS_RAX_32, ...MOV_CR4_RAX]);
    expectGp(m, 8);
    expect(m.cpu.cr4).toBe(0x6a0);
  });

  it('CR8: values above 15 are #GP(0); 0-15 read back', () => {
    const bad = run([...MOV_EAX(16), ...MOV_CR8_RAX]);
    expectGp(bad, 5);
    expect(bad.cpu.cr8).toBe(0);
    const ok = run([...MOV_EAX(9), ...MOV_CR8_RAX, ...MOV_RBX_CR8]);
    expect(ok.stoppedVector()).toBe(-1);
    expect(ok.reg(3)).toBe(9n);
  });
});
