// The CPU benchmark's workload (workload.c) built for i386 and run in flat 32-bit protected
// mode, next to the same workload's 64-bit build, both on the interpreter alone. 16/32-bit code
// and compatibility mode go through the general switch (exec.ts) rather than the specialised
// 64-bit handlers (exec-pick.ts), so the ratio of the two MIPS figures is what the missing
// 32-bit fast handlers cost. (No native 32-bit run: the machine has no i386 C library; the
// result of the 32-bit run is checked against the 64-bit one instead.)
// Run: npx tsx bench/cpu/run32.ts [rounds]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryBus } from '../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../src-core/engine/bus-io.ts';
import { Cpu } from '../../src-core/engine/cpu/cpu.ts';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(resolve(here, '../..'), '.cache', 'cpu-bench');
mkdirSync(out, { recursive: true });
const rounds = Number(process.argv[2] ?? 10);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, got ${process.argv[2]}`);

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

const flags = ['-O2', '-fno-pic', '-fno-asynchronous-unwind-tables', '-fno-stack-protector', '-ffreestanding', '-nostdlib', '-static',
  '-Wl,-Ttext=0x100000', '-Wl,-e,_start', '-Wl,--build-id=none'];
sh('cc', [...flags, '-mno-red-zone', '-o', join(out, 'work.elf'), join(here, 'start.S'), join(here, 'workload.c')]);
sh('objcopy', ['-O', 'binary', join(out, 'work.elf'), join(out, 'work.bin')]);
sh('cc', [...flags, '-m32', '-o', join(out, 'work32.elf'), join(here, 'start32.S'), join(here, 'workload.c')]);
sh('objcopy', ['-O', 'binary', join(out, 'work32.elf'), join(out, 'work32.bin')]);

function emulate(bits: 32 | 64): { secs: number; n: number; result: bigint } {
  const bus = new MemoryBus(16 << 20);
  const cpu = new Cpu(bus, new IoBus());
  cpu.jitThreshold = 0;
  bus.writeBytes(0x100000, readFileSync(join(out, bits === 64 ? 'work.bin' : 'work32.bin')));
  if (bits === 64) {
    bus.write32(0x1000, 0x2000 | 3);
    bus.write32(0x2000, 0x3000 | 3);
    for (let i = 0; i < 8; i++) bus.write32(0x3000 + i * 8, (i << 21) | 0x83);
    cpu.setBootState({ mode: 'long64', rip: 0x100000, rsp: 0xf00000, cr3: 0x1000, cr4: 0x6a0, rsi: rounds });
  } else {
    cpu.setBootState({ mode: 'protected32', rip: 0x100000, rsp: 0xf00000, cr4: 0x600, rsi: rounds });
  }
  const c0 = process.cpuUsage();
  let n = 0;
  while (!cpu.halted) n += cpu.run(1_000_000);
  const cu = process.cpuUsage(c0);
  const result = bits === 64
    ? (BigInt(cpu.rh[0]! >>> 0) << 32n) | BigInt(cpu.rl[0]! >>> 0)
    : (BigInt(cpu.rl[2]! >>> 0) << 32n) | BigInt(cpu.rl[0]! >>> 0);
  return { secs: (cu.user + cu.system) / 1e6, n, result };
}

console.log(`workload: crc32 + shellsort, ${rounds} round(s), interpreter only; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const mips: Record<string, number> = {};
let ref = -1n;
for (const phase of ['cold', 'warm']) {
  for (const bits of [64, 32] as const) {
    const r = emulate(bits);
    const m = r.n / r.secs / 1e6;
    mips[`${bits} ${phase}`] = m;
    console.log(`${bits}-bit ${phase}: ${r.secs.toFixed(3)} s cpu  ${r.n} instructions  ${m.toFixed(1)} MIPS  result ${r.result}`);
    if (ref < 0n) ref = r.result;
    else if (r.result !== ref) { console.error(`RESULT MISMATCH: ${bits}-bit ${phase} gives ${r.result}, expected ${ref}`); process.exitCode = 1; }
  }
}
console.log(`warm 32-bit / 64-bit MIPS: ${(mips['32 warm']! / mips['64 warm']!).toFixed(2)}`);
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
