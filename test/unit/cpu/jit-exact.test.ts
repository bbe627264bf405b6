// The block compiler held to the interpreter's exactness rules (the fast-handlers cases with
// every block compiled on first use): 64-bit effective addresses summed exactly in int32
// halves, and read-modify-writes whose store faults leave flags and memory unchanged.
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, Machine64, le } from './helpers/machine64.ts';
import { jitStats } from '../../../src-core/engine/cpu/jit/compile.ts';

const movRax = (v: bigint): number[] => [0x48, 0xb8, ...le(v, 8)];
const movRbx = (v: bigint): number[] => [0x48, 0xbb, ...le(v, 8)];
const CF = 1n, PF = 4n, AF = 0x10n, ZF = 0x40n, SF = 0x80n, OF = 0x800n;

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

describe('compiled read-modify-write with a faulting store', () => {
  // mov edx, -1; add edx, 1 sets CF ZF PF AF; the faulting instruction would change them.
  const setFlags = [0xba, ...le(0xffffffff, 4), 0x83, 0xc2, 0x01];
  const before = CF | ZF | PF | AF;
  const cases: [string, number[]][] = [
    ['add [rax], ecx', [0x01, 0x08]],
    ['add [rax], rcx', [0x48, 0x01, 0x08]],
    ['add dword [rax], 1', [0x83, 0x00, 0x01]],
    ['sub qword [rax], -1', [0x48, 0x83, 0x28, 0xff]],
    ['add byte [rax], 1', [0x80, 0x00, 0x01]],
    ['shl dword [rax], 1', [0xd1, 0x20]],
    ['sar dword [rax], cl', [0xd3, 0x38]],
    ['inc dword [rax]', [0xff, 0x00]],
    ['neg qword [rax]', [0x48, 0xf7, 0x18]],
    ['add [rax + 4093], ecx (page-crossing)', [0x01, 0x88, ...le(4093, 4)]],
  ];
  for (const [name, bytes] of cases) {
    it(`${name} on a read-only page: #PF, memory and flags unchanged`, () => {
      const m = compiled();
      const page = 0x51000;
      m.setPte(page, page, { ro: true }); // CR0.WP is set: supervisor writes fault too
      m.bus.write32(page, 0x7fffffff);
      m.bus.write32(page + 4, 0x7fffffff);
      const code = [...movRax(BigInt(page)), 0xb9, ...le(1, 4), ...setFlags];
      const at = code.length;
      m.load(KCODE, [...code, ...bytes, 0xf4]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(14);
      expect(m.frame(0)).toBe(3n); // present, write
      expect(m.frame(1)).toBe(BigInt(KCODE + at));
      expect(m.frame(3) & (CF | PF | AF | ZF | SF | OF)).toBe(before);
      expect(m.bus.read32(page)).toBe(0x7fffffff);
    });
  }
});
