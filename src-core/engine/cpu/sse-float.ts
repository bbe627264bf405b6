// SSE/SSE2 floating-point lanes with x86 NaN rules: a NaN operand propagates (quietened;
// the first source wins), an invalid operation on non-NaN inputs yields the "indefinite"
// NaN (negative quiet NaN). Lanes are addressed as 32-bit words of a Int32Array.

const F32 = new Float32Array(1);
const U32 = new Int32Array(F32.buffer);
const F64 = new Float64Array(1);
const U64 = new Int32Array(F64.buffer);

export function bitsToF32(b: number): number {
  U32[0] = b;
  return F32[0]!;
}
export function f32ToBits(v: number): number {
  F32[0] = v;
  return U32[0]!;
}
export function bitsToF64(lo: number, hi: number): number {
  U64[0] = lo;
  U64[1] = hi;
  return F64[0]!;
}
/** Low word in the return, high word in F64HI. */
export let F64HI = 0;
export function f64ToBits(v: number): number {
  F64[0] = v;
  F64HI = U64[1]!;
  return U64[0]!;
}

const isNaN32 = (b: number): boolean => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
const isNaN64 = (hi: number, lo: number): boolean => (hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0;

/** Binary single-precision op: 0 add, 1 mul, 4 sub, 5 min, 6 div, 7 max, 8 sqrt (of b). */
export function f32Op(op: number, a: number, b: number): number {
  if (op === 5 || op === 7) {
    // MIN/MAX: if either is NaN, or both are zero, the second operand is returned.
    if (isNaN32(a) || isNaN32(b)) return b;
    const x = bitsToF32(a), y = bitsToF32(b);
    if (op === 5) return x < y ? a : b;
    return x > y ? a : b;
  }
  if (op === 8) {
    if (isNaN32(b)) return b | 0x400000;
    const r = Math.sqrt(bitsToF32(b));
    return Number.isNaN(r) ? 0xffc00000 | 0 : f32ToBits(r);
  }
  if (isNaN32(a)) return a | 0x400000;
  if (isNaN32(b)) return b | 0x400000;
  const x = bitsToF32(a), y = bitsToF32(b);
  let r: number;
  switch (op) {
    case 0: r = x + y; break;
    case 1: r = x * y; break;
    case 4: r = x - y; break;
    default: r = x / y; break;
  }
  // Double rounding through a double is exact for +,-,*,/ and sqrt of floats (53 >= 2*24+2).
  if (Number.isNaN(r)) return 0xffc00000 | 0;
  return f32ToBits(r);
}

/** Same for doubles: operands (lo, hi) pairs; result low word returned, high in F64HI. */
export function f64Op(op: number, al: number, ah: number, bl: number, bh: number): number {
  if (op === 5 || op === 7) {
    let pickA: boolean;
    if (isNaN64(ah, al) || isNaN64(bh, bl)) pickA = false;
    else {
      const x = bitsToF64(al, ah), y = bitsToF64(bl, bh);
      pickA = op === 5 ? x < y : x > y;
    }
    F64HI = pickA ? ah : bh;
    return pickA ? al : bl;
  }
  if (op === 8) {
    if (isNaN64(bh, bl)) { F64HI = bh | 0x80000; return bl; }
    const r = Math.sqrt(bitsToF64(bl, bh));
    if (Number.isNaN(r)) { F64HI = 0xfff80000 | 0; return 0; }
    return f64ToBits(r);
  }
  if (isNaN64(ah, al)) { F64HI = ah | 0x80000; return al; }
  if (isNaN64(bh, bl)) { F64HI = bh | 0x80000; return bl; }
  const x = bitsToF64(al, ah), y = bitsToF64(bl, bh);
  let r: number;
  switch (op) {
    case 0: r = x + y; break;
    case 1: r = x * y; break;
    case 4: r = x - y; break;
    default: r = x / y; break;
  }
  if (Number.isNaN(r)) { F64HI = 0xfff80000 | 0; return 0; }
  return f64ToBits(r);
}

/** CMPPS/CMPSS predicate 0-7 on two values (NaN-aware). */
export function cmpPred(pred: number, x: number, y: number): boolean {
  const un = Number.isNaN(x) || Number.isNaN(y);
  switch (pred & 7) {
    case 0: return x === y;
    case 1: return x < y;
    case 2: return x <= y;
    case 3: return un;
    case 4: return !(x === y);
    case 5: return !(x < y);
    case 6: return !(x <= y);
    default: return !un;
  }
}

/** Round a double to an integer per MXCSR.RC (or truncate). */
export function roundMx(mxcsr: number, v: number, truncate: boolean): number {
  if (truncate) return Math.trunc(v);
  switch ((mxcsr >> 13) & 3) {
    case 0: {
      const f = Math.floor(v);
      const d = v - f;
      if (d > 0.5) return f + 1;
      if (d < 0.5) return f;
      return f % 2 === 0 ? f : f + 1;
    }
    case 1: return Math.floor(v);
    case 2: return Math.ceil(v);
    default: return Math.trunc(v);
  }
}
