// The block compiler held to the interpreter's exactness rules (the fast-handlers cases with
// every block compiled on first use): 64-bit effective addresses summed exactly in int32
// halves (read-modify-writes whose store faults: fast-handlers.test.ts runs them compiled too).
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';
import { jitStats } from '../../../src-core/engine/cpu/jit/compile.ts';

const movRax = (v: bigint): number[] => [0x48, 0xb8, ...le(v, 8)];
const movRbx = (v: bigint): number[] => [0x48, 0xbb, ...le(v, 8)];

function compiled(): Machine64 {
  const m = new Machine64();
  m.cpu.jitThreshold = 1; // every block is compiled the first time it runs
  m.cpu.jitMinInlined = 1;
  return m;
}

describe('compiled 64-bit effective addresses', () => {
  it('are exact when a huge base and a negative index cancel', () => {
    const m = compiled();
    const before = jitStats.blocks;
    m.load(DATA, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]);
    // rax = 2^62 + DATA + 1 is not a double; rbx = -2^62. [rax + rbx] is DATA + 1.
    m.load(KCODE, [
      ...movRax(0x4000000000000000n + BigInt(DATA + 1)), ...movRbx(-0x4000000000000000n),
      0x8b, 0x0c, 0x18, // mov ecx, [rax + rbx]
      0x48, 0x8b, 0x74, 0x18, 0x01, // mov rsi, [rax + rbx + 1]
      0xc6, 0x44, 0x18, 0x08, 0xab, // mov byte [rax + rbx + 8], 0xab
      0x48, 0xba, ...le(-0x2000000000000000n, 8), // mov rdx, -2^61
      0x44, 0x8b, 0x04, 0x50, // mov r8d, [rax + rdx*2] (scaled index)
      0x8b, 0x7c, 0x18, 0xff, // mov edi, [rax + rbx - 1] (negative displacement)
      0xf4,
    ]);
    m.runToHalt();
    expect(jitStats.blocks).toBeGreaterThan(before);
    expect(m.stoppedVector()).toBe(-1);
    expect(m.reg(1)).toBe(0x55443322n);
    expect(m.reg(6)).toBe(0x0099887766554433n);
    expect(m.bus.read8(DATA + 9)).toBe(0xab);
    expect(m.reg(8)).toBe(0x55443322n);
    expect(m.reg(7)).toBe(0x44332211n);
  });

  it('raise #GP(0) / #SS(0) for a non-canonical sum as the interpreter does', () => {
    const m = compiled();
    m.load(KCODE, [...movRax(0x7fffffffffff0000n), ...movRbx(0x20000n), 0x8b, 0x34, 0x18, 0xf4]); // mov esi, [rax + rbx]
    m.runToHalt();
    expect(m.stoppedVector()).toBe(13);
    expect(m.frame(0)).toBe(0n);
    expect(m.frame(1)).toBe(BigInt(KCODE + 20));
    const s = compiled();
    s.load(KCODE, [...movRax(0x0000800000000000n), 0x8b, 0x0c, 0x04, 0xf4]); // mov ecx, [rsp + rax]
    s.runToHalt();
    expect(s.stoppedVector()).toBe(12);
    expect(s.frame(1)).toBe(BigInt(KCODE + 10));
  });
});
