// Soft-float core for the x87: the 80-bit register format (sign, 15-bit exponent, 64-bit
// significand with an explicit integer bit), classification, and one rounding routine that
// serves the extended format under precision control (24/53/64 bits) as well as the single
// and double memory formats. Significands are BigInts: x87 code is rare in kernels and
// correctness matters more than speed here.

/** Exception flag bits, as in the FPU status word and MXCSR (same low six bits). */
export const IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20;

/** A register value in the packed 80-bit format. */
export interface F80 {
  se: number; // sign (bit 15) and biased exponent (bits 0-14)
  m: bigint; // 64-bit significand, integer bit at bit 63
}

export const BIAS = 16383;
export const J = 1n << 63n;
const M64 = (1n << 64n) - 1n;
export const QNAN_BIT = 1n << 62n;

/** The x87 "real indefinite": the QNaN a masked invalid operation returns. */
export const INDEFINITE: F80 = { se: 0xffff, m: 0xc000000000000000n };

export const enum Cls { Zero, Normal, Denormal, PseudoDenormal, Inf, QNaN, SNaN, Unsupported }

export function classify(x: F80): Cls {
  const e = x.se & 0x7fff;
  const j = (x.m & J) !== 0n;
  if (e === 0) {
    if (x.m === 0n) return Cls.Zero;
    return j ? Cls.PseudoDenormal : Cls.Denormal;
  }
  if (e === 0x7fff) {
    if (!j) return Cls.Unsupported; // pseudo-infinity, pseudo-NaN
    if ((x.m & ~J) === 0n) return Cls.Inf;
    return x.m & QNAN_BIT ? Cls.QNaN : Cls.SNaN;
  }
  return j ? Cls.Normal : Cls.Unsupported; // unnormal
}

export const isNaNCls = (c: Cls): boolean => c === Cls.QNaN || c === Cls.SNaN;
export const signOf = (x: F80): number => (x.se >> 15) & 1;

// bitLength is the soft-float's most frequent helper: the exponent of the value converted
// to a double gives it (corrected when rounding carried to the next power of two) without
// allocating; only values beyond the double range fall back to a string.
const P2: bigint[] = [];
for (let i = 0; i <= 1024; i++) P2.push(1n << BigInt(i));
const BL_F = new Float64Array(1);
const BL_U = new Uint32Array(BL_F.buffer);

/** Number of significant bits of a non-negative BigInt. */
export function bitLength(v: bigint): number {
  if (v < 0x100000000n) return v === 0n ? 0 : 32 - Math.clz32(Number(v));
  BL_F[0] = Number(v);
  if (BL_F[0] === Infinity) {
    const s = v.toString(16);
    return (s.length - 1) * 4 + 32 - Math.clz32(parseInt(s[0]!, 16));
  }
  const e = (BL_U[1]! >>> 20) - 1023;
  return v < P2[e]! ? e : e + 1;
}

/** A finite value as sign, integer significand and the exponent of its least significant bit. */
export interface Exact {
  sign: number;
  m: bigint;
  e: number; // value = m * 2^e
}

/** Unpack a finite (zero, normal or denormal) register value exactly. */
export function toExact(x: F80): Exact {
  const ex = x.se & 0x7fff;
  return { sign: signOf(x), m: x.m, e: (ex === 0 ? 1 : ex) - BIAS - 63 };
}

export const zero = (sign: number): F80 => ({ se: sign << 15, m: 0n });
export const inf = (sign: number): F80 => ({ se: (sign << 15) | 0x7fff, m: J });
export const quiet = (x: F80): F80 => ({ se: x.se, m: x.m | QNAN_BIT });

/** Destination format for rounding. */
export interface Format {
  p: number; // significand bits (including the integer bit)
  lsbMin: number; // exponent of a denormal's least significant bit
  maxExp: number; // largest unbiased exponent of a finite value
}
export const EXT64: Format = { p: 64, lsbMin: -16445, maxExp: 16383 };
// Under reduced precision control the x87 keeps the same number of significand bits below
// the smallest normal as the precision has: denormal results lose bits from 2^-16434 (53)
// or 2^-16405 (24) up, not from the extended format's 2^-16445.
export const EXT53: Format = { p: 53, lsbMin: -16434, maxExp: 16383 };
export const EXT24: Format = { p: 24, lsbMin: -16405, maxExp: 16383 };
export const DBL: Format = { p: 53, lsbMin: -1074, maxExp: 1023 };
export const SGL: Format = { p: 24, lsbMin: -149, maxExp: 127 };

/** The extended format under the control word's precision control field. */
export function extFormat(cw: number): Format {
  const pc = (cw >> 8) & 3;
  return pc === 0 ? EXT24 : pc === 2 ? EXT53 : EXT64;
}

/** Result of rounding a nonzero value. */
export interface Rounded {
  sign: number;
  q: bigint; // rounded significand (at most p bits), 0 if it rounded to zero
  lsb: number; // value = q * 2^lsb
  inexact: boolean;
  up: boolean; // magnitude increased (C1)
  tiny: boolean; // below the smallest normal (after rounding, as x86 detects it)
  overflow: boolean;
}

/**
 * Round sign * m * 2^e (m > 0; callers fold a sticky bit into m's low bit for inexact
 * inputs, with at least two bits below the rounding position) to `f` under rounding control
 * rc (0 nearest-even, 1 down, 2 up, 3 toward zero).
 */
export function round(sign: number, m: bigint, e: number, f: Format, rc: number): Rounded {
  const n = bitLength(m);
  const top = e + n - 1; // exponent of the leading bit
  // Unbounded-exponent rounding first: it decides tininess (x86 detects it after rounding).
  const lsbU = top - (f.p - 1);
  const u = roundAt(sign, m, e, lsbU, rc);
  const topU = u.lsb + bitLength(u.q) - 1;
  const minNormal = 1 - f.maxExp; // the smallest normal's exponent (1 - bias)
  const tiny = topU < minNormal;
  let r = u;
  if (lsbU < f.lsbMin) r = roundAt(sign, m, e, f.lsbMin, rc);
  const topR = r.q === 0n ? -Infinity : r.lsb + bitLength(r.q) - 1;
  return { sign, q: r.q, lsb: r.lsb, inexact: r.inexact, up: r.up, tiny, overflow: topR > f.maxExp };
}

function roundAt(sign: number, m: bigint, e: number, lsb: number, rc: number): { q: bigint; lsb: number; inexact: boolean; up: boolean } {
  const sh = lsb - e;
  if (sh <= 0) return { q: m << BigInt(-sh), lsb, inexact: false, up: false };
  const bs = BigInt(sh);
  let q = m >> bs;
  const rem = m - (q << bs);
  if (rem === 0n) return { q, lsb, inexact: false, up: false };
  const half = 1n << (bs - 1n);
  let up: boolean;
  switch (rc) {
    case 0: up = rem > half || (rem === half && (q & 1n) === 1n); break;
    case 1: up = sign === 1; break;
    case 2: up = sign === 0; break;
    default: up = false;
  }
  if (up) q += 1n;
  return { q, lsb, inexact: true, up };
}

/** Exception flags and C1 collected while computing one result. */
export class Flags {
  ex = 0;
  c1 = false;
}

/**
 * Round an exact or sticky value into the 80-bit register format. Masked overflow gives
 * infinity or the largest finite value per rc; with OE/UE unmasked (`unmasked` has the bit)
 * the exponent is wrapped by 24576 as the x87 does for its exception handler.
 */
export function roundExt(sign: number, m: bigint, e: number, f: Format, rc: number, fl: Flags, cwMasks: number): F80 {
  if (m === 0n) return zero(sign);
  const r = round(sign, m, e, f, rc);
  if (r.overflow) {
    if (!(cwMasks & OE)) {
      fl.ex |= OE | (r.inexact ? PE : 0);
      fl.c1 = r.up;
      const rr = round(sign, m, e - 24576, f, rc);
      return packExt(sign, rr.q, rr.lsb);
    }
    fl.ex |= OE | PE;
    const toInf = rc === 0 || (rc === 1 && sign === 1) || (rc === 2 && sign === 0);
    fl.c1 = toInf;
    if (toInf) return inf(sign);
    return { se: (sign << 15) | 0x7ffe, m: (((1n << BigInt(f.p)) - 1n) << BigInt(64 - f.p)) };
  }
  if (r.tiny && !(cwMasks & UE)) {
    // Unmasked underflow: deliver the value with a wrapped exponent, rounded to full width.
    fl.ex |= UE;
    const ru = round(sign, m, e + 24576, f, rc);
    if (ru.inexact) fl.ex |= PE;
    fl.c1 = ru.up;
    return packExt(sign, ru.q, ru.lsb);
  }
  if (r.inexact) {
    fl.ex |= PE;
    if (r.tiny) fl.ex |= UE;
  }
  fl.c1 = r.up;
  if (r.q === 0n) return zero(sign);
  return packExt(sign, r.q, r.lsb);
}

/** Pack q * 2^lsb (a representable extended value) into the register format. */
export function packExt(sign: number, q: bigint, lsb: number): F80 {
  if (q === 0n) return zero(sign);
  const n = bitLength(q);
  const top = lsb + n - 1;
  if (top < 1 - BIAS) {
    // Denormal: the significand's LSB is 2^-16445.
    const sh = lsb + 16445;
    const m = sh >= 0 ? q << BigInt(sh) : q >> BigInt(-sh);
    return { se: sign << 15, m: m & M64 };
  }
  const m = n <= 64 ? q << BigInt(64 - n) : q >> BigInt(n - 64);
  return { se: (sign << 15) | (top + BIAS), m };
}

/** Significand-and-exponent view of a value packed from `round` for the narrow formats. */
export function packNarrow(r: Rounded, f: Format): { exp: number; frac: bigint } {
  // Returns the biased exponent field and the fraction (without the hidden bit).
  const fracBits = f.p - 1;
  const bias = f.maxExp;
  if (r.q === 0n) return { exp: 0, frac: 0n };
  const n = bitLength(r.q);
  const top = r.lsb + n - 1;
  if (top < 1 - bias) {
    const sh = r.lsb - f.lsbMin;
    return { exp: 0, frac: r.q << BigInt(sh) };
  }
  const m = n <= f.p ? r.q << BigInt(f.p - n) : r.q >> BigInt(n - f.p);
  return { exp: top + bias, frac: m & ((1n << BigInt(fracBits)) - 1n) };
}
