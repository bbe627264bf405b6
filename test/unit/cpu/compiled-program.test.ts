// End-to-end check: a C program (the benchmark's CRC32 + shell sort workload, compiled here
// with the system cc as a flat 64-bit binary, vectorised SSE2 code included) computes the
// same result on the interpreter as natively, with the block compiler off and on.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const src = join(root, 'bench', 'cpu');
const out = join(root, '.cache', 'cpu-diff', 'program');
const canRun = process.arch === 'x64' && process.platform === 'linux' && spawnSync('cc', ['--version']).status === 0;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!canRun)('compiled program', () => {
  it('computes the native result (CRC32 + shell sort, one round)', () => {
    mkdirSync(out, { recursive: true });
    const flags = ['-O2', '-fno-pic', '-fno-asynchronous-unwind-tables', '-fno-stack-protector', '-mno-red-zone'];
    sh('cc', [...flags, '-ffreestanding', '-nostdlib', '-static', '-Wl,-Ttext=0x100000', '-Wl,-e,_start', '-Wl,--build-id=none',
      '-o', join(out, 'work.elf'), join(src, 'start.S'), join(src, 'workload.c')]);
    sh('objcopy', ['-O', 'binary', join(out, 'work.elf'), join(out, 'work.bin')]);
    sh('cc', [...flags, '-no-pie', '-o', join(out, 'native'), join(src, 'native-main.c'), join(src, 'workload.c')]);
    const native = sh(join(out, 'native'), ['1']).trim().split(' ')[0];

    // Interpreter alone, then with every block compiled on its first execution.
    const counts: number[] = [];
    for (const threshold of [0, 1]) {
      const bus = new MemoryBus(16 << 20);
      const cpu = new Cpu(bus, new IoBus());
      cpu.jitThreshold = threshold;
      cpu.jitMinInlined = 1;
      bus.writeBytes(0x100000, readFileSync(join(out, 'work.bin')));
      bus.write32(0x1000, 0x2000 | 3);
      bus.write32(0x2000, 0x3000 | 3);
      for (let i = 0; i < 8; i++) bus.write32(0x3000 + i * 8, (i << 21) | 0x83);
      cpu.setBootState({ mode: 'long64', rip: 0x100000, rsp: 0xf00000, cr3: 0x1000, cr4: 0x6a0, rsi: 1 });
      let n = 0;
      while (!cpu.halted && n < 50_000_000) n += cpu.run(1_000_000);
      expect(cpu.halted).toBe(true);
      const result = (BigInt(cpu.rh[0]! >>> 0) << 32n) | BigInt(cpu.rl[0]! >>> 0);
      expect(String(result), `jit threshold ${threshold}`).toBe(native);
      counts.push(n);
    }
    // Same instruction count both ways: compiled blocks account for every instruction.
    expect(counts[1]).toBe(counts[0]);
  }, 120_000);
});
