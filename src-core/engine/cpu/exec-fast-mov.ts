// Specialised 64-bit-mode handlers (chosen by exec-pick.ts) for moves, LEA, MOVZX/MOVSX,
// PUSH/POP, near branches, IMUL, shifts, INC/DEC, CMOVcc/SETcc and NOPs with 32/64-bit
// operands and memory with 64-bit addresses. Each does exactly what the general
// switch does for its form; ins.r1/r2 name the registers the form uses.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { EX_GP } from './constants.ts';
import { cond, getZF } from './flags.ts';
import { shift } from './alu.ts';
import { imul3, incDec } from './exec-arith.ts';
import { getReg8, lin64, lin64h, setReg8, sum64h } from './operands.ts';
import { rd16h, rd32h, rd64h, rd8h, wr32h, wr64h, wr8h } from './mem-halves.ts';
const TWO32 = 4294967296; // local copy: hot-path constant
const CANON = 140737488355328; // 2^47

// ---- moves ----

export function movRR32(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = c.rl[ins.r2]!;
  c.rh[ins.r1] = 0;
}

export function movRR64(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = c.rl[ins.r2]!;
  c.rh[ins.r1] = c.rh[ins.r2]!;
}

/** MOV r32, imm (B8+r, C7 /0): zero-extended. */
export function movRI32(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = ins.imm;
  c.rh[ins.r1] = 0;
}

/** MOV r64, imm64 (REX.W B8+r). */
export function movRI64(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = ins.imm;
  c.rh[ins.r1] = ins.immHi;
}

/** MOV r/m64, imm32 (REX.W C7 /0, register): sign-extended. */
export function movRI64sx(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = ins.imm;
  c.rh[ins.r1] = ins.imm >> 31;
}

export function movLoad32(c: Cpu, ins: Instr): void {
  const lo = lin64h(c, ins);
  const v = rd32h(c, lo, c.eaHi);
  c.rl[ins.r1] = v;
  c.rh[ins.r1] = 0;
}

export function movLoad64(c: Cpu, ins: Instr): void {
  const lo = lin64h(c, ins);
  const v = rd64h(c, lo, c.eaHi);
  c.rl[ins.r1] = v;
  c.rh[ins.r1] = c.mhi;
}

export function movLoad8(c: Cpu, ins: Instr): void {
  setReg8(c, ins.reg, ins.rex, rd8h(c, lin64h(c, ins), c.eaHi));
}

export function movStore32(c: Cpu, ins: Instr): void {
  const lo = lin64h(c, ins);
  wr32h(c, lo, c.eaHi, c.rl[ins.r2]!);
}

export function movStore64(c: Cpu, ins: Instr): void {
  const lo = lin64h(c, ins);
  wr64h(c, lo, c.eaHi, c.rl[ins.r2]!, c.rh[ins.r2]!);
}

export function movStore8(c: Cpu, ins: Instr): void {
  wr8h(c, lin64h(c, ins), c.eaHi, getReg8(c, ins.reg, ins.rex));
}

export function movStoreImm8(c: Cpu, ins: Instr): void {
  wr8h(c, lin64h(c, ins), c.eaHi, ins.imm);
}

export function movStoreImm32(c: Cpu, ins: Instr): void {
  wr32h(c, lin64h(c, ins), c.eaHi, ins.imm);
}

export function movStoreImm64(c: Cpu, ins: Instr): void {
  wr64h(c, lin64h(c, ins), c.eaHi, ins.imm, ins.imm >> 31);
}

// ---- LEA (64-bit address size: wraps modulo 2^64, never faults; exact int32 halves) ----

export function lea64(c: Cpu, ins: Instr): void {
  const lo = sum64h(c, ins);
  c.rh[ins.r1] = c.eaHi;
  c.rl[ins.r1] = lo;
}

/** LEA r32 with a 64-bit address: only the low half of the sum matters. */
export function lea32(c: Cpu, ins: Instr): void {
  const b = ins.base;
  let lo = b >= 0 ? c.rl[b]! : ins.ripRel ? c.rip | 0 : 0;
  if (ins.index >= 0) lo = (lo + (c.rl[ins.index]! << ins.scale)) | 0;
  c.rl[ins.r1] = (lo + ins.disp) | 0;
  c.rh[ins.r1] = 0;
}

// ---- MOVZX / MOVSX / MOVSXD (32/64-bit destinations) ----

export function movzx8R(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = getReg8(c, ins.rm, ins.rex);
  c.rh[ins.r1] = 0;
}

export function movzx8M(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = rd8h(c, lin64h(c, ins), c.eaHi);
  c.rh[ins.r1] = 0;
}

export function movzx16R(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = c.rl[ins.r2]! & 0xffff;
  c.rh[ins.r1] = 0;
}

export function movzx16M(c: Cpu, ins: Instr): void {
  c.rl[ins.r1] = rd16h(c, lin64h(c, ins), c.eaHi);
  c.rh[ins.r1] = 0;
}

function setSx(c: Cpu, ins: Instr, v: number): void {
  c.rl[ins.r1] = v;
  c.rh[ins.r1] = ins.osize === 64 ? v >> 31 : 0;
}

export function movsx8R(c: Cpu, ins: Instr): void {
  setSx(c, ins, (getReg8(c, ins.rm, ins.rex) << 24) >> 24);
}

export function movsx8M(c: Cpu, ins: Instr): void {
  setSx(c, ins, (rd8h(c, lin64h(c, ins), c.eaHi) << 24) >> 24);
}

export function movsx16R(c: Cpu, ins: Instr): void {
  setSx(c, ins, (c.rl[ins.r2]! << 16) >> 16);
}

export function movsx16M(c: Cpu, ins: Instr): void {
  setSx(c, ins, (rd16h(c, lin64h(c, ins), c.eaHi) << 16) >> 16);
}

/** MOVSXD r64, r/m32. */
export function movsxdR(c: Cpu, ins: Instr): void {
  setSx(c, ins, c.rl[ins.r2]!);
}

export function movsxdM(c: Cpu, ins: Instr): void {
  setSx(c, ins, rd32h(c, lin64h(c, ins), c.eaHi));
}

// ---- stack (64-bit pushes and pops) ----

// RSP is moved in int32 halves (borrow and carry from the sign bits), like hardware's 64-bit
// arithmetic; a non-canonical RSP misses the TLB and takes the plain accessors' fault.
function push64(c: Cpu, v: number, vh: number): void {
  const l = c.rl[4]!;
  const lo = (l - 8) | 0;
  const hi = (c.rh[4]! - (((~l & 8) | ((~l | 8) & lo)) >>> 31)) | 0;
  wr64h(c, lo, hi, v, vh);
  c.rl[4] = lo;
  c.rh[4] = hi;
}

/** Pops 8 bytes: low half returned, high half in c.mhi. */
function pop64(c: Cpu): number {
  const l = c.rl[4]!;
  const h = c.rh[4]!;
  const v = rd64h(c, l, h);
  const lo = (l + 8) | 0;
  c.rl[4] = lo;
  c.rh[4] = (h + (((l & 8) | ((l | 8) & ~lo)) >>> 31)) | 0;
  return v;
}

export function pushR(c: Cpu, ins: Instr): void {
  push64(c, c.rl[ins.r1]!, c.rh[ins.r1]!);
}

export function pushI(c: Cpu, ins: Instr): void {
  push64(c, ins.imm, ins.imm >> 31);
}

export function popR(c: Cpu, ins: Instr): void {
  const v = pop64(c);
  c.rl[ins.r1] = v;
  c.rh[ins.r1] = c.mhi;
}

// ---- near branches (64-bit operand size; a non-canonical target faults at the branch) ----

function jump(c: Cpu, t: number): void {
  if (t < -CANON || t >= CANON) c.fault(EX_GP, 0);
  c.rip = t;
}

export function jmpRel(c: Cpu, ins: Instr): void {
  jump(c, c.rip + ins.imm);
}

/** Jcc rel8/rel32 (70-7F, 0F 80-8F: the condition is the opcode's low nibble). */
export function jccRel(c: Cpu, ins: Instr): void {
  if (cond(c, ins.op & 15)) jump(c, c.rip + ins.imm);
}

/** JE/JNE: the zero test alone (the commonest conditions; cond() would test for them first). */
export function jccZ(c: Cpu, ins: Instr): void {
  if (getZF(c) !== ((ins.op & 1) !== 0)) jump(c, c.rip + ins.imm);
}

export function callRel(c: Cpu, ins: Instr): void {
  const ret = c.rip;
  const t = ret + ins.imm;
  if (t < -CANON || t >= CANON) c.fault(EX_GP, 0);
  push64(c, ret | 0, Math.floor(ret / TWO32));
  c.rip = t;
}

export function ret(c: Cpu): void {
  const l = c.rl[4]!;
  const h = c.rh[4]!;
  const lo = rd64h(c, l, h);
  const hi = c.mhi;
  if (((hi << 16) >> 16) !== hi) c.fault(EX_GP, 0); // non-canonical target: RSP unchanged
  c.rip = hi * TWO32 + (lo >>> 0);
  const n = (l + 8) | 0;
  c.rl[4] = n;
  c.rh[4] = (h + (((l & 8) | ((l | 8) & ~n)) >>> 31)) | 0;
}

/** CALL/JMP r64 or [m64] (FF /2, FF /4): the target is read before anything is pushed. */
function indirectTarget(c: Cpu, ins: Instr): number {
  if (ins.mod === 3) return c.rh[ins.r2]! * TWO32 + (c.rl[ins.r2]! >>> 0);
  const lo = rd64h(c, lin64h(c, ins), c.eaHi);
  return c.mhi * TWO32 + (lo >>> 0);
}

export function callInd(c: Cpu, ins: Instr): void {
  const t = indirectTarget(c, ins);
  if (t < -CANON || t >= CANON) c.fault(EX_GP, 0);
  const r = c.rip;
  push64(c, r | 0, Math.floor(r / TWO32));
  c.rip = t;
}

export function jmpInd(c: Cpu, ins: Instr): void {
  jump(c, indirectTarget(c, ins));
}

// ---- IMUL, shifts, INC/DEC ----

/** A 32- or 64-bit memory read (64: high half in c.mhi). */
function rdOs(c: Cpu, lin: number, os: number): number {
  return os === 64 ? c.rd64(lin) : c.rd32(lin);
}

/** rdOs at the address lin64h just computed (low half `lo`, high half in c.eaHi). */
function rdOsH(c: Cpu, lo: number, os: number): number {
  return os === 64 ? rd64h(c, lo, c.eaHi) : rd32h(c, lo, c.eaHi);
}

/** IMUL r, r/m, imm (69, 6B). */
export function imulRI(c: Cpu, ins: Instr): void {
  if (ins.mod === 3) imul3(c, ins, ins.osize, c.rl[ins.r2]!, c.rh[ins.r2]!, ins.imm, ins.imm >> 31);
  else {
    const b = rdOsH(c, lin64h(c, ins), ins.osize);
    imul3(c, ins, ins.osize, b, c.mhi, ins.imm, ins.imm >> 31);
  }
}

/** IMUL r, r/m (0F AF). */
export function imulRR(c: Cpu, ins: Instr): void {
  const os = ins.osize;
  let b: number;
  let bh: number;
  if (ins.mod === 3) {
    b = c.rl[ins.r2]!;
    bh = c.rh[ins.r2]!;
  } else {
    b = rdOsH(c, lin64h(c, ins), os);
    bh = c.mhi;
  }
  imul3(c, ins, os, b, bh, c.rl[ins.r1]!, c.rh[ins.r1]!);
}

/** Group 2 (C1, D1, D3) on a register; r2 is the count, or -1 for CL. */
export function shiftR(c: Cpu, ins: Instr): void {
  const d = ins.r1;
  const cnt = ins.r2 < 0 ? c.rl[1]! & 0xff : ins.r2;
  const os = ins.osize;
  const v = shift(c, ins.ext, os, c.rl[d]!, os === 64 ? c.rh[d]! : 0, cnt);
  c.rl[d] = v;
  c.rh[d] = os === 64 ? c.rhi : 0;
}

export function shiftM(c: Cpu, ins: Instr): void {
  const lin = lin64(c, ins);
  const os = ins.osize;
  const a = rdOs(c, lin, os);
  const ah = c.mhi;
  // shift() records the flags: make sure the store cannot fault first.
  c.checkWritable(lin);
  if ((lin & 0xfff) > 0x1000 - (os >> 3)) c.checkWritable(lin + (os >> 3) - 1);
  const cnt = ins.r2 < 0 ? c.rl[1]! & 0xff : ins.r2;
  const v = shift(c, ins.ext, os, a, os === 64 ? ah : 0, cnt);
  if (os === 64) c.wr64(lin, v, c.rhi);
  else c.wr32(lin, v);
}

/** INC/DEC r (FF /0, /1). */
export function incDecR(c: Cpu, ins: Instr): void {
  const d = ins.r1;
  const os = ins.osize;
  const v = incDec(c, os, c.rl[d]!, os === 64 ? c.rh[d]! : 0, ins.ext === 0);
  c.rl[d] = v;
  c.rh[d] = os === 64 ? c.rhi : 0;
}

// ---- CMOVcc / SETcc ----

/** CMOVcc: the source is read even when the move is not taken; a 32-bit one zero-extends. */
export function cmov(c: Cpu, ins: Instr): void {
  const os = ins.osize;
  let v: number;
  let vh: number;
  if (ins.mod === 3) {
    v = c.rl[ins.r2]!;
    vh = c.rh[ins.r2]!;
  } else {
    v = rdOsH(c, lin64h(c, ins), os);
    vh = c.mhi;
  }
  const d = ins.r1;
  if (cond(c, ins.op & 15)) {
    c.rl[d] = v;
    c.rh[d] = os === 64 ? vh : 0;
  } else if (os === 32) c.rh[d] = 0;
}

export function setcc(c: Cpu, ins: Instr): void {
  const v = cond(c, ins.op & 15) ? 1 : 0;
  if (ins.mod === 3) setReg8(c, ins.rm, ins.rex, v);
  else wr8h(c, lin64h(c, ins), c.eaHi, v);
}

export function nop(): void {
  // NOP, PAUSE, hint NOPs: nothing to do.
}
