// x87 arithmetic on 80-bit values: add, subtract, multiply, divide, square root, with the
// x87's operand rules (unsupported encodings and signalling NaNs are invalid, NaNs propagate
// by the larger significand, denormal operands raise DE) and exact-then-round results.
import type { F80 } from './core.ts';
import {
  Cls, DE, Flags, IE, INDEFINITE, J, ZE, bitLength, classify, inf, isNaNCls, quiet, roundExt, signOf, toExact, zero,
} from './core.ts';
import type { Format } from './core.ts';

/** NaN result of an operation with NaN operand(s); IE for a signalling one. */
export function propagateNaN(a: F80, ca: Cls, b: F80 | null, cb: Cls, fl: Flags): F80 {
  const an = isNaNCls(ca);
  const bn = b !== null && isNaNCls(cb);
  if (ca === Cls.SNaN || cb === Cls.SNaN) fl.ex |= IE;
  if (an && bn) {
    // Signalling and quiet: the quiet one. Otherwise the larger significand (then the positive).
    if (ca === Cls.SNaN && cb === Cls.QNaN) return b!;
    if (cb === Cls.SNaN && ca === Cls.QNaN) return a;
    const ma = a.m & ~J, mb = b!.m & ~J;
    if (ma > mb) return quiet(a);
    if (mb > ma) return quiet(b!);
    return quiet(a.se <= b!.se ? a : b!);
  }
  return quiet(an ? a : b!);
}

/**
 * Shared operand checks for two-operand ops. Returns the result when it is decided by the
 * operands' classes alone (invalid encodings, NaNs), otherwise null; raises DE.
 */
export function checkOperands(a: F80, ca: Cls, b: F80, cb: Cls, fl: Flags): F80 | null {
  if (ca === Cls.Unsupported || cb === Cls.Unsupported) { fl.ex |= IE; return INDEFINITE; }
  if (isNaNCls(ca) || isNaNCls(cb)) return propagateNaN(a, ca, b, cb, fl);
  if (ca === Cls.Denormal || ca === Cls.PseudoDenormal || cb === Cls.Denormal || cb === Cls.PseudoDenormal) fl.ex |= DE;
  return null;
}

function invalid(fl: Flags): F80 {
  fl.ex |= IE;
  return INDEFINITE;
}

/** a + b (sub: a - b) rounded to `f`. */
export function add(a: F80, b: F80, sub: boolean, f: Format, cw: number, fl: Flags): F80 {
  const ca = classify(a), cb = classify(b);
  const pre = checkOperands(a, ca, b, cb, fl);
  if (pre) return pre;
  const rc = (cw >> 10) & 3;
  const sa = signOf(a);
  const sb = signOf(b) ^ (sub ? 1 : 0);
  if (ca === Cls.Inf || cb === Cls.Inf) {
    if (ca === Cls.Inf && cb === Cls.Inf) return sa === sb ? inf(sa) : invalid(fl);
    return ca === Cls.Inf ? inf(sa) : inf(sb);
  }
  if (ca === Cls.Zero && cb === Cls.Zero) return zero(sa === sb ? sa : rc === 1 ? 1 : 0);
  const x = toExact(a), y = toExact(b);
  if (ca === Cls.Zero) return roundExt(sb, y.m, y.e, f, rc, fl, cw);
  if (cb === Cls.Zero) return roundExt(sa, x.m, x.e, f, rc, fl, cw);
  // A huge exponent gap would build enormous BigInts: the smaller operand only contributes a
  // sticky bit then.
  if (x.e - y.e > 200) return addFar(x.m, sa, x.e, sb, f, rc, cw, fl);
  if (y.e - x.e > 200) return addFar(y.m, sb, y.e, sa, f, rc, cw, fl);
  // Exact sum aligned to the smaller exponent.
  const e = Math.min(x.e, y.e);
  const mx = x.m << BigInt(x.e - e);
  const my = y.m << BigInt(y.e - e);
  let v = (sa ? -mx : mx) + (sb ? -my : my);
  if (v === 0n) return zero(rc === 1 ? 1 : 0);
  const sign = v < 0n ? 1 : 0;
  if (v < 0n) v = -v;
  return roundExt(sign, v, e, f, rc, fl, cw);
}

/** big * 2^e plus a value far below its last bit with sign `ss`: only a sticky contribution. */
function addFar(m: bigint, s: number, e: number, ss: number, f: Format, rc: number, cw: number, fl: Flags): F80 {
  let v = m << 3n;
  v = s === ss ? v + 1n : v - 1n;
  return roundExt(s, v, e - 3, f, rc, fl, cw);
}

export function mul(a: F80, b: F80, f: Format, cw: number, fl: Flags): F80 {
  const ca = classify(a), cb = classify(b);
  const pre = checkOperands(a, ca, b, cb, fl);
  if (pre) return pre;
  const s = signOf(a) ^ signOf(b);
  if (ca === Cls.Inf || cb === Cls.Inf) {
    if (ca === Cls.Zero || cb === Cls.Zero) return invalid(fl);
    return inf(s);
  }
  if (ca === Cls.Zero || cb === Cls.Zero) return zero(s);
  const x = toExact(a), y = toExact(b);
  return roundExt(s, x.m * y.m, x.e + y.e, f, (cw >> 10) & 3, fl, cw);
}

export function div(a: F80, b: F80, f: Format, cw: number, fl: Flags): F80 {
  const ca = classify(a), cb = classify(b);
  const pre = checkOperands(a, ca, b, cb, fl);
  if (pre) return pre;
  const s = signOf(a) ^ signOf(b);
  if (ca === Cls.Inf) return cb === Cls.Inf ? invalid(fl) : inf(s);
  if (cb === Cls.Inf) return zero(s);
  if (cb === Cls.Zero) {
    if (ca === Cls.Zero) return invalid(fl);
    fl.ex |= ZE;
    return inf(s);
  }
  if (ca === Cls.Zero) return zero(s);
  const x = toExact(a), y = toExact(b);
  // Enough quotient bits for 64-bit rounding plus guard bits, with the remainder as sticky.
  const sh = 130 + bitLength(y.m) - bitLength(x.m);
  const num = x.m << BigInt(sh);
  let q = num / y.m;
  if (q * y.m !== num) q = (q << 1n) | 1n;
  else q <<= 1n;
  return roundExt(s, q, x.e - y.e - sh - 1, f, (cw >> 10) & 3, fl, cw);
}

/** Integer square root (floor) of a non-negative BigInt. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(a: F80, f: Format, cw: number, fl: Flags): F80 {
  const ca = classify(a);
  if (ca === Cls.Unsupported) return invalid(fl);
  if (isNaNCls(ca)) return propagateNaN(a, ca, null, Cls.Zero, fl);
  const s = signOf(a);
  if (ca === Cls.Zero) return a;
  if (ca === Cls.Denormal || ca === Cls.PseudoDenormal) fl.ex |= DE;
  if (s) return invalid(fl);
  if (ca === Cls.Inf) return a;
  const x = toExact(a);
  // Make the exponent even and the radicand wide enough for 66+ result bits.
  let m = x.m, e = x.e;
  const want = 140 - bitLength(m);
  let sh = want > 0 ? want : 0;
  if ((e - sh) & 1) sh++;
  m <<= BigInt(sh);
  e -= sh;
  let r = isqrt(m);
  r = r * r === m ? r << 1n : (r << 1n) | 1n;
  return roundExt(0, r, e / 2 - 1, f, (cw >> 10) & 3, fl, cw);
}
