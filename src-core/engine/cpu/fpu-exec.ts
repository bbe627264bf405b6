// x87 instructions (D8-DF) on 80-bit registers. Exceptions set the status word flags; an
// unmasked one sets ES/B, leaves the destination alone where the x87 does (IE, DE, ZE) and
// faults the next waiting x87 instruction with #MF (Fpu.checkPending). Non-control
// instructions record their address, operand address and opcode (FIP, FDP, FOP).
import type { Cpu } from './cpu.ts';
import type { Instr } from './decode.ts';
import { CF, EX_NM, EX_UD, PF, ZF } from './constants.ts';
import { cond, getFlags, setArith } from './flags.ts';
import { setReg } from './operands.ts';
import { isControl, noWait, operandLin, record, undefinedForm } from './fpu-pointers.ts';
import type { F80 } from './float80/core.ts';
import { DBL, DE, Flags, INDEFINITE, SGL, classify, extFormat, isNaNCls } from './float80/core.ts';
import { add, div, mul, sqrt } from './float80/arith.ts';
import { BCD_INDEFINITE, fromBcd, fromF32, fromF64, fromInt, toBcd, toIeee, toInt } from './float80/convert.ts';
import { atan2, constant, f2xm1, fyl2x, fyl2xp1, outOfRange, sinCos, tan } from './float80/transcend.ts';
import { SW_B, SW_C1, SW_C2, SW_ES } from './fpu.ts';
import type { Fpu } from './fpu.ts';
import { fromWords, regWords } from './fpu.ts';
import { CMP_EQ, CMP_LT, CMP_UN, commit, compare, fprem, frndint, fscale, fxam, fxtract, overflow, pushIndefinite, setCc, underflow } from './fpu-ops.ts';
import { fldenv, frstor, fsave, fstenv } from './fpu-env.ts';

/** kind: 0 add, 1 mul, 4 sub (a - b), 5 subr (b - a), 6 div (a / b), 7 divr (b / a). */
function calc(kind: number, a: F80, b: F80, cw: number, fl: Flags): F80 {
  const fmt = extFormat(cw);
  switch (kind) {
    case 0: return add(a, b, false, fmt, cw, fl);
    case 1: return mul(a, b, fmt, cw, fl);
    case 4: return add(a, b, true, fmt, cw, fl);
    case 5: return add(b, a, true, fmt, cw, fl);
    case 6: return div(a, b, fmt, cw, fl);
    default: return div(b, a, fmt, cw, fl);
  }
}

/** ST(dst) = a op b (then pop); a null operand is an empty register (stack underflow). */
function arith(f: Fpu, kind: number, dst: number, a: F80 | null, b: F80 | null, pop: boolean, fl: Flags): void {
  if (a === null || b === null) {
    if (underflow(f)) { f.set(dst, INDEFINITE); if (pop) f.pop(); }
    return;
  }
  const r = calc(kind, a, b, f.cw, fl);
  if (!commit(f, fl)) return;
  f.set(dst, r);
  if (pop) f.pop();
}

const st = (f: Fpu, i: number): F80 | null => (f.isEmpty(i) ? null : f.get(i));

/** FCOM family: condition codes (or EFLAGS for FCOMI) from a vs b, then `pops` pops. */
function fcom(c: Cpu, a: F80 | null, b: F80 | null, quietNaNs: boolean, pops: number, eflags: boolean, fl = new Flags()): void {
  const f = c.fpu;
  let c1 = f.sw & SW_C1;
  let r: number;
  let ok: boolean;
  if (a === null || b === null) {
    ok = underflow(f);
    r = CMP_UN;
    c1 = 0;
  } else {
    r = compare(a, b, quietNaNs, fl);
    ok = commit(f, fl);
  }
  // The condition codes are set even when an unmasked exception stops the pops.
  if (eflags) {
    // ZF PF CF from the comparison; OF, SF and AF cleared; C1 left alone.
    const base = getFlags(c) & ~(ZF | PF | CF | 0x800 | 0x80 | 0x10);
    const fz = r === CMP_UN ? ZF | PF | CF : r === CMP_LT ? CF : r === CMP_EQ ? ZF : 0;
    setArith(c, base | fz);
    f.sw = (f.sw & ~SW_C1) | c1;
  } else setCc(f, r);
  if (!ok) return;
  for (let i = 0; i < pops; i++) f.pop();
}

function loadOperand(c: Cpu, op: number, lin: number, fl: Flags): F80 {
  switch (op) {
    case 0xd8: return fromF32(c.rd32(lin), fl, true);
    case 0xdc: return fromF64(c.rd32(lin), c.rd32(lin + 4), fl, true);
    case 0xda: return fromInt(BigInt(c.rd32(lin) | 0));
    default: return fromInt(BigInt((c.rd16(lin) << 16) >> 16));
  }
}

/** FST/FSTP m32/m64. */
function storeReal(c: Cpu, lin: number, dbl: boolean, pop: boolean): void {
  const f = c.fpu;
  if (dbl) c.checkWritable(lin + 7); else c.checkWritable(lin + 3);
  let bits: bigint | null;
  if (f.isEmpty(0)) {
    if (!underflow(f)) return;
    bits = dbl ? 0xfff8000000000000n : 0xffc00000n;
  } else {
    const fl = new Flags();
    bits = toIeee(f.get(0), dbl ? DBL : SGL, f.cw, fl);
    if (!commit(f, fl) || bits === null) return;
  }
  if (dbl) c.wr64(lin, Number(bits & 0xffffffffn) | 0, Number(bits >> 32n) | 0);
  else c.wr32(lin, Number(bits) | 0);
  if (pop) f.pop();
}

/** FIST/FISTP/FISTTP m16/m32/m64. */
function storeInt(c: Cpu, lin: number, bits: number, pop: boolean, truncate: boolean): void {
  const f = c.fpu;
  c.checkWritable(lin + bits / 8 - 1);
  let v: bigint | null;
  if (f.isEmpty(0)) {
    if (!underflow(f)) return;
    v = null;
  } else {
    const fl = new Flags();
    v = toInt(f.get(0), bits, f.cw, truncate, fl);
    if (!commit(f, fl)) return;
  }
  const u = v === null ? 1n << BigInt(bits - 1) : BigInt.asUintN(bits, v); // integer indefinite
  if (bits === 16) c.wr16(lin, Number(u));
  else if (bits === 32) c.wr32(lin, Number(u) | 0);
  else c.wr64(lin, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
  if (pop) f.pop();
}

function storeBytes(c: Cpu, lin: number, b: Uint8Array): void {
  c.checkWritable(lin + b.length - 1);
  for (let i = 0; i < b.length; i++) c.wr8(lin + i, b[i]!);
}

function pushLoaded(c: Cpu, v: F80, fl: Flags): void {
  const f = c.fpu;
  if (!f.isEmpty(7)) { if (overflow(f)) f.push(INDEFINITE); return; }
  // An unmasked DE (denormal single/double) still loads: the value is exact.
  const de = fl.ex & DE;
  fl.ex &= ~DE;
  const ok = commit(f, fl);
  if (de) f.sw |= de | (f.cw & DE ? 0 : SW_ES | SW_B);
  if (ok) f.push(v);
}

export function execFpu(c: Cpu, ins: Instr): void {
  if (c.cr0 & 0xc) c.fault(EX_NM); // EM or TS
  const f = c.fpu;
  // An undefined form (memory or register) is #UD before the pending-exception check (the P6
  // does not look for x87 errors at undefined opcodes; the host agrees) and before any address
  // check.
  if (undefinedForm(ins)) c.fault(EX_UD);
  if (!noWait(ins)) f.checkPending(c);
  if (ins.mod !== 3) {
    execMem(c, ins, operandLin(c, ins));
    if (!isControl(ins)) record(c, ins, true);
  } else {
    execReg(c, ins);
    if (!isControl(ins)) record(c, ins, false);
  }
  f.updateFerr(c);
}

function execMem(c: Cpu, ins: Instr, lin: number): void {
  const f = c.fpu;
  const op = ins.op;
  const ext = ins.ext;
  switch (op) {
    case 0xd8: case 0xdc: case 0xda: case 0xde: {
      const cf = new Flags();
      const v = loadOperand(c, op, lin, cf);
      // The operand's denormal exception counts unless a NaN operand decides the result.
      const fl = new Flags();
      const a = st(f, 0);
      if (!(a && isNaNCls(classify(a))) && !isNaNCls(classify(v))) fl.ex |= cf.ex;
      if (ext === 2 || ext === 3) { fcom(c, a, v, false, ext - 2, false, fl); return; }
      arith(f, ext, 0, a, v, false, fl);
      return;
    }
    case 0xd9:
      switch (ext) {
        case 0: { const fl = new Flags(); pushLoaded(c, fromF32(c.rd32(lin), fl), fl); return; }
        case 2: storeReal(c, lin, false, false); return;
        case 3: storeReal(c, lin, false, true); return;
        case 4: fldenv(c, lin, ins.osize); return;
        case 5: fldcw(f, c.rd16(lin)); return;
        case 6: fstenv(c, lin, ins.osize); return;
        case 7: c.wr16(lin, f.cw); return;
        default: c.fault(EX_UD);
      }
      return;
    case 0xdb:
      switch (ext) {
        case 0: pushLoaded(c, fromInt(BigInt(c.rd32(lin) | 0)), new Flags()); return;
        case 1: storeInt(c, lin, 32, true, true); return; // FISTTP
        case 2: storeInt(c, lin, 32, false, false); return;
        case 3: storeInt(c, lin, 32, true, false); return;
        case 5: pushLoaded(c, fromWords(c.rd32(lin), c.rd32(lin + 4), c.rd16(lin + 8)), new Flags()); return;
        case 7: {
          c.checkWritable(lin + 9);
          let v: F80 = INDEFINITE;
          if (f.isEmpty(0)) { if (!underflow(f)) return; } else v = f.get(0);
          const [a, b, e] = regWords(v);
          c.wr32(lin, a); c.wr32(lin + 4, b); c.wr16(lin + 8, e);
          f.sw &= ~SW_C1;
          f.pop();
          return;
        }
        default: c.fault(EX_UD);
      }
      return;
    case 0xdd:
      switch (ext) {
        case 0: { const fl = new Flags(); pushLoaded(c, fromF64(c.rd32(lin), c.rd32(lin + 4), fl), fl); return; }
        case 1: storeInt(c, lin, 64, true, true); return; // FISTTP
        case 2: storeReal(c, lin, true, false); return;
        case 3: storeReal(c, lin, true, true); return;
        case 4: frstor(c, lin, ins.osize); return;
        case 6: fsave(c, lin, ins.osize); return;
        case 7: c.wr16(lin, f.statusWord()); return;
        default: c.fault(EX_UD);
      }
      return;
    case 0xdf:
      switch (ext) {
        case 0: pushLoaded(c, fromInt(BigInt((c.rd16(lin) << 16) >> 16)), new Flags()); return;
        case 1: storeInt(c, lin, 16, true, true); return; // FISTTP
        case 2: storeInt(c, lin, 16, false, false); return;
        case 3: storeInt(c, lin, 16, true, false); return;
        case 4: { // FBLD
          const b = new Uint8Array(10);
          for (let i = 0; i < 10; i++) b[i] = c.rd8(lin + i);
          pushLoaded(c, fromBcd(b), new Flags());
          return;
        }
        case 5: { const lo = c.rd32(lin); const hi = c.rd32(lin + 4); pushLoaded(c, fromInt((BigInt(hi | 0) << 32n) | BigInt(lo >>> 0)), new Flags()); return; }
        case 6: { // FBSTP
          c.checkWritable(lin + 9);
          let b: Uint8Array | null = BCD_INDEFINITE;
          if (f.isEmpty(0)) { if (!underflow(f)) return; } else {
            const fl = new Flags();
            b = toBcd(f.get(0), f.cw, fl);
            if (!commit(f, fl)) return;
          }
          storeBytes(c, lin, b ?? BCD_INDEFINITE);
          f.pop();
          return;
        }
        case 7: storeInt(c, lin, 64, true, false); return;
      }
      return;
  }
}

/** FLDCW: a newly unmasked pending flag makes the exception pending (ES/B). */
function fldcw(f: Fpu, cw: number): void {
  f.cw = cw & 0x1f7f | 0x40;
  if (f.sw & ~f.cw & 0x3f) f.sw |= SW_ES | SW_B;
  else f.sw &= ~(SW_ES | SW_B);
}

function execReg(c: Cpu, ins: Instr): void {
  const f = c.fpu;
  const op = ins.op;
  const ext = ins.ext;
  const rm = ins.rm & 7;
  switch (op) {
    case 0xd8:
      if (ext === 2 || ext === 3) { fcom(c, st(f, 0), st(f, rm), false, ext - 2, false); return; }
      arith(f, ext, 0, st(f, 0), st(f, rm), false, new Flags());
      return;
    case 0xdc: case 0xde: {
      // ST(i) = ST(i) op ST(0); DC/DE swap the sense of SUB/SUBR, DIV/DIVR.
      if (op === 0xde && ext === 3) { if (rm !== 1) c.fault(EX_UD); fcom(c, st(f, 0), st(f, 1), false, 2, false); return; } // FCOMPP
      if (ext === 2 || ext === 3) { fcom(c, st(f, 0), st(f, rm), false, ext - 2 + (op === 0xde ? 1 : 0), false); return; }
      const k = ext >= 4 ? ext ^ 1 : ext;
      arith(f, k, rm, st(f, rm), st(f, 0), op === 0xde, new Flags());
      return;
    }
    case 0xd9: execD9(c, ext, rm); return;
    case 0xda:
      if (ext === 5 && rm === 1) { fcom(c, st(f, 0), st(f, 1), true, 2, false); return; } // FUCOMPP
      if (ext < 4) { fcmov(c, [2, 4, 6, 10][ext]!, rm); return; } // FCMOVB/E/BE/U
      c.fault(EX_UD);
      return;
    case 0xdb:
      if (ext < 4) { fcmov(c, [3, 5, 7, 11][ext]!, rm); return; } // FCMOVNB/NE/NBE/NU
      if (ext === 4) {
        if (rm === 2) { f.sw &= 0x7f00; return; } // FNCLEX
        if (rm === 3) { f.init(); return; } // FNINIT
        if (rm < 5) return; // FENI/FDISI/FSETPM: no-ops
        c.fault(EX_UD);
      }
      if (ext === 5 || ext === 6) { fcom(c, st(f, 0), st(f, rm), ext === 5, 0, true); return; } // FUCOMI / FCOMI
      c.fault(EX_UD);
      return;
    case 0xdd:
      switch (ext) {
        case 0: f.tag[f.phys(rm)] = 3; f.sw &= ~SW_C1; return; // FFREE
        case 1: fxch(f, rm); return; // DD C8+i: FXCH alias
        case 2: case 3: fstReg(f, rm, ext === 3); return; // FST / FSTP ST(i)
        case 4: fcom(c, st(f, 0), st(f, rm), true, 0, false); return; // FUCOM
        case 5: fcom(c, st(f, 0), st(f, rm), true, 1, false); return; // FUCOMP
        default: c.fault(EX_UD);
      }
      return;
    case 0xdf:
      if (ext === 4 && rm === 0) { setReg(c, 16, 0, 0, f.statusWord(), 0); return; } // FNSTSW AX
      if (ext === 5 || ext === 6) { fcom(c, st(f, 0), st(f, rm), ext === 5, 1, true); return; } // FUCOMIP / FCOMIP
      if (ext === 0) { f.tag[f.phys(rm)] = 3; f.pop(); return; } // FFREEP
      if (ext === 1) { fxch(f, rm); return; } // DF C8+i: FXCH alias
      if (ext === 2 || ext === 3) { fstReg(f, rm, true); return; } // DF D0+i, D8+i: FSTP aliases
      c.fault(EX_UD);
      return;
  }
}

/** FXCH ST(i) (D9 C8+i and the aliases DD C8+i, DF C8+i). */
function fxch(f: Fpu, rm: number): void {
  const e0 = f.isEmpty(0), ei = f.isEmpty(rm);
  if (e0 || ei) {
    if (!underflow(f)) return;
    if (e0) f.set(0, INDEFINITE);
    if (ei) f.set(rm, INDEFINITE);
  } else f.sw &= ~SW_C1;
  const t = f.get(0);
  f.set(0, f.get(rm));
  f.set(rm, t);
}

/** FST/FSTP ST(i) (DD D0+i, DD D8+i and the FSTP aliases D9 D8+i, DF D0+i, DF D8+i). */
function fstReg(f: Fpu, rm: number, pop: boolean): void {
  let v: F80 = INDEFINITE;
  if (f.isEmpty(0)) { if (!underflow(f)) return; } else v = f.get(0);
  f.sw &= ~SW_C1;
  f.set(rm, v);
  if (pop) f.pop();
}

function fcmov(c: Cpu, cc: number, rm: number): void {
  const f = c.fpu;
  if (f.isEmpty(0) || f.isEmpty(rm)) { if (underflow(f)) f.set(0, INDEFINITE); return; }
  if (cond(c, cc)) f.set(0, f.get(rm)); // C1 is left alone
}

/** One-operand ST(0) = fn(ST(0)) with the usual stack and exception handling. */
function unary(f: Fpu, fn: (a: F80, fl: Flags) => F80): void {
  if (f.isEmpty(0)) { if (underflow(f)) f.set(0, INDEFINITE); return; }
  const fl = new Flags();
  const r = fn(f.get(0), fl);
  if (commit(f, fl)) f.set(0, r);
}

/** ST(1) = fn(ST(1), ST(0)), pop. */
function binaryPop(f: Fpu, fn: (y: F80, x: F80, fl: Flags) => F80): void {
  if (f.isEmpty(0) || f.isEmpty(1)) { if (underflow(f)) { f.set(1, INDEFINITE); f.pop(); } return; }
  const fl = new Flags();
  const r = fn(f.get(1), f.get(0), fl);
  if (!commit(f, fl)) return;
  f.set(1, r);
  f.pop();
}

function execD9(c: Cpu, ext: number, rm: number): void {
  const f = c.fpu;
  const cw = f.cw;
  switch (ext) {
    case 0: { // FLD ST(i)
      if (f.isEmpty(rm)) { if (underflow(f)) pushIndefinite(f); return; }
      const v = f.get(rm);
      if (!f.isEmpty(7)) { if (overflow(f)) f.push(INDEFINITE); return; }
      f.sw &= ~SW_C1;
      f.push(v);
      return;
    }
    case 1: fxch(f, rm); return; // FXCH
    case 2: if (rm !== 0) c.fault(EX_UD); return; // FNOP
    case 3: // D9 D8+i: FSTP alias ("FSTP1"). With ST(0) empty the AMD host (Hangar reports
      // AuthenticAMD) signals no stack underflow and stores nothing, but still pops.
      if (f.isEmpty(0)) { f.sw &= ~SW_C1; f.pop(); return; }
      fstReg(f, rm, true);
      return;
    case 4:
      switch (rm) {
        case 0: case 1: // FCHS, FABS: sign bit only, no exceptions
          if (f.isEmpty(0)) { if (underflow(f)) f.set(0, INDEFINITE); return; }
          { const v = f.get(0); f.set(0, { se: rm === 0 ? v.se ^ 0x8000 : v.se & 0x7fff, m: v.m }); }
          f.sw &= ~SW_C1;
          return;
        case 4: fcom(c, st(f, 0), fromInt(0n), false, 0, false); return; // FTST
        case 5: fxam(f); return;
        default: c.fault(EX_UD);
      }
      return;
    case 5: { // constants
      if (rm === 7) c.fault(EX_UD);
      if (!f.isEmpty(7)) { if (overflow(f)) f.push(INDEFINITE); return; }
      f.sw &= ~SW_C1;
      f.push(constant(rm, cw));
      return;
    }
    case 6:
      switch (rm) {
        case 0: unary(f, (a, fl) => f2xm1(a, cw, fl)); return;
        case 1: binaryPop(f, (y, x, fl) => fyl2x(y, x, cw, fl)); return;
        case 2: { // FPTAN
          f.sw &= ~SW_C2;
          if (f.isEmpty(0)) { if (underflow(f)) { f.set(0, INDEFINITE); pushIndefinite(f); } return; }
          if (!f.isEmpty(7)) { if (overflow(f)) { f.set(0, INDEFINITE); f.push(INDEFINITE); } return; }
          const x = f.get(0);
          if (outOfRange(x)) { f.sw = (f.sw & ~SW_C1) | SW_C2; return; }
          const fl = new Flags();
          const t = tan(x, cw, fl);
          f.sw &= ~SW_C2;
          if (!commit(f, fl)) return;
          f.set(0, t);
          const nan = (t.se & 0x7fff) === 0x7fff && t.m !== 1n << 63n;
          f.push(nan ? t : fromInt(1n)); // a NaN result is pushed twice
          return;
        }
        case 3: binaryPop(f, (y, x, fl) => atan2(y, x, cw, fl)); return;
        case 4: { // FXTRACT
          if (f.isEmpty(0)) { if (underflow(f)) { f.set(0, INDEFINITE); pushIndefinite(f); } return; }
          if (!f.isEmpty(7)) { if (overflow(f)) { f.set(0, INDEFINITE); f.push(INDEFINITE); } return; }
          const fl = new Flags();
          const [e, s] = fxtract(f.get(0), fl);
          if (!commit(f, fl)) return;
          f.set(0, e);
          f.push(s);
          return;
        }
        case 5: fprem(c, true); return;
        case 6: f.top = (f.top - 1) & 7; f.sw &= ~SW_C1; return; // FDECSTP
        default: f.top = (f.top + 1) & 7; f.sw &= ~SW_C1; return; // FINCSTP
      }
    case 7:
      switch (rm) {
        case 0: fprem(c, false); return;
        case 1: binaryPop(f, (y, x, fl) => fyl2xp1(y, x, cw, fl)); return;
        case 2: unary(f, (a, fl) => sqrt(a, extFormat(cw), cw, fl)); return;
        case 3: { // FSINCOS
          f.sw &= ~SW_C2;
          if (f.isEmpty(0)) { if (underflow(f)) { f.set(0, INDEFINITE); pushIndefinite(f); } return; }
          if (!f.isEmpty(7)) { if (overflow(f)) { f.set(0, INDEFINITE); f.push(INDEFINITE); } return; }
          const x = f.get(0);
          if (outOfRange(x)) { f.sw = (f.sw & ~SW_C1) | SW_C2; return; }
          const fl = new Flags();
          const co = sinCos(x, true, cw, fl);
          const s = sinCos(x, false, cw, fl); // C1 reports the sine's rounding
          f.sw &= ~SW_C2;
          if (!commit(f, fl)) return;
          f.set(0, s);
          f.push(co);
          return;
        }
        case 4: unary(f, (a, fl) => frndint(a, cw, fl)); return;
        case 5: { // FSCALE
          if (f.isEmpty(0) || f.isEmpty(1)) { if (underflow(f)) f.set(0, INDEFINITE); return; }
          const fl = new Flags();
          const r = fscale(f.get(0), f.get(1), cw, fl);
          if (commit(f, fl)) f.set(0, r);
          return;
        }
        default: { // FSIN / FCOS
          f.sw &= ~SW_C2;
          if (f.isEmpty(0)) { if (underflow(f)) f.set(0, INDEFINITE); return; }
          const x = f.get(0);
          if (outOfRange(x)) { f.sw = (f.sw & ~SW_C1) | SW_C2; return; }
          const fl = new Flags();
          const r = sinCos(x, rm === 7, cw, fl);
          f.sw &= ~SW_C2;
          if (commit(f, fl)) f.set(0, r);
          return;
        }
      }
    default: c.fault(EX_UD);
  }
}
