// Wide memory operands (x87 m80 and environments, SSE m64/m128, the FXSAVE area): the whole
// operand is checked, not just its first byte. Outside 64-bit mode every byte must lie inside
// the segment (limit and type, system/seg-limits.ts: #GP(0), #SS(0) through SS); in 64-bit
// mode the last byte must be canonical too (an operand that starts just below 2^47 and runs
// past it faults like a non-canonical start: #SS(0) through SS, #GP(0) otherwise).
//
// The operand's offset and segment stay in `wideOff` / `wideSeg` for the x87 data pointer.
import type { Cpu } from '../cpu.ts';
import type { Instr } from '../decode.ts';
import { EX_GP, EX_SS, SS } from '../constants.ts';
import { ea } from '../operands.ts';
import { checkSeg } from './seg-limits.ts';

const CANON = 140737488355328; // 2^47

/** Offset (effective address) and segment register of the last wideLin() operand. */
export let wideOff = 0;
export let wideSeg = 0;

/** Linear address of the `size`-byte memory operand of `ins` (write: it is stored to). */
export function wideLin(c: Cpu, ins: Instr, size: number, write: boolean): number {
  const off = ea(c, ins);
  const s = ins.seg >= 0 ? ins.seg : ins.defSeg;
  wideOff = off;
  wideSeg = s;
  if (c.codeMode === 64) {
    const l = s < 4 ? off : c.sBase[s]! + off;
    // A start in the upper half may run past -1 into 0 (the address wraps, still canonical).
    if (l < -CANON || l + size - 1 >= CANON) c.fault(s === SS ? EX_SS : EX_GP, 0);
    return l;
  }
  if ((c.segChk & (1 << s)) !== 0) {
    checkSeg(c, s, off, size, write);
    c.segOff = off;
  }
  return (c.sBase[s]! + off) >>> 0;
}
