// Per-opcode source emitters for compiled blocks: the integer instructions compilers and
// kernels execute most (MOV, LEA, ALU, TEST, INC/DEC, shifts, MOVZX/MOVSX, CMOVcc, SETcc,
// PUSH/POP, CALL/RET/JMP/Jcc). Each mirrors its case in exec.ts / exec-0f.ts; anything
// else (or an unusual form) returns null and the compiler emits a call to execute().
import type { Instr } from '../decode.ts';
import { OP_AND, OP_CMP, OP_SUB } from '../alu.ts';
import { aluOp, flagsDead } from './emit-alu.ts';
import { carryIn, fuseCond } from './emit-cond.ts';
import { emitImul } from './emit-mul.ts';
import { emitShiftConst } from './emit-shift.ts';
import { CANON, linOf, load, readReg, readRM, readRMW, reg64, store, writeReg, writeRM, writeRMAfterRead } from './emit-mem.ts';
import type { EmitCtx } from './emit-mem.ts';

const TWO32 = 4294967296;

/** What an emitted instruction does to control flow. */
export const enum Kind { Plain, Branch, Jcc }

export interface Emitted {
  code: string;
  kind: Kind;
  /** Touches memory (MMIO may raise an interrupt or request an exit). */
  mem: boolean;
  /** Jcc: the condition code and the target expression (the compiler emits the test). */
  cc?: number;
  target?: string;
}

function immFor(size: number, imm: number): string {
  return String(size === 8 ? imm & 0xff : size === 16 ? imm & 0xffff : imm | 0);
}

/** Group-1 ALU forms: op/size/operands per exec.ts. */
function emitAlu(x: EmitCtx): string | null {
  const ins = x.ins;
  const op = ins.op;
  const os = ins.osize;
  const aop = op >> 3;
  const s = emitAluBody(x, op, os, aop);
  return s === null ? null : carryPrefix(x, aop) + s;
}

/** ADC/SBB: the carry in, in `q`, taken before the operand loads overwrite the locals a
 * condition fused from the instruction before reads (emit-alu.ts carryOp). */
function carryPrefix(x: EmitCtx, aop: number): string {
  if (aop !== 2 && aop !== 3) return '';
  return `q = ${carryIn(x.prev) ?? 'H.getCF(c)'};\n`;
}

/** Condition `cc` fused to the flags the instruction before set, else through cond(). */
function test(x: EmitCtx, cc: number): string {
  return (x.prev !== null ? fuseCond(x.prev, cc) : null) ?? `H.cond(c, ${cc})`;
}

function emitAluBody(x: EmitCtx, op: number, os: number, aop: number): string | null {
  const ins = x.ins;
  switch (op & 7) {
    case 0: case 1: {
      const size = op & 1 ? os : 8;
      const rd = aop === OP_CMP ? readRM(x, size, 'a', 'ah') : readRMW(x, size, 'a', 'ah');
      if (rd === null) return null;
      let s = rd + readReg(size, ins.reg, ins.rex, 'b', 'bh') + '\n' + aluOp(aop, size, 'a', 'ah', 'b', 'bh');
      if (aop !== OP_CMP) s += writeRMAfterRead(x, size, 'r', 'rhh');
      return s;
    }
    case 2: case 3: {
      const size = op & 1 ? os : 8;
      const rd = readRM(x, size, 'b', 'bh');
      if (rd === null) return null;
      let s = rd + readReg(size, ins.reg, ins.rex, 'a', 'ah') + '\n' + aluOp(aop, size, 'a', 'ah', 'b', 'bh');
      if (aop !== OP_CMP) s += writeReg(size, ins.reg, ins.rex, 'r', 'rhh');
      return s;
    }
    case 4: {
      let s = `a = rl[0] & 255;\n` + aluOp(aop, 8, 'a', '0', String(ins.imm & 0xff), '0');
      if (aop !== OP_CMP) s += writeReg(8, 0, 0, 'r', '0');
      return s;
    }
    default: {
      let s = readReg(os, 0, 0, 'a', 'ah') + '\n' + aluOp(aop, os, 'a', 'ah', immFor(os === 16 ? 16 : 32, ins.imm), String(ins.imm >> 31));
      if (aop !== OP_CMP) s += writeReg(os, 0, 0, 'r', 'rhh');
      return s;
    }
  }
}

/** 64-bit stack pointer as a number (stackMode 64 only). */
const RSP = reg64(4);
// `x | 0` is x mod 2^32 as a signed int for any integer x (no floating-point remainder).
const SET_RSP = `rl[4] = lin | 0; rh[4] = Math.floor(lin / ${TWO32});\n`;

function push64(lo: string, hi: string): string {
  return `lin = ${RSP} - 8;\n` + store(64, lo, hi) + SET_RSP;
}

/** Returns the emitted statements, or null to leave the instruction to the interpreter. */
export function emitInstr(x: EmitCtx): Emitted | null {
  const ins: Instr = x.ins;
  if (ins.invalid || ins.rep !== 0 && ins.op < 0x100 && ins.op !== 0x90) return null;
  const op = ins.op;
  const os = ins.osize;
  const m64 = x.mode === 64;
  // LOCK only on read-modify-write memory forms we compile (it changes nothing on one CPU).
  if (ins.lock) {
    const rmw = ins.mod !== 3 && ((op < 0x40 && (op & 7) < 2 && (op >> 3) !== 7) || (op >= 0x80 && op <= 0x83 && ins.ext !== 7) ||
      ((op === 0xfe || op === 0xff) && ins.ext < 2));
    if (!rmw) return null;
  }
  // LEA computes an address without touching memory: it cannot fault or end the block.
  const mem = ins.hasModrm && ins.mod !== 3 && op !== 0x8d;
  const plain = (code: string | null): Emitted | null => (code === null ? null : { code, kind: Kind.Plain, mem });
  const branch = (code: string): Emitted => ({ code, kind: Kind.Branch, mem: true });
  const bs = m64 ? 64 : os;
  if (op < 0x40 && (op & 7) < 6) return plain(emitAlu(x));
  if (op >= 0x70 && op <= 0x7f || op >= 0x180 && op <= 0x18f) {
    if (bs === 16) return null;
    return { code: '', kind: Kind.Jcc, mem: false, cc: op & 15, target: `${x.next} + ${ins.imm | 0}` };
  }
  if (op >= 0x140 && op <= 0x14f) {
    if (os === 16) return null;
    const rd = readRM(x, os, 'a', 'ah');
    if (rd === null) return null;
    const els = os === 32 ? ` else rh[${ins.reg}] = 0;` : '';
    return plain(`q = ${test(x, op & 15)} ? 1 : 0;\n` + rd + `if (q !== 0) { ${writeReg(os, ins.reg, 0, 'a', 'ah')} }${els}\n`);
  }
  if (op >= 0x190 && op <= 0x19f) {
    const w = writeRM(x, 8, 'b', '0');
    return w === null ? null : plain(`b = ${test(x, op & 15)} ? 1 : 0;\n` + w);
  }
  switch (op) {
    case 0x80: case 0x81: case 0x83: {
      const size = op === 0x80 ? 8 : os;
      const rd = ins.ext === OP_CMP ? readRM(x, size, 'a', 'ah') : readRMW(x, size, 'a', 'ah');
      if (rd === null) return null;
      let s = carryPrefix(x, ins.ext) + rd + aluOp(ins.ext, size, 'a', 'ah', immFor(size, ins.imm), String(ins.imm >> 31));
      if (ins.ext !== OP_CMP) s += writeRMAfterRead(x, size, 'r', 'rhh');
      return plain(s);
    }
    case 0x84: case 0x85: {
      const size = op === 0x84 ? 8 : os;
      const rd = readRM(x, size, 'a', 'ah');
      if (rd === null) return null;
      return plain(rd + readReg(size, ins.reg, ins.rex, 'b', 'bh') + '\n' + aluOp(OP_AND, size, 'a', 'ah', 'b', 'bh'));
    }
    case 0xa8: return plain(`a = rl[0] & 255;\n` + aluOp(OP_AND, 8, 'a', '0', String(ins.imm & 0xff), '0'));
    case 0xa9: return plain(readReg(os, 0, 0, 'a', 'ah') + '\n' + aluOp(OP_AND, os, 'a', 'ah', immFor(os === 16 ? 16 : 32, ins.imm), String(ins.imm >> 31)));
    case 0xf6: case 0xf7: {
      if (ins.ext > 3) return null;
      const size = op === 0xf6 ? 8 : os;
      const rd = ins.ext < 2 ? readRM(x, size, 'a', 'ah') : readRMW(x, size, 'a', 'ah'); // TEST reads only
      if (rd === null) return null;
      if (ins.ext === 2) return plain(rd + writeRMAfterRead(x, size, '~a', '~ah')); // NOT: no flags
      if (ins.ext === 3) return plain(rd + aluOp(OP_SUB, size, '0', '0', 'a', 'ah') + writeRMAfterRead(x, size, 'r', 'rhh')); // NEG = 0 - a
      return plain(rd + aluOp(OP_AND, size, 'a', 'ah', immFor(size, ins.imm), String(ins.imm >> 31)));
    }
    // Hint NOPs, PREFETCH and ENDBR: nothing happens (no memory access, no fault).
    case 0x10d: case 0x118: case 0x119: case 0x11a: case 0x11b: case 0x11c: case 0x11d: case 0x11e: case 0x11f:
      return { code: '', kind: Kind.Plain, mem: false };
    case 0x88: case 0x89: {
      const size = op === 0x88 ? 8 : os;
      const w = writeRM(x, size, 'a', 'ah');
      return w === null ? null : plain(readReg(size, ins.reg, ins.rex, 'a', 'ah') + '\n' + w);
    }
    case 0x8a: case 0x8b: {
      const size = op === 0x8a ? 8 : os;
      const rd = readRM(x, size, 'a', 'ah');
      return rd === null ? null : plain(rd + writeReg(size, ins.reg, ins.rex, 'a', 'ah'));
    }
    case 0xc6: return plain(writeRM(x, 8, String(ins.imm | 0), '0'));
    case 0xc7: return plain(writeRM(x, os, String(ins.imm | 0), String(ins.imm >> 31)));
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      return plain(writeReg(8, (op & 7) | ((ins.rex & 1) << 3), ins.rex, String(ins.imm | 0), '0'));
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      return plain(writeReg(os, (op & 7) | ((ins.rex & 1) << 3), 0, String(ins.imm | 0), String(ins.immHi | 0)));
    case 0x8d: return plain(emitLea(x));
    case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: {
      const sx = op >= 0x1be;
      const rd = readRM(x, op & 1 ? 16 : 8, 'a', 'ah');
      if (rd === null) return null;
      const ext = sx ? `a = (a << ${op & 1 ? 16 : 24}) >> ${op & 1 ? 16 : 24};\n` : '';
      return plain(rd + ext + writeReg(os, ins.reg, 0, 'a', sx ? '(a >> 31)' : '0'));
    }
    case 0x63: {
      if (!m64) return null;
      const rd = readRM(x, 32, 'a', 'ah');
      if (rd === null) return null;
      return plain(rd + (os === 64 ? writeReg(64, ins.reg, 0, 'a', '(a >> 31)') : writeReg(os, ins.reg, 0, 'a', '0')));
    }
    case 0xfe: case 0xff: {
      if (ins.ext > 1) return null;
      const size = op === 0xfe ? 8 : os;
      const rd = readRMW(x, size, 'a', 'ah');
      if (rd === null) return null;
      return plain(rd + incDec(size, ins.ext === 0) + writeRMAfterRead(x, size, 'r', 'rhh'));
    }
    case 0x1af: case 0x69: case 0x6b: return plain(emitImul(x));
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
      const k = emitShiftConst(x);
      if (k !== null) return plain(k);
      const size = op & 1 ? os : 8;
      const rd = readRMW(x, size, 'a', 'ah');
      if (rd === null) return null;
      const cnt = op <= 0xc1 ? String(ins.imm & 0xff) : op <= 0xd1 ? '1' : '(rl[1] & 255)';
      return plain(rd + `r = H.shift(c, ${ins.ext}, ${size}, a, ah, ${cnt}); rhh = c.rhi;\n` + writeRMAfterRead(x, size, 'r', 'rhh'));
    }
    case 0x90: return ins.rex & 1 ? null : plain('');
    case 0x98:
      if (os === 32) return plain(`rl[0] = (rl[0] << 16) >> 16; rh[0] = 0;\n`);
      if (os === 64) return plain(`rh[0] = rl[0] >> 31;\n`);
      return null;
    case 0x99:
      if (os === 32) return plain(`rl[2] = rl[0] >> 31; rh[2] = 0;\n`);
      if (os === 64) return plain(`rl[2] = rh[0] >> 31; rh[2] = rh[0] >> 31;\n`);
      return null;
  }
  if (!m64) return null;
  // Stack and near branches, 64-bit mode only (the stack is then always 64-bit and flat).
  switch (op) {
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: {
      if (os === 16) return null;
      const r = (op & 7) | ((ins.rex & 1) << 3);
      return { code: `a = rl[${r}]; ah = rh[${r}];\n` + push64('a', 'ah'), kind: Kind.Plain, mem: true };
    }
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
      if (os === 16) return null;
      const r = (op & 7) | ((ins.rex & 1) << 3);
      return { code: `lin = ${RSP};\n` + load(64, 'a', 'ah') + `lin += 8;\n` + SET_RSP + writeReg(64, r, 0, 'a', 'ah'), kind: Kind.Plain, mem: true };
    }
    case 0x68: case 0x6a:
      if (os === 16) return null;
      return { code: push64(String(ins.imm | 0), String(ins.imm >> 31)), kind: Kind.Plain, mem: true };
    case 0xe8:
      return branch(`a = ${x.next}; b = a + ${ins.imm | 0}; if (b < -${CANON} || b >= ${CANON}) c.fault(13, 0);\n` +
        `ah = Math.floor(a / ${TWO32}); a = a | 0;\n` + push64('a', 'ah') + `c.rip = b;\n`);
    case 0xe9: case 0xeb:
      return branch(`H.jumpTo(c, ${x.next} + ${ins.imm | 0}, 64);\n`);
    case 0xc3:
      return branch(`lin = ${RSP};\n` + load(64, 'a', 'ah') + `b = ah * ${TWO32} + (a >>> 0);\n` +
        `if (b < -${CANON} || b >= ${CANON}) c.fault(13, 0);\nlin += 8;\n` + SET_RSP + `c.rip = b;\n`);
  }
  return null;
}

/** INC/DEC of a:ah into r:rhh: inline when the flags are dead, else incDec() (it keeps CF). */
function incDec(size: number, inc: boolean): string {
  if (!flagsDead) return `r = H.incDec(c, ${size}, a, ah, ${inc}); rhh = c.rhi;\n`;
  const d = inc ? '+ 1' : '- 1';
  if (size === 64) return inc ? `r = (a + 1) | 0; rhh = r === 0 ? (ah + 1) | 0 : ah;\n` : `r = (a - 1) | 0; rhh = a === 0 ? (ah - 1) | 0 : ah;\n`;
  return `r = (a ${d}) & ${size === 8 ? 255 : size === 16 ? 65535 : -1}; rhh = 0;\n`;
}

/** LEA: exact 64-bit halves as eaHalves() computes them, or the 32/16-bit offset. */
function emitLea(x: EmitCtx): string | null {
  const ins = x.ins;
  if (ins.mod === 3) return null;
  const os = ins.osize;
  if (ins.asize === 64) {
    let s: string;
    if (ins.ripRel) {
      // RIP-relative: a canonical code address plus a 32-bit displacement, exact as a number.
      s = `sm = ${x.next} + ${ins.disp | 0}; a = sm | 0; ah = Math.floor(sm / ${TWO32}) | 0;\n`;
      return s + writeReg(os, ins.reg, 0, 'a', 'ah');
    }
    s = ins.base >= 0 ? `a = rl[${ins.base}] >>> 0; ah = rh[${ins.base}];\n` : `a = 0; ah = 0;\n`;
    if (ins.index >= 0) {
      const sc = ins.scale;
      s += `b = rl[${ins.index}]; bh = rh[${ins.index}];\n`;
      if (sc) s += `bh = (bh << ${sc}) | (b >>> ${32 - sc}); b = b << ${sc};\n`;
      s += `sm = a + (b >>> 0); ah = (ah + bh + (sm >= ${TWO32} ? 1 : 0)) | 0; a = sm >>> 0;\n`;
    }
    const d = ins.disp | 0;
    s += `sm = a + ${d >>> 0}; ah = (ah + ${d < 0 ? -1 : 0} + (sm >= ${TWO32} ? 1 : 0)) | 0; a = sm | 0;\n`;
    return s + writeReg(os, ins.reg, 0, 'a', 'ah');
  }
  if (ins.asize !== 32 || ins.ripRel) return null;
  let e = ins.base >= 0 ? `rl[${ins.base}]` : '0';
  if (ins.index >= 0) e = `${e} + (rl[${ins.index}] << ${ins.scale})`;
  return `a = ((${e} + ${ins.disp | 0}) >>> 0) | 0;\n` + writeReg(os, ins.reg, 0, 'a', '0');
}

export { linOf };
