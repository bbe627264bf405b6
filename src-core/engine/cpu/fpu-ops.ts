// x87 instruction building blocks: the stack discipline (underflow/overflow with the masked
// responses), committing exception flags to the status word, comparisons, FXAM, FPREM,
// FSCALE, FXTRACT, FRNDINT. Numeric work is in float80/.
import type { Cpu } from './cpu.ts';
import type { F80 } from './float80/core.ts';
import { BIAS, Cls, DE, EXT64, Flags, IE, INDEFINITE, OE, PE, UE, ZE, bitLength, classify, inf, isNaNCls, roundExt, signOf, toExact, zero } from './float80/core.ts';
import { checkOperands, propagateNaN } from './float80/arith.ts';
import { fromInt, roundToInteger } from './float80/convert.ts';
import { SW_B, SW_C0, SW_C1, SW_C2, SW_C3, SW_ES, SW_SF } from './fpu.ts';
import type { Fpu } from './fpu.ts';

/**
 * Record an instruction's exceptions and C1. Returns whether the result may be written: an
 * unmasked invalid, denormal or divide-by-zero exception leaves the destination alone.
 */
export function commit(f: Fpu, fl: Flags): boolean {
  // Priority: an invalid operation or division by zero hides a denormal operand and any
  // rounding outcome.
  if (fl.ex & (IE | ZE)) fl.ex &= IE | ZE;
  let unmasked = fl.ex & ~f.cw & 0x3f;
  if (unmasked & (IE | DE | ZE)) {
    // The operation does not complete: only the exception that stopped it is reported.
    fl.ex &= IE | DE | ZE;
    fl.c1 = false;
    unmasked = fl.ex & ~f.cw & 0x3f;
  }
  f.sw = (f.sw & ~SW_C1) | (fl.c1 ? SW_C1 : 0) | (fl.ex & 0x3f);
  if (unmasked) f.sw |= SW_ES | SW_B;
  return (unmasked & (IE | DE | ZE)) === 0;
}

/** Stack underflow (an empty source): IE + SF, C1 = 0. Returns whether IE is masked. */
export function underflow(f: Fpu): boolean {
  f.sw = (f.sw & ~SW_C1) | IE | SW_SF;
  if (!(f.cw & IE)) { f.sw |= SW_ES | SW_B; return false; }
  return true;
}

/** Stack overflow (pushing onto a full register): IE + SF, C1 = 1. Returns whether masked. */
export function overflow(f: Fpu): boolean {
  f.sw |= IE | SW_SF | SW_C1;
  if (!(f.cw & IE)) { f.sw |= SW_ES | SW_B; return false; }
  return true;
}

/** After a masked stack underflow: the indefinite is pushed without an overflow check. */
export function pushIndefinite(f: Fpu): void {
  f.push(INDEFINITE);
}

/** Push with the overflow check; the masked response pushes the indefinite. */
export function pushChecked(f: Fpu, v: F80): void {
  if (!f.isEmpty(7)) {
    if (overflow(f)) f.push(INDEFINITE);
    return;
  }
  f.push(v);
}

/** Comparison outcome: C3 C2 C0 bits of the status word. */
export const CMP_GT = 0, CMP_LT = SW_C0, CMP_EQ = SW_C3, CMP_UN = SW_C3 | SW_C2 | SW_C0;

/** Compare a with b; `quietNaNs` (FUCOM) raises IE only for signalling NaNs. */
export function compare(a: F80, b: F80, quietNaNs: boolean, fl: Flags): number {
  const ca = classify(a), cb = classify(b);
  if (ca === Cls.Unsupported || cb === Cls.Unsupported) { fl.ex |= IE; return CMP_UN; }
  if (isNaNCls(ca) || isNaNCls(cb)) {
    if (!quietNaNs || ca === Cls.SNaN || cb === Cls.SNaN) fl.ex |= IE;
    return CMP_UN;
  }
  if (ca === Cls.Denormal || ca === Cls.PseudoDenormal || cb === Cls.Denormal || cb === Cls.PseudoDenormal) fl.ex |= DE;
  const d = order(a, ca, b, cb);
  return d < 0 ? CMP_LT : d > 0 ? CMP_GT : CMP_EQ;
}

/** Sign of a - b for non-NaN values. */
function order(a: F80, ca: Cls, b: F80, cb: Cls): number {
  const key = (x: F80, c: Cls): [number, bigint] => {
    if (c === Cls.Zero) return [0, 0n];
    const s = signOf(x) ? -1 : 1;
    if (c === Cls.Inf) return [s, 1n << 40000n]; // above every finite key (at most 2^32829)
    const v = toExact(x);
    return [s, v.m << BigInt(v.e + 16445)]; // exact, non-negative scale
  };
  const [sa, ma] = key(a, ca);
  const [sb, mb] = key(b, cb);
  const va = sa < 0 ? -ma : ma, vb = sb < 0 ? -mb : mb;
  return va < vb ? -1 : va > vb ? 1 : 0;
}

/** Set C3/C2/C0 from a comparison (C1 cleared). */
export function setCc(f: Fpu, r: number): void {
  f.sw = (f.sw & ~(SW_C3 | SW_C2 | SW_C1 | SW_C0)) | r;
}

/** FXAM: class of ST(0) into C3 C2 C0, sign into C1 (works on empty registers too). */
export function fxam(f: Fpu): void {
  const v = f.get(0);
  let r: number;
  if (f.isEmpty(0)) r = SW_C3 | SW_C0;
  else {
    switch (classify(v)) {
      case Cls.Unsupported: r = 0; break;
      case Cls.QNaN: case Cls.SNaN: r = SW_C0; break;
      case Cls.Normal: r = SW_C2; break;
      case Cls.Inf: r = SW_C2 | SW_C0; break;
      case Cls.Zero: r = SW_C3; break;
      default: r = SW_C3 | SW_C2; // denormal, pseudo-denormal
    }
  }
  f.sw = (f.sw & ~(SW_C3 | SW_C2 | SW_C1 | SW_C0)) | r | (signOf(v) ? SW_C1 : 0);
}

/**
 * FPREM (ieee=false: truncating quotient) / FPREM1 (nearest). Partial remainder when the
 * exponents differ by 64 or more: C2 set and the exponent reduced by 32..63 per step.
 */
export function fprem(c: Cpu, ieee: boolean): void {
  const f = c.fpu;
  f.sw &= ~SW_C2;
  if (f.isEmpty(0) || f.isEmpty(1)) { if (underflow(f)) f.set(0, INDEFINITE); return; }
  const a = f.get(0), b = f.get(1);
  const fl = new Flags();
  const ca = classify(a), cb = classify(b);
  let res: F80 | null = checkOperands(a, ca, b, cb, fl);
  let q = 0n;
  let partial = false;
  let computed = false; // NaN and invalid cases leave C0, C3 alone
  if (!res) {
    if (ca === Cls.Inf || cb === Cls.Zero) { fl.ex |= IE; res = INDEFINITE; }
    else if (ca === Cls.Zero || cb === Cls.Inf) { res = a; computed = true; }
    else {
      computed = true;
      const x = toExact(a), y = toExact(b);
      const ea = x.e + bitLength(x.m) - 1, eb = y.e + bitLength(y.m) - 1;
      const d = ea - eb;
      if (d >= 64) {
        partial = true;
        const n = 32 + (d & 31);
        // ST0 - ST1 * trunc(ST0 / ST1 / 2^(d - n)) * 2^(d - n)
        const sh = d - n;
        const e = Math.min(x.e, y.e + sh);
        const ma = x.m << BigInt(x.e - e), mb = y.m << BigInt(y.e + sh - e);
        const qq = ma / mb;
        res = packRem(x.sign, ma - qq * mb, e, c, fl);
      } else {
        const e = Math.min(x.e, y.e);
        const ma = x.m << BigInt(x.e - e), mb = y.m << BigInt(y.e - e);
        q = ma / mb;
        let r = ma - q * mb;
        let sign = x.sign;
        if (ieee && (2n * r > mb || (2n * r === mb && (q & 1n) === 1n))) { r = mb - r; q += 1n; sign ^= 1; }
        res = r === 0n ? zero(x.sign) : packRem(sign, r, e, c, fl);
      }
    }
  }
  if (!commit(f, fl)) return;
  f.set(0, res);
  if (!computed) return;
  let cc = f.sw & ~(SW_C3 | SW_C2 | SW_C1 | SW_C0);
  if (partial) cc |= SW_C2;
  else {
    if (q & 1n) cc |= SW_C1;
    if (q & 2n) cc |= SW_C3;
    if (q & 4n) cc |= SW_C0;
  }
  f.sw = cc;
}

function packRem(sign: number, m: bigint, e: number, c: Cpu, fl: Flags): F80 {
  if (m === 0n) return zero(sign);
  return roundExt(sign, m, e, EXT64, 0, fl, c.fpu.cw); // exact: a remainder always fits
}

/** FSCALE: ST(0) * 2^trunc(ST(1)). */
export function fscale(a: F80, b: F80, cw: number, fl: Flags): F80 {
  const ca = classify(a), cb = classify(b);
  const pre = checkOperands(a, ca, b, cb, fl);
  if (pre) return pre;
  if (cb === Cls.Inf) {
    if (signOf(b)) return ca === Cls.Inf ? (fl.ex |= IE, INDEFINITE) : zero(signOf(a));
    return ca === Cls.Zero ? (fl.ex |= IE, INDEFINITE) : inf(signOf(a));
  }
  if (ca === Cls.Zero || ca === Cls.Inf) return a;
  let k = 0;
  if (cb !== Cls.Zero) {
    const y = toExact(b);
    const t = roundToInteger(y.sign, y.m, y.e, 3).q;
    k = t > 100000n ? 100000 : Number(t);
    if (y.sign) k = -k;
  }
  const x = toExact(a);
  // With OE (UE) unmasked a result too large (small) even for the 24576 bias adjustment
  // becomes a signed infinity with OE, PE and C1 set (a signed zero with UE, PE, C1 clear),
  // whatever the rounding: the host's answers (only FSCALE can get that far).
  const top = x.e + k + bitLength(x.m) - 1 + BIAS; // biased exponent before rounding
  if (!(cw & OE) && top - 24576 > 0x7ffe) {
    fl.ex |= OE | PE;
    fl.c1 = true;
    return inf(x.sign);
  }
  if (!(cw & UE) && top + 24576 < 1) {
    fl.ex |= UE | PE;
    fl.c1 = false;
    return zero(x.sign);
  }
  return roundExt(x.sign, x.m, x.e + k, EXT64, (cw >> 10) & 3, fl, cw);
}

/** FRNDINT. */
export function frndint(a: F80, cw: number, fl: Flags): F80 {
  const c = classify(a);
  if (c === Cls.Unsupported) { fl.ex |= IE; return INDEFINITE; }
  if (isNaNCls(c)) return propagateNaN(a, c, null, Cls.Zero, fl);
  if (c === Cls.Zero || c === Cls.Inf) return a;
  if (c === Cls.Denormal || c === Cls.PseudoDenormal) fl.ex |= DE;
  const x = toExact(a);
  const r = roundToInteger(x.sign, x.m, x.e, (cw >> 10) & 3);
  if (r.inexact) { fl.ex |= 0x20; fl.c1 = r.up; }
  if (r.q === 0n) return zero(x.sign);
  const v = fromInt(r.q);
  return { se: v.se | (x.sign << 15), m: v.m };
}

/** FXTRACT: [exponent, significand]; the caller stores ST(1) = exponent, ST(0) = significand. */
export function fxtract(a: F80, fl: Flags): [F80, F80] {
  const c = classify(a);
  if (c === Cls.Unsupported) { fl.ex |= IE; return [INDEFINITE, INDEFINITE]; }
  if (isNaNCls(c)) { const n = propagateNaN(a, c, null, Cls.Zero, fl); return [n, n]; }
  if (c === Cls.Zero) { fl.ex |= ZE; return [inf(1), a]; }
  if (c === Cls.Inf) return [inf(0), a];
  if (c === Cls.Denormal || c === Cls.PseudoDenormal) fl.ex |= DE;
  const x = toExact(a);
  const n = bitLength(x.m);
  const exp = x.e + n - 1;
  const sig: F80 = { se: (x.sign << 15) | BIAS, m: x.m << BigInt(64 - n) };
  return [fromInt(BigInt(exp)), sig];
}
