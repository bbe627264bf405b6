// Runs one assembly program both under QEMU (as a multiboot kernel, TCG) and under Hangar's
// CPU from the same bytes at the same address. The program reports what it observes as bytes
// on the debug console port 0xE9 and ends by writing to isa-debug-exit at 0xF4; the callers
// compare the two streams dword for dword.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MemoryBus } from '../../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../../src-core/engine/cpu/cpu.ts';

export const LOAD = 0x100000;

function have(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** binutils and qemu-system-x86_64 are installed. */
export const HAVE_QEMU32 = have('as', ['--version']) && have('ld', ['--version']) &&
  have('qemu-system-x86_64', ['--version']);

/** `kernel` is what QEMU's -kernel gets: the ELF for 32-bit programs, the flat image for
 * 64-bit ones (QEMU's multiboot loader takes no 64-bit ELF; their header gives the addresses). */
export interface Kernel { kernel: string; image: Uint8Array; entry: number; dispose(): void }

/** Assemble a program (`bits` 32 or 64) and link it at LOAD. */
export function build(src: string, bits: 32 | 64 = 32): Kernel {
  const dir = mkdtempSync(join(tmpdir(), `hangar-k${bits}-`));
  const obj = join(dir, 'k.o');
  const elf = join(dir, 'k.elf');
  const bin = join(dir, 'k.bin');
  execFileSync('as', [bits === 32 ? '--32' : '--64', '-I', dirname(src), src, '-o', obj]); // -I: the shared qemu-lib*.s
  execFileSync('ld', ['-m', bits === 32 ? 'elf_i386' : 'elf_x86_64', `-Ttext=0x${LOAD.toString(16)}`, '-e', '_start', obj, '-o', elf]);
  execFileSync('objcopy', ['-O', 'binary', elf, bin]);
  const m = /^([0-9a-f]+) T _start$/m.exec(execFileSync('nm', [elf]).toString());
  if (!m) throw new Error(`${src}: no _start symbol`);
  return {
    kernel: bits === 32 ? elf : bin, image: new Uint8Array(readFileSync(bin)), entry: parseInt(m[1]!, 16),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function dwords(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4) out.push((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
  return out;
}

/** QEMU's view: qemu-system-x86_64 (CPU model `cpu`, by default qemu64: PSE-36, PAE, NX,
 * SEP) running the kernel. */
export function runQemu(k: Kernel, cpu = 'qemu64'): number[] {
  const out = `${k.kernel}.e9`;
  rmSync(out, { force: true });
  const r = spawnSync('qemu-system-x86_64', [
    '-cpu', cpu, '-kernel', k.kernel, '-display', 'none', '-nodefaults', '-no-reboot', '-m', '16', '-accel', 'tcg',
    '-debugcon', `file:${out}`, '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
  ], { timeout: 60000 });
  // isa-debug-exit exits with (value << 1) | 1: 1 for the program's final write of 0.
  if (r.status !== 1) throw new Error(`qemu exited with ${String(r.status)}: ${r.stderr?.toString() ?? ''}`);
  return dwords(new Uint8Array(readFileSync(out)));
}

/** Hangar's view: the flat image at LOAD, started in flat 32-bit protected mode as multiboot does. */
export function runHangar(k: Kernel): { out: number[]; finished: boolean } {
  const bus = new MemoryBus(4 << 20);
  const io = new IoBus();
  const bytes: number[] = [];
  let finished = false;
  const cpu = new Cpu(bus, io);
  io.register(0xe9, 1, { read: () => 0xff, write: (_p, _s, v) => { bytes.push(v & 0xff); } }, 'debugcon');
  io.register(0xf4, 4, { read: () => 0xff, write: () => { finished = true; cpu.requestExit(); } }, 'debug-exit');
  bus.writeBytes(LOAD, k.image);
  cpu.setBootState({
    mode: 'protected32', rip: k.entry, rsp: 0x7000,
    cs: { selector: 0x08, base: 0, limit: 0xffffffff, attributes: 0xc09b },
    data: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 },
  });
  let n = 0;
  while (!finished && !cpu.halted && n < 2_000_000) n += cpu.run(100000);
  return { out: dwords(new Uint8Array(bytes)), finished };
}
