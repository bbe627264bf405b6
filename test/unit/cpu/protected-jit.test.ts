// The protected-mode system tests again with the block compiler forced on: every decoded
// block is compiled on its first execution, so a compiled 32-bit block that addresses a
// segment needing limit checks must fall back to the checked interpreter path (the tests
// fail if compiled code skips a limit, type or null-selector check).
import { afterAll, expect } from 'vitest';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';
import { jitStats } from '../../../src-core/engine/cpu/jit/compile.ts';

Cpu.defaultJitThreshold = 1;
Cpu.defaultJitMinInlined = 1;
const before = jitStats.blocks;
await import('./protected-limits.test.ts');
await import('./protected-gates.test.ts');
await import('./protected-tasks.test.ts');
await import('./protected-interrupts.test.ts');
afterAll(() => {
  expect(jitStats.blocks - before).toBeGreaterThan(5);
});
