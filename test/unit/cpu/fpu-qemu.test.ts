// Cross-check against QEMU: fpu-qemu.s (x87 instruction and operand pointers after an FS
// operand, control instructions, a prefixed register instruction, FNINIT, and the 16-bit
// environment) is assembled into a multiboot kernel and run by qemu-system-i386 (TCG) and by
// Hangar's CPU from the same bytes at the same address; both write FNSTENV's FIP/FCS/FDP/FDS
// to port 0xE9 and the streams must agree. Skipped only when binutils or QEMU is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../src-core/engine/bus-memory.ts';
import { IoBus } from '../../../src-core/engine/bus-io.ts';
import { Cpu } from '../../../src-core/engine/cpu/cpu.ts';

const SRC = join(import.meta.dirname, 'fpu-qemu.s');
const LOAD = 0x100000;

function have(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}
const TOOLS = have('as', ['--version']) && have('ld', ['--version']) && have('objcopy', ['--version']) &&
  have('qemu-system-i386', ['--version']);

const dir = mkdtempSync(join(tmpdir(), 'hangar-fpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function build(): { elf: string; image: Uint8Array; entry: number } {
  const obj = join(dir, 'f.o'), elf = join(dir, 'f.elf'), bin = join(dir, 'f.bin');
  execFileSync('as', ['--32', SRC, '-o', obj]);
  execFileSync('ld', ['-m', 'elf_i386', `-Ttext=0x${LOAD.toString(16)}`, '-e', '_start', obj, '-o', elf]);
  execFileSync('objcopy', ['-O', 'binary', elf, bin]);
  const m = /^([0-9a-f]+) T _start$/m.exec(execFileSync('nm', [elf]).toString());
  if (!m) throw new Error('fpu-qemu.s: no _start symbol');
  return { elf, image: new Uint8Array(readFileSync(bin)), entry: parseInt(m[1]!, 16) };
}

function dwords(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4) out.push((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
  return out;
}

function runQemu(kernel: string): number[] {
  const out = join(dir, 'qemu.out');
  rmSync(out, { force: true });
  const r = spawnSync('qemu-system-i386', [
    '-kernel', kernel, '-display', 'none', '-nodefaults', '-no-reboot', '-m', '16', '-accel', 'tcg',
    '-debugcon', `file:${out}`, '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
  ], { timeout: 60000 });
  if (r.status !== 1) throw new Error(`qemu exited with ${String(r.status)}: ${r.stderr?.toString() ?? ''}`);
  return dwords(new Uint8Array(readFileSync(out)));
}

function runHangar(image: Uint8Array, entry: number): number[] {
  const bus = new MemoryBus(4 << 20);
  const io = new IoBus();
  const bytes: number[] = [];
  let done = false;
  const cpu = new Cpu(bus, io);
  io.register(0xe9, 1, { read: () => 0xff, write: (_p, _s, v) => { bytes.push(v & 0xff); } }, 'debugcon');
  io.register(0xf4, 4, { read: () => 0xff, write: () => { done = true; cpu.requestExit(); } }, 'debug-exit');
  bus.writeBytes(LOAD, image);
  cpu.setBootState({
    mode: 'protected32', rip: entry, rsp: 0x7000,
    cs: { selector: 0x08, base: 0, limit: 0xffffffff, attributes: 0xc09b },
    data: { selector: 0x10, base: 0, limit: 0xffffffff, attributes: 0xc093 },
  });
  let n = 0;
  while (!done && !cpu.halted && n < 1_000_000) n += cpu.run(100000);
  expect(done).toBe(true);
  return dwords(new Uint8Array(bytes));
}

describe.skipIf(!TOOLS)('x87 pointers agree with QEMU', () => {
  it('FIP/FCS/FDP/FDS after operand, control, prefixed and FNINIT cases in both environment sizes', () => {
    const { elf, image, entry } = build();
    const hangar = runHangar(image, entry);
    const qemu = runQemu(elf);
    expect(hangar.length).toBe(17);
    expect(hangar.map((v) => v.toString(16))).toEqual(qemu.map((v) => v.toString(16)));
    expect(hangar[3]).toBe(0x18); // FDS: the FS selector of the first case's operand
    expect(hangar.slice(8, 12)).toEqual([0, 0, 0, 0]); // after FNINIT
  });
});
