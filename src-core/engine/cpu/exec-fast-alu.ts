// Specialised handlers for the ALU forms 64-bit code runs most: ADD/OR/AND/SUB/XOR/CMP/TEST
// with 32- and 64-bit operands, register or memory with 64-bit addresses, chosen
// once per decode by exec-pick.ts. Each does what the general switch in exec.ts does for
// that form (same results, same lazy-flag record) without its per-execution decisions:
// operand size, register-or-memory, address size and segment are fixed by the choice.
// ins.aop is the operation (8 = TEST: AND without a write-back; 7 = CMP writes nothing).
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { FL_ADD, FL_LOGIC, FL_SUB } from './flags.ts';
import { lin64h } from './operands.ts';
import { rd32h, rd64h, wr32h, wr64h } from './mem-halves.ts';

/** 32-bit result of `aop` (no flags). */
function res32(aop: number, a: number, b: number): number {
  switch (aop) {
    case 0: return (a + b) | 0;
    case 1: return a | b;
    case 5: case 7: return (a - b) | 0;
    case 6: return a ^ b;
    default: return a & b; // AND, TEST
  }
}

/** The lazy-flag record exec.ts's alu() leaves for a 32-bit operation. */
function flags32(c: Cpu, aop: number, a: number, b: number, r: number): void {
  c.flOp = aop === 0 ? FL_ADD : aop === 5 || aop === 7 ? FL_SUB : FL_LOGIC;
  c.flSize = 32;
  c.flRes = r;
  c.flA = a;
  c.flB = b;
  c.rhi = 0;
}

/** 64-bit result of `aop` (low half returned, high half in c.rhi; no flags). */
function res64(c: Cpu, aop: number, a: number, ah: number, b: number, bh: number): number {
  switch (aop) {
    // Carry and borrow out of bit 31 from the sign bits alone: int32 arithmetic throughout
    // (sums of unsigned halves leave the int32 range and cost V8 a deoptimisation each).
    case 0: {
      const lo = (a + b) | 0;
      c.rhi = (ah + bh + (((a & b) | ((a | b) & ~lo)) >>> 31)) | 0;
      return lo;
    }
    case 5: case 7: {
      const lo = (a - b) | 0;
      c.rhi = (ah - bh - (((~a & b) | ((~a | b) & lo)) >>> 31)) | 0;
      return lo;
    }
    case 1: c.rhi = ah | bh; return a | b;
    case 6: c.rhi = ah ^ bh; return a ^ b;
    default: c.rhi = ah & bh; return a & b;
  }
}

/** The lazy-flag record alu() leaves for a 64-bit operation (logic ops keep no operands). */
function flags64(c: Cpu, aop: number, a: number, ah: number, b: number, bh: number, r: number, rh: number): void {
  c.flSize = 64;
  c.flRes = r;
  c.flResH = rh;
  if (aop === 0 || aop === 5 || aop === 7) {
    c.flOp = aop === 0 ? FL_ADD : FL_SUB;
    c.flA = a;
    c.flAH = ah;
    c.flB = b;
    c.flBH = bh;
  } else {
    c.flOp = FL_LOGIC;
    c.flA = c.flAH = c.flB = c.flBH = 0;
  }
}

/** Whether the operation writes its result back (not CMP, not TEST). */
function writes(aop: number): boolean {
  return aop < 7;
}

// ---- register, register (r1 = r1 op r2) ----

export function aluRR32(c: Cpu, ins: Instr): void {
  const rl = c.rl;
  const aop = ins.aop;
  const d = ins.r1;
  const a = rl[d]!;
  const b = rl[ins.r2]!;
  const r = res32(aop, a, b);
  flags32(c, aop, a, b, r);
  if (writes(aop)) {
    rl[d] = r;
    c.rh[d] = 0;
  }
}

export function aluRR64(c: Cpu, ins: Instr): void {
  const rl = c.rl;
  const rh = c.rh;
  const aop = ins.aop;
  const d = ins.r1;
  const s = ins.r2;
  const a = rl[d]!, ah = rh[d]!, b = rl[s]!, bh = rh[s]!;
  const r = res64(c, aop, a, ah, b, bh);
  const hi = c.rhi;
  flags64(c, aop, a, ah, b, bh, r, hi);
  if (writes(aop)) {
    rl[d] = r;
    rh[d] = hi;
  }
}

// ---- register, immediate (r1 = r1 op imm; the immediate is sign-extended) ----

export function aluRI32(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const d = ins.r1;
  const a = c.rl[d]!;
  const b = ins.imm;
  const r = res32(aop, a, b);
  flags32(c, aop, a, b, r);
  if (writes(aop)) {
    c.rl[d] = r;
    c.rh[d] = 0;
  }
}

export function aluRI64(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const d = ins.r1;
  const a = c.rl[d]!, ah = c.rh[d]!, b = ins.imm, bh = b >> 31;
  const r = res64(c, aop, a, ah, b, bh);
  const hi = c.rhi;
  flags64(c, aop, a, ah, b, bh, r, hi);
  if (writes(aop)) {
    c.rl[d] = r;
    c.rh[d] = hi;
  }
}

// ---- register, memory (r1 = r1 op [m]) ----

export function aluRM32(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const d = ins.r1;
  const lo = lin64h(c, ins);
  const b = rd32h(c, lo, c.eaHi);
  const a = c.rl[d]!;
  const r = res32(aop, a, b);
  flags32(c, aop, a, b, r);
  if (writes(aop)) {
    c.rl[d] = r;
    c.rh[d] = 0;
  }
}

export function aluRM64(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const d = ins.r1;
  const lo = lin64h(c, ins);
  const b = rd64h(c, lo, c.eaHi);
  const bh = c.mhi;
  const a = c.rl[d]!, ah = c.rh[d]!;
  const r = res64(c, aop, a, ah, b, bh);
  const hi = c.rhi;
  flags64(c, aop, a, ah, b, bh, r, hi);
  if (writes(aop)) {
    c.rl[d] = r;
    c.rh[d] = hi;
  }
}

// ---- memory, register or immediate ([m] = [m] op r2 / imm). The store comes before the
// flags, so a store that faults (a read-only page) leaves the flags as they were. ----

export function aluMR32(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const lo = lin64h(c, ins);
  const hi = c.eaHi;
  const a = rd32h(c, lo, hi);
  const b = c.rl[ins.r2]!;
  const r = res32(aop, a, b);
  if (writes(aop)) wr32h(c, lo, hi, r);
  flags32(c, aop, a, b, r);
}

export function aluMR64(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const lo = lin64h(c, ins);
  const hi = c.eaHi;
  const a = rd64h(c, lo, hi);
  const ah = c.mhi;
  const s = ins.r2;
  const b = c.rl[s]!, bh = c.rh[s]!;
  const r = res64(c, aop, a, ah, b, bh);
  const rh = c.rhi;
  if (writes(aop)) wr64h(c, lo, hi, r, rh);
  flags64(c, aop, a, ah, b, bh, r, rh);
  c.rhi = rh;
}

export function aluMI32(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const lo = lin64h(c, ins);
  const hi = c.eaHi;
  const a = rd32h(c, lo, hi);
  const b = ins.imm;
  const r = res32(aop, a, b);
  if (writes(aop)) wr32h(c, lo, hi, r);
  flags32(c, aop, a, b, r);
}

export function aluMI64(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const lo = lin64h(c, ins);
  const hi = c.eaHi;
  const a = rd64h(c, lo, hi);
  const ah = c.mhi;
  const b = ins.imm, bh = b >> 31;
  const r = res64(c, aop, a, ah, b, bh);
  const rh = c.rhi;
  if (writes(aop)) wr64h(c, lo, hi, r, rh);
  flags64(c, aop, a, ah, b, bh, r, rh);
  c.rhi = rh;
}
