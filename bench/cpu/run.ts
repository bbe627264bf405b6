// CPU benchmark: a compiled CRC32 + shell-sort workload run natively and on Hangar's
// CPU (64-bit mode, identity-mapped 2 MiB pages), with the interpreter alone and with the block
// compiler. Prints guest MIPS and slowdown for each, cold (first run in the process) and warm.
// Run: npx tsx bench/cpu/run.ts [rounds]
//
// Default 30 rounds (209M guest instructions, about 7M a round): the interpreter then runs
// for a few seconds per pass (about 3 s at 70 MIPS), so its figures measure the emulator.
// With the old default of 3 rounds (20.5M instructions, a third of a second) the "cold" pass
// was mostly V8 compiling the emulator itself, a fixed cost of a few tenths of a second of
// CPU that has nothing to do with guest speed. Cold is still the first pass in the process,
// start-up included; warm is a second pass on a fresh CPU.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryBus } from '../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../src-core/engine/bus-io.ts';
import { Cpu } from '../../src-core/engine/cpu/cpu.ts';
import { jitStats } from '../../src-core/engine/cpu/jit/compile.ts';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(resolve(here, '../..'), '.cache', 'cpu-bench');
mkdirSync(out, { recursive: true });
const rounds = Number(process.argv[2] ?? 30);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, got ${process.argv[2]}`);

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const flags = ['-O2', '-fno-pic', '-fno-asynchronous-unwind-tables', '-fno-stack-protector', '-mno-red-zone'];
sh('cc', [...flags, '-ffreestanding', '-nostdlib', '-static', '-Wl,-Ttext=0x100000', '-Wl,-e,_start', '-Wl,--build-id=none',
  '-o', join(out, 'work.elf'), join(here, 'start.S'), join(here, 'workload.c')]);
sh('objcopy', ['-O', 'binary', join(out, 'work.elf'), join(out, 'work.bin')]);
sh('cc', [...flags, '-no-pie', '-o', join(out, 'native'), join(here, 'native-main.c'), join(here, 'workload.c')]);

// Native.
const [natResult, natSecs] = sh(join(out, 'native'), [String(rounds)]).trim().split(' ');

// Emulated: interpreter only, then with the block compiler (default threshold).
const natS = Number(natSecs);
const image = readFileSync(join(out, 'work.bin'));
function emulate(jitThreshold: number): { secs: number; wall: number; n: number; result: bigint; compiled: number } {
  const bus = new MemoryBus(16 << 20);
  const cpu = new Cpu(bus, new IoBus());
  cpu.jitThreshold = jitThreshold;
  bus.writeBytes(0x100000, image);
  // Page tables at 0x1000: PML4 -> PDPT -> PD with eight 2 MiB pages (16 MiB identity map).
  bus.write32(0x1000, 0x2000 | 3);
  bus.write32(0x2000, 0x3000 | 3);
  for (let i = 0; i < 8; i++) bus.write32(0x3000 + i * 8, (i << 21) | 0x83);
  cpu.setBootState({ mode: 'long64', rip: 0x100000, rsp: 0xf00000, cr3: 0x1000, cr4: 0x6a0, rsi: rounds });
  const compiled0 = jitStats.blocks;
  // CPU time, not wall time: this machine is shared, and both sides are measured the same way.
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (!cpu.halted) n += cpu.run(1_000_000);
  const wall = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const result = (BigInt(cpu.rh[0]! >>> 0) << 32n) | BigInt(cpu.rl[0]! >>> 0);
  return { secs: (cu.user + cu.system) / 1e6, wall, n, result, compiled: jitStats.blocks - compiled0 };
}
console.log(`workload: crc32 + shellsort, ${rounds} round(s); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`native:      ${natS.toFixed(4)} s  result ${natResult}`);
// Each mode runs twice on a fresh CPU: "cold" is the first run in this process (it includes
// V8 compiling the emulator itself, a fixed cost that dominates a workload this short), "warm"
// the second (the steady-state speed a long-running guest sees). Both are reported.
let result = 0n;
for (const [label, threshold] of [['interpreter', 0], ['jit', Cpu.defaultJitThreshold]] as const) {
  for (const phase of ['cold', 'warm']) {
    const r = emulate(threshold);
    result = r.result;
    const mips = r.n / r.secs / 1e6;
    console.log(`${`${label} ${phase}`.padEnd(17)} ${r.secs.toFixed(3)} s cpu (${r.wall.toFixed(3)} s wall)  result ${r.result}  ${r.n} instructions  ` +
      `${mips.toFixed(1)} MIPS  slowdown ${(r.secs / natS).toFixed(1)}x vs native` + (threshold ? `  (${r.compiled} blocks compiled)` : ''));
    if (String(r.result) !== natResult) {
      console.error(`RESULT MISMATCH (${label}): emulated result differs from native`);
      process.exitCode = 1;
    }
  }
}
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
void result;
