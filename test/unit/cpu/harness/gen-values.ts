// Random register, XMM and MXCSR contents for the differential cases: special values
// (limits, signs, powers of two, float infinities/NaNs/denormals) mixed with ordinary ones.
import type { Rng } from './gen.ts';

const SPECIAL = [0n, 1n, 0xffffffffffffffffn, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffn, 0x80000000n, 0x7fffffffn, 0xffffn, 0x8000n, 0xffn, 0x80n, 0x100000000n];

export function randomValue(r: Rng): bigint {
  const k = r.int(8);
  if (k === 0) return r.pick(SPECIAL);
  if (k === 1) return BigInt(r.int(64));
  if (k === 2) return BigInt.asUintN(64, -BigInt(r.int(64)));
  if (k === 3) return BigInt(r.next());
  return r.u64();
}

const F32_SPECIAL = [0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f7fffff, 0x00000001, 0x00800000, 0x40490fdb, 0x4f000000, 0xcf000000];

export function randomXmm(r: Rng): Uint8Array {
  const b = new Uint8Array(256);
  const w = new Uint32Array(b.buffer);
  for (let i = 0; i < 64; i++) {
    const k = r.int(6);
    if (k === 0) w[i] = r.pick(F32_SPECIAL);
    else if (k === 1) w[i] = (0x3f000000 + r.int(0x2000000)) >>> 0; // moderate floats
    else if (k === 2 && i % 2 === 1) w[i] = (0x3fe00000 + r.int(0x200000)) >>> 0; // moderate double high words
    else if (k === 3) w[i] = r.int(256);
    else w[i] = r.next();
  }
  return b;
}

/**
 * MXCSR for SSE cases: round to nearest half the time, else another rounding mode; DAZ and
 * FTZ sometimes; occasionally unmasked exceptions (#XM) or flags already set.
 */
export function randomMxcsr(r: Rng): number {
  let m = 0x1f80;
  if (r.bool(0.5)) m |= r.int(4) << 13;
  if (r.bool(0.2)) m |= 0x40; // DAZ
  if (r.bool(0.2)) m |= 0x8000; // FTZ
  if (r.bool(0.1)) m &= ~(r.int(64) << 7);
  if (r.bool(0.2)) m |= r.int(64);
  return m;
}
