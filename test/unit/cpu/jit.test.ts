// The block compiler (engine/cpu/jit): compiled code is really used, agrees with the
// interpreter on instruction counts when a compiled block faults half-way, and is dropped
// when the code bytes change (self-modifying code).
import { describe, expect, it } from 'vitest';
import { jitStats } from '../../../src-core/engine/cpu/jit/compile.ts';
import { KCODE, Machine64, le } from './helpers/machine64.ts';

const MOV_RAX = (v: number): number[] => [0x48, 0xb8, ...le(v, 8)];

function machine(threshold: number): Machine64 {
  const m = new Machine64();
  m.cpu.jitThreshold = threshold;
  m.cpu.jitMinInlined = 1;
  return m;
}

describe('block compiler', () => {
  it('compiles a hot loop and computes what the interpreter computes', () => {
    // ecx = 1000; loop: eax += ecx * 3 (lea), edx ^= eax; dec ecx; jnz loop; hlt
    const code = [0xb9, ...le(1000, 4), 0x8d, 0x04, 0x49, 0x31, 0xc2, 0x01, 0xc3, 0xff, 0xc9, 0x75, 0xf5, 0xf4];
    const results: bigint[][] = [];
    for (const threshold of [0, 2]) {
      const m = machine(threshold);
      m.load(KCODE, code);
      const before = jitStats.blocks;
      const n = m.runToHalt();
      if (threshold) expect(jitStats.blocks - before).toBeGreaterThan(0);
      else expect(jitStats.blocks - before).toBe(0);
      results.push([BigInt(n), m.reg(0), m.reg(2), m.reg(3), BigInt(m.cpu.rip)]);
    }
    expect(results[1]).toEqual(results[0]);
  });

  it('counts instructions and restarts exactly when a compiled block faults mid-way', () => {
    const out: unknown[] = [];
    for (const threshold of [0, 1]) {
      const m = machine(threshold);
      m.setPte(0x50000, 0x50000, { absent: true });
      // mov rax, 0x50008; nop; inc rcx; mov rbx, [rax] (#PF); hlt
      m.load(KCODE, [...MOV_RAX(0x50008), 0x90, 0x48, 0xff, 0xc1, 0x48, 0x8b, 0x18, 0xf4]);
      const n = m.runToHalt();
      expect(m.stoppedVector()).toBe(14);
      expect(m.frame(1)).toBe(BigInt(KCODE + 14)); // RIP of the faulting MOV
      out.push([n, m.cpu.instructionCount, m.reg(1), m.cpu.cr2]);
    }
    expect(out[1]).toEqual(out[0]);
  });

  it('drops compiled code when the guest rewrites it', () => {
    const B = KCODE + 0x100;
    const m = machine(1);
    // call B; mov dword [B + 1], 0x22222222; call B; hlt
    const main = [0xe8, ...le(B - (KCODE + 5), 4), 0xc7, 0x04, 0x25, ...le(B + 1, 4), ...le(0x22222222, 4), 0xe8, ...le(B - (KCODE + 21), 4), 0xf4];
    m.load(KCODE, main);
    m.load(B, [0xb8, ...le(0x11111111, 4), 0x01, 0xc2, 0xc3]); // B: mov eax, imm; add edx, eax; ret
    m.runToHalt();
    expect(m.cpu.rip).toBe(KCODE + 22);
    // The first call ran the compiled B with the old immediate, the second the rewritten one.
    expect(m.reg(2)).toBe(0x33333333n);
  });

  it('takes an interrupt after the one instruction that follows STI, as the interpreter does', () => {
    const out: unknown[] = [];
    for (const threshold of [0, 1]) {
      const m = machine(threshold);
      let pending = true;
      m.cpu.setInterruptSource({ hasInterrupt: () => pending, acknowledge: () => { pending = false; return 0x40; } });
      // sti; nop; inc rax; inc rbx; hlt: the block after STI is compiled on first use.
      m.load(KCODE, [0xfb, 0x90, 0x48, 0xff, 0xc0, 0x48, 0xff, 0xc3, 0xf4]);
      m.runToHalt();
      expect(m.stoppedVector()).toBe(0x40);
      expect(m.frame(0)).toBe(BigInt(KCODE + 2)); // the interrupted instruction: inc rax
      out.push([m.reg(0), m.reg(3), m.cpu.instructionCount]);
    }
    expect(out[1]).toEqual(out[0]);
  });
});
