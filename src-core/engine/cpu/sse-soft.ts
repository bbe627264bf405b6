// SSE/SSE2 floating point with MXCSR semantics: exception flags (IE, DE, ZE, OE, UE, PE),
// rounding control, DAZ (denormal inputs read as zero) and FTZ (tiny results flushed to
// zero). Common cases (round to nearest, normal operands and results) run on JavaScript
// doubles with exact error terms deciding PE; everything else goes through the BigInt
// rounding core shared with the x87 (float80/core.ts). Flags of one instruction collect in
// `mx.ex`; sse-mxcsr.ts decides whether they fault.
import { DBL, SGL, bitLength, round } from './float80/core.ts';
import type { Format } from './float80/core.ts';
import { isqrt } from './float80/arith.ts';

export const MX_IE = 1, MX_DE = 2, MX_ZE = 4, MX_OE = 8, MX_UE = 0x10, MX_PE = 0x20;
const DAZ = 0x40, FTZ = 0x8000;

/** Exception flags raised by the instruction being executed. */
export const mx = { ex: 0 };

const enum K { Zero, Normal, Denormal, Inf, QNaN, SNaN }

interface Lane { k: K; sign: number; m: bigint; e: number }

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const F64 = new Float64Array(1);
const U64 = new Uint32Array(F64.buffer);

const fmtOf = (dbl: boolean): Format => (dbl ? DBL : SGL);

function unpack(bits: bigint, dbl: boolean, mxcsr: number): Lane {
  const fb = dbl ? 52n : 23n;
  const eb = dbl ? 11n : 8n;
  const emax = (1 << Number(eb)) - 1;
  const sign = Number(bits >> (fb + eb)) & 1;
  const ex = Number((bits >> fb) & BigInt(emax));
  const frac = bits & ((1n << fb) - 1n);
  const f = fmtOf(dbl);
  if (ex === emax) {
    if (frac === 0n) return { k: K.Inf, sign, m: 0n, e: 0 };
    return { k: frac >> (fb - 1n) ? K.QNaN : K.SNaN, sign, m: frac, e: 0 };
  }
  if (ex === 0) {
    if (frac === 0n || mxcsr & DAZ) return { k: K.Zero, sign, m: 0n, e: 0 };
    return { k: K.Denormal, sign, m: frac, e: f.lsbMin };
  }
  return { k: K.Normal, sign, m: frac | (1n << fb), e: ex - f.maxExp - Number(fb) };
}

const isNaN_ = (l: Lane): boolean => l.k === K.QNaN || l.k === K.SNaN;

function defaultNaN(dbl: boolean): bigint {
  return dbl ? 0xfff8000000000000n : 0xffc00000n;
}

function quietBits(bits: bigint, dbl: boolean): bigint {
  return bits | (dbl ? 1n << 51n : 1n << 22n);
}

function infBits(sign: number, dbl: boolean): bigint {
  return (BigInt(sign) << (dbl ? 63n : 31n)) | (dbl ? 0x7ff0000000000000n : 0x7f800000n);
}

/** Round sign * m * 2^e (m > 0, sticky folded in) to single/double with MXCSR rules. */
export function roundPack(sign: number, m: bigint, e: number, dbl: boolean, mxcsr: number): bigint {
  const f = fmtOf(dbl);
  const fb = BigInt(f.p - 1);
  const rc = (mxcsr >> 13) & 3;
  const sbit = BigInt(sign) << (dbl ? 63n : 31n);
  const r = round(sign, m, e, f, rc);
  // An unmasked overflow/underflow traps with the destination unchanged; PE then reports
  // whether the result rounded to the format's precision with an unbounded exponent (the
  // value the SDM's trap handler would see) is inexact, not the denormalised/infinite one.
  // Measured on the host (AMD EPYC): 2^127 * 2 traps with OE alone, 1 / denormal with OE|PE.
  if (r.overflow) {
    if (!(mxcsr & (MX_OE << 7))) { mx.ex |= precisionLoss(m, f.p) ? MX_OE | MX_PE : MX_OE; return sbit; }
    mx.ex |= MX_OE | MX_PE;
    const toInf = rc === 0 || (rc === 1 && sign === 1) || (rc === 2 && sign === 0);
    if (toInf) return infBits(sign, dbl);
    return sbit | ((BigInt(2 * f.maxExp) << fb) | ((1n << fb) - 1n));
  }
  if (r.tiny) {
    if (!(mxcsr & (MX_UE << 7))) { mx.ex |= precisionLoss(m, f.p) ? MX_UE | MX_PE : MX_UE; return sbit; }
    if (mxcsr & FTZ) { mx.ex |= MX_UE | MX_PE; return sbit; }
    if (r.inexact) mx.ex |= MX_UE | MX_PE;
  } else if (r.inexact) mx.ex |= MX_PE;
  if (r.q === 0n) return sbit;
  const n = bitLength(r.q);
  const top = r.lsb + n - 1;
  if (top < 1 - f.maxExp) return sbit | (r.q << BigInt(r.lsb - f.lsbMin)); // denormal
  const frac = (n <= f.p ? r.q << BigInt(f.p - n) : r.q >> BigInt(n - f.p)) & ((1n << fb) - 1n);
  return sbit | (BigInt(top + f.maxExp) << fb) | frac;
}

/** Whether m (sticky bit folded into its lsb) has set bits below its top p bits. */
function precisionLoss(m: bigint, p: number): boolean {
  const n = bitLength(m);
  return n > p && (m & ((1n << BigInt(n - p)) - 1n)) !== 0n;
}

/** NaN operands: IE for a signalling one; the first NaN source wins (quietened). */
function nanResult(a: Lane, ab: bigint, b: Lane, bb: bigint, dbl: boolean): bigint {
  if (a.k === K.SNaN || b.k === K.SNaN) mx.ex |= MX_IE;
  return quietBits(isNaN_(a) ? ab : bb, dbl);
}

/**
 * Binary op on raw lane bits: 0 add, 1 mul, 4 sub, 6 div, 8 sqrt (of b). Min/max are
 * handled by minMax.
 */
export function softOp(op: number, ab: bigint, bb: bigint, dbl: boolean, mxcsr: number): bigint {
  const b = unpack(bb, dbl, mxcsr);
  if (op === 8) {
    if (isNaN_(b)) { if (b.k === K.SNaN) mx.ex |= MX_IE; return quietBits(bb, dbl); }
    if (b.k === K.Zero) return BigInt(b.sign) << (dbl ? 63n : 31n);
    if (b.sign) { mx.ex |= MX_IE; return defaultNaN(dbl); } // invalid hides a denormal operand
    if (b.k === K.Denormal) mx.ex |= MX_DE;
    if (b.k === K.Inf) return bb;
    let m = b.m, e = b.e;
    let sh = 2 * (dbl ? 53 : 24) + 6 - bitLength(m);
    if (sh < 0) sh = 0;
    if ((e - sh) & 1) sh++;
    m <<= BigInt(sh);
    e -= sh;
    const s = isqrt(m);
    return roundPack(0, s * s === m ? s << 1n : (s << 1n) | 1n, e / 2 - 1, dbl, mxcsr);
  }
  const a = unpack(ab, dbl, mxcsr);
  if (isNaN_(a) || isNaN_(b)) return nanResult(a, ab, b, bb, dbl);
  // Division by zero outranks a denormal operand: DEN / 0 reports ZE only (host behaviour,
  // SDM 11.5.2 precedence: divide-by-zero before denormal-operand).
  if ((a.k === K.Denormal || b.k === K.Denormal) && !(op === 6 && b.k === K.Zero)) mx.ex |= MX_DE;
  const rc = (mxcsr >> 13) & 3;
  const sb = op === 4 ? b.sign ^ 1 : b.sign;
  switch (op) {
    case 0: case 4: {
      if (a.k === K.Inf || b.k === K.Inf) {
        if (a.k === K.Inf && b.k === K.Inf && a.sign !== sb) { mx.ex |= MX_IE; return defaultNaN(dbl); }
        return infBits(a.k === K.Inf ? a.sign : sb, dbl);
      }
      if (a.k === K.Zero && b.k === K.Zero) return BigInt(a.sign === sb ? a.sign : rc === 1 ? 1 : 0) << (dbl ? 63n : 31n);
      const e = Math.min(a.k === K.Zero ? b.e : a.e, b.k === K.Zero ? a.e : b.e);
      const ma = a.k === K.Zero ? 0n : a.m << BigInt(a.e - e);
      const mb = b.k === K.Zero ? 0n : b.m << BigInt(b.e - e);
      let v = (a.sign ? -ma : ma) + (sb ? -mb : mb);
      if (v === 0n) return BigInt(rc === 1 ? 1 : 0) << (dbl ? 63n : 31n);
      const sign = v < 0n ? 1 : 0;
      if (v < 0n) v = -v;
      return roundPack(sign, v, e, dbl, mxcsr);
    }
    case 1: {
      const s = a.sign ^ b.sign;
      if (a.k === K.Inf || b.k === K.Inf) {
        if (a.k === K.Zero || b.k === K.Zero) { mx.ex |= MX_IE; return defaultNaN(dbl); }
        return infBits(s, dbl);
      }
      if (a.k === K.Zero || b.k === K.Zero) return BigInt(s) << (dbl ? 63n : 31n);
      return roundPack(s, a.m * b.m, a.e + b.e, dbl, mxcsr);
    }
    default: {
      const s = a.sign ^ b.sign;
      if (a.k === K.Inf) { if (b.k === K.Inf) { mx.ex |= MX_IE; return defaultNaN(dbl); } return infBits(s, dbl); }
      if (b.k === K.Inf) return BigInt(s) << (dbl ? 63n : 31n);
      if (b.k === K.Zero) {
        if (a.k === K.Zero) { mx.ex |= MX_IE; return defaultNaN(dbl); }
        mx.ex |= MX_ZE;
        return infBits(s, dbl);
      }
      if (a.k === K.Zero) return BigInt(s) << (dbl ? 63n : 31n);
      const sh = 60 + bitLength(b.m) - bitLength(a.m);
      const num = a.m << BigInt(sh);
      let q = num / b.m;
      q = q * b.m === num ? q << 1n : (q << 1n) | 1n;
      return roundPack(s, q, a.e - b.e - sh - 1, dbl, mxcsr);
    }
  }
}

/** MINxx/MAXxx: any NaN raises IE and returns the second operand; so do equal values. */
export function minMax(max: boolean, ab: bigint, bb: bigint, dbl: boolean, mxcsr: number): bigint {
  const a = unpack(ab, dbl, mxcsr), b = unpack(bb, dbl, mxcsr);
  // The second operand is returned as read: a denormal under DAZ comes back as its zero.
  if (isNaN_(a) || isNaN_(b)) { mx.ex |= MX_IE; return b.k === K.Zero ? BigInt(b.sign) << (dbl ? 63n : 31n) : bb; }
  if (a.k === K.Denormal || b.k === K.Denormal) mx.ex |= MX_DE;
  const d = order(a, b);
  const pickA = max ? d > 0 : d < 0;
  // Under DAZ a denormal operand is returned as the zero it was read as.
  const l = pickA ? a : b;
  if (l.k === K.Zero) return BigInt(l.sign) << (dbl ? 63n : 31n);
  return pickA ? ab : bb;
}

/** Sign of a - b for non-NaN lanes (zeros of either sign are equal). */
function order(a: Lane, b: Lane): number {
  const key = (l: Lane): bigint => {
    if (l.k === K.Zero) return 0n;
    const v = l.k === K.Inf ? 1n << 2200n : l.m << BigInt(l.e + 1200);
    return l.sign ? -v : v;
  };
  const x = key(a), y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** CMPxx predicate (0-7) with IE for NaNs per predicate (signalling: LT LE NLT NLE). */
export function cmpLane(pred: number, ab: bigint, bb: bigint, dbl: boolean, mxcsr: number): boolean {
  const a = unpack(ab, dbl, mxcsr), b = unpack(bb, dbl, mxcsr);
  const un = isNaN_(a) || isNaN_(b);
  const signalling = pred === 1 || pred === 2 || pred === 5 || pred === 6;
  if (un) { if (signalling || a.k === K.SNaN || b.k === K.SNaN) mx.ex |= MX_IE; }
  else if (a.k === K.Denormal || b.k === K.Denormal) mx.ex |= MX_DE;
  const d = un ? 0 : order(a, b);
  switch (pred & 7) {
    case 0: return !un && d === 0;
    case 1: return !un && d < 0;
    case 2: return !un && d <= 0;
    case 3: return un;
    case 4: return un || d !== 0;
    case 5: return un || d >= 0;
    case 6: return un || d > 0;
    default: return !un;
  }
}

/** (U)COMISx: ZF PF CF encoding; 3 = unordered, 1 = less, 2 = equal, 0 = greater. */
export function comiLane(ordered: boolean, ab: bigint, bb: bigint, dbl: boolean, mxcsr: number): number {
  const a = unpack(ab, dbl, mxcsr), b = unpack(bb, dbl, mxcsr);
  if (isNaN_(a) || isNaN_(b)) {
    if (ordered || a.k === K.SNaN || b.k === K.SNaN) mx.ex |= MX_IE;
    return 3;
  }
  if (a.k === K.Denormal || b.k === K.Denormal) mx.ex |= MX_DE;
  const d = order(a, b);
  return d < 0 ? 1 : d === 0 ? 2 : 0;
}

/** CVTSS2SD / CVTSD2SS style conversion between the two float formats. */
export function convertFloat(bits: bigint, fromDbl: boolean, mxcsr: number): bigint {
  const a = unpack(bits, fromDbl, mxcsr);
  const toDbl = !fromDbl;
  const sbit = BigInt(a.sign) << (toDbl ? 63n : 31n);
  switch (a.k) {
    case K.Zero: return sbit;
    case K.Inf: return infBits(a.sign, toDbl);
    case K.QNaN: case K.SNaN: {
      if (a.k === K.SNaN) mx.ex |= MX_IE;
      const frac = fromDbl ? (a.m | (1n << 51n)) >> 29n : (a.m | (1n << 22n)) << 29n;
      return sbit | (toDbl ? 0x7ff0000000000000n : 0x7f800000n) | frac;
    }
    default:
      if (a.k === K.Denormal) mx.ex |= MX_DE;
      return roundPack(a.sign, a.m, a.e, toDbl, mxcsr);
  }
}

/** Integer to single/double per MXCSR.RC (PE when it rounds). */
export function fromInteger(v: bigint, dbl: boolean, mxcsr: number): bigint {
  if (v === 0n) return 0n;
  const sign = v < 0n ? 1 : 0;
  return roundPack(sign, sign ? -v : v, 0, dbl, mxcsr);
}

/**
 * Float lane to a signed integer of `bits` (32/64): rounding per RC or truncation; NaN and
 * out-of-range give the integer indefinite with IE; PE when the value was not an integer.
 */
export function toInteger(fbits: bigint, dbl: boolean, bits: number, truncate: boolean, mxcsr: number): bigint {
  const a = unpack(fbits, dbl, mxcsr);
  const indef = 1n << BigInt(bits - 1);
  if (isNaN_(a) || a.k === K.Inf) { mx.ex |= MX_IE; return indef; }
  if (a.k === K.Zero) return 0n;
  const rc = truncate ? 3 : (mxcsr >> 13) & 3;
  let q: bigint;
  let inexact = false;
  if (a.e >= 0) q = a.m << BigInt(a.e);
  else {
    const sh = BigInt(-a.e);
    q = a.m >> sh;
    const rem = a.m - (q << sh);
    if (rem !== 0n) {
      inexact = true;
      const half = 1n << (sh - 1n);
      const up = rc === 0 ? rem > half || (rem === half && (q & 1n) === 1n) : rc === 1 ? a.sign === 1 : rc === 2 ? a.sign === 0 : false;
      if (up) q += 1n;
    }
  }
  const v = a.sign ? -q : q;
  if (v >= indef || v < -indef) { mx.ex |= MX_IE; return indef; }
  if (inexact) mx.ex |= MX_PE;
  return BigInt.asUintN(bits, v);
}

// ---- fast paths for the common case ----

/** Exact product error (Dekker): p + err = x * y for |x|, |y| within 2^±500. */
function prodErr(x: number, y: number, p: number): number {
  const C = 134217729; // 2^27 + 1
  const xh = x * C - (x * C - x), xl = x - xh;
  const yh = y * C - (y * C - y), yl = y - yh;
  return ((xh * yh - p) + xh * yl + xl * yh) + xl * yl;
}

const MIN_NORMAL = 2.2250738585072014e-308;
const moderate = (v: number): boolean => { const a = Math.abs(v); return a > 2 ** -480 && a < 2 ** 480; };
const normalOrZero = (v: number): boolean => v === 0 || (Math.abs(v) >= MIN_NORMAL && Math.abs(v) < Infinity);

/**
 * Double-precision add/sub/mul/div/sqrt in round-to-nearest with normal operands and a
 * normal result, flags included; undefined means "take the exact path".
 */
export function fastF64(op: number, x: number, y: number): number | undefined {
  let r: number;
  switch (op) {
    case 0: case 4: {
      if (!normalOrZero(x) || !normalOrZero(y)) return undefined;
      const yy = op === 4 ? -y : y;
      r = x + yy;
      // Zero results (signs depend on RC and operands) and tiny ones take the exact path.
      if (!Number.isFinite(r) || r === 0 || Math.abs(r) < MIN_NORMAL) return undefined;
      const bv = r - x;
      const err = (x - (r - bv)) + (yy - bv);
      if (err !== 0) mx.ex |= MX_PE;
      return r;
    }
    case 1:
      if (!moderate(x) || !moderate(y)) return undefined;
      r = x * y;
      if (Math.abs(r) < MIN_NORMAL || !Number.isFinite(r)) return undefined;
      if (prodErr(x, y, r) !== 0) mx.ex |= MX_PE;
      return r;
    case 6:
      if (!moderate(x) || !moderate(y)) return undefined;
      r = x / y;
      if (!moderate(r)) return undefined;
      if (r * y !== x || prodErr(r, y, r * y) !== 0) mx.ex |= MX_PE;
      return r;
    case 8:
      if (!moderate(y) || y < 0) return undefined;
      r = Math.sqrt(y);
      if (r * r !== y || prodErr(r, r, r * r) !== 0) mx.ex |= MX_PE;
      return r;
    default: return undefined;
  }
}

/** Single precision through doubles (correctly rounded for these ops: 53 >= 2 * 24 + 2). */
export function fastF32(op: number, x: number, y: number): number | undefined {
  const MIN32 = 1.1754943508222875e-38;
  const ok = (v: number): boolean => v === 0 || (Math.abs(v) >= MIN32 && Math.abs(v) < Infinity);
  if (!ok(x) || !ok(y)) return undefined;
  let r: number;
  let pe = false;
  switch (op) {
    case 0: case 4: {
      const yy = op === 4 ? -y : y;
      r = x + yy;
      if (r === 0) return undefined;
      const bv = r - x;
      if ((x - (r - bv)) + (yy - bv) !== 0) pe = true;
      break;
    }
    case 1: r = x * y; if (r === 0) return undefined; break; // exact in double
    case 6:
      if (y === 0 || x === 0) return undefined;
      r = x / y;
      if (r * y !== x || prodErr(r, y, r * y) !== 0) pe = true;
      break;
    case 8:
      if (y <= 0) return undefined;
      r = Math.sqrt(y);
      if (r * r !== y || prodErr(r, r, r * r) !== 0) pe = true;
      break;
    default: return undefined;
  }
  const f = Math.fround(r);
  if (!(Math.abs(f) >= MIN32) || !Number.isFinite(f)) return undefined; // tiny or overflow: exact path
  if (f !== r || pe) mx.ex |= MX_PE;
  return f;
}

export function f64Bits(v: number): bigint {
  F64[0] = v;
  return (BigInt(U64[1]!) << 32n) | BigInt(U64[0]!);
}

export function f32Bits(v: number): number {
  F32[0] = v;
  return U32[0]! | 0;
}
