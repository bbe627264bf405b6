// The architectural check for RCPPS/RCPSS and RSQRTPS/RSQRTSS, whose exact bits differ between
// implementations (Intel, AMD, Hangar): a lane agrees when both results are bit-equal, or when
// both are within 1.5 * 2^-12 relative of the true value. Special cases (zeros, denormals,
// infinities, NaNs, negative RSQRT operands) must be bit-equal; so must the flush of tiny RCP
// results, except in the input range where the manual leaves it to the implementation.

/** Relative error bound the SDM and the AMD APM give for both instructions. */
export const APPROX_REL = 1.5 * 2 ** -12;

/** Which instruction a case approximates and where: destination XMM register and lanes. */
export interface ApproxSpec {
  kind: 'rcp' | 'rsqrt';
  dst: number;
  lanes: number;
  /** Source lanes (f32 bits), when the operand could be read at generation time. */
  src?: number[];
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
function f32(b: number): number {
  U32[0] = b >>> 0;
  return F32[0]!;
}

/** |x| in (1.11111111110100000000000B * 2^125, 1.00000000000110000000001B * 2^126): RCP may or may not flush. */
function rcpFlushOptional(b: number): boolean {
  const m = b & 0x7fffffff;
  return m > 0x7e7fe800 && m < 0x7e800c01;
}

/** Zero, denormal, infinity, NaN, or (RSQRT) negative: the result is exact. */
export function isSpecial(kind: 'rcp' | 'rsqrt', src: number): boolean {
  const e = (src >>> 23) & 0xff;
  return e === 0 || e === 0xff || (kind === 'rsqrt' && (src & 0x80000000) !== 0);
}

/** Within the architectural bound of the true result (a normal, finite number)? */
export function withinBound(kind: 'rcp' | 'rsqrt', src: number, res: number): boolean {
  if (isSpecial(kind, src)) return false; // exact only
  const x = f32(src);
  const t = kind === 'rcp' ? 1 / x : 1 / Math.sqrt(x);
  const r = f32(res);
  if (((res >>> 23) & 0xff) === 0 || !Number.isFinite(r)) return false;
  return Math.abs(r - t) <= APPROX_REL * Math.abs(t);
}

/**
 * Compare one lane: 'same' (bit-equal), 'close' (both within the bound), or a reason it is
 * wrong.
 */
export function approxLane(kind: 'rcp' | 'rsqrt', src: number, nat: number, emu: number): 'same' | 'close' | string {
  if ((nat >>> 0) === (emu >>> 0)) return 'same';
  const hex = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
  const ok = (v: number): boolean => withinBound(kind, src, v) || (kind === 'rcp' && rcpFlushOptional(src) && (v >>> 0) === ((src & 0x80000000) >>> 0));
  if (ok(nat) && ok(emu)) return 'close';
  const why = isSpecial(kind, src) ? 'a special case must be bit-equal'
    : ok(nat) ? 'emulated outside the 1.5*2^-12 bound' : 'native outside the bound: check the test';
  return `${kind}(${hex(src)}): native ${hex(nat)} emulated ${hex(emu)} (${why})`;
}
