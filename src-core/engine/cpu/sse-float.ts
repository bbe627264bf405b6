// SSE/SSE2 floating-point lanes with x86 NaN rules: a NaN operand propagates (quietened;
// the first source wins), an invalid operation on non-NaN inputs yields the "indefinite"
// NaN (negative quiet NaN). Lanes are addressed as 32-bit words of a Int32Array. MXCSR
// flags, rounding control, DAZ and FTZ are handled in sse-soft.ts.
import { cmpLane, fastF32, fastF64, minMax, softOp } from './sse-soft.ts';

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

const RN_ONLY = 0xe040; // RC, FTZ and DAZ bits: any set means the exact path

/** Binary single-precision op: 0 add, 1 mul, 4 sub, 5 min, 6 div, 7 max, 8 sqrt (of b). */
export function f32Op(op: number, a: number, b: number, mxcsr: number): number {
  if (op === 5 || op === 7) return Number(minMax(op === 7, BigInt(a >>> 0), BigInt(b >>> 0), false, mxcsr)) | 0;
  if (!(mxcsr & RN_ONLY)) {
    const r = fastF32(op, bitsToF32(a), bitsToF32(b));
    if (r !== undefined) return f32ToBits(r);
  }
  return Number(softOp(op, BigInt(a >>> 0), BigInt(b >>> 0), false, mxcsr)) | 0;
}

/** Same for doubles: operands (lo, hi) pairs; result low word returned, high in F64HI. */
export function f64Op(op: number, al: number, ah: number, bl: number, bh: number, mxcsr: number): number {
  if (op !== 5 && op !== 7 && !(mxcsr & RN_ONLY)) {
    const r = fastF64(op, bitsToF64(al, ah), bitsToF64(bl, bh));
    if (r !== undefined) return f64ToBits(r);
  }
  const a = (BigInt(ah >>> 0) << 32n) | BigInt(al >>> 0);
  const b = (BigInt(bh >>> 0) << 32n) | BigInt(bl >>> 0);
  const bits = op === 5 || op === 7 ? minMax(op === 7, a, b, true, mxcsr) : softOp(op, a, b, true, mxcsr);
  F64HI = Number(bits >> 32n) | 0;
  return Number(bits & 0xffffffffn) | 0;
}

/** CMPPS/CMPSS predicate 0-7 on raw lanes (NaN-aware, with IE/DE). */
export function cmp32(pred: number, a: number, b: number, mxcsr: number): boolean {
  return cmpLane(pred & 7, BigInt(a >>> 0), BigInt(b >>> 0), false, mxcsr);
}
export function cmp64(pred: number, al: number, ah: number, bl: number, bh: number, mxcsr: number): boolean {
  return cmpLane(pred & 7, (BigInt(ah >>> 0) << 32n) | BigInt(al >>> 0), (BigInt(bh >>> 0) << 32n) | BigInt(bl >>> 0), true, mxcsr);
}
