// SSE and SSE2 (and the MMX forms of the shared integer opcodes). XMM registers are four
// int32 lanes in cpu.xmm; MMX registers are two int32 lanes in fpu.mmx. Integer SIMD works
// on byte views so one routine serves both widths. Operand access is in sse-operands.ts,
// data movement in sse-move.ts.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { CF, CR0_TS, EX_NM, EX_UD, PF, TWO32, ZF } from './constants.ts';
import { getFlags, setArith } from './flags.ts';
import { memLin, getReg, setReg, readRM } from './operands.ts';
import { F64HI, bitsToF32, bitsToF64, cmpPred, f32Op, f32ToBits, f64Op, f64ToBits, roundMx } from './sse-float.ts';
import { simdInt, SIMD_OPS } from './sse-int.ts';
import { TMP16V, TMP8V, checkMmx, checkSse, mmxViews, regViews, src128, srcMmx, srcWords, store128, xmmViews } from './sse-operands.ts';
import { execSseInt } from './sse-move.ts';

/** Opcodes (0x1xx = 0F map) handled here. */
export function isSseOpcode(op: number): boolean {
  return (op >= 0x110 && op <= 0x117) || (op >= 0x128 && op <= 0x12f) || (op >= 0x150 && op <= 0x17f) ||
    (op >= 0x1c2 && op <= 0x1c6) || (op >= 0x1d0 && op <= 0x1fe) || op >= 0x200;
}


export function execSse(c: Cpu, ins: Instr): void {
  const op = ins.op;
  if (op >= 0x200) c.fault(EX_UD); // SSSE3/SSE4 maps are not advertised
  if (op === 0x177) { // EMMS
    if (c.cr0 & CR0_TS) c.fault(EX_NM);
    c.fpu.tag.fill(3);
    return;
  }
  const mp = ins.mp;
  // Integer SIMD ops shared with MMX: 60-6B, 74-76, D1-FE (table driven).
  const simd = SIMD_OPS[op & 0xff];
  if (simd !== undefined && (op & 0xff) >= 0x60 && (mp === 0 || mp === 1) && op !== 0x1d6 && op !== 0x1d7 && op !== 0x1e6 && op !== 0x1e7 && op !== 0x1f7) {
    if (mp === 1) {
      checkSse(c);
      const align = ins.mod !== 3;
      src128(c, ins, align);
      simdInt(simd, regViews(xmmViews, c.xmm, 16, 16)[ins.reg]!, TMP16V, 16);
    } else {
      if (simd.sseOnly) c.fault(EX_UD);
      checkMmx(c);
      srcMmx(c, ins);
      simdInt(simd, regViews(mmxViews, c.fpu.mmx, 8, 8)[ins.reg & 7]!, TMP8V, 8);
    }
    return;
  }
  if (mp === 0 && ((op >= 0x160 && op <= 0x17f) || op >= 0x1d0) && !(op === 0x170 || op === 0x1c2 || op === 0x1c6) && op !== 0x17e && op !== 0x17f && op !== 0x16e && op !== 0x16f && op !== 0x1d7 && op !== 0x1e7 && op !== 0x171 && op !== 0x172 && op !== 0x173) {
    c.fault(EX_UD);
  }
  const x = c.xmm;
  const d = ins.reg * 4;
  switch (op) {
    case 0x110: case 0x111: { // MOVUPS/MOVUPD/MOVSS/MOVSD
      checkSse(c);
      if (mp <= 1) {
        if (op === 0x110) { const s = src128(c, ins, false); x.set(s, d); }
        else store128(c, ins, ins.reg, false);
        return;
      }
      const words = mp === 2 ? 1 : 2;
      if (op === 0x110) {
        if (ins.mod === 3) { x[d] = x[ins.rm * 4]!; if (words === 2) x[d + 1] = x[ins.rm * 4 + 1]!; }
        else {
          const lin = memLin(c, ins);
          x[d] = c.rd32(lin);
          x[d + 1] = words === 2 ? c.rd32(lin + 4) : 0;
          x[d + 2] = 0; x[d + 3] = 0;
        }
      } else if (ins.mod === 3) {
        const r = ins.rm * 4;
        x[r] = x[d]!; if (words === 2) x[r + 1] = x[d + 1]!;
      } else {
        const lin = memLin(c, ins);
        if (words === 2) c.wr64(lin, x[d]!, x[d + 1]!); else c.wr32(lin, x[d]!);
      }
      return;
    }
    case 0x112: case 0x113: case 0x116: case 0x117: { // MOVLPS/MOVHLPS/MOVLPD, MOVHPS/MOVLHPS/MOVHPD
      checkSse(c);
      if (mp > 1) c.fault(EX_UD);
      const high = op >= 0x116;
      const o = high ? 2 : 0;
      if (op === 0x112 || op === 0x116) {
        if (ins.mod === 3) {
          if (mp === 1) c.fault(EX_UD);
          const r = ins.rm * 4;
          if (high) { x[d + 2] = x[r]!; x[d + 3] = x[r + 1]!; } // MOVLHPS
          else { x[d] = x[r + 2]!; x[d + 1] = x[r + 3]!; } // MOVHLPS
        } else {
          const lin = memLin(c, ins);
          x[d + o] = c.rd64(lin); x[d + o + 1] = c.mhi;
        }
      } else {
        if (ins.mod === 3) c.fault(EX_UD);
        c.wr64(memLin(c, ins), x[d + o]!, x[d + o + 1]!);
      }
      return;
    }
    case 0x114: case 0x115: { // UNPCKLPS/PD, UNPCKHPS/PD
      checkSse(c);
      const s = src128(c, ins, ins.mod !== 3);
      const hi = op === 0x115;
      if (mp === 0) {
        const a0 = x[d + (hi ? 2 : 0)]!, a1 = x[d + (hi ? 3 : 1)]!;
        const b0 = s[hi ? 2 : 0]!, b1 = s[hi ? 3 : 1]!;
        x[d] = a0; x[d + 1] = b0; x[d + 2] = a1; x[d + 3] = b1;
      } else if (mp === 1) {
        const a0 = x[d + (hi ? 2 : 0)]!, a1 = x[d + (hi ? 3 : 1)]!;
        x[d] = a0; x[d + 1] = a1; x[d + 2] = s[hi ? 2 : 0]!; x[d + 3] = s[hi ? 3 : 1]!;
      } else c.fault(EX_UD);
      return;
    }
    case 0x128: case 0x129: // MOVAPS/MOVAPD
      checkSse(c);
      if (mp > 1) c.fault(EX_UD);
      if (op === 0x128) x.set(src128(c, ins, true), d);
      else store128(c, ins, ins.reg, true);
      return;
    case 0x12b: // MOVNTPS/PD
      checkSse(c);
      if (ins.mod === 3 || mp > 1) c.fault(EX_UD);
      store128(c, ins, ins.reg, true);
      return;
    case 0x12a: { // CVTSI2SS/SD (CVTPI2PS/PD: MMX source)
      checkSse(c);
      if (mp >= 2) {
        let v: number;
        if (ins.osize === 64) { const lo = readRM(c, ins, 64); v = c.mhi * TWO32 + (lo >>> 0); v = exactI64(lo, c.mhi, v); }
        else v = readRM(c, ins, 32) | 0;
        if (mp === 2) x[d] = f32ToBits(Math.fround(v));
        else { x[d] = f64ToBits(v); x[d + 1] = F64HI; }
      } else {
        const s = srcMmx(c, ins);
        checkMmx(c);
        if (mp === 0) { x[d] = f32ToBits(s[0]!); x[d + 1] = f32ToBits(s[1]!); }
        else { const a = s[0]!, b = s[1]!; x[d] = f64ToBits(a); x[d + 1] = F64HI; x[d + 2] = f64ToBits(b); x[d + 3] = F64HI; }
      }
      return;
    }
    case 0x12c: case 0x12d: { // CVTT/CVT SS2SI, SD2SI (PS2PI/PD2PI with MMX)
      checkSse(c);
      const trunc = op === 0x12c;
      if (mp < 2) {
        checkMmx(c);
        const s = mp === 0 ? srcWords(c, ins, 2) : src128(c, ins, ins.mod !== 3);
        const m = c.fpu.mmx;
        const r = (ins.reg & 7) * 2;
        if (mp === 0) { m[r] = toI32(c, bitsToF32(s[0]!), trunc); m[r + 1] = toI32(c, bitsToF32(s[1]!), trunc); }
        else { m[r] = toI32(c, bitsToF64(s[0]!, s[1]!), trunc); m[r + 1] = toI32(c, bitsToF64(s[2]!, s[3]!), trunc); }
        return;
      }
      const s = srcWords(c, ins, mp === 3 ? 2 : 1);
      const v = mp === 2 ? bitsToF32(s[0]!) : bitsToF64(s[0]!, s[1]!);
      if (ins.osize === 64) {
        const r = roundMx(c.mxcsr, v, trunc);
        if (!(r >= -9223372036854775808 && r < 9223372036854775808)) setReg(c, 64, ins.reg, 0, 0, 0x80000000 | 0);
        else setReg(c, 64, ins.reg, 0, ((r % TWO32) + TWO32) % TWO32 | 0, Math.floor(r / TWO32) | 0);
      } else setReg(c, 32, ins.reg, 0, toI32(c, v, trunc), 0);
      return;
    }
    case 0x12e: case 0x12f: { // UCOMISS/COMISS/UCOMISD/COMISD
      checkSse(c);
      if (mp > 1) c.fault(EX_UD);
      const s = srcWords(c, ins, mp === 1 ? 2 : 1);
      const a = mp === 1 ? bitsToF64(x[d]!, x[d + 1]!) : bitsToF32(x[d]!);
      const b = mp === 1 ? bitsToF64(s[0]!, s[1]!) : bitsToF32(s[0]!);
      let f = 0;
      if (Number.isNaN(a) || Number.isNaN(b)) f = ZF | PF | CF;
      else if (a < b) f = CF;
      else if (a === b) f = ZF;
      setArith(c, f);
      void getFlags;
      return;
    }
    case 0x150: { // MOVMSKPS/PD
      checkSse(c);
      if (ins.mod !== 3 || mp > 1) c.fault(EX_UD);
      const r = ins.rm * 4;
      const m = mp === 0 ? ((x[r]! >>> 31) | ((x[r + 1]! >>> 31) << 1) | ((x[r + 2]! >>> 31) << 2) | ((x[r + 3]! >>> 31) << 3))
        : ((x[r + 1]! >>> 31) | ((x[r + 3]! >>> 31) << 1));
      setReg(c, ins.osize === 64 ? 64 : 32, ins.reg, 0, m, 0);
      return;
    }
    case 0x151: case 0x158: case 0x159: case 0x15c: case 0x15d: case 0x15e: case 0x15f: {
      checkSse(c);
      const kind = op === 0x151 ? 8 : op === 0x158 ? 0 : op === 0x159 ? 1 : op === 0x15c ? 4 : op === 0x15d ? 5 : op === 0x15e ? 6 : 7;
      floatArith(c, ins, kind);
      return;
    }
    case 0x152: case 0x153: { // RSQRTPS/SS, RCPPS/SS (approximations: we return the exact value rounded)
      checkSse(c);
      if (mp === 1 || mp === 3) c.fault(EX_UD);
      const n = mp === 2 ? 1 : 4;
      const s = mp === 2 ? srcWords(c, ins, 1) : src128(c, ins, ins.mod !== 3);
      for (let i = 0; i < n; i++) {
        const v = bitsToF32(s[i]!);
        x[d + i] = f32ToBits(op === 0x152 ? 1 / Math.sqrt(v) : 1 / v);
      }
      return;
    }
    case 0x154: case 0x155: case 0x156: case 0x157: { // ANDPS ANDNPS ORPS XORPS (and PD)
      checkSse(c);
      if (mp > 1) c.fault(EX_UD);
      const s = src128(c, ins, ins.mod !== 3);
      for (let i = 0; i < 4; i++) {
        const a = x[d + i]!, b = s[i]!;
        x[d + i] = op === 0x154 ? a & b : op === 0x155 ? ~a & b : op === 0x156 ? a | b : a ^ b;
      }
      return;
    }
    case 0x15a: { // CVTPS2PD / CVTPD2PS / CVTSS2SD / CVTSD2SS
      checkSse(c);
      if (mp === 0) {
        const s = srcWords(c, ins, 2);
        const a = bitsToF32(s[0]!), b = bitsToF32(s[1]!);
        x[d] = f64ToBits(a); x[d + 1] = F64HI; x[d + 2] = f64ToBits(b); x[d + 3] = F64HI;
      } else if (mp === 1) {
        const s = src128(c, ins, ins.mod !== 3);
        const a = bitsToF64(s[0]!, s[1]!), b = bitsToF64(s[2]!, s[3]!);
        x[d] = f32ToBits(a); x[d + 1] = f32ToBits(b); x[d + 2] = 0; x[d + 3] = 0;
      } else if (mp === 2) {
        const s = srcWords(c, ins, 1);
        x[d] = f64ToBits(bitsToF32(s[0]!)); x[d + 1] = F64HI;
      } else {
        const s = srcWords(c, ins, 2);
        x[d] = f32ToBits(bitsToF64(s[0]!, s[1]!));
      }
      return;
    }
    case 0x15b: { // CVTDQ2PS / CVTPS2DQ (66) / CVTTPS2DQ (F3)
      checkSse(c);
      if (mp === 3) c.fault(EX_UD);
      const s = src128(c, ins, ins.mod !== 3);
      for (let i = 0; i < 4; i++) {
        x[d + i] = mp === 0 ? f32ToBits(s[i]!) : toI32(c, bitsToF32(s[i]!), mp === 2);
      }
      return;
    }
    case 0x1e6: { // CVTTPD2DQ (66) / CVTDQ2PD (F3) / CVTPD2DQ (F2)
      checkSse(c);
      if (mp === 0) c.fault(EX_UD);
      if (mp === 2) {
        const s = srcWords(c, ins, 2);
        const a = s[0]!, b = s[1]!;
        x[d] = f64ToBits(a); x[d + 1] = F64HI; x[d + 2] = f64ToBits(b); x[d + 3] = F64HI;
      } else {
        const s = src128(c, ins, ins.mod !== 3);
        const a = bitsToF64(s[0]!, s[1]!), b = bitsToF64(s[2]!, s[3]!);
        x[d] = toI32(c, a, mp === 1); x[d + 1] = toI32(c, b, mp === 1); x[d + 2] = 0; x[d + 3] = 0;
      }
      return;
    }
    case 0x1c2: { // CMPPS/PD/SS/SD
      checkSse(c);
      const pred = ins.imm & 7;
      if (mp === 0 || mp === 2) {
        const n = mp === 0 ? 4 : 1;
        const s = mp === 0 ? src128(c, ins, ins.mod !== 3) : srcWords(c, ins, 1);
        for (let i = 0; i < n; i++) x[d + i] = cmpPred(pred, bitsToF32(x[d + i]!), bitsToF32(s[i]!)) ? -1 : 0;
      } else {
        const n = mp === 1 ? 2 : 1;
        const s = mp === 1 ? src128(c, ins, ins.mod !== 3) : srcWords(c, ins, 2);
        for (let i = 0; i < n; i++) {
          const r = cmpPred(pred, bitsToF64(x[d + 2 * i]!, x[d + 2 * i + 1]!), bitsToF64(s[2 * i]!, s[2 * i + 1]!)) ? -1 : 0;
          x[d + 2 * i] = r; x[d + 2 * i + 1] = r;
        }
      }
      return;
    }
    case 0x1c3: { // MOVNTI
      if (ins.mod === 3 || mp !== 0) c.fault(EX_UD);
      const sz = ins.osize === 64 ? 64 : 32;
      const v = getReg(c, sz, ins.reg, 0);
      if (sz === 64) c.wr64(memLin(c, ins), v, c.mhi); else c.wr32(memLin(c, ins), v);
      return;
    }
    case 0x1c4: { // PINSRW
      const w = readRM(c, ins, 16) & 0xffff;
      if (mp === 1) {
        checkSse(c);
        const i = ins.imm & 7;
        const k = d + (i >> 1);
        x[k] = i & 1 ? (x[k]! & 0xffff) | (w << 16) : (x[k]! & ~0xffff) | w;
      } else if (mp === 0) {
        checkMmx(c);
        const m = c.fpu.mmx;
        const i = ins.imm & 3;
        const k = (ins.reg & 7) * 2 + (i >> 1);
        m[k] = i & 1 ? (m[k]! & 0xffff) | (w << 16) : (m[k]! & ~0xffff) | w;
      } else c.fault(EX_UD);
      return;
    }
    case 0x1c5: { // PEXTRW
      if (ins.mod !== 3) c.fault(EX_UD);
      let v: number;
      if (mp === 1) {
        checkSse(c);
        const i = ins.imm & 7;
        v = (x[ins.rm * 4 + (i >> 1)]! >>> ((i & 1) * 16)) & 0xffff;
      } else if (mp === 0) {
        checkMmx(c);
        const i = ins.imm & 3;
        v = (c.fpu.mmx[(ins.rm & 7) * 2 + (i >> 1)]! >>> ((i & 1) * 16)) & 0xffff;
      } else c.fault(EX_UD);
      setReg(c, ins.osize === 64 ? 64 : 32, ins.reg, 0, v, 0);
      return;
    }
    case 0x1c6: { // SHUFPS / SHUFPD
      checkSse(c);
      const s = src128(c, ins, ins.mod !== 3);
      const imm = ins.imm;
      if (mp === 0) {
        const a0 = x[d + (imm & 3)]!, a1 = x[d + ((imm >> 2) & 3)]!;
        const b0 = s[(imm >> 4) & 3]!, b1 = s[(imm >> 6) & 3]!;
        x[d] = a0; x[d + 1] = a1; x[d + 2] = b0; x[d + 3] = b1;
      } else if (mp === 1) {
        const a = imm & 1 ? 2 : 0, b = imm & 2 ? 2 : 0;
        const a0 = x[d + a]!, a1 = x[d + a + 1]!;
        x[d] = a0; x[d + 1] = a1; x[d + 2] = s[b]!; x[d + 3] = s[b + 1]!;
      } else c.fault(EX_UD);
      return;
    }
    default:
      execSseInt(c, ins);
  }
}

function exactI64(lo: number, hi: number, approx: number): number {
  void lo; void hi;
  return approx; // a double rounds the 64-bit integer to nearest, as CVTSI2SD does in RN mode
}

function toI32(c: Cpu, v: number, trunc: boolean): number {
  const r = roundMx(c.mxcsr, v, trunc);
  if (!(r >= -2147483648 && r <= 2147483647)) return 0x80000000 | 0;
  return r | 0;
}

function floatArith(c: Cpu, ins: Instr, kind: number): void {
  const x = c.xmm;
  const d = ins.reg * 4;
  const mp = ins.mp;
  if (mp === 0 || mp === 2) {
    const n = mp === 0 ? 4 : 1;
    const s = mp === 0 ? src128(c, ins, ins.mod !== 3) : srcWords(c, ins, 1);
    for (let i = 0; i < n; i++) x[d + i] = f32Op(kind, x[d + i]!, s[i]!);
  } else {
    const n = mp === 1 ? 2 : 1;
    const s = mp === 1 ? src128(c, ins, ins.mod !== 3) : srcWords(c, ins, 2);
    for (let i = 0; i < n; i++) {
      const lo = f64Op(kind, x[d + 2 * i]!, x[d + 2 * i + 1]!, s[2 * i]!, s[2 * i + 1]!);
      x[d + 2 * i] = lo; x[d + 2 * i + 1] = F64HI;
    }
  }
}

