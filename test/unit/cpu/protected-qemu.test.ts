// Cross-check against QEMU: protected-qemu.s (32- and 16-bit call gates with RETF to the
// outer level, CALL/JMP/INT n task switches and IRET back, a double fault through a task
// gate, #TS, #GP through a DPL 0 gate) is assembled into a multiboot kernel
// and run by QEMU (TCG) and by Hangar's CPU from the same bytes at the same
// address; both write what they observe to port 0xE9 and the streams must agree dword for
// dword (except case 7: see below). protected-qemu64.s does the same for long mode (64-bit
// call gates, no task switches). Skipped only when binutils or QEMU is not installed.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_QEMU32, build, runHangar, runQemu } from './helpers/qemu-kernel.ts';

const SRC = join(import.meta.dirname, 'protected-qemu.s');
const SRC64 = join(import.meta.dirname, 'protected-qemu64.s');

describe.skipIf(!HAVE_QEMU32)('protected-mode cases agree with QEMU', () => {
  it('call gates, task switches, task-gate #DF, #TS and #GP produce the same 68 observations', () => {
    const k = build(SRC);
    const { out: hangar, finished } = runHangar(k);
    const qemu = runQemu(k);
    k.dispose();
    expect(finished).toBe(true);
    const hex = (a: number[]): string[] => a.map((v) => v.toString(16));
    const split = (a: number[]): [number[], number[]] => {
      const k = a.indexOf(0xc7c7c7c7);
      return [a.slice(0, k), a.slice(k + 1)];
    };
    const [hangarCases, hangarLimit] = split(hangar);
    const [qemuCases] = split(qemu);
    expect(hangarCases.length).toBe(68);
    expect(hex(hangarCases)).toEqual(hex(qemuCases));
    // Case 7, a load one byte past a DS limit of 0xFFF: #GP(0) at CPL 0 from CS 0x08, as on
    // hardware. QEMU's TCG does not check data segment limits, so it is not compared.
    expect(hangarLimit[0]).toBe(13);
    expect(hangarLimit[1]).toBe(0);
    expect(hangarLimit[3]).toBe(8);
    expect(hangarLimit[4]).toBe(0xdeadbeef);
  });

  it('a 64-bit call gate from ring 3 and ring 0, RETFQ, and JMP to a TSS in long mode agree', () => {
    const k = build(SRC64, 64);
    const { out: hangar, finished } = runHangar(k);
    const qemu = runQemu(k);
    k.dispose();
    expect(finished).toBe(true);
    expect(hangar.length).toBe(31);
    expect(hangar.map((v) => v.toString(16))).toEqual(qemu.map((v) => v.toString(16)));
    expect(hangar.slice(26, 28)).toEqual([13, 0x30]); // #GP(TSS selector)
  });
});
