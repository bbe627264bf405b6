// Arithmetic handlers too long for the dispatch switch: INC/DEC, IMUL, group 3 (TEST, NOT,
// NEG, MUL, IMUL, DIV, IDIV), XCHG with the accumulator, ARPL and the BCD adjusts.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { AF, CF, EX_UD, VM, ZF } from './constants.ts';
import { alu, mul64, mulFlags, div64, MUL_OUT, DIV_Q, DIV_R, OP_AND } from './alu.ts';
import { FL_DEC, FL_INC, getCF, materialize, setArith, setLazy } from './flags.ts';
import { checkStore, getReg, readRM, setReg, writeRMAfterRead } from './operands.ts';

export function xchgAcc(c: Cpu, ins: Instr, r: number): void {
  const os = ins.osize;
  const a = getReg(c, os, 0, 0);
  const ah = c.mhi;
  const b = getReg(c, os, r, 0);
  setReg(c, os, 0, 0, b, c.mhi);
  setReg(c, os, r, 0, a, ah);
}

/** INC/DEC keep CF. */
export function incDec(c: Cpu, size: number, a: number, ah: number, inc: boolean): number {
  const cf = getCF(c);
  let lo: number;
  let hi = 0;
  if (size === 64) {
    if (inc) { lo = (a + 1) | 0; hi = lo === 0 ? (ah + 1) | 0 : ah; }
    else { lo = (a - 1) | 0; hi = a === 0 ? (ah - 1) | 0 : ah; }
  } else {
    const m = size === 8 ? 0xff : size === 16 ? 0xffff : -1;
    lo = (inc ? a + 1 : a - 1) & m;
  }
  c.flCf = cf;
  setLazy(c, inc ? FL_INC : FL_DEC, size, lo, hi, a, ah, 1, 0);
  c.rhi = hi;
  return lo;
}

export function imul3(c: Cpu, ins: Instr, os: number, b: number, bh: number, imm: number, immh: number): void {
  if (os === 64) {
    mul64(c, true, b, bh, imm, immh);
    setReg(c, 64, ins.reg, 0, MUL_OUT[0]! | 0, MUL_OUT[1]! | 0);
    return;
  }
  if (os === 32) {
    const lo = Math.imul(b, imm);
    const full = (b | 0) * (imm | 0);
    mulFlags(c, 32, lo, full !== lo);
    setReg(c, 32, ins.reg, 0, lo, 0);
    return;
  }
  const p = ((b << 16) >> 16) * ((imm << 16) >> 16);
  mulFlags(c, 16, p & 0xffff, p !== ((p << 16) >> 16));
  setReg(c, 16, ins.reg, 0, p, 0);
}

export function imul2(c: Cpu, ins: Instr): void {
  const os = ins.osize;
  const b = readRM(c, ins, os);
  const bh = c.mhi;
  const a = getReg(c, os, ins.reg, 0);
  imul3(c, ins, os, b, bh, a, c.mhi);
}

export function group3(c: Cpu, ins: Instr, size: number): void {
  const ext = ins.ext;
  const a = readRM(c, ins, size);
  const ah = c.mhi;
  switch (ext) {
    case 0: case 1: // TEST
      alu(c, OP_AND, size, a, ah, size === 8 ? ins.imm & 0xff : size === 16 ? ins.imm & 0xffff : ins.imm, ins.imm >> 31);
      return;
    case 2: // NOT
      checkStore(c, ins, size);
      writeRMAfterRead(c, ins, size, ~a, ~ah);
      return;
    case 3: { // NEG
      checkStore(c, ins, size);
      const r = alu(c, 5, size, 0, 0, a, ah);
      writeRMAfterRead(c, ins, size, r, c.rhi);
      return;
    }
    case 4: case 5: { // MUL / IMUL (one operand)
      const signed = ext === 5;
      if (size === 8) {
        const al = c.rl[0]! & 0xff;
        const p = signed ? ((al << 24) >> 24) * ((a << 24) >> 24) : al * a;
        c.rl[0] = (c.rl[0]! & ~0xffff) | (p & 0xffff);
        mulFlags(c, 8, p & 0xff, signed ? p !== ((p << 24) >> 24) : (p & 0xff00) !== 0);
      } else if (size === 16) {
        const ax = c.rl[0]! & 0xffff;
        const p = signed ? ((ax << 16) >> 16) * ((a << 16) >> 16) : ax * a;
        c.rl[0] = (c.rl[0]! & ~0xffff) | (p & 0xffff);
        c.rl[2] = (c.rl[2]! & ~0xffff) | ((p >> 16) & 0xffff);
        mulFlags(c, 16, p & 0xffff, signed ? p !== ((p << 16) >> 16) : (p >>> 16) !== 0);
      } else if (size === 32) {
        const x = c.rl[0]!;
        mul64(c, signed, x, signed ? x >> 31 : 0, a, signed ? a >> 31 : 0);
        const lo = MUL_OUT[0]! | 0;
        const hi = MUL_OUT[1]! | 0;
        c.rl[0] = lo; c.rh[0] = 0; c.rl[2] = hi; c.rh[2] = 0;
        mulFlags(c, 32, lo, signed ? hi !== lo >> 31 : hi !== 0);
      } else {
        mul64(c, signed, c.rl[0]!, c.rh[0]!, a, ah);
        c.rl[0] = MUL_OUT[0]! | 0; c.rh[0] = MUL_OUT[1]! | 0;
        c.rl[2] = MUL_OUT[2]! | 0; c.rh[2] = MUL_OUT[3]! | 0;
      }
      return;
    }
    default: { // DIV / IDIV
      const signed = ext === 7;
      if (size === 64) {
        div64(c, signed, c.rl[0]!, c.rh[0]!, c.rl[2]!, c.rh[2]!, a, ah);
        c.rl[0] = DIV_Q[0]!; c.rh[0] = DIV_Q[1]!; c.rl[2] = DIV_R[0]!; c.rh[2] = DIV_R[1]!;
        return;
      }
      let n: number;
      let d: number;
      if (size === 8) {
        n = signed ? ((c.rl[0]! << 16) >> 16) : c.rl[0]! & 0xffff;
        d = signed ? (a << 24) >> 24 : a & 0xff;
      } else if (size === 16) {
        const v = ((c.rl[2]! & 0xffff) << 16) | (c.rl[0]! & 0xffff);
        n = signed ? v | 0 : v >>> 0;
        d = signed ? (a << 16) >> 16 : a & 0xffff;
      } else {
        if (d0(a)) c.fault(0);
        div64(c, signed, c.rl[0]!, c.rl[2]!, signed ? c.rl[2]! >> 31 : 0, signed ? c.rl[2]! >> 31 : 0, a, signed ? a >> 31 : 0);
        const q = DIV_Q[0]!, qh = DIV_Q[1]!;
        if (signed ? qh !== q >> 31 : qh !== 0) c.fault(0);
        c.rl[0] = q; c.rh[0] = 0; c.rl[2] = DIV_R[0]!; c.rh[2] = 0;
        return;
      }
      if (d === 0) c.fault(0);
      const q = Math.trunc(n / d);
      const r = n - q * d;
      const lim = size === 8 ? 0x80 : 0x8000;
      if (signed ? q >= lim || q < -lim : q >= lim * 2) c.fault(0);
      if (size === 8) c.rl[0] = (c.rl[0]! & ~0xffff) | ((r & 0xff) << 8) | (q & 0xff);
      else {
        c.rl[0] = (c.rl[0]! & ~0xffff) | (q & 0xffff);
        c.rl[2] = (c.rl[2]! & ~0xffff) | (r & 0xffff);
      }
      return;
    }
  }
}

function d0(a: number): boolean {
  return a === 0;
}


export function arpl(c: Cpu, ins: Instr): void {
  if (!(c.cr0 & 1) || (c.flags & VM)) c.fault(EX_UD);
  const d = readRM(c, ins, 16);
  const s = getReg(c, 16, ins.reg, 0);
  materialize(c);
  if ((d & 3) < (s & 3)) {
    writeRMAfterRead(c, ins, 16, (d & ~3) | (s & 3), 0);
    c.flags |= ZF;
  } else c.flags &= ~ZF;
}

export function bcdAdjust(c: Cpu, op: number): void {
  materialize(c);
  let al = c.rl[0]! & 0xff;
  let f = c.flags;
  const cf = f & CF;
  const af = f & AF;
  switch (op) {
    case 0x27: { // DAA
      const old = al;
      let ncf = 0;
      if ((al & 0xf) > 9 || af) { al = (al + 6) & 0xff; f |= AF; ncf = cf || old > 0xf9 ? CF : 0; } else f &= ~AF;
      if (old > 0x99 || cf) { al = (al + 0x60) & 0xff; ncf = CF; }
      f = (f & ~CF) | ncf;
      break;
    }
    case 0x2f: { // DAS
      const old = al;
      let ncf = 0;
      if ((al & 0xf) > 9 || af) { al = (al - 6) & 0xff; f |= AF; ncf = cf || old < 6 ? CF : 0; } else f &= ~AF;
      if (old > 0x99 || cf) { al = (al - 0x60) & 0xff; ncf = CF; }
      f = (f & ~CF) | ncf;
      break;
    }
    case 0x37: case 0x3f: { // AAA / AAS
      let ax = c.rl[0]! & 0xffff;
      if ((al & 0xf) > 9 || af) {
        ax = op === 0x37 ? ax + 0x106 : ax - 0x106;
        f |= AF | CF;
      } else f &= ~(AF | CF);
      ax &= 0xff0f;
      c.rl[0] = (c.rl[0]! & ~0xffff) | (ax & 0xffff);
      c.flags = f;
      return;
    }
  }
  c.rl[0] = (c.rl[0]! & ~0xff) | al;
  // SF, ZF, PF from AL; OF undefined (cleared).
  setArith(c, (f & (CF | AF)) | (al === 0 ? ZF : 0) | (al & 0x80) | (computeParity(al)));
}

function computeParity(v: number): number {
  let n = 0;
  for (let b = v & 0xff; b; b >>= 1) n += b & 1;
  return n & 1 ? 0 : 4;
}

