// Segment limit and type checks on memory accesses outside 64-bit mode.
//
// Every segment register has a bit in c.segChk that is set when an access through it may
// fault: anything but a segment with a 4 GiB limit that is expand-up writable data. (The
// base plays no part in the checks, so a 4 GiB per-CPU or TLS segment with a base, as 32-bit
// Linux uses for FS/GS, is as cheap as a flat one.) The access paths (operands.ts memLin and
// the stack, Cpu.segLin, string.ts) test that bit and call checkSeg() only when it is set,
// so the flat segments every 32-bit OS uses cost one test.
// In 64-bit mode the mask is 0: long mode ignores limits (FS/GS use only their base).
//
// Bit 8 (SEG_FETCH) is set when CS has a limit below 4 GiB: instruction fetch checks that
// the whole instruction lies inside it (fetch.ts), #GP(0) otherwise.
import type { Cpu } from '../cpu.ts';
import { CS, EX_GP, EX_SS, SS, VM } from '../constants.ts';

export const SEG_FETCH = 0x100;
const FLAT_LIMIT = 0xffffffff;

/** Recompute c.segChk from the segment caches and the mode (after loads and mode changes). */
export function refreshSegChecks(c: Cpu): void {
  if (c.codeMode === 64) {
    c.segChk = 0;
    return;
  }
  const pm = (c.cr0 & 1) !== 0 && (c.flags & VM) === 0;
  let m = 0;
  for (let s = 0; s < 6; s++) {
    const a = c.sAttr[s]!;
    const flat = c.sLimit[s] === FLAT_LIMIT &&
      // Real and virtual-8086 mode check limits only; protected mode also the type.
      (!pm || (s !== CS && (a & 0x9e) === 0x92));
    if (!flat) m |= 1 << s;
  }
  if (c.sLimit[CS]! < FLAT_LIMIT) m |= SEG_FETCH;
  c.segChk = m;
}

/**
 * Check an access of `size` bytes at offset `off` through segment `s` (write: a store).
 * #SS(0) for SS, #GP(0) for the others: unusable (null) segment, store to code or read-only
 * data, load from execute-only code, offset outside the limit (expand-down: at or below it,
 * or above 64 KiB / 4 GiB per the B bit).
 */
export function checkSeg(c: Cpu, s: number, off: number, size: number, write: boolean): void {
  const vec = s === SS ? EX_SS : EX_GP;
  const lim = c.sLimit[s]!;
  const last = off + size - 1;
  if ((c.cr0 & 1) !== 0 && (c.flags & VM) === 0) {
    const a = c.sAttr[s]!;
    if ((a & 0x80) === 0 || (a & 0x10) === 0) c.fault(vec, 0); // null selector / not present
    if (a & 8) {
      if (write || (a & 2) === 0) c.fault(vec, 0); // code: never writable, readable if R
    } else {
      if (write && (a & 2) === 0) c.fault(vec, 0);
      if (a & 4) {
        // Expand-down: valid offsets are (limit, 0xFFFF] or (limit, 0xFFFFFFFF].
        const top = a & 0x4000 ? FLAT_LIMIT : 0xffff;
        if (off <= lim || last > top) c.fault(vec, 0);
        return;
      }
    }
  }
  if (last > lim) c.fault(vec, 0);
}

/** Instruction fetch: the instruction at RIP of `len` bytes must lie inside CS. */
export function checkFetch(c: Cpu, len: number): void {
  if (c.rip + len - 1 > c.sLimit[CS]!) c.fault(EX_GP, 0);
}
