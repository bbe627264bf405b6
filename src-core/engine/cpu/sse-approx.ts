// RCPPS/RCPSS and RSQRTPS/RSQRTSS: the hardware's 12-bit estimates. The architecture promises
// only a relative error of at most 1.5 * 2^-12 and leaves the exact bits to the implementation
// (Intel and AMD differ), so, like the hardware, we look the estimate up in a table indexed by
// the top mantissa bits (and, for RSQRT, the exponent's parity) and keep 12 bits after the
// leading one. Each entry is the exact value at the middle of its interval rounded to those 12
// bits: at most 2^-13 interpolation error plus 2^-13 rounding, inside the promised bound.
//
// The special cases are exact and common to both vendors (checked against the host): no MXCSR
// flags and no exceptions, rounding control/DAZ/FTZ ignored; +-0 and denormal inputs give
// +-infinity; +-infinity gives +-0 (RSQRT of -infinity and of any negative number gives the
// indefinite NaN); a NaN is returned quietened; results below the smallest normal are flushed
// to zero of the operand's sign.

const INDEX_BITS = 12;
const KEEP = 2 ** 13; // 12 bits after the leading one of a value in [0.5, 1]

function quantize(v: number): number {
  return Math.round(v * KEEP) / KEEP;
}

/** RCP_T[i]: 1 / (the middle of [1 + i / 4096, 1 + (i + 1) / 4096)), in (0.5, 1). */
const RCP_T = new Float64Array(1 << INDEX_BITS);
/** RSQ_T[odd << 11 | i]: 1 / sqrt of the middle of the interval of m in [1, 2) (odd: 2m). */
const RSQ_T = new Float64Array(1 << INDEX_BITS);
(function buildTables() {
  const n = 1 << INDEX_BITS;
  for (let i = 0; i < n; i++) RCP_T[i] = quantize(1 / (1 + (i + 0.5) / n));
  const h = n >> 1;
  for (let i = 0; i < h; i++) {
    const m = 1 + (i + 0.5) / h;
    RSQ_T[i] = quantize(1 / Math.sqrt(m));
    RSQ_T[h + i] = quantize(1 / Math.sqrt(2 * m));
  }
})();

const F32 = new Float32Array(1);
const U32 = new Int32Array(F32.buffer);
const MIN_NORMAL = 2 ** -126;

/** Bits of the single-precision value `v` (exactly representable) with sign `s`. */
function bits(v: number, s: number): number {
  F32[0] = v;
  return U32[0]! | s;
}

/** RCPSS on one lane: bits in, bits out. */
export function rcp12(b: number): number {
  const s = b & 0x80000000;
  const e = (b >>> 23) & 0xff;
  const f = b & 0x7fffff;
  if (e === 0xff) return f !== 0 ? b | 0x400000 : s;
  if (e === 0) return s | 0x7f800000; // zero or denormal
  const v = RCP_T[f >>> (23 - INDEX_BITS)]! * 2 ** (127 - e);
  return v < MIN_NORMAL ? s : bits(v, s);
}

/** RSQRTSS on one lane: bits in, bits out. */
export function rsqrt12(b: number): number {
  const s = b & 0x80000000;
  const e = (b >>> 23) & 0xff;
  const f = b & 0x7fffff;
  if (e === 0xff) return f !== 0 ? b | 0x400000 : s ? 0xffc00000 | 0 : 0;
  if (e === 0) return s | 0x7f800000; // zero or denormal, keeping its sign
  if (s) return 0xffc00000 | 0;
  const odd = (e - 127) & 1;
  const est = RSQ_T[(odd << (INDEX_BITS - 1)) | (f >>> (24 - INDEX_BITS))]!;
  return bits(est * 2 ** (-(e - 127 - odd) / 2), 0);
}
