// Cross-check against QEMU: fpu-qemu.s (x87 instruction and operand pointers after an FS
// operand, control instructions, a prefixed register instruction, FNINIT, and the 16-bit
// environment) is assembled into a multiboot kernel and run by QEMU (TCG) and by
// Hangar's CPU from the same bytes at the same address; both write FNSTENV's FIP/FCS/FDP/FDS
// to port 0xE9 and the streams must agree. Skipped only when binutils or QEMU is missing.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_QEMU32, build, runHangar, runQemu } from './helpers/qemu-kernel.ts';

const SRC = join(import.meta.dirname, 'fpu-qemu.s');

describe.skipIf(!HAVE_QEMU32)('x87 pointers agree with QEMU', () => {
  it('FIP/FCS/FDP/FDS after operand, control, prefixed and FNINIT cases in both environment sizes', () => {
    const k = build(SRC);
    const { out: hangar, finished } = runHangar(k);
    const qemu = runQemu(k);
    k.dispose();
    expect(finished).toBe(true);
    expect(hangar.length).toBe(17);
    expect(hangar.map((v) => v.toString(16))).toEqual(qemu.map((v) => v.toString(16)));
    expect(hangar[3]).toBe(0x18); // FDS: the FS selector of the first case's operand
    expect(hangar.slice(8, 12)).toEqual([0, 0, 0, 0]); // after FNINIT
  });
});
