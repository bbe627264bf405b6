// x87 transcendental instructions on 80-bit values: FSIN, FCOS, FSINCOS, FPTAN, FPATAN,
// F2XM1, FYL2X, FYL2XP1. Each is evaluated with ~200-bit intermediates (bigfloat.ts) and
// rounded once to 64 bits per the rounding control; arguments of FSIN/FCOS/FPTAN are reduced
// with the 66-bit pi the hardware uses. Hardware documents < 1 ulp error, so a rare
// last-bit difference from a given CPU remains possible.
import type { F80 } from './core.ts';
import { Cls, DE, EXT64, Flags, IE, INDEFINITE, J, ZE, classify, inf, isNaNCls, roundExt, signOf, toExact, zero, bitLength } from './core.ts';
import { checkOperands, mul as mul80, propagateNaN } from './arith.ts';
import { fromInt } from './convert.ts';
import type { BF } from './bigfloat.ts';
import * as B from './bigfloat.ts';

const rcOf = (cw: number): number => (cw >> 10) & 3;

/** Round a (never exact) bigfloat to the register format. */
function fromBF(v: BF, cw: number, fl: Flags): F80 {
  if (v.m === 0n) return zero(0);
  const sign = v.m < 0n ? 1 : 0;
  let m = sign ? -v.m : v.m;
  let e = v.e;
  const sh = B.P - bitLength(m);
  if (sh > 0) { m <<= BigInt(sh); e -= sh; }
  // A trailing 1 marks the value inexact (it is a truncated transcendental).
  return roundExt(sign, (m << 1n) | 1n, e - 1, EXT64, rcOf(cw), fl, cw);
}

const toBF = (x: F80): BF => {
  const v = toExact(x);
  return B.bf(v.sign ? -v.m : v.m, v.e);
};

/** Operand checks for one-operand transcendentals; returns a result for NaN/invalid. */
function check1(x: F80, c: Cls, fl: Flags): F80 | null {
  if (c === Cls.Unsupported) { fl.ex |= IE; return INDEFINITE; }
  if (isNaNCls(c)) return propagateNaN(x, c, null, Cls.Zero, fl);
  if (c === Cls.Denormal || c === Cls.PseudoDenormal) fl.ex |= DE;
  return null;
}

/** |x| >= 2^63: the instruction leaves ST(0) alone and sets C2. */
export function outOfRange(x: F80): boolean {
  const c = classify(x);
  return (c === Cls.Normal) && (x.se & 0x7fff) - 16383 >= 63;
}

/** Reduce by the 66-bit pi/2: r and the quadrant. */
function reduce(x: F80): { r: BF; q: number } {
  const v = toBF(x);
  const half = { m: B.PI66.m, e: B.PI66.e - 1 };
  // k = nearest integer to x / (pi/2)
  const ratio = B.div(v, half);
  let k: bigint;
  if (ratio.e >= 0) k = ratio.m << BigInt(ratio.e);
  else {
    const sh = BigInt(-ratio.e);
    k = (ratio.m + (1n << (sh - 1n))) >> sh;
  }
  if (k === 0n) return { r: v, q: 0 };
  const r = B.sub(v, B.mul({ m: k, e: 0 }, half));
  return { r, q: Number(((k % 4n) + 4n) % 4n) };
}

function sinOf(r: BF, q: number, cos: boolean): BF {
  const k = (q + (cos ? 1 : 0)) & 3;
  const v = k & 1 ? B.cosSeries(r) : B.sinSeries(r);
  return k & 2 ? B.neg(v) : v;
}

/** FSIN (cos=false) / FCOS. The caller has checked the range. */
export function sinCos(x: F80, cos: boolean, cw: number, fl: Flags): F80 {
  const c = classify(x);
  const pre = check1(x, c, fl);
  if (pre) return pre;
  if (c === Cls.Inf) { fl.ex |= IE; return INDEFINITE; }
  if (c === Cls.Zero) return cos ? fromInt(1n) : x;
  const { r, q } = reduce(x);
  return fromBF(sinOf(r, q, cos), cw, fl);
}

/** FPTAN's tangent (1.0 is pushed by the caller). */
export function tan(x: F80, cw: number, fl: Flags): F80 {
  const c = classify(x);
  const pre = check1(x, c, fl);
  if (pre) return pre;
  if (c === Cls.Inf) { fl.ex |= IE; return INDEFINITE; }
  if (c === Cls.Zero) return x;
  const { r, q } = reduce(x);
  const s = sinOf(r, q, false), co = sinOf(r, q, true);
  return fromBF(B.div(s, co), cw, fl);
}

/** FPATAN: atan2(y = ST(1), x = ST(0)). */
export function atan2(y: F80, x: F80, cw: number, fl: Flags): F80 {
  const cy = classify(y), cx = classify(x);
  const pre = checkOperands(y, cy, x, cx, fl);
  if (pre) return pre;
  const sy = signOf(y), sx = signOf(x);
  const signed = (v: BF): BF => (sy ? B.neg(v) : v);
  const halfPi: BF = { m: B.PI.m, e: B.PI.e - 1 };
  let a: BF;
  if (cy === Cls.Zero) {
    if (sx === 0) return zero(sy);
    a = B.PI;
  } else if (cy === Cls.Inf) {
    if (cx === Cls.Inf) a = sx ? B.mul(B.PI, { m: 3n, e: -2 }) : { m: B.PI.m, e: B.PI.e - 2 };
    else a = halfPi;
  } else if (cx === Cls.Inf) {
    if (sx === 0) return zero(sy);
    a = B.PI;
  } else if (cx === Cls.Zero) {
    a = halfPi;
  } else {
    const ay = toBF({ se: y.se & 0x7fff, m: y.m }), ax = toBF({ se: x.se & 0x7fff, m: x.m });
    const yBig = B.magnitude(ay) > B.magnitude(ax) || (B.magnitude(ay) === B.magnitude(ax) && B.sub(ay, ax).m > 0n);
    a = yBig ? B.sub(halfPi, B.atan(B.div(ax, ay))) : B.atan(B.div(ay, ax));
    if (sx) a = B.sub(B.PI, a);
  }
  return fromBF(signed(a), cw, fl);
}

/** F2XM1: 2^x - 1 for -1 <= x <= 1. */
export function f2xm1(x: F80, cw: number, fl: Flags): F80 {
  const c = classify(x);
  const pre = check1(x, c, fl);
  if (pre) return pre;
  if (c === Cls.Zero) return x;
  if (c === Cls.Inf) return signOf(x) ? fromInt(-1n) : x;
  // Exact results 2^1 - 1 = 1, 2^-1 - 1 = -0.5 (the host still reports PE for them).
  if (x.m === J && (x.se & 0x7fff) === 16383) { fl.ex |= 0x20; return signOf(x) ? { se: 0x8000 | 16382, m: J } : x; }
  return fromBF(B.expm1(B.mul(toBF(x), B.LN2)), cw, fl);
}

/** log2 |x| of a positive finite nonzero value (exact integer part handled by the caller). */
function log2(x: BF): BF {
  // x = f * 2^E with f in [sqrt(1/2), sqrt(2)): ln f = 2 atanh((f - 1) / (f + 1)).
  let E = B.magnitude(x);
  let f: BF = { m: x.m, e: x.e - E };
  if (B.sub(f, { m: 181n, e: -7 }).m > 0n) { f = { m: f.m, e: f.e - 1 }; E++; } // f > ~1.414
  const s = B.div(B.sub(f, B.ONE), B.add(f, B.ONE));
  const lnf = B.atanh2(s);
  return B.add({ m: BigInt(E), e: 0 }, B.div(lnf, B.LN2));
}

/** FYL2X: y * log2(x). */
export function fyl2x(y: F80, x: F80, cw: number, fl: Flags): F80 {
  const cy = classify(y), cx = classify(x);
  const pre = checkOperands(y, cy, x, cx, fl);
  if (pre) return pre;
  const sx = signOf(x), sy = signOf(y);
  if (sx && cx !== Cls.Zero) { fl.ex |= IE; return INDEFINITE; }
  if (cx === Cls.Zero) {
    if (cy === Cls.Zero) { fl.ex |= IE; return INDEFINITE; }
    if (cy !== Cls.Inf) fl.ex |= ZE;
    return inf(sy ^ 1);
  }
  const isOne = x.m === J && (x.se & 0x7fff) === 16383;
  if (cx === Cls.Inf) {
    if (cy === Cls.Zero) { fl.ex |= IE; return INDEFINITE; }
    return inf(sy);
  }
  if (cy === Cls.Inf) {
    if (isOne) { fl.ex |= IE; return INDEFINITE; }
    return inf(sy ^ ((x.se & 0x7fff) < 16383 ? 1 : 0));
  }
  const vx = toExact(x);
  if (vx.m === 1n << BigInt(bitLength(vx.m) - 1)) {
    // x is a power of two: log2 x is an integer and the product is an ordinary multiply.
    // The x87 still reports PE here (seen on the host CPU), though the product is exact.
    const k = vx.e + bitLength(vx.m) - 1;
    const r = mul80(y, fromInt(BigInt(k)), EXT64, cw, fl);
    if (k !== 0 && (fl.ex & 0x3f) === 0) fl.ex |= 0x20;
    return r;
  }
  if (cy === Cls.Zero) return zero(sy ^ ((x.se & 0x7fff) < 16383 ? 1 : 0));
  return fromBF(B.mul(toBF(y), log2(toBF(x))), cw, fl);
}

/** FYL2XP1: y * log2(x + 1) for |x| < 1 - sqrt(2)/2. */
export function fyl2xp1(y: F80, x: F80, cw: number, fl: Flags): F80 {
  const cy = classify(y), cx = classify(x);
  const pre = checkOperands(y, cy, x, cx, fl);
  if (pre) return pre;
  const sx = signOf(x), sy = signOf(y);
  if (cx === Cls.Zero) {
    if (cy === Cls.Inf) { fl.ex |= IE; return INDEFINITE; }
    return zero(sx ^ sy);
  }
  if (cy === Cls.Zero) return zero(sx ^ sy);
  if (cx === Cls.Inf || cy === Cls.Inf) {
    if (cx === Cls.Inf && sx) { fl.ex |= IE; return INDEFINITE; }
    return inf(sx ^ sy);
  }
  const bx = toBF(x);
  const ln = B.atanh2(B.div(bx, B.add({ m: 2n, e: 0 }, bx)));
  return fromBF(B.mul(toBF(y), B.div(ln, B.LN2)), cw, fl);
}

/** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (D9 E8-EE): rounded per RC, no PE. */
let consts: BF[] | null = null;
export function constant(k: number, cw: number): F80 {
  if (k === 0) return fromInt(1n);
  if (k === 6) return zero(0);
  if (!consts) {
    const l2t = log2({ m: 10n, e: 0 });
    const l2e = B.div(B.ONE, B.LN2);
    consts = [B.ONE, l2t, l2e, B.PI, B.div(B.ONE, l2t), B.LN2];
  }
  return fromBF(consts[k]!, cw, new Flags());
}
