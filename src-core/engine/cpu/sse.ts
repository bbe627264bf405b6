// SSE and SSE2 (and the MMX forms of the shared integer opcodes). XMM registers are four
// int32 lanes in cpu.xmm; MMX registers are two int32 lanes in fpu.mmx. Integer SIMD works
// on byte views so one routine serves both widths. Operand access is in sse-operands.ts,
// data movement in sse-move.ts.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { CR0_TS, EX_NM, EX_UD, EX_XM } from './constants.ts';
import { getReg, setReg } from './operands.ts';
import { wideLin } from './system/mem-operand.ts';
import { rcp12, rsqrt12 } from './sse-approx.ts';
import { simdInt, SIMD_OPS } from './sse-int.ts';
import { checkMmx, checkSse, mmxViews, mmxWrote, regViews, src128, srcInt, srcMmx, srcWords, store128, TMP16V, TMP8V, xmmViews } from './sse-operands.ts';
import { execSseInt } from './sse-move.ts';
import { execSseFp } from './sse-fp.ts';

/** Opcodes (0x1xx = 0F map) handled here. */
export function isSseOpcode(op: number): boolean {
  return (op >= 0x110 && op <= 0x117) || (op >= 0x128 && op <= 0x12f) || (op >= 0x150 && op <= 0x17f) ||
    (op >= 0x1c2 && op <= 0x1c6) || (op >= 0x1d0 && op <= 0x1fe) || op >= 0x200;
}


const SAVED_TAGS = new Uint8Array(8);

/**
 * Run an SSE/MMX instruction. MMX forms switch the x87 unit to MMX mode (TOP = 0, all tags
 * valid) before their operands are read; a fault must leave no trace, as on hardware, so TOP
 * and the tags are put back when the instruction faults. Not for #XM: the host raises SIMD
 * floating-point exceptions after the switch (CVTPS2PI and friends), so it stays.
 */
export function execSse(c: Cpu, ins: Instr): void {
  const f = c.fpu;
  const top = f.top;
  SAVED_TAGS.set(f.tag);
  try {
    execSseOp(c, ins);
  } catch (e) {
    if (c.exVec !== EX_XM) {
      f.top = top;
      f.tag.set(SAVED_TAGS);
    }
    throw e;
  }
}

function execSseOp(c: Cpu, ins: Instr): void {
  const op = ins.op;
  if (op >= 0x200) c.fault(EX_UD); // SSSE3/SSE4 maps are not advertised
  if (op === 0x177) { // EMMS (66/F3/F2 forms are undefined)
    if (ins.mp !== 0) c.fault(EX_UD);
    checkMmx(c); // #UD with CR0.EM, #NM with CR0.TS, #MF for a pending x87 exception
    c.fpu.tag.fill(3);
    c.fpu.top = 0; // as on the host: EMMS also resets TOP
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
      mmxWrote(c, ins.reg);
    }
    return;
  }
  if (mp === 0 && ((op >= 0x160 && op <= 0x17f) || op >= 0x1d0) && !(op === 0x170 || op === 0x1c2 || op === 0x1c6) && op !== 0x17e && op !== 0x17f && op !== 0x16e && op !== 0x16f && op !== 0x1d7 && op !== 0x1e7 && op !== 0x1f7 && op !== 0x171 && op !== 0x172 && op !== 0x173) {
    c.fault(EX_UD);
  }
  if (execSseFp(c, ins)) return; // floating point with MXCSR semantics
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
          const lin = wideLin(c, ins, words * 4, false);
          x[d] = c.rd32(lin);
          x[d + 1] = words === 2 ? c.rd32(lin + 4) : 0;
          x[d + 2] = 0; x[d + 3] = 0;
        }
      } else if (ins.mod === 3) {
        const r = ins.rm * 4;
        x[r] = x[d]!; if (words === 2) x[r + 1] = x[d + 1]!;
      } else {
        const lin = wideLin(c, ins, words * 4, true);
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
          const lin = wideLin(c, ins, 8, false);
          x[d + o] = c.rd64(lin); x[d + o + 1] = c.mhi;
        }
      } else {
        if (ins.mod === 3) c.fault(EX_UD);
        c.wr64(wideLin(c, ins, 8, true), x[d + o]!, x[d + o + 1]!);
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
    case 0x150: { // MOVMSKPS/PD
      checkSse(c);
      if (ins.mod !== 3 || mp > 1) c.fault(EX_UD);
      const r = ins.rm * 4;
      const m = mp === 0 ? ((x[r]! >>> 31) | ((x[r + 1]! >>> 31) << 1) | ((x[r + 2]! >>> 31) << 2) | ((x[r + 3]! >>> 31) << 3))
        : ((x[r + 1]! >>> 31) | ((x[r + 3]! >>> 31) << 1));
      setReg(c, ins.osize === 64 ? 64 : 32, ins.reg, 0, m, 0);
      return;
    }
    case 0x152: case 0x153: { // RSQRTPS/SS, RCPPS/SS: 12-bit table estimates (sse-approx.ts)
      checkSse(c);
      if (mp === 1 || mp === 3) c.fault(EX_UD);
      const n = mp === 2 ? 1 : 4;
      const s = mp === 2 ? srcWords(c, ins, 1) : src128(c, ins, ins.mod !== 3);
      for (let i = 0; i < n; i++) x[d + i] = op === 0x152 ? rsqrt12(s[i]!) : rcp12(s[i]!);
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
    case 0x1c3: { // MOVNTI
      if (ins.mod === 3 || mp !== 0) c.fault(EX_UD);
      const sz = ins.osize === 64 ? 64 : 32;
      const v = getReg(c, sz, ins.reg, 0);
      const hi = c.mhi; // before the address calculation, which may use mhi
      const lin = wideLin(c, ins, sz / 8, true);
      if (sz === 64) c.wr64(lin, v, hi); else c.wr32(lin, v);
      return;
    }
    case 0x1c4: { // PINSRW
      const w = srcInt(c, ins, 16) & 0xffff;
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
        mmxWrote(c, ins.reg);
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
