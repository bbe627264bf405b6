// The system tests again with the block compiler forced on: every decoded block is compiled
// on its first execution, so mode switches, faults inside compiled code (CR2, error codes,
// restart points), interrupts and snapshots all run through jit/ as well.
import { afterAll, expect } from 'vitest';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { jitStats } from '../../../src-core/engine/cpu/jit/compile.ts';

Cpu.defaultJitThreshold = 1;
Cpu.defaultJitMinInlined = 1;
const before = jitStats.blocks;
await import('./system.test.ts');
afterAll(() => {
  // The compiler really ran (a block of only interpreter fallbacks is not compiled).
  expect(jitStats.blocks - before).toBeGreaterThan(10);
});
