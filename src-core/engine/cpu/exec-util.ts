// Helpers shared by the opcode handlers: branch targets, operand sizes for the stack and
// branches, address-size register access, and POPF/IRET's writable-flags rule.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { AC, AF, CF, DF, EX_GP, ID, IF, IOPL, NT, OF, RF, TF, TWO32, VIF, VIP, ZF } from './constants.ts';
import { getFlags } from './flags.ts';
import { SEG_FETCH } from './system/seg-limits.ts';
/** Jump to `target` (a number) honouring the operand size; 64-bit targets must be canonical. */
export function jumpTo(c: Cpu, target: number, osize: number): void {
  if (c.codeMode === 64) {
    if (target < -140737488355328 || target >= 140737488355328) {
      // Non-canonical: #GP at the branch (RIP stays at the branch).
      c.fault(EX_GP, 0);
    }
    c.rip = target;
  } else {
    const t = osize === 16 ? target & 0xffff : target >>> 0;
    // Beyond a CS limit: #GP(0) at the branch (system/seg-limits.ts).
    if ((c.segChk & SEG_FETCH) !== 0 && t > c.sLimit[1]!) c.fault(EX_GP, 0);
    c.rip = t;
  }
}

/** A 64-bit branch target must be canonical, a 16/32-bit one inside a CS limit; checked
 * before a CALL pushes anything. */
export function checkTarget(c: Cpu, target: number): void {
  if (c.codeMode === 64) {
    if (target < -140737488355328 || target >= 140737488355328) c.fault(EX_GP, 0);
  } else if ((c.segChk & SEG_FETCH) !== 0 && (c.codeMode === 16 ? target & 0xffff : target >>> 0) > c.sLimit[1]!) c.fault(EX_GP, 0);
}

/** Near-branch operand size: 64 in 64-bit mode (Intel ignores 66 here), else osize. */
export function branchSize(c: Cpu, ins: Instr): number {
  return c.codeMode === 64 ? 64 : ins.osize;
}

/** Stack operand size for PUSH/POP: 64 (or 16 with 66) in 64-bit mode. */
export function stackSize(c: Cpu, ins: Instr): number {
  if (c.codeMode === 64) return ins.osize === 16 ? 16 : 64;
  return ins.osize;
}

/** Register value as a number, per address size (string ops, LOOP, JCXZ). */
export function regA(c: Cpu, r: number, as: number): number {
  if (as === 64) return c.rh[r]! * TWO32 + (c.rl[r]! >>> 0);
  if (as === 32) return c.rl[r]! >>> 0;
  return c.rl[r]! & 0xffff;
}

export function setRegA(c: Cpu, r: number, as: number, v: number): void {
  if (as === 64) {
    c.rl[r] = v | 0;
    c.rh[r] = Math.floor(v / TWO32) | 0;
  } else if (as === 32) {
    c.rl[r] = v | 0;
    c.rh[r] = 0;
  } else c.rl[r] = (c.rl[r]! & ~0xffff) | (v & 0xffff);
}

export function signExt(size: number, v: number): number {
  return size === 8 ? (v << 24) >> 24 : size === 16 ? (v << 16) >> 16 : v | 0;
}

/** Writable EFLAGS bits for POPF/IRET at the current privilege. */
export function writeFlags(c: Cpu, v: number, osize: number): void {
  let mask = CF | 0x4 | AF | ZF | 0x80 | TF | DF | OF | NT;
  if (osize >= 32) mask |= AC | ID; // RF/VM are not changed by POPF
  if (c.cpl === 0 || !(c.cr0 & 1)) mask |= IOPL | IF;
  else if (c.cpl <= ((c.flags & IOPL) >> 12)) mask |= IF;
  if (osize === 16) mask &= 0xffff;
  const old = getFlags(c);
  c.flags = ((old & ~mask) | (v & mask) | 2) & ~(RF | 0x8 | 0x20 | 0x8000);
  c.flOp = 0;
  if ((c.flags & IF) && !(old & IF)) c.intCheck = true;
  void VIF; void VIP;
}
