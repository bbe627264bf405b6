// Specialised 64-bit-mode handlers (chosen by exec-pick.ts) for byte operands: ADD/OR/AND/
// SUB/XOR/CMP/TEST and MOV on 8-bit registers or memory, the forms kernels use for flags and
// characters (cmp byte [rdi], 0; test al, al; mov byte [rax], dl). Each leaves the same
// result and lazy-flag record as exec.ts's general path; ins.aop is the operation (8 = TEST)
// and ins.r1/r2 the register numbers, read with the instruction's REX (AH..BH without one).
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { FL_ADD, FL_LOGIC, FL_SUB } from './flags.ts';
import { getReg8, lin64h, setReg8 } from './operands.ts';
import { rd8h, wr8h } from './mem-halves.ts';

function res8(aop: number, a: number, b: number): number {
  switch (aop) {
    case 0: return (a + b) & 0xff;
    case 1: return a | b;
    case 5: case 7: return (a - b) & 0xff;
    case 6: return a ^ b;
    default: return a & b; // AND, TEST
  }
}

function flags8(c: Cpu, aop: number, a: number, b: number, r: number): void {
  c.flOp = aop === 0 ? FL_ADD : aop === 5 || aop === 7 ? FL_SUB : FL_LOGIC;
  c.flSize = 8;
  c.flRes = r;
  c.flA = a;
  c.flB = b;
  c.rhi = 0;
}

/** r1 = r1 op r2. */
export function alu8RR(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const a = getReg8(c, ins.r1, ins.rex);
  const b = getReg8(c, ins.r2, ins.rex);
  const r = res8(aop, a, b);
  flags8(c, aop, a, b, r);
  if (aop < 7) setReg8(c, ins.r1, ins.rex, r);
}

/** r1 = r1 op imm8. */
export function alu8RI(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const a = getReg8(c, ins.r1, ins.rex);
  const b = ins.imm & 0xff;
  const r = res8(aop, a, b);
  flags8(c, aop, a, b, r);
  if (aop < 7) setReg8(c, ins.r1, ins.rex, r);
}

/** r1 = r1 op [m]. */
export function alu8RM(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const b = rd8h(c, lin64h(c, ins), c.eaHi);
  const a = getReg8(c, ins.r1, ins.rex);
  const r = res8(aop, a, b);
  flags8(c, aop, a, b, r);
  if (aop < 7) setReg8(c, ins.r1, ins.rex, r);
}

/** [m] = [m] op r2; the store comes before the flags (a faulting store leaves them). */
export function alu8MR(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const lo = lin64h(c, ins);
  const hi = c.eaHi;
  const a = rd8h(c, lo, hi);
  const b = getReg8(c, ins.r2, ins.rex);
  const r = res8(aop, a, b);
  if (aop < 7) wr8h(c, lo, hi, r);
  flags8(c, aop, a, b, r);
}

/** [m] = [m] op imm8. */
export function alu8MI(c: Cpu, ins: Instr): void {
  const aop = ins.aop;
  const lo = lin64h(c, ins);
  const hi = c.eaHi;
  const a = rd8h(c, lo, hi);
  const b = ins.imm & 0xff;
  const r = res8(aop, a, b);
  if (aop < 7) wr8h(c, lo, hi, r);
  flags8(c, aop, a, b, r);
}

/** MOV r8, r8 (88 and 8A register forms: r1 = r2). */
export function mov8RR(c: Cpu, ins: Instr): void {
  setReg8(c, ins.r1, ins.rex, getReg8(c, ins.r2, ins.rex));
}

/** MOV r8, imm8 (B0+r). */
export function mov8RI(c: Cpu, ins: Instr): void {
  setReg8(c, ins.r1, ins.rex, ins.imm);
}
