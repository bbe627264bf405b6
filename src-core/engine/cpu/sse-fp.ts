// SSE/SSE2 floating-point instructions with MXCSR exception semantics: arithmetic, MIN/MAX,
// SQRT, CMPxx, (U)COMISx and the conversions. Lane results are computed first and written
// only when no unmasked exception occurred; unmasked exceptions raise #XM (or #UD without
// CR4.OSXMMEXCPT) with MXCSR flags set and the destination unchanged.
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { CF, CR4_OSXMMEXCPT, EX_UD, EX_XM, PF, ZF } from './constants.ts';
import { getFlags, setArith } from './flags.ts';
import { setReg } from './operands.ts';
import { F64HI, cmp32, cmp64, f32Op, f64Op } from './sse-float.ts';
import { MX_DE, MX_IE, MX_ZE, comiLane, convertFloat, fromInteger, mx, toInteger } from './sse-soft.ts';
import { checkMmx, checkSse, mmxWrote, src128, srcInt, srcMmx, srcWords } from './sse-operands.ts';

const OUT = new Int32Array(4);
const w64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const lo32 = (v: bigint): number => Number(v & 0xffffffffn) | 0;
const hi32 = (v: bigint): number => Number(v >> 32n) | 0;

/** Commit the instruction's flags: fault on an unmasked exception, else OR them into MXCSR. */
function mxEnd(c: Cpu): void {
  const ex = mx.ex;
  const unmasked = ex & ~(c.mxcsr >> 7) & 0x3f;
  if (unmasked) {
    // Pre-computation exceptions (IE, DE, ZE) stop the operation before rounding ones exist.
    c.mxcsr |= unmasked & (MX_IE | MX_DE | MX_ZE) ? ex & (MX_IE | MX_DE | MX_ZE) : ex;
    c.fault(c.cr4 & CR4_OSXMMEXCPT ? EX_XM : EX_UD);
  }
  c.mxcsr |= ex;
}

/** Write OUT[0..n) to xmm words starting at `d` after the flags check. */
function writeOut(c: Cpu, d: number, n: number): void {
  mxEnd(c);
  for (let i = 0; i < n; i++) c.xmm[d + i] = OUT[i]!;
}

/** The SSE floating-point opcodes; returns false for opcodes it does not handle. */
export function execSseFp(c: Cpu, ins: Instr): boolean {
  const op = ins.op;
  const mp = ins.mp;
  const x = c.xmm;
  const d = ins.reg * 4;
  const mxcsr = c.mxcsr;
  mx.ex = 0;
  switch (op) {
    case 0x151: case 0x158: case 0x159: case 0x15c: case 0x15d: case 0x15e: case 0x15f: {
      checkSse(c);
      const kind = op === 0x151 ? 8 : op === 0x158 ? 0 : op === 0x159 ? 1 : op === 0x15c ? 4 : op === 0x15d ? 5 : op === 0x15e ? 6 : 7;
      if (mp === 0 || mp === 2) {
        const n = mp === 0 ? 4 : 1;
        const s = mp === 0 ? src128(c, ins, ins.mod !== 3) : srcWords(c, ins, 1);
        for (let i = 0; i < n; i++) OUT[i] = f32Op(kind, x[d + i]!, s[i]!, mxcsr);
        writeOut(c, d, n);
      } else {
        const n = mp === 1 ? 2 : 1;
        const s = mp === 1 ? src128(c, ins, ins.mod !== 3) : srcWords(c, ins, 2);
        for (let i = 0; i < n; i++) {
          OUT[2 * i] = f64Op(kind, x[d + 2 * i]!, x[d + 2 * i + 1]!, s[2 * i]!, s[2 * i + 1]!, mxcsr);
          OUT[2 * i + 1] = F64HI;
        }
        writeOut(c, d, 2 * n);
      }
      return true;
    }
    case 0x1c2: { // CMPPS/PD/SS/SD
      checkSse(c);
      const pred = ins.imm & 7;
      if (mp === 0 || mp === 2) {
        const n = mp === 0 ? 4 : 1;
        const s = mp === 0 ? src128(c, ins, ins.mod !== 3) : srcWords(c, ins, 1);
        for (let i = 0; i < n; i++) OUT[i] = cmp32(pred, x[d + i]!, s[i]!, mxcsr) ? -1 : 0;
        writeOut(c, d, n);
      } else {
        const n = mp === 1 ? 2 : 1;
        const s = mp === 1 ? src128(c, ins, ins.mod !== 3) : srcWords(c, ins, 2);
        for (let i = 0; i < n; i++) {
          const r = cmp64(pred, x[d + 2 * i]!, x[d + 2 * i + 1]!, s[2 * i]!, s[2 * i + 1]!, mxcsr) ? -1 : 0;
          OUT[2 * i] = r; OUT[2 * i + 1] = r;
        }
        writeOut(c, d, 2 * n);
      }
      return true;
    }
    case 0x12e: case 0x12f: { // UCOMISS/COMISS/UCOMISD/COMISD
      checkSse(c);
      if (mp > 1) c.fault(EX_UD);
      const s = srcWords(c, ins, mp === 1 ? 2 : 1);
      const r = mp === 1 ? comiLane(op === 0x12f, w64(x[d]!, x[d + 1]!), w64(s[0]!, s[1]!), true, mxcsr)
        : comiLane(op === 0x12f, BigInt(x[d]! >>> 0), BigInt(s[0]! >>> 0), false, mxcsr);
      mxEnd(c);
      void getFlags;
      setArith(c, r === 3 ? ZF | PF | CF : r === 1 ? CF : r === 2 ? ZF : 0);
      return true;
    }
    case 0x12a: { // CVTSI2SS/SD (CVTPI2PS/PD: MMX source)
      checkSse(c);
      if (mp >= 2) {
        let v: bigint;
        if (ins.osize === 64) { const lo = srcInt(c, ins, 64); v = BigInt.asIntN(64, w64(lo, c.mhi)); }
        else v = BigInt(srcInt(c, ins, 32) | 0);
        const r = fromInteger(v, mp === 3, mxcsr);
        if (mp === 2) { OUT[0] = lo32(r); writeOut(c, d, 1); }
        else { OUT[0] = lo32(r); OUT[1] = hi32(r); writeOut(c, d, 2); }
      } else {
        const s = srcMmx(c, ins);
        if (ins.mod === 3) checkMmx(c); // from m64 there is no switch to MMX mode (SDM, CVTPI2PS)
        const a = BigInt(s[0]!), b = BigInt(s[1]!);
        if (mp === 0) { OUT[0] = lo32(fromInteger(a, false, mxcsr)); OUT[1] = lo32(fromInteger(b, false, mxcsr)); writeOut(c, d, 2); }
        else {
          const ra = fromInteger(a, true, mxcsr), rb = fromInteger(b, true, mxcsr);
          OUT[0] = lo32(ra); OUT[1] = hi32(ra); OUT[2] = lo32(rb); OUT[3] = hi32(rb);
          writeOut(c, d, 4);
        }
      }
      return true;
    }
    case 0x12c: case 0x12d: { // CVTT/CVT SS2SI, SD2SI (PS2PI/PD2PI with MMX)
      checkSse(c);
      const trunc = op === 0x12c;
      if (mp < 2) {
        checkMmx(c);
        const s = mp === 0 ? srcWords(c, ins, 2) : src128(c, ins, ins.mod !== 3);
        let a: bigint, b: bigint;
        if (mp === 0) { a = toInteger(BigInt(s[0]! >>> 0), false, 32, trunc, mxcsr); b = toInteger(BigInt(s[1]! >>> 0), false, 32, trunc, mxcsr); }
        else { a = toInteger(w64(s[0]!, s[1]!), true, 32, trunc, mxcsr); b = toInteger(w64(s[2]!, s[3]!), true, 32, trunc, mxcsr); }
        mxEnd(c);
        const r = (ins.reg & 7) * 2;
        c.fpu.mmx[r] = lo32(a); c.fpu.mmx[r + 1] = lo32(b);
        mmxWrote(c, ins.reg);
        return true;
      }
      const s = srcWords(c, ins, mp === 3 ? 2 : 1);
      const bits = mp === 2 ? BigInt(s[0]! >>> 0) : w64(s[0]!, s[1]!);
      const size = ins.osize === 64 ? 64 : 32;
      const v = toInteger(bits, mp === 3, size, trunc, mxcsr);
      mxEnd(c);
      setReg(c, size, ins.reg, 0, lo32(v), size === 64 ? hi32(v) : 0);
      return true;
    }
    case 0x15a: { // CVTPS2PD / CVTPD2PS / CVTSS2SD / CVTSD2SS
      checkSse(c);
      if (mp === 0) {
        const s = srcWords(c, ins, 2);
        const a = convertFloat(BigInt(s[0]! >>> 0), false, mxcsr), b = convertFloat(BigInt(s[1]! >>> 0), false, mxcsr);
        OUT[0] = lo32(a); OUT[1] = hi32(a); OUT[2] = lo32(b); OUT[3] = hi32(b);
        writeOut(c, d, 4);
      } else if (mp === 1) {
        const s = src128(c, ins, ins.mod !== 3);
        OUT[0] = lo32(convertFloat(w64(s[0]!, s[1]!), true, mxcsr));
        OUT[1] = lo32(convertFloat(w64(s[2]!, s[3]!), true, mxcsr));
        OUT[2] = 0; OUT[3] = 0;
        writeOut(c, d, 4);
      } else if (mp === 2) {
        const s = srcWords(c, ins, 1);
        const a = convertFloat(BigInt(s[0]! >>> 0), false, mxcsr);
        OUT[0] = lo32(a); OUT[1] = hi32(a);
        writeOut(c, d, 2);
      } else {
        const s = srcWords(c, ins, 2);
        OUT[0] = lo32(convertFloat(w64(s[0]!, s[1]!), true, mxcsr));
        writeOut(c, d, 1);
      }
      return true;
    }
    case 0x15b: { // CVTDQ2PS / CVTPS2DQ (66) / CVTTPS2DQ (F3)
      checkSse(c);
      if (mp === 3) c.fault(EX_UD);
      const s = src128(c, ins, ins.mod !== 3);
      for (let i = 0; i < 4; i++) {
        OUT[i] = mp === 0 ? lo32(fromInteger(BigInt(s[i]!), false, mxcsr)) : lo32(toInteger(BigInt(s[i]! >>> 0), false, 32, mp === 2, mxcsr));
      }
      writeOut(c, d, 4);
      return true;
    }
    case 0x1e6: { // CVTTPD2DQ (66) / CVTDQ2PD (F3) / CVTPD2DQ (F2)
      checkSse(c);
      if (mp === 0) c.fault(EX_UD);
      if (mp === 2) {
        const s = srcWords(c, ins, 2);
        const a = fromInteger(BigInt(s[0]!), true, mxcsr), b = fromInteger(BigInt(s[1]!), true, mxcsr);
        OUT[0] = lo32(a); OUT[1] = hi32(a); OUT[2] = lo32(b); OUT[3] = hi32(b);
      } else {
        const s = src128(c, ins, ins.mod !== 3);
        OUT[0] = lo32(toInteger(w64(s[0]!, s[1]!), true, 32, mp === 1, mxcsr));
        OUT[1] = lo32(toInteger(w64(s[2]!, s[3]!), true, 32, mp === 1, mxcsr));
        OUT[2] = 0; OUT[3] = 0;
      }
      writeOut(c, d, 4);
      return true;
    }
    default:
      return false;
  }
}
