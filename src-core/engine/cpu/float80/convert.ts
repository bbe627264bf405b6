// Conversions between the x87 register format and the memory formats: single and double
// reals, 16/32/64-bit integers, 18-digit packed BCD. Loads are exact; stores round per the
// control word and report IE/OE/UE/PE (with C1 when rounding went up).
import type { F80, Format } from './core.ts';
import {
  BIAS, Cls, DBL, DE, Flags, IE, INDEFINITE, J, OE, PE, SGL, UE, bitLength, classify, packExt, packNarrow, quiet, round, signOf, toExact, zero,
} from './core.ts';

/**
 * IEEE single or double bits (as a BigInt) to the register format. `raw` keeps a signalling
 * NaN signalling (an arithmetic operand: the operation itself raises IE), otherwise the load
 * raises IE and quietens it.
 */
export function fromIeee(bits: bigint, f: Format, fl: Flags, raw = false): F80 {
  const fracBits = BigInt(f.p - 1);
  const expBits = f === SGL ? 8 : 11;
  const expMask = (1 << expBits) - 1;
  const sign = Number(bits >> (fracBits + BigInt(expBits))) & 1;
  const exp = Number((bits >> fracBits) & BigInt(expMask));
  const frac = bits & ((1n << fracBits) - 1n);
  const up = BigInt(64 - f.p); // shift of the fraction into the 64-bit significand
  if (exp === expMask) {
    if (frac === 0n) return { se: (sign << 15) | 0x7fff, m: J };
    const nan: F80 = { se: (sign << 15) | 0x7fff, m: J | (frac << up) };
    if (!raw && !(nan.m & (1n << 62n))) { fl.ex |= IE; return quiet(nan); }
    return nan;
  }
  if (exp === 0) {
    if (frac === 0n) return zero(sign);
    fl.ex |= DE; // denormal operand: normalised exactly into the wider format
    return packExt(sign, frac, f.lsbMin);
  }
  return { se: (sign << 15) | (exp - f.maxExp + BIAS), m: J | (frac << up) };
}

/**
 * Register value to IEEE single/double bits. Returns null when an unmasked exception stops
 * the store (the memory operand is then left alone).
 */
export function toIeee(x: F80, f: Format, cw: number, fl: Flags): bigint | null {
  const fracBits = BigInt(f.p - 1);
  const expBits = f === SGL ? 8n : 11n;
  const expMax = (1n << expBits) - 1n;
  const c = classify(x);
  const sign = BigInt(signOf(x));
  const signBit = sign << (fracBits + expBits);
  const masks = cw & 0x3f;
  if (c === Cls.Unsupported) {
    fl.ex |= IE;
    if (!(masks & IE)) return null;
    x = INDEFINITE;
  }
  const cc = classify(x);
  if (cc === Cls.QNaN || cc === Cls.SNaN) {
    if (cc === Cls.SNaN) { fl.ex |= IE; if (!(masks & IE)) return null; }
    const frac = ((x.m | (1n << 62n)) & ~J) >> BigInt(64 - f.p);
    return (BigInt(signOf(x)) << (fracBits + expBits)) | (expMax << fracBits) | frac;
  }
  if (cc === Cls.Inf) return signBit | (expMax << fracBits);
  if (cc === Cls.Zero) return signBit;
  const v = toExact(x); // a denormal source does not raise DE on a store
  const rc = (cw >> 10) & 3;
  const r = round(v.sign, v.m, v.e, f, rc);
  if (r.overflow) {
    if (!(masks & OE)) { fl.ex |= OE; return null; } // PE is not reported then
    fl.ex |= OE | PE;
    const toInf = rc === 0 || (rc === 1 && v.sign === 1) || (rc === 2 && v.sign === 0);
    fl.c1 = toInf;
    if (toInf) return signBit | (expMax << fracBits);
    return signBit | ((expMax - 1n) << fracBits) | ((1n << fracBits) - 1n);
  }
  if (r.tiny && !(masks & UE)) { fl.ex |= UE; return null; } // PE is not reported then
  if (r.inexact) { fl.ex |= PE; if (r.tiny) fl.ex |= UE; }
  fl.c1 = r.up;
  const p = packNarrow(r, f);
  return signBit | (BigInt(p.exp) << fracBits) | p.frac;
}

export const fromF32 = (bits: number, fl: Flags, raw = false): F80 => fromIeee(BigInt(bits >>> 0), SGL, fl, raw);
export const fromF64 = (lo: number, hi: number, fl: Flags, raw = false): F80 => fromIeee((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0), DBL, fl, raw);

/** An exact integer to the register format (every 64-bit integer fits). */
export function fromInt(v: bigint): F80 {
  if (v === 0n) return zero(0);
  const sign = v < 0n ? 1 : 0;
  return packExt(sign, sign ? -v : v, 0);
}

/**
 * Round to an integer per rc (or truncate). Returns the integer, or null for NaN, infinity
 * or out of range ("integer indefinite" then; IE raised).
 */
export function toInt(x: F80, bits: number, cw: number, truncate: boolean, fl: Flags): bigint | null {
  const c = classify(x);
  if (c === Cls.Unsupported || c === Cls.QNaN || c === Cls.SNaN || c === Cls.Inf) { fl.ex |= IE; return null; }
  if (c === Cls.Zero) return 0n;
  const v = toExact(x); // a denormal operand does not raise DE here
  const r = roundToInteger(v.sign, v.m, v.e, truncate ? 3 : (cw >> 10) & 3);
  const lim = 1n << BigInt(bits - 1);
  const val = v.sign ? -r.q : r.q;
  if (val >= lim || val < -lim) { fl.ex |= IE; return null; }
  if (r.inexact) { fl.ex |= PE; fl.c1 = r.up; }
  return val;
}

/** m * 2^e rounded to an integer magnitude per rc. */
export function roundToInteger(sign: number, m: bigint, e: number, rc: number): { q: bigint; inexact: boolean; up: boolean } {
  if (e >= 0) return { q: m << BigInt(e), inexact: false, up: false };
  if (-e > bitLength(m) + 1) {
    // Below one half: 0 or 1 depending on the direction.
    const up = rc === 1 ? sign === 1 : rc === 2 ? sign === 0 : false;
    return { q: up ? 1n : 0n, inexact: true, up };
  }
  const sh = BigInt(-e);
  let q = m >> sh;
  const rem = m - (q << sh);
  if (rem === 0n) return { q, inexact: false, up: false };
  const half = 1n << (sh - 1n);
  let up: boolean;
  switch (rc) {
    case 0: up = rem > half || (rem === half && (q & 1n) === 1n); break;
    case 1: up = sign === 1; break;
    case 2: up = sign === 0; break;
    default: up = false;
  }
  if (up) q += 1n;
  return { q, inexact: true, up };
}

/** FBLD: 10-byte packed BCD (18 digits, sign in bit 79) to the register format. */
export function fromBcd(b: Uint8Array): F80 {
  let v = 0n;
  for (let i = 8; i >= 0; i--) v = v * 100n + BigInt(((b[i]! >> 4) & 15) * 10 + (b[i]! & 15));
  const neg = (b[9]! & 0x80) !== 0;
  if (v === 0n) return zero(neg ? 1 : 0);
  return packExt(neg ? 1 : 0, v, 0);
}

/** FBSTP: round per rc, 10 bytes of packed BCD, or the BCD indefinite when out of range. */
export function toBcd(x: F80, cw: number, fl: Flags): Uint8Array | null {
  const out = new Uint8Array(10);
  const c = classify(x);
  let q = 0n;
  const neg = signOf(x) === 1;
  if (c === Cls.Unsupported || c === Cls.QNaN || c === Cls.SNaN || c === Cls.Inf) { fl.ex |= IE; return null; }
  if (c !== Cls.Zero) {
    const v = toExact(x);
    const r = roundToInteger(v.sign, v.m, v.e, (cw >> 10) & 3);
    if (r.q >= 10n ** 18n) { fl.ex |= IE; return null; }
    if (r.inexact) { fl.ex |= PE; fl.c1 = r.up; }
    q = r.q;
  }
  for (let i = 0; i < 9; i++) {
    const d = Number(q % 100n);
    q /= 100n;
    out[i] = ((Math.floor(d / 10)) << 4) | (d % 10);
  }
  out[9] = neg ? 0x80 : 0;
  return out;
}

/** The BCD indefinite stored by a masked invalid FBSTP. */
export const BCD_INDEFINITE = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);

/** The extended value's exponent (unbiased) of a normal value: FXTRACT and friends. */
export function exponentOf(x: F80): number {
  const v = toExact(x);
  return v.e + bitLength(v.m) - 1;
}
